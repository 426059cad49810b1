"""The server window's activity log: the original program's lines, timestamped, read-only.

The text of each line comes from :meth:`core.activity.ServerPrinter.line_for` (one source for
those sentences); this panel only stamps, colours, caps and scrolls them.
"""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Callable, Iterable
from pathlib import Path
from tkinter import ttk

from core.gui.dialogs import Dialogs
from core.gui.style import BAD, MUTED, PAD, SMALL_PAD, mono_font

MAX_LINES = 5000
MAX_LINE_CHARS = 300
STAMP_WIDTH = len("HH:MM:SS  ")


def shorten(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """Cut an overlong line in the middle, keeping its end ("…, which does not exist")."""
    if len(line) <= limit:
        return line
    tail = limit // 4
    return line[: limit - tail - 1] + "…" + line[-tail:]


def stamp_lines(text: str, when: float) -> str:
    """``HH:MM:SS  first line`` with any further lines indented under it."""
    stamp = time.strftime("%H:%M:%S", time.localtime(when))
    lines = [shorten(part) for part in text.split("\n")]
    indent = "\n" + " " * STAMP_WIDTH
    return f"{stamp}  " + indent.join(lines)


class LogPanel(ttk.Frame):
    """A read-only monospace Text with a scrollbar, capped to the last MAX_LINES lines."""

    def __init__(self, master: tk.Misc, *, on_open_ledger: Callable[[], None],
                 on_open_folder: Callable[[], None], max_lines: int = MAX_LINES) -> None:
        super().__init__(master)
        self.max_lines = max_lines
        self.columnconfigure(0, weight=1)
        self.rowconfigure(1, weight=1)

        header = ttk.Frame(self)
        header.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(PAD, SMALL_PAD))
        header.columnconfigure(1, weight=1)
        ttk.Label(header, text="Activity", style="Heading.TLabel").grid(row=0, column=0)
        self.ledger_label = ttk.Label(header, text="", style="Muted.TLabel")
        self.ledger_label.grid(row=0, column=1, sticky="w", padx=(PAD, 0))
        self.open_ledger_button = ttk.Button(header, text="Open ledger",
                                             command=on_open_ledger)
        self.open_ledger_button.grid(row=0, column=2, padx=(PAD, 0))
        self.open_folder_button = ttk.Button(header, text="Open folder",
                                             command=on_open_folder)
        self.open_folder_button.grid(row=0, column=3, padx=(SMALL_PAD, 0))

        self.text = tk.Text(self, height=4, wrap="word", font=mono_font(), state="disabled",
                            relief="flat", borderwidth=0, highlightthickness=1,
                            padx=SMALL_PAD, pady=SMALL_PAD, undo=False,
                            background="#ffffff", foreground="#202124",
                            highlightbackground="#b8b6b0", highlightcolor="#4a6984",
                            selectbackground="#c6dbf2", selectforeground="#202124",
                            inactiveselectbackground="#dfe7f0")
        indent = mono_font().measure(" " * STAMP_WIDTH)
        self.text.tag_configure("stamp", foreground=MUTED)
        self.text.tag_configure("body", lmargin2=indent)  # wrapped lines hang under the text
        self.text.tag_configure("error", foreground=BAD)
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.text.yview)
        self.text.configure(yscrollcommand=self.scrollbar.set)
        self.text.grid(row=1, column=0, sticky="nsew")
        self.scrollbar.grid(row=1, column=1, sticky="ns")
        # Read-only, yet selectable and copyable: a disabled Text still takes the mouse
        # selection; give it keyboard focus on click so Ctrl+C works too.
        self.text.bind("<Button-1>", lambda _e: self.text.focus_set(), add=True)

    def show_ledger(self, path: str) -> None:
        """Name the ledger file next to the heading."""
        self.ledger_label.configure(text=f"Ledger: {path}")

    def add(self, entries: Iterable[tuple[float, str]]) -> None:
        """Append ``(time, text)`` entries in one edit; keep only the last max_lines lines."""
        entries = list(entries)
        if not entries:
            return
        follow = self._at_end()
        self.text.configure(state="normal")
        try:
            # One insert for the whole batch (text, tags, text, tags...): each Tcl call
            # waits for the GIL when hundreds of engine threads run (see ClientsPanel).
            parts: list[str | tuple[str, ...]] = []
            for when, line in entries:
                stamped = stamp_lines(line, when)
                tag = "error" if line.startswith("Error:") else ""
                parts += [stamped[:8], ("stamp",),
                          stamped[8:] + "\n", ("body", tag) if tag else ("body",)]
            self.text.insert("end", "", (), *parts)
            lines = int(self.text.index("end-1c").split(".")[0]) - 1
            if lines > self.max_lines:
                self.text.delete("1.0", f"{lines - self.max_lines + 1}.0")
        finally:
            self.text.configure(state="disabled")
        if follow:
            self.text.see("end")

    def _at_end(self) -> bool:
        """Whether the newest line is in view (then new lines keep it so). yview's fractions
        are estimates while Tk measures wrapped lines, so the last line's box decides."""
        if not self.text.winfo_viewable():
            return True
        return self.text.bbox("end-1c") is not None or self.text.yview()[1] >= 0.999

    @property
    def content(self) -> str:
        """Everything on show (for tests)."""
        return str(self.text.get("1.0", "end-1c"))

    @property
    def line_count(self) -> int:
        """How many lines are kept."""
        return int(self.text.index("end-1c").split(".")[0]) - 1


def open_ledger(path: Path, dialogs: Dialogs, note: Callable[[str], None]) -> None:
    """Open Clients.txt with the desktop's program, or say when it is not made yet."""
    if not path.exists():
        note("The ledger is created when serving starts.")
        return
    dialogs.open_path(str(path))


def open_folder_of(path: Path, dialogs: Dialogs, note: Callable[[str], None]) -> None:
    """Open the folder holding the ledger, or say it does not exist yet."""
    folder = path.parent
    if not folder.is_dir():
        note(f"{folder} does not exist yet; it is created when serving starts.")
        return
    dialogs.open_path(str(folder))
