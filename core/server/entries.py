"""What can be offered, as entries of the offer's table: a file (resolved once), or every
file of a folder under its relative name (core.server.folders), with the sentences for what
cannot be offered. Pure data and stat calls; the table itself is core.server.offer's.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.errors import ServeError
from core.events import OfferedFileView
from core.server.folders import walk_folder
from core.wire.names import name_key
from core.wire.protocol import FileInfo, http_date, iso_utc, make_etag


@dataclass(frozen=True)
class ServedFile:
    """One offered file as last seen on disk; ``sha256`` is None until hashed."""

    name: str
    path: str
    size: int
    mtime_ns: int
    ino: int
    sha256: str | None = None
    # The folder it is in, opened when it was offered (core.server.regular); None: by path.
    folder: int | None = field(default=None, compare=False, repr=False)

    # Made once, when the entry is: the strong validator (changes with size or modification
    # time; every publish and every request asks for it) and the hash (snapshots look
    # entries up hundreds of thousands of times while a big folder is hashed). Not
    # functools.cached_property: its first use takes a lock, 10,000 times per publish.
    etag: str = field(init=False, compare=False, repr=False)
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", make_etag(self.size, self.mtime_ns))
        object.__setattr__(self, "_hash", hash((self.name, self.path, self.size,
                                                self.mtime_ns, self.ino, self.sha256)))

    def __hash__(self) -> int:
        """As the dataclass would hash it, made once (see above)."""
        return self._hash

    @property
    def last_modified(self) -> str:
        """The Last-Modified header value."""
        return http_date(self.mtime_ns / 1e9)

    def hashed(self, digest: str) -> ServedFile:
        """This entry with its digest (made directly: dataclasses.replace cost as much as
        hashing a 10 KiB file, 10,000 times for a folder)."""
        return ServedFile(self.name, self.path, self.size, self.mtime_ns, self.ino, digest,
                          self.folder)

    def in_folder(self, folder: int) -> ServedFile:
        """This entry, opened by name within the folder descriptor ``folder``."""
        return ServedFile(self.name, self.path, self.size, self.mtime_ns, self.ino,
                          self.sha256, folder)

    def matches(self, info: os.stat_result) -> bool:
        """Whether ``info`` describes the same bytes this entry was taken from."""
        return (info.st_size, info.st_mtime_ns, info.st_ino) == (self.size, self.mtime_ns,
                                                                  self.ino)

    def info(self) -> FileInfo:
        """The offer's description of this file (made once: each snapshot of a big offer
        shares most entries with the one before)."""
        made = self.__dict__.get("_info")
        if made is None:
            made = FileInfo(self.name, self.size, self.sha256, iso_utc(self.mtime_ns / 1e9),
                            self.etag)
            object.__setattr__(self, "_info", made)
        return made

    def view(self) -> OfferedFileView:
        """What a front end shows of it."""
        return OfferedFileView(self.name, self.path, self.size, self.sha256, self.etag,
                               self.mtime_ns / 1e9)


class FileUnavailable(Exception):
    """An offered file is gone or is no longer a regular file (answered 503, not 404)."""


def _form(name: str) -> str:
    """Which Unicode form ``name`` is written in, for a sentence that shows the difference."""
    if unicodedata.is_normalized("NFC", name):
        return "NFC, composed accents"
    if unicodedata.is_normalized("NFD", name):
        return "NFD, decomposed accents"
    return "a mix of both forms"


def default_message(names: Sequence[str]) -> str:
    """The original program's greeting, for one file or a few; many are counted."""
    if not names:
        return "No file is offered yet."
    if len(names) > 3:
        return (f"Enter '{names[0]}' or the name of one of the {len(names) - 1:,} other"
                " offered files when prompted to download the document...")
    quoted = " or ".join(f"'{n}'" for n in names)
    return f"Enter {quoted} when prompted to download the document..."


def stat_file(path: str, name: str | None = None) -> ServedFile:
    """A fresh, unhashed entry for ``path`` (offered as ``name``, by default its own);
    ServeError with a sentence when it cannot be.

    A symlink is resolved here, once: the file offered is the one the person chose, and
    re-pointing the link later changes nothing (issue 9, item 6). The name stays the
    link's own."""
    offered = name or os.path.basename(path)
    try:
        offered.encode("utf-8")  # names travel as UTF-8 (a Latin-1 name broke every greeting)
    except UnicodeEncodeError:
        raise ServeError(f"Cannot offer {offered.encode('utf-8', 'replace').decode()}: its"
                         " name is not in UTF-8. Rename it, then offer it again.") from None
    real = os.path.realpath(path)
    try:
        info = os.lstat(real)
    except OSError as exc:
        raise ServeError(f"Cannot offer {path}: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ServeError(f"Cannot offer {path}: it is a folder.")
    if not stat.S_ISREG(info.st_mode):
        raise ServeError(f"Cannot offer {path}: it is not a regular file (a pipe, device or"
                         " socket). Choose a file.")
    if not os.access(real, os.R_OK):
        raise ServeError(f"Cannot offer {path}: this user may not read it.")
    return ServedFile(offered, real, info.st_size, info.st_mtime_ns, info.st_ino)


def _walked(path: str, name: str) -> ServedFile:
    """The entry for a file the folder walk found at ``path``, never resolved again: a file
    swapped for a link since the walk is not followed (issue 12 review), it is refused."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or not os.access(path, os.R_OK):
        raise NotADirectoryError(path)  # any OSError: left out
    return ServedFile(name, path, info.st_size, info.st_mtime_ns, info.st_ino)


def expand(paths: Sequence[str | os.PathLike[str]]
           ) -> tuple[list[ServedFile], list[str], list[str]]:
    """The files to offer for ``paths`` (a folder stands for every file under it, named
    with its relative path: issue 12), a sentence per folder that left things out, and
    the empty folders in them."""
    files: list[ServedFile] = []
    notes: list[str] = []
    empty: list[str] = []
    for given in paths:
        path = os.fspath(given)
        if not os.path.isdir(path):
            files.append(stat_file(path))
            continue
        found, left, empties = walk_folder(path)
        empty.extend(empties)
        seen: set[str] = set()
        for name, real in found:
            if name_key(name) in seen:  # the same name in two Unicode forms: clients
                left.add("twins", name)  # could not tell them apart; the first stays
                continue
            seen.add(name_key(name))
            try:
                files.append(_walked(real, name))
            except OSError:  # gone, or no longer a plain file, since the walk
                left.add("unreadable", name)
        note = left.sentence(os.path.basename(os.path.normpath(path)))
        if not found:
            raise ServeError(f"Cannot offer {path}: the folder holds no file to offer."
                             + (f" {note}" if note else ""))
        if note:
            notes.append(note)
    return files, notes, empty


def same_name(first: ServedFile, second: ServedFile) -> ServeError:
    """The sentence for two offered files whose names match: the same, or the same but for
    their Unicode form, which the sentence then shows (issue 9, item 8)."""
    if first.name == second.name:
        return ServeError(f"Two offered files are called '{first.name}' ({first.path} and"
                          f" {second.path}); offer only one of them.")
    return ServeError(
        f"'{first.name}' ({first.path}, written in {_form(first.name)}) and"
        f" '{second.name}' ({second.path}, written in {_form(second.name)}) are the same"
        " name written two ways, so clients could not tell them apart; offer only one of"
        " them, or rename one.")
