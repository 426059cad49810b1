"""A server that lies to Filecast's client: for client tests against hostile input.

Raw sockets on 127.0.0.1 (port 0), one thread per connection, keep-alive. By default it
answers like a correct Filecast server for ``files``; each knob in :class:`Lies` makes one
answer wrong in one way (a wrong length, a wrong digest, a body longer or shorter than
promised, a hostile Content-Disposition, a 206 for a range nobody asked for, silence...).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from core.wire.protocol import make_etag
from core.wire.ranges import RangeNotSatisfiable, parse_range

MTIME_NS = 1_795_000_000 * 10**9
NOT_READY = b'{"version": 1, "error": {"code": "not_ready", "message": "still hashing"}}'


@dataclass
class Lies:
    """What the server gets wrong; all off means a correct server."""

    length_delta: int = 0  # Content-Length of a GET body is off by this much
    extra_body: bytes = b""  # bytes sent after the body (longer than promised)
    short_by: int = 0  # the body stops this many bytes early, then the connection closes
    digest_of: bytes | None = None  # advertise the SHA-256 of these bytes instead
    no_digest: bool = False  # no Repr-Digest, sha256 null: verification by receipt only
    receipt_status: int = 200
    receipt_verified: bool | None = None  # None: compare honestly
    disposition: str | None = None  # Content-Disposition to send with HEAD and GET
    range_shift: int | None = None  # answer every GET with 206 starting this much later
    silent: bool = False  # read requests, never answer
    stall_after: int | None = None  # send this many body bytes, then hang (open, silent)
    offer_body: bytes | None = None  # the raw offer body instead of the real one
    offer_claims: int | None = None  # claim this Content-Length and stream zeros for it
    endless_headers: bool = False  # header lines forever
    receipt_body: bytes | None = None  # the raw receipt answer
    # issue 9
    receipt_code: str = "not_ready"  # the error code of a receipt_status other than 200
    not_ready_times: int = 0  # answer this many receipts 503 not_ready first (Retry-After 1)
    receipt_delay: float = 0.0  # hold each receipt this long before answering
    both_framings: bool = False  # GET bodies: Content-Length and chunked, then endless chunks
    endless_chunks: bool = False  # the offer: chunked, endless chunks
    endless_continue: bool = False  # every answer: "100 Continue" heads, forever
    trickle: float | None = None  # every answer: one byte per this many seconds
    other_version: bytes | None = None  # GET (not HEAD) serves these bytes, their own ETag
    # issue 12
    archive: bytes | None = None  # the raw answer body to POST /api/v1/archive


@dataclass
class Seen:
    """One request the hostile server read."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HostileServer:
    """Serves ``files`` with the lies in ``self.lies``."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.lies = Lies()
        self.seen: list[Seen] = []
        # called with each request as it arrives, before the answer (it may change the lies)
        self.on_request: Callable[[Seen], None] | None = None
        self.body_bytes_sent = 0
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listen = socket.create_server(("127.0.0.1", 0))
        self._listen.settimeout(0.05)
        self.port: int = self._listen.getsockname()[1]
        threading.Thread(target=self._accept, name="hostile-accept", daemon=True).start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._listen.close()
        with self._lock:
            for sock in self._socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def etag(self, name: str) -> str:
        return make_etag(len(self.files[name]), MTIME_NS)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listen.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), name="hostile-conn",
                             daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip()
                           for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += sock.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.seen.append(Seen(method, path, headers, body))
                if self.on_request is not None:
                    self.on_request(self.seen[-1])
                if self.lies.silent:
                    continue
                if not self._answer(sock, Seen(method, path, headers, body)):
                    sock.shutdown(socket.SHUT_RDWR)
                    return

    def _send(self, sock: socket.socket, status: str, headers: list[tuple[str, str]],
              body: bytes = b"") -> None:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
        if self.lies.endless_continue:
            while not self._stop.is_set():  # RFC 9110 §15.2: any number of 1xx may come first
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 100)
                time.sleep(0.001)
        if self.lies.endless_headers:
            sock.sendall(("\r\n".join(lines) + "\r\n").encode())
            while not self._stop.is_set():
                sock.sendall(b"X-More: " + b"m" * 100 + b"\r\n")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if self.lies.trickle is not None:
            for at in range(len(data)):
                if self._stop.wait(self.lies.trickle):
                    return
                sock.sendall(data[at : at + 1])
            return
        sock.sendall(data)

    def _endless_chunks(self, sock: socket.socket, status: str,
                        headers: list[tuple[str, str]]) -> None:
        """A chunked body that never ends (issue 9: 8.4 GB of client memory in 60 s)."""
        self._send(sock, status, [*headers, ("Transfer-Encoding", "chunked")])
        chunk = b"10000\r\n" + b"z" * 0x10000 + b"\r\n"
        while not self._stop.is_set():
            sock.sendall(chunk)
            self.body_bytes_sent += 0x10000

    def _json(self, sock: socket.socket, status: str, body: bytes) -> None:
        self._send(sock, status, [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))], body)

    def _answer(self, sock: socket.socket, request: Seen) -> bool:
        """Answer one request; False to close the connection."""
        lies = self.lies
        if request.path == "/api/v1/offer":
            return self._offer(sock)
        if request.path == "/api/v1/receipts":
            self._stop.wait(lies.receipt_delay)
            if lies.not_ready_times > 0:
                lies.not_ready_times -= 1
                self._send(sock, "503 Service Unavailable", [
                    ("Content-Type", "application/json"), ("Retry-After", "1"),
                    ("Content-Length", str(len(NOT_READY)))], NOT_READY)
                return True
            receipt = json.loads(request.body)
            if "receipts" in receipt:  # a list of them (issue 12): each taken at its word
                self._json(sock, "200 OK", json.dumps({"version": 1, "results": [
                    "verified" for _ in receipt["receipts"]]}).encode())
                return True
            data = self.files.get(receipt["file"], b"")
            verified = (receipt["sha256"] == hashlib.sha256(data).hexdigest()
                        if lies.receipt_verified is None else lies.receipt_verified)
            body = lies.receipt_body or json.dumps(
                {"version": 1, "verified": verified,
                 "sha256": hashlib.sha256(data).hexdigest()}).encode()
            if lies.receipt_status != 200:
                body = json.dumps({"version": 1, "error": {
                    "code": lies.receipt_code, "message": "busy"}}).encode()
            self._json(sock, f"{lies.receipt_status} X", body)
            return True
        if request.path == "/api/v1/archive":
            if lies.archive is None:
                self._json(sock, "404 Not Found", b'{"version": 1, "error": {"code":'
                           b' "not_found", "message": "no"}}')
                return True
            self._send(sock, "200 OK", [("Content-Type", "application/x-tar"),
                                        ("Content-Length", str(len(lies.archive)))],
                       lies.archive)
            return True
        if request.path == "/api/v1/decisions":
            self._json(sock, "200 OK", b'{"version": 1, "recorded": true}')
            return True
        name = unquote(request.path.removeprefix("/files/"))
        if name not in self.files:
            self._json(sock, "404 Not Found",
                       b'{"version": 1, "error": {"code": "not_offered", "message": "no"}}')
            return True
        return self._file(sock, request, name)

    def _offer(self, sock: socket.socket) -> bool:
        lies = self.lies
        if lies.endless_chunks:
            self._endless_chunks(sock, "200 OK", [("Content-Type", "application/json")])
            return False
        if lies.offer_claims is not None:
            self._send(sock, "200 OK", [("Content-Type", "application/json"),
                                        ("Content-Length", str(lies.offer_claims))])
            zeros = b"0" * 65536
            left = lies.offer_claims
            while left > 0 and not self._stop.is_set():
                sock.sendall(zeros[:left])
                self.body_bytes_sent += min(left, len(zeros))
                left -= len(zeros)
            return False
        body = lies.offer_body or json.dumps({
            "version": 1, "server": "Hostile/1", "name": "hostile", "message": "hello",
            "files": [{"name": n, "size": len(d), "sha256": self._digest(d),
                       "modified": "2026-11-30T06:21:02Z", "etag": self.etag(n),
                       "url": "/files/x"} for n, d in self.files.items()]}).encode()
        self._json(sock, "200 OK", body)
        return True

    def _digest(self, data: bytes) -> str | None:
        if self.lies.no_digest:
            return None
        return hashlib.sha256(self.lies.digest_of if self.lies.digest_of is not None
                              else data).hexdigest()

    def _file(self, sock: socket.socket, request: Seen, name: str) -> bool:
        lies, data = self.lies, self.files[name]
        etag = self.etag(name)
        if lies.other_version is not None and request.method == "GET":
            data, etag = lies.other_version, make_etag(len(lies.other_version), MTIME_NS + 1)
        start, status = 0, "200 OK"
        try:
            wanted = parse_range(request.headers.get("range"), len(data))
        except RangeNotSatisfiable:
            self._send(sock, "416 Range Not Satisfiable", [("Content-Length", "0")])
            return True
        if wanted is not None and request.headers.get("if-range") == etag:
            start, status = wanted.start, "206 Partial Content"
        if lies.range_shift is not None and request.method == "GET":
            start, status = min(len(data) - 1, start + lies.range_shift), "206 Partial Content"
        headers = [("ETag", etag), ("Last-Modified", "Mon, 30 Nov 2026 06:21:02 GMT"),
                   ("Accept-Ranges", "bytes"), ("Content-Type", "application/octet-stream"),
                   ("Content-Length", str(len(data) - start + lies.length_delta))]
        if status.startswith("206"):
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
        digest = self._digest(data)
        if digest is not None:
            raw = base64.b64encode(bytes.fromhex(digest)).decode()
            headers.append(("Repr-Digest", f"sha-256=:{raw}:"))
        if lies.disposition is not None:
            headers.append(("Content-Disposition", lies.disposition))
        if request.method == "HEAD":
            self._send(sock, status, headers)
            return True
        body = data[start:]
        if lies.both_framings:
            self._endless_chunks(sock, status, headers)
            return False
        if lies.stall_after is not None:
            self._send(sock, status, headers, body[:lies.stall_after])
            self.body_bytes_sent += min(lies.stall_after, len(body))
            # Hang, open and silent, until the client hangs up (or, when that was the whole
            # body, asks something else: then serve it).
            sock.settimeout(60)
            try:
                return bool(sock.recv(1, socket.MSG_PEEK)) and lies.stall_after >= len(body)
            except TimeoutError:
                return False
        if lies.short_by:
            self._send(sock, status, headers, body[:max(0, len(body) - lies.short_by)])
            return False
        self._send(sock, status, headers, body + lies.extra_body)
        self.body_bytes_sent += len(body)
        return lies.length_delta == 0 and not lies.extra_body


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

