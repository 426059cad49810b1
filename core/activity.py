"""What the server did, as lines a person reads: the terminal's ``serve`` output and the
server window's activity log render events through :class:`ServerPrinter`.

A front-end module: it imports events and core.wire only. Every sentence about a client
comes from core.wire.sentences, so the ledger, the terminal and the window agree word for word.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from core.events import (
    ClientConnected,
    ClientDisconnected,
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
from core.wire.escaping import quoted
from core.wire.units import exact_bytes


class ServerPrinter:
    """Prints server events as the original program did. Called from worker threads
    (``on_event``); ``line_for`` is pure and runs on whichever thread calls it."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
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
                    f"{sentences.WAITING}")
        if isinstance(event, ClientConnected):
            return f"Client connected {event.client.label}"
        if isinstance(event, OfferSent):
            return f"Message sent out to client {event.client.label}"
        if isinstance(event, ClientDisconnected):
            return f"Client: {event.client.label} disconnected!"
        return self._decision_line(event) or self._server_line(event)

    def _decision_line(self, event: Event) -> str | None:
        """A client's decision, in the ledger's own words (core.wire.sentences)."""
        if isinstance(event, FileRequested) and not event.exists:
            return _about(event.client.label, "not_offered", event.file)
        if isinstance(event, Declined):
            return _about(event.client.label, "declined", event.file)
        if isinstance(event, TransferFinished):
            return _transfer_line(event)
        if isinstance(event, ReceiptReceived):
            kind = "verified" if event.verified else "digest_mismatch"
            return _about(event.client.label, kind, event.file)
        if isinstance(event, ReceiptRefused):
            return _about(event.client.label, "receipt_refused", event.file)
        return None

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
        """Announce each offered file once it is hashed (once per version of it)."""
        lines = []
        with self._lock:
            for view in event.files:
                if view.sha256 and view.etag not in self._announced:
                    self._announced.add(view.etag)
                    lines.append(f"Offering {quoted(view.name)} ({exact_bytes(view.size)}), "
                                 f"SHA-256 {view.sha256}")
        return "\n".join(lines) or None


def _about(label: str, kind: str, file: str, **numbers: int | None) -> str:
    """``Client: LABEL ...`` from the one table of sentences."""
    return sentences.about_client(kind, f"Client: {label}", quoted(file), **numbers)


def _transfer_line(event: TransferFinished) -> str | None:
    """downloaded / a range / did not finish, as the engine decided it for one body."""
    label = event.client.label
    if event.outcome is TransferOutcome.DOWNLOADED:
        return _about(label, "downloaded", event.file)
    if event.outcome is TransferOutcome.PARTIAL:
        if not event.acked:
            return None  # nothing delivered of a file it already has (as in the ledger)
        return _about(label, "partial", event.file, start=event.start, bytes=event.acked)
    return _about(label, "interrupted", event.file, bytes=event.covered, size=event.size)
