"""One file body going out of a session: open the offered file safely, send the span,
hold back the last byte until the file is checked unchanged, wait for the client's TCP to
acknowledge, and let the book of downloads decide what it was.

Runs on the session's worker thread; every listener call made here comes from that thread.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import socket
from collections.abc import Callable

from core.events import ClientInfo, Throttle, TransferProgress, TransferStarted
from core.server.acks import end_cut, wait_acknowledged
from core.server.context import SessionContext
from core.server.delivery import ClientKey
from core.server.effects import Body, Effects, transfer_effects
from core.server.entries import FileUnavailable, ServedFile
from core.server.regular import open_regular
from core.server.routing import Reply
from core.server.sendbody import Progress, choose_mode, send_copy
from core.wire.http11 import HttpError
from core.wire.ranges import ByteRange

CUT_DRAIN = 0.5  # seconds a cut body's queued bytes may take to be acknowledged (core.server.acks)
_OUT_OF_FILES = (errno.EMFILE, errno.ENFILE, errno.ENOMEM)


class Transfer:
    """Sends one reply's file span to one client and records what it was."""

    def __init__(self, ctx: SessionContext, sock: socket.socket, client: ClientInfo,
                 key: ClientKey, reply: Reply) -> None:
        assert reply.file is not None and reply.span is not None
        self._ctx, self._sock, self._client, self._key = ctx, sock, client, key
        self._entry: ServedFile = reply.file
        self._span: ByteRange = reply.span
        self._whole = reply.status == 200  # a fresh download of the whole file (delivery)
        self._sent = 0
        self._throttle = Throttle(ctx.config.progress_interval)

    def run(self, head: bytes) -> bool:
        """Send ``head`` and the body; True when all of it was sent and acknowledged.
        HttpError (503) before any byte went out when the file cannot be sent now."""
        entry, span, book = self._entry, self._span, self._ctx.deliveries
        try:
            handle = open_regular(entry.path, entry.folder)  # never a FIFO, device or link
        except OSError as exc:
            raise unavailable(exc) from exc
        with handle:
            if not entry.matches(os.fstat(handle.fileno())):  # changed since the snapshot
                self._refresh()
                raise unavailable(None)
            self._sock.settimeout(self._ctx.config.stall_timeout)
            self._sock.sendall(head)
            # A whole-file answer begins a new download; a range adds to the current one.
            book.start(self._key, entry.name, entry.etag, entry.size, fresh=self._whole)
            try:
                complete = self._send_body(handle)
            except BaseException:
                book.ended(self._key, entry.name, entry.etag)
                raise
        try:
            acked = self._acknowledged(complete)
            self._finish(acked)
        finally:  # a receipt waiting for this body's verdict may go on (delivery.settle)
            book.ended(self._key, entry.name, entry.etag)
        return complete and acked == span.length

    def _send_body(self, handle: io.FileIO) -> bool:
        """Announce the body and stream it; True when all of it was handed to the system."""
        entry, span = self._entry, self._span
        self._ctx.emit(TransferStarted(self._client, entry.name, span.start, span.length,
                                       entry.size))
        with self._ctx.body_in_flight() as in_flight:
            return self._stream(handle, in_flight)

    def _acknowledged(self, complete: bool) -> int:
        """How many body bytes the client's TCP acknowledged (see ``acknowledged``)."""
        return acknowledged(self._ctx, self._sock, self._sent, complete)

    def _stream(self, handle: io.FileIO, in_flight: int) -> bool:
        """Send the span, holding back the last byte until the file is checked unchanged."""
        send = self._sender(handle, in_flight)
        start, length = self._span.start, self._span.length
        try:
            if length > 1:
                send(start, length - 1, self._report)
            if length > 0:
                if not self._ctx.offer.unchanged(self._entry):
                    self._refresh()
                    return False  # abort: the body would not match the promised digest
                send(start + length - 1, 1, lambda n: self._report(length - 1 + n))
        except (OSError, EOFError):
            return False
        return True

    def _refresh(self) -> None:
        """Let the offer re-read a file seen changed (it re-hashes it); a file that is gone
        now is answered when next asked for."""
        with contextlib.suppress(FileUnavailable):
            self._ctx.offer.refresh(self._entry.name)

    def _sender(self, handle: io.FileIO, in_flight: int) -> Callable[[int, int, Progress], int]:
        """``send(offset, count, progress)`` for this body (see ``body_sender``)."""
        return body_sender(self._ctx, self._sock, handle, in_flight)

    def _report(self, sent: int) -> None:
        """Keep the count of bytes sent; report it at most once a progress interval."""
        self._sent = sent
        if self._throttle.due():
            self._ctx.emit(TransferProgress(self._client, self._entry.name, sent,
                                            self._span.length, self._entry.size))

    def _finish(self, acked: int) -> None:
        """Record what the body was, as the book of downloads decides it from the bytes the
        client acknowledged: the download completed, a range, or it stopped short."""
        entry, span = self._entry, self._span
        verdict = self._ctx.deliveries.finish(self._key, entry.name, entry.etag, entry.size,
                                              span.start, span.length, acked,
                                              whole=self._whole)
        body = Body(entry.name, entry.etag, span.start, span.length, entry.size, self._sent)
        effects, fold = transfer_effects(body, verdict, acked, self._client,
                                         stopping=self._ctx.stopping)
        carry_out(self._ctx, effects, fold=fold)


def acknowledged(ctx: SessionContext, sock: socket.socket, sent: int, complete: bool) -> int:
    """How many of ``sent`` body bytes the client's TCP acknowledged (core.server.acks),
    once it took what it will take: the stall time after a whole body, CUT_DRAIN after a
    cut (a client still reading gets what was queued; a stalled one has no window left).
    Anything still unacknowledged then is dropped with a reset, so the client never
    receives bytes that were not counted for it. Where the system cannot tell, the bytes
    handed to it count."""
    stall = ctx.config.stall_timeout if complete else CUT_DRAIN
    left = wait_acknowledged(sock, stall=stall, stopping=lambda: ctx.stopping)
    if left:
        end_cut(sock)
    # TCP acknowledges in order: what is still unacknowledged is the body's tail.
    return max(0, sent - (left or 0))


def body_sender(ctx: SessionContext, sock: socket.socket, handle: io.FileIO,
                in_flight: int) -> Callable[[int, int, Progress], int]:
    """``send(offset, count, progress)``: the copy loop in this thread, or sendfile
    through the server's sendfile loop (core.server.sendbody.choose_mode decides)."""
    config = ctx.config
    if choose_mode(config.body_mode, in_flight) == "copy":
        return lambda offset, count, progress: send_copy(sock, handle, offset, count, progress)
    loop, fd, stall = ctx.sendfile_loop, handle.fileno(), config.stall_timeout
    return lambda offset, count, progress: loop.send(sock, fd, offset, count, stall=stall,
                                                     progress=progress)


def carry_out(ctx: SessionContext, effects: Effects, *, fold: bool = True) -> None:
    """Write the ledger line, then report the events that follow it."""
    if effects.entry is not None:
        ctx.record(effects.entry, fold=fold)
    for event in effects.after:
        ctx.emit(event)


def unavailable(exc: OSError | None, *, gone: bool = False) -> HttpError:
    """503 for an offered file that cannot be opened or is changing (never a false 404)."""
    if exc is not None and exc.errno in _OUT_OF_FILES:
        message = "The server is too busy to open the file; try again in a moment."
    elif exc is not None or gone:
        message = "The offered file cannot be read right now; try again later."
    else:
        message = "The offered file is changing; try again in a moment."
    return HttpError(503, "busy", message, close=False, headers=(("Retry-After", "1"),))
