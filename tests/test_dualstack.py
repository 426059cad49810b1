"""Listening on every interface means IPv4 and IPv6 (issue 11: `[::1]:5001` was refused),
and an IPv4 client is still written the original way, never as ``::ffff:127.0.0.1``."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import pytest
from serverkit import serving, wait_until

from core.server import ServerConfig


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return socket.has_dualstack_ipv6()
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")


def test_the_default_is_every_interface_of_both_families() -> None:
    assert ServerConfig().host == ""


def test_ipv4_and_ipv6_clients_both_get_the_offer(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_bytes(b"hello world")
    with serving(tmp_path, [tmp_path / "test.txt"], host="") as running:
        for host in ("127.0.0.1", "::1"):
            conn = http.client.HTTPConnection(host, running.port, timeout=10)
            conn.request("GET", "/files/test.txt")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"hello world")
            conn.close()
        lines = running.wait_lines("downloaded the file 'test.txt'", count=2)
        assert any(line.split(" ", 2)[2].startswith("('127.0.0.1', ") for line in lines), lines
        assert any(line.split(" ", 2)[2].startswith("('::1', ") for line in lines), lines
        assert not any("::ffff:" in line for line in running.ledger_lines())
        wait_until(lambda: running.ledger_records() or None, what="the JSON twin")
        assert {r["address"] for r in running.ledger_records()} == {"127.0.0.1", "::1"}


def test_an_explicit_ipv4_address_listens_on_ipv4_only(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_bytes(b"x")
    with serving(tmp_path, [tmp_path / "test.txt"], host="0.0.0.0") as running, \
            pytest.raises(OSError):
        socket.create_connection(("::1", running.port), timeout=2).close()
