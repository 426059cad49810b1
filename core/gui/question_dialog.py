"""A yes/no question that goes away by itself when its reason does (issue 11).

"Still downloading. Stop it and close?" once stayed up after the download had finished,
and the finish moved focus back to the window, so Enter re-checked the file behind it. This
question polls ``moot()`` and closes itself (answering No, the safe answer) as soon as it
is true; No is the default and keeps the focus; Escape and the close button say No too.
Reached only through core.gui.dialogs.Dialogs, so tests never open it by accident.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from core.gui.style import PAD, SMALL_PAD

POLL_MS = 200  # how soon a moot question goes: well under a person's reaction time


class QuestionDialog:
    """Modal: ``run()`` is True for Yes; False for No, Escape, closing it, or moot."""

    def __init__(self, parent: tk.Misc, title: str, message: str,
                 moot: Callable[[], bool]) -> None:
        self.result = False
        self.moot = moot
        self._job: str | None = None
        self.top = tk.Toplevel(parent)
        self.top.title(title)
        self.top.transient(parent.winfo_toplevel())
        self.top.resizable(False, False)
        frame = ttk.Frame(self.top, padding=PAD * 2)
        frame.pack(fill="both", expand=True)
        self.message = ttk.Label(frame, text=message, wraplength=420, justify="left")
        self.message.pack(fill="x", pady=(0, PAD * 2))
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x")
        self.no_button = ttk.Button(buttons, text="No", underline=0, default="active",
                                    command=self._close)
        self.no_button.pack(side="right")
        self.yes_button = ttk.Button(buttons, text="Yes", underline=0, command=self._yes)
        self.yes_button.pack(side="right", padx=(0, SMALL_PAD))
        self.top.protocol("WM_DELETE_WINDOW", self._close)
        self.top.bind("<Escape>", lambda _e: self._close())
        self.top.bind("<Return>", self._enter)
        self.top.bind("<KP_Enter>", self._enter)
        self._job = self.top.after(POLL_MS, self._poll)

    def _enter(self, _event: tk.Event[tk.Misc]) -> str:
        """Enter presses the focused button (No unless the person moved to Yes)."""
        focused = self.top.focus_get()
        if focused is self.yes_button:
            self._yes()
        else:
            self._close()
        return "break"

    def _yes(self) -> None:
        self.result = True
        self._close()

    def _poll(self) -> None:
        """Close, answering No, once the reason for asking is gone."""
        self._job = None
        if self.moot():
            self._close()
        else:
            self._job = self.top.after(POLL_MS, self._poll)

    def _close(self) -> None:
        if self._job is not None:
            self.top.after_cancel(self._job)
            self._job = None
        self.top.destroy()

    def run(self) -> bool:
        """Show modally until answered or moot; the answer."""
        if self.moot():
            self._close()
            return False
        try:
            # Over a minimized window the question may never be mapped; if it goes moot
            # meanwhile, the poll destroys it and the waits end with a TclError: No.
            self.top.wait_visibility()
            self.top.grab_set()
            self.no_button.focus_set()
            self.top.wait_window()
        except tk.TclError:
            self._close_quietly()
        return self.result

    def _close_quietly(self) -> None:
        """Make sure the question is gone (it may be already)."""
        if self._job is not None:
            with contextlib.suppress(tk.TclError):
                self.top.after_cancel(self._job)
            self._job = None
        with contextlib.suppress(tk.TclError):
            self.top.destroy()
