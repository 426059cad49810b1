"""Wire formats of docs/PROTOCOL.md as pure functions: no sockets, no files, no clocks.

Both the server and the client build and read headers and JSON bodies here, so the two
sides cannot drift apart, and every rule (ranges, validators, digests, names) is testable
on its own.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from core import PROTOCOL_VERSION, __version__
from core.errors import ProtocolError
from core.wire.paths import check_relative, url_path

# The software on the wire: the Server header, the User-Agent and the offer's "server".
SOFTWARE = f"Filecast/{__version__}"

HEADER_CLIENT_ID = "X-Filecast-Client-Id"
HEADER_CLIENT_NAME = "X-Filecast-Client-Name"
OFFER_PATH = "/api/v1/offer"
DECISIONS_PATH = "/api/v1/decisions"
RECEIPTS_PATH = "/api/v1/receipts"
FILES_PREFIX = "/files/"
# How long a server holds a receipt waiting for its own digest before it answers 503
# not_ready with Retry-After; a client's time-out for a receipt exchange must exceed it
# (issue 9). Both sides read it here.
RECEIPT_WAIT_SECONDS = 5.0

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_CLIENT_NAME_BYTES = 200


@dataclass(frozen=True)
class FileInfo:
    """One offered file as the offer describes it."""

    name: str
    size: int
    sha256: str | None
    modified: str
    etag: str

    @property
    def url(self) -> str:
        """The path that serves it."""
        return file_path(self.name)


@dataclass(frozen=True)
class Offer:
    """The greeting: the server's message and what it offers."""

    server: str
    name: str
    message: str
    files: tuple[FileInfo, ...]
    folders: tuple[str, ...] = ()  # empty folders of offered folders, kept by a client

    def find(self, name: str) -> FileInfo | None:
        """The offered file called exactly ``name``, if any."""
        return next((f for f in self.files if f.name == name), None)


MAX_EMPTY_FOLDERS = 1000  # empty folders an offer names, on its first page (issue 12)
PAGE_FILES = 2000  # files in one page of the offer: ~500 KB, half the client's answer cap

# --- paths -----------------------------------------------------------------------------


def file_path(name: str) -> str:
    """``/files/{name}``: each ``/``-separated segment of the name percent-encoded as UTF-8
    (every reserved byte), the separators kept (issue 12: names with folders)."""
    return FILES_PREFIX + url_path(name)


def file_in_url(text: str) -> str | None:
    """The offered-file name a pasted ``http://HOST:PORT/files/NAME`` carries (issue 11:
    the link connected but did not fill the name); None for any other address."""
    try:
        path = urlsplit(text.strip()).path
    except ValueError:
        return None
    if not path.startswith(FILES_PREFIX):
        return None
    try:
        return decode_path(path[len(FILES_PREFIX):]) or None
    except ValueError:
        return None


def decode_path(raw: str) -> str:
    """Percent-decode a request path exactly once; raise ValueError on bad UTF-8 or controls.

    Guards against double-decoding tricks (``%252e``) and NUL smuggling: what comes out is
    only ever compared with names in the server's table, never joined to a path.
    """
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in raw):
        raise ValueError("control character or space in the request target")
    text = unquote_to_bytes(raw).decode("utf-8")  # UnicodeDecodeError is a ValueError
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("control character in the decoded path")
    return text


# --- lengths --------------------------------------------------------------------------

_LENGTH = re.compile(r"[0-9]{1,19}", re.ASCII)


def parse_length(text: str | None) -> int | None:
    """A Content-Length or delay-seconds value (RFC 9110 §8.6: 1*DIGIT): ASCII digits
    only, at most 19 of them (2^63); None otherwise. Not ``str.isdigit()``, which takes
    '²' and 5,000 digits, after which ``int()`` raised (the adversarial pass, issue 9)."""
    text = (text or "").strip()
    return int(text) if _LENGTH.fullmatch(text) else None


# --- validators and dates (RFC 9110 §8.8) ---------------------------------------------


def make_etag(size: int, mtime_ns: int) -> str:
    """A strong entity tag that changes whenever the size or modification time does."""
    return f'"{size:x}-{mtime_ns:x}"'


def http_date(timestamp: float) -> str:
    """IMF-fixdate (RFC 9110 §5.6.7) for a POSIX timestamp."""
    return format_datetime(datetime.fromtimestamp(int(timestamp), timezone.utc), usegmt=True)


def iso_utc(timestamp: float) -> str:
    """ISO 8601 UTC with seconds, as JSON bodies and the ledger spell time."""
    moment = datetime.fromtimestamp(int(timestamp), timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_http_date(value: str) -> float | None:
    """The POSIX time of an HTTP date, or None when it is not one (RFC 9110 §5.6.7: an
    IMF-fixdate or RFC 850 date says GMT; asctime, the one without a comma, says no zone)."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None and "," in value:
        return None
    return moment.replace(tzinfo=moment.tzinfo or timezone.utc).timestamp()


# --- digests (RFC 9530) ----------------------------------------------------------------


def repr_digest(sha256_hex: str) -> str:
    """The Repr-Digest value for a SHA-256 given in hex."""
    raw = bytes.fromhex(sha256_hex)
    return "sha-256=:" + base64.b64encode(raw).decode("ascii") + ":"


def parse_repr_digest(value: str | None) -> str | None:
    """The SHA-256 (hex) in a Repr-Digest header, or None when absent or unreadable."""
    if not value:
        return None
    for member in value.split(","):
        key, sep, item = member.strip().partition("=")
        if not sep or key.strip().lower() != "sha-256":
            continue
        item = item.strip()
        if len(item) < 2 or item[0] != ":" or item[-1] != ":":
            return None
        try:
            raw = base64.b64decode(item[1:-1], validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.hex() if len(raw) == 32 else None
    return None


def is_sha256_hex(value: object) -> bool:
    """True for a lowercase 64-digit hex string."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


# --- Content-Disposition (RFC 6266, RFC 5987) -----------------------------------------


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8 ``filename*``."""
    # Clients that ignore filename* (curl -J) get the closest ASCII: "résumé" -> "resume".
    fallback = "".join(_ascii_fallback(c) for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


_DISPOSITION_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _ascii_fallback(char: str) -> str:
    """One character of the plain ``filename``: its accent-free letter, else ``_``."""
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    if len(plain) == 1 and 0x20 <= ord(plain) < 0x7F and plain not in '"\\%':
        return plain
    return "_"


def parse_content_disposition(value: str | None) -> str | None:
    """The file name a Content-Disposition proposes (``filename*`` preferred), unsanitised."""
    if not value:
        return None
    plain: str | None = None
    # parameters one by one; a quoted value may itself hold ';' and '=' (RFC 6266 §4.1)
    for key, item in _DISPOSITION_PARAM.findall(value):
        key = key.lower()
        if key == "filename*":
            charset, _, rest = item.strip().partition("'")
            _, _, encoded = rest.partition("'")
            try:
                return unquote_to_bytes(encoded).decode(charset or "utf-8")
            except (LookupError, UnicodeDecodeError):
                continue
        if key == "filename":
            plain = item.strip().strip('"')
    return plain


# --- client identity -------------------------------------------------------------------


def clean_client_id(value: str | None) -> str | None:
    """The client id if it has the documented shape; anything else is ignored."""
    if value is not None and _CLIENT_ID.fullmatch(value):
        return value
    return None


def encode_client_name(name: str) -> str:
    """A display name as the header carries it (percent-encoded UTF-8, capped)."""
    raw = name.encode("utf-8")[:MAX_CLIENT_NAME_BYTES].decode("utf-8", "ignore")
    return quote(raw, safe="")


def clean_client_name(value: str | None) -> str | None:
    """Decode the display name header; None when absent, empty or malformed."""
    if not value:
        return None
    try:
        raw = unquote_to_bytes(value)
        if len(raw) > MAX_CLIENT_NAME_BYTES:
            return None
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return text or None


# --- JSON bodies -------------------------------------------------------------------------


def dump_json(body: dict[str, Any]) -> bytes:
    """Encode a body with the protocol version stamped in."""
    return json.dumps({"version": PROTOCOL_VERSION, **body}, ensure_ascii=False).encode("utf-8")


def load_json(data: bytes) -> dict[str, Any]:
    """Decode a JSON object body and check its version; raise ProtocolError otherwise."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # ValueError: also a 4301-digit int (issue 5)
        raise ProtocolError("The other side sent a body that is not JSON.") from exc
    if not isinstance(body, dict):
        raise ProtocolError("The other side sent JSON that is not an object.")
    if type(body.get("version")) is not int or body["version"] != PROTOCOL_VERSION:
        raise ProtocolError(
            f"The other side speaks Filecast protocol version {body.get('version')!r};"
            f" this program speaks version {PROTOCOL_VERSION}."
        )
    return body


def error_body(code: str, message: str) -> bytes:
    """The JSON body of every error answer."""
    return dump_json({"error": {"code": code, "message": message}})


def error_message(data: bytes) -> str | None:
    """The human message in an error body, if it is one."""
    try:
        error = load_json(data).get("error")
    except ProtocolError:
        return None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None


def file_info_json(info: FileInfo) -> dict[str, Any]:
    """One entry of the offer's ``files`` list."""
    return {
        "name": info.name,
        "size": info.size,
        "sha256": info.sha256,
        "modified": info.modified,
        "etag": info.etag,
        "url": info.url,
    }


def offer_json(offer: Offer, start: int = 0, revision: str | None = None) -> bytes:
    """The body of ``GET /api/v1/offer`` (``?from=N``: files N on): at most PAGE_FILES
    files, then ``next``, the address of the rest, and the ``revision`` every page of one
    offer shares (issue 12: a client reads at most 1 MiB of an answer)."""
    page = offer.files[start:start + PAGE_FILES]
    body: dict[str, Any] = {
        "server": offer.server,
        "name": offer.name,
        "message": offer.message,
        "files": [file_info_json(f) for f in page],
    }
    if offer.folders and not start:
        body["folders"] = list(offer.folders[:MAX_EMPTY_FOLDERS])
    if len(offer.files) > PAGE_FILES:
        body["total"] = len(offer.files)
        body["revision"] = revision
        if start + PAGE_FILES < len(offer.files):
            body["next"] = f"{OFFER_PATH}?from={start + PAGE_FILES}"
    return dump_json(body)


@dataclass(frozen=True)
class OfferPage:
    """One page of an offer: the offer (its files so far), where the rest is, and the
    revision all pages of one offer share (None for an offer of one page)."""

    offer: Offer
    next: str | None
    revision: str | None


def parse_offer_page(data: bytes) -> OfferPage:
    """Read one offer body (a page when ``next`` is there); ProtocolError when wrong."""
    body = load_json(data)
    offer = _offer_from(body)
    follow, revision = body.get("next"), body.get("revision")
    if follow is not None and (not isinstance(follow, str)
                               or not follow.startswith(f"{OFFER_PATH}?from=")):
        raise ProtocolError("The server's offer points to its next page somewhere else.")
    return OfferPage(offer, follow, revision if isinstance(revision, str) else None)


def parse_offer(data: bytes) -> Offer:
    """Read an offer body, checking every field's type; raise ProtocolError when wrong."""
    return _offer_from(load_json(data))


def _offer_from(body: dict[str, Any]) -> Offer:
    """An offer from its decoded body; ProtocolError when a field is missing or wrong."""
    try:
        files = tuple(_parse_file_info(item) for item in body["files"])
        offer = Offer(
            server=_text(body["server"]), name=_text(body["name"]),
            message=_text(body["message"]), files=files, folders=_folders(body),
        )
    except (KeyError, TypeError) as exc:
        raise ProtocolError("The server's offer is missing a field or has a wrong one.") from exc
    return offer


def _folders(body: dict[str, Any]) -> tuple[str, ...]:
    """The offer's empty folders: valid relative names only (a hostile server's others are
    dropped, never made), at most MAX_EMPTY_FOLDERS."""
    listed = body.get("folders", [])
    if not isinstance(listed, list):
        raise TypeError("folders")
    kept: list[str] = []
    for name in listed[:MAX_EMPTY_FOLDERS]:
        try:
            if isinstance(name, str):
                check_relative(name)
                kept.append(name)
        except ValueError:
            continue
    return tuple(kept)


def _parse_file_info(item: Any) -> FileInfo:
    """One ``files`` entry; TypeError/KeyError when malformed."""
    size = item["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise TypeError("size")
    digest = item["sha256"]
    if digest is not None and not is_sha256_hex(digest):
        raise TypeError("sha256")
    return FileInfo(
        name=_text(item["name"]), size=size, sha256=digest,
        modified=_text(item["modified"]), etag=_text(item["etag"]),
    )


def _text(value: Any) -> str:
    """A JSON string field, else TypeError."""
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def decision_json(file: str) -> bytes:
    """The body of ``POST /api/v1/decisions`` for an N."""
    return dump_json({"file": file, "decision": "declined"})


def receipt_json(file: str, etag: str, size: int, sha256: str) -> bytes:
    """The body of ``POST /api/v1/receipts``."""
    return dump_json({"file": file, "etag": etag, "bytes": size, "sha256": sha256})
