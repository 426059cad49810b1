"""Unit tests of core/server/hashing.py: the SHA-256 the offer publishes for each file.

Clients verify what they saved against this digest, so it must equal hashlib's for any
size; the server window shows its progress, so progress must climb to the file's size; a
new choice of file cancels it, so cancelling must stop it; and, like every open of an
offered file, it must never follow a link or wait on a FIFO (core/server/regular.py).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from core.server.hashing import CHUNK, HashCancelled, sha256_file
from core.server.regular import NotRegularFile, open_folder


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "size",
    [0, 1, 11, 4096, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 12345],
    ids=lambda n: f"{n}B",
)
def test_the_digest_is_hashlibs(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = written(tmp_path, "file.bin", data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


def test_small_steps_give_the_same_digest(tmp_path: Path) -> None:
    data = os.urandom(100_003)
    path = written(tmp_path, "file.bin", data)
    for chunk in (1, 7, 4096, 1 << 20):
        assert sha256_file(path, chunk=chunk) == hashlib.sha256(data).hexdigest()


def test_the_empty_file_has_the_well_known_digest(tmp_path: Path) -> None:
    assert sha256_file(written(tmp_path, "empty", b"")) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


@pytest.mark.parametrize(("size", "chunk"), [(9 * 1024 * 1024 + 3, CHUNK), (10_000, 999)])
def test_progress_climbs_to_the_size(tmp_path: Path, size: int, chunk: int) -> None:
    path = written(tmp_path, "file.bin", os.urandom(size))
    seen: list[int] = []
    sha256_file(path, progress=seen.append, chunk=chunk)
    assert seen[-1] == size
    assert seen == sorted(seen) and len(set(seen)) == len(seen)  # strictly climbing
    steps = [b - a for a, b in zip([0, *seen[:-1]], seen, strict=True)]
    assert all(0 < step <= chunk for step in steps)
    assert len(seen) == -(-size // chunk)


def test_an_empty_file_reports_no_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    sha256_file(written(tmp_path, "empty", b""), progress=seen.append)
    assert seen == []


def test_a_cancel_set_before_stops_before_reading(tmp_path: Path) -> None:
    path = written(tmp_path, "file.bin", os.urandom(10_000))
    cancel = threading.Event()
    cancel.set()
    seen: list[int] = []
    with pytest.raises(HashCancelled):
        sha256_file(path, progress=seen.append, cancel=cancel, chunk=1000)
    assert seen == []


def test_a_cancel_during_hashing_stops_it(tmp_path: Path) -> None:
    path = written(tmp_path, "file.bin", os.urandom(10_000))
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int) -> None:
        seen.append(done)
        if done >= 3000:
            cancel.set()

    with pytest.raises(HashCancelled) as stopped:
        sha256_file(path, progress=progress, cancel=cancel, chunk=1000)
    assert seen == [1000, 2000, 3000]
    assert str(path) in str(stopped.value)


def test_an_unset_cancel_changes_nothing(tmp_path: Path) -> None:
    data = os.urandom(5000)
    path = written(tmp_path, "file.bin", data)
    assert sha256_file(path, cancel=threading.Event(), chunk=1000) == (
        hashlib.sha256(data).hexdigest())


def test_a_file_is_hashed_within_its_folder_descriptor(tmp_path: Path) -> None:
    data = b"in the folder\n"
    path = written(tmp_path, "file.txt", data)
    fd = open_folder(str(tmp_path))
    if fd is None:
        pytest.skip("no dir_fd on this system")
    try:
        assert sha256_file(path, folder=fd) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and O_NOFOLLOW")
@pytest.mark.parametrize("kind", ["link", "fifo", "link-to-fifo", "folder"])
def test_a_link_fifo_or_folder_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    real = written(tmp_path, "real.txt", b"real\n")
    os.mkfifo(tmp_path / "fifo")
    path = tmp_path / kind
    if kind == "link":
        path.symlink_to(real)
    elif kind == "link-to-fifo":
        path.symlink_to(tmp_path / "fifo")
    elif kind == "folder":
        path.mkdir()
    seen: list[int] = []
    with pytest.raises(NotRegularFile):
        sha256_file(path, progress=seen.append)
    assert seen == []


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing.bin")
