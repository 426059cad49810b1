"""Unit tests of core/server/acks.py with real sockets on 127.0.0.1 (Linux: SIOCOUTQ)."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from core.server.acks import end_cut, unacknowledged, wait_acknowledged

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SIOCOUTQ is Linux's")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of one TCP connection; the client's buffer is tiny."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    with server, client:
        yield server, client


def fill(sock: socket.socket) -> int:
    """Send until the socket is full; returns the bytes sent."""
    sock.setblocking(False)
    sent = 0
    try:
        while True:
            sent += sock.send(b"x" * 65536)
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return sent


def test_a_reader_that_reads_everything_acknowledges_everything(pair: tuple[socket.socket,
                                                                      socket.socket]) -> None:
    server, client = pair
    data = b"y" * 3_000_000

    def read_all() -> None:
        got = 0
        while got < len(data):
            got += len(client.recv(1 << 20))

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    server.sendall(data)
    assert wait_acknowledged(server, stall=5) == 0


def test_a_reset_reader_leaves_the_unacknowledged_count(pair: tuple[socket.socket,
                                                                   socket.socket]) -> None:
    server, client = pair
    sent = fill(server)
    threading.Timer(0.2, lambda: (client.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)), client.close())).start()
    began = time.monotonic()
    left = wait_acknowledged(server, stall=30)
    assert time.monotonic() - began < 5, "a reset must end the wait, not the stall time"
    assert left is not None and 0 < left <= sent
    assert sent - left < 200_000  # only what fit the reader's tiny buffer was acknowledged
    assert unacknowledged(server) == left


def test_a_silent_reader_ends_the_wait_after_the_stall_time(pair: tuple[socket.socket,
                                                                       socket.socket]) -> None:
    server, _ = pair
    fill(server)
    began = time.monotonic()
    left = wait_acknowledged(server, stall=0.5)
    assert 0.4 < time.monotonic() - began < 5
    assert left


def test_stopping_ends_the_wait(pair: tuple[socket.socket, socket.socket]) -> None:
    server, _ = pair
    fill(server)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    assert wait_acknowledged(server, stall=30, stopping=stop.is_set)
    assert time.monotonic() - began < 5


def test_a_closed_socket_cannot_tell() -> None:
    sock = socket.socket()
    sock.close()
    assert unacknowledged(sock) is None


def test_our_own_fin_is_not_counted_as_a_byte(pair: tuple[socket.socket,
                                                        socket.socket]) -> None:
    """A server that stops shuts its sockets down: the FIN it queues takes a sequence number
    but carries no byte of the file (it made a resumed download look one byte short)."""
    server, _ = pair
    sent = fill(server)
    before = unacknowledged(server)
    server.shutdown(socket.SHUT_RDWR)
    assert before is not None and 0 < before <= sent
    assert unacknowledged(server) == before


def test_after_our_own_shutdown_a_reading_peer_still_acknowledges(pair: tuple[socket.socket,
                                                                            socket.socket]
                                                                   ) -> None:
    """A stop shuts sockets down (POLLHUP on our side), yet queued bytes still go out: the
    wait must count them, not end at the hang-up."""
    server, client = pair
    sent = fill(server)
    server.shutdown(socket.SHUT_RDWR)

    def read_all() -> None:
        got = 0
        while got < sent:
            chunk = client.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)

    threading.Thread(target=read_all, daemon=True).start()
    assert wait_acknowledged(server, stall=2) == 0


def test_end_cut_sends_nothing_more(pair: tuple[socket.socket, socket.socket]) -> None:
    """After end_cut the peer reads at most what had been acknowledged when it was called."""
    server, client = pair
    fill(server)
    time.sleep(0.1)
    assert unacknowledged(server)  # megabytes queued; the peer's TCP took only its buffer
    end_cut(server)
    got = 0
    try:
        while chunk := client.recv(65536):
            got += len(chunk)
    except ConnectionResetError:
        pass
    assert got <= 200_000, got  # not the megabytes that were queued
