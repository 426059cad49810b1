"""core/client/deadline.py: one deadline per exchange, not a time-out per ``recv`` (issue 9).

A socket time-out only bounds one read, so a server that trickles its answer a byte at a
time, or sends ``100 Continue`` heads for ever, kept the client waiting without end while
every read succeeded. These tests talk to plain socket servers on 127.0.0.1 that do exactly
that, and check that the exchange ends at its deadline (within a second of it), while a
file body, once the deadline is relaxed, may take as long as its bytes keep coming.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from core.client.deadline import DeadlineConnection, DeadlineExpired, DeadlineSocket

Behaviour = Callable[[socket.socket, threading.Event], None]
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
STALL = 5.0  # a per-recv time-out far longer than any pause of the servers below


def read_head(sock: socket.socket) -> bool:
    """Read one request head (these tests send no bodies); False at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


@contextlib.contextmanager
def raw_server(behave: Behaviour) -> Iterator[int]:
    """Serve one connection with ``behave`` (after its first request head); yield the port."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            with sock:
                if read_head(sock):
                    behave(sock, stop)

    thread = threading.Thread(target=run, name="deadline-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def trickle(sock: socket.socket, stop: threading.Event) -> None:
    """A whole, correct answer, one byte a second (the first at once)."""
    for byte in HEAD:
        sock.sendall(bytes([byte]))
        if stop.wait(1.0):
            return


def endless_continue(sock: socket.socket, stop: threading.Event) -> None:
    """``100 Continue`` heads for ever (RFC 9110 §15.2 allows any number of them)."""
    while not stop.is_set():
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 50)
        stop.wait(0.005)


def silent(sock: socket.socket, stop: threading.Event) -> None:
    """Read the request, never answer."""
    stop.wait(30)


def connect(port: int) -> tuple[DeadlineConnection, DeadlineSocket]:
    """A connected DeadlineConnection with a long per-recv time-out."""
    conn = DeadlineConnection("127.0.0.1", port, timeout=STALL)
    conn.connect()
    sock = conn.deadline_socket
    assert sock is not None
    return conn, sock


def expire(port: int, seconds: float) -> tuple[DeadlineExpired, float]:
    """Ask with a deadline of ``seconds``; the DeadlineExpired raised and when it came."""
    conn, sock = connect(port)
    try:
        sock.arm(seconds)
        began = time.monotonic()
        conn.request("GET", "/")
        with pytest.raises(DeadlineExpired) as caught:
            conn.getresponse()
        return caught.value, time.monotonic() - began
    finally:
        conn.close()


def test_an_answer_trickled_a_byte_a_second_ends_at_the_deadline() -> None:
    with raw_server(trickle) as port:
        error, elapsed = expire(port, 1.5)
    assert 1.5 <= elapsed < 2.5  # each recv got its byte within the 5 s stall time-out
    assert error.began  # some bytes came: "did not finish answering"
    assert error.seconds == 1.5
    assert str(error) == "no whole answer within 1.5 seconds"


def test_endless_100_continue_heads_end_at_the_deadline() -> None:
    with raw_server(endless_continue) as port:
        error, elapsed = expire(port, 1.0)
    assert 1.0 <= elapsed < 2.0
    assert error.began


def test_a_silent_server_ends_at_the_deadline_and_says_nothing_began() -> None:
    with raw_server(silent) as port:
        error, elapsed = expire(port, 1.0)
    assert 1.0 <= elapsed < 2.0
    assert not error.began


def test_a_deadline_expiry_is_a_timeout_for_callers_that_catch_those() -> None:
    assert issubclass(DeadlineExpired, TimeoutError)
    assert DeadlineExpired(2, False).seconds == 2
    assert str(DeadlineExpired(2, False)) == "no whole answer within 2 seconds"


def test_the_stall_time_out_still_bounds_one_read_under_a_long_deadline() -> None:
    """A deadline never lets a read wait longer than the stall time-out either."""
    with raw_server(silent) as port:
        conn, sock = connect(port)
        try:
            sock.arm(10.0, stall=0.5)
            began = time.monotonic()
            conn.request("GET", "/")
            with pytest.raises(TimeoutError) as caught:
                conn.getresponse()
        finally:
            conn.close()
    assert not isinstance(caught.value, DeadlineExpired)
    assert 0.5 <= time.monotonic() - began < 1.5


def test_each_exchange_gets_its_own_deadline_on_a_kept_connection() -> None:
    def answer_every_request(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(HEAD)
        while read_head(sock):
            sock.sendall(HEAD)

    with raw_server(answer_every_request) as port:
        conn, sock = connect(port)
        try:
            for _ in range(2):
                sock.arm(0.3)
                conn.request("GET", "/")
                assert conn.getresponse().read() == b"ok"
                time.sleep(0.4)  # longer than the last deadline: the next one starts afresh
        finally:
            conn.close()


def test_a_read_after_the_deadline_fails_at_once_even_with_bytes_waiting() -> None:
    def answer(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(HEAD)
        stop.wait(30)

    with raw_server(answer) as port:
        conn, sock = connect(port)
        try:
            sock.arm(0.2)
            conn.request("GET", "/")
            time.sleep(0.3)
            began = time.monotonic()
            with pytest.raises(DeadlineExpired) as caught:
                conn.getresponse()
        finally:
            conn.close()
    assert time.monotonic() - began < 0.5
    assert not caught.value.began  # not one byte was read in time


def test_a_relaxed_body_may_outlast_the_deadline_while_bytes_keep_coming() -> None:
    """A file body: bytes that keep coming are progress, whatever the deadline was."""

    def slow_body(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        for byte in b"data":
            if stop.wait(0.3):
                return
            sock.sendall(bytes([byte]))

    with raw_server(slow_body) as port:
        conn, sock = connect(port)
        try:
            sock.arm(0.5)
            conn.request("GET", "/")
            response = conn.getresponse()
            sock.relax(1.0)
            began = time.monotonic()
            assert response.read() == b"data"
        finally:
            conn.close()
    assert time.monotonic() - began > 0.5  # past the relaxed deadline, and still read


def test_the_deadline_socket_exists_only_while_connected() -> None:
    with raw_server(silent) as port:
        conn = DeadlineConnection("127.0.0.1", port, timeout=STALL)
        assert conn.deadline_socket is None
        conn.connect()
        sock = conn.deadline_socket
        assert isinstance(sock, DeadlineSocket)
        assert sock.gettimeout() == STALL
        conn.close()
        assert conn.deadline_socket is None


def test_a_server_hanging_up_in_time_is_not_reported_as_a_time_out() -> None:
    """A server that hangs up in time gives the usual error, so no false time-outs."""

    def hang_up(sock: socket.socket, stop: threading.Event) -> None:
        sock.shutdown(socket.SHUT_RDWR)

    with raw_server(hang_up) as port:
        conn, sock = connect(port)
        try:
            sock.arm(5.0)
            conn.request("GET", "/")
            with pytest.raises(http.client.RemoteDisconnected):
                conn.getresponse()
        finally:
            conn.close()


def test_a_connection_without_a_time_out_waits_for_a_late_answer() -> None:
    """timeout=None once became 0.0: a non-blocking socket read a late answer as a hang-up."""
    def late(sock: socket.socket, stop: threading.Event) -> None:
        if not stop.wait(0.2):
            sock.sendall(HEAD)

    with raw_server(late) as port:
        conn = DeadlineConnection("127.0.0.1", port, timeout=None)
        try:
            conn.connect()
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"ok"
        finally:
            conn.close()
