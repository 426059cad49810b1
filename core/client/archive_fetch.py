"""Many small files in one response (issue 12): ask for them as one tar, check each on the
way in, and make them durable together.

One request per 10 KiB file lets per-request overhead set the pace; one archive of a
selection does not (docs/PROTOCOL.md, "Many files at once"). Each member must be the file
asked for next, with the size and SHA-256 the person was shown (core.wire.archive reads
the stream strictly). Durability is grouped without weakening it: every file is written
as ``NAME.part`` and verified, the parts' data is flushed to disk at once (syncfs on
Linux, else one fsync each), and only then do they take their final names, the folders
flushed once at the end. Nothing is ever under a final name unverified or unflushed.

A cut archive keeps every file finished before the cut; the caller takes the rest one by
one (each then resumable on its own, with retries). Runs on the caller's worker thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import http.client
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from core.client.download import Meter, keep_modified
from core.client.http import Link
from core.client.partfile import PartFile, commit
from core.client.pipeline import save_error
from core.client.savefolder import SaveFolder, subfolder
from core.errors import CancelledError, FilecastError, ProtocolError, StorageError
from core.events import DownloadStarted, Listener
from core.wire import sentences
from core.wire.archive import (
    ARCHIVE_PATH,
    MAX_ARCHIVE_REQUEST_BYTES,
    RECORD,
    TarReader,
    most_bytes,
)
from core.wire.names import PART_SUFFIX, archive_part_name
from core.wire.paths import saved_segments
from core.wire.protocol import RECEIPTS_PATH, FileInfo, parse_length

log = logging.getLogger("filecast.client")

CANCELLED_MANY = "The download was cancelled; the files saved so far are kept."
SMALL_FILE_BYTES = 1024 * 1024  # larger files go one by one: a cut resumes where it was
JSON_HEADERS = {"Content-Type": "application/json"}
T = TypeVar("T")
BODY_ROOM = 120  # what a request body holds besides its list: version, selection (< 100)


@dataclass
class Taken:
    """What an archive run did: files saved (name → path), files that failed (name →
    sentence), files not reached (for the caller to take one by one, or again on Retry
    when ``stopped`` says why it stopped)."""

    saved: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    left: list[FileInfo] = field(default_factory=list)
    stopped: FilecastError | None = None  # why it stopped short: cancelled, a full disk
    # saved under another name than offered (a file of that name was there, or another
    # differing only in case on a case-insensitive disk): name -> the name it has
    renamed: dict[str, str] = field(default_factory=dict)


def by_archive(info: FileInfo) -> bool:
    """Whether ``info`` goes in an archive: small, and its digest known to check it by."""
    return info.size <= SMALL_FILE_BYTES and info.sha256 is not None


def runs_of(items: list[T], cost: Callable[[T], int], limit: int | None = None
            ) -> Iterator[list[T]]:
    """``items`` in runs whose request bodies (``cost`` bytes each) stay under ``limit``
    (MAX_ARCHIVE_REQUEST_BYTES by default, looked up when called)."""
    limit = MAX_ARCHIVE_REQUEST_BYTES if limit is None else limit
    run: list[T] = []
    size = BODY_ROOM  # the body's own braces, version and selection
    for item in items:
        if run and size + cost(item) + 2 > limit:
            yield run
            run, size = [], BODY_ROOM
        run.append(item)
        size += cost(item) + 2
    if run:
        yield run


def json_size(item: Mapping[str, object]) -> int:
    """What flat object ``item`` costs in a JSON request body, in bytes (as json.dumps
    writes it; counted without it for the usual plain name: 20,000 dumps per 10,000 files)."""
    return 2 + sum(_json_value_size(key) + 2 + _json_value_size(value)
                   for key, value in item.items()) + 2 * (len(item) - 1 if item else 0)


def _json_value_size(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isprintable() \
            and '"' not in value and "\\" not in value:
        return len(value) + 2
    return len(json.dumps(value))  # ensure_ascii: the text is ASCII, a byte a character


def asked(info: FileInfo) -> dict[str, str]:
    """How an archive request names one file: the name and the version consented to."""
    return {"file": info.name, "etag": info.etag}


def _receipt(info: FileInfo) -> dict[str, object]:
    """One receipt of a list: the file as offered, which the bytes were checked against."""
    return {"file": info.name, "etag": info.etag, "bytes": info.size, "sha256": info.sha256}


class ArchiveFetch:
    """Takes ``infos`` (all ``by_archive``) into ``root`` through ``link``."""

    def __init__(self, link: Link, listener: Listener, root: Path, infos: list[FileInfo]
                 ) -> None:
        self.link, self.listener, self.root, self.infos = link, listener, root, infos
        self.taken = Taken()
        self._folders: dict[tuple[str, ...], SaveFolder] = {}
        # Each folder's names (casefolded) when first used: one listing a folder instead of
        # two lstats a file (their cost was a third of a small file's; see _read).
        self._present: dict[int, frozenset[str]] = {}
        self._label = sentences.file_count(len(infos))
        self._meter = Meter(listener.on_event, self._label, sum(i.size for i in infos))
        self._received = 0
        self._checked = 0  # files in and verified (named once flushed)
        self._deferred: set[str] = set()  # read past: taken one by one (see _read)
        # A batch's receipts go beside the next batch's stream, on a second connection
        # (each file's lines cost the server as much as its bytes). Its flushing does not:
        # a syncfs beside the next batch's creates made each create wait (0.2 ms each).
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix="filecast-archive")
        self._finishing: list[Future[None]] = []
        self._receipt_link = Link(link.host, link.port, dict(link.headers), link.timeout)
        self._selection = secrets.token_urlsafe(12)  # 16 characters of the id alphabet

    def run(self) -> Taken:
        """Every batch in turn. A cut leaves the rest in ``left`` (to take one by one); a
        cancel or an error this side (a full disk) also says why in ``stopped``."""
        self.listener.on_event(DownloadStarted(self._label, sum(i.size for i in self.infos), 0))
        runs = list(runs_of(self.infos, lambda i: json_size(asked(i))))
        try:
            self._folders[()] = SaveFolder(self.root)
            stopped_at = self._batches(runs)
        except OSError as exc:  # the chosen folder itself
            self.taken.stopped = save_error(exc, self.root, self._label, 0)
            stopped_at = 0
        finally:
            self._finished()
            for folder in self._folders.values():
                folder.close()
        self._leave(runs[stopped_at:])  # once every batch before is settled
        self._meter.update(self._received, final=True)
        return self.taken

    def _batches(self, runs: list[list[FileInfo]]) -> int:
        """Take each batch in turn; the index of the one that stopped short (a cut, a
        cancel, a full disk, a server error), or how many there are."""
        for number, run in enumerate(runs):
            try:
                self._take(run, last=number == len(runs) - 1)
            except (OSError, http.client.HTTPException, ProtocolError) as exc:
                self.link.drop()
                if self.link.cancelled.is_set():
                    self.taken.stopped = self.link.cancel_error(CANCELLED_MANY)
                else:
                    log.info("archive cut (%s); the rest goes file by file", exc)
                return number
            except FilecastError as error:  # cancelled, a full disk, a server error
                self.link.drop()
                self.taken.stopped = error
                return number
        return len(runs)

    def _finished(self) -> None:
        """Wait for the batches' receipts to be sent (a refused one is only logged, as
        for one file: the files are saved and verified either way)."""
        for future in self._finishing:
            error = future.exception()
            if error is not None and not isinstance(error, FilecastError):
                log.error("sending receipts failed", exc_info=error)
        self._finisher.shutdown()
        self._receipt_link.drop()

    def _leave(self, runs: list[list[FileInfo]]) -> None:
        """What of ``runs`` is neither saved nor failed goes to ``left``."""
        for run in runs:
            self.taken.left.extend(self._not_done(run))

    def _not_done(self, run: list[FileInfo]) -> list[FileInfo]:
        return [i for i in run if i.name not in self.taken.saved
                and i.name not in self.taken.failed and i.name not in self._deferred]

    def _take(self, run: list[FileInfo], *, last: bool) -> None:
        """One archive request: stream it in, then flush, name and report its files."""
        # Which selection this is part of, so the server writes one summary line for it
        # however many requests it takes (docs/PROTOCOL.md, "Many files at once").
        body = json.dumps({"version": 1, "files": [asked(i) for i in run], "selection":
                           {"id": self._selection, "last": last}}).encode()
        resp = self.link.send("POST", ARCHIVE_PATH, body, JSON_HEADERS)
        if resp.status in (404, 409):  # the offer changed: each file says how, one by one
            resp.read(64 * 1024)
            self.link.drop()
            self.taken.left.extend(run)
            return
        if resp.status != 200:
            raise self.link.status_error(resp.status, resp.read(64 * 1024))
        self.link.relax()
        pending: list[tuple[PartFile, FileInfo]] = []
        try:
            self._read(resp, run, pending)
        finally:  # what was verified before a cut is kept, and receipted
            self._settle(pending)
            saved = [info for _, info in pending if info.name in self.taken.saved]
            self._finishing.append(self._finisher.submit(self._send_receipts, saved))

    def _read(self, resp: http.client.HTTPResponse, run: list[FileInfo],
              pending: list[tuple[PartFile, FileInfo]]) -> None:
        """Each member in turn, checked against the file asked for, into its part."""
        length = parse_length(resp.getheader("Content-Length"))
        if length is None:
            raise ProtocolError("The server's archive did not say its length.")
        if length > most_bytes([info.size for info in run]):
            raise ProtocolError("The server's archive is longer than the files asked for.")
        reader = TarReader(resp.read)
        claimed: set[tuple[int, str]] = set()  # (folder, part name) of this batch
        for info in run:
            entry = reader.next()
            if entry is None or entry.name != info.name or entry.size != info.size:
                raise ProtocolError(f"The server's archive did not hold '{info.name}' as"
                                    " offered.")
            part = self._part(info)
            key = (id(part.folder), part.part_name)
            present = self._names_in(part.folder)
            if key in claimed or part.part_name.casefold() in present \
                    or (part.safe_name + PART_SUFFIX).casefold() in present:
                # Another file of this batch saves under the same name ('a:b.txt' and
                # 'a_b.txt'), or a part is there (another program's NAME.part, ours to
                # resume, a crash's): never written over here; taken one by one, which
                # numbers it, resumes it or says whose it is.
                self._skip(reader, info)
                continue
            claimed.add(key)
            if self._write(reader, part, info):
                pending.append((part, info))
        if reader.next() is not None:
            raise ProtocolError("The server's archive holds more than was asked for.")
        rest = resp.length or 0
        if rest > 2 * RECORD:
            self.link.drop()  # not worth reading a hostile server's padding
        else:
            resp.read(rest)

    def _skip(self, reader: TarReader, info: FileInfo) -> None:
        """Read past a member that is to be taken one by one instead."""
        for chunk in reader.data(info.size):
            self._received += len(chunk)
        self.taken.left.append(info)
        self._deferred.add(info.name)

    def _names_in(self, folder: SaveFolder) -> frozenset[str]:
        """``folder``'s names, casefolded, as they were when this run first used it (a
        name made since by another program is still never written over: create is
        O_EXCL, and commit never replaces)."""
        names = self._present.get(id(folder))
        if names is None:
            try:
                names = frozenset(n.casefold() for n, _ in folder.entries())
            except OSError as exc:
                raise save_error(exc, folder.path, self._label, 0) from exc
            self._present[id(folder)] = names
        return names

    def _part(self, info: FileInfo) -> PartFile:
        """The part for ``info`` in its folder (made, or numbered on a clash, once)."""
        *subfolders, leaf = saved_segments(info.name)
        path: tuple[str, ...] = ()
        for segment in subfolders:
            parent, path = self._folders[path], (*path, segment)
            if path not in self._folders:
                try:
                    self._folders[path] = subfolder(parent, segment)
                except OSError as exc:
                    raise save_error(exc, parent.path, info.name, info.size) from exc
        part = PartFile(self._folders[path], info.name, leaf)
        part.part_name = archive_part_name(part.safe_name)  # see core.wire.names
        return part

    def _write(self, reader: TarReader, part: PartFile, info: FileInfo) -> bool:
        """Stream one member into its part; True when its SHA-256 is the offered one."""
        try:
            fd = part.folder.create(part.part_name, os.O_WRONLY)
        except OSError as exc:
            raise save_error(exc, part.folder.path, info.name, info.size) from exc
        hasher = hashlib.sha256()
        try:
            status = os.fstat(fd)
            part.identity = (status.st_dev, status.st_ino)
            for chunk in reader.data(info.size):
                hasher.update(chunk)
                view = chunk
                while view:
                    view = view[os.write(fd, view):]
                self._received += len(chunk)
                self._meter.update(self._received)
            keep_modified(fd, info.modified)
        except OSError as exc:
            _drop(part)
            raise save_error(exc, part.folder.path, info.name, info.size) from exc
        except BaseException:
            _drop(part)
            raise
        finally:
            os.close(fd)
        if hasher.hexdigest() != info.sha256:
            _drop(part)
            self.taken.failed[info.name] = (
                f"'{info.name}' arrived damaged: its SHA-256 is not the one the server"
                " offered. Nothing was saved; download it again.")
            return False
        self._checked += 1
        self._meter.files = (self._checked, len(self.infos))
        return True

    def _settle(self, pending: list[tuple[PartFile, FileInfo]]) -> None:
        """Flush the verified parts' data, name them, flush the folders (see module doc)."""
        if not pending:
            return
        _flush_data(self._folders[()], [part for part, _ in pending])
        for part, info in pending:
            try:
                path = self.taken.saved[info.name] = commit(part, one_of_many=True)
                if path.name != part.safe_name:
                    self.taken.renamed[info.name] = path.name
            except FilecastError as error:
                self.taken.failed[info.name] = str(error)
        if not _syncfs(self._folders[()]):
            for folder in self._folders.values():
                try:
                    folder.sync()
                except OSError as exc:
                    log.warning("could not fsync %s: %s", folder.path, exc)

    def _send_receipts(self, infos: list[FileInfo]) -> None:
        """Tell the server each file saved arrived verified, in a few requests on the
        second connection (its ledger's "verified" lines); a refused one is logged, as
        for one file (core.client.receipt). Finisher thread."""
        for run in runs_of([_receipt(i) for i in infos], json_size):
            body = json.dumps({"version": 1, "receipts": run}).encode()
            try:
                status, _, data = self._receipt_link.exchange("POST", RECEIPTS_PATH, body,
                                                              JSON_HEADERS)
            except CancelledError:
                raise
            except FilecastError as error:
                log.warning("receipts not sent: %s", error)
                return
            if status != 200:
                log.warning("receipts answered %s: %r", status, data[:200])


def _drop(part: PartFile) -> None:
    """Remove an archive member's part (only it: a NAME.part.json beside it is another
    download's, never this one's)."""
    with contextlib.suppress(OSError):
        part.folder.unlink(part.part_name)


def _flush_data(root: SaveFolder, parts: list[PartFile]) -> None:
    """Make the parts' bytes durable: one syncfs for all, else one fsync each."""
    if _syncfs(root):
        return
    for part in parts:
        try:
            fd = part.folder.open_existing(part.part_name, os.O_RDONLY)
        except OSError as exc:
            raise StorageError(f"'{part.part_name}' in {part.folder.path} could not be"
                               f" flushed to disk: {exc.strerror or exc}.") from exc
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs(folder: SaveFolder) -> bool:
    """syncfs(2) on the folder's file system (Linux); False where it is not available."""
    fd = folder.fileno()
    if not sys.platform.startswith("linux") or fd is None:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) == 0:
            return True
    except (OSError, AttributeError):
        return False
    log.warning("syncfs failed: %s", os.strerror(ctypes.get_errno()))
    return False
