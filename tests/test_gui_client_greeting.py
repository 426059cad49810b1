"""The client window's greeting (issue 11, item 3): the offered files are one click from
the name field.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

from guikit import pump_until
from test_gui_client import Served, connect, make_window
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_client import downloads as downloads
from test_gui_client import offered as offered
from test_gui_client import served as served

from core.gui import client_window as cw


def test_one_click_on_an_offered_file_fills_the_name(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    """issue 11: the greeting's file names could not be copied; now each is a button that
    puts the name in the field (selected, so Ctrl+C copies it and Enter checks it)."""
    window = make_window(tk_root, downloads)
    assert not window.file_panel.files_frame.winfo_ismapped()  # nothing offered yet
    connect(tk_root, window, served.address)
    buttons = window.file_panel.file_buttons
    assert [str(b.cget("text")) for b in buttons] == ["test.txt · 11 B", "big.bin · 8.4 MB"]
    buttons[1].invoke()
    assert window.file_panel.file_name == "big.bin"
    assert window.file_panel.name_entry.selection_present()
    window.file_panel.name_entry.event_generate("<Return>")
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="the question")
