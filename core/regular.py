"""Open an offered file as what it was when chosen: a regular file, never through a link.

Issue 9, item 6: an offered symlink re-pointed at /etc/passwd was served, and one
re-pointed at a FIFO blocked the offer watcher and a worker in ``open()`` for good. The
offer keeps the path resolved once (core.offer); these helpers then refuse to follow a
link that appears at it later (``O_NOFOLLOW``), never wait in ``open()`` (``O_NONBLOCK``:
a FIFO opens at once), and refuse whatever is not a regular file (a FIFO, a device, a
socket, a folder). ``os.lstat`` is the matching check that never blocks either.
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


def open_regular(path: str) -> io.FileIO:
    """``path`` opened for reading, unbuffered; NotRegularFile (an OSError) when it is
    anything but a regular file, including a symlink (ELOOP from O_NOFOLLOW)."""
    try:
        fd = os.open(path, _FLAGS)
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


def lstat_regular(path: str) -> os.stat_result:
    """``os.lstat(path)``, or NotRegularFile when it is not a regular file."""
    result = os.lstat(path)
    if not stat.S_ISREG(result.st_mode):
        raise NotRegularFile(path)
    return result
