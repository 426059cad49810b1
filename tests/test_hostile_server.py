"""Filecast's client against a hostile server (tests/hostile_server.py).

Whatever the server claims, the client saves nothing outside its folder, and nothing under
the final name that is not verified against the promised SHA-256. Each test lies in one
way; ``check_folder`` then looks at every file under the test's root.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer, digest

from core.client import FilecastClient
from core.errors import (
    ConnectError,
    DigestMismatchError,
    FilecastError,
    ProtocolError,
    ServerGoneError,
    UnverifiedError,
)

MIB = 1024 * 1024
DATA = os.urandom(MIB + 12345)
NAME = "report.pdf"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({NAME: DATA}) as server:
        yield server


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The download folder, one level below the root that check_folder inspects."""
    path = tmp_path / "root" / "downloads"
    path.mkdir(parents=True)
    return path


def client_for(server: HostileServer, **options: object) -> FilecastClient:
    settings: dict[str, object] = {"backoff": 0.01, "retries": 2, "timeout": 2.0}
    settings.update(options)
    return FilecastClient("127.0.0.1", server.port, **settings)  # type: ignore[arg-type]


def check_folder(folder: Path, allowed: dict[str, bytes] | None = None) -> None:
    """Nothing outside ``folder`` under its root; in it only .part leftovers and ``allowed``
    final files with exactly their verified bytes."""
    root = folder.parent
    outside = [p for p in root.rglob("*") if p != folder and folder not in p.parents]
    assert outside == [], outside
    finals = {p.name: p.read_bytes() for p in folder.iterdir()
              if not p.name.endswith((".part", ".part.json"))}
    assert finals == (allowed or {}), sorted(finals)


def download_fails(server: HostileServer, folder: Path, kind: type[FilecastError],
                   name: str = NAME, **options: object) -> FilecastError:
    with client_for(server, **options) as client, pytest.raises(kind) as failed:
        client.download(name, folder)
    return failed.value


def test_honest_server_works(hostile: HostileServer, folder: Path) -> None:
    with client_for(hostile) as client:
        result = client.download(NAME, folder)
    assert result.verified and result.sha256 == digest(DATA)
    check_folder(folder, {NAME: DATA})


def test_body_shorter_than_content_length(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.length_delta = 1000  # promises 1000 bytes more than it ever sends
    download_fails(hostile, folder, ServerGoneError)
    check_folder(folder)


def test_body_cut_short(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.short_by = 5000
    error = download_fails(hostile, folder, ServerGoneError)
    assert "partial download is kept" in str(error)
    check_folder(folder)


def test_body_longer_than_content_length(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.length_delta = -100  # the last 100 bytes arrive past the promised end
    hostile.lies.extra_body = b"<script>evil()</script>"
    download_fails(hostile, folder, DigestMismatchError)
    check_folder(folder)


def test_digest_mismatch(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.digest_of = b"some other file"
    download_fails(hostile, folder, DigestMismatchError)
    check_folder(folder)
    assert list(folder.iterdir()) == []  # a known-bad part is not kept


def test_no_digest_and_a_receipt_that_never_confirms(hostile: HostileServer,
                                                     folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_status = 503
    error = download_fails(hostile, folder, UnverifiedError)
    assert "SHA-256" in str(error) and "Retry" in str(error)
    check_folder(folder)  # nothing unverified under the final name
    assert (folder / f"{NAME}.part").stat().st_size == len(DATA)  # kept for a retry
    hostile.lies.receipt_status = 200  # the server finished hashing: Retry verifies
    with client_for(hostile) as client:
        result = client.download(NAME, folder)
    assert result.verified
    check_folder(folder, {NAME: DATA})


def test_no_digest_and_a_receipt_that_says_wrong(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_verified = False
    download_fails(hostile, folder, DigestMismatchError)
    check_folder(folder)


@pytest.mark.parametrize("disposition", [
    'attachment; filename="../../escaped.txt"',
    "attachment; filename*=UTF-8''..%2F..%2Fescaped.txt",
    'attachment; filename="/tmp/escaped.txt"',
    'attachment; filename="..\\\\..\\\\escaped.txt"',
    'attachment; filename="CON"',
])
def test_content_disposition_cannot_choose_the_path(hostile: HostileServer, folder: Path,
                                                    disposition: str) -> None:
    hostile.lies.disposition = disposition
    with client_for(hostile) as client:
        result = client.download(NAME, folder)
    assert result.path == folder.resolve() / NAME
    check_folder(folder, {NAME: DATA})


@pytest.mark.parametrize(("offered", "saved"), [
    ("../../escaped.txt", "escaped.txt"),
    ("/etc/passwd", "passwd"),
    ("..\\..\\escaped.txt", "escaped.txt"),
    ("..", "download"),
    ("CON", "_CON"),
    ("a\x00b\nc", "abc"),
    ("x/../../..", "download"),
])
def test_offered_names_cannot_escape_the_folder(folder: Path, offered: str, saved: str) -> None:
    with HostileServer({offered: DATA}) as server, client_for(server) as client:
        client.connect()
        result = client.download(offered, folder)
    assert result.path == folder.resolve() / saved
    check_folder(folder, {saved: DATA})


def test_206_for_a_range_not_asked(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.range_shift = 100  # a fresh download answered with bytes 100-
    error = download_fails(hostile, folder, ProtocolError)
    assert "different part" in str(error)
    check_folder(folder)


def test_206_for_another_range_on_resume(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.short_by = len(DATA) // 2
    download_fails(hostile, folder, ServerGoneError, retries=0)
    hostile.lies.short_by = 0
    hostile.lies.range_shift = -1000  # asked for bytes N-, answers bytes N-1000-
    download_fails(hostile, folder, ProtocolError)
    check_folder(folder)


def test_server_that_never_answers(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.silent = True
    began = time.monotonic()
    with client_for(hostile, timeout=0.5) as client, \
            pytest.raises(ConnectError, match=r"did not answer within 0\.5 seconds"):
        client.connect()
    assert time.monotonic() - began < 5
    check_folder(folder)


def test_server_that_stalls_mid_body(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.stall_after = 0  # the head, then silence
    began = time.monotonic()
    download_fails(hostile, folder, ServerGoneError, timeout=0.5, retries=1)
    assert time.monotonic() - began < 10
    check_folder(folder)
    # a server that stalls after some bytes each time still gets the file through, since
    # every attempt resumes where the last one stalled
    hostile.lies.stall_after = 300_000
    with client_for(hostile, timeout=0.5, retries=1) as client:
        result = client.download(NAME, folder)
    assert result.verified and result.resumed_from == 0
    check_folder(folder, {NAME: DATA})


def test_endless_headers(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.endless_headers = True
    with client_for(hostile) as client, pytest.raises(ProtocolError):
        client.connect()
    check_folder(folder)


def test_endless_offer_body_is_not_swallowed(hostile: HostileServer) -> None:
    hostile.lies.offer_claims = 512 * MIB
    with client_for(hostile, timeout=5.0) as client, pytest.raises(ProtocolError):
        client.connect()
    assert hostile.body_bytes_sent < 64 * MIB  # the client hung up early


@pytest.mark.parametrize("body", [
    b'{"version": 1, "server": "x", "name": "x", "message": "x", "files": [{"name": "a",'
    b' "size": 1' + b"0" * 5000 + b', "sha256": null, "modified": "", "etag": "x"}]}',
    b'{"version": 1' + b"0" * 5000 + b"}",
    b"[" * 100_000,
])
def test_offer_with_absurd_json(hostile: HostileServer, body: bytes) -> None:
    hostile.lies.offer_body = body
    with client_for(hostile) as client, pytest.raises(ProtocolError):
        client.connect()


def test_receipt_with_absurd_json(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_body = b'{"version": 1, "verified": true, "sha256": 1' + b"0" * 5000 \
        + b"}"
    with client_for(hostile) as client, pytest.raises(FilecastError):
        client.download(NAME, folder)
    check_folder(folder)


def test_size_in_offer_and_head_disagree(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.offer_body = json.dumps({
        "version": 1, "server": "x", "name": "x", "message": "x",
        "files": [{"name": NAME, "size": 3, "sha256": digest(b"abc"), "modified": "",
                   "etag": '"3-1"', "url": "/files/x"}]}).encode()
    with client_for(hostile) as client:
        client.connect()
        result = client.download(NAME, folder)  # HEAD and GET describe the true file
    assert result.verified and result.path.read_bytes() == DATA
    check_folder(folder, {NAME: DATA})


def test_a_servers_error_message_reaches_the_person_defanged() -> None:
    """A hostile server's error text must not clear the terminal or flood the window."""
    from core.link import Link
    from core.protocol import error_body

    hostile = "\x1b[2J\x1b[31mYOU ARE HACKED\n" * 50 + "\u202eevil"
    for status in (404, 503):
        sentence = str(Link("127.0.0.1", 1, {}, 1.0).status_error(status,
                                                                  error_body("x", hostile)))
        assert "\x1b" not in sentence and "\n" not in sentence
        assert "\u202e" not in sentence
        assert len(sentence) < 400
