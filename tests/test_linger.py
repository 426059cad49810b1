"""core.server.linger.Lingerer over real TCP on 127.0.0.1: staged closes of connections.

A connection refused at the cap is answered 503 without its request being read; a plain
close over that unread request makes the kernel send a reset, which can destroy the 503 on
its way and which a client still sending sees as "connection reset" instead of the answer
(RFC 9112 §9.6). What a person would notice: a "server busy" answer that never arrives, a
client that gets a reset, or a server whose descriptors stay held by silent clients.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from serverkit import Background, wait_until

from core.server import linger
from core.server.linger import LINGER_SECONDS, Lingerer

ANSWER = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\nRetry-After: 1\r\n"
          b"Connection: close\r\n\r\n{\"error\": \"busy\"}   ")
REQUEST = b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"a" * 20000


@pytest.fixture
def lingerer() -> Iterator[Lingerer]:
    closer = Lingerer()
    yield closer
    closer.close()


@contextlib.contextmanager
def connections(count: int = 1) -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    """``count`` (server side, client side) pairs of connected sockets; all closed after."""
    pairs = []
    with socket.create_server(("127.0.0.1", 0), backlog=count) as listener:
        try:
            for _ in range(count):
                client = socket.create_connection(listener.getsockname(), timeout=5.0)
                server, _ = listener.accept()
                pairs.append((server, client))
            yield pairs
        finally:
            for server, client in pairs:
                server.close()
                client.close()


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until an orderly close; ConnectionResetError propagates (a reset)."""
    sock.settimeout(5.0)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def closed(sock: socket.socket) -> bool:
    return sock.fileno() == -1


def test_a_refused_client_still_sending_reads_the_whole_answer_and_no_reset(
        lingerer: Lingerer) -> None:
    with connections() as [(server, client)]:
        client.sendall(REQUEST)  # never read by the server
        time.sleep(0.05)  # it has arrived: a plain close now would answer with a reset
        lingerer.refuse(server, ANSWER)
        assert read_to_end(client) == ANSWER  # then an orderly close, not a reset
        # The client goes on sending the rest of its request: drained, never reset.
        client.sendall(b"b" * 50_000)
        time.sleep(0.05)
        client.sendall(b"b" * 1000)
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        assert not closed(server)  # still draining while the client has not closed
        began = time.monotonic()
        client.close()
        wait_until(lambda: closed(server), LINGER_SECONDS, "the lingerer to close it")
        assert time.monotonic() - began < LINGER_SECONDS / 2  # at the client's close


def test_close_gently_on_a_silent_peer_ends_within_the_linger_bound(
        lingerer: Lingerer) -> None:
    with connections() as [(server, client)]:
        began = time.monotonic()
        lingerer.close_gently(server)
        client.settimeout(1.0)
        assert client.recv(100) == b""  # our side is closed at once (the FIN went out)
        wait_until(lambda: closed(server), LINGER_SECONDS + 1.0, "the linger to give up")
        assert time.monotonic() - began <= LINGER_SECONDS + 0.5
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


def test_many_refused_connections_each_get_their_own_answer_from_one_thread(
        lingerer: Lingerer) -> None:
    count = 100
    with connections(count) as pairs:
        for _, client in pairs:
            client.sendall(REQUEST[:5000])
        time.sleep(0.05)
        for i, (server, _) in enumerate(pairs):
            lingerer.refuse(server, ANSWER + b"#%d" % i)
        for i, (_, client) in enumerate(pairs):
            assert read_to_end(client) == ANSWER + b"#%d" % i
        assert [t.name for t in threading.enumerate()].count("filecast-linger") == 1
        for _, client in pairs:
            client.close()
        wait_until(lambda: all(closed(s) for s, _ in pairs), LINGER_SECONDS,
                   "every refused connection to be closed")


def test_a_client_that_floods_after_its_refusal_is_dropped_without_waiting(
        lingerer: Lingerer) -> None:
    with connections() as [(server, client)]:
        lingerer.refuse(server, ANSWER)
        flood = b"f" * (4 * 1024 * 1024)

        def send() -> None:
            with contextlib.suppress(OSError):  # reset once the lingerer gave up on it
                client.sendall(flood)

        sending = Background(send)
        began = time.monotonic()
        wait_until(lambda: closed(server), LINGER_SECONDS, "the flood to be cut off")
        assert time.monotonic() - began < LINGER_SECONDS / 2  # not held for the whole linger
        sending.join(5.0)


def test_beyond_the_lingering_cap_a_connection_is_closed_at_once(
        lingerer: Lingerer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linger, "MAX_LINGERING", 2)
    with connections(3) as pairs:
        for server, _ in pairs:
            lingerer.close_gently(server)
        wait_until(lambda: closed(pairs[2][0]), 0.5, "the third to be closed")
        assert not closed(pairs[0][0]) and not closed(pairs[1][0])  # still lingering


def test_close_ends_the_thread_and_every_connection_it_held(lingerer: Lingerer) -> None:
    with connections(5) as pairs:
        for server, _ in pairs:
            lingerer.close_gently(server)
        wait_until(lambda: lingerer.alive, 1.0, "the thread to start")
        lingerer.close()
        assert not lingerer.alive
        assert "filecast-linger" not in [t.name for t in threading.enumerate()]
        assert all(closed(server) for server, _ in pairs)
        for _, client in pairs:
            assert read_to_end(client) == b""
        with connections() as [(late, _)]:
            lingerer.close_gently(late)  # after close: no thread, no held descriptor
            assert closed(late)
