"""How file bodies go out: the copy loop and sendfile through the pump, stalls, stop().

Split from test_server.py. Every case runs against a real FilecastServer on 127.0.0.1, in
each body mode a person's server could be using (core/server/sendbody.py: "auto" copies for a
few clients and hands bodies to core.server.sendfile_loop beyond).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from serverkit import Background, Running, filecast_threads, serving, sha256

from core.events import TransferFinished, TransferOutcome, TransferProgress, TransferStarted
from core.server.sendbody import choose_mode
from core.wire.protocol import file_path

MIB = 1024 * 1024
MODES = ["copy", "sendfile"]


def sparse(tmp_path: Path, name: str, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    folder = tmp_path / "offered"
    folder.mkdir(exist_ok=True)
    path = folder / name
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def random_file(tmp_path: Path, name: str, size: int) -> Path:
    folder = tmp_path / "offered"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


class SlowReader:
    """A raw connection with a small receive buffer that has asked for a file and read only
    the head of the answer: the server's side of it soon waits on a full socket."""

    def __init__(self, running: Running, name: str, *, rcvbuf: int = 64 * 1024) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", running.port))
        self.sock.sendall(f"GET {file_path(name)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed before answering"
            data += chunk
        head, _, self.body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head[:100]

    def read_body(self, size: int, pause: float = 0.0) -> bytes:
        """The rest of a ``size``-byte body, read in small pieces."""
        while len(self.body) < size:
            chunk = self.sock.recv(128 * 1024)
            assert chunk, "the server closed early"
            self.body += chunk
            if pause:
                time.sleep(pause)
        return self.body

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(("in_flight", "expected"), [(1, "copy"), (2, "copy"),
                                                    (3, "sendfile"), (500, "sendfile")])
def test_auto_copies_a_few_bodies_and_sendfiles_many(in_flight: int, expected: str) -> None:
    """bench/: copying is faster for one stream here, sendfile for a crowd (less CPU)."""
    assert choose_mode("auto", in_flight) == expected
    assert choose_mode("sendfile", 1) == "sendfile"
    assert choose_mode("copy", 500) == "copy"
    with pytest.raises(ValueError):
        choose_mode("splice", 1)


@pytest.mark.parametrize("mode", ["copy", "sendfile", "auto"])
def test_every_body_mode_sends_the_exact_bytes(tmp_path: Path, mode: str) -> None:
    data = os.urandom(3 * MIB + 7)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    with serving(tmp_path, [path], body_mode=mode) as running:
        conn = running.connect()
        conn.request("GET", "/files/data.bin", headers={"Range": "bytes=5-"})
        assert conn.getresponse().read() == data[5:]


@pytest.mark.parametrize("mode", MODES)
def test_a_client_that_stops_reading_is_cut_and_recorded(tmp_path: Path, mode: str) -> None:
    """It must not hold its slot forever; everyone else keeps downloading meanwhile."""
    path = sparse(tmp_path, "big.bin", 64 * MIB)
    small = random_file(tmp_path, "small.bin", 2 * MIB)
    with serving(tmp_path, [path, small], body_mode=mode, stall_timeout=1.0) as running:
        stuck = SlowReader(running, "big.bin")
        try:
            running.recorder.wait_count(TransferStarted, 1)
            conn = running.connect()
            conn.request("GET", file_path("small.bin"))
            assert sha256(conn.getresponse().read()) == sha256(small.read_bytes())
            conn.close()
            (line,) = running.wait_lines("did not finish downloading 'big.bin'", timeout=10)
            assert line.endswith(f" of {64 * MIB} bytes)")
            finished = running.recorder.wait_count(TransferFinished, 2)  # after the line
            unfinished = [e for e in finished if e.outcome is TransferOutcome.INTERRUPTED]
            assert len(unfinished) == 1 and unfinished[0].sent < 64 * MIB
        finally:
            stuck.close()


@pytest.mark.parametrize("mode", MODES)
def test_progress_reaches_the_listener_while_a_body_goes_out(tmp_path: Path,
                                                             mode: str) -> None:
    """The server window's table shows percent and speed from these events."""
    path = random_file(tmp_path, "data.bin", 8 * MIB)
    with serving(tmp_path, [path], body_mode=mode, progress_interval=0.05) as running:
        reader = SlowReader(running, "data.bin")
        try:
            assert sha256(reader.read_body(8 * MIB, pause=0.005)) == sha256(path.read_bytes())
        finally:
            reader.close()
        running.wait_lines("downloaded the file 'data.bin'")
        sent = [e.sent for e in running.recorder.of(TransferProgress)]
        assert len(sent) >= 3 and sent == sorted(sent) and 0 < sent[-1] <= 8 * MIB


def test_forty_slow_clients_through_the_pump(tmp_path: Path) -> None:
    """A crowd in sendfile mode: every body exact and recorded, one pump thread. (Bodies
    larger than the 4 MiB a loopback socket buffer can hold, or none would need the pump.)"""
    size = 12 * MIB + 11
    path = random_file(tmp_path, "data.bin", size)
    expected = sha256(path.read_bytes())
    with serving(tmp_path, [path], body_mode="sendfile") as running:
        barrier = threading.Barrier(40)

        def fetch() -> str:
            reader = SlowReader(running, "data.bin")
            try:
                barrier.wait(30)  # all forty bodies are in flight together
                return sha256(reader.read_body(size, pause=0.001))
            finally:
                reader.close()

        clients = [Background(fetch) for _ in range(40)]
        assert [c.join(60) for c in clients] == [expected] * 40
        assert len(running.wait_lines("downloaded the file 'data.bin'", 40)) == 40
        loops = [t for t in threading.enumerate() if t.name == "filecast-sendfile"]
        assert len(loops) == 1


@pytest.mark.parametrize("mode", [*MODES, "auto"])
def test_stop_with_downloads_in_flight(tmp_path: Path, mode: str) -> None:
    path = sparse(tmp_path, "fifty.bin", 50 * MIB)
    with serving(tmp_path, [path], body_mode=mode) as running:
        port = running.port
        readers = [SlowReader(running, "fifty.bin") for _ in range(5)]
        try:
            running.recorder.wait_count(TransferStarted, 5)
            # the readers now read nothing more: each body waits on a full socket
            started = time.monotonic()
            running.server.stop()
            assert time.monotonic() - started < 2.0
            assert filecast_threads() == []
            with socket.create_server(("127.0.0.1", port)):
                pass  # the port is free again at once
            lines = running.lines_with("did not finish downloading 'fifty.bin' (")
            assert len(lines) == 5
            assert all(line.endswith(f" of {50 * MIB} bytes)") for line in lines)
            assert running.lines_with("downloaded the file") == []
        finally:
            for reader in readers:
                reader.close()


def test_a_file_over_4_gib_is_offered_and_its_tail_served(tmp_path: Path) -> None:
    """64-bit sizes end to end: HEAD says the size, a range past 4 GiB comes back exact."""
    size = 5 * 1024**3 + 3
    big = sparse(tmp_path, "huge.img", size)
    with open(big, "r+b") as f:
        f.seek(size - 3)
        f.write(b"end")
    with serving(tmp_path, [big], wait_hashed=False) as running:
        conn = running.connect()
        conn.request("HEAD", "/files/huge.img")
        head = conn.getresponse()
        head.read()
        assert head.status == 200 and head.getheader("Content-Length") == str(size)
        conn.request("GET", "/files/huge.img", headers={"Range": f"bytes={size - 6}-"})
        tail = conn.getresponse()
        assert tail.status == 206
        assert tail.getheader("Content-Range") == f"bytes {size - 6}-{size - 1}/{size}"
        assert tail.read() == b"\0\0\0end"
