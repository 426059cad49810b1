"""Which addresses of this machine clients can use, and raising the open-file limit."""

from __future__ import annotations

import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915  # linux/sockios.h


def local_addresses(bind_host: str) -> list[str]:
    """IPv4 addresses clients on the network can reach this machine at, best first.

    Reads the interfaces' own addresses (no packet leaves the machine) and adds what the
    resolver says of the host name; loopback comes last, as a hint for the person testing
    on one computer. The resolver alone is not enough: Debian maps the host name to
    127.0.1.1, which nobody else can reach.
    """
    if bind_host not in ("", "0.0.0.0", "::"):
        return [bind_host]
    found = [*_interface_addresses(), *_resolver_addresses()]
    usable = [a for a in dict.fromkeys(found) if not ipaddress.ip_address(a).is_loopback]
    return [*usable, "127.0.0.1"]


def _resolver_addresses() -> list[str]:
    """The host name's IPv4 addresses (all interfaces on Windows and macOS)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def _interface_addresses() -> list[str]:
    """Each network interface's IPv4 address, by the SIOCGIFADDR ioctl (Linux only)."""
    try:
        import fcntl
    except ImportError:  # Windows
        return []
    names = [name for _, name in socket.if_nameindex()] if hasattr(socket, "if_nameindex") \
        else []
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # never sends
        for name in names:
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # no IPv4 address on it, or not Linux
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def own_host_names(extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The names this machine answers to (core.server.origin): its host name, short and with
    ``.local`` (mDNS), ``localhost``, and ``extra`` names the person allowed. No DNS query:
    ``getfqdn`` can hang for seconds where reverse DNS is broken."""
    host = socket.gethostname().lower().rstrip(".")
    short = host.split(".", 1)[0]
    names = {"localhost", host, short, f"{short}.local", *(n.lower().rstrip(".") for n in extra)}
    return frozenset(n for n in names if n)


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
