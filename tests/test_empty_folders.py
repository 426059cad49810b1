"""Empty folders of an offered folder are kept (issue 12: "as tar and wget keep them"):
the server names them in its offer, a client that takes the folder (or everything) makes
them, a hostile server's other names are dropped, never made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_names import HOSTILE_RELATIVE
from serverkit import ROOT, serving

from core.client import make_folders
from core.errors import ProtocolError
from core.server.folders import walk_folder
from core.wire.paths import check_relative
from core.wire.protocol import MAX_EMPTY_FOLDERS, Offer, offer_json, parse_offer
from core.wire.selection import empty_within


@pytest.fixture
def week(tmp_path: Path) -> Path:
    root = tmp_path / "share" / "Week 12"
    for folder in ("answers", "empty", "deep/er/still", ".hidden-empty", "deep/files"):
        (root / folder).mkdir(parents=True)
    (root / "worksheet.pdf").write_bytes(b"pdf")
    (root / "answers" / "key.txt").write_bytes(b"key")
    (root / "deep" / "files" / "a.txt").write_bytes(b"a")
    return root


def test_the_walk_names_the_deepest_empty_folders(week: Path) -> None:
    found, left, empty = walk_folder(str(week))
    assert [name for name, _ in found] == ["Week 12/answers/key.txt", "Week 12/deep/files/a.txt",
                                           "Week 12/worksheet.pdf"]
    assert empty == ["Week 12/deep/er/still", "Week 12/empty"]
    assert left.total >= 1  # the hidden one is left out, as hidden files are


def test_the_offer_carries_them_on_its_first_page_and_a_client_drops_bad_ones() -> None:
    offer = Offer("s", "n", "m", (), ("Week 12/empty",))
    body = json.loads(offer_json(offer))
    assert body["folders"] == ["Week 12/empty"]
    body["folders"] = ["Week 12/empty", *HOSTILE_RELATIVE]
    parsed = parse_offer(json.dumps(body).encode())
    assert parsed.folders[0] == "Week 12/empty"
    for kept in parsed.folders:  # the rest are made safe when saved (the test below)
        check_relative(kept)
        assert ".." not in kept.split("/") and "\\" not in kept
    body["folders"] = "not a list"
    with pytest.raises(ProtocolError):
        parse_offer(json.dumps(body).encode())
    body["folders"] = [f"f{n}/x" for n in range(MAX_EMPTY_FOLDERS + 5)]
    assert len(parse_offer(json.dumps(body).encode()).folders) == MAX_EMPTY_FOLDERS


def test_a_selection_takes_the_empty_folders_inside_what_it_asked_for() -> None:
    offered = ["Week 12/a.pdf", "Week 12/sub/b.pdf", "Other/c.pdf"]
    folders = ["Week 12/empty", "Week 12/sub/none", "Other/void"]
    assert empty_within(folders, offered, [], everything=True) == tuple(folders)
    assert empty_within(folders, offered, ["week 12"]) == ("Week 12/empty", "Week 12/sub/none")
    assert empty_within(folders, offered, ["Week 12/sub/"]) == ("Week 12/sub/none",)
    assert empty_within(folders, offered, ["Week 12/a.pdf"]) == ()


def test_hostile_names_never_leave_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root" / "downloads"
    root.mkdir(parents=True)
    make_folders(root, [n for n in HOSTILE_RELATIVE if "\x00" not in n])
    outside = [p for p in (tmp_path / "root").rglob("*") if root not in (p, *p.parents)]
    assert outside == []


def test_get_all_and_a_folder_make_them_one_name_does_not(tmp_path: Path, week: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FILECAST_CONFIG_DIR": str(tmp_path / "c")}

    def get(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "core", "get", f"127.0.0.1:{running.port}",
                        *args, "--yes"], check=True, capture_output=True, timeout=60, env=env)

    with serving(tmp_path, [week]) as running:
        get("--all", "-o", str(tmp_path / "all"))
        get("Week 12/deep", "-o", str(tmp_path / "deep"))
        get("Week 12/worksheet.pdf", "-o", str(tmp_path / "one"))
    assert (tmp_path / "all" / "Week 12" / "empty").is_dir()
    assert (tmp_path / "all" / "Week 12" / "deep" / "er" / "still").is_dir()
    assert not (tmp_path / "all" / "Week 12" / ".hidden-empty").exists()
    assert (tmp_path / "deep" / "Week 12" / "deep" / "er" / "still").is_dir()
    assert not (tmp_path / "deep" / "Week 12" / "empty").exists()
    assert [p.name for p in (tmp_path / "one").rglob("*")] == ["Week 12", "worksheet.pdf"]
