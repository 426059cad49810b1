"""The file side of a download: the ``.part`` file, its metadata, hashing and the final rename.

No sockets here. Bytes go into ``NAME.part`` beside ``NAME.part.json`` (docs/PROTOCOL.md,
Saving); core.sink hashes and writes them while the network thread keeps receiving;
``commit`` moves a verified file to its final name without ever overwriting anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from .errors import StorageError
from .names import META_NEW_SUFFIX, META_SUFFIX, PART_SUFFIX, numbered, safe_filename
from .sink import Sink, Writer, storage_error

log = logging.getLogger(__name__)

META_VERSION = 1
MAX_NUMBERED = 10_000
# Windows needs O_BINARY; O_NOFOLLOW keeps a planted symlink at NAME.part from redirecting us.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)

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
        """Record which version the part holds, before its first byte is written.

        Written beside and renamed over the old one: a write cut short (a disk still full
        at Retry, a crash) leaves the old metadata whole, and with it the bytes it vouches
        for; a torn one would make the next attempt delete the part."""
        meta = {"version": META_VERSION, "name": self.name, "etag": etag, "size": size,
                "sha256": sha256, "server": server}
        fresh = self.folder / (self.safe_name + META_NEW_SUFFIX)
        try:
            fresh.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            os.replace(fresh, self.meta_path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                fresh.unlink()
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
