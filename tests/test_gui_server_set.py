"""The server window offers a set (issue 12): a folder chosen at the start, files added and
removed while serving, the Files tab listing each with its SHA-256, what a folder left out
said in the log, and a name offered twice refused with a sentence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guikit import FakeDialogs, pump_until
from test_gui_server import Harness, get_json
from test_gui_server import harness as harness  # the fixture, shared

from core.client import FilecastClient

pytestmark = pytest.mark.gui


def week(root: Path) -> Path:
    folder = root / "Week 12"
    (folder / "answers").mkdir(parents=True)
    (folder / "worksheet 1.pdf").write_bytes(os.urandom(3000))
    (folder / "answers" / "key.txt").write_bytes(b"key")
    (folder / ".DS_Store").write_bytes(b"junk")
    return folder


def offered(port: int) -> list[str]:
    return [f["name"] for f in get_json(port, "/api/v1/offer")["files"]]


def test_a_folder_then_files_added_and_removed_while_serving(harness: Harness) -> None:
    folder = week(harness.tmp)
    extra = harness.file("notes.txt", b"notes")
    dialogs = FakeDialogs(folders=[str(folder)], files=[None, str(extra), str(extra)])
    window = harness.open(dialogs=dialogs, toplevel=True)
    pump_until(harness.root, lambda: dialogs.called("choose_file"), what="the first picker")
    window.offer_panel.empty_folder_button.invoke()
    port = harness.serving(window)
    assert window.offer_panel.name_label.cget("text") == "Week 12/ · 2 files"
    assert offered(port) == ["Week 12/answers/key.txt", "Week 12/worksheet 1.pdf"]
    pump_until(harness.root, lambda: "Left out of 'Week 12': 1 hidden file or folder."
               in window.log_panel.content, what="the left-out sentence")
    pump_until(harness.root, lambda: window.files_panel.total.cget("text").startswith(
        "2 files, ") and "computed" not in window.files_panel.total.cget("text"),
        what="both digests")

    window.offer_panel.choose_button.invoke()  # Add files…
    pump_until(harness.root, lambda: window.files_panel.shown_names()[-1:] == ["notes.txt"],
               what="the added file")
    assert len(offered(port)) == 3
    assert window.top.title() == "Filecast Server — 3 files"

    window.offer_panel.choose_button.invoke()  # the same file again: a sentence
    pump_until(harness.root, lambda: "Two offered files are called 'notes.txt'" in
               window.offer_panel.error_label.cget("text"), what="the refusal")
    assert len(offered(port)) == 3

    window.files_panel.select(["Week 12/answers/key.txt", "notes.txt"])
    window.files_panel.remove_button.invoke()
    pump_until(harness.root, lambda: window.files_panel.shown_names() ==
               ["Week 12/worksheet 1.pdf"], what="the removal")
    assert offered(port) == ["Week 12/worksheet 1.pdf"]
    assert "Removed 2 files from the offer." in window.status_bar.detail.cget("text")


def test_a_folder_taken_as_one_archive_shows_in_the_tables_and_the_log(
        harness: Harness) -> None:
    """issue 12: 300 files in one archive: the Connections row counts the files taken,
    the log stays bounded and the window keeps drawing (no 600 lines at once freeze)."""
    folder = harness.tmp / "Data"
    for n in range(300):
        (folder / f"set {n % 3}").mkdir(parents=True, exist_ok=True)
        (folder / f"set {n % 3}" / f"{n:03d}.bin").write_bytes(os.urandom(2000))
    window = harness.open([folder])
    port = harness.serving(window)
    (harness.tmp / "got").mkdir()
    with FilecastClient("127.0.0.1", port, client_id="archive-window-01", name="Ana") as client:
        taken = client.download_small(list(client.connect().files), harness.tmp / "got")
    assert len(taken.saved) == 300
    tree = window.clients_panel.tree
    pump_until(harness.root, lambda: any("300 files taken" in tree.set(row, "state")
                                         for row in tree.get_children()),
               what="the row counting 300 files", timeout=30)
    pump_until(harness.root, lambda: "in one archive" not in window.log_panel.content
               and "downloaded and verified the file 'Data/set 2/299.bin'"
               in window.log_panel.content, what="the last file in the log", timeout=30)
