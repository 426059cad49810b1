"""HTTP/1.1 message syntax (RFC 9112) for the server: parse a request head, build a response head.

Pure functions over bytes. Everything a hostile client can send passes through
``parse_request_head`` first, so it is strict: a malformed head is an :class:`HttpError`
(answered 4xx and the connection closed), never an exception from deeper down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 16 * 1024
MAX_FIELDS = 100
MAX_BODY_BYTES = 64 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")
# field-value (RFC 9110 §5.5): visible characters, spaces, tabs and obs-text; no CR/LF/NUL.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Bytes that may not appear in a request line's target or version (controls, DEL).
_BAD_TARGET = re.compile(rb"[\x00-\x1f\x7f]")
_MAX_METHOD = 20  # longer than any registered method ("UPDATEREDIRECTREF" is 17)


class HttpError(Exception):
    """A request the server refuses: answered with ``status`` and a JSON error body."""

    def __init__(self, status: int, code: str, message: str, *, close: bool = True,
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close = close
        self.headers = headers


@dataclass(frozen=True)
class Request:
    """A parsed request head. Header names are lower-case; repeated fields are joined by ', '."""

    method: str
    target: str
    path: str
    query: str
    version: tuple[int, int]
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A header's value by (case-insensitive) name."""
        return self.headers.get(name.lower())

    @property
    def keep_alive(self) -> bool:
        """Whether the connection stays open after the answer (RFC 9112 §9.3)."""
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens


def find_head_end(buffer: bytes | bytearray, start: int = 0) -> int:
    """Index just past the blank line ending the head, or -1 while it is incomplete."""
    index = buffer.find(b"\r\n\r\n", max(0, start - 3))
    return -1 if index < 0 else index + 4


def check_prefix(data: bytes | bytearray) -> None:
    """Refuse at once bytes that can never begin a request (issue 9: random bytes, a TLS
    hello or an SSH banner waited 10 s for a 408, where nginx answers 400 at once).

    ``data`` is what has arrived of a head so far; nothing is raised while it may still
    become a good request. Once the request line is whole it is parsed for real.
    """
    start = 0
    while data[start:start + 2] == b"\r\n":  # RFC 9112 §2.2: empty lines before it
        start += 2
    if data[start:start + 1] == b"\x16":  # a TLS record: the client speaks https://
        raise HttpError(400, "bad_request", "This server speaks plain http://, not https://.")
    end = data.find(b"\n", start)
    line = bytes(data[start:] if end < 0 else data[start:end])
    if end >= 0:
        if not line.endswith(b"\r"):
            raise HttpError(400, "bad_request", "The request line must end with CRLF.")
        _parse_request_line(line[:-1].decode("latin-1"))
        return
    method, space, rest = line.removesuffix(b"\r").partition(b" ")  # CR: LF may follow
    method_text = method.decode("latin-1")
    if (method and not _TOKEN.fullmatch(method_text)) or len(method) > _MAX_METHOD:
        raise HttpError(400, "bad_request", "The request line is malformed.")
    if space and (_BAD_TARGET.search(rest) or rest.count(b" ") > 1):
        raise HttpError(400, "bad_request", "The request line is malformed.")


def parse_request_head(data: bytes) -> Request:
    """Parse the bytes of a request head (request line and fields, CRLF-separated)."""
    if len(data) > MAX_HEAD_BYTES:
        raise HttpError(431, "headers_too_large", "The request head is too large.")
    try:
        text = data.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "bad_request", "The request head is not text.") from exc
    while text.startswith("\r\n"):  # RFC 9112 §2.2: ignore empty lines before the request
        text = text[2:]
    lines = text.removesuffix("\r\n\r\n").split("\r\n")
    method, target, version = _parse_request_line(lines[0])
    headers = _parse_fields(lines[1:])
    path, query = _split_target(target, method)
    if version >= (1, 1) and "host" not in headers:
        raise HttpError(400, "bad_request", "An HTTP/1.1 request needs a Host header.")
    return Request(method, target, path, query, version, headers)


def _parse_request_line(line: str) -> tuple[str, str, tuple[int, int]]:
    """Split ``METHOD SP target SP HTTP/x.y`` (RFC 9112 §3)."""
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise HttpError(400, "bad_request", "The request line is malformed.")
    method, target, raw_version = parts
    match = _VERSION.fullmatch(raw_version)
    if match is None:
        raise HttpError(400, "bad_request", "The request line has no HTTP version.")
    version = (int(match.group(1)), int(match.group(2)))
    if version not in ((1, 0), (1, 1)):
        raise HttpError(505, "version", "Only HTTP/1.0 and HTTP/1.1 are supported.")
    return method, target, version


def _parse_fields(lines: list[str]) -> dict[str, str]:
    """Header fields into a dict; obs-fold and bare controls are refused (RFC 9112 §5.2)."""
    if len(lines) > MAX_FIELDS:
        raise HttpError(431, "headers_too_large", "The request has too many header fields.")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise HttpError(400, "bad_request", "A request header is malformed.")
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise HttpError(400, "bad_request", "A request header holds a control character.")
        key = name.lower()
        if key == "host" and key in headers:  # RFC 9112 §3.2: one Host line, or 400
            raise HttpError(400, "bad_request", "The request has more than one Host field.")
        if key == "content-length" and key in headers and headers[key] != value:
            # RFC 9112 §6.3: differing lengths are a smuggling attempt.
            raise HttpError(400, "bad_request", "The request has conflicting lengths.")
        headers[key] = f"{headers[key]}, {value}" if key in headers and key != "content-length" \
            else value
    return headers


def _split_target(target: str, method: str) -> tuple[str, str]:
    """Path and query of an origin-form or absolute-form target (RFC 9112 §3.2)."""
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, query
    if target.lower().startswith(("http://", "https://")):
        try:
            parts = urlsplit(target)
        except ValueError as exc:  # e.g. "http://[::1/": an unclosed IPv6 literal
            raise HttpError(400, "bad_request", "The request target is malformed.") from exc
        return parts.path or "/", parts.query
    if target == "*" and method == "OPTIONS":
        return "*", ""
    raise HttpError(400, "bad_request", "The request target is not a path.")


def content_length(request: Request) -> int:
    """The declared body length of a request; refuses chunked and oversize bodies."""
    if request.header("transfer-encoding") is not None:
        raise HttpError(501, "not_implemented", "Chunked request bodies are not supported.")
    raw = request.header("content-length")
    if raw is None:
        if request.method == "POST":  # RFC 9110 §15.5.12: we need the length up front
            raise HttpError(411, "length_required", "A POST needs a Content-Length.")
        return 0
    if not (raw.isascii() and raw.isdigit()):  # str.isdigit() takes '²' too
        raise HttpError(400, "bad_request", "Content-Length is not a number.")
    # Not int(raw): Python refuses over 4300 digits with a ValueError, which once crashed
    # the worker (issue 5, found by fuzzing); a length that long is too large anyway.
    digits = raw.lstrip("0")
    if len(digits) > len(str(MAX_BODY_BYTES)) or int(digits or "0") > MAX_BODY_BYTES:
        raise HttpError(413, "too_large", "The request body is too large.")
    return int(digits or "0")


def response_head(status: int, headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]
                  ) -> bytes:
    """The bytes of a status line and header fields, ending with the blank line."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
