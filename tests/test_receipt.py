"""core/client/receipt.py: the receipt decides whether a complete download gets its name.

docs/PROTOCOL.md, ``POST /api/v1/receipts``. When the server published no digest
(``deciding``), only its ``verified: true`` lets the file be saved; ``verified: false``
deletes the part; a server still hashing says ``503 not_ready`` and is asked again within
the patience; ``403 not_delivered`` keeps the part for Retry. When the digest already
matched locally, the server's word only matters if it is an explicit ``false``. These tests
run one Receipt against tests/hostile_server.py on 127.0.0.1 with a real part in tmp_path.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer, digest
from serverkit import Recorder

from core.client.http import Link
from core.client.partfile import PartFile
from core.client.receipt import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    Receipt,
    _code,
    _json_or_empty,
    _retry_after,
)
from core.errors import (
    CancelledError,
    DigestMismatchError,
    FileChangedError,
    UnverifiedError,
)
from core.events import DownloadVerifying, Event
from core.wire.protocol import RECEIPTS_PATH, FileInfo

NAME = "notes.pdf"
DATA = b"the notes, all of them\n" * 40
ETAG = '"3c0-1"'


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({NAME: DATA}) as server:
        yield server


@pytest.fixture
def part(tmp_path: Path) -> PartFile:
    """A complete, unsaved part and its metadata, as a download leaves them."""
    part = PartFile(tmp_path, NAME)
    part.path.write_bytes(DATA)
    part.meta_path.write_text("{}")
    return part


_links: list[Link] = []


@pytest.fixture(autouse=True)
def _drop_links() -> Iterator[None]:
    """Close every link a test opened."""
    yield
    while _links:
        _links.pop().drop()


def receipt_for(port: int, part: PartFile, listener: object | None = None,
                patience: float = 10.0) -> tuple[Receipt, Link, Recorder]:
    """A Receipt for DATA over a fresh link to 127.0.0.1:``port``."""
    link = Link("127.0.0.1", port, {}, timeout=5.0)
    _links.append(link)
    info = FileInfo(NAME, len(DATA), None, "2026-11-30T06:21:02Z", ETAG)
    recorder = Recorder()
    receipt = Receipt(link, listener or recorder, part, info,  # type: ignore[arg-type]
                      patience=patience)
    return receipt, link, recorder


def kept(part: PartFile) -> bool:
    return part.path.read_bytes() == DATA and part.meta_path.exists()


def receipts(server: HostileServer) -> list[dict[str, object]]:
    return [json.loads(s.body) for s in server.seen if s.path == RECEIPTS_PATH]


# --- the pure parts ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [
    ("3", 3.0), ("0", 0.1), ("999", MAX_RETRY_AFTER), (None, DEFAULT_RETRY_AFTER),
    ("Wed, 21 Oct 2015 07:28:00 GMT", DEFAULT_RETRY_AFTER), ("-1", DEFAULT_RETRY_AFTER),
    ("²", DEFAULT_RETRY_AFTER), ("1.5", DEFAULT_RETRY_AFTER), ("9" * 30, DEFAULT_RETRY_AFTER),
])
def test_retry_after_is_obeyed_within_bounds(value: str | None, seconds: float) -> None:
    assert _retry_after(value) == seconds


def test_only_a_string_error_code_counts() -> None:
    assert _code({"error": {"code": "not_ready", "message": "m"}}) == "not_ready"
    assert _code({"error": {"code": 503}}) is None
    assert _code({"error": "not_ready"}) is None
    assert _code({"verified": True}) is None


def test_an_answer_that_is_not_our_json_reads_as_empty() -> None:
    assert _json_or_empty(b"<html>busy</html>") == {}
    assert _json_or_empty(b"[1, 2]") == {}
    assert _json_or_empty(b'{"version": 99, "verified": true}') == {}
    assert _json_or_empty(b"\xff\xfe") == {}
    assert _json_or_empty(b'{"version": 1, "verified": true}')["verified"] is True


# --- against a server ------------------------------------------------------------------------


def test_a_verified_receipt_lets_the_file_be_saved(hostile: HostileServer,
                                                   part: PartFile) -> None:
    receipt, _, _ = receipt_for(hostile.port, part)
    receipt.confirm(digest(DATA), deciding=True)
    assert kept(part)
    assert receipts(hostile) == [{"version": 1, "file": NAME, "etag": ETAG,
                                  "bytes": len(DATA), "sha256": digest(DATA)}]


@pytest.mark.parametrize("deciding", [True, False])
def test_verified_false_deletes_the_part(hostile: HostileServer, part: PartFile,
                                         deciding: bool) -> None:
    hostile.lies.receipt_verified = False
    receipt, _, _ = receipt_for(hostile.port, part)
    with pytest.raises(DigestMismatchError, match="Nothing was saved") as caught:
        receipt.confirm(digest(DATA), deciding=deciding)
    assert not part.path.exists() and not part.meta_path.exists()
    said_damaged = "arrived damaged" in str(caught.value)
    assert said_damaged == deciding  # a local match that the server denies is said so


def test_a_server_not_ready_is_asked_again_after_its_retry_after(hostile: HostileServer,
                                                                 part: PartFile) -> None:
    hostile.lies.not_ready_times = 1  # 503 not_ready with Retry-After: 1, then the answer
    receipt, _, events = receipt_for(hostile.port, part, patience=5.0)
    began = time.monotonic()
    receipt.confirm(digest(DATA), deciding=True)
    assert 1.0 <= time.monotonic() - began < 3.0
    assert len(receipts(hostile)) == 2
    assert events.of(DownloadVerifying) == [DownloadVerifying(NAME)]  # the window says so
    assert kept(part)


def test_a_server_never_ready_is_given_up_on_within_the_patience(hostile: HostileServer,
                                                                  part: PartFile) -> None:
    hostile.lies.receipt_status = 503  # not_ready every time, no Retry-After: 1 s apart
    receipt, _, _ = receipt_for(hostile.port, part, patience=1.5)
    began = time.monotonic()
    with pytest.raises(UnverifiedError, match="press Retry"):
        receipt.confirm(digest(DATA), deciding=True)
    assert time.monotonic() - began < 1.5
    assert len(receipts(hostile)) == 2
    assert kept(part)


def test_a_retry_after_past_the_patience_is_not_waited_for(hostile: HostileServer,
                                                           part: PartFile) -> None:
    hostile.lies.not_ready_times = 1
    receipt, _, events = receipt_for(hostile.port, part, patience=0.5)
    began = time.monotonic()
    with pytest.raises(UnverifiedError):
        receipt.confirm(digest(DATA), deciding=True)
    assert time.monotonic() - began < 0.5
    assert events.of(DownloadVerifying) == []
    assert kept(part)


def test_not_delivered_keeps_the_part_and_says_why(hostile: HostileServer,
                                                   part: PartFile) -> None:
    hostile.lies.receipt_status, hostile.lies.receipt_code = 403, "not_delivered"
    receipt, _, _ = receipt_for(hostile.port, part)
    with pytest.raises(UnverifiedError, match="did not send all of it") as caught:
        receipt.confirm(digest(DATA), deciding=True)
    assert f"127.0.0.1:{hostile.port}" in str(caught.value)
    assert kept(part)


def test_a_file_changed_meanwhile_deletes_the_part(hostile: HostileServer,
                                                   part: PartFile) -> None:
    hostile.lies.receipt_status, hostile.lies.receipt_code = 409, "changed"
    receipt, _, _ = receipt_for(hostile.port, part)
    with pytest.raises(FileChangedError, match="Download it again"):
        receipt.confirm(digest(DATA), deciding=True)
    assert not part.path.exists()


def test_an_answer_that_is_not_ours_does_not_verify(hostile: HostileServer,
                                                    part: PartFile) -> None:
    hostile.lies.receipt_body = b"<html>OK</html>"
    receipt, _, _ = receipt_for(hostile.port, part)
    with pytest.raises(UnverifiedError):
        receipt.confirm(digest(DATA), deciding=True)
    assert kept(part)


@pytest.mark.parametrize(("status", "code"), [(403, "not_delivered"), (503, "not_ready"),
                                              (500, "internal")])
def test_after_a_local_match_only_an_explicit_false_stops_the_save(
        hostile: HostileServer, part: PartFile, status: int, code: str) -> None:
    hostile.lies.receipt_status, hostile.lies.receipt_code = status, code
    receipt, _, _ = receipt_for(hostile.port, part)
    receipt.confirm(digest(DATA), deciding=False)  # returns: the file may take its name
    assert len(receipts(hostile)) == 1  # and nobody waits for a server that is not needed
    assert kept(part)


@pytest.mark.parametrize("deciding", [True, False])
def test_a_server_gone_keeps_a_deciding_part_unsaved(part: PartFile, deciding: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed below: nothing listens there any more
    receipt, _, _ = receipt_for(port, part)
    if deciding:
        with pytest.raises(UnverifiedError, match="has not confirmed"):
            receipt.confirm(digest(DATA), deciding=True)
    else:
        receipt.confirm(digest(DATA), deciding=False)
    assert kept(part)


def test_a_cancel_while_waiting_ends_the_wait_and_keeps_the_part(hostile: HostileServer,
                                                                 part: PartFile) -> None:
    hostile.lies.receipt_status = 503

    class CancelOnWait:
        link: Link

        def on_event(self, event: Event) -> None:
            if isinstance(event, DownloadVerifying):
                self.link.cancel()

    listener = CancelOnWait()
    receipt, link, _ = receipt_for(hostile.port, part, listener=listener, patience=30.0)
    listener.link = link
    began = time.monotonic()
    with pytest.raises(CancelledError, match="download is kept"):
        receipt.confirm(digest(DATA), deciding=True)
    assert time.monotonic() - began < 0.9  # not the Retry-After second
    assert not link.cancelled.is_set()  # consumed: the next operation runs normally
    assert kept(part)
