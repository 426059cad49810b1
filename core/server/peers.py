"""Who a peer is for the per-address limits: an IPv4 address, or an IPv6 /64.

One host on an IPv6 network commonly holds a whole /64 (privacy addresses, SLAAC), so
counting each IPv6 address on its own would give it unlimited addresses (the adversarial
pass of issue 9). The limits that are "per address" (connections, the ledger's budget,
the book of downloads) count per group instead. Pure.
"""

from __future__ import annotations

import functools
import ipaddress


def unmapped(ip: str) -> str:
    """``::ffff:10.0.0.5`` (how a dual-stack socket shows an IPv4 peer) → ``10.0.0.5``;
    anything else as it is, so the ledger writes IPv4 clients as it always did."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return ip


@functools.lru_cache(maxsize=4096)
def address_group(ip: str) -> str:
    """``192.168.1.20`` → itself; ``2001:db8:1:2::5`` → ``2001:db8:1:2::/64``; an
    IPv4-mapped IPv6 address → its IPv4 address; anything unparsable → itself."""
    try:
        address = ipaddress.ip_address(unmapped(ip).split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
