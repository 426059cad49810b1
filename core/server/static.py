"""The page's own script and style sheet (issue 13), served from ``assets/page/`` under
``/page/`` only: a fixed table of two names, never a path a client names. Pure apart from
reading those two files once.

Each is cached by its ETag (a digest of its bytes): a browser asks again with
If-None-Match and gets a 304 until Filecast is updated.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC_PREFIX = "/page/"
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "page"
_TYPES = {"filecast.css": "text/css; charset=utf-8",
          "filecast.js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Resource:
    """One static resource: its bytes, type and validator."""

    body: bytes
    media_type: str
    etag: str


def resource(name: str) -> Resource | None:
    """The resource called ``name`` under /page/, or None for any other name (the table
    above is the whole list: nothing else under assets/ is ever served). Only the table's
    names are ever remembered: caching any name a client sent kept each one for ever
    (the adversarial pass, issue 13)."""
    return _load(name) if name in _TYPES else None


@functools.cache
def _load(name: str) -> Resource | None:
    media_type = _TYPES[name]
    try:
        body = (ASSETS / name).read_bytes()
    except OSError:
        return None  # an incomplete copy of Filecast: the page still works as links
    return Resource(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
