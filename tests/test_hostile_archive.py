"""A hostile server's archive (issue 12): whatever it sends in place of the files asked
for, nothing is written outside the chosen folder, nothing unverified gets a final name,
and the files still come one by one (checked as any single download is)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hostile_names import HOSTILE_RELATIVE
from hostile_server import HostileServer
from test_hostile_server import check_folder, client_for

from core.wire.archive import Layout, Member, header, padding

FILES = {"Week 12/a.txt": b"first file\n" * 20, "Week 12/b.txt": b"second\n" * 30}


def archive(members: list[tuple[str, bytes]]) -> bytes:
    """An archive as a Filecast server lays it out, of whatever members we like."""
    plan = Layout.of([Member(name, len(data), 0) for name, data in members])
    out = bytearray()
    for (_name, data), member in zip(members, plan.members, strict=True):
        out += header(member) + data + bytes(padding(len(data)))
    return bytes(out + bytes(plan.length - len(out)))


def odd_member(kind: bytes, name: str = "Week 12/a.txt") -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, "/etc/passwd"
    made = io.BytesIO()
    with tarfile.open(fileobj=made, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info)
    return made.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "root" / "downloads"
    path.mkdir(parents=True)
    return path


def take(server: HostileServer, folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Both files by archive, then the ones it left one by one, as `get --all` does."""
    with client_for(server) as client:
        offer = client.connect()
        taken = client.download_small(list(offer.files), folder)
        for info in taken.left:
            client.download(info.name, folder, info=info)
    return taken.saved, taken.failed


@pytest.mark.parametrize("name", HOSTILE_RELATIVE[:24])
def test_a_member_under_another_name_is_refused_and_the_files_come_one_by_one(
        folder: Path, name: str) -> None:
    with HostileServer(FILES) as server:
        server.lies.archive = archive([(name, FILES["Week 12/a.txt"]),
                                       ("Week 12/b.txt", FILES["Week 12/b.txt"])])
        saved, failed = take(server, folder)
    assert not saved and not failed  # nothing from the archive; all of it one by one
    check_folder(folder, FILES)


def test_a_member_with_other_bytes_is_not_saved(folder: Path) -> None:
    with HostileServer(FILES) as server:
        wrong = b"X" * len(FILES["Week 12/a.txt"])
        server.lies.archive = archive([("Week 12/a.txt", wrong),
                                       ("Week 12/b.txt", FILES["Week 12/b.txt"])])
        with client_for(server) as client:
            offer = client.connect()
            taken = client.download_small(list(offer.files), folder)
    assert "arrived damaged" in taken.failed["Week 12/a.txt"]
    check_folder(folder, {"Week 12/b.txt": FILES["Week 12/b.txt"]})


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE,
                                  tarfile.FIFOTYPE])
def test_links_and_special_members_are_refused(folder: Path, kind: bytes) -> None:
    with HostileServer(FILES) as server:
        server.lies.archive = odd_member(kind)
        take(server, folder)
    check_folder(folder, FILES)
    assert not (folder / "Week 12" / "a.txt").is_symlink()


def test_an_archive_of_endless_zeros_is_not_read_to_its_end(folder: Path) -> None:
    with HostileServer(FILES) as server:
        server.lies.archive = bytes(4 * 1024 * 1024)  # an end marker, then more and more
        saved, _ = take(server, folder)
    assert not saved
    check_folder(folder, FILES)
