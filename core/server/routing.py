"""What a request gets: a pure function from (request, body, offer snapshot) to a Reply.

No sockets and no files are touched here. A file name is decoded once (``requested_name``)
and looked up once; the Reply carries the file it found, so the session never looks again.
core.server.effects turns the Reply's ``outcome`` into the ledger line and the events; the
session only sends and records. Names in paths are only ever compared with the offer's names.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass

from core import PROTOCOL_VERSION
from core.server.archives import (
    SelectionPart,
    archive_headers,
    folder_of,
    layout,
    selected,
    selection_part,
)
from core.server.entries import ServedFile
from core.server.fileheaders import Headers, file_headers
from core.server.offer import OfferState
from core.server.page import PAGE_HEADERS, index_page
from core.server.static import STATIC_PREFIX, resource
from core.wire.archive import ARCHIVE_PATH, ARCHIVE_PREFIX, Layout
from core.wire.http11 import HttpError, Request
from core.wire.protocol import (
    DECISIONS_PATH,
    FILES_PREFIX,
    HEADER_CLIENT_ID,
    OFFER_PATH,
    RECEIPTS_PATH,
    SOFTWARE,
    clean_client_id,
    decode_path,
    dump_json,
    error_body,
    is_sha256_hex,
    offer_json,
)
from core.wire.ranges import (
    ByteRange,
    RangeNotSatisfiable,
    if_range_allows,
    not_modified,
    parse_range,
)
from core.wire.visit import VISIT_COOKIE, cookies, new_visit_id, set_visit_cookie

SERVER = SOFTWARE  # the Server header and the page's footer




class Outcome(enum.Enum):
    """What a reply means for the record (core.server.effects renders it)."""

    NONE = "none"
    OFFER_SENT = "offer_sent"
    FILE_FOUND = "file_found"
    FILE_MISSING = "file_missing"
    DECLINED = "declined"
    RECEIPT = "receipt"
    RECEIPT_AGAIN = "receipt_again"  # a receipt this download already had: no second line
    RECEIPT_REFUSED = "receipt_refused"
    WAIT_DIGEST = "wait_digest"
    ARCHIVE = "archive"  # many files in one tar (core.server.archives)
    RECEIPTS = "receipts"  # many receipts in one request, counted by the session
    DECLINED_MANY = "declined_many"  # a selection declined: a line per file


@dataclass(frozen=True)
class Receipt:
    """A client's report of what it received."""

    file: str
    etag: str
    size: int
    sha256: str
    verified: bool


@dataclass(frozen=True)
class Reply:
    """Everything needed to answer one request.

    ``file`` is the offered file the request named, found once (also for HEAD and while
    its digest is pending); ``span`` is the body to send from it, None for no body."""

    status: int
    headers: Headers
    body: bytes = b""
    file: ServedFile | None = None
    span: ByteRange | None = None
    close: bool = False
    outcome: Outcome = Outcome.NONE
    subject: str | None = None
    receipt: Receipt | None = None
    members: tuple[ServedFile, ...] = ()  # an archive's files, in order
    archive: Layout | None = None  # and where each one's bytes lie in it
    receipts: tuple[Receipt | str, ...] = ()  # each receipt, or why it cannot count
    part: SelectionPart | None = None  # an archive's place in a selection taken in several


@dataclass(frozen=True)
class FileTarget:
    """A ``/files/`` request's name, decoded once, and the offered file it names, looked up
    once (None: not offered); the session makes it, the router only reads it."""

    name: str
    file: ServedFile | None


def _page_start(query: str) -> int:
    """``from=N`` of ``/api/v1/offer?from=N`` (0 without it); 400 for anything else."""
    if not query:
        return 0
    key, _, value = query.partition("=")
    if key != "from" or not value.isdigit() or len(value) > 9:
        raise HttpError(400, "bad_request", "The offer is read as /api/v1/offer or"
                        " /api/v1/offer?from=N.")
    return int(value)


def error_reply(error: HttpError, *, head_only: bool = False) -> Reply:
    """The JSON error answer for a refused request."""
    body = error_body(error.code, error.message)
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               *error.headers)
    return Reply(error.status, headers, b"" if head_only else body, close=error.close)


def _json_reply(status: int, body: bytes, outcome: Outcome = Outcome.NONE,
                subject: str | None = None, head_only: bool = False,
                etag: str | None = None) -> Reply:
    """A JSON answer."""
    headers: Headers = (("Content-Type", "application/json"),
                        ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"))
    if etag is not None:
        headers = (*headers, ("ETag", etag))
    return Reply(status, headers, b"" if head_only else body, outcome=outcome, subject=subject)


def route(request: Request, body: bytes, state: OfferState, *, now: float,
          target: FileTarget | None = None) -> Reply:
    """Decide the answer to ``request`` at time ``now`` (seconds since the epoch: a
    Last-Modified date is a validator only once a second old); HttpError when refused.
    ``target``: a file request's name and file, found once by the caller (found here
    when None)."""
    path = request.path
    if path == OFFER_PATH:
        _allow(request, ("GET", "HEAD"))
        start = _page_start(request.query)
        offer = state.offer()
        if start and start >= len(offer.files):
            raise HttpError(404, "not_found", "The offer has no page there; it may have"
                            " changed: read it again from the start.", close=False)
        body = offer_json(offer, start, state.revision)
        # The browser page asks again every few seconds to show a changed offer (issue 13):
        # an unchanged page is a 304, and no new greeting.
        tag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        visit = _new_visit(request, ("same-origin",))  # the page's own request
        if not_modified(request.header("if-none-match"), None, tag, 0):
            return Reply(304, (("ETag", tag), ("Cache-Control", "no-cache"), *visit))
        # The first page is the greeting (the original "Message sent out to client"); a
        # re-read with If-None-Match (the page's poll of a changed offer) is not.
        greeting = not start and request.header("if-none-match") is None
        reply = _json_reply(200, body, Outcome.OFFER_SENT if greeting else Outcome.NONE,
                            head_only=request.method == "HEAD", etag=tag)
        return dataclasses.replace(reply, headers=(*reply.headers, *visit))
    if path.startswith(FILES_PREFIX):
        _allow(request, ("GET", "HEAD"))
        if target is None:
            name = requested_name(request)
            target = FileTarget(name, state.find(name))
        return _file_reply(request, now, target)
    if path == DECISIONS_PATH:
        _allow(request, ("POST",))
        data = _json_body(request, body)
        if "files" in data and data.get("decision") == "declined":
            return Reply(200, (), outcome=Outcome.DECLINED_MANY,
                         members=tuple(selected(data, state)))
        return _decision_reply(data, state)
    if path == RECEIPTS_PATH:
        _allow(request, ("POST",))
        data = _json_body(request, body)
        if "receipts" in data:
            return _receipts_reply(data, state)
        return _receipt_reply(data, state)
    if path == ARCHIVE_PATH:
        _allow(request, ("POST",))
        data = _json_body(request, body)
        entries = selected(data, state)
        return _archive_reply(entries, "Filecast files.tar", layout(entries), head_only=False,
                              part=selection_part(data))
    if path.startswith(ARCHIVE_PREFIX):
        _allow(request, ("GET", "HEAD"))
        entries, filename, plan = folder_of(request, state)
        return _archive_reply(entries, filename, plan, head_only=request.method == "HEAD")
    if path == "/":
        _allow(request, ("GET", "HEAD"))
        return _page_reply(request, state)
    if path.startswith(STATIC_PREFIX):
        _allow(request, ("GET", "HEAD"))
        return _static_reply(request, path[len(STATIC_PREFIX):])
    raise HttpError(404, "not_found", "There is nothing at this address.", close=False)


def _page_reply(request: Request, state: OfferState) -> Reply:
    """The browser page (core.server.page), giving a browser without one its visit id."""
    # "replace": a name on disk that is not UTF-8 (an old zip's Latin-1) once broke the
    # page for everyone (the adversarial pass, issue 13)
    page = index_page(state).encode("utf-8", "replace")
    headers: Headers = (("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Length", str(len(page))), *PAGE_HEADERS)
    headers = (*headers, *_new_visit(request, ("none", "same-origin", "same-site", None)))
    return Reply(200, headers, b"" if request.method == "HEAD" else page)


def _new_visit(request: Request, sites: tuple[str | None, ...]) -> Headers:
    """A visit id for a browser that has none, when its Sec-Fetch-Site is one of ``sites``.
    Not for a page reached by a link on another site: SameSite=Strict keeps the browser's
    cookie from that request, and a new id would replace it (the adversarial pass, issue
    13); the page's own first request (the offer, same-origin) gives one then."""
    if request.header(HEADER_CLIENT_ID) is not None \
            or clean_client_id(cookies(request.header("cookie")).get(VISIT_COOKIE)) \
            or (request.header("sec-fetch-site") or None) not in sites:
        return ()
    return (("Set-Cookie", set_visit_cookie(new_visit_id())),)


def _static_reply(request: Request, name: str) -> Reply:
    """The page's script or style sheet (core.server.static), 304 while unchanged."""
    found = resource(name)
    if found is None:
        raise HttpError(404, "not_found", "There is nothing at this address.", close=False)
    headers: Headers = (("Content-Type", found.media_type), ("ETag", found.etag),
                        ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"))
    if not_modified(request.header("if-none-match"), None, found.etag, 0):
        return Reply(304, headers)
    headers = (*headers, ("Content-Length", str(len(found.body))))
    return Reply(200, headers, b"" if request.method == "HEAD" else found.body)


def _allow(request: Request, methods: tuple[str, ...]) -> None:
    """405 with Allow unless the method is one of ``methods`` (RFC 9110 §15.5.6)."""
    if request.method not in methods:
        raise HttpError(405, "method_not_allowed", f"{request.method} is not allowed here.",
                        close=False, headers=(("Allow", ", ".join(methods)),))


def requested_name(request: Request) -> str:
    """The offered-file name in ``/files/{name}``, decoded once; 400 when malformed."""
    try:
        name = decode_path(request.path[len(FILES_PREFIX):])
    except ValueError as exc:
        raise HttpError(400, "bad_request", "The file name in the address is malformed.") from exc
    if not name:
        raise HttpError(404, "not_found", "There is nothing at this address.", close=False)
    return name


def not_offered(name: str) -> HttpError:
    """The one 404 for a name this server does not offer."""
    return HttpError(404, "not_offered", f"'{name}' is not offered by this server.", close=False)


def _file_reply(request: Request, now: float, target: FileTarget) -> Reply:
    """200, 206, 304, 404 or 416 for a file (RFC 9110 §13, §14)."""
    name, entry = target.name, target.file
    head_only = request.method == "HEAD"
    if entry is None:
        missing = error_reply(not_offered(name), head_only=head_only)
        return Reply(missing.status, missing.headers, missing.body,
                     outcome=Outcome.FILE_MISSING, subject=name)
    headers = file_headers(entry, now)
    if not_modified(request.header("if-none-match"), request.header("if-modified-since"),
                    entry.etag, entry.mtime_ns / 1e9,
                    date_is_strong=now - entry.mtime_ns / 1e9 >= 1.0):
        return Reply(304, headers, subject=entry.name)  # no Content-Length: RFC 9110 §8.6
    span = _range_for(request, entry, now)
    extra: Headers = ()
    if span is None:
        span = ByteRange(0, entry.size - 1)
        status = 200
    else:
        status, extra = 206, (("Content-Range", span.content_range(entry.size)),)
    headers = (*headers, *extra, ("Content-Length", str(max(span.length, 0))))
    return Reply(status, headers, file=entry, span=None if head_only else span,
                 outcome=Outcome.FILE_FOUND,
                 subject=entry.name)


def _range_for(request: Request, entry: ServedFile, now: float) -> ByteRange | None:
    """The range to send, None for the whole file; 416 HttpError when unsatisfiable."""
    strong = now - entry.mtime_ns / 1e9 >= 1.0  # RFC 9110 §8.8.2.2
    if not if_range_allows(request.header("if-range"), entry.etag, entry.last_modified,
                           date_is_strong=strong):
        return None
    try:
        return parse_range(request.header("range"), entry.size)
    except RangeNotSatisfiable as exc:
        raise HttpError(416, "bad_range", f"The requested range cannot be served ({exc}).",
                        close=False,
                        headers=(("Content-Range", f"bytes */{entry.size}"),)) from exc


def _json_body(request: Request, body: bytes) -> dict[str, object]:
    """A request's JSON object with our version; 415 when it does not say it is JSON (a
    browser sends text/plain across sites without asking: CSRF, issue 9), 400 otherwise."""
    media_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise HttpError(415, "unsupported_media_type", "The request body must be JSON, sent"
                        " with Content-Type: application/json.",
                        headers=(("Accept-Post", "application/json"),))
    try:
        data = json.loads(body.decode("utf-8"))
    # ValueError covers JSONDecodeError and an integer over Python's 4300-digit limit,
    # which once crashed the worker (issue 5, found by fuzzing).
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HttpError(400, "bad_request", "The request body is not JSON.") from exc
    if not isinstance(data, dict) or type(data.get("version")) is not int \
            or data["version"] != PROTOCOL_VERSION:
        raise HttpError(400, "bad_request", "The request body is not a version 1 object.")
    return data


def _decision_reply(data: dict[str, object], state: OfferState) -> Reply:
    """Record an N for an offered file."""
    name = data.get("file")
    if not isinstance(name, str) or data.get("decision") != "declined":
        raise HttpError(400, "bad_request", "A decision needs a file and 'declined'.")
    entry = state.find(name)
    if entry is None:
        raise not_offered(name)
    reply = _json_reply(200, dump_json({"recorded": True}), Outcome.DECLINED, entry.name)
    return dataclasses.replace(reply, file=entry)  # the version declined (issue 11)


def _receipt_reply(data: dict[str, object], state: OfferState) -> Reply:
    """Compare a client's digest with ours; WAIT_DIGEST while ours is still being computed."""
    name, etag, size, digest = (data.get(k) for k in ("file", "etag", "bytes", "sha256"))
    if not (isinstance(name, str) and isinstance(etag, str) and isinstance(size, int)
            and is_sha256_hex(digest)):
        raise HttpError(400, "bad_request", "A receipt needs file, etag, bytes and sha256.")
    assert isinstance(digest, str)
    entry = state.find(name)
    if entry is None:
        raise not_offered(name)
    if entry.etag != etag:
        raise HttpError(409, "changed", f"'{name}' changed on the server; download it again.",
                        close=False)
    if entry.sha256 is None:
        return Reply(503, (), file=entry, outcome=Outcome.WAIT_DIGEST, subject=entry.name)
    verified = digest == entry.sha256 and size == entry.size
    receipt = Receipt(entry.name, etag, size, digest, verified)
    answer = dump_json({"verified": verified, "sha256": entry.sha256})
    reply = _json_reply(200, answer, Outcome.RECEIPT, entry.name)
    return Reply(reply.status, reply.headers, reply.body, outcome=Outcome.RECEIPT,
                 subject=entry.name, receipt=receipt)


def _archive_reply(entries: list[ServedFile], filename: str, plan: Layout, *,
                   head_only: bool, part: SelectionPart | None = None) -> Reply:
    """200 with the tar of ``entries`` laid out as ``plan`` (``part`` of a selection taken
    in several); the session sends it (core.server.archive_send)."""
    return Reply(200, archive_headers(plan, filename), outcome=Outcome.ARCHIVE,
                 members=() if head_only else tuple(entries), archive=plan, part=part)


def _receipts_reply(data: dict[str, object], state: OfferState) -> Reply:
    """Many receipts at once (the files of an archive): each checked as ``_receipt_reply``
    checks one, an item that cannot count said by its error code, never failing the rest;
    the session counts them against the book of downloads and writes the answer."""
    items = data.get("receipts")
    if not isinstance(items, list) or not items:
        raise HttpError(400, "bad_request", "A list of receipts needs at least one receipt.")
    checked: list[Receipt | str] = []
    for item in items:
        if not isinstance(item, dict):
            raise HttpError(400, "bad_request", "Each receipt needs file, etag, bytes and"
                            " sha256.")
        try:
            reply = _receipt_reply(item, state)
        except HttpError as error:
            if error.status == 400:
                raise
            checked.append(error.code)
            continue
        checked.append(reply.receipt if reply.receipt is not None else "not_ready")
    return Reply(200, (), outcome=Outcome.RECEIPTS, receipts=tuple(checked))


def refused_receipt(receipt: Receipt) -> Reply:
    """403 for a receipt of a download this server did not deliver whole to this client
    (issue 9: a forged receipt with a copied id, etag and digest wrote "verified")."""
    error = HttpError(403, "not_delivered",
                      f"This server has not delivered the whole of '{receipt.file}' to this"
                      " client, so its receipt is not counted.", close=False)
    reply = error_reply(error)
    return Reply(reply.status, reply.headers, reply.body, outcome=Outcome.RECEIPT_REFUSED,
                 subject=receipt.file, receipt=receipt)
