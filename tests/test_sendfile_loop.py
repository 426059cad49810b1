"""core.server.sendfile_loop.SendfileLoop over real TCP: exact bytes, stalls, cuts, close.

The loop sends every sendfile body of a server from one thread (issue 4: a thread per body
spent the CPU on GIL hand-offs). What a person would notice if it went wrong: a download
with wrong bytes, a download that hangs when its client went away, a server that cannot
stop, or one client's trouble holding up the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import Background, wait_until

from core.server.sendfile_loop import SendfileLoop, StalledError

pytestmark = pytest.mark.skipif(not hasattr(os, "sendfile"), reason="needs os.sendfile")

MIB = 1024 * 1024


@contextlib.contextmanager
def connected(*, rcvbuf: int | None = None) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A (sending, receiving) pair of TCP sockets on 127.0.0.1; the sender is non-blocking
    (timeout mode), as the server's sockets are. ``rcvbuf`` keeps the receiver's buffer
    small so a body cannot hide in the kernel."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        receiver = socket.socket()
        if rcvbuf is not None:
            receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        receiver.connect(listener.getsockname())
        sender, _ = listener.accept()
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sender.settimeout(30.0)
    try:
        yield sender, receiver
    finally:
        sender.close()
        receiver.close()


@pytest.fixture
def loop() -> Iterator[SendfileLoop]:
    body_loop = SendfileLoop()
    yield body_loop
    body_loop.close()


def data_file(tmp_path: Path, size: int, name: str = "data.bin") -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def read_exactly(sock: socket.socket, count: int, *, pause: float = 0.0) -> bytes:
    """Read ``count`` bytes (sleeping ``pause`` between reads: a slow client)."""
    sock.settimeout(30.0)
    chunks, got = [], 0
    while got < count:
        chunk = sock.recv(min(256 * 1024, count - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        if pause:
            time.sleep(pause)
    return b"".join(chunks)


def test_a_body_larger_than_the_buffers_arrives_exact_with_progress(
        tmp_path: Path, loop: SendfileLoop) -> None:
    path, data = data_file(tmp_path, 8 * MIB + 13)
    seen: list[int] = []
    with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 5, len(data) - 5,
                                               stall=10.0, progress=seen.append))
        received = read_exactly(receiver, len(data) - 5, pause=0.001)
        assert sending.join() == len(data) - 5
    assert received == data[5:]
    assert seen == sorted(seen) and seen[-1] == len(data) - 5
    assert len(seen) > 1  # the loop reported as it went, not only at the end


def test_a_client_that_stops_reading_is_cut_after_the_stall_time(
        tmp_path: Path, loop: SendfileLoop) -> None:
    path, _ = data_file(tmp_path, 8 * MIB)
    with connected(rcvbuf=64 * 1024) as (sender, _receiver), open(path, "rb") as handle:
        began = time.monotonic()
        with pytest.raises(StalledError):
            loop.send(sender, handle.fileno(), 0, 8 * MIB, stall=0.5, progress=lambda _: None)
        assert 0.5 <= time.monotonic() - began < 3.0


def test_a_client_that_goes_away_ends_the_body_with_an_error(
        tmp_path: Path, loop: SendfileLoop) -> None:
    path, _ = data_file(tmp_path, 8 * MIB)
    with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 0, 8 * MIB,
                                               stall=10.0, progress=lambda _: None))
        receiver.recv(1000)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        receiver.close()  # with linger 0: a reset, as when a laptop lid closes mid-download
        with pytest.raises(OSError):
            sending.join(timeout=10)


def test_a_file_that_got_shorter_ends_the_body(tmp_path: Path, loop: SendfileLoop) -> None:
    path, data = data_file(tmp_path, 4 * MIB)
    with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 0, 6 * MIB,
                                               stall=10.0, progress=lambda _: None))
        assert read_exactly(receiver, len(data)) == data
        with pytest.raises(EOFError):
            sending.join(timeout=10)


def test_a_failing_progress_callback_does_not_stop_the_body(
        tmp_path: Path, loop: SendfileLoop, caplog: pytest.LogCaptureFixture) -> None:
    path, data = data_file(tmp_path, 4 * MIB)

    def broken(sent: int) -> None:
        if sent > 64 * 1024:
            raise RuntimeError("listener bug")

    with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 0, len(data),
                                               stall=10.0, progress=broken))
        assert read_exactly(receiver, len(data)) == data
        assert sending.join() == len(data)
    assert "progress callback failed" in caplog.text


def test_close_ends_bodies_in_flight_and_refuses_new_ones(tmp_path: Path) -> None:
    loop = SendfileLoop()
    path, _ = data_file(tmp_path, 8 * MIB)
    with connected(rcvbuf=64 * 1024) as (sender, _receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 0, 8 * MIB,
                                               stall=30.0, progress=lambda _: None))
        wait_until(lambda: any(t.name == "filecast-sendfile" for t in threading.enumerate()),
                   what="the loop's thread")
        began = time.monotonic()
        loop.close()
        with pytest.raises(ConnectionAbortedError):
            sending.join(timeout=5)
        assert time.monotonic() - began < 2.0
        with pytest.raises(ConnectionAbortedError):
            loop.send(sender, handle.fileno(), 0, 8 * MIB, stall=1.0, progress=lambda _: None)
    assert not any(t.name == "filecast-sendfile" for t in threading.enumerate())


def test_forty_bodies_at_once_from_one_pump_thread(tmp_path: Path, loop: SendfileLoop) -> None:
    """Every body exact, and a stalled client among them holds up nobody else."""
    path, data = data_file(tmp_path, 2 * MIB + 1)
    expected = hashlib.sha256(data).hexdigest()
    digests: list[str] = []
    lock = threading.Lock()

    def one(_: int) -> None:
        with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
            sending = Background(lambda: loop.send(sender, handle.fileno(), 0, len(data),
                                                   stall=10.0, progress=lambda _: None))
            got = hashlib.sha256(read_exactly(receiver, len(data))).hexdigest()
            sending.join()
            with lock:
                digests.append(got)

    with connected(rcvbuf=64 * 1024) as (stuck, _never_read), open(path, "rb") as handle:
        stalled = Background(lambda: loop.send(stuck, handle.fileno(), 0, len(data),
                                               stall=60.0, progress=lambda _: None))
        workers = [Background(lambda n=n: one(n)) for n in range(40)]
        for worker in workers:
            worker.join(timeout=60)
        assert digests == [expected] * 40
        pumps = [t for t in threading.enumerate() if t.name == "filecast-sendfile"]
        assert len(pumps) == 1
        stuck.shutdown(socket.SHUT_RDWR)  # as stop() does
        with pytest.raises(OSError):
            stalled.join(timeout=10)


def test_a_bug_in_the_pump_fails_its_bodies_and_the_next_body_still_goes(
        tmp_path: Path, loop: SendfileLoop, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A worker waiting on a loop that crashed must not hang; the server keeps serving."""
    path, data = data_file(tmp_path, 8 * MIB)

    def broken(self: SendfileLoop, data: object) -> None:
        raise RuntimeError("a bug")

    with connected(rcvbuf=64 * 1024) as (sender, _receiver), open(path, "rb") as handle:
        monkeypatch.setattr(SendfileLoop, "_ready", broken)
        with pytest.raises(ConnectionAbortedError):
            loop.send(sender, handle.fileno(), 0, len(data), stall=10.0,
                      progress=lambda _: None)
        assert "filecast-sendfile failed" in caplog.text
        monkeypatch.undo()
    with connected(rcvbuf=64 * 1024) as (sender, receiver), open(path, "rb") as handle:
        sending = Background(lambda: loop.send(sender, handle.fileno(), 0, len(data),
                                               stall=10.0, progress=lambda _: None))
        assert read_exactly(receiver, len(data)) == data
        assert sending.join() == len(data)
