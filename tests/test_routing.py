"""Unit tests of core/server/routing.py: which answer each request gets, for a real offered file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from core.server.entries import ServedFile, stat_file
from core.server.offer import OfferState
from core.server.routing import Outcome, Reply, route
from core.wire.http11 import HttpError, parse_request_head
from core.wire.protocol import file_path, parse_repr_digest

DATA = b"hello world, this is the offered file.\n"
SHA = hashlib.sha256(DATA).hexdigest()
NAME = "résumé final.txt"


@pytest.fixture
def entry(tmp_path: Path) -> ServedFile:
    path = tmp_path / NAME
    path.write_bytes(DATA)
    os.utime(path, ns=(1_796_019_662_000_000_000, 1_796_019_662_000_000_000))
    return dataclasses.replace(stat_file(str(path)), sha256=SHA)


@pytest.fixture
def state(entry: ServedFile) -> OfferState:
    return OfferState((entry,), "Enter the name when prompted...", "test-server")


LATER = 4_000_000_000.0  # "now" for route(): long after every test file was written

def request(method: str, target: str, *headers: str, body: bytes = b"") -> Any:
    """A parsed request head."""
    lines = [f"{method} {target} HTTP/1.1", "Host: x", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    if method == "POST" and not any(h.lower().startswith("content-type:") for h in headers):
        lines.append("Content-Type: application/json")
    return parse_request_head(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def answer(state: OfferState, method: str, target: str, *headers: str,
           body: bytes = b"") -> Reply:
    """route() for a request built from the arguments."""
    return route(request(method, target, *headers, body=body), body, state, now=LATER)


def refusal(state: OfferState, method: str, target: str, *headers: str,
            body: bytes = b"") -> HttpError:
    """The HttpError route() raises."""
    with pytest.raises(HttpError) as caught:
        answer(state, method, target, *headers, body=body)
    return caught.value


def headers_of(reply: Reply) -> dict[str, str]:
    """Reply headers by lower-case name."""
    return {name.lower(): value for name, value in reply.headers}


def test_offer(state: OfferState, entry: ServedFile) -> None:
    reply = answer(state, "GET", "/api/v1/offer")
    assert reply.status == 200
    assert reply.outcome is Outcome.OFFER_SENT
    assert headers_of(reply)["content-type"] == "application/json"
    assert int(headers_of(reply)["content-length"]) == len(reply.body)
    body = json.loads(reply.body)
    assert body["version"] == 1
    assert body["name"] == "test-server"
    assert body["message"] == "Enter the name when prompted..."
    assert body["files"] == [{
        "name": NAME, "size": len(DATA), "sha256": SHA, "modified": "2026-11-30T06:21:02Z",
        "etag": entry.etag, "url": file_path(NAME),
    }]
    head = answer(state, "HEAD", "/api/v1/offer")
    assert head.status == 200 and head.body == b""
    assert headers_of(head)["content-length"] == str(len(reply.body))


def test_head_file(state: OfferState, entry: ServedFile) -> None:
    reply = answer(state, "HEAD", file_path(NAME))
    assert reply.status == 200
    assert reply.outcome is Outcome.FILE_FOUND and reply.subject == NAME
    assert reply.body == b"" and reply.span is None  # nothing to stream
    h = headers_of(reply)
    assert h["content-length"] == str(len(DATA))
    assert h["content-type"] == "text/plain"  # résumé final.txt (issue 13: by extension)
    assert h["etag"] == entry.etag and h["etag"].startswith('"')
    assert h["last-modified"] == "Mon, 30 Nov 2026 06:21:02 GMT"
    assert h["accept-ranges"] == "bytes"
    assert h["cache-control"] == "no-cache"
    assert parse_repr_digest(h["repr-digest"]) == SHA
    assert h["content-disposition"] == (
        "attachment; filename=\"resume final.txt\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt")


def test_get_file(state: OfferState, entry: ServedFile) -> None:
    reply = answer(state, "GET", file_path(NAME))
    assert reply.status == 200
    assert reply.file == entry
    assert reply.span is not None and (reply.span.start, reply.span.end) == (0, len(DATA) - 1)
    assert headers_of(reply)["content-length"] == str(len(DATA))
    assert "content-range" not in headers_of(reply)


def test_no_repr_digest_until_hashed(state: OfferState, entry: ServedFile) -> None:
    unhashed = dataclasses.replace(state, files=(dataclasses.replace(entry, sha256=None),))
    reply = answer(unhashed, "HEAD", file_path(NAME))
    assert reply.status == 200
    assert "repr-digest" not in headers_of(reply)
    assert json.loads(answer(unhashed, "GET", "/api/v1/offer").body)["files"][0]["sha256"] is None


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    empty = OfferState((stat_file(str(path)),), "m", "s")
    reply = answer(empty, "GET", "/files/empty")
    assert reply.status == 200
    assert headers_of(reply)["content-length"] == "0"
    assert reply.span is not None and reply.span.length == 0
    assert refusal(empty, "GET", "/files/empty", "Range: bytes=0-").status == 416


@pytest.mark.parametrize("name", ["x", "résumé final", "RÉSUMÉ FINAL.TXT", "../" + NAME,
                                  NAME + "/", "/" + NAME, "..", "%2e%2e"])
def test_not_offered(state: OfferState, name: str) -> None:
    for method in ("GET", "HEAD"):
        reply = answer(state, method, file_path(name))
        assert reply.status == 404
        assert reply.outcome is Outcome.FILE_MISSING
        assert reply.subject == name
        assert reply.file is None
        if method == "GET":
            body = json.loads(reply.body)
            assert body["error"]["code"] == "not_offered"
            assert name in body["error"]["message"]
        else:
            assert reply.body == b""


def test_path_is_decoded_once(state: OfferState) -> None:
    quoted_twice = file_path(file_path(NAME)[len("/files/"):])  # %25C3%25A9...
    reply = answer(state, "GET", quoted_twice)
    assert reply.status == 404 and reply.subject == file_path(NAME)[len("/files/"):]


@pytest.mark.parametrize("target", ["/files/a%00b", "/files/%FF", "/files/a%0Ab"])
def test_malformed_name_is_400(state: OfferState, target: str) -> None:
    error = refusal(state, "GET", target)
    assert (error.status, error.code, error.close) == (400, "bad_request", True)


@pytest.mark.parametrize(
    ("method", "target", "allow"),
    [
        ("POST", file_path(NAME), "GET, HEAD"),
        ("DELETE", file_path(NAME), "GET, HEAD"),
        ("PUT", "/api/v1/offer", "GET, HEAD"),
        ("GET", "/api/v1/decisions", "POST"),
        ("HEAD", "/api/v1/receipts", "POST"),
        ("POST", "/", "GET, HEAD"),
    ],
)
def test_method_not_allowed(state: OfferState, method: str, target: str, allow: str) -> None:
    error = refusal(state, method, target)
    assert (error.status, error.code) == (405, "method_not_allowed")
    assert dict(error.headers)["Allow"] == allow
    assert not error.close


@pytest.mark.parametrize("target", ["/etc/passwd", "/files", "/api/v1", "/api/v1/offer/",
                                    "/../../etc/passwd", "/favicon.ico", "/files/"])
def test_unknown_path_is_404(state: OfferState, target: str) -> None:
    error = refusal(state, "GET", target)
    assert (error.status, error.code, error.close) == (404, "not_found", False)


def test_index_page(state: OfferState) -> None:
    reply = answer(state, "GET", "/")
    assert reply.status == 200
    page = reply.body.decode("utf-8")
    assert NAME in page and file_path(NAME) in page
    assert 'name="viewport" content="width=device-width' in page  # phones: not zoomed out
    assert headers_of(reply)["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=10-", 10, len(DATA) - 1), ("bytes=-5", len(DATA) - 5,
                                                              len(DATA) - 1),
     ("bytes=0-999999", 0, len(DATA) - 1)],
)
def test_range(state: OfferState, header: str, start: int, end: int) -> None:
    reply = answer(state, "GET", file_path(NAME), f"Range: {header}")
    assert reply.status == 206
    h = headers_of(reply)
    assert h["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert h["content-length"] == str(end - start + 1)
    assert parse_repr_digest(h["repr-digest"]) == SHA  # the whole file's digest
    assert reply.span is not None and (reply.span.start, reply.span.end) == (start, end)


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=9999999-", "bytes=-",
                                    "bytes=5-1", "bytes=-0", "bytes=x-"])
def test_range_not_satisfiable(state: OfferState, header: str) -> None:
    error = refusal(state, "GET", file_path(NAME), f"Range: {header}")
    assert (error.status, error.code) == (416, "bad_range")
    assert dict(error.headers)["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "lines=0-1"])
def test_ignored_ranges_send_everything(state: OfferState, header: str) -> None:
    reply = answer(state, "GET", file_path(NAME), f"Range: {header}")
    assert reply.status == 200
    assert headers_of(reply)["content-length"] == str(len(DATA))


def test_if_range(state: OfferState, entry: ServedFile) -> None:
    path = file_path(NAME)
    assert answer(state, "GET", path, "Range: bytes=5-", f"If-Range: {entry.etag}").status == 206
    assert answer(state, "GET", path, "Range: bytes=5-",
                  f"If-Range: {entry.last_modified}").status == 206
    for stale in ('"0-0"', f"W/{entry.etag}", "Sun, 29 Nov 2026 06:21:02 GMT"):
        reply = answer(state, "GET", path, "Range: bytes=5-", f"If-Range: {stale}")
        assert reply.status == 200
        assert headers_of(reply)["content-length"] == str(len(DATA))
    # a stale If-Range with a bad range: the whole file, not 416
    assert answer(state, "GET", path, "Range: bytes=999-", "If-Range: \"0-0\"").status == 200


def test_if_modified_since_an_unchanged_file_is_304(state: OfferState,
                                                     entry: ServedFile) -> None:
    """REDbot found the whole body sent again for the current date (issue 13; RFC 9110
    §13.1.3): a date at or after the file's Last-Modified is a 304."""
    path = file_path(NAME)
    for date in (entry.last_modified, "Fri, 01 Jan 2100 00:00:00 GMT"):
        reply = answer(state, "GET", path, f"If-Modified-Since: {date}")
        assert reply.status == 304 and reply.file is None and reply.body == b""
        assert headers_of(reply)["last-modified"] == entry.last_modified
    head = answer(state, "HEAD", path, f"If-Modified-Since: {entry.last_modified}")
    assert head.status == 304


def test_if_modified_since_counts_only_when_it_should(state: OfferState,
                                                      entry: ServedFile) -> None:
    """An older date, a date that is not an HTTP-date, and any If-None-Match (which
    decides alone, §13.1.3) leave the answer a 200; a Range then still applies."""
    path = file_path(NAME)
    for extra in (("If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT",),
                  ("If-Modified-Since: yesterday",),
                  ('If-None-Match: "0-0"', f"If-Modified-Since: {entry.last_modified}")):
        reply = answer(state, "GET", path, *extra)
        assert reply.status == 200, extra
    ranged = answer(state, "GET", path, "Range: bytes=0-4",
                    "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT")
    assert ranged.status == 206


def test_content_type_follows_the_extension_and_stays_an_attachment(tmp_path: Path) -> None:
    """Every file was application/octet-stream, a PDF included (issue 13)."""
    types = {"report.pdf": "application/pdf", "photo.JPG": "image/jpeg",
             "notes.txt": "text/plain", "page.html": "text/html", "data.unknownext":
             "application/octet-stream", "README": "application/octet-stream"}
    files = []
    for name in types:
        (tmp_path / name).write_bytes(b"x")
        files.append(stat_file(str(tmp_path / name)))
    offered = OfferState(tuple(files), "m", "test-server")
    for name, media_type in types.items():
        got = headers_of(answer(offered, "GET", file_path(name)))
        assert got["content-type"].split(";")[0] == media_type, name
        assert got["content-disposition"].startswith("attachment")
        assert got["x-content-type-options"] == "nosniff"


def test_if_none_match(state: OfferState, entry: ServedFile) -> None:
    path = file_path(NAME)
    for value in (entry.etag, "*", f'"x", {entry.etag}', f"W/{entry.etag}"):
        reply = answer(state, "GET", path, f"If-None-Match: {value}")
        assert reply.status == 304
        assert reply.file is None and reply.body == b""
        assert headers_of(reply)["etag"] == entry.etag
    assert answer(state, "GET", path, 'If-None-Match: "0-0"').status == 200


def body(**fields: Any) -> bytes:
    """A JSON request body with version 1 unless given."""
    return json.dumps({"version": 1, **fields}).encode("utf-8")


def test_decision(state: OfferState) -> None:
    reply = answer(state, "POST", "/api/v1/decisions",
                   body=body(file=NAME, decision="declined"))
    assert reply.status == 200
    assert reply.outcome is Outcome.DECLINED and reply.subject == NAME
    assert json.loads(reply.body) == {"version": 1, "recorded": True}


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b"[1, 2]", 400),
        (b"[" * 5000, 400),  # nested too deep for the JSON parser
        (b'{"version": 1' + b"0" * 5000 + b"}", 400),  # an int() ValueError once (issue 5)
        (body(version=2, file=NAME, decision="declined"), 400),
        (body(file=NAME), 400),
        (body(file=NAME, decision="accepted"), 400),
        (body(file=5, decision="declined"), 400),
        (body(file="passwd", decision="declined"), 404),
    ],
)
def test_bad_decisions(state: OfferState, data: bytes, status: int) -> None:
    assert refusal(state, "POST", "/api/v1/decisions", body=data).status == status


def receipt(entry: ServedFile, **changes: Any) -> bytes:
    """A receipt body for ``entry``, matching unless changed."""
    fields = {"file": entry.name, "etag": entry.etag, "bytes": entry.size, "sha256": SHA,
              **changes}
    return body(**fields)


def test_receipt_verified(state: OfferState, entry: ServedFile) -> None:
    reply = answer(state, "POST", "/api/v1/receipts", body=receipt(entry))
    assert reply.status == 200
    assert reply.outcome is Outcome.RECEIPT
    assert reply.receipt is not None and reply.receipt.verified
    assert json.loads(reply.body) == {"version": 1, "verified": True, "sha256": SHA}


@pytest.mark.parametrize("changes", [{"sha256": "0" * 64}, {"bytes": len(DATA) - 1}])
def test_receipt_not_verified(state: OfferState, entry: ServedFile,
                              changes: dict[str, Any]) -> None:
    reply = answer(state, "POST", "/api/v1/receipts", body=receipt(entry, **changes))
    assert reply.status == 200
    assert reply.receipt is not None and not reply.receipt.verified
    assert json.loads(reply.body) == {"version": 1, "verified": False, "sha256": SHA}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"etag": '"0-0"'}, 409, "changed"),
        ({"file": "passwd"}, 404, "not_offered"),
        ({"sha256": SHA.upper()}, 400, "bad_request"),
        ({"sha256": None}, 400, "bad_request"),
        ({"bytes": "11"}, 400, "bad_request"),
        ({"etag": None}, 400, "bad_request"),
        ({"version": 2}, 400, "bad_request"),
    ],
)
def test_bad_receipts(state: OfferState, entry: ServedFile, changes: dict[str, Any],
                      status: int, code: str) -> None:
    error = refusal(state, "POST", "/api/v1/receipts", body=receipt(entry, **changes))
    assert (error.status, error.code) == (status, code)


def test_receipt_waits_for_digest(state: OfferState, entry: ServedFile) -> None:
    unhashed = dataclasses.replace(state, files=(dataclasses.replace(entry, sha256=None),))
    reply = answer(unhashed, "POST", "/api/v1/receipts", body=receipt(entry))
    assert reply.outcome is Outcome.WAIT_DIGEST
    assert reply.subject == NAME
    assert reply.receipt is None


def test_an_if_range_date_counts_only_once_the_file_is_a_second_old(state: OfferState) -> None:
    """RFC 9110 §8.8.2.2: a Last-Modified date is a strong validator only when the file is
    at least one second older than the answer; a same-second edit otherwise gave a range
    of the new version to a client holding the old one (the adversarial pass)."""
    entry = state.files[0]
    modified = entry.mtime_ns / 1e9
    fields = ("Range: bytes=0-1", f"If-Range: {entry.last_modified}")
    fresh = route(request("GET", file_path(NAME), *fields), b"", state, now=modified + 0.5)
    assert fresh.status == 200
    settled = route(request("GET", file_path(NAME), *fields), b"", state, now=modified + 1.5)
    assert settled.status == 206


def test_if_modified_since_cannot_vouch_for_a_file_saved_this_second(
        state: OfferState, entry: ServedFile) -> None:
    """A version saved in the same second as the date a client holds looks unchanged by
    date: only a file at least a second older than the answer gets a 304 by date
    (RFC 9110 §8.8.2.2, as for If-Range); the ETag still can."""
    saved = entry.mtime_ns / 1e9
    since = f"If-Modified-Since: {entry.last_modified}"
    assert route(request("GET", file_path(NAME), since), b"", state, now=saved + 0.5).status \
        == 200
    assert route(request("GET", file_path(NAME), since), b"", state, now=saved + 1.0).status \
        == 304
    assert route(request("GET", file_path(NAME), f"If-None-Match: {entry.etag}"), b"", state,
                 now=saved + 0.5).status == 304
