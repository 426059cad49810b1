"""Names with folders in them (issue 12): ``Week 12/worksheet 1.pdf`` in an offer, in
``/files/{name}`` and on the client's disk. Pure: no I/O.

The server offers a folder under relative names it makes itself from what is on its disk
(``offer_name``); both sides hold a name to the same rule (``check_relative``): segments
separated by ``/``, none empty, ``.`` or ``..``, no backslash and no control character. A
client makes a saved path from a name it was sent (``saved_segments``), never trusting
the rule was kept: every segment becomes one safe file name (core.wire.names), and what
could climb out of the chosen folder is dropped.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from core.wire.names import FALLBACK_NAME, safe_filename

SEPARATOR = "/"
MAX_DEPTH = 32  # folders in a name: deeper is not a worksheet tree
MAX_NAME_BYTES = 4096  # of a whole relative name, as PATH_MAX


# C0 and C1 controls, DEL, and the backslash (a separator on Windows): one regular
# expression, not a test per character (10,000 names of a folder took a third of its
# listing in that loop: issue 12).
_BAD_CHAR = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def check_relative(name: str) -> tuple[str, ...]:
    """The segments of a relative name; ValueError saying why when it breaks the rule."""
    if not name or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError("a name must have 1 to 4096 bytes")
    if _BAD_CHAR.search(name):
        raise ValueError("a name may not hold a backslash or a control character")
    try:
        name.encode("utf-8")  # names travel as UTF-8: bytes from a Latin-1 disk name cannot
    except UnicodeEncodeError as exc:  # (they once broke the greeting for every client)
        raise ValueError("a name must be UTF-8") from exc
    segments = tuple(name.split(SEPARATOR))
    if len(segments) > MAX_DEPTH + 1:
        raise ValueError(f"a name may be at most {MAX_DEPTH} folders deep")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError("a name may not have an empty, '.' or '..' part")
    return segments


def offer_name(segments: tuple[str, ...]) -> str:
    """The relative name the server offers for a file found at ``segments`` under a folder
    it offers (the folder's own name first); ValueError when it breaks the rule."""
    name = SEPARATOR.join(segments)
    check_relative(name)
    return name


def url_path(name: str) -> str:
    """``Week 12/a b.pdf`` -> ``Week%2012/a%20b.pdf``: each segment percent-encoded, the
    separators kept, so a browser, curl or wget shows and saves a readable path."""
    # A lone surrogate (a hostile offer's JSON can carry one) goes as the byte it stands
    # for, which the server refuses as malformed UTF-8: an answer, never a crash.
    return SEPARATOR.join(quote(segment.encode("utf-8", "surrogateescape"), safe="")
                          for segment in name.split(SEPARATOR))


def saved_segments(name: str) -> tuple[str, ...]:
    """Where a client saves the file a server named ``name``, as folder names and a file
    name, each safe on Windows, macOS and Linux, under the chosen folder: ``.``/``..`` and
    empty parts are dropped (and a backslash counts as a separator), so no name, however
    hostile, leads out of the folder. At most MAX_DEPTH folders; the rest is kept in the
    file's name."""
    parts = [p for p in name.replace("\\", SEPARATOR).split(SEPARATOR)
             if p.strip() not in ("", ".", "..")]
    if not parts:
        return (FALLBACK_NAME,)
    folders, last = parts[:-1], parts[-1]
    if len(folders) > MAX_DEPTH:
        last = "_".join([*folders[MAX_DEPTH:], last])
        folders = folders[:MAX_DEPTH]
    return (*(safe_filename(f) for f in folders), safe_filename(last))
