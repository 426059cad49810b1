"""Unit tests of core/wire/protocol.py: the wire formats of docs/PROTOCOL.md as pure functions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ProtocolError
from core.wire.protocol import (
    FileInfo,
    Offer,
    clean_client_id,
    clean_client_name,
    content_disposition,
    decode_path,
    encode_client_name,
    file_path,
    is_sha256_hex,
    offer_json,
    parse_content_disposition,
    parse_offer,
    parse_repr_digest,
    repr_digest,
)
from core.wire.ranges import (
    ByteRange,
    RangeNotSatisfiable,
    etag_matches,
    if_range_allows,
    parse_range,
)

GIB = 1024**3
ETAG = '"b-1858a2f0c7e3c400"'
LAST_MODIFIED = "Mon, 30 Nov 2026 06:21:02 GMT"
TEST_TXT_SHA = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"

# --- ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-0", 100, ByteRange(0, 0)),
        ("bytes=0-", 100, ByteRange(0, 99)),
        ("bytes=10-19", 100, ByteRange(10, 19)),
        ("bytes=90-1000", 100, ByteRange(90, 99)),  # clipped to the end
        ("bytes=99-99", 100, ByteRange(99, 99)),
        ("bytes=-5", 100, ByteRange(95, 99)),
        ("bytes=-500", 100, ByteRange(0, 99)),  # suffix longer than the file
        ("bytes=5-5", 100, ByteRange(5, 5)),
        (" bytes = 3-4 ", 100, ByteRange(3, 4)),
        ("BYTES=3-4", 100, ByteRange(3, 4)),
        ("bytes=1-2,4-5", 100, None),  # several ranges: whole file (§14.2)
        ("items=0-1", 100, None),  # another unit: ignored
        ("abc", 100, None),  # not a range at all: ignored
        ("bytes=0-", 1, ByteRange(0, 0)),
        ("bytes=-1", 1, ByteRange(0, 0)),
        # 64-bit sizes: files over 4 GiB work
        (f"bytes={4 * GIB + 7}-", 5 * GIB, ByteRange(4 * GIB + 7, 5 * GIB - 1)),
        (f"bytes={4 * GIB}-{4 * GIB + 99}", 5 * GIB, ByteRange(4 * GIB, 4 * GIB + 99)),
        (f"bytes=-{GIB}", 5 * GIB, ByteRange(4 * GIB, 5 * GIB - 1)),
        (f"bytes=0-{10**30}", 5 * GIB, ByteRange(0, 5 * GIB - 1)),
        # past int()'s 4300-digit limit: once a ValueError that crashed the worker (issue 5)
        ("bytes=0-" + "9" * 5000, 100, ByteRange(0, 99)),
        ("bytes=-" + "9" * 5000, 100, ByteRange(0, 99)),
        ("bytes=" + "0" * 5000 + "7-", 100, ByteRange(7, 99)),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=-0", 100),  # empty suffix
        ("bytes=5-2", 100),  # ends before it starts
        ("bytes=100-", 100),  # starts at the end
        ("bytes=100-200", 100),
        ("bytes=abc", 100),
        ("bytes=-", 100),
        ("bytes=", 100),
        ("bytes=1-2-3", 100),
        ("bytes=a-5", 100),
        ("bytes=0-", 0),  # an empty file has no bytes to range over
        ("bytes=-5", 0),
        ("bytes=0-0", 0),
        (f"bytes={5 * GIB}-", 5 * GIB),
        (f"bytes={10**30}-", 5 * GIB),
        ("bytes=" + "9" * 5000 + "-", 5 * GIB),
        ("bytes=\u0663-", 100),  # an Arabic-Indic 3 is a digit to \d, not to HTTP
    ],
)
def test_parse_range_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


def test_byte_range_length_and_content_range() -> None:
    span = ByteRange(4 * GIB, 5 * GIB - 1)
    assert span.length == GIB
    assert span.content_range(5 * GIB) == f"bytes {4 * GIB}-{5 * GIB - 1}/{5 * GIB}"


# --- validators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_range", "allowed"),
    [
        (None, True),
        (ETAG, True),
        (f"  {ETAG} ", True),
        ('"other"', False),
        (f"W/{ETAG}", False),  # weak validators never satisfy If-Range
        (LAST_MODIFIED, True),
        ("Mon, 30 Nov 2026 06:21:03 GMT", False),
        ("Monday, 30-Nov-26 06:21:02 GMT", False),  # only the exact date counts
        ("garbage", False),
        ("", False),
    ],
)
def test_if_range_allows(if_range: str | None, allowed: bool) -> None:
    assert if_range_allows(if_range, ETAG, LAST_MODIFIED) is allowed


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (ETAG, True),
        ("*", True),
        (f'"x", {ETAG}', True),
        (f'"x",{ETAG} , "y"', True),
        (f"W/{ETAG}", True),  # If-None-Match uses the weak comparison
        ('"x"', False),
        ('"b-1858a2f0c7e3c40"', False),
        ("", False),
    ],
)
def test_etag_matches(header: str, matches: bool) -> None:
    assert etag_matches(header, ETAG) is matches


# --- digests ---------------------------------------------------------------------------


def test_repr_digest_known_values() -> None:
    # RFC 9530 §3 example: the representation {"hello": "world"}
    rfc_body = hashlib.sha256(b'{"hello": "world"}').hexdigest()
    assert repr_digest(rfc_body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    hello = hashlib.sha256(b"hello world").hexdigest()
    assert repr_digest(hello) == "sha-256=:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=:"
    # the example of docs/PROTOCOL.md
    assert repr_digest(TEST_TXT_SHA) == "sha-256=:qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=:"


@given(st.binary(min_size=32, max_size=32))
def test_repr_digest_round_trip(raw: bytes) -> None:
    assert parse_repr_digest(repr_digest(raw.hex())) == raw.hex()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("sha-256=:qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=:", TEST_TXT_SHA),
        ("SHA-256=:qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=:", TEST_TXT_SHA),
        (
            "sha-512=:AAAA:, sha-256=:qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=:",
            TEST_TXT_SHA,
        ),
        ("sha-512=:AAAA:", None),  # no sha-256 member
        ("sha-256=qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=", None),  # not a byte sequence
        ("sha-256=:not base64!:", None),
        ("sha-256=:AAAA:", None),  # wrong length
        ("sha-256", None),
    ],
)
def test_parse_repr_digest(value: str | None, expected: str | None) -> None:
    assert parse_repr_digest(value) == expected


def test_is_sha256_hex() -> None:
    assert is_sha256_hex(TEST_TXT_SHA)
    assert not is_sha256_hex(TEST_TXT_SHA.upper())
    assert not is_sha256_hex(TEST_TXT_SHA[:-1])
    assert not is_sha256_hex(None)
    assert not is_sha256_hex(123)


# --- Content-Disposition ---------------------------------------------------------------

AWKWARD_NAMES = [
    "test.txt",
    "résumé final.txt",
    'say "hi".txt',
    "100% done.txt",
    "a;b.txt",
    "it's.txt",
    "back\\slash.txt",
    "日本語 ファイル.pdf",
    "emoji 😀.png",
    "a%20b.txt",
    "x; filename*=UTF-8''evil.exe",  # a name that looks like another parameter
    'x"; filename*=UTF-8\'\'evil.exe; y="',
    "",
]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_content_disposition_round_trip(name: str) -> None:
    value = content_disposition(name)
    assert value.startswith("attachment; filename=\"")
    value.encode("ascii")  # the header itself is plain ASCII
    assert parse_content_disposition(value) == name


def test_content_disposition_fallback_is_plain_ascii() -> None:
    value = content_disposition('résumé "final" 100%.txt')
    assert value == (
        "attachment; filename=\"resume _final_ 100_.txt\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20100%25.txt"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_content_disposition_property(name: str) -> None:
    assert parse_content_disposition(content_disposition(name)) == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("attachment", None),
        ('attachment; filename="plain.txt"', "plain.txt"),
        ("attachment; filename=bare.txt", "bare.txt"),
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt", "€ rates.txt"),
        ("attachment; filename*=utf-8'en'x.txt; filename=\"y.txt\"", "x.txt"),
        ("attachment; filename=\"y.txt\"; filename*=UTF-8''x.txt", "x.txt"),
        # an undecodable filename* falls back to the plain name
        ("attachment; filename=\"y.txt\"; filename*=UTF-8''%FF.txt", "y.txt"),
        ("attachment; filename=\"y.txt\"; filename*=nosuchcharset''x.txt", "y.txt"),
    ],
)
def test_parse_content_disposition(value: str | None, expected: str | None) -> None:
    assert parse_content_disposition(value) == expected


# --- paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("test.txt", "test.txt"),
        ("r%C3%A9sum%C3%A9%20final.txt", "résumé final.txt"),
        ("%2e%2e", ".."),
        ("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"),
        ("%252e%252e%252f", "%2e%2e%2f"),  # decoded exactly once
        ("%252e", "%2e"),
        ("100%", "100%"),  # a stray percent stays literal
        ("%zz", "%zz"),
        ("", ""),
    ],
)
def test_decode_path(raw: str, decoded: str) -> None:
    assert decode_path(raw) == decoded


@pytest.mark.parametrize(
    "raw",
    [
        "test.txt%00.png",
        "%00",
        "a%0Ab",
        "a%0d%0aSet-Cookie:x",
        "a%7Fb",
        "a%1Bb",
        "%FF",
        "%C3",  # truncated UTF-8
        "%C0%AE",  # overlong '.'
        "%ED%A0%80",  # an encoded surrogate
        "a b",
        "a\tb",
        "a\x00b",
    ],
)
def test_decode_path_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        decode_path(raw)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"))))
def test_file_path_round_trip(name: str) -> None:
    path = file_path(name)
    assert path.startswith("/files/")
    # the name's own '/' separate folders (issue 12); nothing else becomes one
    assert path[len("/files/"):].count("/") == name.count("/")
    assert decode_path(path[len("/files/"):]) == name


# --- offer bodies ----------------------------------------------------------------------

OFFER = Offer(
    server="Filecast/0.1.0",
    name="alice-laptop",
    message="Enter 'test.txt' when prompted to download the document...",
    files=(
        FileInfo("test.txt", 11, TEST_TXT_SHA, "2026-11-30T06:21:02Z", ETAG),
        FileInfo("résumé final.txt", 5 * GIB, None, "2026-11-30T06:21:02Z", '"x-y"'),
    ),
)


def offer_body(**changes: Any) -> dict[str, Any]:
    """The JSON of OFFER with top-level changes (None deletes a key)."""
    body: dict[str, Any] = json.loads(offer_json(OFFER))
    for key, value in changes.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    return body


def file_entry(**changes: Any) -> dict[str, Any]:
    """The first files entry with changes (None deletes a key unless it is sha256)."""
    entry = dict(offer_body()["files"][0])
    for key, value in changes.items():
        if value is None and key != "sha256":
            del entry[key]
        else:
            entry[key] = value
    return entry


def test_offer_json_matches_the_documented_shape() -> None:
    body = json.loads(offer_json(OFFER))
    assert body["version"] == 1
    assert body["files"][0] == {
        "name": "test.txt",
        "size": 11,
        "sha256": TEST_TXT_SHA,
        "modified": "2026-11-30T06:21:02Z",
        "etag": ETAG,
        "url": "/files/test.txt",
    }
    assert body["files"][1]["sha256"] is None
    assert body["files"][1]["url"] == "/files/r%C3%A9sum%C3%A9%20final.txt"
    assert OFFER.find("résumé final.txt") is OFFER.files[1]
    assert OFFER.find("test") is None


def test_offer_round_trip() -> None:
    assert parse_offer(offer_json(OFFER)) == OFFER


@pytest.mark.parametrize(
    "body",
    [
        offer_body(version=2),
        offer_body(version="1"),
        offer_body(version=None),
        offer_body(server=None),
        offer_body(name=5),
        offer_body(message=None),
        offer_body(files=None),
        offer_body(files="test.txt"),
        offer_body(files={"name": "x"}),
        offer_body(files=[["test.txt", 11]]),
        offer_body(files=[file_entry(size="11")]),
        offer_body(files=[file_entry(size=-1)]),
        offer_body(files=[file_entry(size=1.5)]),
        offer_body(files=[file_entry(size=True)]),
        offer_body(files=[file_entry(sha256=TEST_TXT_SHA.upper())]),
        offer_body(files=[file_entry(sha256="abc")]),
        offer_body(files=[file_entry(name=None)]),
        offer_body(files=[file_entry(name=7)]),
        offer_body(files=[file_entry(etag=None)]),
        offer_body(files=[file_entry(modified=0)]),
        [offer_body()],
    ],
)
def test_parse_offer_rejects(body: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_offer(json.dumps(body).encode())


@pytest.mark.parametrize("data", [b"", b"not json", b"\xff\xfe", b"null", b"[1]", b"[" * 5000])
def test_parse_offer_rejects_non_objects(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_offer(data)


def test_parse_offer_accepts_unknown_fields_and_null_digest() -> None:
    body = offer_body(extra={"future": True})
    body["files"][0]["sha256"] = None
    body["files"][0]["thumbnail"] = "later"
    offer = parse_offer(json.dumps(body).encode())
    assert offer.files[0].sha256 is None


# --- client identity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abcdefgh", "abcdefgh"),
        ("A1_-" * 16, "A1_-" * 16),  # 64 characters
        ("abcdefg", None),  # 7
        ("a" * 65, None),
        ("abcdefg!", None),
        ("abcdefgh\n", None),
        ("abcdéfgh", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_client_id(value: str | None, expected: str | None) -> None:
    assert clean_client_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bob", "Bob"),
        ("Bj%C3%B6rn%27s%20laptop", "Björn's laptop"),
        ("%20%20", None),
        ("", None),
        (None, None),
        ("%FF", None),
        ("a" * 200, "a" * 200),
        ("a" * 201, None),
        ("%C3%A9" * 100, "é" * 100),  # exactly 200 bytes
        ("%C3%A9" * 101, None),
    ],
)
def test_clean_client_name(value: str | None, expected: str | None) -> None:
    assert clean_client_name(value) == expected


def test_encode_client_name_round_trip_and_cap() -> None:
    assert clean_client_name(encode_client_name("Björn's laptop")) == "Björn's laptop"
    long = "é" * 150  # 300 bytes: cut at a character boundary to 200 bytes
    assert clean_client_name(encode_client_name(long)) == "é" * 100


# --- a pasted link to a file (issue 11) ---------------------------------------------------

def test_a_pasted_link_names_its_file() -> None:
    from core.wire.protocol import file_in_url
    assert file_in_url("http://192.168.1.20:5001/files/big2g.bin") == "big2g.bin"
    assert file_in_url(" http://h:5001/files/Week%2012%2Fnotes%20%C3%A9.pdf ") == \
        "Week 12/notes é.pdf"
    assert file_in_url("http://192.168.1.20:5001/") is None
    assert file_in_url("192.168.1.20:5001") is None
    assert file_in_url("http://h/files/") is None
    assert file_in_url("http://h/files/%00x") is None  # never a control character
    assert file_in_url("http://h/files/%ff") is None  # not UTF-8
