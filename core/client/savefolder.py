"""The chosen download folder, opened once: every name in it is used without following links.

Anyone who can write to the download folder can plant a symbolic link or a hard link at a
name the client is about to use (``NAME.part.json.new`` once redirected a write outside the
folder, issue 9). So every file the client creates, reads or replaces there is reached
relative to one descriptor of the folder (``dir_fd``, where the system has it; paths on
Windows), opened with O_NOFOLLOW, created with O_EXCL after removing whatever was planted,
and renamed or linked without following a link. Pure I/O helpers: OSErrors pass through, and
callers turn them into sentences.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from core.wire.names import numbered
from core.wire.paths import saved_segments

# Windows needs O_BINARY; O_NOFOLLOW refuses a link at the last component; O_NONBLOCK keeps
# a planted FIFO from blocking open() for ever (it does nothing to regular files).
_BINARY = getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Relative to a folder descriptor where every call needed supports it (not Windows).
_AT = all(f in os.supports_dir_fd for f in (os.open, os.stat, os.unlink, os.rename, os.link)) \
    and os.stat in os.supports_follow_symlinks and os.link in os.supports_follow_symlinks
_PLANTED_RETRIES = 4  # create, then unlink-and-create, before giving up on a refilled name


class NotAFileError(OSError):
    """A name in the folder is a link, a FIFO, a device or a folder, not a plain file."""


class SaveFolder:
    """One download folder; names passed to its methods are single components in it."""

    def __init__(self, path: Path, *, fd: int | None = None) -> None:
        """Open the folder (the person chose it, so a link *to* the folder is followed);
        ``fd``: a descriptor of it already opened safely (a subfolder, see :meth:`descend`)."""
        self.path = path
        self._fd: int | None = fd
        if _AT and fd is None:
            self._fd = os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)

    def entries(self) -> list[tuple[str, bool]]:
        """(name, is a real folder) of what the folder holds, links not followed."""
        with os.scandir(self._fd if self._fd is not None else self.path) as listed:
            return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listed]

    def descend(self, name: str, *, make: bool = True) -> SaveFolder:
        """The subfolder ``name`` (one safe component), made when missing (``make``), never
        reached through a link: a link or a file planted at the name is an OSError (issue
        12: a folder offered by a server is saved as folders under the chosen one)."""
        where, at = self._at(name)
        if make:
            with contextlib.suppress(FileExistsError):
                os.mkdir(where, 0o755, **at)
        if self._fd is None:  # no dir_fd (Windows): check by path, then use it
            if os.path.islink(where) or not os.path.isdir(where):
                raise NotAFileError(f"{name} is not a plain folder")
            return SaveFolder(self.path / name, fd=None)
        fd = os.open(where, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, **at)
        return SaveFolder(self.path / name, fd=fd)

    def __enter__(self) -> SaveFolder:
        """``with SaveFolder(path) as folder:`` closes it at the end."""
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close the folder."""
        self.close()

    def close(self) -> None:
        """Release the folder's descriptor."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _at(self, name: str) -> tuple[str, dict[str, Any]]:
        """What os functions take for ``name``: itself and dir_fd, or a path."""
        if self._fd is not None:
            return name, {"dir_fd": self._fd}
        return str(self.path / name), {}

    def lstat(self, name: str) -> os.stat_result | None:
        """``name``'s own status (a link's, not its target's), or None when absent."""
        where, at = self._at(name)
        try:
            return os.stat(where, follow_symlinks=False, **at)
        except FileNotFoundError:
            return None

    def regular_size(self, name: str) -> int | None:
        """The size of ``name`` when it is a plain file, else None."""
        status = self.lstat(name)
        return status.st_size if status is not None and stat.S_ISREG(status.st_mode) else None

    def open_existing(self, name: str, flags: int) -> int:
        """Open a plain file that is there, never through a link; NotAFileError for anything
        else (a FIFO, a device, a folder) and FileNotFoundError when nothing is there."""
        where, at = self._at(name)
        fd = os.open(where, flags | _NOFOLLOW | _NONBLOCK | _BINARY | _CLOEXEC, **at)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotAFileError(f"{name} is not a plain file")
        return fd

    def create(self, name: str, flags: int, mode: int = 0o644) -> int:
        """A new, empty file ``name``: whatever was planted there first is removed (only the
        name: unlink never follows a link), and O_EXCL makes sure the file is ours."""
        where, at = self._at(name)
        for attempt in range(_PLANTED_RETRIES):
            if attempt:  # most names are free: no unlink first (10,000 files of an archive)
                self.unlink(name)
            try:
                return os.open(where, flags | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
                               | _CLOEXEC, mode, **at)
            except FileExistsError:
                continue  # planted (again): removed on the next attempt
        raise FileExistsError(f"{name} keeps being created by someone else")

    def read_small(self, name: str, limit: int) -> bytes | None:
        """The content of plain file ``name`` when it holds at most ``limit`` bytes, else
        None (missing, too big, or not a plain file)."""
        try:
            fd = self.open_existing(name, os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.read(fd, limit + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) <= limit else None

    def write_new(self, name: str, data: bytes) -> None:
        """Create ``name`` afresh (see :meth:`create`) holding ``data``."""
        fd = self.create(name, os.O_WRONLY)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def set_mtime(self, name: str, seconds: float) -> None:
        """Set ``name``'s modification time (never through a link; OSError passes)."""
        where, at = self._at(name)
        ns = int(seconds * 1e9)
        os.utime(where, ns=(ns, ns), follow_symlinks=False, **at)

    def unlink(self, name: str) -> None:
        """Remove the name (never what a link points to); nothing there is fine."""
        where, at = self._at(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(where, **at)

    def replace(self, source: str, target: str) -> None:
        """Rename ``source`` over ``target``: a link at ``target`` is replaced, not followed."""
        if self._fd is not None:
            os.replace(source, target, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        else:
            os.replace(self.path / source, self.path / target)

    def link(self, source: str, target: str) -> None:
        """A second name ``target`` for the file ``source``; FileExistsError when anything
        (even a dangling link) is at ``target``."""
        if self._fd is not None:
            os.link(source, target, src_dir_fd=self._fd, dst_dir_fd=self._fd,
                    follow_symlinks=False)
        else:
            os.link(self.path / source, self.path / target)

    def rename_new(self, source: str, target: str) -> None:
        """Rename without replacing anything, where hard links are not possible: Windows'
        rename refuses an existing target; on POSIX the name is claimed with O_EXCL first,
        so the rename only replaces our own empty placeholder."""
        if os.name == "nt":
            os.rename(self.path / source, self.path / target)
            return
        where, at = self._at(target)
        os.close(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                         0o644, **at))
        try:
            self.replace(source, target)
        except OSError:
            self.unlink(target)  # never leave our empty placeholder under the final name
            raise

    @functools.cached_property
    def resolved(self) -> Path:
        """The folder's absolute, resolved path (once: resolving costs a stat per part)."""
        return self.path.resolve()

    def fileno(self) -> int | None:
        """The folder's descriptor (None where folders are used by path: Windows)."""
        return self._fd

    def sync(self) -> None:
        """fsync the folder so new names survive a crash (POSIX; Windows cannot open dirs)."""
        if self._fd is not None:
            os.fsync(self._fd)
        elif os.name != "nt":
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


MAX_NUMBERED_FOLDERS = 100  # 'a (1)' ... before a clash is a sentence


def subfolder(parent: SaveFolder, name: str) -> SaveFolder:
    """The folder ``name`` in ``parent``, or ``name (1)``... when a file or a link holds
    the name (issue 12: a server may offer a file 'a' and a folder 'a'); never through it."""
    for n in range(MAX_NUMBERED_FOLDERS):
        try:
            return parent.descend(name if n == 0 else numbered(name, n))
        except OSError as exc:
            if exc.errno not in (errno.ENOTDIR, errno.ELOOP, errno.EEXIST) \
                    and not isinstance(exc, NotAFileError):
                raise
    raise FileExistsError(errno.EEXIST, f"{name} and {MAX_NUMBERED_FOLDERS - 1} numbered"
                          " names are all taken")


def make_folders(root: Path, names: Sequence[str]) -> int:
    """Make the offer's empty folders ``names`` (relative, ``/``-separated) under ``root``,
    each segment made safe as a saved name is (core.wire.paths.saved_segments), never
    through a link; how many were made or already there. OSError passes."""
    made = 0
    with SaveFolder(root) as top:
        for name in names:
            opened: list[SaveFolder] = []
            try:
                at = top
                for segment in saved_segments(name):
                    at = subfolder(at, segment)
                    opened.append(at)
                made += 1
            finally:
                for folder in opened:
                    folder.close()
    return made


def reopen(fd: int, flags: int) -> int | None:
    """A second descriptor on the very file ``fd`` is open on (never on whatever its name
    points to now, issue 9), with other flags; None where the system cannot say so.

    Linux: /proc/self/fd/N reaches the open file itself, whatever happened to its name since;
    st_dev and st_ino prove it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        other = os.open(f"/proc/self/fd/{fd}", flags | _CLOEXEC)
    except OSError:
        return None
    mine, theirs = os.fstat(fd), os.fstat(other)
    if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
        os.close(other)
        return None
    return other


def free_bytes(folder: Path) -> int | None:
    """Room left for this user in ``folder``, or None when the system cannot say (worker
    thread: a network folder may take its time to answer)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
