"""What the server window shows about its clients, as pure state: events in, rows out.

No Tk here, so the table's logic (states, speeds, counters) is tested without a screen and
the window only copies changed rows into its Treeview.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    Declined,
    FileRequested,
    OfferSent,
    ReceiptReceived,
    ServerEvent,
    TransferFinished,
    TransferOutcome,
    TransferProgress,
    TransferStarted,
)
from core.wire.units import human_rate, human_size


class State(enum.Enum):
    """Where a client's visit stands; the value is what the table shows."""

    CONNECTED = "connected"
    TOLD = "told the file"
    ASKED = "asked"
    MISSING = "asked for a file that does not exist"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    VERIFIED = "downloaded and verified"
    MISMATCH = "downloaded, digest WRONG"
    DECLINED = "declined"
    INTERRUPTED = "interrupted"


NEUTRAL = {State.CONNECTED, State.TOLD, State.ASKED}
# What the row says after a body, as the engine decided it (a range is only a step).
_AFTER_TRANSFER = {TransferOutcome.DOWNLOADED: State.DOWNLOADED,
                   TransferOutcome.PARTIAL: State.ASKED,
                   TransferOutcome.INTERRUPTED: State.INTERRUPTED}


@dataclass
class Row:
    """One client's visit."""

    client: ClientInfo
    since: float
    state: State = State.CONNECTED
    asked: str = ""
    sent_total: int = 0
    body_sent: int = 0
    body_length: int = 0
    speed: float = 0.0
    connected: bool = True
    taken: int = 0  # files this visit downloaded whole (a selection: issue 12)
    _last: tuple[float, int] = field(default=(0.0, 0), repr=False)

    @property
    def who(self) -> str:
        """Display name and address (events.ClientInfo.display)."""
        return self.client.display

    @property
    def state_text(self) -> str:
        """The State column: progress while downloading, and whether the client left."""
        text = self.state.value
        if self.state is State.DOWNLOADING and self.body_length:
            text = f"downloading {100 * self.body_sent // self.body_length}% · " \
                   f"{human_rate(self.speed)}"
        if self.taken > 1:
            text = f"{text} · {self.taken:,} files taken"
        if not self.connected:
            return "disconnected" if self.state in NEUTRAL else f"{text} · disconnected"
        return text

    @property
    def sent_text(self) -> str:
        """Bytes sent in human units."""
        return human_size(self.sent_total)


@dataclass
class Counts:
    """The status bar's numbers."""

    connected: int = 0
    downloading: int = 0
    downloaded: int = 0
    declined: int = 0
    bytes_sent: int = 0


class ClientTable:
    """Rows keyed by connection, updated from server events (main thread)."""

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.counts = Counts()

    def apply(self, event: ServerEvent, now: float | None = None) -> int | None:
        """Fold one event into the table; returns the key of the changed row, if any."""
        now = time.monotonic() if now is None else now
        client = getattr(event, "client", None)
        if not isinstance(client, ClientInfo):
            return None
        if isinstance(event, ClientConnected):
            self.rows[client.key] = Row(client, time.time())
            self.counts.connected += 1
            return client.key
        row = self.rows.get(client.key)
        if row is None:
            return None
        row.client = client
        self._apply_to_row(row, event, now)
        return client.key

    def _apply_to_row(self, row: Row, event: ServerEvent, now: float) -> None:
        """The per-event state change of one row."""
        if isinstance(event, OfferSent) and row.state is State.CONNECTED:
            row.state = State.TOLD
        elif isinstance(event, FileRequested):
            row.asked = event.file
            if row.state not in (State.DOWNLOADED, State.VERIFIED):
                row.state = State.ASKED if event.exists else State.MISSING
        elif isinstance(event, Declined):
            row.asked = event.file  # a client may decline without asking first
            self._leave(row, State.DECLINED)
        elif isinstance(event, TransferStarted):
            self._start(row, event, now)
        elif isinstance(event, TransferProgress):
            self._progress(row, event.sent, now)
        elif isinstance(event, TransferFinished):
            self._progress(row, event.sent, now)
            self._leave(row, _AFTER_TRANSFER[event.outcome])
        elif isinstance(event, ReceiptReceived):
            self._leave(row, State.VERIFIED if event.verified else State.MISMATCH)
        elif isinstance(event, ClientDisconnected):
            if row.connected:
                row.connected = False
                self.counts.connected -= 1
            if row.state is State.DOWNLOADING:
                self._leave(row, State.INTERRUPTED)

    def _start(self, row: Row, event: TransferStarted, now: float) -> None:
        """A body starts going out to this client."""
        if row.state is not State.DOWNLOADING:
            self.counts.downloading += 1
        row.state = State.DOWNLOADING
        row.asked = event.file
        row.body_sent, row.body_length, row.speed = 0, event.length, 0.0
        row._last = (now, 0)

    def _progress(self, row: Row, sent: int, now: float) -> None:
        """More of the body went out: bytes and a smoothed speed."""
        delta = max(0, sent - row.body_sent)
        row.sent_total += delta
        self.counts.bytes_sent += delta
        row.body_sent = sent
        then, then_sent = row._last
        if now - then >= 0.25:
            rate = (sent - then_sent) / (now - then)
            row.speed = rate if row.speed == 0 else 0.7 * row.speed + 0.3 * rate
            row._last = (now, sent)

    def _leave(self, row: Row, state: State) -> None:
        """Move a row to an outcome state, keeping the counters right."""
        if row.state is State.DOWNLOADING:
            self.counts.downloading -= 1
        if state is State.DOWNLOADED:
            row.taken += 1
        if state is State.DOWNLOADED and row.state is not State.DOWNLOADED:
            self.counts.downloaded += 1
        if state is State.DECLINED and row.state is not State.DECLINED:
            self.counts.declined += 1
        if state is State.VERIFIED and row.state is not State.DOWNLOADED:
            self.counts.downloaded += 1
        row.state = state
