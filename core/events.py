"""What the engine tells its owner: frozen event dataclasses and the one listener interface.

The engine calls ``Listener.on_event`` from its **worker threads**. A window's listener does
nothing but put the event on its queue (Tk may only be touched on the main thread); the
terminal front end prints it. Events are immutable so they can cross threads freely.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Address = tuple[str, int]


def format_address(address: Address) -> str:
    """The original program's spelling of a peer: ``('127.0.0.1', 53552)``."""
    return repr((address[0], address[1]))


@dataclass(frozen=True)
class ClientInfo:
    """Who is on the other end of one connection (one visit).

    ``key`` is unique per connection for the server's lifetime; ``client_id`` and ``name``
    arrive with the first request that carries Filecast's headers, so later events may
    carry a fuller ``ClientInfo`` for the same ``key``.
    """

    key: int
    address: Address
    client_id: str | None = None
    name: str | None = None
    user_agent: str | None = None

    @property
    def label(self) -> str:
        """The original program's ``<ip: ('127.0.0.1', 53552)>`` spelling (the terminal's)."""
        return f"<ip: {format_address(self.address)}>"

    @property
    def address_text(self) -> str:
        """``10.0.0.5:53552``, or ``[::1]:53552`` for IPv6: the one address form of the windows."""
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def display(self) -> str:
        """The windows' spelling: the name it gave and its address, ``Ana (10.0.0.5:53552)``,
        or the address alone. The name is network text: a window escapes it as it shows it
        (core.gui.style), once."""
        return f"{self.name} ({self.address_text})" if self.name else self.address_text


# --- server events -------------------------------------------------------------------


@dataclass(frozen=True)
class ServerStarted:
    """Listening; ``urls`` are the addresses clients should use."""

    host: str
    port: int
    urls: tuple[str, ...]


@dataclass(frozen=True)
class ServerStopped:
    """Every worker is gone and the port is free."""


@dataclass(frozen=True)
class ClientConnected:
    """A connection was accepted (the original "Client connected <ip: ...>")."""

    client: ClientInfo


@dataclass(frozen=True)
class OfferSent:
    """The greeting went out (the original "Message sent out to client <ip: ...>")."""

    client: ClientInfo


@dataclass(frozen=True)
class FileRequested:
    """The client asked about a file by name (HEAD or GET); ``exists`` says if it is offered."""

    client: ClientInfo
    file: str
    exists: bool
    size: int | None


@dataclass(frozen=True)
class Declined:
    """The client answered N (the original "did not download the file")."""

    client: ClientInfo
    file: str


@dataclass(frozen=True)
class TransferStarted:
    """A body started going out: bytes ``start`` .. ``start + length`` of ``size``."""

    client: ClientInfo
    file: str
    start: int
    length: int
    size: int


@dataclass(frozen=True)
class TransferProgress:
    """``sent`` of ``length`` body bytes are out; at most ~10 per second per client."""

    client: ClientInfo
    file: str
    sent: int
    length: int
    size: int


class TransferOutcome(enum.Enum):
    """What a finished body was, decided once by core.server.delivery from acknowledged bytes."""

    DOWNLOADED = "downloaded"  # the client now has every byte of the file
    PARTIAL = "partial"  # a range, all of it acknowledged, not (yet) the whole file
    INTERRUPTED = "interrupted"  # it stopped short of what was asked for


@dataclass(frozen=True)
class TransferFinished:
    """A body ended: ``sent`` of ``length`` bytes went out, ``acked`` of them were
    acknowledged by the client's TCP, and the download now covers ``covered`` of ``size``."""

    client: ClientInfo
    file: str
    start: int
    sent: int
    length: int
    size: int
    outcome: TransferOutcome
    acked: int
    covered: int


@dataclass(frozen=True)
class ReceiptReceived:
    """The client reported the SHA-256 it computed; ``verified`` says if it matched."""

    client: ClientInfo
    file: str
    sha256: str
    verified: bool


@dataclass(frozen=True)
class ReceiptRefused:
    """A receipt for a download this server did not deliver whole to that client."""

    client: ClientInfo
    file: str


@dataclass(frozen=True)
class ClientDisconnected:
    """The connection closed (the original "Client: <ip: ...> disconnected!")."""

    client: ClientInfo


@dataclass(frozen=True)
class HashProgress:
    """Background hashing of an offered file: ``done`` of ``total`` bytes."""

    file: str
    done: int
    total: int


@dataclass(frozen=True)
class OfferChanged:
    """The offered files or their digests changed (hashing finished, file edited)."""

    files: tuple[OfferedFileView, ...]


@dataclass(frozen=True)
class OfferedFileView:
    """What a front end shows of one offered file."""

    name: str
    path: str
    size: int
    sha256: str | None
    etag: str
    modified: float


@dataclass(frozen=True)
class LedgerWritten:
    """A ledger line is on disk: ``record`` is its Clients.jsonl object, exactly as written,
    so what folds it live (the roster) sees what a reader of the file sees after a restart."""

    record: Mapping[str, Any]


@dataclass(frozen=True)
class LedgerFloodLimited:
    """From ``address``, more lines that no delivered byte backs came in a minute than the
    ledger writes one by one (``per_minute``); the rest are summed in one line (issue 9)."""

    address: str
    per_minute: int


@dataclass(frozen=True)
class ConnectionsShed:
    """The server was full: ``count`` connections from ``address`` were closed (idle ones
    first) so that new clients get in (issue 9). Reported at most every few seconds."""

    address: str
    count: int
    idle: bool


@dataclass(frozen=True)
class EngineError:
    """Something went wrong that the person serving should see; the server goes on."""

    message: str


ServerEvent = (
    ServerStarted
    | ServerStopped
    | ClientConnected
    | OfferSent
    | FileRequested
    | Declined
    | TransferStarted
    | TransferProgress
    | TransferFinished
    | ReceiptReceived
    | ReceiptRefused
    | ClientDisconnected
    | HashProgress
    | OfferChanged
    | LedgerWritten
    | LedgerFloodLimited
    | ConnectionsShed
    | EngineError
)


# --- client events -------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadStarted:
    """The body is coming: ``resumed_from`` bytes were already in the ``.part`` file."""

    file: str
    size: int
    resumed_from: int


@dataclass(frozen=True)
class DownloadProgress:
    """``received`` of ``size`` bytes are saved; speed and time left are smoothed."""

    file: str
    received: int
    size: int
    bytes_per_second: float
    seconds_left: float | None
    files_done: int | None = None  # files of a selection taken at once: how many are in
    files: int | None = None  # ... of how many (issue 12: "37 of 120 files")


@dataclass(frozen=True)
class DownloadRetrying:
    """The connection broke; trying again after ``delay`` seconds (``attempt`` of ``limit``;
    no limit: until the person cancels, as the window does)."""

    file: str
    attempt: int
    limit: int | None
    delay: float
    reason: str


@dataclass(frozen=True)
class DownloadRechecking:
    """Resuming: ``done`` of the ``total`` bytes already in the part are read back into the
    SHA-256 (seconds for a large part: issue 11, the window sat still behind "Resuming")."""

    file: str
    done: int
    total: int


@dataclass(frozen=True)
class DownloadVerifying:
    """All bytes are in; checking the SHA-256 (the last pass may take a moment)."""

    file: str


ClientEvent = (
    DownloadStarted
    | DownloadProgress
    | DownloadRetrying
    | DownloadRechecking
    | DownloadVerifying
)

Event = (
    ServerEvent
    | ClientEvent
)


PROGRESS_INTERVAL = 0.1  # seconds between progress events of one thing: about ten a second


class Throttle:
    """Lets progress events through at most once an interval, and always the final one:
    the one rule for download, transfer and hashing progress (a window redraws no faster)."""

    def __init__(self, interval: float = PROGRESS_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval, self._clock = interval, clock
        self._last: float | None = None

    def hold(self) -> None:
        """Start a new interval now: the next event may go out one interval from now."""
        self._last = self._clock()

    def due(self, *, final: bool = False) -> bool:
        """True when an event should go out now (the first, a final one, or an interval on)."""
        now = self._clock()
        if final or self._last is None or now - self._last >= self._interval:
            self._last = now
            return True
        return False


class Listener(Protocol):
    """The one interface from engine to front end.

    ``on_event`` may be called from **any thread**: the server's session and accept
    threads, the offer's watcher, a client's download threads, and, for a few engine calls
    (``FilecastServer.start``/``stop``, ``OfferTable.set_files``/``set_message``/``refresh``),
    the thread that made the call. So it must be thread-safe, return quickly and never call
    back into the engine; a window's listener only puts the event on its queue.
    """

    def on_event(self, event: Event) -> None: ...


class NullListener:
    """A listener that ignores everything (for tests and headless use)."""

    def on_event(self, event: Event) -> None:
        """Drop the event."""
