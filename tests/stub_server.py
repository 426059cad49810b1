"""A small Filecast server for client tests, with knobs for misbehaviour.

Speaks docs/PROTOCOL.md with the standard library's http.server on 127.0.0.1, port 0, in a
thread. It is deliberately independent of core/server/listening.py so client tests stand alone.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from core.wire.protocol import (
    FileInfo,
    Offer,
    dump_json,
    error_body,
    http_date,
    iso_utc,
    load_json,
    make_etag,
    offer_json,
    repr_digest,
)
from core.wire.ranges import if_range_allows, parse_range

MTIME = 1_795_000_000.0


@dataclass
class Knobs:
    """How the stub misbehaves; tests change these between requests."""

    cuts: list[int] = field(default_factory=list)  # each GET body pops one: stop after N bytes
    omit_digest: bool = False  # no Repr-Digest and sha256 null, as while hashing
    wrong_digest: bool = False  # advertise a digest of other bytes
    bad_content_range: bool = False  # a 206 whose Content-Range starts one byte late
    ignore_range: bool = False  # answer a Range with the whole file
    throttle: float = 0.0  # seconds to sleep between 64 KiB chunks
    receipt_status: int = 200
    idle_close: bool = False  # close the connection after each answer without saying so
    drop_reused: bool = False  # once: close, unanswered, a request on a used connection


@dataclass(frozen=True)
class Request:
    """One request as the stub saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int


class StubServer:
    """Serves ``files`` (name → bytes) on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, files: dict[str, bytes]) -> None:
        """Bind to a free port and start serving in a daemon thread."""
        self.files = dict(files)
        self.etag_version = 0
        self.knobs = Knobs()
        self.requests: list[Request] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.stub = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def etag(self, name: str) -> str:
        """The current ETag of a file (bump ``etag_version`` to 'change' it)."""
        return make_etag(len(self.files[name]), int(MTIME * 1e9) + self.etag_version)

    def digest(self, name: str) -> str | None:
        """The SHA-256 the stub advertises for ``name`` under the current knobs."""
        if self.knobs.omit_digest:
            return None
        data = self.files[name] + (b"!" if self.knobs.wrong_digest else b"")
        return hashlib.sha256(data).hexdigest()

    def offer(self) -> Offer:
        """The offer body as the stub currently sees its files."""
        files = tuple(
            FileInfo(name, len(data), self.digest(name), iso_utc(MTIME), self.etag(name))
            for name, data in self.files.items()
        )
        return Offer("Stub/1", "stub", "Enter 'test.txt' when prompted...", files)

    def of(self, method: str) -> list[Request]:
        """The requests seen with ``method``."""
        return [r for r in self.requests if r.method == method]


class _Server(ThreadingHTTPServer):
    """Daemon handler threads; a client hanging up mid-body is expected, not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: tests cut and cancel connections on purpose."""


class _Handler(BaseHTTPRequestHandler):
    """Routes the few paths of docs/PROTOCOL.md."""

    protocol_version = "HTTP/1.1"
    server: Any

    def setup(self) -> None:
        """Count connections (one per visit for Filecast's own client)."""
        super().setup()
        with self.stub.lock:
            self.stub.connections += 1
            self.number = self.stub.connections

    @property
    def stub(self) -> StubServer:
        """The StubServer this handler serves."""
        return self.server.stub  # type: ignore[no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _dropped(self) -> bool:
        """Play the keep-alive race (RFC 9112 §9.3.1): the server closed as the request came."""
        served = getattr(self, "served", 0)
        self.served = served + 1
        if served and self.stub.knobs.drop_reused:
            self.stub.knobs.drop_reused = False
            self.close_connection = True
            return True
        return False

    def _record(self) -> bytes:
        """Read the body and remember the request."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.stub.lock:
            self.stub.requests.append(Request(self.command, self.path, dict(self.headers.items()),
                                              body, self.number))
        return body

    def _json(self, status: int, body: bytes) -> None:
        """Send a JSON answer."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = self.close_connection or self.stub.knobs.idle_close

    def do_GET(self) -> None:
        """The offer or a file."""
        if self._dropped():
            return
        self._record()
        if self.path == "/api/v1/offer":
            self._json(200, offer_json(self.stub.offer()))
        elif self.path.startswith("/files/"):
            self._file(unquote(self.path[len("/files/"):]))
        else:
            self._json(404, error_body("not_found", "No such page."))

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """Decisions and receipts."""
        if self._dropped():
            return
        body = load_json(self._record())
        name = body.get("file")
        if name not in self.stub.files:
            self._json(404, error_body("not_offered", f"'{name}' is not offered."))
        elif self.path == "/api/v1/decisions":
            self._json(200, dump_json({"recorded": True}))
        elif self.path == "/api/v1/receipts":
            self._receipt(str(name), body)
        else:
            self._json(404, error_body("not_found", "No such page."))

    def _receipt(self, name: str, body: dict[str, Any]) -> None:
        """Answer a receipt by comparing with the true digest."""
        status = self.stub.knobs.receipt_status
        if body.get("etag") != self.stub.etag(name):
            status = 409
        if status != 200:
            self._json(status, error_body("changed", "The file changed."))
            return
        true = hashlib.sha256(self.stub.files[name]).hexdigest()
        self._json(200, dump_json({"verified": body.get("sha256") == true, "sha256": true}))

    def _file(self, name: str) -> None:
        """HEAD or GET of an offered file, with ranges and the misbehaviour knobs."""
        stub, knobs = self.stub, self.stub.knobs
        if name not in stub.files:
            self._json(404, error_body("not_offered", f"'{name}' is not offered."))
            return
        data, etag = stub.files[name], stub.etag(name)
        last_modified = http_date(MTIME)
        wanted = None
        if not knobs.ignore_range and if_range_allows(self.headers.get("If-Range"), etag,
                                                      last_modified):
            wanted = parse_range(self.headers.get("Range"), len(data))
        start = wanted.start if wanted else 0
        self.send_response(206 if wanted else 200)
        if wanted:
            shown = start + 1 if knobs.bad_content_range else start
            self.send_header("Content-Range", f"bytes {shown}-{wanted.end}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.send_header("Accept-Ranges", "bytes")
        digest = stub.digest(name)
        if digest is not None:
            self.send_header("Repr-Digest", repr_digest(digest))
        self.end_headers()
        if self.command == "GET":
            self._body(data[start:], knobs.cuts.pop(0) if knobs.cuts else None)
        self.close_connection = self.close_connection or knobs.idle_close

    def _body(self, body: bytes, cut: int | None) -> None:
        """Send the body, or only ``cut`` bytes of it and then drop the connection."""
        limit = len(body) if cut is None else min(cut, len(body))
        chunk = 64 * 1024
        for at in range(0, limit, chunk):
            self.wfile.write(body[at : min(limit, at + chunk)])
            if self.stub.knobs.throttle:
                time.sleep(self.stub.knobs.throttle)
        if cut is not None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

