"""Adversarial review of issue 12 (several files and folders): each test held a problem
the pass found. All are fixed but one, still a strict xfail (unfinished downloads inside
subfolders are not listed), so its fix shows up as XPASS.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from guikit import FakeDialogs, pump_until
from hostile_server import HostileServer
from serverkit import download, serving
from test_gui_server import Harness
from test_gui_server import harness as harness  # the fixture, shared

from core.client.leftovers import find_unfinished
from core.client.partfile import PartFile
from core.client.savefolder import SaveFolder
from core.client.visit import FilecastClient
from core.errors import ServeError
from core.server import entries
from core.server.folders import walk_folder
from core.server.offer import MAX_ANCHORED_FOLDERS, OfferTable
from core.wire.selection import names_a_folder, select

SECRET = b"alice's private key, outside every offered folder"


def _outside_secret(tmp_path: Path, name: str) -> Path:
    """A folder outside the offer holding a secret file called ``name``."""
    private = tmp_path / "private"
    private.mkdir()
    (private / name).write_bytes(SECRET)
    return private


def test_folders_past_the_cap_are_left_out_never_opened_by_path(tmp_path: Path) -> None:
    """A local user who can write into the served folder makes more subfolders than the
    server keeps descriptors for, then swaps one for a link to the serving person's private
    folder. Once, the ones past the cap were opened by path, through the link."""
    root = tmp_path / "Share"
    for n in range(MAX_ANCHORED_FOLDERS + 1):
        (root / f"d{n:04d}").mkdir(parents=True)
        (root / f"d{n:04d}" / "id_rsa").write_bytes(b"decoy")
    private = _outside_secret(tmp_path, "id_rsa")
    with serving(tmp_path, [root]) as running:
        files = running.offer.state.files
        assert len(files) == MAX_ANCHORED_FOLDERS  # the one past the cap is left out
        assert all(f.folder is not None for f in files)  # and nothing by path
        assert any("folders past the first" in note for note in running.offer.state.left_out)
        last = f"d{MAX_ANCHORED_FOLDERS:04d}"
        (root / last).rename(root / "moved")
        (root / last).symlink_to(private)
        status, _headers, body = download(running, f"Share/{last}/id_rsa")
        assert status == 404 and body != SECRET
        first = files[0].name.split("/")[1]  # an offered one, swapped the same way
        (root / first).rename(root / "moved-too")
        (root / first).symlink_to(private)
        status, _headers, body = download(running, files[0].name)
    assert body != SECRET, f"answered {status} with the secret from {private}"


def test_a_file_swapped_for_a_link_during_the_walk_is_not_offered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "Share"
    root.mkdir()
    (root / "notes.txt").write_bytes(b"notes")
    private = _outside_secret(tmp_path, "id_rsa")
    real_walk = entries.walk_folder

    def walk_then_swap(path: str) -> tuple[list[tuple[str, str]], object, list[str]]:
        found = real_walk(path)
        (root / "notes.txt").unlink()  # the hostile user, while the rest is walked
        (root / "notes.txt").symlink_to(private / "id_rsa")
        return found

    monkeypatch.setattr(entries, "walk_folder", walk_then_swap)
    table = OfferTable([root], server_name="test")
    try:
        paths = [f.path for f in table.state.files]
    finally:
        table.close()
    assert all(Path(p).is_relative_to(root) for p in paths), paths


def test_a_link_to_a_hidden_file_inside_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "Share"
    (root / ".git").mkdir(parents=True)
    (root / ".env").write_bytes(b"PASSWORD=hunter2")
    (root / ".git" / "config").write_bytes(b"token")
    (root / "readme.txt").symlink_to(root / ".env")
    (root / "config.txt").symlink_to(root / ".git" / "config")
    (root / "plain.txt").write_bytes(b"plain")
    found, _left, _empty = walk_folder(str(root))
    assert [name for name, _real in found] == ["Share/plain.txt"]


def test_a_file_and_a_folder_of_the_same_name_are_both_saved(tmp_path: Path) -> None:
    """An honest server may offer the file 'a' (from one place) and the folder 'a' (from
    another): names 'a' and 'a/b'. Taken in that order, the second cannot be saved."""
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a").write_bytes(b"the file a")
    (tmp_path / "two" / "a").mkdir(parents=True)
    (tmp_path / "two" / "a" / "b").write_bytes(b"the file a/b")
    out = tmp_path / "out"
    out.mkdir()
    with serving(tmp_path, [tmp_path / "one" / "a", tmp_path / "two" / "a"]) as running:
        assert [f.name for f in running.offer.state.files] == ["a", "a/b"]
        with FilecastClient("127.0.0.1", running.port) as client:
            client.download("a", out)
            saved = client.download("a/b", out).path  # StorageError: Not a directory
    assert saved.read_bytes() == b"the file a/b"
    assert (out / "a").read_bytes() == b"the file a"


def test_two_names_equal_after_nfc_leave_one_out_not_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "Week 12"
    root.mkdir()
    composed = unicodedata.normalize("NFC", "Résumé.pdf")
    decomposed = unicodedata.normalize("NFD", "Résumé.pdf")
    (root / composed).write_bytes(b"composed")
    (root / decomposed).write_bytes(b"planted twin")
    for n in range(3):
        (root / f"worksheet {n}.pdf").write_bytes(b"work")
    try:
        table = OfferTable([root], server_name="test")
    except ServeError as refused:
        pytest.fail(f"the whole folder was refused: {refused}")
    try:
        assert len(table.state.files) == 4 and table.state.left_out
    finally:
        table.close()


def test_a_too_deep_folder_is_said_as_too_deep(tmp_path: Path) -> None:
    root = tmp_path / "Deep"
    deep = root.joinpath(*(f"f{n}" for n in range(40)))
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_bytes(b"x")
    (root / "top.txt").write_bytes(b"y")
    found, left, _empty = walk_folder(str(root))
    assert [name for name, _ in found] == ["Deep/top.txt"]
    sentence = left.sentence("Deep") or ""
    assert "backslash" not in sentence, sentence


def test_an_unfinished_file_of_a_folder_is_found(tmp_path: Path) -> None:
    chosen = tmp_path / "Downloads"
    (chosen / "Data").mkdir(parents=True)
    with SaveFolder(chosen) as top, top.descend("Data") as data:
        part = PartFile(data, "Data/big.bin", "big.bin")
        part.write_meta('"64-1"', 100, None, "127.0.0.1:8000")
        data.write_new(part.part_name, b"x" * 40)
    assert [item.name for item in find_unfinished(chosen)] == ["Data/big.bin"]


def test_a_folder_typed_in_another_case_is_selected() -> None:
    offered = ["Week 12/a.pdf", "Week 12/b.pdf", "notes.txt"]
    assert select(offered, ["Notes.TXT"]).names == ("notes.txt",)  # a file: case ignored
    assert names_a_folder(offered, "week 12")
    assert select(offered, ["week 12"]).names == ("Week 12/a.pdf", "Week 12/b.pdf")


def test_a_fifo_planted_as_a_subfolder_is_refused_at_once(tmp_path: Path) -> None:
    """Checked fine: O_DIRECTORY refuses a FIFO without waiting for a writer; the folder
    is then made beside it, numbered, as a clash of names is (issue 12)."""
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "Data")
    with HostileServer({"Data/x.bin": b"x" * 10}) as server, \
            FilecastClient("127.0.0.1", server.port, timeout=2.0) as client:
        client.connect()
        saved = client.download("Data/x.bin", out).path  # at once, beside the FIFO
    assert saved == out.resolve() / "Data (1)" / "x.bin"
    assert (out / "Data").is_fifo()


@pytest.mark.gui
def test_adding_a_file_does_not_repeat_a_folders_left_out_note(harness: Harness) -> None:
    folder = harness.tmp / "Week 12"
    folder.mkdir()
    (folder / "worksheet.pdf").write_bytes(b"work")
    (folder / ".DS_Store").write_bytes(b"junk")
    extra = harness.file("notes.txt", b"notes")
    dialogs = FakeDialogs(folders=[str(folder)], files=[None, str(extra)])
    window = harness.open(dialogs=dialogs, toplevel=True)
    pump_until(harness.root, lambda: dialogs.called("choose_file"), what="the first picker")
    window.offer_panel.empty_folder_button.invoke()
    harness.serving(window)
    note = "Left out of 'Week 12': 1 hidden file or folder."
    pump_until(harness.root, lambda: note in window.log_panel.content, what="the note")
    window.offer_panel.choose_button.invoke()  # Add files…: notes.txt, nothing left out
    pump_until(harness.root, lambda: window.files_panel.shown_names()[-1:] == ["notes.txt"],
               what="the added file")
    pump_until(harness.root, lambda: "Added 1 file." in window.status_bar.detail.cget("text")
               or "Added 1 file." in window.log_panel.content, what="the added note")
    assert window.log_panel.content.count(note) == 1
