"""What part of a file a request gets: Range, If-Range, If-None-Match and If-Modified-Since
(RFC 9110 §13, §14).

Pure functions over header values and sizes, shared by the server's routing and the
test servers; no sockets, no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.wire.protocol import parse_http_date

# --- conditional requests (RFC 9110 §13.1) ----------------------------------------------


def etag_matches(header: str, etag: str) -> bool:
    """True when an If-None-Match list names ``etag`` (weak comparison, §13.1.2) or is ``*``."""
    tags = [t.strip() for t in header.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                 mtime: float, *, date_is_strong: bool = True) -> bool:
    """Whether a GET or HEAD of a file is answered 304 (RFC 9110 §13.2.2): If-None-Match
    decides alone when present (§13.1.2); else If-Modified-Since, when it is one valid
    HTTP-date at or after the file's Last-Modified, in whole seconds (§13.1.3), and the
    date can tell versions apart (``date_is_strong``: the file is at least a second older
    than the answer, §8.8.2.2; a version saved in the same second as the date a client
    holds was once answered 304)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if if_modified_since is None or not date_is_strong:
        return False
    since = parse_http_date(if_modified_since)
    return since is not None and int(mtime) <= since


def if_range_allows(if_range: str | None, etag: str, last_modified: str, *,
                    date_is_strong: bool = True) -> bool:
    """Whether a Range may be honoured under If-Range (§13.1.5: strong comparison only).

    A date counts only when ``date_is_strong``: the file is at least a second older than
    the answer (§8.8.2.2); two versions written within one second share a date."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag
    return date_is_strong and value == last_modified


# --- ranges (RFC 9110 §14) -------------------------------------------------------------


@dataclass(frozen=True)
class ByteRange:
    """A satisfiable single range: bytes ``start`` .. ``end`` inclusive."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """How many bytes the range holds."""
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The Content-Range value of a 206 (§14.4)."""
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(ValueError):
    """The Range header asks for bytes outside the file or is malformed: answer 416."""


_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")  # ASCII DIGIT only (RFC 9110 §14.1.1)


def decimal(digits: str) -> int:
    """ASCII digits as an int, saturating at 10**19 (past any file): int() refuses over 4300
    digits, and that ValueError once crashed the worker (issue 5, found by fuzzing)."""
    digits = digits.lstrip("0") or "0"
    return 10**19 if len(digits) > 19 else int(digits)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """What a Range header asks of a file of ``size`` bytes.

    None means "send the whole file" (no header, another unit, several ranges: §14.2 lets
    us ignore those). Raises RangeNotSatisfiable for a malformed or unsatisfiable bytes
    range; see docs/PROTOCOL.md for why malformed is 416 rather than ignored.
    """
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = _RANGE_SPEC.fullmatch(spec.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(f"malformed range {spec!r}")
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix range: the last N bytes
        count = decimal(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable("empty suffix range")
        return ByteRange(max(0, size - count), size - 1)
    start = decimal(first)
    end = size - 1 if last == "" else min(decimal(last), size - 1)
    if last != "" and decimal(last) < start:
        raise RangeNotSatisfiable("range ends before it starts")
    if start >= size:
        raise RangeNotSatisfiable("range starts past the end")
    return ByteRange(start, end)
