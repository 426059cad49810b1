"""The server's table of offered files: exact-name lookup, background hashing, change watch.

Only files in this table are ever served; a request's name is compared with the names
here and never joined to a path. The table is an immutable :class:`OfferState` swapped
atomically, so request threads read it without locks. One watcher thread hashes files
in the background and re-hashes any file that changes on disk while offered.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.events import (
    PROGRESS_INTERVAL,
    HashProgress,
    Listener,
    NullListener,
    OfferChanged,
    OfferedFileView,
    Throttle,
)
from core.server.entries import (
    FileUnavailable,
    ServedFile,
    default_message,
    expand,
    same_name,
)
from core.server.hashing import HashCancelled, sha256_file, sha256_whole
from core.server.regular import lstat_regular, open_folder
from core.wire.names import name_key
from core.wire.protocol import MAX_EMPTY_FOLDERS, SOFTWARE, Offer

WATCH_INTERVAL = 1.0
WHOLE_HASH_BYTES = 1024 * 1024  # files this small are hashed read whole (sha256_whole)
# The watcher's look at every file takes at most this share of a core: 10,000 files re-stat
# each second took 11% of one, and competed with the transfers it watches (issue 12).
WATCH_SHARE = 0.03
# Folder descriptors kept to open offered files by name within them; files in folders past
# this many are left out, never opened by path (a folder on the way could be a link then).
MAX_ANCHORED_FOLDERS = 1024


@dataclass(frozen=True)
class OfferState:
    """An immutable snapshot of the offer."""

    files: tuple[ServedFile, ...]
    message: str
    server_name: str
    left_out: tuple[str, ...] = ()  # a sentence per offered folder that left things out
    empty_folders: tuple[str, ...] = ()  # in offered folders, made by a client taking them
    _index: dict[str, ServedFile] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {name_key(f.name): f for f in self.files})

    @functools.cached_property
    def revision(self) -> str:
        """What every page of this offer shares: which files, in which versions (digests
        may arrive between pages; a file added, removed or changed makes another)."""
        names = "\n".join(f"{f.name}\t{f.etag}" for f in self.files).encode("utf-8",
                                                                           "surrogatepass")
        return hashlib.sha256(names).hexdigest()[:16]

    def find(self, name: str) -> ServedFile | None:
        """The offered file called ``name``, whatever its Unicode form; names are only
        ever compared with the table's, never joined to a path."""
        return self._index.get(name_key(name))

    def offer(self) -> Offer:
        """The greeting body's content (made once per snapshot: every page of the offer
        asks for it, and making it for 10,000 files took longer than sending a page)."""
        return self._offer

    @functools.cached_property
    def _offer(self) -> Offer:
        return Offer(SOFTWARE, self.server_name, self.message,
                     tuple(f.info() for f in self.files), self.empty_folders)


class OfferTable:
    """Thread-safe owner of the offer. Listener calls come from its watcher thread (hash
    progress, digests) and from the thread that calls set_files, set_message or refresh
    (a session's worker when a request finds a file changed; the window's worker)."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]] = (), *,
                 message: str | None = None, listener: Listener | None = None,
                 server_name: str | None = None) -> None:
        self._listener = listener or NullListener()
        self._custom_message = message
        self._server_name = server_name or socket.gethostname()
        self._lock = threading.Condition()
        self._views: dict[ServedFile, OfferedFileView] = {}  # the last publish's, reused
        self._cancel_hash = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._folders: dict[str, int | None] = {}  # folder path -> its descriptor, kept
        self._wanted: list[str] = []  # names clients asked for before their digest
        files, notes, empty = expand(paths)
        kept, more = self._anchor_all(files)
        self._state = self._build(kept, [*notes, *more], empty)

    @property
    def state(self) -> OfferState:
        """The current snapshot (an atomic read)."""
        return self._state

    def _build(self, files: list[ServedFile], left_out: Sequence[str] = (),
               empty: Sequence[str] = ()) -> OfferState:
        """A snapshot of ``files`` with the custom or default message; an empty folder
        stays while a file of its top folder is offered."""
        seen: dict[str, ServedFile] = {}
        for entry in files:
            other = seen.setdefault(name_key(entry.name), entry)
            if other is not entry:
                raise same_name(other, entry)
        message = self._custom_message or default_message([f.name for f in files])
        tops = {name_key(f.name.split("/", 1)[0]) for f in files if "/" in f.name}
        kept = tuple(dict.fromkeys(f for f in empty if name_key(f.split("/", 1)[0]) in tops))
        return OfferState(tuple(files), message, self._server_name, tuple(left_out),
                          kept[:MAX_EMPTY_FOLDERS])

    def set_files(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        """Offer these files and folders instead (GUI "Choose file…"); raises ServeError
        when one is unusable."""
        files, notes, empty = expand(paths)
        kept, more = self._anchor_all(files)
        self._publish(self._build(kept, [*notes, *more], empty))

    def add(self, paths: Sequence[str | os.PathLike[str]]) -> list[str]:
        """Offer these files and folders too, while serving (issue 12); returns the names
        added. ServeError when one is unusable or a name is offered already."""
        files, notes, empty = expand(paths)
        kept, more = self._anchor_all(files)
        with self._lock:
            state = self._state
            built = self._build([*state.files, *kept], [*state.left_out, *notes, *more],
                                [*state.empty_folders, *empty])
        self._publish(built)
        return [f.name for f in kept]

    def remove(self, names: Sequence[str]) -> int:
        """Stop offering these files (a name ending in ``/`` stands for a folder of the
        offer); how many went. A download already under way finishes on the file it
        opened: nobody gets a mix of versions (issue 12)."""
        gone = {name_key(name) for name in names if not name.endswith("/")}
        folders = tuple(name_key(name) for name in names if name.endswith("/"))
        with self._lock:
            state = self._state
            kept = [f for f in state.files if name_key(f.name) not in gone
                    and not name_key(f.name).startswith(folders)]
            empty = [f for f in state.empty_folders if not (name_key(f) + "/").startswith(folders)]
            built = self._build(kept, state.left_out, empty)
        self._publish(built)
        return len(state.files) - len(kept)

    def _anchored(self, entry: ServedFile) -> ServedFile | None:
        """``entry`` with the descriptor of its folder, opened once per folder and kept for
        the table's life (closing one a request might still use could hand its number to
        another file); None when it cannot be offered safely: past MAX_ANCHORED_FOLDERS, or
        when the file seen through the folder is not the one chosen (a folder on the way
        or the file swapped for a link meanwhile: issue 12 review). Only where the system
        has no dir_fd (Windows) are files opened by path."""
        folder = os.path.dirname(entry.path)
        by_fd = os.open in os.supports_dir_fd
        if folder not in self._folders:
            if len(self._folders) >= MAX_ANCHORED_FOLDERS and by_fd:
                return None
            self._folders[folder] = open_folder(folder)
        fd = self._folders[folder]
        if fd is None:
            return None if by_fd else entry
        try:
            seen = os.stat(os.path.basename(entry.path), dir_fd=fd, follow_symlinks=False)
        except OSError:
            return None
        return entry.in_folder(fd) if entry.matches(seen) else None

    def _anchor_all(self, files: list[ServedFile]) -> tuple[list[ServedFile], list[str]]:
        """The files that can be offered safely, and a sentence for those that cannot."""
        anchored = [self._anchored(f) for f in files]
        kept = [f for f in anchored if f is not None]
        gone = len(files) - len(kept)
        if not gone:
            return kept, []
        return kept, [f"Left out {gone:,} file{'' if gone == 1 else 's'} that changed while"
                      " being offered, or in folders past the first"
                      f" {MAX_ANCHORED_FOLDERS:,}: offer them again."]

    def close(self) -> None:
        """Stop, and release the folders' descriptors (the table is not used again)."""
        self.stop()
        folders, self._folders = self._folders, {}
        for fd in folders.values():
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def set_message(self, message: str | None) -> None:
        """Change what clients are told; None restores the default."""
        self._custom_message = message or None
        self._publish(self._build(list(self._state.files), self._state.left_out,
                                  self._state.empty_folders), rescan=False)

    def _publish(self, state: OfferState, *, rescan: bool = True) -> None:
        """Swap in ``state``, wake the watcher (``rescan``) and tell the listener."""
        with self._lock:
            self._state = state
            if rescan:
                self._cancel_hash.set()
            self._lock.notify_all()
        self._listener.on_event(OfferChanged(self._views_of(state)))

    def _views_of(self, state: OfferState) -> tuple[OfferedFileView, ...]:
        """What the front ends are told of ``state``: each file's view, made again only
        for a file that changed (10,000 views made each publish took most of the time to
        offer a folder of 10,000 files: issue 12)."""
        with self._lock:
            known = self._views
            views = {f: known.get(f) or f.view() for f in state.files}
            self._views = views
        return tuple(views.values())

    def refresh(self, name: str) -> ServedFile | None:
        """The entry for ``name`` checked against the disk now; a changed file is re-offered.

        None when ``name`` is not offered; FileUnavailable when the file is gone or is no
        longer a regular file (a FIFO or a link put in its place): lstat never blocks or
        follows a link."""
        entry = self._state.find(name)
        if entry is None:
            return None
        try:
            info = lstat_regular(entry.path, entry.folder)
        except OSError as exc:
            raise FileUnavailable(entry.name) from exc
        if entry.matches(info):
            return entry
        self._replace(entry, replace(entry, size=info.st_size, mtime_ns=info.st_mtime_ns,
                                     ino=info.st_ino, sha256=None))
        return self._state.find(name)

    def unchanged(self, entry: ServedFile) -> bool:
        """Whether the file on disk still is what ``entry`` describes (checked before a
        body's last byte, so no complete body ever differs from its promised digest)."""
        try:
            return entry.matches(lstat_regular(entry.path, entry.folder))
        except OSError:
            return False

    def _replace(self, old: ServedFile, new: ServedFile) -> None:
        """Swap one entry if it is still current."""
        with self._lock:
            files = list(self._state.files)
            if old not in files:
                return
            files[files.index(old)] = new
            state = replace(self._state, files=tuple(files))
        self._publish(state)

    def wait_digest(self, name: str, etag: str, timeout: float) -> ServedFile | None:
        """The entry once hashed, if its etag is still ``etag``; None on change or timeout."""
        self.want(name)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                entry = self._state.find(name)
                if entry is None or entry.etag != etag:
                    return None
                if entry.sha256 is not None:
                    return entry
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return None
                self._lock.wait(min(left, WATCH_INTERVAL))

    def start(self) -> None:
        """Start the hashing and watching thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._watch, name="filecast-offer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the watcher thread; an unfinished hash is abandoned."""
        self._stopping.set()
        with self._lock:
            self._cancel_hash.set()
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _watch(self) -> None:
        """Hash what is unhashed; re-stat every file every second (less often for a big
        offer: WATCH_SHARE) and re-offer changed ones.

        Digests are published in batches (at most every PROGRESS_INTERVAL and at the end of
        a pass), and publishing one never restarts the pass: a folder of 1,000 small files
        once took 86 s, one file a pass, each digest sending all 1,000 files again."""
        while not self._stopping.is_set():
            looked = self._pass()
            with self._lock:
                if not self._cancel_hash.is_set():
                    self._lock.wait(max(WATCH_INTERVAL, looked / WATCH_SHARE))
                self._cancel_hash.clear()

    def want(self, name: str) -> None:
        """A client asked for ``name`` before its digest is known: hash it next, so a
        client can start while a large folder is still hashed (issue 12)."""
        with self._lock:
            if name not in self._wanted:
                self._wanted.append(name)

    def _next_wanted(self) -> ServedFile | None:
        """The first wanted file that still has no digest, if any (watcher thread)."""
        with self._lock:
            while self._wanted:
                entry = self._state.find(self._wanted.pop(0))
                if entry is not None and entry.sha256 is None:
                    return entry
        return None

    def _pass(self) -> float:
        """One look at every offered file: re-stat it, hash it when it has no digest;
        files clients asked for first. Returns the seconds it spent not hashing."""
        began, hashing = time.monotonic(), 0.0
        digests: dict[ServedFile, str] = {}
        # Each publish tells the windows about every file: spaced out with the offer's
        # size, so 10,000 files are published a few times a second, not ten.
        told = Throttle(max(PROGRESS_INTERVAL, len(self._state.files) / 20_000))
        told.hold()
        rest = iter(self._state.files)
        seen: set[str] = set()
        while True:
            entry = self._next_wanted() or next(rest, None)
            if entry is None or self._cancel_hash.is_set() or self._stopping.is_set():
                break  # done, or a new offer or a changed file: the next pass starts over
            if entry.name in seen:
                continue  # a wanted file, already hashed in this pass
            seen.add(entry.name)
            if entry.sha256 is not None and self.unchanged(entry):
                continue  # most files, most passes: one lstat, no lookup, no lock
            current = self._state.find(entry.name)
            try:
                if current is not None and current.sha256 is None:
                    # Hashed as listed: _hash checks it unchanged after, and re-stats it
                    # only then (a stat less per file of a big folder).
                    started = time.monotonic()
                    digest = self._hash(current)
                    hashing += time.monotonic() - started
                    if digest is not None:
                        digests[current] = digest
                    elif not self._cancel_hash.is_set():
                        self.refresh(entry.name)
                else:
                    self.refresh(entry.name)
            except FileUnavailable:
                continue  # gone or not a file now; offered again once it is back
            if digests and told.due():
                self._add_digests(digests)
                digests = {}
        if digests:
            self._add_digests(digests)
        return time.monotonic() - began - hashing

    def _add_digests(self, digests: dict[ServedFile, str]) -> None:
        """Publish the digests of entries that are still current, in one snapshot."""
        with self._lock:
            files = tuple(f.hashed(digests[f]) if f in digests else f
                          for f in self._state.files)
            state = replace(self._state, files=files)
        self._publish(state, rescan=False)

    def _hash(self, entry: ServedFile) -> str | None:
        """The digest of one entry, if the file did not change meanwhile."""
        if entry.size <= WHOLE_HASH_BYTES:  # read at once: only "done" is worth saying
            try:
                digest = sha256_whole(entry.path, entry.folder,
                                      (entry.size, entry.mtime_ns, entry.ino))
            except OSError:
                return None  # unreadable now; the next pass re-stats it
            if digest is not None:
                self._listener.on_event(HashProgress(entry.name, entry.size, entry.size))
            return digest
        throttle = Throttle()

        def progress(done: int) -> None:
            if throttle.due(final=done == entry.size):
                self._listener.on_event(HashProgress(entry.name, done, entry.size))

        try:
            digest = sha256_file(entry.path, folder=entry.folder, progress=progress,
                                 cancel=self._cancel_hash)
        except HashCancelled:
            return None
        except OSError:
            return None  # unreadable now; the next pass re-stats it
        return digest if self.unchanged(entry) else None
