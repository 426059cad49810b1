"""Issue 9, items 9 and 10: every ledger line is backed by bytes the client acknowledged.

- A 1-byte tail (``curl -r -1``), a ``bytes=N-`` range near the end, and a client that read
  nothing of a 1 MB body and reset were each "downloaded the file".
- Under load, connections that read 1 MB of 5 MB and closed were counted as downloaded:
  bytes still in the kernel's send buffer were counted as delivered.
- A receipt from an address that downloaded nothing, with a spoofed client id and the
  public etag and digest, wrote "downloaded and verified".
- A receipt that arrived while the server was still hashing was held 60 s; the client had
  given up after 10 and kept only its .part, yet "verified" was logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from serverkit import (
    Reader,
    Running,
    ServeProcess,
    exchange,
    serving,
    wait_until,
    write_file,
)

from core.events import TransferFinished, TransferOutcome
from core.wire import protocol

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="acknowledged bytes are counted on Linux")

SMALL = b"0123456789A"  # 11 bytes, as the original test.txt
MIB = 1024 * 1024


def get(running: Running, name: str, *headers: str, client_id: str | None = None,
        agent: str = "test-agent") -> tuple[int | None, bytes]:
    """One GET on a fresh connection, read whole."""
    fields = [f"Host: 127.0.0.1:{running.port}", f"User-Agent: {agent}", *headers]
    if client_id:
        fields.append(f"X-Filecast-Client-Id: {client_id}")
    answer = exchange(running.port, (f"GET /files/{name} HTTP/1.1\r\n" + "\r\n".join(fields)
                                     + "\r\n\r\n").encode())
    return answer.status, answer.body


def receipt(running: Running, name: str, data: bytes, *, client_id: str | None = None,
            agent: str = "test-agent", source: str = "127.0.0.1",
            person: str | None = None) -> int | None:
    """POST a (true) receipt for ``name``: its current etag and the digest of ``data``,
    from the person called ``person``."""
    entry = running.offer.state.find(name)
    assert entry is not None
    body = json.dumps({"version": 1, "file": name, "etag": entry.etag, "bytes": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}).encode()
    fields = [f"Host: 127.0.0.1:{running.port}", f"User-Agent: {agent}",
              "Content-Type: application/json", f"Content-Length: {len(body)}"]
    if client_id:
        fields.append(f"X-Filecast-Client-Id: {client_id}")
    if person:
        fields.append(f"{protocol.HEADER_CLIENT_NAME}: {person}")
    head = "POST /api/v1/receipts HTTP/1.1\r\n" + "\r\n".join(fields) + "\r\n\r\n"
    with socket.socket() as sock:
        sock.bind((source, 0))
        sock.settimeout(20)
        sock.connect(("127.0.0.1", running.port))
        sock.sendall(head.encode() + body)
        return Reader(sock, timeout=20).response().status


def events(running: Running) -> list[str]:
    return [r["event"] for r in running.ledger_records()]


def test_a_tail_range_is_recorded_as_a_range(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path], fold_window=0) as running:
        assert get(running, "test.txt", "Range: bytes=-1") == (206, b"A")
        assert get(running, "test.txt", "Range: bytes=8-", agent="other") == (206, b"89A")
        lines = running.wait_lines("downloaded bytes", 2)
    assert "downloaded bytes 10-10 of the file 'test.txt'" in lines[0]
    assert "downloaded bytes 8-10 of the file 'test.txt'" in lines[1]
    assert "downloaded" not in events(running)


@pytest.mark.curl
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_r_minus_1_is_a_range(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path]) as running:
        out = subprocess.run(["curl", "-sS", "-r", "-1", running.url("test.txt")],
                             capture_output=True, check=True)
        assert out.stdout == b"A"
        running.wait_lines("downloaded bytes 10-10")
    assert "downloaded" not in events(running)


def test_ranges_that_cover_the_file_are_one_download(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path], fold_window=0) as running:
        assert get(running, "test.txt", "Range: bytes=0-4")[0] == 206
        assert get(running, "test.txt", "Range: bytes=5-")[0] == 206
        running.wait_lines("downloaded the file")
        assert get(running, "test.txt", "Range: bytes=-1")[0] == 206  # had it already
        running.wait_lines("downloaded bytes 10-10")
    assert events(running) == ["partial", "downloaded", "partial"]


def read_nothing_and_reset(port: int, request: bytes, *, read: int = 0) -> None:
    """A client with a tiny receive buffer that reads ``read`` bytes, then resets."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(request)
        got = 0
        while got < read:
            chunk = sock.recv(min(65536, read - got))
            if not chunk:
                break
            got += len(chunk)
        time.sleep(0.3)  # the server has filled its send buffer by now
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_client_that_read_nothing_did_not_download(tmp_path: Path) -> None:
    path = write_file(tmp_path, "big.bin", os.urandom(MIB))
    with serving(tmp_path, [path]) as running:
        read_nothing_and_reset(running.port, b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        line = running.wait_lines("did not finish downloading")[0]
        finished = running.recorder.wait_count(TransferFinished, 1)[0]
    assert "downloaded" not in events(running)
    acked = int(line.split("(")[-1].split(" of ")[0])
    assert acked < 256 * 1024, line  # what the tiny buffer took, not the 1 MiB sent
    assert finished.outcome is TransferOutcome.INTERRUPTED and finished.acked == acked


def test_a_download_cut_and_resumed_is_one_download(tmp_path: Path) -> None:
    data = os.urandom(2 * MIB)
    path = write_file(tmp_path, "big.bin", data)
    with serving(tmp_path, [path], fold_window=0) as running:
        read_nothing_and_reset(running.port, b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n"
                               b"X-Filecast-Client-Id: resumer-0001\r\n\r\n", read=MIB)
        line = running.wait_lines("did not finish downloading")[0]
        have = int(line.split("(")[-1].split(" of ")[0])
        assert MIB <= have < 2 * MIB
        status, body = get(running, "big.bin", f"Range: bytes={MIB}-", client_id="resumer-0001")
        assert (status, body) == (206, data[MIB:])
        running.wait_lines("downloaded the file")
    assert events(running) == ["interrupted", "downloaded"]


def test_readers_that_stop_early_are_never_counted_under_load(tmp_path: Path) -> None:
    """A small soak: 40 clients read 512 KiB of 3 MiB and close, 10 read it all. The rest
    of the body fits the server's send buffer (tcp_wmem allows 4 MiB), so it was handed
    to the kernel in full and counted as delivered before."""
    data = os.urandom(3 * MIB)
    path = write_file(tmp_path, "big.bin", data)
    request = b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"

    def whole() -> None:
        assert get(running, "big.bin", agent="whole")[1] == data

    with serving(tmp_path, [path], fold_window=0) as running:
        threads = [threading.Thread(target=read_nothing_and_reset,
                                    args=(running.port, request), kwargs={"read": MIB // 2})
                   for _ in range(40)]
        threads += [threading.Thread(target=whole) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        running.recorder.wait_count(TransferFinished, 50, timeout=60)
        running.wait_lines("Client", 50, timeout=30)
    assert events(running).count("downloaded") == 10
    assert events(running).count("interrupted") == 40


# --- receipts ---------------------------------------------------------------------------

def test_a_receipt_for_nothing_delivered_is_refused_and_recorded_as_such(
        tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path]) as running:
        assert get(running, "test.txt", client_id="victim-00001")[0] == 200
        running.wait_lines("downloaded the file")
        # someone else copies the victim's id and the public etag and digest
        status = receipt(running, "test.txt", SMALL, client_id="victim-00001",
                         source="127.0.0.9")
        line = running.wait_lines("receipt")[0]
    assert status == 403
    assert "verified" not in events(running)
    assert "not counted" in line and "127.0.0.9" in line


def test_a_true_receipt_is_verified_once(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path]) as running:
        assert get(running, "test.txt", client_id="honest-00001") == (200, SMALL)
        running.wait_lines("downloaded the file")
        assert receipt(running, "test.txt", SMALL, client_id="honest-00001") == 200
        assert receipt(running, "test.txt", SMALL, client_id="honest-00001") == 200  # again
        running.wait_lines("downloaded and verified")
        time.sleep(0.3)
    assert events(running) == ["downloaded", "verified"]


def test_a_receipt_waits_no_longer_than_the_client_does(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hashing = threading.Event()
    offer_module = __import__("core.server.offer", fromlist=["sha256_file"])
    real, real_whole = offer_module.sha256_file, offer_module.sha256_whole

    def slow(path: str, **kwargs: object) -> str:
        hashing.wait(30)
        return str(real(path, **kwargs))

    def slow_whole(*args: object) -> str | None:  # a small file is read whole
        hashing.wait(30)
        return real_whole(*args)  # type: ignore[no-any-return]

    monkeypatch.setattr("core.server.offer.sha256_file", slow)
    monkeypatch.setattr("core.server.offer.sha256_whole", slow_whole)
    path = write_file(tmp_path, "test.txt", SMALL)
    with serving(tmp_path, [path], wait_hashed=False) as running:
        assert get(running, "test.txt", agent="early") == (200, SMALL)
        running.wait_lines("downloaded the file")
        began = time.monotonic()
        status = receipt(running, "test.txt", SMALL, agent="early")
        waited = time.monotonic() - began
        assert status == 503
        assert protocol.RECEIPT_WAIT_SECONDS - 0.5 < waited < protocol.RECEIPT_WAIT_SECONDS + 3
        assert "verified" not in events(running)
        hashing.set()
        running.wait_hashed()
        assert receipt(running, "test.txt", SMALL, agent="early") == 200
        running.wait_lines("downloaded and verified")
    assert protocol.RECEIPT_WAIT_SECONDS < 10.0  # the client's default time-out


def test_a_body_the_client_stops_reading_is_cut_and_counted_as_acknowledged(
        tmp_path: Path) -> None:
    path = write_file(tmp_path, "big.bin", os.urandom(4 * MIB))
    with serving(tmp_path, [path], stall_timeout=1.0) as running, running.raw() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        line = running.wait_lines("did not finish downloading", timeout=20)[0]
    assert int(line.split("(")[-1].split(" of ")[0]) < MIB
    wait_until(lambda: True)


def test_a_download_cut_by_a_clean_stop_is_completed_after_a_restart(tmp_path: Path) -> None:
    """The ledger's own lines carry the book of downloads across a restart (server.delivery)."""
    data = os.urandom(4 * MIB)
    write_file(tmp_path, "big.bin", data)
    ledger = tmp_path / "ledger" / "Clients.txt"
    ident = "X-Filecast-Client-Id: restarter-01"
    server = ServeProcess(tmp_path, ["big.bin"], ledger)
    try:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a slow reader's
            sock.settimeout(20)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(f"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n{ident}\r\n\r\n".encode())
            reader = Reader(sock, timeout=20)
            while b"\r\n\r\n" not in reader.buffer or len(reader.buffer) < MIB + 400:
                reader._more()
            _, _, got = reader.buffer.partition(b"\r\n\r\n")
            server.stop()  # SIGTERM while the client holds 1 MiB and more is on its way
    finally:
        server.close()
    server = ServeProcess(tmp_path, ["big.bin"], ledger, port=0)
    try:
        answer = exchange(server.port, f"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n{ident}\r\n"
                          f"Range: bytes={len(got)}-\r\n\r\n".encode(), timeout=20)
        assert answer.status == 206 and got + answer.body == data
        wait_until(lambda: "downloaded" in [r["event"] for r in records(ledger)], 10,
                   "the download to complete")
    finally:
        server.close()
    assert [r["event"] for r in records(ledger)] == ["interrupted", "downloaded"]


def records(ledger: Path) -> list[dict[str, object]]:
    path = ledger.with_suffix(".jsonl")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_stop_during_a_slow_download_records_it_and_sends_nothing_more(
        tmp_path: Path) -> None:
    """Adversarial pass: a client reading 64 KB every 0.25 s kept acknowledging, so the
    server's drain outlived stop(): no line was written, and 2.8 MB more reached it."""
    data = os.urandom(32 * MIB)
    path = write_file(tmp_path, "big.bin", data)
    with serving(tmp_path, [path]) as running, socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", running.port))
        sock.sendall(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        while got < 8 * MIB:
            got += len(sock.recv(1 << 20))
        reading = threading.Event()
        read = [got]

        def trickle() -> None:
            with contextlib.suppress(OSError):
                while not reading.is_set():
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    read[0] += len(chunk)
                    time.sleep(0.25)

        reader = threading.Thread(target=trickle, daemon=True)
        reader.start()
        time.sleep(0.5)
        began = time.monotonic()
        running.server.stop()
        stopped_in = time.monotonic() - began
        reader.join(15)
        reading.set()
        lines = running.wait_lines("did not finish downloading")
        record = next(r for r in running.ledger_records() if r["event"] == "interrupted")
    assert stopped_in < 3.0
    assert len(lines) == 1
    assert read[0] <= record["acked"] + 1024  # the response head aside, nothing uncounted
