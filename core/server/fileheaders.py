"""The headers that describe an offered file itself, the same for HEAD, 200, 206 and 304
(docs/PROTOCOL.md, "HEAD and GET /files/{name}"). Pure."""

from __future__ import annotations

import functools

from core.server.entries import ServedFile
from core.wire.media import media_type
from core.wire.protocol import content_disposition, http_date, repr_digest

Headers = tuple[tuple[str, str], ...]


def file_headers(entry: ServedFile, now: float) -> Headers:
    """The file's headers at time ``now``, Last-Modified no later than now: a file dated in
    the future says now instead (RFC 9110 §8.8.2.1), or a 304 kept an older copy after it
    changed (the adversarial pass, issue 13)."""
    headers = entity_headers(entry)
    if entry.mtime_ns / 1e9 <= now:
        return headers
    return tuple((k, http_date(now)) if k == "Last-Modified" else (k, v) for k, v in headers)


@functools.lru_cache(maxsize=64)
def entity_headers(entry: ServedFile) -> Headers:
    """Headers describing the file itself (same for HEAD, 200 and 206).

    Cached per version (ServedFile is frozen: a new size, mtime or digest is a new key):
    the same few files are asked for by every client (thread CPU per request, 1,000 ab
    requests: route() 84 µs, of which these headers were about a third)."""
    headers: list[tuple[str, str]] = [
        ("Content-Type", media_type(entry.name)),
        ("X-Content-Type-Options", "nosniff"),  # the type above, never a guess from bytes
        ("ETag", entry.etag),
        ("Last-Modified", entry.last_modified),
        ("Accept-Ranges", "bytes"),
        # The file's own name only (RFC 6266 §4.3: recipients drop a path anyway).
        ("Content-Disposition", content_disposition(entry.name.rsplit("/", 1)[-1])),
        ("Cache-Control", "no-cache"),
    ]
    if entry.sha256 is not None:
        headers.append(("Repr-Digest", repr_digest(entry.sha256)))  # RFC 9530 §3
    return tuple(headers)
