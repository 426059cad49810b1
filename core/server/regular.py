"""Open an offered file as what it was when chosen: a regular file, never through a link.

Issue 9, item 6: an offered symlink re-pointed at /etc/passwd was served, and one
re-pointed at a FIFO blocked the offer watcher and a worker in ``open()`` for good. The
offer keeps the path resolved once (core.server.offer) and the folder it is in opened once (a
``folder`` descriptor): names are opened relative to it, so a folder on the way swapped
for a link later changes nothing (the adversarial pass), while an editor saving by rename
inside it is still seen. These helpers refuse to follow a link at the name
(``O_NOFOLLOW``), never wait in ``open()`` (``O_NONBLOCK``: a FIFO opens at once), and
refuse whatever is not a regular file (a FIFO, a device, a socket, a folder). The
matching ``lstat`` never blocks or follows either. Where the system has no ``dir_fd``
(Windows), paths are used.
"""

from __future__ import annotations

import errno
import io
import os
import stat

_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class NotRegularFile(OSError):
    """The path names a FIFO, device, socket, folder or symlink, not a regular file."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", path)


def open_folder(path: str) -> int | None:
    """A descriptor of the folder ``path`` for opening names relative to it, or None where
    the system cannot (Windows) or the folder cannot be opened."""
    if os.open not in os.supports_dir_fd:
        return None
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                       | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _where(path: str, folder: int | None) -> tuple[str, dict[str, int]]:
    """The name to open and the ``dir_fd`` argument for it."""
    if folder is None:
        return path, {}
    return os.path.basename(path), {"dir_fd": folder}


def open_regular(path: str, folder: int | None = None) -> io.FileIO:
    """``path`` (its name, within ``folder`` when given) opened for reading, unbuffered;
    NotRegularFile (an OSError) when it is anything but a regular file, including a
    symlink (ELOOP from O_NOFOLLOW)."""
    name, where = _where(path, folder)
    try:
        fd = os.open(name, _FLAGS, **where)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise NotRegularFile(path) from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # reads of a regular file never wait anyway
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def lstat_regular(path: str, folder: int | None = None) -> os.stat_result:
    """``lstat`` of ``path`` (its name within ``folder`` when given), or NotRegularFile
    when it is not a regular file."""
    name, where = _where(path, folder)
    result = os.stat(name, follow_symlinks=False, **where)
    if not stat.S_ISREG(result.st_mode):
        raise NotRegularFile(path)
    return result
