"""The client window's keyboard flow: y/Enter says yes, n/Escape says no, Escape cancels.

Bound on the toplevel, so the keys work wherever the focus is, except that y and n stay
letters while the focus is in a text field (a file may well be called "yes.txt").
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any, Protocol

from core.gui.client_stages import ASKING, DOWNLOADING

TEXT_ENTRIES = (tk.Entry, ttk.Entry, tk.Text, tk.Spinbox)  # ttk.Combobox is a ttk.Entry


class _YesButtonHolder(Protocol):
    @property
    def yes_button(self) -> ttk.Button:
        """The file panel's Yes button."""


class Window(Protocol):
    """What the keys need of the client window (a protocol: the window owns the keys, so
    importing the window here would be a cycle). Used on the Tk thread only."""

    @property
    def top(self) -> tk.Misc:
        """The window's toplevel, where the keys are bound."""

    @property
    def file_panel(self) -> _YesButtonHolder:
        """The panel with the Yes button."""

    @property
    def stage(self) -> str:
        """The window's stage (core.gui.client_stages)."""

    @property
    def alive(self) -> bool:
        """False once the window is closing."""

    def focus_get(self) -> tk.Misc | None:
        """The widget with the keyboard focus."""

    def yes(self) -> None:
        """Download the file asked about."""

    def no(self) -> None:
        """Decline it."""

    def cancel(self) -> None:
        """Stop the download."""


class KeyboardFlow:
    """Binds the window's keys and turns them into its yes/no/cancel actions."""

    def __init__(self, window: Window) -> None:
        self.window = window
        keys: dict[str, Callable[[tk.Event[Any]], str | None]] = {
            "<KeyPress-y>": self._yes, "<KeyPress-Y>": self._yes,
            "<KeyPress-n>": self._no, "<KeyPress-N>": self._no,
            "<Return>": self._return, "<KP_Enter>": self._return,
            "<Escape>": self._escape,
        }
        for sequence, handler in keys.items():
            window.top.bind(sequence, handler, add="+")

    def _live(self) -> bool:
        """Whether the window still exists (bindings outlive a destroyed frame)."""
        return self.window.alive

    def _typing(self) -> bool:
        """Whether the keyboard focus is in a text field (where y and n are letters)."""
        try:
            focus = self.window.focus_get()
        except (KeyError, tk.TclError):  # focus in a combobox's drop-down list
            return True
        return isinstance(focus, TEXT_ENTRIES)

    def _yes(self, _event: tk.Event[Any]) -> str | None:
        if not self._live() or self.window.stage != ASKING or self._typing():
            return None
        self.window.yes()
        return "break"

    def _no(self, _event: tk.Event[Any]) -> str | None:
        if not self._live() or self.window.stage != ASKING or self._typing():
            return None
        self.window.no()
        return "break"

    def _return(self, _event: tk.Event[Any]) -> str | None:
        """Enter presses the focused button; while asking, anything else means yes."""
        if not self._live() or self._typing():
            return None  # the address and name fields handle their own Enter
        focus = self.window.focus_get()
        if isinstance(focus, ttk.Button) and focus is not self.window.file_panel.yes_button:
            focus.invoke()
        elif self.window.stage == ASKING:
            self.window.yes()
        else:
            return None
        return "break"

    def _escape(self, _event: tk.Event[Any]) -> str | None:
        if not self._live():
            return None
        if self.window.stage == ASKING:
            self.window.no()
        elif self.window.stage == DOWNLOADING:
            self.window.cancel()
        else:
            return None
        return "break"
