"""Unfinished downloads a folder holds (issue 11, item 4): found from the metadata this
client writes (hidden now, so Downloads shows one NAME.part per download), never another
program's .part, and deleted by name only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from serverkit import serving

from core.client import Unfinished, discard_unfinished, find_unfinished
from core.client.partfile import PartFile
from core.client.visit import FilecastClient
from core.errors import ServerGoneError

MIB = 1024 * 1024


def meta(name: str, size: int, server: str = "10.0.0.5:5001") -> bytes:
    return json.dumps({"version": 1, "name": name, "etag": '"1-2"', "size": size,
                       "sha256": None, "server": server}).encode()


def test_a_cut_download_is_listed_with_what_it_kept_and_where_from(tmp_path: Path) -> None:
    offered = tmp_path / "offered" / "movie.bin"
    offered.parent.mkdir()
    offered.write_bytes(os.urandom(6 * MIB))
    folder = tmp_path / "downloads"
    folder.mkdir()
    with serving(tmp_path, [offered]) as running, FaultProxy(running.port) as proxy:
        proxy.knobs.cuts = [2 * MIB]
        with FilecastClient("127.0.0.1", proxy.port, retries=0) as client, \
                pytest.raises(ServerGoneError):
            client.download("movie.bin", folder)
        server = f"127.0.0.1:{proxy.port}"
    kept = (folder / "movie.bin.part").stat().st_size
    assert find_unfinished(folder) == [Unfinished("movie.bin", kept, 6 * MIB, server)]
    visible = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert visible == ["movie.bin.part"]  # the metadata does not clutter Downloads
    [item] = find_unfinished(folder)
    assert discard_unfinished(item)
    assert find_unfinished(folder) == [] and list(folder.iterdir()) == []


def test_only_pairs_this_client_wrote_are_listed(tmp_path: Path) -> None:
    (tmp_path / "browser.iso.part").write_bytes(b"x" * 10)  # another program's: no metadata
    (tmp_path / "old.pdf.part").write_bytes(b"x" * 10)  # as kept before issue 11
    (tmp_path / "old.pdf.part.json").write_bytes(meta("old.pdf", 100))
    (tmp_path / "a.txt.part").write_bytes(b"x" * 5)  # metadata naming another file
    (tmp_path / ".a.txt.part.json").write_bytes(meta("b.txt", 100))
    (tmp_path / "c.txt.part").write_bytes(b"x" * 5)  # metadata that is not ours
    (tmp_path / ".c.txt.part.json").write_bytes(b"{not json")
    (tmp_path / ".gone.txt.part.json").write_bytes(meta("gone.txt", 100))  # no part
    (tmp_path / "big.txt.part").write_bytes(b"x" * 500)  # more than the file: not a resume
    (tmp_path / ".big.txt.part.json").write_bytes(meta("big.txt", 100))
    assert find_unfinished(tmp_path) == [Unfinished("old.pdf", 10, 100, "10.0.0.5:5001")]
    assert (tmp_path / "browser.iso.part").exists()


def test_a_folder_that_cannot_be_read_has_none(tmp_path: Path) -> None:
    assert find_unfinished(tmp_path / "missing") == []


def test_a_part_left_by_an_older_version_still_resumes_and_hides_its_metadata(
        tmp_path: Path) -> None:
    (tmp_path / "old.pdf.part").write_bytes(b"x" * 10)
    (tmp_path / "old.pdf.part.json").write_bytes(meta("old.pdf", 100))
    part = PartFile(tmp_path, "old.pdf")
    assert part.resume_offset('"1-2"', 100) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [".old.pdf.part.json", "old.pdf.part"]


def test_a_leftover_inside_a_folder_is_listed_and_deleted(tmp_path: Path) -> None:
    """A folder's file saved under its folders (issue 12) is found there, and only there."""
    (tmp_path / "Data" / "deep").mkdir(parents=True)
    (tmp_path / "Data" / "deep" / "big.bin.part").write_bytes(b"x" * 40)
    (tmp_path / "Data" / "deep" / ".big.bin.part.json").write_bytes(
        meta("Data/deep/big.bin", 100))
    (tmp_path / "Data" / "stray.bin.part").write_bytes(b"x" * 10)  # names another place
    (tmp_path / "Data" / ".stray.bin.part.json").write_bytes(meta("stray.bin", 100))
    (tmp_path / "link").symlink_to(tmp_path / "Data")  # not followed: listed once
    [item] = find_unfinished(tmp_path)
    assert (item.name, item.saved, item.folder) == ("Data/deep/big.bin", 40,
                                                    tmp_path / "Data" / "deep")
    assert discard_unfinished(item)
    assert sorted(p.name for p in (tmp_path / "Data" / "deep").iterdir()) == []
    assert (tmp_path / "Data" / "stray.bin.part").exists()
