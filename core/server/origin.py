"""Who may ask: the names the server answers to, and same-origin writes (issue 9, item 11).

Pure functions over a parsed request. Two attacks from a web page that someone on the
network happens to open:

- **CSRF**: the page posts a decision to the server. A browser sends a cross-site POST
  without asking only as ``text/plain``, a form or multipart, and always with an
  ``Origin`` header; so writes must be JSON (core.server.routing) and same-origin (here).
- **DNS rebinding**: the page's own name is made to resolve to the server's address, so
  its requests are same-origin and may read answers. Only the ``Host`` it sends gives it
  away: a server answers only to its own names and IP literals (RFC 9110 §7.4 lets it
  refuse others with 421 Misdirected Request).

Names a remote attacker cannot make a browser resolve are allowed too: one label
(``printer-room``), and the special-use or private suffixes of RFC 6762 (``.local``),
RFC 8375 (``.home.arpa``) and common LAN practice (``.lan``, ``.internal``...). Any other
name must be allowed by the person serving (``--allow-host``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from core.wire.http11 import HttpError, Request

LOCAL_SUFFIXES = (".local", ".lan", ".home", ".internal", ".home.arpa", ".localdomain",
                  ".intranet", ".corp", ".private")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")
_ZONE = re.compile(r"[a-z0-9_-]{1,15}(\.[0-9]{1,4})?")  # an interface: eth0, wlan0, eth0.100
_PORT = re.compile(r"[0-9]{1,5}")
_SAFE_FETCH_SITES = ("same-origin", "none")


@dataclass(frozen=True)
class HostNames:
    """The names this server answers to (lower case, no trailing dot), besides IP literals."""

    names: frozenset[str]


def split_host(value: str) -> tuple[str, int | None]:
    """``name``, ``name:port``, ``v4:port`` or ``[v6]:port`` → (host, port); ValueError when
    it is none of these (RFC 9110 §7.2: uri-host [ ":" port ])."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(value)
        ipaddress.ip_address(unquote(host).split("%", 1)[0])  # ValueError when not IPv6
        port_text = rest[1:]
    else:
        host, _, port_text = value.partition(":")
    if port_text and not _PORT.fullmatch(port_text):
        raise ValueError(value)
    if not host:
        raise ValueError(value)
    return host.lower().rstrip("."), int(port_text) if port_text else None


def _is_ip(host: str) -> bool:
    """An IPv4 literal, or an IPv6 one with at most a short interface zone (RFC 6874)."""
    address, percent, zone = unquote(host).partition("%")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not percent:
        return True
    return isinstance(parsed, ipaddress.IPv6Address) and _ZONE.fullmatch(zone) is not None


def _is_name(host: str) -> bool:
    return all(_LABEL.fullmatch(label) for label in host.split("."))


def answers_to(host: str, names: HostNames) -> bool:
    """Whether a (lower-case) host may be answered: see the module docstring."""
    if _is_ip(host) or host in names.names:
        return True
    return "." not in host or host.endswith(LOCAL_SUFFIXES)


def check_host(request: Request, names: HostNames) -> None:
    """400 for a malformed Host, 421 for a name that is not the server's (DNS rebinding).
    With an absolute-form target its authority is the one checked (RFC 9112 §3.2.2)."""
    value = request.header("host")
    if request.target.lower().startswith(("http://", "https://")):
        value = urlsplit(request.target).netloc
    if value is None:
        return  # HTTP/1.0 (http11 already refused an HTTP/1.1 request without one)
    try:
        host, _ = split_host(value)
    except ValueError as exc:
        raise HttpError(400, "bad_request", "The Host header is malformed.") from exc
    if not (_is_ip(host) or _is_name(host)):
        raise HttpError(400, "bad_request", "The Host header is malformed.")
    if not answers_to(host, names):
        raise HttpError(
            421, "wrong_host",
            f"This server does not answer to the name '{host}'. Use its IP address, or"
            f" start it with --allow-host {host} if that name is really its own.")


def check_origin(request: Request) -> None:
    """403 for a write that a browser marks as coming from another site (CSRF)."""
    site = request.header("sec-fetch-site")
    if site is not None and site.lower() not in _SAFE_FETCH_SITES:
        raise _cross_origin()
    origin = request.header("origin")
    if origin is None:
        return  # not a browser (curl, Filecast's client): nothing to forge from a page
    scheme, sep, authority = origin.partition("://")
    host_value = request.header("host")
    if scheme.lower() != "http" or not sep or host_value is None:
        raise _cross_origin()  # "null", https:// (another origin), or no Host to match
    try:
        origin_host, origin_port = split_host(authority)
        host, port = split_host(host_value)
    except ValueError as exc:
        raise _cross_origin() from exc
    if (origin_host, origin_port or 80) != (host, port or 80):
        raise _cross_origin()


def _cross_origin() -> HttpError:
    return HttpError(403, "cross_origin", "Requests that change something must come from"
                     " this server's own page.")
