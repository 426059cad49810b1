"""A small modal window to paste, type or load a list, one item a line (the roster's
expected people). Reached only through core.gui.dialogs.Dialogs, so tests never open it.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from core.gui.style import PAD, SMALL_PAD, bind_select_all, wrap_to_width

MAX_LOAD_BYTES = 1024 * 1024  # a list of names, not a book


class LinesDialog:
    """Modal: ``result`` is the lines on OK (blank ones dropped), None on Cancel/Escape."""

    def __init__(self, parent: tk.Misc, title: str, message: str, lines: list[str]) -> None:
        self.result: list[str] | None = None
        self.top = tk.Toplevel(parent)
        self.top.title(title)
        self.top.transient(parent.winfo_toplevel())
        frame = ttk.Frame(self.top, padding=PAD)
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, weight=1)
        frame.rowconfigure(1, weight=1)
        label = ttk.Label(frame, text=message, justify="left")
        label.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, SMALL_PAD))
        wrap_to_width(label)
        self.text = tk.Text(frame, width=40, height=14, wrap="none", undo=True)
        self.text.grid(row=1, column=0, sticky="nsew")
        bar = ttk.Scrollbar(frame, orient="vertical", command=self.text.yview)
        bar.grid(row=1, column=1, sticky="ns")
        self.text.configure(yscrollcommand=bar.set)
        self.text.insert("1.0", "\n".join(lines))
        bind_select_all(self.text)
        buttons = ttk.Frame(frame)
        buttons.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(PAD, 0))
        ttk.Button(buttons, text="Load a file…", command=self.load).pack(side="left")
        ttk.Button(buttons, text="Cancel", command=self.top.destroy).pack(side="right")
        ttk.Button(buttons, text="OK", command=self.ok).pack(side="right", padx=(0, SMALL_PAD))
        self.top.bind("<Escape>", lambda _e: self.top.destroy())
        self.text.focus_set()

    def load(self) -> None:
        """Replace the text with a text file's lines (a class list saved from anywhere)."""
        path = filedialog.askopenfilename(parent=self.top, title="A list of names")
        if not path:
            return
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_LOAD_BYTES)
        except OSError as error:
            self.text.delete("1.0", "end")
            self.text.insert("1.0", f"# Cannot read {Path(path).name}: {error.strerror}")
            return
        self.text.delete("1.0", "end")
        self.text.insert("1.0", data.decode("utf-8-sig", "replace"))

    def ok(self) -> None:
        """Keep the non-blank lines that are not # comments."""
        lines = self.text.get("1.0", "end").splitlines()
        self.result = [line for line in lines if line.strip() and not line.startswith("#")]
        self.top.destroy()

    def run(self) -> list[str] | None:
        """Show modally until closed."""
        self.top.grab_set()
        self.top.wait_window()
        return self.result
