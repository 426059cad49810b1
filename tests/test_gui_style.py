"""Shared window behaviour from core/gui/style.py: Ctrl+A selects all (issue 11)."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from core.gui.style import bind_select_all


def test_ctrl_a_selects_everything_in_a_field(tk_root: tk.Tk) -> None:
    bind_select_all(tk_root)
    entry = ttk.Entry(tk_root)
    entry.pack()
    entry.insert(0, "big2g.bin")
    entry.focus_force()
    entry.icursor(3)
    tk_root.update()
    entry.event_generate("<Control-a>")
    tk_root.update()
    assert entry.selection_present()
    assert (entry.index("sel.first"), entry.index("sel.last")) == (0, len("big2g.bin"))
    entry.destroy()


def test_ctrl_a_selects_all_of_a_log(tk_root: tk.Tk) -> None:
    bind_select_all(tk_root)
    text = tk.Text(tk_root)
    text.pack()
    text.insert("1.0", "line one\nline two")
    text.focus_force()
    tk_root.update()
    text.event_generate("<Control-a>")
    tk_root.update()
    assert text.get("sel.first", "sel.last") == "line one\nline two"
    text.destroy()
