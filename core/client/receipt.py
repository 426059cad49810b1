"""The client's receipt: tell the server what arrived, before the file gets its name.

docs/PROTOCOL.md, ``POST /api/v1/receipts``. The receipt goes out after the part is verified
locally and fsynced, and before the commit, so a server's explicit ``verified: false`` never
leaves a file under the final name (issue 9). When the server published no digest, the
answer *is* the verification: a server still hashing holds the receipt for at most
RECEIPT_WAIT_SECONDS, then says ``503 not_ready`` with ``Retry-After``; the client asks
again (cancellable, telling the window it waits) for a bounded time, then keeps the part.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.client.http import Link
from core.client.partfile import PartFile
from core.errors import (
    CancelledError,
    DigestMismatchError,
    FilecastError,
    FileChangedError,
    ProtocolError,
    UnverifiedError,
)
from core.events import DownloadVerifying, Listener
from core.wire.protocol import (
    RECEIPT_WAIT_SECONDS,
    RECEIPTS_PATH,
    FileInfo,
    load_json,
    parse_length,
    receipt_json,
)

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}
# One receipt exchange may last RECEIPT_WAIT_SECONDS on the server's side alone, so its
# time-out is well above that whatever the client's own time-out is.
RECEIPT_TIMEOUT = 2 * RECEIPT_WAIT_SECONDS
MAX_RETRY_AFTER = 5.0  # a server's Retry-After is obeyed up to this many seconds
DEFAULT_RETRY_AFTER = 1.0
RECEIPT_PATIENCE = 60.0  # how long, in all, to wait for a server still computing its digest


class Receipt:
    """One download's receipt; :meth:`confirm` returns when the part may take its name."""

    def __init__(self, link: Link, listener: Listener, part: PartFile, info: FileInfo,
                 *, patience: float = RECEIPT_PATIENCE) -> None:
        """Nothing is sent before :meth:`confirm`."""
        self.link, self.listener, self.part, self.info = link, listener, part, info
        self.patience = patience

    def confirm(self, digest: str, *, deciding: bool) -> None:
        """Send the receipt. When ``deciding`` (no digest was known), only ``verified: true``
        lets the file be saved; otherwise anything but ``verified: false`` does."""
        give_up = time.monotonic() + self.patience
        body = receipt_json(self.info.name, self.info.etag, self.info.size, digest)
        while True:
            try:
                status, headers, data = self.link.exchange(
                    "POST", RECEIPTS_PATH, body, JSON_HEADERS, timeout=RECEIPT_TIMEOUT)
                answer = _json_or_empty(data)
            except CancelledError:
                raise
            except FilecastError as exc:
                log.warning("receipt for %r not confirmed: %s", self.info.name, exc)
                if deciding:
                    raise self._unverified() from exc
                return
            if status == 200 and answer.get("verified") is True:
                return
            if status == 200 and answer.get("verified") is False:
                raise self._mismatch(deciding)
            if not deciding:  # the digest matched locally: the server's word is only logged
                log.warning("receipt for %r answered %s: %s", self.info.name, status, answer)
                return
            code = _code(answer)
            if status == 503 and code == "not_ready":
                delay = _retry_after(headers.get("Retry-After"))
                if time.monotonic() + delay < give_up:
                    self._wait(delay)
                    continue
            raise self._refused(status, code)

    def _wait(self, delay: float) -> None:
        """Say the client waits for the server's SHA-256, then wait (a cancel ends it)."""
        self.listener.on_event(DownloadVerifying(self.info.name))
        if self.link.cancelled.wait(delay):
            raise self.link.cancel_error(
                f"Cancelled while waiting for the server's SHA-256 of '{self.info.name}'. The"
                " complete download is kept: press Retry to verify it."
            )

    def _mismatch(self, deciding: bool) -> DigestMismatchError:
        """The server says the bytes are not its file: they are deleted."""
        self.part.discard()
        if deciding:
            return DigestMismatchError(
                f"'{self.info.name}' arrived damaged: the server's SHA-256 differs. Nothing was"
                " saved; download it again."
            )
        return DigestMismatchError(
            f"'{self.info.name}' arrived with the SHA-256 the server announced, but the server"
            " now says it is not the file it offers. Nothing was saved; download it again."
        )

    def _refused(self, status: int, code: str | None) -> FilecastError:
        """The sentence when a deciding receipt was not confirmed."""
        if status == 409:
            self.part.discard()
            return FileChangedError(
                f"'{self.info.name}' changed on the server while it was downloading. Download"
                " it again to get the new version."
            )
        log.warning("receipt for %r answered %s (%s); not verified", self.info.name, status,
                    code)
        if status == 403 and code == "not_delivered":
            return UnverifiedError(
                f"'{self.info.name}' arrived complete, but {self.link.address} will not"
                " confirm its SHA-256: it says it did not send all of it to this computer."
                " The download is kept but not saved under its name: press Retry once the"
                " server has finished computing its SHA-256."
            )
        return self._unverified()

    def _unverified(self) -> UnverifiedError:
        """No confirmation came: the complete part stays for Retry."""
        return UnverifiedError(
            f"'{self.info.name}' arrived complete, but {self.link.address} has not confirmed"
            " its SHA-256 yet (it may still be computing it), so it was not saved under"
            " its name. The download is kept: press Retry in a moment to verify it."
        )


def _json_or_empty(data: bytes) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not one of ours."""
    try:
        return load_json(data)
    except ProtocolError:
        return {}


def _code(answer: dict[str, Any]) -> str | None:
    """The error code of an error answer."""
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After (RFC 9110 §10.2.3: delay-seconds; a date counts as
    the default), within 0.1 s and MAX_RETRY_AFTER."""
    delay = parse_length(value)  # the same 1*DIGIT (not str.isdigit(): '²' passes it)
    seconds = float(delay) if delay is not None else DEFAULT_RETRY_AFTER
    return min(MAX_RETRY_AFTER, max(0.1, seconds))
