"""SHA-256 of a file in large steps, with progress and cancellation.

hashlib releases the GIL on large buffers, so hashing in a worker thread leaves the
server and the windows responsive.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable

from core.server.regular import open_regular

CHUNK = 4 * 1024 * 1024


class HashCancelled(Exception):
    """Hashing stopped because its cancel event was set."""


def sha256_file(path: str | os.PathLike[str], *, folder: int | None = None,
                progress: Callable[[int], None] | None = None,
                cancel: threading.Event | None = None, chunk: int = CHUNK) -> str:
    """The hex SHA-256 of a file, read ``chunk`` bytes at a time into one reused buffer."""
    digest = hashlib.sha256()
    done = 0
    with open_regular(os.fspath(path), folder) as handle:  # never a FIFO, device or link
        # No bigger than the file (and one byte to see its end): a 4 MiB buffer zeroed for
        # each 10 KiB file made a folder of 10,000 take seconds longer (issue 12).
        buffer = bytearray(min(chunk, os.fstat(handle.fileno()).st_size + 1))
        view = memoryview(buffer)
        while True:
            if cancel is not None and cancel.is_set():
                raise HashCancelled(str(path))
            count = handle.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
            done += count
            if progress is not None:
                progress(done)
    return digest.hexdigest()


def sha256_whole(path: str | os.PathLike[str], folder: int | None,
                 expected: tuple[int, int, int]) -> str | None:
    """The hex SHA-256 of a small file read whole in one call, when the file read is still
    the one ``expected`` (size, mtime_ns, inode, by fstat after the read); None when it
    changed. For the many small files of a folder: no buffer, no progress, no second look
    by path (issue 12: hashing 10,000 files of 10 KiB took 3x a bare loop)."""
    with open_regular(os.fspath(path), folder) as handle:  # never a FIFO, device or link
        data = handle.read(expected[0] + 1)
        after = os.fstat(handle.fileno())
    if len(data) != expected[0] or (after.st_size, after.st_mtime_ns, after.st_ino) != expected:
        return None
    return hashlib.sha256(data).hexdigest()
