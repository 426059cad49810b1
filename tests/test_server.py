"""A real FilecastServer on 127.0.0.1: downloads, ledger lines, hostile input, limits, stop()."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serverkit import (
    Background,
    Reader,
    Running,
    download,
    exchange,
    filecast_threads,
    read_response,
    serving,
    sha256,
    wait_until,
    write_file,
)

from core.events import (
    ClientConnected,
    ClientDisconnected,
    EngineError,
    OfferSent,
    TransferStarted,
)
from core.wire.protocol import file_path, parse_repr_digest

MIB = 1024 * 1024
GIB = 1024 * MIB


def offered(tmp_path: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` into a folder of their own and return their paths."""
    folder = tmp_path / "offered"
    folder.mkdir(exist_ok=True)
    return [write_file(folder, name, data) for name, data in files.items()]


def big(tmp_path: Path, name: str, size: int) -> Path:
    """A file of ``size`` random bytes (written in 1 MiB steps)."""
    folder = tmp_path / "offered"
    folder.mkdir(exist_ok=True)
    path = folder / name
    with open(path, "wb") as handle:
        left = size
        while left:
            step = min(left, MIB)
            handle.write(os.urandom(step))
            left -= step
    return path


def post_json(running: Running, path: str, body: dict[str, object]) -> tuple[int, dict]:
    """POST a version-1 JSON body; status and decoded answer."""
    conn = running.connect()
    try:
        data = json.dumps({"version": 1, **body}).encode()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def head(running: Running, name: str) -> tuple[int, dict[str, str]]:
    """HEAD a file: status and headers by lower-case name."""
    conn = running.connect()
    try:
        conn.request("HEAD", file_path(name))
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


# --- whole downloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.bin", b""),
        ("one.bin", b"x"),
        ("three-mib.bin", os.urandom(3 * MIB)),
        ("résumé final.txt", "Curriculum vitæ — ünïcödé\n".encode() * 100),
    ],
    ids=["empty", "one-byte", "3MiB", "non-ascii-name"],
)
def test_whole_download_byte_for_byte(tmp_path: Path, name: str, data: bytes) -> None:
    with serving(tmp_path, offered(tmp_path, {name: data})) as running:
        status, headers, body = download(running, name)
        assert status == 200
        assert body == data
        assert headers["content-length"] == str(len(data))
        assert parse_repr_digest(headers["repr-digest"]) == sha256(data)
        expected = f"downloaded the file '{name}'"
        lines = running.wait_lines(expected)
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ Client: \('127\.0\.0\.1', \d+\) {expected}",
            lines[0])
        records = [r for r in running.ledger_records() if r["event"] == "downloaded"]
        assert [(r["file"], r["bytes"], r["size"]) for r in records] == [
            (name, len(data), len(data))]
        # the same line never comes twice (e.g. once more when the connection closes)
        wait_until(lambda: running.recorder.of(ClientDisconnected), what="disconnect")
        assert len(running.lines_with(expected)) == 1


def test_downloaded_is_recorded_only_after_the_last_byte(tmp_path: Path) -> None:
    path = big(tmp_path, "twenty.bin", 20 * MIB)
    with serving(tmp_path, [path]) as running:
        conn = running.connect(timeout=30)
        conn.request("GET", file_path("twenty.bin"))
        response = conn.getresponse()
        first = response.read(MIB)
        running.recorder.wait_count(TransferStarted, 1)
        # 19 MiB cannot fit in the socket buffers: the body cannot have been sent yet
        assert running.lines_with("downloaded the file") == []
        rest = response.read()
        conn.close()
        assert sha256(first + rest) == sha256(path.read_bytes())
        running.wait_lines("downloaded the file 'twenty.bin'")


def test_ranges_over_the_wire(tmp_path: Path) -> None:
    data = os.urandom(1000)
    with serving(tmp_path, offered(tmp_path, {"r.bin": data}), fold_window=0) as running:
        status, headers, body = download(running, "r.bin", headers={"Range": "bytes=10-19"})
        assert (status, body) == (206, data[10:20])
        assert headers["content-range"] == "bytes 10-19/1000"
        assert parse_repr_digest(headers["repr-digest"]) == sha256(data)
        running.wait_lines("downloaded bytes 10-19 of the file 'r.bin'")
        status, headers, body = download(running, "r.bin", headers={
            "Range": "bytes=500-", "If-Range": headers["etag"]})
        assert (status, body) == (206, data[500:])
        # bytes 0-9 and 20-499 never went out: a range, not a download (issue 9)
        running.wait_lines("downloaded bytes 500-999 of the file 'r.bin'")
        status, _, body = download(running, "r.bin", headers={
            "Range": "bytes=500-", "If-Range": '"stale"'})
        assert (status, body) == (200, data)


# --- the other answers and their ledger lines -------------------------------------------


def test_not_offered_is_404_and_recorded(tmp_path: Path) -> None:
    with serving(tmp_path, offered(tmp_path, {"test.txt": b"Hello world"})) as running:
        status, headers, body = download(running, "x")
        assert status == 404
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "not_offered"
        running.wait_lines("asked for 'x', which does not exist")
        status, _ = head(running, "y")
        assert status == 404
        running.wait_lines("asked for 'y', which does not exist")


def test_decline_is_recorded(tmp_path: Path) -> None:
    with serving(tmp_path, offered(tmp_path, {"test.txt": b"Hello world"})) as running:
        status, answer = post_json(running, "/api/v1/decisions",
                                   {"file": "test.txt", "decision": "declined"})
        assert (status, answer) == (200, {"version": 1, "recorded": True})
        running.wait_lines("did not download the file 'test.txt'")
        status, answer = post_json(running, "/api/v1/decisions",
                                   {"file": "other.txt", "decision": "declined"})
        assert status == 404 and answer["error"]["code"] == "not_offered"
        assert running.lines_with("other.txt") == []


def test_receipts(tmp_path: Path) -> None:
    data = b"Hello world"
    with serving(tmp_path, offered(tmp_path, {"test.txt": data})) as running:
        _, headers, body = download(running, "test.txt")
        receipt = {"file": "test.txt", "etag": headers["etag"], "bytes": len(body),
                   "sha256": sha256(body)}
        status, answer = post_json(running, "/api/v1/receipts", receipt)
        assert (status, answer) == (200, {"version": 1, "verified": True,
                                          "sha256": sha256(data)})
        running.wait_lines("downloaded and verified the file 'test.txt'")

        download(running, "test.txt")  # a second download, whose receipt is wrong
        status, answer = post_json(running, "/api/v1/receipts", {**receipt, "sha256": "0" * 64})
        assert (status, answer) == (200, {"version": 1, "verified": False,
                                          "sha256": sha256(data)})
        running.wait_lines("reported a wrong digest for the file 'test.txt'")
        status, _ = post_json(running, "/api/v1/receipts", receipt)  # one line per download
        assert status == 200

        status, answer = post_json(running, "/api/v1/receipts", {**receipt, "etag": '"1-1"'})
        assert status == 409 and answer["error"]["code"] == "changed"
        assert [r["event"] for r in running.ledger_records()] == [
            "downloaded", "verified", "downloaded", "digest_mismatch"]


def test_client_identity_reaches_the_ledger(tmp_path: Path) -> None:
    with serving(tmp_path, offered(tmp_path, {"test.txt": b"Hello world"})) as running:
        download(running, "test.txt", headers={
            "X-Filecast-Client-Id": "client-0123456789",
            "X-Filecast-Client-Name": "Bj%C3%B6rn%27s%20laptop",
            "User-Agent": "Filecast-test/1"})
        download(running, "test.txt", headers={"X-Filecast-Client-Id": "bad id!"})
        running.wait_lines("downloaded the file 'test.txt'", 2)
        first, second = running.ledger_records()
        assert (first["client_id"], first["name"], first["user_agent"]) == (
            "client-0123456789", "Björn's laptop", "Filecast-test/1")
        assert second["client_id"] is None  # invalid values are ignored, never an error


# --- many clients at once ------------------------------------------------------------------


def test_fifty_clients_at_once(tmp_path: Path) -> None:
    path = big(tmp_path, "one-mib.bin", MIB)
    expected = sha256(path.read_bytes())
    clients = 50
    with serving(tmp_path, [path]) as running:
        barrier = threading.Barrier(clients)

        def fetch(_: int) -> tuple[int, str, int]:
            conn = running.connect(timeout=30)
            try:
                barrier.wait(timeout=30)
                conn.request("GET", file_path("one-mib.bin"))
                response = conn.getresponse()
                body = response.read()
                port = conn.sock.getsockname()[1]
                return response.status, sha256(body), port
            finally:
                conn.close()

        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(fetch, range(clients)))
        assert all(status == 200 for status, _, _ in results)
        assert [digest for _, digest, _ in results] == [expected] * clients
        lines = running.wait_lines("downloaded the file 'one-mib.bin'", clients)
        assert len(lines) == clients
        ports = sorted(int(re.search(r"', (\d+)\)", line).group(1)) for line in lines)
        assert ports == sorted(port for _, _, port in results)  # each client once
        records = running.ledger_records()
        assert len(records) == clients
        assert all(r["event"] == "downloaded" and r["bytes"] == MIB for r in records)
        assert sorted(r["port"] for r in records) == ports
        assert not running.recorder.of(EngineError)


# --- hostile and malformed input --------------------------------------------------------

def post_bytes(path: str, body: dict[str, object]) -> bytes:
    """A whole raw POST request with a version-1 JSON body."""
    data = json.dumps({"version": 1, **body}).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data)


CORPUS: list[tuple[str, bytes, set[int | None]]] = [
    ("encoded slashes", b"GET /files/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\n\r\n",
     {404}),
    ("encoded dots", b"GET /files/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("backslashes", b"GET /files/..\\..\\windows\\win.ini HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("double encoding",
     b"GET /files/%252e%252e%252fetc%252fpasswd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("NUL", b"GET /files/test.txt%00.png HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("raw NUL", b"GET /files/test.txt\x00.png HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("double slash", b"GET /files//etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("absolute path", b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("dot segments", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("absolute-form", b"GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
    ("bad absolute-form", b"GET http://[::1/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("long name", b"GET /files/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {431, 400}),
    ("20 KB request line", b"GET /" + b"b" * 20480, {431, 400}),
    ("too many fields",
     b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", {431}),
    ("TLS hello", b"\x16\x03\x01\x00\xa5\x01", {408, 400, None}),
    ("range past the end",
     b"GET /files/test.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=9999999-\r\n\r\n", {416}),
    ("empty range", b"GET /files/test.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-\r\n\r\n", {416}),
    ("backwards range",
     b"GET /files/test.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=5-1\r\n\r\n", {416}),
    ("header without colon", b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", {400}),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", {400}),
    ("no Host", b"GET /files/test.txt HTTP/1.1\r\n\r\n", {400}),
    ("HTTP/2", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", {505}),
    ("negative length",
     b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", {400}),
    ("superscript length",
     b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n{}", {400}),
    ("conflicting lengths",
     b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}", {400}),
    ("chunked", b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
     b"\r\n\r\n0\r\n\r\n", {501}),
    ("10 MB body",
     b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n", {413}),
    ("POST without length", b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\n\r\n", {411}),
    ("deeply nested JSON",
     b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Content-Length: 5000\r\n\r\n"
     + b"[" * 5000, {400}),
    ("JSON naming passwd",
     post_bytes("/api/v1/decisions", {"file": "/etc/passwd", "decision": "declined"}), {404}),
    ("receipt naming passwd",
     post_bytes("/api/v1/receipts", {"file": "../../etc/passwd", "etag": '"1-1"', "bytes": 1,
                                     "sha256": "0" * 64}), {404}),
    ("PUT", b"PUT /files/test.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", {405}),
]


def test_hostile_corpus(tmp_path: Path) -> None:
    files = offered(tmp_path, {"test.txt": b"Hello world"})
    files.append(big(tmp_path, "twenty.bin", 20 * MIB))
    with serving(tmp_path, files, head_timeout=1.0) as running:
        corpus_done = threading.Event()

        def slow_download() -> str:
            conn = running.connect(timeout=30)
            try:
                conn.request("GET", file_path("twenty.bin"))
                response = conn.getresponse()
                first = response.read(MIB)
                corpus_done.wait(30)  # in flight while the corpus is sent
                return sha256(first + response.read())
            finally:
                conn.close()

        background = Background(slow_download)
        running.recorder.wait_count(TransferStarted, 1)
        failures = []
        for label, request, allowed in CORPUS:
            answer = exchange(running.port, request)
            assert b"root:" not in answer.raw, label
            if answer.status not in allowed:
                failures.append((label, answer.status, answer.raw[:200]))
            elif answer.status is not None and answer.status >= 400:
                error = json.loads(answer.body)["error"]
                assert error["code"] and error["message"], label
        corpus_done.set()
        assert failures == [], "\n".join(map(repr, failures))
        assert background.join() == sha256(files[1].read_bytes())
        assert not running.recorder.of(EngineError)  # no internal errors, nothing to report
        assert all("root:" not in line for line in running.ledger_lines())


def test_errors_to_head_have_no_body(tmp_path: Path) -> None:
    heads = [
        ("/nothing", "", 404),
        ("/files/", "", 404),
        ("/api/v1/decisions", "", 405),
        (file_path("test.txt"), "Range: bytes=500-\r\n", 416),
        (file_path("missing"), "", 404),
        (file_path("test.txt"), "", 200),
    ]
    pipeline = "".join(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n"
                       for path, extra, _ in heads)
    pipeline += "GET /api/v1/offer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with serving(tmp_path, offered(tmp_path, {"test.txt": b"Hello world"})) as running, \
            running.raw() as sock:
        sock.sendall(pipeline.encode())
        reader = Reader(sock)
        for path, _, status in heads:
            answer = reader.response(head_request=True)
            assert answer.status == status, path
        # the connection is still in step: the next answer is read where it starts
        answer = reader.response()
        assert answer.status == 200, answer.raw[:100]
        assert json.loads(answer.body)["files"][0]["name"] == "test.txt"


# --- slow and silent clients -------------------------------------------------------------


def trickle_head(sock: socket.socket, pace: float = 0.2, limit: float = 10.0) -> bytes:
    """Send a never-ending head one byte every ``pace`` seconds; what the server answers
    (b"" when it just closes). Fails if the server still listens after ``limit`` seconds."""
    header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    deadline = time.monotonic() + limit
    sock.settimeout(pace)  # the client's pace: one byte, then wait that long for an answer
    for byte in header:
        assert time.monotonic() < deadline, "the trickling client was never cut off"
        try:
            sock.send(bytes([byte]))
            return sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return b""
    raise AssertionError("the whole slow head was accepted")


def test_silent_and_trickling_clients_are_cut_off(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024)
    with serving(tmp_path, offered(tmp_path, {"test.bin": data}), head_timeout=0.5) as running:
        with running.raw(timeout=2.5) as silent:
            # a connection that sends nothing is closed (recv times out after 2.5 s if not)
            assert silent.recv(1024) == b""
        with running.raw() as trickle:
            slow = Background(lambda: trickle_head(trickle))
            running.recorder.wait_count(ClientConnected, 2)
            status, _, body = download(running, "test.bin")  # a normal download meanwhile
            assert (status, body) == (200, data)
            answer = slow.join()
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:100]
        running.recorder.wait_count(ClientDisconnected, 3)


def test_normal_download_while_a_client_trickles(tmp_path: Path) -> None:
    data = os.urandom(MIB)
    with serving(tmp_path, offered(tmp_path, {"test.bin": data}), head_timeout=0.5) as running, \
            running.raw() as trickle:
        trickle.sendall(b"GET / HT")
        running.recorder.wait_count(ClientConnected, 1)
        status, _, body = download(running, "test.bin")
        assert (status, body) == (200, data)
        answer = read_response(trickle, timeout=5)
        assert answer.status in (408, None)


# --- stopping -------------------------------------------------------------------------


def _blocked_in(function: str) -> bool:
    """Whether some engine thread is currently inside ``function`` (test synchronisation)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    frames = sys._current_frames()
    for ident, frame in frames.items():
        if not names.get(ident, "").startswith("filecast-client-"):
            continue
        current = frame
        while current is not None:
            if current.f_code.co_name == function:
                return True
            current = current.f_back
    return False


def test_stop_while_a_receipt_waits_for_the_digest(tmp_path: Path) -> None:
    folder = tmp_path / "offered"
    folder.mkdir()
    path = folder / "huge.bin"
    with open(path, "wb") as handle:
        handle.truncate(64 * GIB)  # sparse: hashing it takes far longer than this test
    with serving(tmp_path, [path], wait_hashed=False) as running:
        status, headers = head(running, "huge.bin")
        assert status == 200 and "repr-digest" not in headers
        body = json.dumps({"version": 1, "file": "huge.bin", "etag": headers["etag"],
                           "bytes": 64 * GIB, "sha256": "0" * 64}).encode()
        with running.raw() as sock:
            sock.sendall(b"POST /api/v1/receipts HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            wait_until(lambda: _blocked_in("wait_digest"), what="the receipt to wait")
            started = time.monotonic()
            running.server.stop()
            assert time.monotonic() - started < 2.0
            assert filecast_threads() == []
            answer = read_response(sock, timeout=5)
            assert answer.status in (503, None)


def test_over_max_connections_the_longest_idle_gives_way(tmp_path: Path) -> None:
    """Idle connections no longer make a newcomer wait (issue 9); 503 is for a server full
    of work (tests/test_limits.py)."""
    with serving(tmp_path, offered(tmp_path, {"test.txt": b"Hello world"}),
                 max_connections=2) as running:
        idle = [running.raw(), running.raw()]
        try:
            running.recorder.wait_count(ClientConnected, 2)
            time.sleep(1.2)  # idle past the moment a connection has to send its request
            status, _, body = download(running, "test.txt")
            assert (status, body) == (200, b"Hello world")
            assert read_response(idle[0], timeout=5).raw == b""  # closed to make room
        finally:
            for sock in idle:
                sock.close()


# --- a file that changes while offered --------------------------------------------------


def test_changed_file_gets_new_etag_and_digest(tmp_path: Path) -> None:
    (path,) = offered(tmp_path, {"doc.txt": b"first version"})
    with serving(tmp_path, [path]) as running:
        status, before = head(running, "doc.txt")
        assert status == 200
        assert parse_repr_digest(before["repr-digest"]) == sha256(b"first version")

        new = b"the second, longer version of the document"
        path.write_bytes(new)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

        status, after = head(running, "doc.txt")
        assert status == 200
        assert after["etag"] != before["etag"]
        assert after["content-length"] == str(len(new))
        hashed = wait_until(lambda: (h := head(running, "doc.txt")[1]).get("repr-digest") and h,
                            what="the re-hash")
        assert parse_repr_digest(hashed["repr-digest"]) == sha256(new)
        assert hashed["etag"] == after["etag"]

        status, headers, body = download(running, "doc.txt")
        assert (status, body) == (200, new)
        assert parse_repr_digest(headers["repr-digest"]) == sha256(body)
        status, answer = post_json(running, "/api/v1/receipts", {
            "file": "doc.txt", "etag": headers["etag"], "bytes": len(body),
            "sha256": sha256(body)})
        assert (status, answer["verified"]) == (200, True)
        status, answer = post_json(running, "/api/v1/receipts", {
            "file": "doc.txt", "etag": before["etag"], "bytes": 13,
            "sha256": sha256(b"first version")})
        assert status == 409


# --- one visit, one connection -----------------------------------------------------------


def test_keep_alive_visit_is_one_client(tmp_path: Path) -> None:
    data = b"Hello world"
    with serving(tmp_path, offered(tmp_path, {"test.txt": data})) as running:
        conn = running.connect()
        conn.request("GET", "/api/v1/offer")
        response = conn.getresponse()
        offer = json.loads(response.read())
        assert response.status == 200 and offer["files"][0]["name"] == "test.txt"
        wait_until(lambda: running.recorder.of(OfferSent), what="OfferSent")
        conn.request("HEAD", file_path("test.txt"))
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        conn.request("GET", file_path("test.txt"))
        response = conn.getresponse()
        assert response.read() == data
        conn.request("POST", "/api/v1/decisions", body=json.dumps(
            {"version": 1, "file": "test.txt", "decision": "declined"}).encode(),
            headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        local_port = conn.sock.getsockname()[1]
        conn.close()

        (gone,) = running.recorder.wait_count(ClientDisconnected, 1)
        (came,) = running.recorder.of(ClientConnected)
        assert came.client.key == gone.client.key
        assert came.client.address == ("127.0.0.1", local_port)
        (sent,) = running.recorder.of(OfferSent)
        assert sent.client.key == came.client.key
        events = running.recorder.events
        keys = {e.client.key for e in events if hasattr(e, "client")}
        assert keys == {came.client.key}
        assert events.index(sent) < events.index(gone)
        running.wait_lines("downloaded the file 'test.txt'")
        running.wait_lines("did not download the file 'test.txt'")
        ports = {r["port"] for r in running.ledger_records()}
        assert ports == {local_port}


def test_http10_keep_alive_is_said_and_kept(tmp_path: Path) -> None:
    """ab -k and other HTTP/1.0 clients ask for keep-alive; the answer must say it was
    granted (RFC 9112 §9.3), or they wait for a close that never comes."""
    offered = write_file(tmp_path, "test.txt", b"hello world")
    with serving(tmp_path, [offered]) as running, running.raw() as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(b"GET /files/test.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            answer = reader.response()
            assert answer.status == 200 and answer.body == b"hello world"
            assert answer.headers.get("connection", "").lower() == "keep-alive"


def test_http10_without_keep_alive_is_closed(tmp_path: Path) -> None:
    offered = write_file(tmp_path, "test.txt", b"hello world")
    with serving(tmp_path, [offered]) as running, running.raw() as sock:
        sock.sendall(b"GET /files/test.txt HTTP/1.0\r\n\r\n")
        answer = Reader(sock).response()
        assert answer.status == 200 and answer.body == b"hello world"
        assert answer.headers.get("connection", "").lower() == "close"
        assert sock.recv(1) == b""
