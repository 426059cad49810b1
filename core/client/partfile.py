"""The file side of a download: the ``.part`` file, its metadata, hashing and the final rename.

No sockets here. Bytes go into ``NAME.part`` beside ``.NAME.part.json`` (docs/PROTOCOL.md,
Saving); core.client.pipeline hashes and writes them while the network thread keeps receiving;
``commit`` moves a verified file to its final name without ever overwriting anything. Every
name is used through core.client.savefolder, so nothing planted in the folder (a symbolic or hard
link) can redirect a write outside it (issue 9).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from core.client.pipeline import Progress, Sink, Writer, save_error
from core.client.savefolder import SaveFolder
from core.errors import StorageError
from core.wire.names import (
    META_NEW_SUFFIX,
    META_SUFFIX,
    PART_SUFFIX,
    meta_name,
    numbered,
    safe_filename,
)

log = logging.getLogger(__name__)

META_VERSION = 1
MAX_META_BYTES = 64 * 1024  # ours is a few hundred bytes; a bigger one is not ours
MAX_NUMBERED = 10_000


class PartFile:
    """``SAFE.part`` and ``.SAFE.part.json`` for one offered file, in one SaveFolder.

    A Path instead of a SaveFolder opens the folder for this part alone (tests, one-off use).
    """

    def __init__(self, folder: SaveFolder | Path, name: str, leaf: str | None = None) -> None:
        """Derive the safe names (``leaf``: the file's own, as core.wire.paths made it for a
        name with folders); touches nothing on disk yet."""
        self.folder = folder if isinstance(folder, SaveFolder) else SaveFolder(folder)
        self.name, self.safe_name = name, leaf or safe_filename(name)
        self.part_name = self.safe_name + PART_SUFFIX
        self.meta_name = meta_name(self.safe_name)
        self.legacy_meta_name = self.safe_name + META_SUFFIX  # before issue 11: not hidden
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the part we opened

    @property
    def path(self) -> Path:
        """Where the part is, for sentences and tests (never opened by this path)."""
        return self.folder.path / self.part_name

    @property
    def meta_path(self) -> Path:
        """Where the metadata is, for sentences and tests."""
        return self.folder.path / self.meta_name

    def failure(self, exc: OSError, missing: int) -> StorageError:
        """The sentence for a failed operation on this part."""
        return save_error(exc, self.folder.path, self.name, missing)

    def _read_meta(self, name: str | None = None) -> dict[str, Any] | None:
        """The metadata (at ``name``, else its own name), or None when missing, unreadable
        or not a plain file (a crash mid-write is stale; a link planted there is not ours)."""
        data = self.folder.read_small(name or self.meta_name, MAX_META_BYTES)
        try:
            meta = json.loads(data.decode("utf-8")) if data is not None else None
        except (ValueError, RecursionError):
            return None
        return meta if isinstance(meta, dict) else None

    def saved_bytes(self) -> int:
        """Bytes in the part now (0 when there is none, or it is not a plain file)."""
        try:
            return self.folder.regular_size(self.part_name) or 0
        except OSError:
            return 0

    def _legacy_is_ours(self) -> bool:
        """Whether the unhidden metadata name holds this file's metadata: for '.x' that name
        is '.x.part.json', which is x's hidden metadata (issue 11 review)."""
        meta = self._read_meta(self.legacy_meta_name)
        return meta is not None and meta.get("name") == self.name

    def _adopt_legacy_meta(self) -> None:
        """A part left by a version that kept its metadata unhidden: move the metadata to
        its hidden name, when it is a plain file of ours (a link there is not adopted)."""
        try:
            if self.folder.lstat(self.meta_name) is not None:
                return
            legacy = self.folder.lstat(self.legacy_meta_name)
            if legacy is not None and stat.S_ISREG(legacy.st_mode) and legacy.st_nlink == 1 \
                    and self._legacy_is_ours():
                self.folder.replace(self.legacy_meta_name, self.meta_name)
        except OSError:
            log.debug("could not adopt %s", self.legacy_meta_name)

    def resume_offset(self, etag: str, size: int, sha256: str | None = None) -> int:
        """Bytes already saved for this exact version of the file; 0 (and no leftovers) else."""
        self._adopt_legacy_meta()
        meta = self._read_meta()
        try:
            status = self.folder.lstat(self.part_name)
            has_meta = self.folder.lstat(self.meta_name) is not None
        except OSError as exc:
            raise self.failure(exc, size) from exc
        if status is not None and has_meta and (
                status.st_nlink > 1 or not stat.S_ISREG(status.st_mode)):
            # A kill between commit()'s link and unlink left the part as a second name of
            # the saved, verified file: writing into it would truncate that file (issue 5,
            # found by the SIGKILL runs); or a link was planted there (issue 9). Drop the
            # names only and start over.
            self.discard()
            return 0
        if status is not None and not has_meta:
            # We write the meta before the part, so this part is another program's (browsers
            # also use NAME.part): never delete or truncate it.
            raise StorageError(
                f"'{self.part_name}' in {self.folder.path} belongs to another program. Move or"
                " rename it, then press Retry."
            )
        have = status.st_size if status is not None else -1
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
        """Delete the part and its metadata (stale or known bad): the names, never a target."""
        names = [self.part_name, self.meta_name]
        if self.legacy_meta_name != self.meta_name and self._legacy_is_ours():
            names.append(self.legacy_meta_name)
        for name in names:
            try:
                self.folder.unlink(name)
            except OSError as exc:
                raise self.failure(exc, 0) from exc

    def write_meta(self, etag: str, size: int, sha256: str | None, server: str) -> None:
        """Record which version the part holds, before its first byte is written.

        Written beside and renamed over the old one: a write cut short (a disk still full
        at Retry, a crash) leaves the old metadata whole, and with it the bytes it vouches
        for; a torn one would make the next attempt delete the part. The new file is created
        afresh (O_EXCL), so a link planted at its name is removed, not followed (issue 9)."""
        meta = {"version": META_VERSION, "name": self.name, "etag": etag, "size": size,
                "sha256": sha256, "server": server}
        fresh = self.meta_name + META_NEW_SUFFIX[len(META_SUFFIX):]
        try:
            self.folder.write_new(fresh, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
            self.folder.replace(fresh, self.meta_name)
        except OSError as exc:
            try:
                self.folder.unlink(fresh)
            except OSError:
                log.debug("could not remove %s", fresh)
            raise self.failure(exc, size) from exc

    def open(self, etag: str, size: int, sha256: str | None, server: str, offset: int,
             *, hasher: hashlib._Hash | None = None, write: Writer = os.write,
             on_prefix: Progress | None = None) -> Sink:
        """Write the metadata, open the part at ``offset`` (dropping anything after it).

        At 0 the part is created afresh; to resume, the part must still be a plain file with
        one name, or a planted hard link would have us write into a file elsewhere (issue 9).
        """
        self.write_meta(etag, size, sha256, server)
        try:
            fd = self._open_part(offset)
        except OSError as exc:
            raise self.failure(exc, size - offset) from exc
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
        except OSError as exc:
            os.close(fd)
            raise self.failure(exc, size - offset) from exc
        return Sink(fd, self, offset, size, hasher=hasher, write=write, on_prefix=on_prefix)

    def _open_part(self, offset: int) -> int:
        """A read-write descriptor on the part: new at 0, the one that is there to resume."""
        if not offset:
            fd = self.folder.create(self.part_name, os.O_RDWR)
        else:
            fd = self.folder.open_existing(self.part_name, os.O_RDWR)
        status = os.fstat(fd)
        if status.st_nlink != 1:
            os.close(fd)
            self.discard()
            raise StorageError(
                f"'{self.part_name}' in {self.folder.path} was given a second name by another"
                " program while Filecast was using it, so it was set aside. Press Retry to"
                " start over."
            )
        self.identity = (status.st_dev, status.st_ino)
        return fd

    def still_ours(self) -> bool:
        """Whether the part's name still names the plain file this part wrote."""
        status = self.folder.lstat(self.part_name)
        return (status is not None and stat.S_ISREG(status.st_mode)
                and (self.identity is None or (status.st_dev, status.st_ino) == self.identity))


def _place(part: PartFile, final: str) -> None:
    """Give the part the name ``final`` or raise FileExistsError; never replaces anything.

    linkat fails on an existing target, atomically (POSIX), and never follows a link there.
    Where hard links are not supported (FAT, some network shares, Windows without
    privileges) SaveFolder.rename_new claims the name first.
    """
    folder = part.folder
    try:
        folder.link(part.part_name, final)
    except FileExistsError:
        raise
    except OSError:
        folder.rename_new(part.part_name, final)
        return
    try:
        folder.unlink(part.part_name)
    except OSError as exc:  # the file is safe under its final name; this is only clutter
        log.warning("could not remove %s: %s", part.path, exc)


def _one_component(name: str) -> bool:
    """Whether ``name`` is one name in a folder, nothing more (what Path(name).name keeps,
    without making a Path for each of 10,000 files)."""
    return name not in ("", ".", "..") and "/" not in name and os.sep not in name \
        and (os.altsep is None or os.altsep not in name)


def commit(part: PartFile, *, one_of_many: bool = False) -> Path:
    """Move a verified part to its safe name, or ``NAME (1)``..., never overwriting.
    ``one_of_many``: a file of an archive (core.client.archive_fetch), which wrote no
    ``.part.json`` and flushes the folders once for all its files."""
    folder, safe_name = part.folder, part.safe_name
    try:
        ours = part.still_ours()
    except OSError as exc:
        raise part.failure(exc, 0) from exc
    if not ours:
        raise StorageError(
            f"'{part.part_name}' in {folder.path} was replaced by something else after it was"
            " verified, so it was not saved. Press Retry to download it again."
        )
    for n in range(MAX_NUMBERED):
        candidate = safe_name if n == 0 else numbered(safe_name, n)
        # Names come from the network: the result must be one component in the folder.
        assert _one_component(candidate), candidate
        try:
            _place(part, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            raise part.failure(exc, 0) from exc
        if one_of_many:
            return folder.resolved / candidate
        _forget_meta(part)
        try:
            folder.sync()
        except OSError as exc:
            log.warning("could not fsync %s: %s", folder.path, exc)
        return folder.resolved / candidate
    raise StorageError(
        f"'{safe_name}' and {MAX_NUMBERED - 1} numbered copies already exist in"
        f" {folder.path}. Choose another folder."
    )


def _forget_meta(part: PartFile) -> None:
    """Remove NAME.part.json beside a committed part; a leftover one is only a nuisance."""
    try:
        part.folder.unlink(part.meta_name)
    except OSError as exc:
        log.warning("could not remove %s: %s", part.meta_path, exc)
