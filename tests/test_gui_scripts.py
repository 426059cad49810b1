"""Names in any script reach the windows whole (issue 11, item 5): emoji (outside the
Basic Multilingual Plane), Arabic and Hebrew, in the roster, the log, the offered files and
the unfinished list, with long file names shortened in the middle keeping the extension.
Tk 8.6 on X11 draws them in logical order without joining Arabic letters (README, "Names
in any script"); these tests hold what it can do: nothing crashes and nothing is lost.
"""

from __future__ import annotations

import tkinter as tk

import pytest

from core.client import Unfinished
from core.gui.client_file_panel import FilePanel
from core.gui.client_unfinished_panel import UnfinishedPanel
from core.gui.server_roster_panel import RosterPanel
from core.gui.style import apply_style, clip_name
from core.server import RosterRow, Standing
from core.wire.protocol import FileInfo

NAMES = ["Zoë 😀", "سارة", "דוד כהן", "👩🏽‍🏫 Ms. Okafor", "Ана"]


def row(name: str) -> RosterRow:
    return RosterRow(f"id:{name}", name, Standing.DOWNLOADED, "has it", "", 1.0, 1,
                     "10.0.0.5", "x", False)


def test_every_script_is_shown_whole_in_the_roster(tk_root: tk.Tk) -> None:
    apply_style(tk_root)
    panel = RosterPanel(tk_root, on_expected=lambda: None, on_export=lambda: None,
                        on_new_session=lambda: None)
    panel.show([row(n) for n in NAMES], "5 of 5 have it · 0 downloading · 0 declined")
    tk_root.update()
    assert sorted(panel.shown_names()) == sorted(NAMES)
    panel.search.set("zoe 😀")
    assert panel.shown_names() == ["Zoë 😀"]
    panel.destroy()


def test_offered_files_and_leftovers_in_any_script(tk_root: tk.Tk) -> None:
    apply_style(tk_root)
    files = FilePanel(tk_root, on_check=lambda _n: None, on_yes=lambda: None,
                      on_no=lambda: None)
    name = "محاضرة-٧-😀-" + "x" * 80 + ".pdf"
    files.show_files([FileInfo(name, 10, None, "", '"1"')])
    files.enable(True)
    files.file_buttons[0].invoke()
    assert files.file_name == name  # the whole name, whatever the button shows
    shown = str(files.file_buttons[0].cget("text"))
    assert shown.startswith("محاضرة-٧-😀") and ".pdf · 10 B" in shown and "…" in shown
    leftovers = UnfinishedPanel(tk_root, on_resume=lambda _i: None, on_delete=lambda _i: None)
    leftovers.grid()
    leftovers.show([Unfinished("דוח 😀.pdf", 5, 10, "10.0.0.5:5001")])
    assert leftovers.lines[0].startswith("דוח 😀.pdf: 5 B of 10 B")
    files.destroy()
    leftovers.destroy()


@pytest.mark.parametrize("name", [
    "lecture-07-fourier-transforms-and-their-applications-final-v2.pdf",
    "😀" * 70 + ".zip",
    "a" * 200,
    "x" * 50 + "." + "y" * 40,
])
def test_long_names_are_cut_in_the_middle_keeping_the_end(name: str) -> None:
    shown = clip_name(name, 40)
    assert len(shown) == 40 and "…" in shown
    assert shown[:10] == name[:10]
    if name.endswith((".pdf", ".zip")):
        assert shown.endswith(name[-8:])
