"""Nothing is written outside the download folder, whatever is planted in it (issue 9, item 3).

Someone who can write to the download folder plants a symbolic link or a hard link to a
file elsewhere at each name the client touches: NAME.part, .NAME.part.json,
.NAME.part.json.new (and NAME.part.json, where it was kept before issue 11), NAME and
NAME (1). Downloads, fresh and resumed, must leave every file outside the folder
byte-identical with its modification time, and end either with the verified file in the
folder or with a sentence.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer
from serverkit import Background

from core.client.visit import FilecastClient
from core.errors import FilecastError, ServerGoneError

MIB = 1024 * 1024
NAME = "report.pdf"
DATA = os.urandom(2 * MIB + 4321)  # whole 1 MiB buffers: the O_DIRECT path is used too
NAMES = [f"{NAME}.part", f".{NAME}.part.json", f".{NAME}.part.json.new", f"{NAME}.part.json",
         NAME, "report (1).pdf"]
OLD = 1_700_000_000 * 10**9  # outside files' modification time, in ns


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({NAME: DATA}) as server:
        yield server


class Scene:
    """A download folder, and outside it one precious file per name that may be planted."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "downloads"
        self.outside = root / "outside"
        self.folder.mkdir()
        self.outside.mkdir()
        self.victims: dict[str, Path] = {}
        for index, name in enumerate(NAMES):
            victim = self.outside / f"victim-{index}"
            victim.write_bytes(f"precious {index}\n".encode() * 100)
            os.utime(victim, ns=(OLD, OLD))
            self.victims[name] = victim
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
                for p in self.outside.iterdir() if p.is_file()}

    def plant(self, name: str, kind: str) -> None:
        """A link at ``name`` in the folder to its victim outside (replacing what is there)."""
        target = self.folder / name
        if target.is_symlink() or target.exists():
            target.unlink()
        if kind == "symlink":
            target.symlink_to(self.victims[name])
        else:
            os.link(self.victims[name], target)

    def check(self, outcome: object) -> None:
        """Outside untouched; a verified plain file in the folder, or a sentence."""
        assert self.snapshot() == self.before, "a file outside the folder changed"
        if isinstance(outcome, FilecastError):
            assert str(outcome) and "Traceback" not in str(outcome)
        else:
            path = getattr(outcome, "path", None)
            assert isinstance(path, Path) and path.parent == self.folder.resolve(), outcome
            assert stat.S_ISREG(path.lstat().st_mode) and path.read_bytes() == DATA
        for entry in self.folder.iterdir():
            if entry.is_symlink() or entry.name.endswith((".part", ".part.json", ".new")):
                continue
            if entry.stat().st_ino in {v.stat().st_ino for v in self.victims.values()}:
                continue  # a planted hard link that was left alone
            assert entry.read_bytes() == DATA, entry  # a final name holds only the file


def client_for(server: HostileServer) -> FilecastClient:
    return FilecastClient("127.0.0.1", server.port, timeout=2.0, retries=0, backoff=0.01)


def download(server: HostileServer, folder: Path) -> object:
    """The result, or the FilecastError the person would read."""
    try:
        with client_for(server) as client:
            return client.download(NAME, folder)
    except FilecastError as error:
        return error


def leave_a_part(server: HostileServer, folder: Path) -> None:
    """A real half download: NAME.part and .NAME.part.json, as a cut leaves them."""
    server.lies.short_by = len(DATA) // 2
    assert isinstance(download(server, folder), ServerGoneError)
    server.lies.short_by = 0
    assert (folder / f"{NAME}.part").stat().st_size > 0


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
@pytest.mark.parametrize("name", NAMES)
def test_a_link_planted_before_a_fresh_download(hostile: HostileServer, tmp_path: Path,
                                                name: str, kind: str) -> None:
    scene = Scene(tmp_path)
    if name == "report (1).pdf":
        scene.plant(NAME, kind)  # NAME taken too, so that NAME (1) is tried
    scene.plant(name, kind)
    scene.check(download(hostile, scene.folder))


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
@pytest.mark.parametrize("name", NAMES)
def test_a_link_planted_before_a_resume(hostile: HostileServer, tmp_path: Path, name: str,
                                        kind: str) -> None:
    scene = Scene(tmp_path)
    leave_a_part(hostile, scene.folder)
    scene.plant(name, kind)
    scene.check(download(hostile, scene.folder))


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_links_planted_at_every_name_but_the_part(hostile: HostileServer, tmp_path: Path,
                                                  kind: str) -> None:
    scene = Scene(tmp_path)
    leave_a_part(hostile, scene.folder)
    for name in NAMES[1:]:
        scene.plant(name, kind)
    outcome = download(hostile, scene.folder)
    scene.check(outcome)
    assert not isinstance(outcome, FilecastError), outcome  # nothing stops a good download


@pytest.mark.parametrize("how", ["fifo", "symlink to a fifo"])
def test_a_fifo_at_the_metadata_does_not_hang_the_client(hostile: HostileServer,
                                                         tmp_path: Path, how: str) -> None:
    scene = Scene(tmp_path)
    leave_a_part(hostile, scene.folder)
    meta = scene.folder / f".{NAME}.part.json"
    meta.unlink()
    fifo = scene.outside / "fifo"
    os.mkfifo(fifo)
    if how == "fifo":
        os.rename(fifo, meta)
        fifo = meta
    else:
        meta.symlink_to(fifo)
    running = Background(lambda: download(hostile, scene.folder))
    try:
        outcome = running.join(15)
    finally:
        # a reader blocked in open() on the FIFO: a writer appearing releases it
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    scene.check(outcome)
