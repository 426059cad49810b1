"""Issue 9, item 7: what is not HTTP is answered at once, and a closing answer closes.

Random bytes, a TLS ClientHello or an SSH banner waited 10 s for a 408 (nginx answers 400
at once; ``curl https://`` hung). An error answer that said ``Connection: close`` left the
socket open, and a pipelined GET after it was served and recorded.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from serverkit import Reader, read_response, serving, write_file

DATA = b"hello world"
QUICK = 2.0  # seconds: "at once", with room for a loaded CI machine (head time-out is 10 s)


@pytest.mark.parametrize("junk", [
    bytes(random.Random(9).randrange(256) for _ in range(64)),
    bytes.fromhex("160301020001fc0303") + bytes(32),  # a TLS ClientHello
    b"SSH-2.0-OpenSSH_9.6 Debian-1\r\n",  # ssh client
], ids=["random-bytes", "tls-client-hello", "ssh-banner"])
def test_bytes_that_are_not_http_get_400_at_once(tmp_path: Path, junk: bytes) -> None:
    path = write_file(tmp_path, "a.txt", DATA)
    with serving(tmp_path, [path]) as running, running.raw() as sock:
        began = time.monotonic()
        sock.sendall(junk)
        answer = read_response(sock, timeout=QUICK + 8)
        took = time.monotonic() - began
    assert answer.status == 400
    assert took < QUICK, f"400 came after {took:.1f} s"


@pytest.mark.curl
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_with_https_fails_fast(tmp_path: Path) -> None:
    path = write_file(tmp_path, "a.txt", DATA)
    with serving(tmp_path, [path]) as running:
        began = time.monotonic()
        done = subprocess.run(
            ["curl", "-sS", "-k", "--max-time", "20", f"https://127.0.0.1:{running.port}/"],
            capture_output=True, text=True, check=False)
        took = time.monotonic() - began
    assert done.returncode != 0
    assert took < 5.0, f"curl https:// took {took:.1f} s: {done.stderr}"


def test_an_error_answer_with_connection_close_closes(tmp_path: Path) -> None:
    path = write_file(tmp_path, "a.txt", DATA)
    pipelined = (b"GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                 b"GET /files/a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    with serving(tmp_path, [path]) as running, running.raw() as sock:
        sock.sendall(pipelined)
        reader = Reader(sock, timeout=10)
        first = reader.response()
        second = reader.response()
        time.sleep(0.3)  # a served GET would be recorded by now
        lines = running.ledger_lines()
    assert first.status == 404
    assert first.headers.get("connection") == "close"
    assert second.status is None and second.raw == b"", "a second answer came after close"
    assert not any("downloaded" in line for line in lines), lines


def test_a_refused_request_is_closed_gently(tmp_path: Path) -> None:
    """The client reads the whole 400 and then an orderly end, never a reset (RFC 9112 §9.6:
    closing with the rest of the request unread would send a RST that can destroy it)."""
    path = write_file(tmp_path, "a.txt", DATA)
    with serving(tmp_path, [path]) as running, running.raw() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + b"x" * 200_000)
        time.sleep(0.5)  # the server has answered and closed by now; we read only after
        reader = Reader(sock, timeout=10)
        answer = reader.response()
        try:
            rest = sock.recv(65536)
        except ConnectionResetError:
            rest = None
    assert answer.status == 400
    assert b"more than one Host" in answer.body
    assert rest == b"", "the connection was reset instead of closed"


def trickle_until_answered(sock: socket.socket, first_after: float, data: bytes) -> float:
    """Send nothing for ``first_after`` s, then a byte every 0.2 s; seconds to an answer."""
    began = time.monotonic()
    time.sleep(first_after)
    sock.settimeout(0.2)
    for byte in data:
        sock.sendall(bytes([byte]))
        try:
            if sock.recv(65536):
                return time.monotonic() - began
        except TimeoutError:
            continue
    sock.settimeout(30)
    sock.recv(65536)
    return time.monotonic() - began


@pytest.mark.parametrize("request_bytes", [
    b"GET /files/a.txt HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n",
    b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 300\r\n\r\n" + b" " * 300,
], ids=["head", "head-and-body"])
def test_a_request_has_one_deadline_from_the_connection(tmp_path: Path,
                                                        request_bytes: bytes) -> None:
    """Adversarial pass: a first byte at 9.5 s then a trickle was held 22 s before its 408,
    and a body got 10 s more: 'time to send a whole request head: 10 s' was about 20-30."""
    path = write_file(tmp_path, "a.txt", DATA)
    with serving(tmp_path, [path], head_timeout=2.0) as running, running.raw() as sock:
        took = trickle_until_answered(sock, 1.5, request_bytes)
    assert took < 3.0, f"answered after {took:.1f} s"
