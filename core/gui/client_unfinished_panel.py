"""The client window's "Unfinished downloads": what the download folder holds half done,
each with Resume and Delete (issue 11). Hidden when there is none.

A pure view: the window finds the leftovers in a worker (core.client.find_unfinished) and
hands the list in; the buttons call back into the window.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from functools import partial
from tkinter import ttk

from core.client import Unfinished
from core.gui.style import PAD, SMALL_PAD, clip, clip_name
from core.wire.units import human_size, percent

MAX_SHOWN = 4  # more go into one line: the window stays small


def describe(item: Unfinished) -> str:
    """``lecture.pdf: 1.4 GB of 2.0 GB (70%), from 192.168.1.20:5001``."""
    return (f"{clip_name(item.name, 40)}: {human_size(item.saved)} of {human_size(item.size)}"
            f" ({percent(item.saved, item.size)}), from {clip(item.server, 40)}")


class UnfinishedPanel(ttk.LabelFrame):
    """One line per unfinished download; Resume asks the server again, Delete removes it."""

    def __init__(self, master: tk.Misc, *, on_resume: Callable[[Unfinished], None],
                 on_delete: Callable[[Unfinished], None]) -> None:
        super().__init__(master, text="Unfinished downloads", padding=PAD,
                         style="Section.TLabelframe")
        self.columnconfigure(0, weight=1)
        self._on_resume, self._on_delete = on_resume, on_delete
        self.items: list[Unfinished] = []
        self.resume_buttons: list[ttk.Button] = []
        self.delete_buttons: list[ttk.Button] = []

    def show(self, items: list[Unfinished], *, enabled: bool = True) -> None:
        """Redraw for ``items``; the frame takes no room when there are none."""
        for child in self.winfo_children():
            child.destroy()
        self.items, self.resume_buttons, self.delete_buttons = list(items), [], []
        for row, item in enumerate(items[:MAX_SHOWN]):
            ttk.Label(self, text=describe(item)).grid(row=row, column=0, sticky="w")
            resume = ttk.Button(self, text="Resume", command=partial(self._on_resume, item))
            resume.grid(row=row, column=1, padx=(PAD, SMALL_PAD), pady=(0, SMALL_PAD))
            delete = ttk.Button(self, text="Delete…", command=partial(self._on_delete, item))
            delete.grid(row=row, column=2, pady=(0, SMALL_PAD))
            self.resume_buttons.append(resume)
            self.delete_buttons.append(delete)
        if len(items) > MAX_SHOWN:
            more = len(items) - MAX_SHOWN
            ttk.Label(self, text=f"and {more} more in the download folder.",
                      style="Muted.TLabel").grid(row=MAX_SHOWN, column=0, sticky="w")
        self.enable(enabled)
        if items:
            self.grid()
        else:
            self.grid_remove()

    def enable(self, enabled: bool) -> None:
        """Resume and Delete only while no download or question is under way."""
        for button in (*self.resume_buttons, *self.delete_buttons):
            button.configure(state="normal" if enabled else "disabled")

    @property
    def lines(self) -> list[str]:
        """The descriptions on show (for tests and accessibility)."""
        return [describe(item) for item in self.items[:MAX_SHOWN]]
