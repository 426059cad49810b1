"""Many files going out of a session as one tar (issue 12).

The archive is sent as laid out (core.wire.archive.Layout): each member's header, its
bytes, its padding. A member that changed on disk since the offer's snapshot cuts the
stream before its last byte, as a single body is cut (core.server.transfer): the client
keeps the files before it and never gets a mix of versions. When the stream ends, the
bytes the client's TCP acknowledged say which members it received whole; each is a
download of its own in the book (core.server.delivery), so its receipt counts, and the
lines are written in one group commit.

Runs on the session's worker thread; every listener call made here comes from that thread.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket

from core.events import ClientInfo, Throttle, TransferProgress, TransferStarted
from core.server.context import SessionContext
from core.server.delivery import ClientKey
from core.server.effects import Body, Effects, transfer_effects
from core.server.entries import FileUnavailable, ServedFile
from core.server.ledger import LedgerEntry
from core.server.regular import open_regular
from core.server.routing import Reply
from core.server.selections import Selections, common_folder
from core.server.transfer import acknowledged, body_sender
from core.wire.archive import header, padding
from core.wire.sentences import file_count

GATHER_BYTES = 256 * 1024  # members this small are read whole and sent many at once


class ArchiveTransfer:
    """Sends one archive reply to one client and records which files it received."""

    def __init__(self, ctx: SessionContext, sock: socket.socket, client: ClientInfo,
                 key: ClientKey, reply: Reply, selections: Selections) -> None:
        assert reply.archive is not None
        self._ctx, self._sock, self._client, self._key = ctx, sock, client, key
        self._members, self._layout = reply.members, reply.archive
        self._part, self._selections = reply.part, selections
        self._sent = 0
        self._out = bytearray()  # small members gathered for one send
        folder, count = common_folder(self._members), file_count(len(self._members))
        # What the window's tables show while it goes out: "Week 12/ (120 files)".
        self._label = f"{folder} ({count})" if folder else count
        self._throttle = Throttle(ctx.config.progress_interval)

    def run(self, head: bytes) -> bool:
        """Send ``head`` and the archive; True when all of it was sent and acknowledged."""
        book, names = self._ctx.deliveries, frozenset(entry.name for entry in self._members)
        book.archive_started(self._key, names)
        try:
            self._sock.settimeout(self._ctx.config.stall_timeout)
            self._sock.sendall(head)
            length = self._layout.length
            self._ctx.emit(TransferStarted(self._client, self._label, 0, length, length))
            with self._ctx.body_in_flight() as in_flight:
                complete = self._stream(in_flight)
            acked = acknowledged(self._ctx, self._sock, self._sent, complete)
            self._record(acked)
        finally:  # receipts sent on another connection meanwhile may be counted now
            book.archive_ended(self._key, names)
        return complete and acked == self._layout.length

    def _put(self, data: bytes | bytearray | memoryview) -> None:
        self._sock.sendall(data)
        self._report(self._sent + len(data))

    def _report(self, sent: int) -> None:
        """Keep the count of bytes sent; tell the window at most once a progress interval."""
        self._sent = sent
        if self._throttle.due():
            length = self._layout.length
            self._ctx.emit(TransferProgress(self._client, self._label, sent, length, length))

    def _flush(self) -> None:
        """Send what small members gathered (one send for many: one per 10 KiB file set
        the pace before, 3-5 s for 10,000 of them)."""
        if self._out:
            self._put(self._out)
            self._out = bytearray()

    def _stream(self, in_flight: int) -> bool:
        """Every member, then the end blocks; False at the first that cannot be sent whole."""
        self._out = bytearray()
        try:
            for entry, plan in zip(self._members, self._layout.members, strict=True):
                self._out += header(plan)
                if entry.size <= GATHER_BYTES:
                    if not self._gather(entry):
                        self._flush()
                        return False
                    if len(self._out) >= GATHER_BYTES:
                        self._flush()
                    continue
                self._flush()
                if not self._send_member(entry, in_flight):
                    return False
                self._out += bytes(padding(entry.size))
            self._out += bytes(self._layout.length - self._sent - len(self._out))
            self._flush()  # two zero blocks and the rest of the record
        except (OSError, EOFError):
            return False
        return True

    def _gather(self, entry: ServedFile) -> bool:
        """Read a small member whole into the output, checked unchanged after the read
        (so what goes out is one version: the rule ``_send_member`` keeps for big ones)."""
        handle = self._opened(entry)
        if handle is None:
            return False
        with handle:
            data = handle.read(entry.size + 1)
        if len(data) != entry.size or not self._ctx.offer.unchanged(entry):
            self._refresh(entry)
            return False
        self._out += data
        self._out += bytes(padding(entry.size))
        return True

    def _send_member(self, entry: ServedFile, in_flight: int) -> bool:
        """One member's bytes, the last one held back until the file is checked unchanged."""
        handle = self._opened(entry)
        if handle is None:
            return False
        with handle:
            send = body_sender(self._ctx, self._sock, handle, in_flight)
            base = self._sent

            def progress(count: int) -> None:
                self._report(base + count)

            if entry.size > 1:
                send(0, entry.size - 1, progress)
            if not self._ctx.offer.unchanged(entry):
                self._refresh(entry)
                return False
            send(entry.size - 1, 1, lambda n: progress(entry.size - 1 + n))
        return True

    def _opened(self, entry: ServedFile) -> io.FileIO | None:
        """The member's file, opened and still as the offer's snapshot saw it; None when
        it cannot be opened or changed (then the offer re-reads it)."""
        try:
            handle = open_regular(entry.path, entry.folder)
        except OSError:  # gone, or a FIFO or a link in its place: the offer is told, so
            self._refresh(entry)  # the next archive leaves it out, not cut at it again
            return None
        if entry.matches(os.fstat(handle.fileno())):
            return handle
        handle.close()
        self._refresh(entry)
        return None

    def _refresh(self, entry: ServedFile) -> None:
        with contextlib.suppress(FileUnavailable):
            self._ctx.offer.refresh(entry.name)

    def _record(self, acked: int) -> None:
        """The book's verdict on each member the client received (whole, or the one it
        was cut in), written in one group commit, then the events."""
        whole, part = self._layout.received(acked)
        book, effects = self._ctx.deliveries, []
        for index, entry in enumerate(self._members[:whole + (1 if part else 0)]):
            got = entry.size if index < whole else part
            book.start(self._key, entry.name, entry.etag, entry.size, fresh=True)
            verdict = book.finish(self._key, entry.name, entry.etag, entry.size, 0,
                                  entry.size, got, whole=True)
            book.ended(self._key, entry.name, entry.etag)
            body = Body(entry.name, entry.etag, 0, entry.size, entry.size, got)
            effect, _ = transfer_effects(body, verdict, got, self._client,
                                         stopping=self._ctx.stopping)
            effects.append(effect)
        # One summary line per selection, however many archives it took (issue 12):
        # "downloaded 120 of 120 files (48.0 MB) of 'Week 12/'"; none when none arrived.
        for tally in self._selections.add(self._part, self._members, whole):
            line = tally.summary(self._client)
            if line is not None:
                effects.append(Effects(line))
        carry_out_all(self._ctx, effects)


def carry_out_all(ctx: SessionContext, effects: list[Effects], *, listed: bool = False) -> None:
    """Write every effect's line in one group commit (``listed``: as one request about many
    files, through the flood gate), then report their events."""
    lines: list[LedgerEntry] = [e.entry for e in effects if e.entry is not None]
    if listed:
        ctx.record_list(lines)
    else:
        ctx.record_many(lines)
    for effect in effects:
        for event in effect.after:
            ctx.emit(event)
