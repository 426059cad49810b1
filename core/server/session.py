"""One client connection (one visit): read requests, carry out replies, record what happened.

Runs in its own worker thread. Every listener call made here comes from that thread.
Malformed input ends in a 4xx and a closed connection, never in an exception that could
touch another client.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    Declined,
    EngineError,
    FileRequested,
    OfferSent,
    ReceiptReceived,
    ReceiptRefused,
    ServerEvent,
    TransferFinished,
    TransferOutcome,
    TransferProgress,
    TransferStarted,
)
from core.server.acks import end_cut, wait_acknowledged
from core.server.delivery import ClientKey, client_key
from core.server.ledger import LedgerEntry, LedgerEvent
from core.server.offer import FileUnavailable, ServedFile
from core.server.origin import check_host, check_origin
from core.server.regular import open_regular
from core.server.routing import (
    SERVER,
    Outcome,
    Reply,
    error_reply,
    refused_receipt,
    requested_name,
    route,
)
from core.server.sendbody import Progress, choose_mode, send_copy
from core.wire.http11 import (
    MAX_HEAD_BYTES,
    HttpError,
    Request,
    check_prefix,
    content_length,
    find_head_end,
    parse_request_head,
    response_head,
)
from core.wire.protocol import (
    FILES_PREFIX,
    HEADER_CLIENT_ID,
    HEADER_CLIENT_NAME,
    RECEIPT_WAIT_SECONDS,
    clean_client_id,
    clean_client_name,
    http_date,
)

if TYPE_CHECKING:
    from core.server.listening import FilecastServer

log = logging.getLogger("filecast.server")
_OUT_OF_FILES = (errno.EMFILE, errno.ENFILE, errno.ENOMEM)
CUT_DRAIN = 0.5  # seconds a cut body's queued bytes may take to be acknowledged (core.server.acks)


class _Closed(Exception):
    """The peer closed or went silent between requests: end the visit quietly."""


@dataclass
class _Transfer:
    """Book-keeping of one body going out."""

    file: str
    etag: str
    start: int
    length: int
    size: int
    whole: bool  # a 200 answer: a fresh download of the whole file (core.server.delivery)
    sent: int = 0
    last_report: float = 0.0


class Connection:
    """A worker that serves one accepted socket until it closes."""

    def __init__(self, server: FilecastServer, sock: socket.socket, client: ClientInfo) -> None:
        self._server = server
        self._sock = sock
        self.client = client
        self._buffer = bytearray()
        self._request: Request | None = None  # the request being answered
        self._served = 0
        self._peer_closed = False  # the client closed first: nothing of it is left to read
        # When the request being read must be whole: head_timeout from the connection for
        # its first request, from its first byte for a kept-alive one's next (_read_head).
        self._deadline: float | None = time.monotonic() + server.config.head_timeout
        # Since when it waits for a request (None while answering one): read by the accept
        # thread to choose whom to shed when full (core.server.shedding); a float, set atomically.
        self.idle_since: float | None = None

    def _emit(self, event: ServerEvent) -> None:
        """Hand an event to the server's listener."""
        self._server.emit(event)

    def run(self) -> None:
        """The thread body: greet, serve requests in turn, always report the disconnect."""
        self._emit(ClientConnected(self.client))
        try:
            self._serve()
        except (_Closed, OSError):
            pass
        except Exception:  # a bug: keep serving everyone else, but say so loudly
            log.exception("internal error while serving %s", self.client.label)
            self._emit(EngineError(f"Internal error while serving {self.client.label}; "
                                   "see the log for details."))
        finally:
            if self._input_pending():  # we end it while the client still sends (issue 9)
                self._server.close_gently(self._sock)
            else:  # nothing unread: a plain close sends no reset
                self._sock.close()
            self._emit(ClientDisconnected(self.client))

    def _input_pending(self) -> bool:
        """Whether the client sent bytes we have not read (a pipelined request, the rest of
        a body): closing over them would send a reset that can destroy our last answer."""
        if self._peer_closed:
            return False
        if self._buffer:
            return True
        try:
            # Not recv(MSG_DONTWAIT) on a socket with a time-out: CPython first waits for
            # it to become readable, up to that time-out (this held every close 30 s).
            self._sock.setblocking(False)
            return bool(self._sock.recv(1, socket.MSG_PEEK))
        except OSError:  # BlockingIOError: nothing there; anything else: nothing to save
            return False

    def _serve(self) -> None:
        """Answer requests until the connection should close."""
        while not self._server.stopping:
            request = self._request = None
            try:
                request = self._request = self._read_head()
                body = self._read_body(content_length(request))
                self._identify(request)
                reply = self._reply_for(request, body)
            except HttpError as error:  # no body on an answer to HEAD (RFC 9110 §9.3.2)
                head_only = request is not None and request.method == "HEAD"
                self._send_reply(error_reply(error, head_only=head_only))
                # An answer that says "Connection: close" closes (issue 9: a pipelined GET
                # after it was served and recorded).
                if error.close or request is None or not request.keep_alive:
                    return
                continue
            keep = self._carry_out(request, reply)
            self._served += 1
            if not keep or reply.close or not request.keep_alive:
                return

    # --- reading ---------------------------------------------------------------------

    def _recv_some(self, timeout: float) -> None:
        """Append what arrives within ``timeout`` to the buffer; _Closed on EOF."""
        self._sock.settimeout(max(timeout, 0.001))
        data = self._sock.recv(65536)
        if not data:
            self._peer_closed = True
            raise _Closed()
        self._buffer += data

    def _read_head(self) -> Request:
        """The next request head; 408 when it trickles in slower than the head time-out.

        One deadline a request, head and body (``_read_body``): ``head_timeout`` from the
        connection for its first request, and from its first byte for a kept-alive one's
        next (the adversarial pass: a first byte at 9.5 s bought another 10 s, and a body
        10 more)."""
        config = self._server.config
        self.idle_since = time.monotonic()
        if self._served:  # kept alive: the person may think before the next request
            self._deadline = None
            if not self._buffer:
                try:
                    self._recv_some(self._idle_wait())
                except TimeoutError as exc:
                    raise _Closed() from exc
            self._deadline = time.monotonic() + config.head_timeout
        elif not self._buffer:  # the first request: within head_timeout of the connection
            try:
                self._recv_some(self._deadline_left())
            except TimeoutError as exc:
                raise _Closed() from exc
        deadline = self._deadline or time.monotonic() + config.head_timeout
        while (end := find_head_end(self._buffer)) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise HttpError(431, "headers_too_large", "The request head is too large.")
            check_prefix(self._buffer)  # what can never be a request is refused at once
            try:
                self._recv_some(deadline - time.monotonic())
            except TimeoutError as exc:  # slowloris: bytes, but never a whole head
                raise HttpError(408, "timeout", "The request took too long to arrive.") from exc
        head = bytes(self._buffer[:end])
        del self._buffer[:end]
        self.idle_since = None  # answering now: costly to lose
        return parse_request_head(head)

    def _idle_wait(self) -> float:
        """How long a kept-alive connection may sit silent between requests."""
        config = self._server.config
        return config.visit_timeout if self.client.client_id else config.idle_timeout

    def _deadline_left(self) -> float:
        """Seconds left before the request being read must be whole."""
        if self._deadline is None:
            return self._server.config.head_timeout
        return self._deadline - time.monotonic()

    def _read_body(self, length: int) -> bytes:
        """Exactly ``length`` body bytes, by the request's deadline (see ``_read_head``)."""
        while len(self._buffer) < length:
            if self._deadline_left() <= 0:
                raise HttpError(408, "timeout", "The request body took too long.")
            try:
                self._recv_some(self._deadline_left())
            except TimeoutError as exc:
                raise HttpError(408, "timeout", "The request body took too long.") from exc
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    def _identify(self, request: Request) -> None:
        """Learn the client's id, name and user agent from its headers (ignored if invalid)."""
        updated = replace(
            self.client,
            client_id=clean_client_id(request.header(HEADER_CLIENT_ID)) or self.client.client_id,
            name=clean_client_name(request.header(HEADER_CLIENT_NAME)) or self.client.name,
            user_agent=(request.header("user-agent") or self.client.user_agent),
        )
        if updated != self.client:
            self.client = updated

    # --- deciding --------------------------------------------------------------------

    def _reply_for(self, request: Request, body: bytes) -> Reply:
        """Route the request against a fresh view of the offer; wait for a pending digest."""
        check_host(request, self._server.host_names)  # DNS rebinding (issue 9, item 11)
        if request.method not in ("GET", "HEAD"):
            check_origin(request)  # CSRF: writes only from this server's own page
        offer = self._server.offer
        if request.path.startswith(FILES_PREFIX):
            try:
                offer.refresh(requested_name(request))  # re-stat: never promise a stale digest
            except FileUnavailable as exc:  # gone, or a FIFO or a link in its place
                raise _unavailable(None, gone=True) from exc
        reply = route(request, body, offer.state, now=time.time())
        if reply.outcome is Outcome.WAIT_DIGEST and reply.subject is not None:
            # No longer than the client waits for the answer (issue 9: a receipt held 60 s
            # was recorded "verified" long after its client gave up).
            entry = offer.state.find(reply.subject)
            if entry is not None:
                offer.wait_digest(entry.name, entry.etag, RECEIPT_WAIT_SECONDS)
            reply = route(request, body, offer.state, now=time.time())
            if reply.outcome is Outcome.WAIT_DIGEST:
                raise HttpError(503, "not_ready", "The server is still hashing; try again.",
                                close=False, headers=(("Retry-After", "1"),))
        receipt = reply.receipt
        if reply.outcome is Outcome.RECEIPT and receipt is not None and \
                not self._server.deliveries.covered_whole(self._key(), receipt.file,
                                                          receipt.etag):
            return refused_receipt(receipt)  # issue 9: a receipt counts only for bytes sent
        return reply

    def _key(self) -> ClientKey:
        """Who this client is, for the book of downloads (core.server.delivery)."""
        return client_key(self.client.address, self.client.client_id, self.client.user_agent)

    # --- answering -------------------------------------------------------------------

    def _send_reply(self, reply: Reply) -> None:
        """Send a reply that has no file body."""
        self._sock.settimeout(self._server.config.stall_timeout)
        self._sock.sendall(self._head(reply) + reply.body)

    def _head(self, reply: Reply) -> bytes:
        """The response head with the headers every answer carries."""
        headers = [("Server", SERVER), ("Date", _now_http_date()), *reply.headers]
        request = self._request
        if reply.close or (request is not None and not request.keep_alive):
            headers.append(("Connection", "close"))
        elif request is not None and request.version < (1, 1):
            # HTTP/1.0 keeps a connection only when the answer says so (RFC 9112 §9.3):
            # without this, ab -k waited for a close that never came.
            headers.append(("Connection", "keep-alive"))
        return response_head(reply.status, headers)

    def _carry_out(self, request: Request, reply: Reply) -> bool:
        """Record, send and report one reply; False when the connection must close."""
        outcome, name = reply.outcome, reply.subject or ""
        if outcome is Outcome.FILE_MISSING:
            self._record(LedgerEvent.NOT_OFFERED, name)
            self._emit(FileRequested(self.client, name, False, None))
        elif outcome is Outcome.DECLINED:
            self._record(LedgerEvent.DECLINED, name)
        elif outcome is Outcome.RECEIPT and reply.receipt is not None:
            receipt = reply.receipt  # one line per download: a receipt sent again adds none
            if self._server.deliveries.first_receipt(self._key(), name, receipt.etag):
                event = LedgerEvent.VERIFIED if receipt.verified else LedgerEvent.DIGEST_MISMATCH
                self._record(event, name, sha256=receipt.sha256, size=receipt.size,
                             etag=receipt.etag)
        elif outcome is Outcome.RECEIPT_REFUSED and reply.receipt is not None:
            self._record(LedgerEvent.RECEIPT_REFUSED, name, etag=reply.receipt.etag)
        elif outcome is Outcome.FILE_FOUND:
            entry = self._server.offer.state.find(name)
            self._emit(FileRequested(self.client, name, True, entry.size if entry else None))
        if reply.file is not None and reply.span is not None:
            return self._send_file(reply)
        self._send_reply(reply)
        if outcome is Outcome.OFFER_SENT:
            self._emit(OfferSent(self.client))
        elif outcome is Outcome.DECLINED:
            self._emit(Declined(self.client, name))
        elif outcome is Outcome.RECEIPT and reply.receipt is not None:
            self._emit(ReceiptReceived(self.client, name, reply.receipt.sha256,
                                       reply.receipt.verified))
        elif outcome is Outcome.RECEIPT_REFUSED:
            self._emit(ReceiptRefused(self.client, name))
        return True

    def _send_file(self, reply: Reply) -> bool:
        """Open, check and stream the file span; record downloaded/partial/interrupted."""
        entry, span = reply.file, reply.span
        assert entry is not None and span is not None
        try:
            handle = open_regular(entry.path, entry.folder)  # never a FIFO, device or link
        except OSError as exc:
            self._send_reply(error_reply(_unavailable(exc)))
            return True
        with handle:
            if not entry.matches(os.fstat(handle.fileno())):  # changed since the snapshot
                self._refresh(entry.name)
                self._send_reply(error_reply(_unavailable(None)))
                return True
            self._sock.settimeout(self._server.config.stall_timeout)
            self._sock.sendall(self._head(reply))
            transfer = _Transfer(entry.name, entry.etag, span.start, span.length, entry.size,
                                 whole=reply.status == 200)
            # A whole-file answer begins a new download; a range adds to the current one.
            self._server.deliveries.start(self._key(), entry.name, entry.etag, entry.size,
                                          fresh=transfer.whole)
            self._emit(TransferStarted(self.client, entry.name, span.start, span.length,
                                       entry.size))
            with self._server.body_in_flight() as in_flight:
                complete = self._stream(handle, entry, transfer, in_flight)
        acked = self._acknowledged(transfer, complete)
        self._finish_transfer(transfer, acked)
        return complete and acked == transfer.length

    def _acknowledged(self, transfer: _Transfer, complete: bool) -> int:
        """How many body bytes the client's TCP acknowledged (core.server.acks), once it took what
        it will take: the stall time after a whole body, CUT_DRAIN after a cut (a client
        still reading gets what was queued; a stalled one has no window left). Anything
        still unacknowledged then is dropped with a reset, so the client never receives
        bytes that were not counted for it. Where the system cannot tell, the bytes handed
        to it count."""
        stall = self._server.config.stall_timeout if complete else CUT_DRAIN
        left = wait_acknowledged(self._sock, stall=stall,
                                 stopping=lambda: self._server.stopping)
        if left:
            end_cut(self._sock)
        # TCP acknowledges in order: what is still unacknowledged is the body's tail.
        return max(0, transfer.sent - (left or 0))

    def _stream(self, handle: io.FileIO, entry: ServedFile, transfer: _Transfer,
                in_flight: int) -> bool:
        """Send the span, holding back the last byte until the file is checked unchanged."""
        send = self._sender(handle, in_flight)
        report = self._progress_reporter(transfer)
        try:
            if transfer.length > 1:
                send(transfer.start, transfer.length - 1, report)
            if transfer.length > 0:
                if not self._server.offer.unchanged(entry):
                    self._refresh(entry.name)
                    return False  # abort: the body would not match the promised digest
                send(transfer.start + transfer.length - 1, 1,
                     lambda n: report(transfer.length - 1 + n))
        except (OSError, EOFError):
            return False
        return True

    def _refresh(self, name: str) -> None:
        """Let the offer re-read a file seen changed (it re-hashes it); a file that is gone
        now is answered when next asked for."""
        with contextlib.suppress(FileUnavailable):
            self._server.offer.refresh(name)

    def _sender(self, handle: io.FileIO, in_flight: int) -> Callable[[int, int, Progress], int]:
        """``send(offset, count, progress)``: the copy loop in this thread, or sendfile
        through the server's pump (core.server.sendbody.choose_mode decides)."""
        config, sock = self._server.config, self._sock
        if choose_mode(config.body_mode, in_flight) == "copy":
            return lambda offset, count, progress: send_copy(sock, handle, offset, count,
                                                             progress)
        pump, fd, stall = self._server.pump, handle.fileno(), config.stall_timeout
        return lambda offset, count, progress: pump.send(sock, fd, offset, count, stall=stall,
                                                         progress=progress)

    def _progress_reporter(self, transfer: _Transfer) -> Callable[[int], None]:
        """A callback that keeps ``transfer.sent`` and reports it at most ~10 times a second."""
        interval = self._server.config.progress_interval

        def report(sent: int) -> None:
            transfer.sent = sent
            now = time.monotonic()
            if now - transfer.last_report >= interval:
                transfer.last_report = now
                self._emit(TransferProgress(self.client, transfer.file, sent, transfer.length,
                                            transfer.size))

        return report

    def _finish_transfer(self, transfer: _Transfer, acked: int) -> None:
        """Record what the body was, as the book of downloads decides it from the bytes the
        client acknowledged: the download completed, a range, or it stopped short."""
        verdict = self._server.deliveries.finish(self._key(), transfer.file, transfer.etag,
                                                 transfer.size, transfer.start,
                                                 transfer.length, acked, whole=transfer.whole)
        event, count, fold = {
            TransferOutcome.DOWNLOADED: (LedgerEvent.DOWNLOADED, verdict.covered, True),
            TransferOutcome.PARTIAL: (LedgerEvent.PARTIAL, verdict.acked, True),
            # cut by our own stop(): the server's doing, never folded as client noise
            TransferOutcome.INTERRUPTED: (LedgerEvent.INTERRUPTED, verdict.covered,
                                          not self._server.stopping),
        }[verdict.outcome]
        # a body that delivered nothing of a file the client already has says nothing
        if verdict.outcome is not TransferOutcome.PARTIAL or verdict.acked:
            self._record(event, transfer.file, fold=fold, bytes=count, size=transfer.size,
                         start=transfer.start, acked=verdict.acked, etag=transfer.etag)
        self._emit(TransferFinished(self.client, transfer.file, transfer.start, transfer.sent,
                                    transfer.length, transfer.size, verdict.outcome, acked,
                                    verdict.covered))

    def _record(self, event: LedgerEvent, file: str, *, fold: bool = True,
                **fields: object) -> None:
        """Write one ledger line (repeats may fold, core.server.fold); a ledger that cannot be
        written is reported, not fatal."""
        entry = LedgerEntry(event, self.client.address, file, client_id=self.client.client_id,
                            name=self.client.name, user_agent=self.client.user_agent,
                            **fields)  # type: ignore[arg-type]
        self._server.record(entry, fold=fold)


def _unavailable(exc: OSError | None, *, gone: bool = False) -> HttpError:
    """503 for an offered file that cannot be opened or is changing (never a false 404)."""
    if exc is not None and exc.errno in _OUT_OF_FILES:
        message = "The server is too busy to open the file; try again in a moment."
    elif exc is not None or gone:
        message = "The offered file cannot be read right now; try again later."
    else:
        message = "The offered file is changing; try again in a moment."
    return HttpError(503, "busy", message, close=False, headers=(("Retry-After", "1"),))


def _now_http_date() -> str:
    """The Date header value (RFC 9110 §6.6.1)."""
    return http_date(time.time())
