"""Unfinished downloads in the client window (issue 11, item 4): a part left in the folder
is listed when the window opens, with Resume (asks the server again, then resumes) and
Delete (asks first); the metadata beside it stays out of sight.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

from guikit import FakeDialogs, pump_until
from test_gui_client import Served, connect, finished, make_window, start_held_download
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_client import downloads as downloads
from test_gui_client import offered as offered
from test_gui_client import served as served

from core.gui import client_window as cw
from core.gui.client_window import ClientWindow


def leave_a_part(root: tk.Tk, served: Served, downloads: Path) -> None:
    """A window that cancels big.bin part-way and is closed, as a person would."""
    top = tk.Toplevel(root)
    window = make_window(top, downloads)
    connect(root, window, served.address)
    start_held_download(root, window, served)
    window.download_panel.cancel_button.invoke()
    pump_until(root, lambda: finished(window), what="the cancel")
    served.gate.release()
    top.destroy()
    assert (downloads / "big.bin.part").stat().st_size > 0


def reopened(root: tk.Tk, downloads: Path, dialogs: FakeDialogs | None = None
             ) -> tuple[tk.Toplevel, ClientWindow]:
    top = tk.Toplevel(root)
    window = make_window(top, downloads, dialogs=dialogs)
    pump_until(root, lambda: window.unfinished_panel.lines, what="the unfinished list")
    return top, window


def test_a_part_left_behind_is_listed_and_resume_asks_again_then_resumes(
        tk_root: tk.Tk, served: Served, downloads: Path, offered: list[Path]) -> None:
    leave_a_part(tk_root, served, downloads)
    top, window = reopened(tk_root, downloads)
    [line] = window.unfinished_panel.lines
    assert line.startswith("big.bin: ") and "of 8.4 MB" in line and served.address in line
    assert window.unfinished_panel.winfo_ismapped()
    assert [p.name for p in downloads.iterdir() if not p.name.startswith(".")] == \
        ["big.bin.part"]  # one file per unfinished download in the folder

    window.unfinished_panel.resume_buttons[0].invoke()
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="the question, asked again")
    assert window.file_panel.file_name == "big.bin"
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window) and not window.unfinished_panel.lines,
               timeout=30, what="the resumed download")
    assert window.error == "", window.error
    assert (downloads / "big.bin").read_bytes() == offered[1].read_bytes()
    assert not window.unfinished_panel.winfo_ismapped()
    top.destroy()


def test_delete_asks_first_and_removes_only_that_download(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    leave_a_part(tk_root, served, downloads)
    (downloads / "browser.iso.part").write_bytes(b"not ours")
    dialogs = FakeDialogs(answers=[False, True])
    top, window = reopened(tk_root, downloads, dialogs)
    window.unfinished_panel.delete_buttons[0].invoke()  # No: nothing happens
    assert (downloads / "big.bin.part").exists()
    window.unfinished_panel.delete_buttons[0].invoke()
    pump_until(tk_root, lambda: not window.unfinished_panel.lines, what="the list emptied")
    assert [p.name for p in downloads.iterdir()] == ["browser.iso.part"]
    assert "Delete the" in str(dialogs.called("ask_yes_no")[0][1])
    top.destroy()

