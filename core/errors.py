"""The errors a person can act on. ``str(error)`` is the sentence shown to them.

Anything that is not a :class:`FilecastError` is a bug: front ends log it with its
traceback instead of showing it as if it were the user's problem.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.wire.protocol import FileInfo


class FilecastError(Exception):
    """Base class: the message is a whole sentence, written for the person at the screen."""


class ConnectError(FilecastError):
    """The server could not be reached (refused, unknown host, timed out)."""


class ServerGoneError(FilecastError):
    """The server stopped answering or closed the connection in the middle of something."""


class ProtocolError(FilecastError):
    """The other side sent something that does not follow docs/PROTOCOL.md."""


class NotOfferedError(FilecastError):
    """The server does not offer a file by that name ("File does not exist!")."""


class FileChangedError(FilecastError):
    """The offered file changed while it was being downloaded; download it again."""


class OfferChangedError(FilecastError):
    """The file is not the one the person said yes to (another size, version or digest).

    ``info`` is the file the server now describes (read from the answer's headers; its body
    was not read) and ``consented`` the one the person was shown: ask them again (issue 9).
    """

    def __init__(self, sentence: str, info: FileInfo, consented: FileInfo) -> None:
        """Keep both descriptions beside the sentence."""
        super().__init__(sentence)
        self.info, self.consented = info, consented


class DigestMismatchError(FilecastError):
    """The bytes received do not have the SHA-256 the server promised."""


class UnverifiedError(FilecastError):
    """The file arrived whole, but no SHA-256 confirmed it: kept as ``.part``, not saved."""


class StorageError(FilecastError):
    """Saving failed on this computer: disk full, no permission, folder gone."""


class DiskFullError(StorageError):
    """The disk filled up while saving."""


# The system's ways of saying "no space left": a full disk, or a full quota.
_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e)


def disk_is_full(exc: OSError) -> bool:
    """Whether a failed write failed for want of space (decided here, for both sides)."""
    return exc.errno in _FULL_ERRNOS


def storage_error(exc: OSError, message: str) -> StorageError:
    """``message`` as a DiskFullError when the disk is full, else as a StorageError."""
    return DiskFullError(message) if disk_is_full(exc) else StorageError(message)


class CancelledError(FilecastError):
    """The person cancelled; the partial download is kept for a resume."""


class ServeError(FilecastError):
    """The server could not start or go on serving (port taken, file unreadable)."""


class PortInUseError(ServeError):
    """Another program already listens on the port."""
