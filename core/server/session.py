"""One client connection (one visit): read requests, carry out replies, record what happened.

Runs in its own worker thread. Every listener call made here comes from that thread.
Malformed input ends in a 4xx and a closed connection, never in an exception that could
touch another client.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace

from core.events import ClientConnected, ClientDisconnected, ClientInfo, EngineError, ServerEvent
from core.server.archive_send import ArchiveTransfer, carry_out_all
from core.server.context import SessionContext
from core.server.delivery import ClientKey, client_key
from core.server.effects import Effects, reply_effects
from core.server.entries import FileUnavailable
from core.server.keepalive import (
    NEXT,
    RULES,
    Phase,
    Silence,
    keep_alive_wait,
    new_deadline,
    stays_open,
)
from core.server.listed import count_receipts, decline_many
from core.server.origin import check_host, check_origin
from core.server.routing import (
    SERVER,
    FileTarget,
    Outcome,
    Reply,
    error_reply,
    refused_receipt,
    requested_name,
    route,
)
from core.server.selections import Selections
from core.server.transfer import Transfer, unavailable
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
from core.wire.visit import NAME_COOKIE, VISIT_COOKIE, cookies

log = logging.getLogger("filecast.server")


_HEAD_TOO_SLOW = "The request took too long to arrive."


class _Closed(Exception):
    """The peer closed or went silent between requests: end the visit quietly."""


class Session:
    """One accepted socket served until it closes, on its own worker thread."""

    def __init__(self, server: SessionContext, sock: socket.socket, client: ClientInfo) -> None:
        self._server = server
        self._sock = sock
        self.client = client
        self._buffer = bytearray()
        self._request: Request | None = None  # the request being answered
        self._peer_closed = False  # the client closed first: nothing of it is left to read
        self._phase = Phase.OPENED  # core.server.keepalive: the table of what each allows
        # When the request being read must be whole: head_timeout from the connection for
        # its first request, from its first byte for a kept-alive one's next.
        self._deadline = time.monotonic() + server.config.head_timeout
        # Since when it waits for a request (None while answering one): read by the accept
        # thread to choose whom to shed when full (core.server.shedding); a float, set atomically.
        self.idle_since: float | None = time.monotonic()
        self._selections = Selections()  # archives of selections taken in several

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
            self._sum_up_selections()
            self._emit(ClientDisconnected(self.client))

    def _sum_up_selections(self) -> None:
        """The summary line of each selection the client did not finish on this
        connection, as it stands (core.server.selections)."""
        lines = [tally.summary(self.client) for tally in self._selections.ended()]
        effects = [Effects(line) for line in lines if line is not None]
        if effects:  # most connections took no selection
            carry_out_all(self._server, effects)

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
                if self._phase is not Phase.ANSWERING:
                    self._enter(Phase.ANSWERING)
                self._send_reply(error_reply(error, head_only=head_only))
                whole, closes = True, error.close
            else:
                whole, closes = self._carry_out(request, reply), reply.close
            if not stays_open(request_keep_alive=request is not None and request.keep_alive,
                              answer_closes=closes, body_whole=whole):
                return
            self._enter(Phase.KEPT)

    # --- reading ---------------------------------------------------------------------

    def _recv_some(self, timeout: float) -> None:
        """Append what arrives within ``timeout`` to the buffer; _Closed on EOF."""
        self._sock.settimeout(max(timeout, 0.001))
        data = self._sock.recv(65536)
        if not data:
            self._peer_closed = True
            raise _Closed()
        self._buffer += data

    def _enter(self, phase: Phase) -> None:
        """Move to ``phase`` (core.server.keepalive): its deadline and idleness."""
        if phase not in NEXT[self._phase]:  # a bug: say so, and go on
            log.error("session: %s -> %s is not in keepalive.NEXT", self._phase, phase)
        if new_deadline(self._phase, phase):
            self._deadline = time.monotonic() + self._server.config.head_timeout
        self._phase = phase
        if not RULES[phase].idle:
            self.idle_since = None  # answering now: costly to lose
        elif self.idle_since is None:
            self.idle_since = time.monotonic()

    def _wait_for_bytes(self, too_slow: str) -> None:
        """Read more within what the phase allows; a time-out closes or is a 408."""
        rule = RULES[self._phase]
        if rule.silence is Silence.KEEP_ALIVE:
            left = keep_alive_wait(self._server.config,
                                   filecast_client=bool(self.client.client_id))
        else:
            left = self._deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            self._recv_some(left)
        except TimeoutError as exc:
            if rule.timeout_answer:  # slowloris: bytes, but never a whole request
                raise HttpError(408, "timeout", too_slow) from exc
            raise _Closed() from exc

    def _read_head(self) -> Request:
        """The next request head; 408 when it trickles in slower than the head time-out.

        One deadline a request, head and body (``_read_body``): ``head_timeout`` from the
        connection for its first request, and from its first byte for a kept-alive one's
        next (the adversarial pass: a first byte at 9.5 s bought another 10 s, and a body
        10 more)."""
        if not self._buffer:
            self._wait_for_bytes(_HEAD_TOO_SLOW)
        self._enter(Phase.READING)
        while (end := find_head_end(self._buffer)) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise HttpError(431, "headers_too_large", "The request head is too large.")
            check_prefix(self._buffer)  # what can never be a request is refused at once
            self._wait_for_bytes(_HEAD_TOO_SLOW)
        head = bytes(self._buffer[:end])
        del self._buffer[:end]
        return parse_request_head(head)

    def _read_body(self, length: int) -> bytes:
        """Exactly ``length`` body bytes, by the request's deadline (see ``_read_head``)."""
        while len(self._buffer) < length:
            self._wait_for_bytes("The request body took too long.")
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._enter(Phase.ANSWERING)
        return body

    def _identify(self, request: Request) -> None:
        """Learn the client's id, name and user agent from its headers, else from a browser
        visit's cookies (core.wire.visit); anything invalid is ignored."""
        jar = cookies(request.header("cookie"))
        updated = replace(
            self.client,
            client_id=clean_client_id(request.header(HEADER_CLIENT_ID))
            or clean_client_id(jar.get(VISIT_COOKIE)) or self.client.client_id,
            name=clean_client_name(request.header(HEADER_CLIENT_NAME))
            or clean_client_name(jar.get(NAME_COOKIE)) or self.client.name,
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
        target = None
        if request.path.startswith(FILES_PREFIX):
            name = requested_name(request)  # decoded once, here
            try:  # looked up once, and re-stat: never promise a stale digest
                target = FileTarget(name, offer.refresh(name))
                if target.file is not None and target.file.sha256 is None:
                    offer.want(target.file.name)  # hashed next: this client waits for it
            except FileUnavailable as exc:  # gone, or a FIFO or a link in its place
                raise unavailable(None, gone=True) from exc
        reply = route(request, body, offer.state, now=time.time(), target=target)
        if reply.outcome is Outcome.WAIT_DIGEST and reply.file is not None:
            # No longer than the client waits for the answer (issue 9: a receipt held 60 s
            # was recorded "verified" long after its client gave up).
            offer.wait_digest(reply.file.name, reply.file.etag, RECEIPT_WAIT_SECONDS)
            reply = route(request, body, offer.state, now=time.time(), target=target)
            if reply.outcome is Outcome.WAIT_DIGEST:
                raise HttpError(503, "not_ready", "The server is still hashing; try again.",
                                close=False, headers=(("Retry-After", "1"),))
        return self._counted(reply)

    def _counted(self, reply: Reply) -> Reply:
        """A receipt counts only for a download delivered whole, and once (issue 9); a
        list of receipts and a selection declined are decided file by file (server.listed)."""
        if reply.outcome is Outcome.RECEIPTS:
            return count_receipts(self._server, self.client, self._key(), reply)
        if reply.outcome is Outcome.DECLINED_MANY:
            return decline_many(self._server, self.client, reply)
        receipt, book = reply.receipt, self._server.deliveries
        if reply.outcome is not Outcome.RECEIPT or receipt is None:
            return reply
        book.settle(self._key(), receipt.file, receipt.etag, RECEIPT_WAIT_SECONDS)
        if not book.covered_whole(self._key(), receipt.file, receipt.etag):
            return refused_receipt(receipt)  # a forged one wrote "verified" once
        if not book.first_receipt(self._key(), receipt.file, receipt.etag):
            return replace(reply, outcome=Outcome.RECEIPT_AGAIN)
        return reply

    def _key(self) -> ClientKey:
        """Who this client is, for the book of downloads (core.server.delivery)."""
        return client_key(self.client.address, self.client.client_id, self.client.user_agent,
                          name=self.client.name)

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
        """Record, send and report one reply; False when the connection must close.

        The ledger line is written before the answer goes out, so a client that saw the
        answer is always on record (core.server.effects says what the reply means)."""
        effects = reply_effects(reply, self.client)
        if effects.entry is not None:
            self._server.record(effects.entry)
        for event in effects.before:
            self._emit(event)
        if reply.outcome is Outcome.ARCHIVE and reply.members:
            archive = ArchiveTransfer(self._server, self._sock, self.client, self._key(), reply,
                                      self._selections)
            return archive.run(self._head(reply))
        if reply.file is not None and reply.span is not None:
            transfer = Transfer(self._server, self._sock, self.client, self._key(), reply)
            try:
                return transfer.run(self._head(reply))
            except HttpError as error:  # before any byte of it went out
                self._send_reply(error_reply(error))
                return True
        self._send_reply(reply)
        for event in effects.after:
            self._emit(event)
        return True


def _now_http_date() -> str:
    """The Date header value (RFC 9110 §6.6.1)."""
    return http_date(time.time())
