"""The client's one keep-alive HTTP/1.1 connection to a server, and the words for its failures.

docs/PROTOCOL.md (The visit): a client sends every request of a visit over one connection.
:class:`Link` keeps that connection, reopens it when the server closed it while idle,
lets another thread cancel whatever is in flight, and turns socket and HTTP failures into
core.errors sentences. What the requests mean is core.client.visit's business.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import threading
from urllib.parse import urlsplit

from core import DEFAULT_PORT
from core.client.deadline import DeadlineConnection, DeadlineExpired
from core.errors import CancelledError, ConnectError, FilecastError, ProtocolError, ServerGoneError
from core.wire.escaping import escape_controls
from core.wire.protocol import SOFTWARE, error_message

MAX_SERVER_MESSAGE = 200  # characters of a server error message shown to a person

log = logging.getLogger(__name__)

USER_AGENT = SOFTWARE
CANCELLED = "Cancelled at your request."
# Answers other than file bodies are small JSON; a server that sends more is not read to
# the end (a hostile one once made the client swallow a 512 MiB "offer", issue 5). The cap
# is set by what json.loads makes of it, not by the bytes (issue 9): measured on Python 3.11,
# 1 MiB of "[[]],[[]],..." parses into 35 MiB of lists (8 MiB took the client to 578 MiB),
# so 1 MiB keeps a parsed answer far inside the client's 100 MiB. An offer of one file is
# about 500 bytes: 1 MiB is some 2,000 files.
MAX_ANSWER_BYTES = 1024 * 1024
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def parse_server(text: str) -> tuple[str, int]:
    """``host``, ``host:5002``, ``[::1]:5002`` or ``http://host:5002/`` → (host, port)."""
    bad = ValueError(
        f"'{text}' is not a server address. Type a host name or IP address, optionally with"
        f" a port, like http://192.168.1.20:{DEFAULT_PORT}/ or 192.168.1.20."
    )
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise bad
    bare = "://" not in raw
    if bare:
        if raw.count(":") > 1 and not raw.startswith("["):
            raw = f"[{raw}]"  # a bare IPv6 address has no port
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise bad from exc
    if bare and parts.path not in ("", "/"):
        raise bad  # "host/x" is a typo, not an address; a pasted URL may carry any path
    if parts.scheme.lower() != "http":
        raise ValueError(f"Filecast servers speak plain http://, not {parts.scheme}://.")
    if port == 0:
        raise ValueError("The port must be a number from 1 to 65535.")
    host = parts.hostname
    if not host or not _valid_host(host):
        raise bad
    return host, port or DEFAULT_PORT


def _valid_host(host: str) -> bool:
    """An IP address or a (possibly international) DNS name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return _HOST_NAME.fullmatch(ascii_name) is not None


def read_answer(resp: http.client.HTTPResponse, address: str) -> bytes:
    """The body of a small (non-file) answer; ProtocolError past MAX_ANSWER_BYTES, after
    which the caller must drop the connection (the rest is unread).

    Every read is bounded, whatever the framing (issue 9): a response still open after
    MAX_ANSWER_BYTES + 1 bytes is over the cap, and one more byte is all that is read to see
    whether a body without a length has ended."""
    data = resp.read(MAX_ANSWER_BYTES + 1)
    if len(data) <= MAX_ANSWER_BYTES and not resp.isclosed():
        data += resp.read(1)  # b"" at the end, which completes the response
    if len(data) > MAX_ANSWER_BYTES:
        raise ProtocolError(
            f"{address} sent an answer far larger than a Filecast server would. Check the"
            " address and port."
        )
    return data


def check_framing(resp: http.client.HTTPResponse, address: str) -> None:
    """Refuse a response framed two ways: RFC 9112 §6.3 calls Content-Length beside
    Transfer-Encoding a sign of smuggling or splitting, and http.client would let chunked
    win over the length the client checked (issue 9: endless chunks, 8.4 GB of memory)."""
    if resp.getheader("Transfer-Encoding") is not None and \
            resp.getheader("Content-Length") is not None:
        raise ProtocolError(
            f"{address} answered with both Content-Length and Transfer-Encoding, which HTTP"
            " forbids (RFC 9112 §6.3), so Filecast stopped reading and hung up. Check the"
            " address and port, and any proxy in between."
        )


def timeout_sentence(exc: TimeoutError, address: str, seconds: float) -> str:
    """What a person reads when an exchange ran out of time."""
    if isinstance(exc, DeadlineExpired) and exc.began:
        return (f"{address} did not finish answering within {exc.seconds:g} seconds. Check"
                " that it is a Filecast server, then press Retry.")
    seconds = exc.seconds if isinstance(exc, DeadlineExpired) else seconds
    return (f"{address} did not answer within {seconds:g} seconds. Check that it is a"
            " Filecast server, then press Retry.")


def reason(exc: BaseException) -> str:
    """A short description of a network failure, for DownloadRetrying and sentences."""
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed in the middle of the file"
    if isinstance(exc, DeadlineExpired):
        done = "finish answering" if exc.began else "answer"
        return f"the server did not {done} within {exc.seconds:g} seconds"
    if isinstance(exc, TimeoutError):
        return "no data arrived for a while"
    if isinstance(exc, FilecastError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


class Link:
    """The visit's connection: opened on first use, reused, reopened after an idle close."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float) -> None:
        """Remember where to connect and what every request carries; opens nothing yet."""
        self.host, self.port, self.timeout = host, port, timeout
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.headers = {"User-Agent": USER_AGENT, **headers}
        self.cancelled = threading.Event()
        self._conn: DeadlineConnection | None = None
        self._used = False  # the connection answered before: an EOF now is an idle close
        self._lock = threading.Lock()  # guards _conn against cancel() from another thread

    def _open(self) -> DeadlineConnection:
        """A fresh connection, or ConnectError with what to check."""
        conn = DeadlineConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.connect()
        except ConnectionRefusedError as exc:
            raise ConnectError(
                f"No Filecast server answers at {self.address}. Is it running, and is port"
                f" {self.port} open in its firewall?"
            ) from exc
        except socket.gaierror as exc:
            raise ConnectError(
                f"The host name '{self.host}' could not be found. Check the spelling or use"
                " the server's IP address."
            ) from exc
        except TimeoutError as exc:
            raise ConnectError(
                f"{self.address} did not answer within {self.timeout:g} seconds. Check the"
                f" address, and that the server's firewall lets port {self.port} through."
            ) from exc
        except OSError as exc:
            raise ConnectError(
                f"Could not reach {self.address}: {exc.strerror or exc}. Check the network"
                " connection and the address."
            ) from exc
        with self._lock:
            self._conn, self._used = conn, False
        if self.cancelled.is_set():  # cancel() came while connecting, before it could shut us
            raise self.cancel_error(CANCELLED)
        return conn

    def _ready(self) -> DeadlineConnection:
        """The visit's connection, reopened when the server closed it while we were idle."""
        conn = self._conn
        if conn is not None and not _idle_closed(conn):
            return conn
        if conn is not None:
            log.info("%s closed the idle connection; reconnecting", self.address)
            self.drop()
        return self._open()

    def drop(self) -> None:
        """Close the connection (after a cut, an unread body, or at the end of the visit)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def cancel(self) -> None:
        """From any thread: flag the cancel and wake a blocked read by shutting the socket."""
        self.cancelled.set()
        with self._lock:
            conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("socket already closed when cancelling")

    def cancel_error(self, sentence: str) -> CancelledError:
        """Consume the cancel request (the next operation runs normally) and describe it."""
        self.cancelled.clear()
        self.drop()
        return CancelledError(sentence)

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, *, timeout: float | None = None
             ) -> http.client.HTTPResponse:
        """Send one request and read the response head; reading the body is the caller's.

        The head (any 1xx included) must arrive within ``timeout`` (the link's by default),
        and so must the body unless the caller calls :meth:`relax` (issue 9)."""
        if self.cancelled.is_set():
            raise self.cancel_error(CANCELLED)
        seconds = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            conn = self._ready()
            reused = self._used
            sock = conn.deadline_socket
            if sock is not None:
                sock.arm(seconds, stall=seconds)
            try:
                conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
                resp = conn.getresponse()
            except (ConnectionResetError, BrokenPipeError):  # includes RemoteDisconnected
                self.drop()
                # RFC 9112 §9.3.1: a persistent connection may close just as we reuse it;
                # nothing was answered, so sending the request again once is safe.
                if reused and attempt == 1 and not self.cancelled.is_set():
                    continue
                raise
            self._used = True
            try:
                check_framing(resp, self.address)
            except ProtocolError:
                self.drop()
                raise
            return resp
        raise AssertionError("unreachable")

    def relax(self) -> None:
        """The answer is a file body: no deadline, the per-read stall time-out instead."""
        conn = self._conn
        sock = conn.deadline_socket if conn is not None else None
        if sock is not None:
            sock.relax(self.timeout)

    def exchange(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, *, timeout: float | None = None
                 ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """A whole small request and response within ``timeout`` seconds (the link's by
        default), with failures turned into sentences."""
        try:
            resp = self.send(method, path, body, headers, timeout=timeout)
            return resp.status, resp.msg, read_answer(resp, self.address)
        except ProtocolError:
            self.drop()  # the rest of an oversize answer is unread
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.drop()
            if self.cancelled.is_set():
                raise self.cancel_error(CANCELLED) from exc
            if isinstance(exc, TimeoutError):
                seconds = self.timeout if timeout is None else timeout
                raise ConnectError(timeout_sentence(exc, self.address, seconds)) from exc
            if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
                raise ProtocolError(
                    f"{self.address} does not answer like a Filecast server. Check the address"
                    " and port."
                ) from exc
            raise ServerGoneError(
                f"The connection to {self.address} broke ({reason(exc)}). Press Retry."
            ) from exc

    def status_error(self, status: int, data: bytes) -> FilecastError:
        """The sentence for an unexpected answer, with the server's own message when sent."""
        message = error_message(data) or http.client.responses.get(status, "unknown status")
        # The server's words are untrusted: no escape codes or line breaks, and not a book.
        message = escape_controls(message[:MAX_SERVER_MESSAGE])
        if status == 503:
            return ServerGoneError(
                f"{self.address} cannot serve this right now ({message}). Try again in a moment."
            )
        return ProtocolError(f"{self.address} refused the request ({status}: {message}).")


def _idle_closed(conn: DeadlineConnection) -> bool:
    """Whether an idle keep-alive socket was closed by the server (EOF, or an unsolicited 408).

    A non-blocking MSG_PEEK rather than select(): select fails on descriptors over 1023.
    """
    sock = conn.sock
    if sock is None:
        return True
    try:
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            sock.recv(1, socket.MSG_PEEK)
        finally:
            sock.settimeout(timeout)
    except BlockingIOError:
        return False  # nothing to read: open and quiet, as an idle connection should be
    except OSError:
        return True
    return True  # EOF, or bytes nobody asked for: unusable for the next request
