"""Helpers for tests that run a real FilecastServer on 127.0.0.1 (port 0) over real sockets.

Import from test modules (``from serverkit import serving, ...``); nothing here is a pytest
plugin, so ``conftest.py`` stays free for other fixtures.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from core.events import ServerEvent
from core.server import FilecastServer, ServerConfig
from core.server.delivery import DeliveryBook
from core.server.ledger import Ledger, LedgerEntry
from core.server.offer import OfferTable
from core.server.origin import HostNames
from core.server.sendfile_loop import SendfileLoop
from core.wire.protocol import file_path

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")
E = TypeVar("E")

DEADLINE = 15.0


def wait_until(check: Callable[[], T], timeout: float = DEADLINE, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def filecast_threads() -> list[threading.Thread]:
    """Threads the engine started that are still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("filecast-") and t.is_alive()]


class Recorder:
    """A listener that keeps every event, in order, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[ServerEvent] = []

    def on_event(self, event: ServerEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[ServerEvent]:
        with self._lock:
            return list(self._events)

    def of(self, kind: type[E]) -> list[E]:
        """Every recorded event of one type."""
        return [e for e in self.events if isinstance(e, kind)]

    def wait_count(self, kind: type[E], count: int, timeout: float = DEADLINE) -> list[E]:
        """Wait until at least ``count`` events of ``kind`` were recorded."""
        def found() -> list[E] | None:
            events = self.of(kind)
            return events if len(events) >= count else None

        return wait_until(found, timeout, f"{count} {kind.__name__} events")


@dataclass
class Running:
    """A started server and what a test needs to talk to it and inspect its records."""

    server: FilecastServer
    offer: OfferTable
    ledger: Ledger
    recorder: Recorder
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, name: str) -> str:
        """The full URL of an offered (or any) file name."""
        return f"http://127.0.0.1:{self.port}{file_path(name)}"

    def connect(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        """A new http.client connection to the server."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def raw(self, timeout: float = 10.0) -> socket.socket:
        """A new plain TCP connection to the server."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def ledger_lines(self) -> list[str]:
        """Clients.txt as lines."""
        return self.ledger.txt_path.read_text(encoding="utf-8").splitlines()

    def ledger_records(self) -> list[dict[str, Any]]:
        """Clients.jsonl parsed, one dict per line."""
        text = self.ledger.jsonl_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    def lines_with(self, text: str) -> list[str]:
        """Ledger lines containing ``text``."""
        return [line for line in self.ledger_lines() if text in line]

    def wait_lines(self, text: str, count: int = 1, timeout: float = DEADLINE) -> list[str]:
        """Wait until at least ``count`` ledger lines contain ``text``."""
        def found() -> list[str] | None:
            lines = self.ledger_lines()
            if len(self.ledger_records()) < len(lines):
                return None  # Clients.jsonl is written just after Clients.txt
            matching = [line for line in lines if text in line]
            return matching if len(matching) >= count else None

        return wait_until(found, timeout, f"{count} ledger line(s) with {text!r}")

    def wait_hashed(self, timeout: float = DEADLINE) -> None:
        """Wait until every offered file has its digest."""
        wait_until(lambda: all(f.sha256 is not None for f in self.offer.state.files),
                   timeout, "the offer to be hashed")


def write_file(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name``."""
    path = folder / name
    path.write_bytes(data)
    return path


@contextlib.contextmanager
def serving(tmp_path: Path, files: Sequence[Path], *, wait_hashed: bool = True,
            **config: Any) -> Iterator[Running]:
    """Start a server offering ``files`` with a ledger in ``tmp_path``; always stop it."""
    recorder = Recorder()
    offer = OfferTable(list(files), listener=recorder, server_name="test-server")
    ledger = Ledger(tmp_path / "ledger" / "Clients.txt")
    settings = {"host": "127.0.0.1", "port": 0, **config}
    server = FilecastServer(offer, ledger, recorder, ServerConfig(**settings))
    server.start()
    running = Running(server, offer, ledger, recorder, tmp_path,
                      {os.path.basename(p): Path(p) for p in files})
    try:
        if wait_hashed:
            running.wait_hashed()
        yield running
    finally:
        server.close()
        ledger.close()
        offer.close()


@dataclass
class RawResponse:
    """What came back on a raw socket: a status (None if the server just closed) and bytes."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    raw: bytes


class Reader:
    """Reads responses one after another from a raw socket, keeping what is read ahead."""

    def __init__(self, sock: socket.socket, timeout: float = 10.0) -> None:
        self.sock = sock
        self.buffer = b""
        sock.settimeout(timeout)

    def _more(self) -> bool:
        """Read some bytes into the buffer; False at end of stream or reset."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, head_request: bool = False) -> RawResponse:
        """The next response (head plus Content-Length body), or what came before close."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                data, self.buffer = self.buffer, b""
                return RawResponse(_status(data), {}, b"", data)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = _status(head)
        length = 0 if head_request or status == 304 else int(headers.get("content-length", "0"))
        while len(self.buffer) < length and self._more():
            pass
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawResponse(status, headers, body, head + b"\r\n\r\n" + body)


def read_response(sock: socket.socket, *, head_request: bool = False,
                  timeout: float = 10.0) -> RawResponse:
    """Read one response from a raw socket (anything read beyond it is dropped)."""
    return Reader(sock, timeout).response(head_request=head_request)


def _status(data: bytes) -> int | None:
    """The status code of a response head, if it has one."""
    parts = data.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def exchange(port: int, request: bytes, *, head_request: bool = False,
             timeout: float = 10.0) -> RawResponse:
    """Send raw bytes on a fresh connection and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # the server may refuse before taking everything; then read what it said
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return read_response(sock, head_request=head_request, timeout=timeout)


def download(running: Running, name: str, *,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET a file on a fresh connection: status, headers (lower-case names) and body."""
    conn = running.connect(timeout=30.0)
    try:
        conn.request("GET", file_path(name), headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


class Background:
    """Run a function in a thread and keep its result or exception for the test to check."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._target = target
        self._thread = threading.Thread(target=self._run, name="test-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._target()
        except BaseException as exc:  # reported to the test by join()
            self.error = exc

    def join(self, timeout: float = 60.0) -> Any:
        """The result; re-raises the thread's exception; AssertionError if still running."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("background work did not finish in time")
        if self.error is not None:
            raise self.error
        return self.result


class ServeProcess:
    """``python -m core serve`` offering files from ``folder``; output read line by line."""

    def __init__(self, folder: Path, names: list[str], ledger: Path | None = None,
                 port: int = 0, offered: list[str] | None = None) -> None:
        """``names`` are the serve command's paths; ``offered`` the names to wait for
        (by default ``names``: a folder's files are named otherwise)."""
        log_file = ["--log-file", str(ledger)] if ledger is not None else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core", "serve", *names, "--host", "127.0.0.1",
             "--port", str(port), *log_file],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # the default ledger goes where these tests look: the serving folder
            env={**os.environ, "PYTHONPATH": str(ROOT), "FILECAST_DATA_DIR": str(folder)})
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.wait_for(r"http://127\.0\.0\.1:(\d+)/").group(1))
        for name in offered if offered is not None else names:
            self.wait_for(rf"Offering '{re.escape(name)}'")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if match := re.search(pattern, line):
                    return match
            try:
                self.lines.append(self._queue.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no line like {pattern!r} in {self.lines}") from None

    def stop(self) -> None:
        """End it the polite way (SIGTERM), as Ctrl-C would."""
        self.proc.terminate()
        self.proc.wait(10)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


class FakeContext:
    """A SessionContext (core/server/context.py) over a real offer, book of downloads and
    sendfile loop, recording ledger entries in a list: drives a Session or a Transfer
    without a listening server."""

    def __init__(self, paths: list[Path], **config: object) -> None:
        settings: dict[str, object] = {"host": "127.0.0.1", "port": 0, "stall_timeout": 2.0,
                                       "head_timeout": 1.0, **config}
        self.config = ServerConfig(**settings)  # type: ignore[arg-type]
        self.offer = OfferTable(paths, server_name="test-server")
        self.deliveries = DeliveryBook()
        self.host_names = HostNames(frozenset())
        self.sendfile_loop = SendfileLoop()
        self.stopping = False
        self.recorder = Recorder()
        self.entries: list[LedgerEntry] = []

    def emit(self, event: object) -> None:
        self.recorder.on_event(event)  # type: ignore[arg-type]

    def record(self, entry: LedgerEntry, *, fold: bool = True) -> None:
        self.entries.append(entry)

    def close_gently(self, sock: socket.socket) -> None:
        sock.close()

    @contextlib.contextmanager
    def body_in_flight(self) -> Iterator[int]:
        yield 1

    def close(self) -> None:
        self.sendfile_loop.close()
        self.offer.close()
