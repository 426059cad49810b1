"""Issue 9, item 11: no decision from another site, and no answer to a rebinding page.

A decision posted as text/plain from ``Origin: evil.example`` was recorded (CSRF), and a
page whose name resolves to the server's address (DNS rebinding) passes an Origin check
alone, so the Host a request names must be one of the server's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serverkit import exchange, serving, write_file

from core.server.origin import HostNames, check_host, check_origin
from core.wire.http11 import HttpError, parse_request_head

NAMES = HostNames(frozenset({"alice-laptop", "alice-laptop.local", "localhost"}))


def request(*fields: str, method: str = "POST", path: str = "/api/v1/decisions"):  # type: ignore[no-untyped-def]
    lines = [f"{method} {path} HTTP/1.1", *fields]
    return parse_request_head(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


@pytest.mark.parametrize("host", [
    "192.168.1.20:5001", "192.168.1.20", "127.0.0.1:5001", "[::1]:5001", "[fe80::1%25eth0]:5001",
    "alice-laptop:5001", "ALICE-LAPTOP.local:5001", "localhost:5001", "alice-laptop.local.",
    "printer-room:5001",  # one label: only this network's own resolver can answer it
    "files.lan:5001", "nas.home.arpa", "srv.internal:5001",
])
def test_own_and_local_names_are_answered(host: str) -> None:
    check_host(request(f"Host: {host}", method="GET", path="/"), NAMES)


@pytest.mark.parametrize("host", ["evil.example:5001", "evil.example", "192.168.1.20.nip.io",
                                  "alice-laptop.evil.example"])
def test_names_a_rebinding_page_would_use_are_refused(host: str) -> None:
    with pytest.raises(HttpError) as caught:
        check_host(request(f"Host: {host}", method="GET", path="/"), NAMES)
    assert caught.value.status == 421
    assert "--allow-host" in caught.value.message


def test_a_name_the_person_allowed_is_answered() -> None:
    names = HostNames(NAMES.names | {"files.school.example"})
    check_host(request("Host: files.school.example:5001", method="GET", path="/"), names)


@pytest.mark.parametrize("host", ["a b", "exa mple:1", "[::1", "host:port", "a@b"])
def test_a_malformed_host_is_400(host: str) -> None:
    with pytest.raises(HttpError) as caught:
        check_host(request(f"Host: {host}", method="GET", path="/"), NAMES)
    assert caught.value.status == 400


def test_http10_without_host_is_answered() -> None:
    check_host(parse_request_head(b"GET / HTTP/1.0\r\n\r\n"), NAMES)


@pytest.mark.parametrize("fields", [
    ("Host: 192.168.1.20:5001", "Origin: http://evil.example"),
    ("Host: 192.168.1.20:5001", "Origin: null"),
    ("Host: 192.168.1.20:5001", "Origin: http://192.168.1.20:5002"),
    ("Host: 192.168.1.20:5001", "Origin: https://192.168.1.20:5001"),
    ("Host: 192.168.1.20:5001", "Sec-Fetch-Site: cross-site"),
])
def test_cross_origin_writes_are_403(fields: tuple[str, ...]) -> None:
    with pytest.raises(HttpError) as caught:
        check_origin(request(*fields))
    assert caught.value.status == 403


@pytest.mark.parametrize("fields", [
    ("Host: 192.168.1.20:5001",),  # curl, our client: no Origin
    ("Host: 192.168.1.20:5001", "Origin: http://192.168.1.20:5001"),
    ("Host: 192.168.1.20", "Origin: http://192.168.1.20:80"),
    ("Host: Alice-Laptop:5001", "Origin: http://alice-laptop:5001", "Sec-Fetch-Site: same-origin"),
])
def test_same_origin_writes_pass(fields: tuple[str, ...]) -> None:
    check_origin(request(*fields))


# --- on the wire ------------------------------------------------------------------------

def post(port: int, body: bytes, *fields: str) -> int | None:
    head = "\r\n".join(["POST /api/v1/decisions HTTP/1.1", *fields,
                        f"Content-Length: {len(body)}", "Connection: close"])
    return exchange(port, head.encode() + b"\r\n\r\n" + body).status


DECLINE = json.dumps({"version": 1, "file": "a.txt", "decision": "declined"}).encode()


def test_a_cross_site_form_post_is_not_recorded(tmp_path: Path) -> None:
    path = write_file(tmp_path, "a.txt", b"data")
    with serving(tmp_path, [path]) as running:
        host = f"Host: 127.0.0.1:{running.port}"
        as_text = post(running.port, DECLINE, host, "Origin: http://evil.example",
                       "Content-Type: text/plain")
        plain_text = post(running.port, DECLINE, host, "Content-Type: text/plain")
        cross = post(running.port, DECLINE, host, "Origin: http://evil.example",
                     "Content-Type: application/json")
        rebound = post(running.port, DECLINE, f"Host: evil.example:{running.port}",
                       f"Origin: http://evil.example:{running.port}",
                       "Content-Type: application/json")
        good = post(running.port, DECLINE, host, f"Origin: http://127.0.0.1:{running.port}",
                    "Content-Type: application/json; charset=utf-8")
        lines = running.wait_lines("did not download")
    assert (as_text, plain_text, cross, rebound, good) == (403, 415, 403, 421, 200)
    assert len(lines) == 1


def test_a_rebinding_page_cannot_read_the_file(tmp_path: Path) -> None:
    path = write_file(tmp_path, "a.txt", b"data")
    with serving(tmp_path, [path]) as running:
        answer = exchange(running.port, b"GET /files/a.txt HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert answer.status == 421
    assert b"data" not in answer.body


@pytest.mark.parametrize("host", ["127.0.0.1%evil.example", "[fe80::1%25eth0.evil.example]",
                                  "[::1%25a/b]", "127.0.0.1%25x"])
def test_zone_ids_are_only_for_ipv6_and_short(host: str) -> None:
    """Adversarial pass: these were taken as IP literals (none can come from a browser, but
    a Host check should not be loose)."""
    with pytest.raises(HttpError):
        check_host(request(f"Host: {host}", method="GET", path="/"), NAMES)


def test_an_absolute_form_target_is_checked_instead_of_host() -> None:
    """RFC 9112 §3.2.2: with an absolute-form target, its authority is the one that counts."""
    req = parse_request_head(b"GET http://evil.example/files/a.txt HTTP/1.1\r\n"
                             b"Host: 127.0.0.1:5001\r\n\r\n")
    with pytest.raises(HttpError) as caught:
        check_host(req, NAMES)
    assert caught.value.status == 421
    check_host(parse_request_head(b"GET http://192.168.1.20:5001/ HTTP/1.1\r\n"
                                  b"Host: evil.example\r\n\r\n"), NAMES)
