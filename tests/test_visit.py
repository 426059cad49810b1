"""The client side of a visit against tests/stub_server.py: real sockets, real files."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stub_server import StubServer

from core import DEFAULT_PORT
from core.client.visit import FilecastClient, parse_server
from core.errors import (
    CancelledError,
    ConnectError,
    DigestMismatchError,
    NotOfferedError,
    ProtocolError,
    ServerGoneError,
    UnverifiedError,
)
from core.events import DownloadProgress, DownloadRetrying, DownloadVerifying, Event

MIB = 1024 * 1024
BIG = os.urandom(3 * MIB)
FILES = {
    "test.txt": b"hello world",
    "empty.bin": b"",
    "one.bin": b"x",
    "big.bin": BIG,
    "Résumé de l'été 2026.pdf": "dépôt ✓".encode() * 1000,
}


class Recorder:
    """A listener that keeps every event."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        """Keep it."""
        self.events.append(event)

    def of(self, kind: type) -> list[Event]:
        """The events of one type."""
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A fresh stub server per test."""
    server = StubServer(FILES)
    yield server
    server.stop()


def make_client(stub: StubServer, **kwargs: object) -> FilecastClient:
    """A client for the stub with fast retries."""
    options: dict[str, object] = {"client_id": "test-client-0001", "name": "Zoë", "backoff": 0.01}
    options.update(kwargs)
    return FilecastClient("127.0.0.1", stub.port, **options)  # type: ignore[arg-type]


def test_parse_server() -> None:
    assert parse_server("host") == ("host", DEFAULT_PORT)
    assert parse_server(" host:5002 ") == ("host", 5002)
    assert parse_server("[::1]:5002") == ("::1", 5002)
    assert parse_server("::1") == ("::1", DEFAULT_PORT)
    assert parse_server("http://192.168.1.20:5002/") == ("192.168.1.20", 5002)
    for garbage in ("", "host:port", "host:70000", "a b", "https://host", "http://:80", "ho/st"):
        with pytest.raises(ValueError, match=r"\."):
            parse_server(garbage)


@pytest.mark.parametrize("name", list(FILES))
def test_download_byte_for_byte(stub: StubServer, tmp_path: Path, name: str) -> None:
    recorder = Recorder()
    with make_client(stub, listener=recorder) as client:
        offer = client.connect()
        assert offer.find(name) is not None
        info = client.check(name)
        assert info.size == len(FILES[name])
        result = client.download(name, tmp_path, info=info)
    assert result.path == tmp_path.resolve() / name
    assert result.path.read_bytes() == FILES[name]
    assert result.sha256 == hashlib.sha256(FILES[name]).hexdigest()
    assert result.verified and result.resumed_from == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert recorder.of(DownloadVerifying)
    last = recorder.of(DownloadProgress)[-1]
    assert isinstance(last, DownloadProgress) and last.received == len(FILES[name])


def test_visit_uses_one_connection_and_identifies_itself(stub: StubServer, tmp_path: Path) -> None:
    with make_client(stub) as client:
        client.connect()
        client.check("test.txt")
        client.download("big.bin", tmp_path)
        client.decline("test.txt")
    assert stub.connections == 1
    assert {r.connection for r in stub.requests} == {1}
    for request in stub.requests:
        assert request.headers["X-Filecast-Client-Id"] == "test-client-0001"
        assert request.headers["X-Filecast-Client-Name"] == "Zo%C3%AB"
        assert request.headers["User-Agent"].startswith("Filecast/")
    assert [r.method for r in stub.requests] == ["GET", "HEAD", "HEAD", "GET", "POST", "POST"]


def test_check_missing_name(stub: StubServer) -> None:
    with make_client(stub) as client, pytest.raises(NotOfferedError, match="File does not exist!"):
        client.check("passwd")


def test_decline_posts_the_decision(stub: StubServer) -> None:
    with make_client(stub) as client:
        client.decline("test.txt")
    (post,) = stub.of("POST")
    assert post.path == "/api/v1/decisions"
    assert post.body == b'{"version": 1, "file": "test.txt", "decision": "declined"}'


def test_resume_after_a_cut(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.cuts = [MIB]
    recorder = Recorder()
    with make_client(stub, listener=recorder) as client:
        result = client.download("big.bin", tmp_path)
    assert result.path.read_bytes() == BIG and result.verified
    first, second = stub.of("GET")
    assert "Range" not in first.headers
    assert second.headers["Range"] == f"bytes={MIB}-"
    assert second.headers["If-Range"] == stub.etag("big.bin")
    assert len(recorder.of(DownloadRetrying)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


def test_resume_in_a_later_visit(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.cuts = [MIB + 5]
    with make_client(stub, retries=0) as client, pytest.raises(ServerGoneError) as gone:
        client.download("big.bin", tmp_path)
    assert "after 1.0 MB of 3.1 MB (33%)" in str(gone.value) and "Retry" in str(gone.value)
    assert (tmp_path / "big.bin.part").stat().st_size == MIB + 5
    with make_client(stub) as client:
        result = client.download("big.bin", tmp_path)
    assert result.resumed_from == MIB + 5 and result.verified
    assert result.path.read_bytes() == BIG


def test_changed_file_starts_over(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.cuts = [MIB]
    with make_client(stub, retries=0) as client, pytest.raises(ServerGoneError):
        client.download("big.bin", tmp_path)
    stub.etag_version += 1  # the file changed: If-Range fails and the whole file comes
    with make_client(stub) as client:
        result = client.download("big.bin", tmp_path)
    assert result.resumed_from == 0 and result.path.read_bytes() == BIG


def test_wrong_digest_saves_nothing(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.wrong_digest = True
    with make_client(stub) as client, pytest.raises(DigestMismatchError, match="damaged"):
        client.download("test.txt", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_digest_verifies_by_receipt(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.omit_digest = True
    with make_client(stub) as client:
        result = client.download("test.txt", tmp_path)
    assert result.verified and result.path.read_bytes() == b"hello world"
    (receipt,) = stub.of("POST")
    assert receipt.path == "/api/v1/receipts" and b'"sha256"' in receipt.body


def test_no_digest_and_no_confirmation_is_not_saved(stub: StubServer, tmp_path: Path) -> None:
    # issue 5: nothing unverified under the final name; the complete part waits for Retry
    stub.knobs.omit_digest = True
    stub.knobs.receipt_status = 503
    with make_client(stub) as client, pytest.raises(UnverifiedError, match="Retry"):
        client.download("test.txt", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".test.txt.part.json", "test.txt.part"]
    stub.knobs.receipt_status = 200
    with make_client(stub) as client:
        result = client.download("test.txt", tmp_path)
    assert result.verified and result.path.read_bytes() == b"hello world"


def test_wrong_content_range_saves_nothing(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.cuts = [MIB]
    with make_client(stub, retries=0) as client, pytest.raises(ServerGoneError):
        client.download("big.bin", tmp_path)
    stub.knobs.bad_content_range = True
    with make_client(stub) as client, pytest.raises(ProtocolError, match="different part"):
        client.download("big.bin", tmp_path)
    assert not (tmp_path / "big.bin").exists()


def test_refused_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = FilecastClient("127.0.0.1", port)
    with pytest.raises(ConnectError, match=f"port {port} open"):
        client.connect()


def test_not_a_filecast_server() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        threading.Thread(target=_answer_html, args=(listener,), daemon=True).start()
        with pytest.raises(ProtocolError, match="not a Filecast server"):
            FilecastClient("127.0.0.1", port).connect()


def _answer_html(listener: socket.socket) -> None:
    """Play a web server that knows nothing of Filecast."""
    conn, _ = listener.accept()
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!")


def test_cancel_from_another_thread_keeps_the_part(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.throttle = 0.02  # ~3 MB/s: long enough to cancel mid-body
    started = threading.Event()

    class Watcher(Recorder):
        def on_event(self, event: Event) -> None:
            super().on_event(event)
            if isinstance(event, DownloadProgress) and event.received > 256 * 1024:
                started.set()

    client = make_client(stub, listener=Watcher())

    def cancel_when_started() -> None:
        if started.wait(5):
            client.cancel()

    threading.Thread(target=cancel_when_started, daemon=True).start()
    with pytest.raises(CancelledError, match="kept"):
        client.download("big.bin", tmp_path)
    assert 0 < (tmp_path / "big.bin.part").stat().st_size < len(BIG)
    assert (tmp_path / ".big.bin.part.json").exists()
    assert not (tmp_path / "big.bin").exists()
    stub.knobs.throttle = 0
    result = client.download("big.bin", tmp_path)  # the cancel was consumed; resume works
    assert result.resumed_from > 0 and result.path.read_bytes() == BIG
    client.close()


def test_reconnects_when_the_server_closed_the_idle_connection(stub: StubServer) -> None:
    stub.knobs.idle_close = True  # every answer is followed by an unannounced close
    with make_client(stub) as client:
        client.connect()
        client.check("test.txt")
        client.decline("test.txt")
    assert stub.connections == 3


def test_resends_once_when_the_server_closed_as_the_request_came(stub: StubServer) -> None:
    with make_client(stub) as client:
        client.connect()
        stub.knobs.drop_reused = True
        client.decline("test.txt")
    assert stub.connections == 2
    assert [r.path for r in stub.of("POST")] == ["/api/v1/decisions"]


def test_cancel_during_backoff_is_immediate(stub: StubServer, tmp_path: Path) -> None:
    stub.knobs.cuts = [MIB]

    class CancelOnRetry(Recorder):
        def on_event(self, event: Event) -> None:
            super().on_event(event)
            if isinstance(event, DownloadRetrying):
                threading.Timer(0.05, client.cancel).start()

    client = make_client(stub, listener=CancelOnRetry(), backoff=30.0)
    began = time.monotonic()
    with pytest.raises(CancelledError):
        client.download("big.bin", tmp_path)
    assert time.monotonic() - began < 5
    assert (tmp_path / "big.bin.part").stat().st_size == MIB


def test_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections in the backlog, never answers
        port = listener.getsockname()[1]
        with pytest.raises(ConnectError, match=r"did not answer within 0\.3 seconds"):
            FilecastClient("127.0.0.1", port, timeout=0.3).connect()


def test_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no DNS needed in CI
    with pytest.raises(ConnectError, match=r"'no-such-host\.invalid' could not be found"):
        FilecastClient("no-such-host.invalid", 5001).connect()
