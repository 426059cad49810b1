"""Fuzz a live FilecastServer with generated and mutated HTTP requests (hypothesis).

Every request goes over its own connection to a real server on 127.0.0.1. Each must be
answered with a documented status (4xx; 501/503/505; or 2xx/304 when it happens to be a
valid request) or see the connection closed; never an internal error, never a logged
exception, never a byte of a file that is not offered (a canary file with a unique marker
sits beside the offered one), and downloads running beside the fuzzing stay correct.

Budget: ``EXAMPLES`` requests per strategy by default (fast, for CI); the ``slow`` test runs
``SLOW_EXAMPLES``. ``FILECAST_FUZZ_EXAMPLES=N`` sets both.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from serverkit import Background, Reader, Running, serving, sha256

from core.client.visit import FilecastClient
from core.events import EngineError
from core.wire.media import media_type

_ENV = int(os.environ.get("FILECAST_FUZZ_EXAMPLES", "0") or 0)
EXAMPLES = _ENV or 120
SLOW_EXAMPLES = _ENV or 3000
OFFERED = "offered.txt"
CANARY = "canary.txt"
MARKER = f"CANARY-{uuid.uuid4().hex}".encode()
# The offered file holds only these bytes, so no response head can hide inside it.
OFFERED_DATA = bytes(b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(300_000))
ALLOWED = {200, 206, 304, 400, 404, 405, 408, 411, 413, 416, 431, 501, 503, 505, None}
HUGE = "9" * 5000  # past Python's 4300-digit int() limit (CVE-2020-10735 guard)

# --- strategies --------------------------------------------------------------------------

METHODS = st.sampled_from([
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
    "PROPFIND", "MKCOL", "get", "GeT", "G@T", "", " ", "GET GET", "\x00GET", "é",
]) | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-!#$%&'*+.^_`|~", min_size=1, max_size=12)

NAME_PARTS = st.sampled_from([
    OFFERED, CANARY, f"../{CANARY}", f"..%2f{CANARY}", f"%2e%2e%2f{CANARY}",
    f"%252e%252e%252f{CANARY}", f"..\\{CANARY}", f"..%5c{CANARY}", f"%c0%ae%c0%ae/{CANARY}",
    "offered%2etxt", "offered.txt%00", "offered.txt\x00.png", "%00", "..", "%2e%2e", "%252e",
    "/etc/passwd", "%2fetc%2fpasswd", "C:\\Windows\\win.ini", "C%3a%5cWindows%5cwin.ini",
    "CON", "NUL.txt", "com1", "LPT1.bin", "aux", "CONIN$", "%ff%fe", "%80", "%", "%%", "%zz",
    "résumé.txt", "r%C3%A9sum%C3%A9.txt", "\u202etxt.exe", "%E2%80%AEtxt.exe", "a" * 300,
    "%41" * 400, "b" * 5000, "x y", "x%20y", "'", "%27", '"', "%0d%0aSet-Cookie:%20x",
    "%0a", "%09", "%1b[2J", "%e2%80%a8", "~", ".", "./offered.txt", "offered.txt/",
    "offered.txt?x=1", "offered.txt#frag", "%3f", HUGE[:50],
])
PREFIXES = st.sampled_from([
    "/files/", "/files//", "/", "//", "/api/v1/offer", "/api/v1/offer/", "/api/v1/decisions",
    "/api/v1/receipts", "/files", "/FILES/", "/files/../", "http://x/files/", "https://x/files/",
    "http://[::1/files/", "*", "", "files/", "\\files\\", "/%66iles/", "/api/v1/../../",
])
TARGETS = st.builds(lambda p, parts: p + "/".join(parts), PREFIXES,
                    st.lists(NAME_PARTS, max_size=3))
VERSIONS = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/0.9",
                            "HTTP/1.10", "HTTP/9.9", "http/1.1", "HTTP/1", "", "HTTP/1.1 x"])
RANGES = st.sampled_from([
    "bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-0", "bytes=5-1", "bytes=-", "bytes=",
    "bytes=0-1,2-3", "bytes= 1 - 2 ", "bytes=1-2-3", "bytes=--1", "bytes=a-b", "items=0-1",
    "bytes=299999-", "bytes=300000-", "bytes=-300001", "bytes=0-99999999999999999999999",
    f"bytes={HUGE}-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", f"bytes=0{HUGE}-", "bytes=²-",
    "bytes=0x10-", "BYTES=0-1", "bytes=0-1, ", "bytes=1-1,,", "bytes=\t0-1",
])
HEADER_PAIRS = st.one_of(
    st.tuples(st.just("Range"), RANGES),
    st.tuples(st.just("If-Range"), st.sampled_from(['"x"', "*", "", "W/\"1-1\"", "Mon, 1 Jan"])),
    st.tuples(st.just("If-None-Match"), st.sampled_from(["*", '"x"', ",,,", "W/", ""])),
    st.tuples(st.just("Content-Length"),
              st.sampled_from(["0", "5", "-1", "+5", "0x10", "1e3", "²", "", " 5", HUGE,
                               "0" * 5000 + "1", "70000", "99999999999999999999"])),
    st.tuples(st.just("Transfer-Encoding"), st.sampled_from(["chunked", "gzip", "identity"])),
    st.tuples(st.just("Connection"), st.sampled_from(["close", "keep-alive", "upgrade", ""])),
    st.tuples(st.just("X-Filecast-Client-Name"),
              st.sampled_from(["%0a%0d", "%1b[31m", "%ff", "A" * 300, "%E2%80%AE", "x"])),
    st.tuples(st.just("X-Filecast-Client-Id"), st.sampled_from(["a" * 8, "a" * 65, "\x7f"])),
    st.tuples(st.just("User-Agent"), st.sampled_from(["\x85\x9b", "a\tb", "é" * 100])),
    st.tuples(st.text("abcXYZ-_:\x00\x7f é", max_size=20), st.text(max_size=40)),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request built from the pieces above; sometimes with a body, sometimes pipelined."""
    method, target, version = draw(METHODS), draw(TARGETS), draw(VERSIONS)
    lines = [f"{method} {target} {version}".rstrip(" ") if draw(st.booleans())
             else f"{method} {target} {version}"]
    if draw(st.integers(0, 9)):  # mostly with a Host
        lines.append("Host: x")
    lines += [f"{name}: {value}" for name, value in draw(st.lists(HEADER_PAIRS, max_size=5))]
    body = draw(st.sampled_from([b"", b"{}", b'{"version": 1, "file": "canary.txt", '
                                 b'"decision": "declined"}',
                                 b'{"version": 1, "file": "offered.txt", "etag": "x", '
                                 b'"bytes": 1' + b"0" * 5000 + b', "sha256": "' + b"0" * 64
                                 + b'"}', b"[" * 3000]))
    if body and draw(st.booleans()):
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n"
    return head + body


def post(body: bytes, path: str = "/api/v1/receipts") -> bytes:
    """A whole POST with ``body`` and its exact Content-Length."""
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, delete count, insert) edits to a valid request."""
    out = bytearray(data)
    for position, delete, insert in edits:
        at = position % (len(out) + 1)
        out[at : at + delete] = insert
    return bytes(out)


MUTATED = st.builds(
    _mutate, requests(),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 8),
                       st.binary(max_size=8) | st.sampled_from([b"\r\n", b"\x00", b"%", b"..",
                                                                 b"\r\n\r\n", b" ", b"\xff"])),
             min_size=1, max_size=4))
HUGE_REQUESTS = st.sampled_from([
    b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 150 + b"\r\n",
    b"GET / HTTP/1.1\r\n" + b"Host: x\r\n" * 99 + b"\r\n",
    b"\r\n" * 10_000,
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n",
])
ANY_REQUEST = st.one_of(requests(), MUTATED, st.binary(max_size=3000), HUGE_REQUESTS)


# --- the server side ----------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """Counts ERROR records the engine logs (an exception while serving is a bug)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def fuzz_target(tmp_path: Path) -> Iterator[tuple[Running, _ErrorLog]]:
    """A server offering OFFERED (canary beside it), with the engine's log watched."""
    folder = tmp_path / "offered"
    folder.mkdir()
    (folder / OFFERED).write_bytes(OFFERED_DATA)
    (folder / CANARY).write_bytes(MARKER * 100)
    (tmp_path / CANARY).write_bytes(MARKER)
    errors = _ErrorLog()
    logger = logging.getLogger("filecast")
    logger.addHandler(errors)
    try:
        with serving(tmp_path, [folder / OFFERED], head_timeout=0.5) as running:
            yield running, errors
    finally:
        logger.removeHandler(errors)


def send(running: Running, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection, half-close, and read until the server closes.

    The first answer is checked against the rules; everything that came back is returned.
    The half-close makes an incomplete head end at once instead of at the head time-out.
    """
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        reader = Reader(sock)
        first = reader.response(head_request=request.startswith(b"HEAD "))
        check(first.status, first.headers, first.body, request)
        while reader._more():  # pipelined answers, until the server closes
            pass
        return first.raw + reader.buffer


def check(status: int | None, headers: dict[str, str], body: bytes, request: bytes) -> None:
    """The rules every answer follows, whatever was asked."""
    assert status in ALLOWED, (status, request[:300])
    if status in (200, 206) and headers.get("content-type") == media_type(OFFERED):
        assert body in OFFERED_DATA, request[:300]  # only ever bytes of the offered file
    if status is not None and status >= 400 and body:
        error = json.loads(body)["error"]
        assert error["code"] and error["message"]


class _Downloads:
    """Downloads OFFERED over and over with Filecast's client while the fuzzing runs."""

    def __init__(self, running: Running, folder: Path) -> None:
        self.stop = threading.Event()
        self.done = 0
        self._running, self._folder = running, folder
        self._task = Background(self._loop)

    def _loop(self) -> int:
        expected = sha256(OFFERED_DATA)
        while not self.stop.is_set():
            target = self._folder / str(self.done)
            target.mkdir(parents=True)
            with FilecastClient("127.0.0.1", self._running.port, backoff=0.01) as client:
                result = client.download(OFFERED, target)
            assert result.verified and result.sha256 == expected
            assert result.path.read_bytes() == OFFERED_DATA
            self.done += 1
        return self.done

    def finish(self) -> int:
        self.stop.set()
        return int(self._task.join())


def fuzz(tmp_path: Path, examples: int) -> int:
    """Run ``examples`` generated requests per strategy; returns how many were sent."""
    sent = [0]
    with fuzz_target(tmp_path) as (running, errors):
        downloads = _Downloads(running, tmp_path / "downloads")
        budget = settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.large_base_example])

        @budget
        @given(ANY_REQUEST)
        @example(f"GET /files/{OFFERED} HTTP/1.1\r\nHost: x\r\nRange: bytes={HUGE}-\r\n\r\n"
                 .encode())
        @example(f"GET /files/{OFFERED} HTTP/1.1\r\nHost: x\r\nRange: bytes=-{HUGE}\r\n\r\n"
                 .encode())
        @example(f"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: {HUGE}\r\n\r\n"
                 .encode())
        @example(post(b'{"version": 1, "file": "offered.txt", "etag": "x", "bytes": '
                      + HUGE.encode() + b', "sha256": "' + b"0" * 64 + b'"}'))
        def one(request: bytes) -> None:
            sent[0] += 1
            assert MARKER not in send(running, request), request[:300]
            # the worker reports an internal error before it closes: no race with the read
            assert errors.records == [], (request[:300], errors.records[0].getMessage())

        one()
        finished = downloads.finish()
        assert finished >= 1
        internal = [e for e in running.recorder.of(EngineError) if "Internal" in e.message]
        assert internal == [], internal[:3]
        assert errors.records == [], [r.getMessage() for r in errors.records[:3]]
        assert all(MARKER.decode() not in line for line in running.ledger_lines())
    print(f"\nfuzzed {sent[0]} requests; {finished} downloads beside them were correct")
    return sent[0]


def test_fuzz_requests_against_a_live_server(tmp_path: Path) -> None:
    assert fuzz(tmp_path, EXAMPLES) >= EXAMPLES


@pytest.mark.slow
def test_fuzz_requests_long_run(tmp_path: Path) -> None:
    assert fuzz(tmp_path, SLOW_EXAMPLES) >= SLOW_EXAMPLES // 2
