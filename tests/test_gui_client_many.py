"""Several files at once in the client window (issue 12): the offered files as a list, a
row puts its name in the field (the original dialogue stays as it is), several selected
or "All files…" ask once, Yes saves each in its folders, verified, No records each."""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from guikit import pump_until
from serverkit import Running, serving
from test_cli_many import same_tree
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_client import connect, finished, make_window
from test_gui_client import downloads as downloads

from core.client.archive_fetch import SMALL_FILE_BYTES
from core.gui import client_window as cw

pytestmark = pytest.mark.gui


@pytest.fixture
def folder_served(tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    root = tmp_path / "share" / "Week 12"
    (root / "answers").mkdir(parents=True)
    for n in range(5):
        (root / f"worksheet {n}.pdf").write_bytes(os.urandom(5000 + n))
    (root / "answers" / "key.txt").write_bytes(b"key")
    with serving(tmp_path, [root]) as running:
        yield running, root


def address(running: Running) -> str:
    return f"127.0.0.1:{running.port}"


def test_a_list_a_row_fills_the_name_and_a_selection_is_asked_once(
        tk_root: tk.Tk, folder_served: tuple[Running, Path], downloads: Path) -> None:
    running, root = folder_served
    window = make_window(tk_root, downloads)
    connect(tk_root, window, address(running))
    panel = window.file_panel
    assert len(panel.files_list.get_children()) == 6 and panel.files_list.winfo_ismapped()
    panel.files_list.selection_set("0")
    tk_root.update()
    assert panel.file_name == "Week 12/answers/key.txt"  # then Check, as for one file
    panel.files_list.selection_set(("1", "2", "5"))
    tk_root.update()
    panel.selected_button.invoke()
    assert window.stage == cw.ASKING
    assert panel.answer == "3 files, 15.0 KB. Download?"
    panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window) and "Downloaded 3 of 3 files" in panel.answer,
               timeout=30, what="the three files")
    for name in ("worksheet 0.pdf", "worksheet 1.pdf", "worksheet 4.pdf"):
        assert (downloads / "Week 12" / name).read_bytes() == (root / name).read_bytes()
    assert len(running.wait_lines("downloaded and verified the file 'Week 12/", 3)) == 3
    assert window.error == ""


def test_all_files_declined_is_recorded_for_each(
        tk_root: tk.Tk, folder_served: tuple[Running, Path], downloads: Path) -> None:
    running, _root = folder_served
    window = make_window(tk_root, downloads)
    connect(tk_root, window, address(running))
    window.file_panel.all_button.invoke()
    assert window.file_panel.answer.startswith("6 files, ")
    window.file_panel.no_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.READY, what="the declines")
    assert "You declined 6 files" in window.file_panel.answer
    assert len(running.wait_lines("did not download the file 'Week 12/", 6)) == 6
    assert list(downloads.iterdir()) == []


def test_too_little_room_is_said_before_the_question(
        tk_root: tk.Tk, folder_served: tuple[Running, Path], downloads: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 12: the client checks the free space before asking, for one file or several."""
    from core.gui import client_selection, client_window
    monkeypatch.setattr(client_window, "free_bytes", lambda _folder: 1000)
    monkeypatch.setattr(client_selection, "free_bytes", lambda _folder: 1000)
    running, _root = folder_served
    window = make_window(tk_root, downloads)
    connect(tk_root, window, address(running))
    window.file_panel.set_name("Week 12/worksheet 0.pdf")
    window.file_panel.check_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="the question")
    assert window.file_panel.answer.startswith("Only 1.0 KB free in the download folder;"
                                               " this needs 5.0 KB.")
    assert window.file_panel.answer.endswith("Download?")
    window.file_panel.no_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.READY, what="the decline")
    window.file_panel.all_button.invoke()
    pump_until(tk_root, lambda: window.file_panel.answer.startswith("Only 1.0 KB free"),
               what="the warning for all of them")
    assert window.file_panel.answer.endswith("6 files, 25.0 KB. Download?")


@pytest.fixture
def many_served(tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    """60 small files in 3 folders and one over the archive size, which goes on its own."""
    root = tmp_path / "share" / "Data"
    for n in range(60):
        (root / f"set {n % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"set {n % 3}" / f"{n:02d}.bin").write_bytes(os.urandom(20_000 + n))
    (root / "video.bin").write_bytes(os.urandom(SMALL_FILE_BYTES + 10))
    with serving(tmp_path, [root]) as running:
        yield running, root


def test_all_files_come_small_ones_at_once_the_big_one_after(
        tk_root: tk.Tk, many_served: tuple[Running, Path], downloads: Path) -> None:
    running, root = many_served
    (downloads / "Data" / "set 1").mkdir(parents=True)
    (downloads / "Data" / "set 1" / "01.bin").write_bytes(b"mine")  # never overwritten
    window = make_window(tk_root, downloads)
    connect(tk_root, window, address(running))
    window.file_panel.all_button.invoke()
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: "60 files at once" in window.file_panel.answer, timeout=30,
               what="the small files asked for at once")
    pump_until(tk_root, lambda: finished(window)
               and "Downloaded 61 of 61 files" in window.file_panel.answer, timeout=60,
               what="all of them")
    assert "1 file saved under a new name" in window.file_panel.answer
    assert "'01.bin' is '01 (1).bin'" in window.file_panel.answer
    assert (downloads / "Data" / "set 1" / "01.bin").read_bytes() == b"mine"
    (downloads / "Data" / "set 1" / "01.bin").unlink()  # so the trees compare
    (downloads / "Data" / "set 1" / "01 (1).bin").rename(downloads / "Data" / "set 1" / "01.bin")
    assert same_tree(root, downloads / "Data")
    assert len(running.wait_lines("downloaded and verified the file 'Data/", 61)) == 61
    assert window.error == ""


def test_cancel_keeps_what_arrived_and_retry_takes_only_the_rest(
        tk_root: tk.Tk, many_served: tuple[Running, Path], downloads: Path) -> None:
    running, root = many_served
    with FaultProxy(running.port) as proxy:
        proxy.knobs.rate = 300_000  # slow enough to cancel part of the way
        window = make_window(tk_root, downloads)
        connect(tk_root, window, f"127.0.0.1:{proxy.port}")
        window.file_panel.all_button.invoke()
        window.file_panel.yes_button.invoke()
        bar = window.download_panel.progress_bar
        pump_until(tk_root, lambda: float(bar.cget("value")) > 400_000, timeout=30,
                   what="part of the files")
        said = window.download_panel.progress_label.cget("text")
        assert " of 60 files" in said and not said.startswith("0 of"), said
        window.download_panel.cancel_button.invoke()
        pump_until(tk_root, lambda: finished(window), timeout=30, what="the cancel")
        assert "cancelled" in window.error
        kept = [p for p in (downloads / "Data").rglob("*.bin")]
        assert 0 < len(kept) < 61
        proxy.knobs.rate = 0.0
        window.download_panel.retry_button.invoke()
        pump_until(tk_root, lambda: finished(window)
                   and "Downloaded 61 of 61 files" in window.file_panel.answer, timeout=60,
                   what="the rest")
    assert same_tree(root, downloads / "Data")  # no file twice, none as 'name (1)'


def test_all_files_keeps_the_empty_folders(
        tk_root: tk.Tk, tmp_path: Path, downloads: Path) -> None:
    root = tmp_path / "share" / "Week 12"
    (root / "to hand in").mkdir(parents=True)  # empty: where the answers will go
    (root / "a.pdf").write_bytes(b"a")
    (root / "b.pdf").write_bytes(b"b")
    with serving(tmp_path, [root]) as running:
        window = make_window(tk_root, downloads)
        connect(tk_root, window, address(running))
        window.file_panel.all_button.invoke()
        window.file_panel.yes_button.invoke()
        pump_until(tk_root, lambda: (downloads / "Week 12" / "to hand in").is_dir(),
                   timeout=30, what="the empty folder")
    assert "Downloaded 2 of 2 files" in window.file_panel.answer
