"""Unit tests of core/server/regular.py: an offered file is opened only as a regular file.

Issue 9, item 6: an offered symlink re-pointed at /etc/passwd was served, and one re-pointed
at a FIFO blocked the server in open() for good. These tests put a FIFO, a link, a folder
or nothing where an offered file was and check that each is refused at once, that a real
file still opens, and that names opened relative to the folder's descriptor keep reading
the folder that was offered after its path is swapped for a link to another one.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.server.regular import NotRegularFile, lstat_regular, open_folder, open_regular

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, O_NOFOLLOW, dir_fd")

DATA = b"the offered file\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a regular file, a FIFO, a link to the file, a subfolder, a dangling
    link and a link to a FIFO."""
    base = tmp_path / "offered"
    base.mkdir()
    (base / "file.txt").write_bytes(DATA)
    os.mkfifo(base / "fifo")
    (base / "link.txt").symlink_to(base / "file.txt")
    (base / "sub").mkdir()
    (base / "dangling").symlink_to(base / "gone")
    (base / "link-to-fifo").symlink_to(base / "fifo")
    return base


@pytest.fixture
def descriptor(folder: Path) -> Iterator[int]:
    fd = open_folder(str(folder))
    assert fd is not None
    try:
        yield fd
    finally:
        os.close(fd)


Opener = Callable[[Path, "int | None"], object]


def read_all(path: Path, fd: int | None) -> object:
    with open_regular(str(path), fd) as handle:
        return handle.read()


def lstat_size(path: Path, fd: int | None) -> object:
    return lstat_regular(str(path), fd).st_size


BOTH: list[Opener] = [read_all, lstat_size]


@pytest.mark.parametrize("opener", BOTH, ids=["open_regular", "lstat_regular"])
@pytest.mark.parametrize("relative", [False, True], ids=["by-path", "in-folder"])
def test_a_regular_file_opens(folder: Path, descriptor: int, opener: Opener,
                              relative: bool) -> None:
    got = opener(folder / "file.txt", descriptor if relative else None)
    assert got in (DATA, len(DATA))


@pytest.mark.parametrize("name", ["fifo", "link.txt", "sub", "dangling", "link-to-fifo"])
@pytest.mark.parametrize("opener", BOTH, ids=["open_regular", "lstat_regular"])
@pytest.mark.parametrize("relative", [False, True], ids=["by-path", "in-folder"])
def test_anything_but_a_regular_file_is_refused_at_once(
        folder: Path, descriptor: int, name: str, opener: Opener, relative: bool) -> None:
    with pytest.raises(NotRegularFile) as refused:
        opener(folder / name, descriptor if relative else None)
    assert refused.value.filename == str(folder / name)  # the sentence names the file
    assert isinstance(refused.value, OSError)


@pytest.mark.parametrize("opener", BOTH, ids=["open_regular", "lstat_regular"])
@pytest.mark.parametrize("relative", [False, True], ids=["by-path", "in-folder"])
def test_a_missing_file_is_refused_as_missing(folder: Path, descriptor: int,
                                              opener: Opener, relative: bool) -> None:
    with pytest.raises(FileNotFoundError):
        opener(folder / "missing.txt", descriptor if relative else None)


def test_a_fifo_refused_leaves_no_descriptor_open(folder: Path) -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(20):
        with pytest.raises(NotRegularFile):
            open_regular(str(folder / "fifo"))
    if before is not None:
        assert set(os.listdir("/proc/self/fd")) <= before


def test_an_opened_file_reads_blocking_and_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 5)
    big.write_bytes(data)
    with open_regular(str(big)) as handle:
        assert handle.readall() == data
        assert os.get_blocking(handle.fileno())


def test_the_folder_descriptor_keeps_the_offered_folder_after_a_swap(
        folder: Path, descriptor: int, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "file.txt").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    folder.rename(tmp_path / "moved-away")
    folder.symlink_to(elsewhere, target_is_directory=True)

    with open_regular(str(folder / "file.txt"), descriptor) as handle:
        assert handle.read() == DATA
    assert lstat_regular(str(folder / "file.txt"), descriptor).st_size == len(DATA)
    # By path, the swap is followed: that is what the descriptor is there to prevent.
    with open_regular(str(folder / "file.txt")) as handle:
        assert handle.read() != DATA


def test_an_editor_saving_by_rename_inside_the_folder_is_seen(folder: Path,
                                                              descriptor: int) -> None:
    (folder / "file.txt.tmp").write_bytes(b"saved again\n")
    os.replace(folder / "file.txt.tmp", folder / "file.txt")
    with open_regular(str(folder / "file.txt"), descriptor) as handle:
        assert handle.read() == b"saved again\n"


def test_a_file_replaced_by_a_link_after_it_was_offered_is_refused(
        folder: Path, descriptor: int, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"do not serve\n")
    (folder / "file.txt").unlink()
    (folder / "file.txt").symlink_to(secret)
    for fd in (descriptor, None):
        with pytest.raises(NotRegularFile):
            open_regular(str(folder / "file.txt"), fd)
        with pytest.raises(NotRegularFile):
            lstat_regular(str(folder / "file.txt"), fd)


def test_open_folder_gives_a_folder_descriptor_or_none(folder: Path) -> None:
    fd = open_folder(str(folder))
    assert fd is not None
    try:
        assert stat.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    assert open_folder(str(folder / "missing")) is None
    assert open_folder(str(folder / "file.txt")) is None
