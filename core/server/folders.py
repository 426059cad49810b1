"""Offering a folder (issue 12): every regular file under it, under a relative name that
starts with the folder's own (``Week 12/worksheet 1.pdf``), and a count of what was left
out and why.

Left out, and said so: hidden files and folders (a name starting with ``.``: editor swap
files, ``.git``), links that lead out of the folder (or to a folder: a link loop would never
end), pipes, devices and sockets, and names the protocol does not allow (a backslash or a
control character). A link to a file inside the folder is offered as that file, under the
link's name, resolved once as any offered file is (core.server.offer).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.wire.paths import MAX_DEPTH, offer_name
from core.wire.protocol import MAX_EMPTY_FOLDERS

MAX_FILES = 100_000  # a folder of worksheets or data, not a whole disk


@dataclass
class LeftOut:
    """What a folder held that is not offered, by reason."""

    hidden: int = 0
    links: int = 0
    special: int = 0
    unreadable: int = 0
    bad_names: int = 0
    too_deep: int = 0
    twins: int = 0
    too_many: int = 0
    examples: list[str] = field(default_factory=list)  # a few of their names, for a sentence

    def add(self, reason: str, name: str) -> None:
        """Count one more left out for ``reason`` (an attribute's name)."""
        setattr(self, reason, getattr(self, reason) + 1)
        if len(self.examples) < 3:
            self.examples.append(name)

    @property
    def total(self) -> int:
        """How many things were left out."""
        return (self.hidden + self.links + self.special + self.unreadable + self.bad_names
                + self.too_deep + self.twins + self.too_many)

    def sentence(self, folder: str) -> str | None:
        """``Left out of 'Week 12': 2 hidden files, 1 link leading out of it.``, or None."""
        parts = [_count(self.hidden, "hidden file or folder", "hidden files or folders"),
                 _count(self.links, "link leading out of it or to a folder",
                        "links leading out of it or to folders"),
                 _count(self.special, "pipe, device or socket", "pipes, devices or sockets"),
                 _count(self.unreadable, "item this user may not read",
                        "items this user may not read"),
                 _count(self.bad_names, "name with a backslash, a control character or"
                        " bytes that are not UTF-8", "names with a backslash, a control"
                        " character or bytes that are not UTF-8"),
                 _count(self.too_deep, f"folder deeper than {MAX_DEPTH}",
                        f"folders deeper than {MAX_DEPTH}"),
                 _count(self.twins, "name another file has in another Unicode form",
                        "names other files have in another Unicode form"),
                 _count(self.too_many, f"file past the first {MAX_FILES:,}",
                        f"files past the first {MAX_FILES:,}")]
        said = [part for part in parts if part]
        if not said:
            return None
        return f"Left out of '{folder}': {', '.join(said)}."


def _count(n: int, one: str, many: str) -> str:
    """``1 hidden file``, ``3 hidden files``, or empty for none."""
    return "" if not n else f"1 {one}" if n == 1 else f"{n:,} {many}"


def walk_folder(path: str) -> tuple[list[tuple[str, str]], LeftOut, list[str]]:
    """(relative name, real path) of every file to offer under the folder ``path``, sorted
    by name, what was left out, and the empty folders in it (kept by a client that takes
    the folder, as tar keeps them: issue 12). The folder itself must be a real folder."""
    root = os.path.realpath(path)
    top = os.path.basename(os.path.normpath(path)) or os.path.basename(root) or "folder"
    found: list[tuple[str, str]] = []
    left = LeftOut()
    folders: list[tuple[str, ...]] = []
    for segments, real in _files(root, (top,), left, 0, root, folders):
        if len(found) >= MAX_FILES:
            left.add("too_many", "/".join(segments))
            continue
        try:
            found.append((offer_name(segments), real))
        except ValueError:
            left.add("bad_names", "/".join(segments))
    found.sort(key=lambda item: item[0])
    return found, left, _empty(folders, found)


def _empty(folders: list[tuple[str, ...]], found: list[tuple[str, str]]) -> list[str]:
    """The deepest folders with no offered file and no other such folder under them, at
    most MAX_EMPTY_FOLDERS (making those makes every empty folder on the way)."""
    full = {"/".join(name.split("/")[:depth]) for name, _ in found
            for depth in range(1, name.count("/") + 1)}
    names = sorted({n for n in ("/".join(f) for f in folders) if n not in full})
    empty: list[str] = []
    for index, name in enumerate(names):
        if index + 1 < len(names) and names[index + 1].startswith(name + "/"):
            continue  # a deeper empty folder stands for this one
        try:
            empty.append(offer_name(tuple(name.split("/"))))
        except ValueError:
            continue
        if len(empty) >= MAX_EMPTY_FOLDERS:
            break
    return empty


def _files(folder: str, at: tuple[str, ...], left: LeftOut, depth: int,
           root: str, folders: list[tuple[str, ...]]) -> Iterator[tuple[tuple[str, ...], str]]:
    """(segments, real path) of the files under ``folder`` (inside ``root``), depth first;
    each folder walked into is noted in ``folders``."""
    try:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda e: e.name)
    except OSError:
        left.add("unreadable", "/".join(at))
        return
    for entry in listed:
        segments = (*at, entry.name)
        if entry.name.startswith("."):
            left.add("hidden", "/".join(segments))
            continue
        # The type from the listing itself (d_type: no stat per file; os.scandir stats only
        # where the file system does not say). The file is stat-ed once, when it is offered.
        try:
            if entry.is_symlink():
                real = _link_inside(entry.path, root)
                if real is None:
                    left.add("links", "/".join(segments))
                else:
                    yield segments, real
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 >= MAX_DEPTH:
                    left.add("too_deep", "/".join(segments))
                else:
                    folders.append(segments)
                    yield from _files(entry.path, segments, left, depth + 1, root, folders)
            elif entry.is_file(follow_symlinks=False):
                yield segments, entry.path
            else:
                left.add("special", "/".join(segments))
        except OSError:
            left.add("unreadable", "/".join(segments))


def _link_inside(link: str, root: str) -> str | None:
    """The real path of the regular file ``link`` leads to, when it is inside ``root``;
    None for a link out of it, to a folder, to nothing, or to anything but a file."""
    real = os.path.realpath(link)
    if os.path.commonpath([real, root]) != root:
        return None
    if any(part.startswith(".") for part in os.path.relpath(real, root).split(os.sep)):
        return None  # a link to a hidden file inside (.env, .git/config) is hidden too
    try:
        info = os.stat(real, follow_symlinks=False)
    except OSError:
        return None
    return real if stat.S_ISREG(info.st_mode) else None
