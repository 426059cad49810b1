"""Which addresses of this machine clients can use, and raising the open-file limit."""

from __future__ import annotations

import ipaddress
import socket


def local_addresses(bind_host: str) -> list[str]:
    """IPv4 addresses clients on the network can reach this machine at, best first.

    Asks only the local resolver (no packet leaves the machine); loopback comes last, as a
    hint for the person testing on one computer.
    """
    if bind_host not in ("", "0.0.0.0", "::"):
        return [bind_host]
    found: list[str] = []
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        found = [str(info[4][0]) for info in infos]
    except OSError:
        pass
    usable = [a for a in dict.fromkeys(found) if not ipaddress.ip_address(a).is_loopback]
    return [*usable, "127.0.0.1"]


def url_host(host: str) -> str:
    """A host as it is written in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard limit; returns the new soft limit.

    Each client holds a socket and a file; the usual soft limit of 1,024 would turn a
    classroom of downloads into refused connections.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
