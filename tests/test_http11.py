"""Unit tests of core/wire/http11.py: strict request heads; every refusal is an HttpError."""

from __future__ import annotations

import pytest

from core.wire.http11 import (
    MAX_BODY_BYTES,
    MAX_FIELDS,
    HttpError,
    Request,
    check_prefix,
    content_length,
    find_head_end,
    parse_request_head,
    response_head,
)


def head(*lines: str) -> bytes:
    """A request head from lines (latin-1), ending with the blank line."""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def refused(data: bytes) -> HttpError:
    """The HttpError parse_request_head raises for ``data``."""
    with pytest.raises(HttpError) as caught:
        parse_request_head(data)
    return caught.value


def test_good_get() -> None:
    request = parse_request_head(head(
        "GET /files/r%C3%A9sum%C3%A9.txt?x=1 HTTP/1.1",
        "Host: example:5001",
        "User-Agent: curl/8.0",
        "Range:   bytes=0-9  ",
        "X-Filecast-Client-Id: abcdefgh",
    ))
    assert request.method == "GET"
    assert request.target == "/files/r%C3%A9sum%C3%A9.txt?x=1"
    assert request.path == "/files/r%C3%A9sum%C3%A9.txt"  # not decoded here
    assert request.query == "x=1"
    assert request.version == (1, 1)
    assert request.header("HOST") == "example:5001"
    assert request.header("range") == "bytes=0-9"  # surrounding whitespace trimmed
    assert request.header("x-filecast-client-id") == "abcdefgh"
    assert request.header("missing") is None
    assert request.keep_alive


def test_repeated_fields_are_joined() -> None:
    request = parse_request_head(head(
        "GET / HTTP/1.1", "Host: x", "If-None-Match: \"a\"", "if-none-match: \"b\""))
    assert request.header("If-None-Match") == '"a", "b"'


def test_absolute_form() -> None:
    request = parse_request_head(head(
        "GET http://example.com:5001/files/test.txt?q=1 HTTP/1.1", "Host: example.com"))
    assert request.path == "/files/test.txt"
    assert request.query == "q=1"
    bare = parse_request_head(head("GET http://example.com HTTP/1.1", "Host: example.com"))
    assert bare.path == "/"


def test_options_asterisk() -> None:
    assert parse_request_head(head("OPTIONS * HTTP/1.1", "Host: x")).path == "*"
    assert refused(head("GET * HTTP/1.1", "Host: x")).status == 400


def test_http10_needs_no_host() -> None:
    request = parse_request_head(head("GET / HTTP/1.0"))
    assert request.version == (1, 0)
    assert not request.keep_alive


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [
        ("1.1", None, True),
        ("1.1", "close", False),
        ("1.1", "Close", False),
        ("1.1", "keep-alive, close", False),
        ("1.1", "keep-alive", True),
        ("1.1", "upgrade", True),
        ("1.0", None, False),
        ("1.0", "keep-alive", True),
        ("1.0", "Keep-Alive", True),
        ("1.0", "close", False),
    ],
)
def test_keep_alive(version: str, connection: str | None, keep: bool) -> None:
    lines = [f"GET / HTTP/{version}", "Host: x"]
    if connection is not None:
        lines.append(f"Connection: {connection}")
    assert parse_request_head(head(*lines)).keep_alive is keep


@pytest.mark.parametrize(
    "data",
    [
        head("GET / HTTP/1.1"),  # HTTP/1.1 needs Host
        head("GET / HTTP/1.1", "host-name: x"),
        head("GET / HTTP/1.1", "Host: x", "X-Folded: a", " b"),  # obs-fold
        head("GET / HTTP/1.1", "Host: x", "X-Folded: a", "\tb"),
        head("GET / HTTP/1.1", "Host: x", "X-Bad: a\x00b"),  # NUL in a value
        head("GET / HTTP/1.1", "Host: x", "X-B\x00ad: a"),  # NUL in a name
        head("GET / HTTP/1.1", "Host: x", "X-Bad: a\x1bb"),
        head("GET / HTTP/1.1", "Host: x", "X-Bad: a\x7f"),
        head("GET / HTTP/1.1", "Host: x", "X-Bad: a\rb"),
        head("GET / HTTP/1.1", "Host: x", "X-Bad: a\nb"),
        head("GET / HTTP/1.1", "Host: x", "No colon here"),
        head("GET / HTTP/1.1", "Host: x", ": no name"),
        head("GET / HTTP/1.1", "Host: x", "Bad Name: x"),
        head("GET / HTTP/1.1", "Host: x", "Bad(name): x"),
        head("GET / HTTP/1.1", "Host : x"),  # space before the colon
        head("GET / HTTP/1.1", "Host: x", "Content-Length: 1", "Content-Length: 2"),
        head("GET  / HTTP/1.1", "Host: x"),
        head("GET / HTTP/1.1 ", "Host: x"),
        head("GET /", "Host: x"),
        head("GET / HTTP/1", "Host: x"),
        head("GET / http/1.1", "Host: x"),
        head("GET / HTTP/1.1x", "Host: x"),
        head("G(T / HTTP/1.1", "Host: x"),
        head("", "Host: x"),
        head("GET files HTTP/1.1", "Host: x"),  # not a path
        head("GET ftp://x/ HTTP/1.1", "Host: x"),
        head("GET http://[::1/ HTTP/1.1", "Host: x"),  # an unparseable absolute-form
        b"\x16\x03\x01\x00\xa5\x01\r\n\r\n",  # TLS ClientHello
    ],
)
def test_bad_requests_are_400(data: bytes) -> None:
    error = refused(data)
    assert (error.status, error.code, error.close) == (400, "bad_request", True)


@pytest.mark.parametrize("version", ["2.0", "0.9", "1.2", "3.0"])
def test_other_versions_are_505(version: str) -> None:
    error = refused(head(f"GET / HTTP/{version}", "Host: x"))
    assert (error.status, error.code) == (505, "version")


def test_too_many_fields_is_431() -> None:
    fields = [f"X-F{i}: {i}" for i in range(MAX_FIELDS)]
    assert parse_request_head(head("GET / HTTP/1.1", "Host: x", *fields[:-1])).headers
    error = refused(head("GET / HTTP/1.1", "Host: x", *fields))
    assert (error.status, error.code) == (431, "headers_too_large")


def test_too_large_head_is_431() -> None:
    error = refused(head("GET /" + "a" * 20_000 + " HTTP/1.1", "Host: x"))
    assert (error.status, error.code) == (431, "headers_too_large")


def test_identical_content_lengths_are_one() -> None:
    request = parse_request_head(head(
        "POST / HTTP/1.1", "Host: x", "Content-Length: 5", "Content-Length: 5"))
    assert content_length(request) == 5


def test_a_post_without_a_length_is_411() -> None:
    with pytest.raises(HttpError) as refused:
        content_length(post())
    assert refused.value.status == 411


def test_a_get_without_a_length_has_no_body() -> None:
    request = parse_request_head(head("GET /api/v1/offer HTTP/1.1", "Host: x"))
    assert content_length(request) == 0


def post(*fields: str) -> Request:
    """A parsed POST with the given header fields."""
    return parse_request_head(head("POST /api/v1/decisions HTTP/1.1", "Host: x", *fields))


@pytest.mark.parametrize(
    ("fields", "length"),
    [(("Content-Length: 0",), 0), (("Content-Length: 42",), 42),
     ((f"Content-Length: {MAX_BODY_BYTES}",), MAX_BODY_BYTES),
     (("Content-Length: " + "0" * 5000 + "42",), 42)],
)
def test_content_length(fields: tuple[str, ...], length: int) -> None:
    assert content_length(post(*fields)) == length


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ("Transfer-Encoding: chunked", 501),
        ("Transfer-Encoding: gzip, chunked", 501),
        ("Content-Length: -1", 400),
        ("Content-Length: +5", 400),
        ("Content-Length: 1e3", 400),
        ("Content-Length: 0x10", 400),
        ("Content-Length: ", 400),
        ("Content-Length: 5, 5", 400),
        ("Content-Length: \xb2", 400),  # '²' is a digit to str.isdigit, not to HTTP
        ("Content-Length: \xb9\xb3", 400),
        (f"Content-Length: {MAX_BODY_BYTES + 1}", 413),
        ("Content-Length: 10000000", 413),
        (f"Content-Length: {10**40}", 413),
        ("Content-Length: " + "9" * 5000, 413),  # once a ValueError from int() (issue 5)
    ],
)
def test_content_length_refused(field: str, status: int) -> None:
    with pytest.raises(HttpError) as caught:
        content_length(post(field))
    assert caught.value.status == status


def test_transfer_encoding_wins_over_content_length() -> None:
    with pytest.raises(HttpError) as caught:
        content_length(post("Content-Length: 5", "Transfer-Encoding: chunked"))
    assert (caught.value.status, caught.value.code) == (501, "not_implemented")


def test_find_head_end() -> None:
    data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY"
    assert find_head_end(data) == len(data) - 4
    assert find_head_end(data[:-6]) == -1
    assert find_head_end(data, start=len(data) - 5) == len(data) - 4  # looks back 3 bytes
    assert find_head_end(b"GET / HTTP/1.1\n\n") == -1  # bare LF is not a head end


def test_response_head() -> None:
    data = response_head(206, [("Content-Range", "bytes 0-0/5"), ("Content-Length", "1")])
    assert data == (b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/5\r\n"
                    b"Content-Length: 1\r\n\r\n")
    assert response_head(599, ()).startswith(b"HTTP/1.1 599 Unknown\r\n")


# --- issue 9, item 7: answer garbage at once, duplicate Host ---------------------------

def test_two_host_fields_are_400() -> None:
    # RFC 9112 §3.2: more than one Host field line is a 400, even when they agree.
    assert refused(head("GET / HTTP/1.1", "Host: a", "Host: a")).status == 400
    assert refused(head("GET / HTTP/1.1", "Host: a", "host: b")).status == 400


def test_leading_empty_lines_are_ignored() -> None:
    # RFC 9112 §2.2: a server SHOULD ignore at least one CRLF before the request line.
    request = parse_request_head(b"\r\n" + head("GET / HTTP/1.1", "Host: a"))
    assert request.path == "/"


@pytest.mark.parametrize("prefix", [
    b"G", b"GET", b"GET ", b"GET /files/a", b"GET /files/a HTTP/1.", b"GET / HTTP/1.1\r",
    b"GET / HTTP/1.1\r\nHost: a", b"\r\n", b"\r\nGE", b"POST /api/v1/decisions HTTP/1.1\r\n",
])
def test_a_request_still_arriving_is_not_judged(prefix: bytes) -> None:
    check_prefix(prefix)  # nothing raised: it may yet become a good request


@pytest.mark.parametrize("prefix", [
    bytes.fromhex("160301020001"),  # a TLS ClientHello: someone typed https://
    b"SSH-2.0-OpenSSH_9.6\r\n",  # an SSH banner: a whole line that is no request line
    b"\x00\x01\x02garbage",
    b"GET\t/ HTTP/1.1",  # a tab is no separator
    b"GE(T / HTTP/1.1",  # not a token
    b"GET / HTTP/1.1\n",  # a bare LF
    b"GET /a b HTTP/1.1\r\n",  # three spaces
    b"GET /\x01 HTTP",  # a control in the target
    b"A" * 40,  # no method is that long
    b"GET / HTTP/9.9\r\n",  # a finished line with a version we do not speak
])
def test_bytes_that_cannot_become_a_request_are_refused_at_once(prefix: bytes) -> None:
    with pytest.raises(HttpError) as caught:
        check_prefix(prefix)
    assert caught.value.status in (400, 505)
    assert caught.value.close


def test_a_tls_hello_is_told_to_use_http() -> None:
    with pytest.raises(HttpError) as caught:
        check_prefix(bytes.fromhex("16030100a5010000a10303"))
    assert "http://" in caught.value.message
