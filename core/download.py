"""The file side of a download: the ``.part`` file, its metadata, hashing and the final rename.

No sockets here. Bytes go into ``NAME.part`` beside ``NAME.part.json`` (docs/PROTOCOL.md,
Saving); a worker thread hashes and writes them while the network thread keeps receiving;
``commit`` moves a verified file to its final name without ever overwriting anything.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import DigestMismatchError, DiskFullError, ProtocolError, StorageError
from .names import META_SUFFIX, PART_SUFFIX, numbered, safe_filename
from .units import human_size

log = logging.getLogger(__name__)

META_VERSION = 1
BUFFER_SIZE = 4 * 1024 * 1024
BUFFER_COUNT = 4  # memory stays at BUFFER_COUNT × BUFFER_SIZE whatever the file size
MAX_NUMBERED = 10_000
_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e)
# Windows needs O_BINARY; O_NOFOLLOW keeps a planted symlink at NAME.part from redirecting us.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)

Writer = Callable[[int, memoryview], int]


def storage_error(exc: OSError, folder: Path, name: str, missing: int) -> StorageError:
    """The sentence for a failed write: disk full gets its own class, the rest name the folder."""
    if exc.errno in _FULL_ERRNOS:
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


class PartFile:
    """``folder/SAFE.part`` and ``folder/SAFE.part.json`` for one offered file."""

    def __init__(self, folder: Path, name: str) -> None:
        """Derive the safe names; touches nothing on disk yet."""
        self.folder, self.name, self.safe_name = folder, name, safe_filename(name)
        self.path = folder / (self.safe_name + PART_SUFFIX)
        self.meta_path = folder / (self.safe_name + META_SUFFIX)

    def _read_meta(self) -> dict[str, Any] | None:
        """The metadata, or None when missing or unreadable (a crash mid-write is stale)."""
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def resume_offset(self, etag: str, size: int, sha256: str | None = None) -> int:
        """Bytes already saved for this exact version of the file; 0 (and no leftovers) else."""
        meta = self._read_meta()
        try:
            stat = self.path.stat()
        except OSError:
            have, links = -1, 0
        else:
            have, links = stat.st_size, stat.st_nlink
        if links > 1 and self.meta_path.exists():
            # A kill between commit()'s link and unlink left the part as a second name of
            # the saved, verified file: writing into it would truncate that file (issue 5,
            # found by the SIGKILL runs). Finish the commit: drop the part's names only.
            self.discard()
            return 0
        if have >= 0 and not self.meta_path.exists():
            # We write the meta before the part, so this part is another program's (browsers
            # also use NAME.part): never delete or truncate it.
            raise StorageError(
                f"'{self.path.name}' in {self.folder} belongs to another program. Move or"
                " rename it, then press Retry."
            )
        same = (
            meta is not None
            and meta.get("version") == META_VERSION
            and meta.get("name") == self.name
            and meta.get("etag") == etag
            and meta.get("size") == size
            # Two versions with equal ETags (copied with their mtime) still differ in digest.
            and (sha256 is None or meta.get("sha256") in (None, sha256))
        )
        if same and 0 <= have <= size:
            return have
        self.discard()
        return 0

    def discard(self) -> None:
        """Delete the part and its metadata (stale or known bad)."""
        for path in (self.path, self.meta_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise storage_error(exc, self.folder, self.name, 0) from exc

    def write_meta(self, etag: str, size: int, sha256: str | None, server: str) -> None:
        """Record which version the part holds, before its first byte is written."""
        meta = {"version": META_VERSION, "name": self.name, "etag": etag, "size": size,
                "sha256": sha256, "server": server}
        try:
            self.meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            raise storage_error(exc, self.folder, self.name, size) from exc

    def open(self, etag: str, size: int, sha256: str | None, server: str, offset: int,
             *, hasher: hashlib._Hash | None = None, write: Writer = os.write) -> Sink:
        """Write the metadata, open the part at ``offset`` (dropping anything after it)."""
        self.write_meta(etag, size, sha256, server)
        try:
            fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        except OSError as exc:
            raise storage_error(exc, self.folder, self.name, size - offset) from exc
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, self.folder, self.name, size - offset) from exc
        return Sink(fd, self, offset, size, hasher=hasher, write=write)


class Sink:
    """Hashes and writes received buffers on a worker thread, with bounded memory.

    The receiving thread takes an empty buffer with :meth:`buffer`, fills it and hands it
    over with :meth:`put`; the worker hashes it (hashlib releases the GIL on large buffers)
    and writes it, then returns it to the pool. On resume the worker first hashes the prefix
    already in the part, unless the caller hands over the hasher that saw it.
    """

    def __init__(self, fd: int, part: PartFile, offset: int, size: int, *,
                 hasher: hashlib._Hash | None = None, write: Writer = os.write) -> None:
        """Start the worker; ``write`` is injectable so tests can simulate a full disk."""
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
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._buffers = 0  # allocated lazily, sized to the file: a 1-byte file needs no 4 MiB
        self._buffer_size = max(1, min(BUFFER_SIZE, size - offset))
        self._full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="filecast-sink", daemon=True)
        self._worker.start()

    def buffer(self) -> bytearray:
        """An empty buffer to fill; blocks while all are in flight (backpressure)."""
        self._raise_error()
        if self._free.empty() and self._buffers < BUFFER_COUNT:
            self._buffers += 1
            return bytearray(self._buffer_size)
        return self._free.get()

    def put(self, buf: bytearray, length: int) -> None:
        """Hand over the first ``length`` bytes of ``buf``; raise a pending write error."""
        self._raise_error()
        self._full.put((buf, length))

    def _raise_error(self) -> None:
        """Re-raise what the worker hit (a StorageError, or a bug as itself)."""
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """Worker: hash the resumed prefix, then hash and write every buffer handed over."""
        try:
            self._hash_prefix()
        except OSError as exc:
            self._error = storage_error(exc, self._part.folder, self._part.name, 0)
        except BaseException as exc:  # a bug: surfaced in the receiving thread
            self._error = exc
        while (item := self._full.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    self._consume(memoryview(buf)[:length])
                except OSError as exc:
                    missing = self._size - self.written
                    self._error = storage_error(exc, self._part.folder, self._part.name, missing)
                except BaseException as exc:
                    self._error = exc
            self._free.put(buf)  # drain after an error so the receiver never blocks forever

    def _hash_prefix(self) -> None:
        """Feed the hasher the bytes a previous attempt left in the part (4 MiB reads)."""
        left = self._prefix
        with open(self._part.path, "rb") as f:
            while left > 0:
                if self._aborted:  # cancelled: do not make the person wait for a long re-read
                    return
                chunk = f.read(min(BUFFER_SIZE, left))
                if not chunk:
                    raise OSError(errno.EIO, "the partial download is shorter than recorded")
                self.hasher.update(chunk)
                left -= len(chunk)
        self._prefix_done = True

    def _consume(self, view: memoryview) -> None:
        """Hash then write one buffer, looping over short writes."""
        self.hasher.update(view)
        assert self._fd is not None
        while view:
            done = self._write(self._fd, view)
            view = view[done:]
            self.written += done

    @property
    def resumable(self) -> bool:
        """Whether the hasher saw exactly the ``written`` bytes, so a resume may reuse it."""
        return self._error is None and self._prefix_done

    def abort(self) -> None:
        """Stop early (a cut or a cancel): write what is queued and close; the part stays."""
        self._aborted = True
        self.close()

    def close(self, *, sync: bool = False) -> None:
        """Write what is queued, stop the worker, close the file; the part stays for a resume."""
        if self._worker.is_alive():
            self._full.put(None)
            self._worker.join()
        if self._fd is None:
            return
        try:
            if sync and self._error is None:
                os.fsync(self._fd)  # before the rename, so a crash cannot leave a short file
        except OSError as exc:
            self._error = storage_error(exc, self._part.folder, self._part.name, 0)
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


def _place(part_path: Path, final: Path) -> None:
    """Give the part the name ``final`` or raise FileExistsError; never replaces a file.

    os.link fails on an existing target, atomically (POSIX). Where hard links are not
    supported (FAT, some network shares, Windows without privileges) Windows' rename
    refuses to overwrite, and on POSIX we first claim the name with O_EXCL so the rename
    only ever replaces our own empty placeholder.
    """
    try:
        os.link(part_path, final)
    except FileExistsError:
        raise
    except OSError:
        if os.name == "nt":
            os.rename(part_path, final)
            return
        os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        try:
            os.replace(part_path, final)
        except OSError:
            final.unlink()  # never leave our empty placeholder under the final name
            raise
        return
    try:
        part_path.unlink()
    except OSError as exc:  # the file is safe under its final name; this is only clutter
        log.warning("could not remove %s: %s", part_path, exc)


def commit(part_path: Path, folder: Path, safe_name: str) -> Path:
    """Move a verified part to ``safe_name``, or ``safe_name (1)``..., never overwriting."""
    root = folder.resolve()
    for n in range(MAX_NUMBERED):
        candidate = safe_name if n == 0 else numbered(safe_name, n)
        final = root / candidate
        # Names come from the network: the result must be a direct child of the folder.
        assert final.parent == root and final.name == candidate, candidate
        try:
            _place(part_path, final)
        except FileExistsError:
            continue
        except OSError as exc:
            raise storage_error(exc, folder, safe_name, 0) from exc
        _forget_meta(part_path)
        _sync_folder(root)
        return final
    raise StorageError(
        f"'{safe_name}' and {MAX_NUMBERED - 1} numbered copies already exist in {folder}."
        " Choose another folder."
    )


def _forget_meta(part_path: Path) -> None:
    """Remove NAME.part.json beside a committed part; a leftover one is only a nuisance."""
    meta = part_path.with_name(part_path.name[: -len(PART_SUFFIX)] + META_SUFFIX)
    try:
        meta.unlink()
    except OSError as exc:
        log.warning("could not remove %s: %s", meta, exc)


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the new name survives a crash (POSIX; Windows cannot open dirs)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("could not fsync %s: %s", folder, exc)
