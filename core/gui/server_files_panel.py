"""The server window's "Files" tab (issue 12): every offered file with its size and its
SHA-256 (or how far hashing got), the total, and Remove for the selected ones.

A pure view of OfferedFileView lists; the window hands in the whole offer when it changes
(at most a few times a second while a folder is hashed) and the panel copies only what
changed into Tk.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import font as tkfont
from tkinter import ttk

from core.events import OfferedFileView
from core.gui.style import PAD, SMALL_PAD, clip_name
from core.wire.units import human_size

COLUMNS = (("name", "Name", 40, True), ("size", "Size", 10, False),
           ("sha256", "SHA-256", 30, True))


def total_text(files: Sequence[OfferedFileView]) -> str:
    """``120 files, 48.0 MB · 118 hashed``: the offer at a glance."""
    count = "1 file" if len(files) == 1 else f"{len(files):,} files"
    hashed = sum(1 for f in files if f.sha256)
    waiting = "" if hashed == len(files) else f" · SHA-256 of {hashed:,} computed so far"
    return f"{count}, {human_size(sum(f.size for f in files))}{waiting}"


class FilesPanel(ttk.Frame):
    """The offered files, one row each (keyed by name), and Remove."""

    def __init__(self, master: tk.Misc, *, on_remove: Callable[[list[str]], None]) -> None:
        super().__init__(master, padding=(0, SMALL_PAD, 0, 0))
        self.columnconfigure(0, weight=1)
        self.rowconfigure(1, weight=1)
        self._on_remove = on_remove
        self._rows: dict[str, tuple[str, str, str]] = {}  # name -> values on show
        self._iids: dict[str, str] = {}  # name -> opaque item id (names are any text)
        self._made = 0  # item ids handed out
        top = ttk.Frame(self)
        top.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, SMALL_PAD))
        self.total = ttk.Label(top, text="Nothing offered yet", style="Heading.TLabel")
        self.total.pack(side="left")
        self.remove_button = ttk.Button(top, text="Remove", command=self._remove)
        self.remove_button.pack(side="right")
        char = tkfont.nametofont("TkDefaultFont").measure("0")
        self.tree = ttk.Treeview(self, columns=[c[0] for c in COLUMNS], show="headings",
                                 selectmode="extended", height=6)
        for name, title, chars, stretch in COLUMNS:
            self.tree.heading(name, text=title, anchor="w")
            self.tree.column(name, width=chars * char, minwidth=6 * char, stretch=stretch,
                             anchor="w")
        bar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.grid(row=1, column=0, sticky="nsew")
        bar.grid(row=1, column=1, sticky="ns")
        self.hint = ttk.Label(self, text="Select files and press Remove to stop offering"
                              " them; a download already under way finishes.",
                              style="Muted.TLabel")
        self.hint.grid(row=2, column=0, columnspan=2, sticky="w", pady=(SMALL_PAD, PAD))

    def show(self, files: Sequence[OfferedFileView]) -> None:
        """The whole offer, in its order."""
        self.total.configure(text=total_text(files) if files else "Nothing offered yet")
        wanted = {f.name: (clip_name(f.name, 90), human_size(f.size),
                           f.sha256 or "computing…") for f in files}
        gone = [name for name in self._rows if name not in wanted]
        if gone:
            self.tree.delete(*(self._iids.pop(name) for name in gone))
        for name in gone:
            del self._rows[name]
        for name, values in wanted.items():
            if self._rows.get(name) == values:
                continue
            if name in self._rows:
                self.tree.item(self._iids[name], values=values)
            else:
                self._made += 1
                iid = self._iids[name] = f"f{self._made}"
                self.tree.insert("", "end", iid=iid, values=values)
            self._rows[name] = values
        order = [self._iids[f.name] for f in files]
        if list(self.tree.get_children()) != order:
            self.tree.set_children("", *order)

    def selected_names(self) -> list[str]:
        """The names of the selected rows."""
        by_iid = {iid: name for name, iid in self._iids.items()}
        return [by_iid[iid] for iid in self.tree.selection() if iid in by_iid]

    def select(self, names: Sequence[str]) -> None:
        """Select rows by name (for tests and keyboard users)."""
        self.tree.selection_set([self._iids[name] for name in names if name in self._iids])

    def _remove(self) -> None:
        names = self.selected_names()
        if names:
            self._on_remove(names)

    def shown_names(self) -> list[str]:
        """The Name column top to bottom."""
        return [str(self.tree.set(iid, "name")) for iid in self.tree.get_children()]
