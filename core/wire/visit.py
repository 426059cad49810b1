"""How a browser's visit says who it is (issue 13): a visit id in a cookie the server sets
(HttpOnly, SameSite=Strict) and the person's name in a cookie the page sets, so that a
download the browser makes by itself (a plain navigation, no headers of ours) belongs to
the same row as the page's own requests. Pure.

The Tk client and the terminal send the same facts as headers (X-Filecast-Client-Id,
X-Filecast-Client-Name); a header wins over a cookie.
"""

from __future__ import annotations

import secrets

VISIT_COOKIE = "filecast_visit"
NAME_COOKIE = "filecast_name"
MAX_COOKIES = 50  # more pairs than this in one Cookie header are not read


def cookies(header: str | None) -> dict[str, str]:
    """The pairs of a Cookie header (RFC 6265 §5.4: ``a=b; c=d``); the first of a name
    wins, malformed pairs are skipped, at most MAX_COOKIES are read."""
    found: dict[str, str] = {}
    for pair in (header or "").split(";")[:MAX_COOKIES]:
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


def new_visit_id() -> str:
    """A fresh visit id: 22 characters of the client-id alphabet (128 random bits)."""
    return secrets.token_urlsafe(16)


def set_visit_cookie(visit_id: str) -> str:
    """The Set-Cookie value that gives a browser its visit id: not readable by scripts,
    never sent by another site's page (RFC 6265bis SameSite=Strict), for this server only."""
    return f"{VISIT_COOKIE}={visit_id}; Path=/; HttpOnly; SameSite=Strict"
