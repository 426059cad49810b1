"""Where received bytes go: hashed and written beside the receiving thread, memory bounded.

Three threads share one pool of buffers: the network thread fills them, a hasher feeds
SHA-256 and a writer puts them in the ``.part``; a buffer returns to the pool when both are
done with it. hashlib and os.write both release the GIL, so on two cores the hash no longer
waits for the disk (measured in bench/: hashing and writing one after the other in one
worker held a 1 GiB download to about half the speed of doing them side by side).

Where the system allows it (Linux, a file system that supports it), whole aligned buffers
are written with O_DIRECT from page-aligned buffers: the bytes skip the page cache, whose
allocation and copy cost more than the disk on the bench machine, and the final fsync has
little left to do. 1 GiB to ext4, same run: 0.27-0.40 GB/s buffered + fsync, 0.90-1.07 GB/s
direct, curl (no fsync) 0.40-0.70. Anything unaligned (a resumed offset, the last piece)
and any refusal (EINVAL on tmpfs) falls back to ordinary writes.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from core.client.savefolder import SaveFolder, reopen
from core.errors import (
    DigestMismatchError,
    DiskFullError,
    ProtocolError,
    StorageError,
    disk_is_full,
)
from core.events import Throttle
from core.wire.units import human_size


class PartFile(Protocol):
    """What the pipeline needs of the part file it writes (core.client.partfile): where it
    is, to name it in errors and re-read it, and a way to drop it when it arrived wrong.
    A protocol, so the part file may use the pipeline without an import cycle."""

    @property
    def name(self) -> str:
        """The final file name (for sentences)."""

    @property
    def path(self) -> Path:
        """The .part file's path."""

    @property
    def folder(self) -> SaveFolder:
        """The save folder it is in."""

    def discard(self) -> None:
        """Remove the .part and its metadata."""

# Small enough to stay in the CPU cache between the hasher and the writer (1 MiB buffers
# beat 4 MiB ones on the bench machine), many enough to ride out a slow disk moment.
BUFFER_SIZE = 1024 * 1024
BUFFER_COUNT = 16  # memory stays at BUFFER_COUNT × BUFFER_SIZE whatever the file size
PREFIX_CHUNK = 4 * 1024 * 1024

DIRECT_ALIGN = 4096  # O_DIRECT wants offsets, lengths and addresses on block boundaries
_O_DIRECT = getattr(os, "O_DIRECT", 0)

Writer = Callable[[int, memoryview], int]
Progress = Callable[[int, int], None]  # (done, total)
Buffer = bytearray | mmap.mmap
_Item = tuple[Buffer, int] | None


def save_error(exc: OSError, folder: Path, name: str, missing: int) -> StorageError:
    """The sentence for a failed write: disk full gets its own class, the rest name the folder."""
    if disk_is_full(exc):
        try:
            free = human_size(shutil.disk_usage(folder).free)
        except OSError:
            free = "too little space"
        return DiskFullError(
            f"The disk is full: {free} free is not enough for '{name}'"
            f" ({human_size(missing)} still to save). Free some space and press Retry;"
            " the partial download is kept."
        )
    return StorageError(
        f"Could not save '{name}' in {folder}: {exc.strerror or exc}. Check that the folder"
        " exists and that you may write to it, then press Retry."
    )


class Sink:
    """Takes filled buffers from the receiving thread; hashes and writes them in two workers.

    The receiver takes an empty buffer with :meth:`buffer` (blocking while every buffer is
    in flight: backpressure), fills it and hands it over with :meth:`put`. On resume the
    hasher first reads the prefix already in the part, unless the caller hands over the
    hasher that saw it.
    """

    def __init__(self, fd: int, part: PartFile, offset: int, size: int, *,
                 hasher: hashlib._Hash | None = None, write: Writer = os.write,
                 on_prefix: Progress | None = None) -> None:
        """Start both workers; ``write`` is injectable so tests can simulate a full disk;
        ``on_prefix(done, total)`` hears the re-read of a resumed part (hash thread)."""
        self._on_prefix = on_prefix
        self._fd: int | None = fd
        self._part = part
        self._size = size
        self._write = write
        self._prefix = 0 if hasher is not None else offset
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self.written = offset
        self._error: BaseException | None = None
        self._aborted = False
        self._prefix_done = False
        self._free: queue.Queue[Buffer] = queue.Queue()
        self._buffers = 0  # allocated lazily, sized to the file: a 1-byte file needs no 1 MiB
        self._buffer_size = max(1, min(BUFFER_SIZE, size - offset))
        # Direct writes only with the real os.write (tests inject faults through `write`)
        # and only for whole buffers, so small files never use them.
        self._direct: int | None = None
        if write is os.write and self._buffer_size == BUFFER_SIZE:
            self._direct = _open_direct(fd)
        self._holders: dict[int, int] = {}  # id(buffer) -> workers still using it
        self._lock = threading.Lock()
        self._to_hash: queue.Queue[_Item] = queue.Queue()
        self._to_write: queue.Queue[_Item] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._hash_loop, name="filecast-hash", daemon=True),
            threading.Thread(target=self._write_loop, name="filecast-write", daemon=True),
        ]
        for worker in self._workers:
            worker.start()

    # --- the receiving thread's side ---------------------------------------------------

    def buffer(self) -> Buffer:
        """An empty buffer to fill; blocks while all are in flight."""
        self._raise_error()
        if self._free.empty() and self._buffers < BUFFER_COUNT:
            self._buffers += 1
            if self._direct is not None:
                return mmap.mmap(-1, self._buffer_size)  # page-aligned, as O_DIRECT needs
            return bytearray(self._buffer_size)
        return self._free.get()

    def put(self, buf: Buffer, length: int) -> None:
        """Hand over the first ``length`` bytes of ``buf``; raise a pending error."""
        self._raise_error()
        with self._lock:
            self._holders[id(buf)] = 2
        self._to_hash.put((buf, length))
        self._to_write.put((buf, length))

    def _raise_error(self) -> None:
        """Re-raise what a worker hit (a StorageError, or a bug as itself)."""
        if self._error is not None:
            raise self._error

    # --- the workers -------------------------------------------------------------------

    def _release(self, buf: Buffer) -> None:
        """One worker is done with ``buf``; the last one returns it to the pool."""
        with self._lock:
            left = self._holders[id(buf)] - 1
            if left:
                self._holders[id(buf)] = left
                return
            del self._holders[id(buf)]
        self._free.put(buf)

    def _fail(self, exc: BaseException) -> None:
        """Remember the first error; a write error becomes the person's sentence."""
        if self._error is None:
            if isinstance(exc, OSError):
                missing = self._size - self.written
                exc = save_error(exc, self._part.folder.path, self._part.name, missing)
            self._error = exc

    def _hash_loop(self) -> None:
        """Hash the resumed prefix, then every buffer handed over, in order."""
        try:
            self._hash_prefix()
        except BaseException as exc:  # surfaced in the receiving thread
            self._fail(exc)
        while (item := self._to_hash.get()) is not None:
            buf, length = item
            if self._error is None:
                self.hasher.update(memoryview(buf)[:length])
            self._release(buf)  # drain after an error so the receiver never blocks forever

    def _write_loop(self) -> None:
        """Write every buffer handed over, in order, looping over short writes."""
        while (item := self._to_write.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    self._write_all(memoryview(buf)[:length])
                except BaseException as exc:
                    self._fail(exc)
            self._release(buf)

    def _write_all(self, view: memoryview) -> None:
        """Write ``view`` at ``written``: directly when aligned, else through the page cache."""
        assert self._fd is not None
        if self._direct is not None and _aligned(self.written, len(view)):
            try:
                while view:
                    done = os.pwrite(self._direct, view, self.written)
                    view = view[done:]
                    self.written += done
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self._close_direct()  # refused after all: buffered from here on
        os.lseek(self._fd, self.written, os.SEEK_SET)  # direct writes moved on without it
        while view:
            done = self._write(self._fd, view)
            view = view[done:]
            self.written += done

    def _close_direct(self) -> None:
        """Stop writing directly (refused, or the end)."""
        if self._direct is not None:
            os.close(self._direct)
            self._direct = None

    def _hash_prefix(self) -> None:
        """Feed the hasher the bytes a previous attempt left in the part.

        Read through the part's own descriptor, never its name again: the name may point
        elsewhere by now (issue 9). pread leaves the writer's file offset alone."""
        fd, at = self._fd, 0
        assert fd is not None  # closed only after this worker ends
        told = Throttle()
        while at < self._prefix:
            if self._on_prefix is not None and told.due():
                self._on_prefix(at, self._prefix)
            if self._aborted:  # cancelled: do not make the person wait for a long re-read
                return
            chunk = _read_at(fd, self._part.path, min(PREFIX_CHUNK, self._prefix - at), at)
            if not chunk:
                raise OSError(errno.EIO, "the partial download is shorter than recorded")
            self.hasher.update(chunk)
            at += len(chunk)
        if self._on_prefix is not None and self._prefix:
            self._on_prefix(at, self._prefix)
        self._prefix_done = True

    # --- ending ------------------------------------------------------------------------

    @property
    def resumable(self) -> bool:
        """Whether the hasher saw exactly the ``written`` bytes, so a resume may reuse it."""
        return self._error is None and self._prefix_done

    def abort(self) -> None:
        """Stop early (a cut or a cancel): write what is queued and close; the part stays."""
        self._aborted = True
        self.close()

    def close(self, *, sync: bool = False) -> None:
        """Finish what is queued, stop the workers, close the file; the part stays."""
        if any(worker.is_alive() for worker in self._workers):
            self._to_hash.put(None)
            self._to_write.put(None)
            for worker in self._workers:
                worker.join()
        self._close_direct()
        if self._fd is None:
            return
        try:
            if sync and self._error is None:
                os.fsync(self._fd)  # before the rename, so a crash cannot leave a short file
        except OSError as exc:
            self._fail(exc)
        finally:
            os.close(self._fd)
            self._fd = None

    def finish(self, expected_size: int, expected_sha256: str | None) -> str:
        """Complete the part: check length and digest, fsync, return the SHA-256 hex.

        A wrong length or digest deletes the part: its content is known bad, and nothing
        is left that could later be mistaken for the file.
        """
        self.close(sync=True)
        self._raise_error()
        digest = self.hasher.hexdigest()
        if self.written != expected_size:
            self._part.discard()
            raise ProtocolError(
                f"'{self._part.name}' arrived with {human_size(self.written)} instead of"
                f" {human_size(expected_size)}. Nothing was saved; download it again."
            )
        if expected_sha256 is not None and digest != expected_sha256:
            self._part.discard()
            raise DigestMismatchError(
                f"'{self._part.name}' arrived damaged: its SHA-256 does not match the server's."
                " Nothing was saved; download it again."
            )
        return digest


def _aligned(offset: int, length: int) -> bool:
    """Whether a write at ``offset`` of ``length`` bytes may go out with O_DIRECT."""
    return offset % DIRECT_ALIGN == 0 and length % DIRECT_ALIGN == 0 and length > 0


def _read_at(fd: int, path: Path, size: int, at: int) -> bytes:
    """``size`` bytes at ``at`` without moving the writer's offset: pread, or on Windows
    (no pread; links there need administrator rights) a read through the path."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, at)
    with open(path, "rb") as f:
        f.seek(at)
        return f.read(size)


def _open_direct(fd: int) -> int | None:
    """A second, O_DIRECT descriptor on the very file ``fd`` is open on, or None where that
    is not possible (EINVAL: tmpfs and some file systems do not do direct I/O). Never the
    part's name again: a link planted there since would take the writes (issue 9)."""
    if not _O_DIRECT:
        return None
    return reopen(fd, os.O_WRONLY | _O_DIRECT)
