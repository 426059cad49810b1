"""The one seam through which windows open dialogs or hand things to the desktop.

Windows receive a :class:`Dialogs` and never call tkinter's dialog modules themselves, so a
test passes a scripted stand-in and no real modal dialog can hang a run (as IDLE's
``askyesno`` method does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk
import webbrowser
from collections.abc import Callable
from tkinter import filedialog, messagebox

from core.gui.lines_dialog import LinesDialog
from core.gui.question_dialog import QuestionDialog


class Dialogs:
    """Real dialogs, parented to ``parent``. Main thread only."""

    def __init__(self, parent: tk.Misc) -> None:
        self.parent = parent

    def choose_file(self, title: str, initial_dir: str | None = None) -> str | None:
        """A file picker; None when cancelled."""
        path = filedialog.askopenfilename(parent=self.parent, title=title,
                                          initialdir=initial_dir or os.getcwd())
        return path or None

    def choose_files(self, title: str, initial_dir: str | None = None) -> list[str]:
        """A picker for one or more files; [] when cancelled."""
        paths = filedialog.askopenfilenames(parent=self.parent, title=title,
                                            initialdir=initial_dir or os.getcwd())
        return [str(path) for path in paths or ()]

    def choose_folder(self, title: str, initial_dir: str | None = None) -> str | None:
        """A folder picker; None when cancelled."""
        path = filedialog.askdirectory(parent=self.parent, title=title,
                                       initialdir=initial_dir or os.getcwd(), mustexist=True)
        return path or None

    def save_file(self, title: str, initial_name: str) -> str | None:
        """A save-as picker (it asks itself before replacing a file); None when cancelled."""
        path = filedialog.asksaveasfilename(parent=self.parent, title=title,
                                            initialfile=initial_name, confirmoverwrite=True)
        return path or None

    def edit_lines(self, title: str, message: str, lines: list[str]) -> list[str] | None:
        """A list to edit, paste or load, one item a line; None when cancelled."""
        return LinesDialog(self.parent, title, message, lines).run()

    def ask_yes_no(self, title: str, message: str,
                   moot: Callable[[], bool] | None = None) -> bool:
        """A yes/no question; True for yes. No is the default button: every question asked
        here stops something (issue 11: Enter said Yes to "Stop it and close?"). With
        ``moot``, the question closes itself, answering No, once ``moot()`` is true."""
        if moot is not None:
            return QuestionDialog(self.parent, title, message, moot).run()
        return bool(messagebox.askyesno(title, message, parent=self.parent,
                                        default=messagebox.NO))

    def show_error(self, title: str, message: str) -> None:
        """An error the person must see even when the window is busy."""
        messagebox.showerror(title, message, parent=self.parent)

    def open_path(self, path: str) -> None:
        """Open a file or folder with the platform's own program, without waiting for it."""
        if sys.platform.startswith("win"):
            os.startfile(path)  # type: ignore[attr-defined]  # Windows only
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        try:
            subprocess.Popen([opener, path], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            self.show_error("Cannot open", f"No program is set up to open {path}.")

    def open_url(self, url: str) -> None:
        """Open ``url`` in the person's web browser (the page every device can use)."""
        if not webbrowser.open_new_tab(url):
            self.show_error("Cannot open", f"No web browser is set up here; open {url} in"
                            " one.")

    def copy_text(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        self.parent.clipboard_clear()
        self.parent.clipboard_append(text)
