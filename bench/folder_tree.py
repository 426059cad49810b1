"""Section 7's files (issue 12), kept in /tmp/filecast-bench and reused across runs.

- A tree of many small random files (``tree-10000x10KiB/Data/folder 000/file 00000.bin``)
  with a tar of it beside it (``tree-10000x10KiB/Data.tar``), so one nginx can serve both.
- A folder of a few big random files (``folder-4x1GiB/file 1.bin`` ...), offered as a folder.

Both are built in a temporary name and renamed into place, so one that exists is complete.
Everything is readable by nginx's workers (user nobody): folders 755, files 644. Also the
small helpers the section needs around them: URL lists and counting what a client saved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .datafiles import CHUNK, data_dir, warm
from .measure import MiB
from .modes import size_label

TAR_TIMEOUT = 600.0


@dataclass(frozen=True)
class Tree:
    """The small-file tree: ``root/Data/...`` and ``root/Data.tar``."""

    root: Path  # what nginx serves: holds ``data`` and ``tar``
    data: Path  # the offered folder
    tar: Path
    names: tuple[str, ...]  # relative to ``root``: "Data/folder 000/file 00000.bin"

    @property
    def paths(self) -> list[Path]:
        """Every file of the tree."""
        return [self.root / name for name in self.names]


def _label(files: int, size: int) -> str:
    """``10000x10KiB``, ``4x1GiB``."""
    unit = f"{size // 1024}KiB" if size < MiB and size % 1024 == 0 else size_label(size)
    return f"{files}x{unit.replace(' ', '')}"


def tree_names(files: int, folders: int) -> tuple[str, ...]:
    """``Data/folder NNN/file NNNNN.bin``: ``files`` spread evenly over ``folders``."""
    per = -(-files // folders)
    return tuple(f"Data/folder {i // per:03d}/file {i:05d}.bin" for i in range(files))


def _write_random(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)
        left = size
        while left > 0:
            step = min(CHUNK, left)
            os.write(fd, os.urandom(step))
            left -= step
    finally:
        os.close(fd)


def _complete(root: Path, names: tuple[str, ...], size: int) -> bool:
    """Every file there with its size, and nothing more in the tree."""
    try:
        if any((root / name).stat().st_size != size for name in names):
            return False
    except OSError:
        return False
    return count_files(root / "Data") == len(names)


def _build_tree(root: Path, names: tuple[str, ...], size: int) -> None:
    """Write the tree as ``Data.partial`` and rename it (removing an older one)."""
    partial = root / "Data.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for name in names:
        path = partial / name.split("/", 1)[1]
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o755, parents=True)
            path.parent.chmod(0o755)
        _write_random(path, size)
    partial.chmod(0o755)
    shutil.rmtree(root / "Data", ignore_errors=True)
    (root / "Data.tar").unlink(missing_ok=True)  # a tar of the old tree
    os.replace(partial, root / "Data")


def _build_tar(root: Path) -> None:
    """``tar cf Data.tar Data`` (through a temporary name)."""
    tmp = root / "Data.tar.partial"
    subprocess.run(["tar", "cf", str(tmp), "-C", str(root), "Data"], check=True,
                   stdin=subprocess.DEVNULL, timeout=TAR_TIMEOUT)
    tmp.chmod(0o644)
    os.replace(tmp, root / "Data.tar")


def small_tree(files: int, folders: int, size: int) -> Tree:
    """The tree of ``files`` random files of ``size`` bytes in ``folders`` folders, and its
    tar; made once, reused while complete."""
    root = data_dir() / f"tree-{_label(files, size)}"
    root.mkdir(mode=0o755, exist_ok=True)
    root.chmod(0o755)
    names = tree_names(files, folders)
    if not _complete(root, names, size):
        _build_tree(root, names, size)
    if not (root / "Data.tar").exists():
        _build_tar(root)
    return Tree(root, root / "Data", root / "Data.tar", names)


def big_folder(count: int, size: int) -> Path:
    """``folder-4x1GiB/file N.bin``: ``count`` random files of ``size`` bytes in one folder."""
    folder = data_dir() / f"folder-{_label(count, size)}"
    folder.mkdir(mode=0o755, exist_ok=True)
    folder.chmod(0o755)
    for number in range(1, count + 1):
        path = folder / f"file {number}.bin"
        if path.exists() and path.stat().st_size == size:
            continue
        tmp = folder / f".file {number}.partial"
        _write_random(tmp, size)
        os.replace(tmp, path)
    return folder


def big_files(folder: Path) -> list[Path]:
    """The big folder's files, in order (``file 1.bin`` ...)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def warm_all(paths: list[Path]) -> None:
    """Read every file once so it sits in the page cache."""
    for path in paths:
        warm(path)


def url_path(name: str) -> str:
    """A relative name as a URL path: ``/Data/folder%20000/file%2000000.bin``."""
    return "/" + quote(name)


def write_url_list(path: Path, base: str, names: tuple[str, ...]) -> Path:
    """``wget -i``'s input: one URL a line."""
    path.write_text("".join(f"{base}{url_path(name)}\n" for name in names), encoding="ascii")
    return path


def count_files(folder: Path) -> int:
    """Regular files anywhere under ``folder`` (not following links)."""
    if not folder.is_dir():
        return 0
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                total += count_files(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += 1
    return total
