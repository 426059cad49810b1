"""Filecast's client against a hostile server (tests/hostile_server.py).

Whatever the server claims, the client saves nothing outside its folder, and nothing under
the final name that is not verified against the promised SHA-256. Each test lies in one
way; ``check_folder`` then looks at every file under the test's root.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_names import HOSTILE_RELATIVE
from hostile_server import HostileServer, Seen, digest
from serverkit import Background

from core.client.visit import FilecastClient
from core.errors import (
    CancelledError,
    ConnectError,
    DigestMismatchError,
    FilecastError,
    OfferChangedError,
    ProtocolError,
    ServerGoneError,
    UnverifiedError,
)
from core.events import DownloadVerifying, Event
from core.wire.paths import saved_segments

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


class Recorder:
    """A listener that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


def client_for(server: HostileServer, **options: object) -> FilecastClient:
    settings: dict[str, object] = {"backoff": 0.01, "retries": 2, "timeout": 2.0,
                                   "receipt_patience": 2.0}
    settings.update(options)
    return FilecastClient("127.0.0.1", server.port, **settings)  # type: ignore[arg-type]


def check_folder(folder: Path, allowed: dict[str, bytes] | None = None) -> None:
    """Nothing outside ``folder`` under its root; in it only .part leftovers and ``allowed``
    final files with exactly their verified bytes."""
    root = folder.parent
    outside = [p for p in root.rglob("*") if p != folder and folder not in p.parents]
    assert outside == [], outside
    finals = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
              if p.is_file() and not p.name.endswith((".part", ".part.json"))}
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
    ("/etc/passwd", "etc/passwd"),  # folders in a name are kept, inside (issue 12)
    ("..\\..\\escaped.txt", "escaped.txt"),
    ("..", "download"),
    ("CON", "_CON"),
    ("a\x00b\nc", "abc"),
    ("x/../../..", "x"),
    ("Week 12/../../../etc/cron.d/evil", "Week 12/etc/cron.d/evil"),
])
def test_offered_names_cannot_escape_the_folder(folder: Path, offered: str, saved: str) -> None:
    with HostileServer({offered: DATA}) as server, client_for(server) as client:
        client.connect()
        result = client.download(offered, folder)
    assert result.path == folder.resolve() / saved
    check_folder(folder, {saved: DATA})


@pytest.mark.parametrize("offered", HOSTILE_RELATIVE)
def test_no_offered_name_in_the_corpus_leaves_the_folder(folder: Path, offered: str) -> None:
    """tests/hostile_names.py: whatever a server names a file, it is saved in the folder,
    under the folders core.wire.paths makes of the name, verified, and nowhere else."""
    with HostileServer({offered: DATA}) as server, client_for(server) as client:
        client.connect()
        try:
            result = client.download(offered, folder)
        except FilecastError:  # a name that is not even text: refused, nothing saved
            check_folder(folder)
            return
    saved = "/".join(saved_segments(offered))
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
    from core.client.http import Link
    from core.wire.protocol import error_body

    hostile = "\x1b[2J\x1b[31mYOU ARE HACKED\n" * 50 + "\u202eevil"
    for status in (404, 503):
        sentence = str(Link("127.0.0.1", 1, {}, 1.0).status_error(status,
                                                                  error_body("x", hostile)))
        assert "\x1b" not in sentence and "\n" not in sentence
        assert "\u202e" not in sentence
        assert len(sentence) < 400


# --- issue 9: consent is for the file the person was shown ---------------------------------

OTHER = os.urandom(3 * MIB + 7)  # another version: bigger, its own ETag, a matching digest


def test_another_version_at_get_is_not_saved(hostile: HostileServer, folder: Path) -> None:
    """HEAD said one size, the person said yes; a GET answering another file saves nothing."""
    hostile.lies.other_version = OTHER
    with client_for(hostile) as client:
        consented = client.check(NAME)
        with pytest.raises(OfferChangedError) as changed:
            client.download(NAME, folder, info=consented)
    error = changed.value
    assert error.info.size == len(OTHER) and error.info.etag != consented.etag
    assert str(error).startswith(f"'{NAME}' changed on the server since you said yes: it is"
                                 " now 3.1 MB, not 1.1 MB.")
    check_folder(folder)


def test_same_size_other_version_is_not_saved(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.other_version = os.urandom(len(DATA))
    with client_for(hostile) as client:
        consented = client.check(NAME)
        with pytest.raises(OfferChangedError, match="another version"):
            client.download(NAME, folder, info=consented)
    check_folder(folder)


def test_a_retry_keeps_the_consented_version(hostile: HostileServer, folder: Path) -> None:
    """The first GET is cut; the retry inside the same download meets another version."""
    hostile.lies.short_by = len(DATA) // 2
    gets = []

    def second_get_changes(request: Seen) -> None:
        if request.method == "GET" and request.path.startswith("/files/"):
            gets.append(request)
            if len(gets) == 2:
                hostile.lies.short_by, hostile.lies.other_version = 0, OTHER

    hostile.on_request = second_get_changes
    with client_for(hostile) as client:
        consented = client.check(NAME)
        with pytest.raises(OfferChangedError):
            client.download(NAME, folder, info=consented)
    assert len(gets) == 2
    check_folder(folder)


def test_a_receipt_that_says_unverified_leaves_no_file(hostile: HostileServer,
                                                       folder: Path) -> None:
    """The digest matched locally, but the server's receipt answer says no: nothing saved."""
    hostile.lies.receipt_verified = False
    download_fails(hostile, folder, DigestMismatchError)
    check_folder(folder)


def test_the_receipt_goes_before_the_file_gets_its_name(hostile: HostileServer,
                                                        folder: Path) -> None:
    named_at_receipt = []
    hostile.on_request = lambda request: named_at_receipt.append(
        (folder / NAME).exists()) if request.path == "/api/v1/receipts" else None
    with client_for(hostile) as client:
        client.download(NAME, folder)
    assert named_at_receipt == [False]
    check_folder(folder, {NAME: DATA})


def test_a_receipt_not_ready_is_asked_again(hostile: HostileServer, folder: Path) -> None:
    """The server holds a receipt RECEIPT_WAIT seconds, then says 503 not_ready: ask again,
    and tell the person the client is waiting for the server's SHA-256."""
    hostile.lies.no_digest = True
    hostile.lies.not_ready_times = 2
    events = Recorder()
    with client_for(hostile, listener=events, receipt_patience=30.0) as client:
        result = client.download(NAME, folder)
    assert result.verified
    assert len(events.of(DownloadVerifying)) == 3  # the local check, then two waits
    check_folder(folder, {NAME: DATA})


def test_a_receipt_never_ready_keeps_the_part(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_status = 503
    began = time.monotonic()
    error = download_fails(hostile, folder, UnverifiedError, receipt_patience=2.5)
    assert time.monotonic() - began < 10
    assert "SHA-256" in str(error) and "Retry" in str(error)
    assert (folder / f"{NAME}.part").stat().st_size == len(DATA)
    check_folder(folder)


def test_waiting_for_a_receipt_can_be_cancelled(hostile: HostileServer, folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_status = 503
    with client_for(hostile, receipt_patience=60.0) as client:
        hostile.on_request = lambda request: threading.Timer(0.3, client.cancel).start() \
            if request.path == "/api/v1/receipts" else None
        began = time.monotonic()
        with pytest.raises(CancelledError):
            client.download(NAME, folder)
    assert time.monotonic() - began < 10
    assert (folder / f"{NAME}.part").stat().st_size == len(DATA)
    check_folder(folder)


def test_a_receipt_for_bytes_not_delivered_keeps_the_part(hostile: HostileServer,
                                                          folder: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.receipt_status, hostile.lies.receipt_code = 403, "not_delivered"
    error = download_fails(hostile, folder, UnverifiedError)
    assert "did not send all of it" in str(error)
    assert (folder / f"{NAME}.part").stat().st_size == len(DATA)
    check_folder(folder)


def test_a_refused_receipt_after_a_local_match_still_saves(hostile: HostileServer,
                                                          folder: Path) -> None:
    hostile.lies.receipt_status, hostile.lies.receipt_code = 403, "not_delivered"
    with client_for(hostile) as client:
        assert client.download(NAME, folder).verified
    check_folder(folder, {NAME: DATA})


def test_a_receipt_held_by_the_server_is_waited_for(hostile: HostileServer,
                                                    folder: Path) -> None:
    """The server may hold a receipt up to RECEIPT_WAIT_SECONDS: longer than a short
    time-out, so the receipt's own exchange must allow more."""
    hostile.lies.no_digest = True
    hostile.lies.receipt_delay = 2.0
    with client_for(hostile, timeout=1.0) as client:
        assert client.download(NAME, folder).verified
    check_folder(folder, {NAME: DATA})


# --- issue 9: a deadline per exchange, not per recv ------------------------------------------


def fails_within(hostile: HostileServer, seconds: float, call: Callable[[], object]
                 ) -> FilecastError:
    """Run ``call`` expecting a FilecastError within ``seconds``; stop the server if not."""
    began = time.monotonic()
    running = Background(call)
    try:
        with pytest.raises(FilecastError) as failed:
            running.join(seconds)
    finally:
        hostile.stop()  # a client still reading gets EOF and ends
    assert time.monotonic() - began < seconds
    return failed.value


def test_endless_100_continue_is_cut_at_the_deadline(hostile: HostileServer) -> None:
    hostile.lies.endless_continue = True
    with client_for(hostile, timeout=2.0) as client:
        error = fails_within(hostile, 8, client.connect)
    assert "did not finish answering within 2 seconds" in str(error)


def test_an_offer_trickled_byte_by_byte_is_cut_at_the_deadline(hostile: HostileServer) -> None:
    hostile.lies.trickle = 0.5
    with client_for(hostile, timeout=2.0) as client:
        error = fails_within(hostile, 8, client.connect)
    assert "did not finish answering within 2 seconds" in str(error)


def test_endless_100_continue_before_a_file(hostile: HostileServer, folder: Path) -> None:
    with client_for(hostile, timeout=2.0, retries=0) as client:
        info = client.check(NAME)
        hostile.lies.endless_continue = True
        error = fails_within(hostile, 8, lambda: client.download(NAME, folder, info=info))
    assert "did not finish answering within 2 seconds" in str(error)
    assert "partial" not in str(error)  # nothing was saved, so nothing is said to be kept
    check_folder(folder)
