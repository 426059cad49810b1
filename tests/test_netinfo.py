"""The server tells people every address of this machine they can connect to."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from core.server.netinfo import local_addresses, url_host


def interface_addresses() -> set[str]:
    """IPv4 addresses of the interfaces, as `ip` reports them."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2's ip")
def test_every_interface_address_is_offered_loopback_last() -> None:
    # Debian maps the host name to 127.0.1.1 in /etc/hosts, so asking the resolver alone
    # showed only 127.0.0.1: no one on the network could have used that.
    addresses = local_addresses("0.0.0.0")
    assert addresses[-1] == "127.0.0.1"
    expected = {a for a in interface_addresses() if not a.startswith("127.")}
    assert expected <= set(addresses)


def test_a_specific_bind_address_is_the_only_one() -> None:
    assert local_addresses("192.0.2.7") == ["192.0.2.7"]


def test_ipv6_is_bracketed_in_urls() -> None:
    assert url_host("::1") == "[::1]" and url_host("10.0.0.1") == "10.0.0.1"
