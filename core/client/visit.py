"""The visit, client side: read the offer, ask about a file, decline it or download it.

docs/PROTOCOL.md, The visit: a FilecastClient holds one keep-alive HTTP/1.1 connection
(core.client.http) for all of this; a download runs in core.client.download and saves
through core.client.partfile.
Every failure a person sees is a core.errors sentence.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from core import DEFAULT_PORT
from core.client.archive_fetch import ArchiveFetch, Taken, asked, json_size, runs_of
from core.client.download import DownloadResult, Fetch, file_info
from core.client.http import Link, parse_server
from core.client.partfile import PartFile
from core.client.pipeline import save_error
from core.client.receipt import JSON_HEADERS, RECEIPT_PATIENCE
from core.client.savefolder import SaveFolder, subfolder
from core.errors import NotOfferedError, ProtocolError
from core.events import Listener, NullListener
from core.wire import sentences
from core.wire.paths import saved_segments
from core.wire.protocol import (
    DECISIONS_PATH,
    HEADER_CLIENT_ID,
    HEADER_CLIENT_NAME,
    OFFER_PATH,
    FileInfo,
    Offer,
    OfferPage,
    clean_client_id,
    decision_json,
    encode_client_name,
    error_message,
    file_path,
    parse_length,
    parse_offer_page,
)

__all__ = ["DownloadResult", "FilecastClient", "parse_server"]


MAX_OFFER_FILES = 100_000  # files of an offer read in pages: ~30 MB at most

class FilecastClient:
    """One visit to one server over one keep-alive connection (docs/PROTOCOL.md, The visit).

    Methods run in the caller's (worker) thread and raise core.errors sentences; only
    :meth:`cancel` may be called from another thread. Events go to ``listener``.
    """

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, client_id: str | None = None,
                 name: str | None = None, listener: Listener | None = None,
                 timeout: float = 10.0, retries: int | None = 5, backoff: float = 0.5,
                 receipt_patience: float = RECEIPT_PATIENCE) -> None:
        """Remember the server; nothing is sent before the first request.

        ``timeout``: each small exchange must be whole within it, and a file body may not
        stall longer. ``receipt_patience``: how long, in all, to wait for a server still
        computing the SHA-256 that verifies a download."""
        headers = {}
        if client_id is not None and clean_client_id(client_id) is not None:
            headers[HEADER_CLIENT_ID] = client_id
        if name:
            headers[HEADER_CLIENT_NAME] = encode_client_name(name)
        self._link = Link(host, port, headers, timeout)
        self.address = self._link.address
        self._listener: Listener = listener or NullListener()
        self._retries, self._backoff, self._patience = retries, backoff, receipt_patience
        self.offer: Offer | None = None

    def __enter__(self) -> FilecastClient:
        """Use as ``with FilecastClient(...) as client:``; the visit ends on exit."""
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """End the visit."""
        self.close()

    def connect(self) -> Offer:
        """Open the visit's connection and read the offer (the original greeting)."""
        status, _, data = self._link.exchange("GET", OFFER_PATH)
        if status != 200 and error_message(data) is not None:
            raise self._link.status_error(status, data)  # a Filecast server, busy or unwell
        failure = None
        try:
            if status != 200:
                raise ProtocolError(f"the offer answered {status}")
            page = parse_offer_page(data)
            self.offer = self._rest_of(page) if page.next else page.offer
        except ProtocolError as exc:
            # Only the sentence is kept: the traceback would keep the parsed body alive
            # while _other_version parses it again, twice the memory (issue 9).
            failure = str(exc)
        if failure is not None:
            if _other_version(data):
                raise ProtocolError(failure)  # its sentence names both protocol versions
            raise ProtocolError(
                f"{self.address} answers, but it is not a Filecast server. Check the address"
                " and port."
            )
        assert self.offer is not None
        return self.offer

    def _rest_of(self, first: OfferPage) -> Offer:
        """An offer of several pages read whole (issue 12), each page for the same revision
        of it; one that changes between pages is read again from the start, up to three
        times. At most MAX_OFFER_FILES files are kept: memory stays bounded."""
        for _ in range(3):
            files, page, changed = list(first.offer.files), first, False
            while page.next is not None and not changed:
                if len(files) >= MAX_OFFER_FILES:
                    raise ProtocolError(f"{self.address} offers more than"
                                        f" {MAX_OFFER_FILES:,} files; Filecast reads no more.")
                status, _, data = self._link.exchange("GET", page.next)
                page = parse_offer_page(data) if status == 200 else first
                changed = status != 200 or page.revision != first.revision
                if not changed:
                    files.extend(page.offer.files)
            if not changed:
                return replace(first.offer, files=tuple(files))
            status, _, data = self._link.exchange("GET", OFFER_PATH)
            if status != 200:
                break
            first = parse_offer_page(data)
            if first.next is None:
                return first.offer
        raise ProtocolError(f"{self.address} kept changing its offer while it was read."
                            " Connect again in a moment.")

    def check(self, name: str) -> FileInfo:
        """Ask whether ``name`` is offered (HEAD): its size, ETag and digest if known."""
        status, headers, data = self._link.exchange("HEAD", file_path(name))
        if status == 404:
            raise NotOfferedError(sentences.NOT_OFFERED)
        if status != 200:
            raise self._link.status_error(status, data)
        return file_info(self.address, name, headers,
                         parse_length(headers.get("Content-Length")))

    def decline(self, name: str) -> None:
        """Answer N for ``name`` (the original "did not download the file")."""
        body = decision_json(name)
        status, _, data = self._link.exchange("POST", DECISIONS_PATH, body, JSON_HEADERS)
        if status == 404:
            raise NotOfferedError(sentences.NOT_OFFERED)
        if status != 200:
            raise self._link.status_error(status, data)

    def decline_many(self, infos: list[FileInfo]) -> None:
        """Answer N for a selection: one request per ~900 files, each for the version shown;
        a run the server refuses (a file changed or went) is declined file by file."""
        for run in runs_of(infos, lambda i: json_size(asked(i))):
            body = json.dumps({"version": 1, "decision": "declined",
                               "files": [asked(i) for i in run]}).encode()
            status, _, data = self._link.exchange("POST", DECISIONS_PATH, body, JSON_HEADERS)
            if status in (404, 409):
                for info in run:
                    with contextlib.suppress(NotOfferedError):
                        self.decline(info.name)
            elif status != 200:
                raise self._link.status_error(status, data)

    def download(self, name: str, folder: Path, *, info: FileInfo | None = None
                 ) -> DownloadResult:
        """Download ``name`` into ``folder``, resuming a ``.part`` left by an earlier try.

        ``info`` is the file the person said yes to (check() now when None): any other size,
        version or digest raises OfferChangedError, with nothing saved (issue 9)."""
        if info is None:
            info = self.check(name)
        folders = []  # the chosen folder, then each folder of the name (issue 12)
        *subfolders, leaf = saved_segments(name)
        try:
            folders.append(SaveFolder(folder))
            for segment in subfolders:
                folders.append(subfolder(folders[-1], segment))
        except OSError as exc:
            for opened in folders:
                opened.close()
            where = folders[-1].path if folders else folder
            raise save_error(exc, where, name, info.size) from exc
        try:
            fetch = Fetch(self._link, self._listener, PartFile(folders[-1], name, leaf), info,
                          retries=self._retries, backoff=self._backoff, patience=self._patience)
            return fetch.run()
        finally:
            for opened in folders:
                opened.close()

    def download_small(self, infos: list[FileInfo], folder: Path) -> Taken:
        """Download the small, hashed files of ``infos`` (core.client.archive_fetch.by_archive)
        into ``folder`` as archives, each checked against the version the person was
        shown; what a cut or a change left is in ``Taken.left``, to take one by one."""
        return ArchiveFetch(self._link, self._listener, folder, infos).run()

    def cancel(self) -> None:
        """From any thread: make the running (or next) operation raise CancelledError now."""
        self._link.cancel()

    def close(self) -> None:
        """End the visit: the server logs the client as disconnected."""
        self._link.drop()


def _other_version(data: bytes) -> bool:
    """Whether a body is a Filecast offer of another protocol version (keep its sentence)."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." escaped here (issue 5)
        return False
    return isinstance(body, dict) and "version" in body and "files" in body
