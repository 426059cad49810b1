"""What the server did, as lines a person reads: the terminal's ``serve`` output and the
server window's activity log render events through :class:`ServerPrinter`.

A front-end module: it imports events and core.wire only. Every sentence about a client
comes from core.wire.sentences, so the ledger, the terminal and the window agree word for word.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    ConnectionsShed,
    Declined,
    EngineError,
    Event,
    FileRequested,
    LedgerFloodLimited,
    OfferChanged,
    OfferSent,
    ReceiptReceived,
    ReceiptRefused,
    ServerStarted,
    TransferFinished,
    TransferOutcome,
)
from core.wire import sentences
from core.wire.escaping import escape_controls, quoted
from core.wire.units import exact_bytes, human_size

MAX_ANNOUNCED = 20  # files announced one by one; more are one line


@dataclass(frozen=True)
class Voice:
    """How one front end speaks of a client: the terminal keeps the original program's
    lines, the window says them as sentences (issue 11: ``<ip: (...)>`` read like code)."""

    who: Callable[[ClientInfo], str]
    connected: str
    told: str
    left: str
    client_prefix: str  # before a decision: "Client: " in the original


ORIGINAL = Voice(who=lambda c: c.label, connected="Client connected {who}",
                 told="Message sent out to client {who}", left="Client: {who} disconnected!",
                 client_prefix="Client: ")
def _window_who(client: ClientInfo) -> str:
    """``Ana Lopez (10.0.0.5:53552)``, the name escaped and cut at 60 characters, so a long
    one cannot push the rest of the sentence out of the log's line."""
    if not client.name:
        return client.address_text
    name = escape_controls(client.name)
    name = name if len(name) <= 60 else name[:59] + "…"
    return f"{name} ({client.address_text})"


PLAIN = Voice(who=_window_who, connected="{who} connected",
              told="{who} was told what is offered", left="{who} left", client_prefix="")


class ServerPrinter:
    """Prints server events as the original program did (or in another ``voice``). Called
    from worker threads (``on_event``); ``line_for`` runs on whichever thread calls it."""

    def __init__(self, out: TextIO = sys.stdout, voice: Voice = ORIGINAL) -> None:
        self._voice = voice
        self._out: TextIO | None = out
        self._lock = threading.Lock()  # guards _out and _announced across worker threads
        self._announced: set[str] = set()

    def _say(self, line: str) -> None:
        """Print a line; a closed output (``serve | head``) silences the printer, not the server."""
        with self._lock:
            if self._out is None:
                return
            try:
                print(line, file=self._out, flush=True)
            except (BrokenPipeError, ValueError):
                self._out = None

    def on_event(self, event: Event) -> None:
        """Print the line for ``event`` (names are escaped: they come from the network)."""
        line = self.line_for(event)
        if line is not None:
            self._say(line)

    def line_for(self, event: Event) -> str | None:
        """The text for one event, or None for events the terminal does not show."""
        if isinstance(event, ServerStarted):
            urls = "\n".join(f"    {url}" for url in event.urls)
            return (f"{sentences.SERVER_WORKING}\nClients can connect at:\n{urls}\n"
                    f"{sentences.IN_A_BROWSER}\n{sentences.WAITING}")
        voice = self._voice
        if isinstance(event, ClientConnected):
            return voice.connected.format(who=voice.who(event.client))
        if isinstance(event, OfferSent):
            return voice.told.format(who=voice.who(event.client))
        if isinstance(event, ClientDisconnected):
            return voice.left.format(who=voice.who(event.client))
        return self._decision_line(event) or self._server_line(event)

    def _about(self, client: ClientInfo, kind: str, file: str, **numbers: int | None) -> str:
        """A decision from the one table of sentences, with this voice's ``who``."""
        who = f"{self._voice.client_prefix}{self._voice.who(client)}"
        return sentences.about_client(kind, who, quoted(file), **numbers)

    def _decision_line(self, event: Event) -> str | None:
        """A client's decision, in the ledger's own words (core.wire.sentences)."""
        if isinstance(event, FileRequested) and not event.exists:
            return self._about(event.client, "not_offered", event.file)
        if isinstance(event, Declined):
            return self._about(event.client, "declined", event.file)
        if isinstance(event, TransferFinished):
            return self._transfer_line(event)
        if isinstance(event, ReceiptReceived):
            kind = "verified" if event.verified else "digest_mismatch"
            return self._about(event.client, kind, event.file)
        if isinstance(event, ReceiptRefused):
            return self._about(event.client, "receipt_refused", event.file)
        return None

    def _transfer_line(self, event: TransferFinished) -> str | None:
        """downloaded / a range / did not finish, as the engine decided it for one body."""
        if event.outcome is TransferOutcome.DOWNLOADED:
            return self._about(event.client, "downloaded", event.file)
        if event.outcome is TransferOutcome.PARTIAL:
            if not event.acked:
                return None  # nothing delivered of a file it already has (as in the ledger)
            return self._about(event.client, "partial", event.file, start=event.start,
                               bytes=event.acked)
        return self._about(event.client, "interrupted", event.file, bytes=event.covered,
                           size=event.size)

    def _server_line(self, event: Event) -> str | None:
        """What the server itself did: its offer, its limits, its errors."""
        if isinstance(event, OfferChanged):
            return self._offer_line(event)
        if isinstance(event, LedgerFloodLimited):
            return f"{event.address} sends more requests than the ledger writes one by one" \
                   f" ({event.per_minute} a minute); the rest are counted in one line a minute."
        if isinstance(event, ConnectionsShed):
            kind = "idle connections" if event.idle else "connections"
            return f"The server is full: closed {event.count} {kind} from {event.address}" \
                   " so that new clients get in."
        if isinstance(event, EngineError):
            return f"Error: {event.message}"
        return None

    def _offer_line(self, event: OfferChanged) -> str | None:
        """Announce each offered file once it is hashed (once per version of it); past
        MAX_ANNOUNCED files (a folder), one line once every file is hashed (issue 12)."""
        if len(event.files) > MAX_ANNOUNCED:
            if not all(view.sha256 for view in event.files):
                return None
            size = sum(view.size for view in event.files)
            key = f"{len(event.files)}:{size}"
            with self._lock:
                if key in self._announced:
                    return None
                self._announced.add(key)
            return (f"Offering {len(event.files):,} files ({human_size(size)}); every"
                    " SHA-256 is computed (each is in the offer, GET /api/v1/offer)")
        lines = []
        with self._lock:
            for view in event.files:
                key = f"{view.name}\0{view.etag}"  # per file and version: an ETag is
                if view.sha256 and key not in self._announced:  # only size and time
                    self._announced.add(key)
                    lines.append(f"Offering {quoted(view.name)} ({exact_bytes(view.size)}), "
                                 f"SHA-256 {view.sha256}")
        return "\n".join(lines) or None
