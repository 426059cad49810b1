"""One download over the visit's connection: resume, retries, streaming, verification, receipt.

docs/PROTOCOL.md, Ranges and Saving: resume with ``Range`` + ``If-Range``, accept only the
exact part asked for of exactly the file the person said yes to (issue 9: another size,
version or digest raises OfferChangedError), read no byte past its Content-Length, verify
against ``Repr-Digest`` (or a receipt while the server is still hashing), send the receipt,
then commit under a name that overwrites nothing. The file side lives in core.client.partfile, the
receipt in core.client.receipt, the connection in core.client.http.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from core.client.http import Link, read_answer, reason
from core.client.partfile import PartFile, commit
from core.client.pipeline import Sink
from core.client.receipt import RECEIPT_PATIENCE, Receipt
from core.errors import (
    CancelledError,
    ConnectError,
    NotOfferedError,
    OfferChangedError,
    ProtocolError,
    ServerGoneError,
)
from core.events import (
    DownloadProgress,
    DownloadRechecking,
    DownloadRetrying,
    DownloadStarted,
    DownloadVerifying,
    Event,
    Listener,
    Throttle,
)
from core.wire import sentences
from core.wire.protocol import (
    FileInfo,
    file_path,
    iso_utc,
    parse_http_date,
    parse_length,
    parse_repr_digest,
)
from core.wire.units import exact_bytes, human_size, percent

MIN_SLICE = 64 * 1024  # reads adapt to the speed: about one progress interval each
PROGRESS_INTERVAL = 0.1  # at most ~10 DownloadProgress events per second
SPEED_SMOOTHING = 0.2  # EWMA weight of the newest speed sample
log = logging.getLogger(__name__)
MAX_BACKOFF = 8.0
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})", re.ASCII)
# A broken or timed-out connection as http.client reports it; StorageError is never an OSError.
_INTERRUPTIONS = (OSError, http.client.HTTPException, ConnectError, ServerGoneError)


@dataclass(frozen=True)
class DownloadResult:
    """A saved file. ``resumed_from``: bytes already saved when download() began.

    ``verified`` is always True now: an unverified file is never saved (UnverifiedError);
    the field stays for the front ends that show it."""

    path: Path
    size: int
    sha256: str
    resumed_from: int
    verified: bool


def file_info(address: str, name: str, headers: http.client.HTTPMessage,
              size: int | None, known: FileInfo | None = None) -> FileInfo:
    """The FileInfo a 200's headers describe (``size``: its parsed Content-Length);
    ``known`` lends its digest to the same ETag."""
    etag = headers.get("ETag")
    if etag is None or size is None:
        raise ProtocolError(
            f"{address} sent '{name}' without a size or an ETag, which Filecast needs to"
            " resume and verify downloads."
        )
    sha256 = parse_repr_digest(headers.get("Repr-Digest"))
    if sha256 is None and known is not None and known.etag == etag:
        sha256 = known.sha256
    when = parse_http_date(headers.get("Last-Modified") or "")
    modified = iso_utc(when) if when is not None else ""
    return FileInfo(name=name, size=size, sha256=sha256, modified=modified, etag=etag)


class Meter:
    """Throttled DownloadProgress events with an EWMA-smoothed speed."""

    def __init__(self, emit: Callable[[Event], None], name: str, size: int) -> None:
        """Start idle; ``restart`` before each response body."""
        self._emit, self._name, self._size = emit, name, size
        self._speed: float | None = None
        self._throttle = Throttle(PROGRESS_INTERVAL)
        self._throttle.hold()  # the first event after a speed can be measured
        self._last_time = time.monotonic()
        self._last_bytes = 0
        self.files: tuple[int, int] | None = None  # (done, of) for files taken at once

    def restart(self, received: int, size: int) -> None:
        """A new body begins at ``received`` (of a file that may have changed size)."""
        self._size, self._last_time, self._last_bytes = size, time.monotonic(), received
        self._throttle.hold()

    def slice_size(self, limit: int) -> int:
        """How much to read at once: ~0.1 s worth, since big reads are faster (≤ ``limit``)."""
        return int(min(limit, max(MIN_SLICE, (self._speed or 0.0) * PROGRESS_INTERVAL)))

    def update(self, received: int, *, final: bool = False) -> None:
        """Note progress; emit when ~0.1 s passed since the last event (or when final)."""
        if not self._throttle.due(final=final):
            return
        now = time.monotonic()
        elapsed = now - self._last_time
        if elapsed > 0:
            sample = (received - self._last_bytes) / elapsed
            old = self._speed
            self._speed = sample if old is None else old + SPEED_SMOOTHING * (sample - old)
        self._last_time, self._last_bytes = now, received
        speed = self._speed or 0.0
        left = (self._size - received) / speed if speed > 0 else None
        done, count = self.files or (None, None)
        self._emit(DownloadProgress(self._name, received, self._size, speed, left, done, count))


def size_words(count: int, other: int) -> str:
    """A size for a sentence that compares ``count`` with ``other``: human, or exact when
    the human spellings would read the same."""
    if count < 1000 or human_size(count) == human_size(other):
        return exact_bytes(count)
    return human_size(count)


def changed_sentence(consented: FileInfo, now: FileInfo) -> str:
    """What a person reads when the server sends another file than the one they said yes to."""
    if now.size != consented.size:
        what = (f"it is now {size_words(now.size, consented.size)}, not"
                f" {size_words(consented.size, now.size)}")
    elif now.etag != consented.etag:
        what = f"it is now another version of the same size ({size_words(now.size, 0)})"
    else:
        what = "its SHA-256 is not the one you were shown"
    return (f"'{consented.name}' changed on the server since you said yes: {what}. Nothing of"
            " it was saved; decide again whether you want it.")


def keep_modified(part: PartFile | int, modified: str) -> None:
    """Give the saved file the server's modification time, as tar and wget do (issue 12):
    ``part`` by its name, or an open descriptor of it. A time that cannot be set is not
    worth failing a verified download for."""
    try:
        seconds = datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp()
        if isinstance(part, int):
            ns = int(seconds * 1e9)
            os.utime(part, ns=(ns, ns))
        else:
            part.folder.set_mtime(part.part_name, seconds)
    except (ValueError, OSError, OverflowError) as exc:
        log.debug("modification time of %s not kept: %s", part, exc)


class Fetch:
    """One download() call: attempts until the file is saved, cancelled or given up on.

    ``info`` is what the person consented to; every answer is held to it (issue 9)."""

    def __init__(self, link: Link, listener: Listener, part: PartFile, info: FileInfo, *,
                 retries: int | None, backoff: float,
                 patience: float = RECEIPT_PATIENCE) -> None:
        """Nothing is fetched before :meth:`run`."""
        self.link, self.listener, self.part, self.info = link, listener, part, info
        self.retries, self.backoff, self.patience = retries, backoff, patience
        self.meter = Meter(listener.on_event, info.name, info.size)
        self.resumed_from: int | None = None
        self.carry: Sink | None = None  # the last attempt's sink, whose hasher may go on

    def run(self) -> DownloadResult:
        """Retry broken connections with exponential backoff (``retries`` in a row without
        progress; None: until cancelled); the part is kept whenever the download stops short.

        Progress means more bytes than ever before in this call, not just more than the
        last attempt: a server whose Content-Length promised more than it sent once made
        the client cycle (cut, 416, start over) forever (issue 5). Every attempt is for the
        consented version: another one raises OfferChangedError (issue 9)."""
        failures, best = 0, 0
        while True:
            try:
                result = self._attempt()
                self.link.cancelled.clear()  # a cancel this late has nothing left to stop
                return result
            except _INTERRUPTIONS as exc:
                self.link.drop()
                if self.link.cancelled.is_set():
                    raise self._cancelled() from exc
                saved = self.saved()
                failures = 1 if saved > best else failures + 1
                best = max(best, saved)
                if self.retries is not None and failures > self.retries:
                    raise self._gone(exc) from exc
                delay = min(self.backoff * 2 ** (failures - 1), MAX_BACKOFF)
                self.listener.on_event(
                    DownloadRetrying(self.info.name, failures, self.retries, delay, reason(exc))
                )
                if self.link.cancelled.wait(delay):
                    raise self._cancelled() from exc

    def saved(self) -> int:
        """Bytes in the part now (0 when there is none)."""
        return self.part.saved_bytes()

    def _cancelled(self) -> CancelledError:
        """The sentence for a cancelled download (consuming the cancel request)."""
        have, name = self.saved(), self.info.name
        if not have:
            return self.link.cancel_error(f"The download of '{name}' was cancelled.")
        return self.link.cancel_error(
            f"The download of '{name}' was cancelled; the partial download is kept"
            f" ({human_size(have)} of {human_size(self.info.size)}), so it can resume later."
        )

    def _gone(self, exc: BaseException) -> ServerGoneError:
        """The sentence after the last retry, saying how far the download got."""
        have, size, name = self.saved(), self.info.size, self.info.name
        if not have:
            return ServerGoneError(
                f"The download of '{name}' failed: {reason(exc)}. Nothing was saved; press"
                " Retry to try again."
            )
        return ServerGoneError(
            f"The server stopped sending '{name}' after {human_size(have)} of"
            f" {human_size(size)} ({percent(have, size)}). The partial download is kept:"
            " press Retry to resume."
        )

    def _rechecking(self, done: int, total: int) -> None:
        """The part's hash worker re-read ``done`` of ``total`` kept bytes (its thread)."""
        self.listener.on_event(DownloadRechecking(self.info.name, done, total))

    def _hasher_for(self, start: int) -> hashlib._Hash | None:
        """The last attempt's hasher when it saw exactly the ``start`` bytes in the part."""
        sink, self.carry = self.carry, None
        if sink is not None and sink.resumable and sink.written == start:
            return sink.hasher
        return None

    def _attempt(self) -> DownloadResult:
        """One GET: resume from the part when it holds this version, stream, verify, save."""
        part, info = self.part, self.info
        offset = part.resume_offset(info.etag, info.size, info.sha256)
        if offset and offset >= info.size:
            # A complete but unsaved part: fetch the last byte again, since a range starting
            # at the end is 416 (RFC 9110 §14.1.1) and If-Range must still prove the version.
            offset = info.size - 1
        headers = {"Range": f"bytes={offset}-", "If-Range": info.etag} if offset else {}
        resp = self.link.send("GET", file_path(info.name), headers=headers)
        try:
            return self._receive(resp, offset)
        finally:
            if not resp.isclosed():
                self.link.drop()  # an unread body would garble the next exchange

    def _receive(self, resp: http.client.HTTPResponse, offset: int) -> DownloadResult:
        """Take one response: check it, stream its body into the part, verify, save."""
        start, info = self._accept(resp, offset)
        self.info = info  # the consented file, with its digest if this answer told it
        if self.resumed_from is None:
            self.resumed_from = start
        self.link.relax()  # a body: bytes that keep coming are progress, not a late answer
        sink = self.part.open(info.etag, info.size, info.sha256, self.link.address, start,
                              hasher=self._hasher_for(start), on_prefix=self._rechecking)
        try:
            self.listener.on_event(DownloadStarted(info.name, info.size, start))
            self._stream(resp, sink, start)
        except BaseException:
            sink.abort()
            self.carry = sink
            raise
        self.listener.on_event(DownloadVerifying(info.name))
        digest = sink.finish(info.size, info.sha256)
        return self._conclude(digest)

    def _accept(self, resp: http.client.HTTPResponse, offset: int) -> tuple[int, FileInfo]:
        """Where the body starts and which version it is; anything unexpected raises."""
        if resp.status == 200:  # the whole file: the range was ignored, or a new version
            now = file_info(self.link.address, self.info.name, resp.msg,
                            self._length(resp), self.info)
            return 0, self._consented(now)
        if resp.status == 206:
            return offset, self._partial(resp, offset)
        data = read_answer(resp, self.link.address)
        if resp.status == 404:
            raise NotOfferedError(sentences.NOT_OFFERED)
        if resp.status == 416:  # the part does not fit the file any more: retry from 0
            self.part.discard()
            raise ServerGoneError(f"{self.link.address} refused to resume '{self.info.name}'.")
        raise self.link.status_error(resp.status, data)

    def _length(self, resp: http.client.HTTPResponse) -> int:
        """The one Content-Length of a file body; a body framed otherwise is refused, since
        the client must know where the file ends before reading it (issue 9)."""
        lengths = resp.msg.get_all("Content-Length") or []
        length = parse_length(lengths[0]) if len(lengths) == 1 else None
        if resp.getheader("Transfer-Encoding") is not None or length is None:
            raise ProtocolError(
                f"{self.link.address} sent '{self.info.name}' without one plain Content-Length,"
                " so Filecast cannot know where the file ends. Nothing was saved."
            )
        return length

    def _consented(self, now: FileInfo) -> FileInfo:
        """``now`` when it is the file the person said yes to (size, ETag, digest when they
        were shown one), else OfferChangedError carrying it (issue 9)."""
        was = self.info
        same = (now.size == was.size and now.etag == was.etag
                and (was.sha256 is None or now.sha256 in (None, was.sha256)))
        if not same:
            raise OfferChangedError(changed_sentence(was, now), now, was)
        return replace(was, sha256=was.sha256 or now.sha256)

    def _partial(self, resp: http.client.HTTPResponse, offset: int) -> FileInfo:
        """The consented file when a 206 carries exactly the part asked for of it."""
        info, length = self.info, self._length(resp)
        match = _CONTENT_RANGE.fullmatch((resp.getheader("Content-Range") or "").strip())
        if match is not None:
            now = FileInfo(info.name, int(match[3]),
                           parse_repr_digest(resp.getheader("Repr-Digest")), info.modified,
                           resp.getheader("ETag") or info.etag)
            info = self._consented(now)
        if (match is None or int(match[1]) != offset or int(match[2]) != info.size - 1
                or length != info.size - offset):
            raise ProtocolError(
                f"{self.link.address} sent a different part of '{info.name}' than was"
                " asked for. Nothing was saved; press Retry to try again."
            )
        return info

    def _stream(self, resp: http.client.HTTPResponse, sink: Sink, start: int) -> None:
        """Read the body into the sink's large buffers in slices, reporting progress.

        Exactly the promised bytes are read, never more (issue 9): the last one completes
        the response, and a response that is not complete then is dropped by the caller."""
        size, received = self.info.size, start
        self.meter.restart(start, size)
        while received < size:
            buf = sink.buffer()
            view, filled, want = memoryview(buf), 0, min(len(buf), size - received)
            step = self.meter.slice_size(want)
            try:
                while filled < want:
                    if self.link.cancelled.is_set():  # a cancel that found no socket to shut
                        raise ConnectionAbortedError(errno.ECONNABORTED, "cancelled")
                    got = resp.readinto(view[filled : min(want, filled + step)])
                    if not got:
                        raise http.client.IncompleteRead(b"", size - received - filled)
                    filled += got
                    self.meter.update(received + filled)
            except BaseException:
                # The last event may be a tenth of a second old: say exactly what is kept,
                # or the window's "stopped at" and the sentence name two sizes.
                self.meter.update(received + filled, final=True)
                raise
            finally:
                sink.put(buf, filled)  # even after a cut: what arrived is good
            received += filled
        self.meter.update(size, final=True)

    def _conclude(self, digest: str) -> DownloadResult:
        """Send the receipt, then save under the final name (issue 9: before, so that a
        server's ``verified: false`` never leaves a file there).

        Nothing unverified is saved under the final name (issue 5): when no digest and no
        receipt confirms the bytes, the complete part stays, and Retry fetches its last
        byte again to verify it then."""
        part, info = self.part, self.info
        receipt = Receipt(self.link, self.listener, part, info, patience=self.patience)
        receipt.confirm(digest, deciding=info.sha256 is None)
        keep_modified(part, info.modified)
        path = commit(part)
        return DownloadResult(path, info.size, digest, self.resumed_from or 0, True)
