"""Helpers for tests that drive real Tk windows under pytest-xvfb.

Guards the pitfalls in ../shared/GUI-TESTING.md: exceptions inside Tk callbacks fail the
test; a real modal dialog fails at once instead of hanging; waits are bounded pump loops.
"""

from __future__ import annotations

import gc
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from core.gui.pump import COLLECTOR

REAL_DIALOG_COMMANDS = ("tk_getOpenFile", "tk_getSaveFile", "tk_chooseDirectory",
                        "tk_messageBox", "tk_chooseColor", "tk_dialog")


@pytest.fixture
def tk_root() -> Iterator[tk.Tk]:
    """A fresh, mapped Tk root whose callback exceptions fail the test."""
    root = tk.Tk()
    errors: list[BaseException] = []

    def report(exc_type: type[BaseException], exc: BaseException, tb: object) -> None:
        errors.append(exc)

    root.report_callback_exception = report  # type: ignore[assignment]
    for command in REAL_DIALOG_COMMANDS:
        root.tk.eval(f'proc ::{command} args {{error "real dialog {command} opened in a test"}}')
    root.geometry("+0+0")
    root.update()
    yield root
    try:
        root.update()
        root.destroy()
    except tk.TclError:
        pass
    # Windows are reference cycles that hold the Tcl interpreter. Collect them here, on the
    # main thread: collected later by a worker thread, the interpreter is freed there and
    # Tcl aborts the process ("Tcl_AsyncDelete: async handler deleted by the wrong thread").
    gc.collect()
    COLLECTOR.reset()  # windows not closed left their pumps' collector on
    if errors:
        raise AssertionError(f"exception inside a Tk callback: {errors[0]!r}") from errors[0]


def pump_until(root: tk.Misc, condition: Callable[[], object], timeout: float = 10.0,
               what: str = "condition") -> None:
    """Run the Tk event loop until ``condition()`` is truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        root.update()
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def pump_for(root: tk.Misc, seconds: float) -> None:
    """Keep the window alive for a while (to prove nothing happens)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.005)


@dataclass
class FakeDialogs:
    """A scripted stand-in for core.gui.dialogs.Dialogs; records every call."""

    files: list[str | None] = field(default_factory=list)
    folders: list[str | None] = field(default_factory=list)
    answers: list[bool] = field(default_factory=list)
    saves: list[str | None] = field(default_factory=list)
    line_edits: list[list[str] | None] = field(default_factory=list)
    moots: list[Callable[[], bool] | None] = field(default_factory=list)  # of each question
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    clipboard: str = ""

    def choose_file(self, title: str, initial_dir: str | None = None) -> str | None:
        self.calls.append(("choose_file", (title,)))
        return self.files.pop(0) if self.files else None

    def choose_files(self, title: str, initial_dir: str | None = None) -> list[str]:
        """The window's multi-file picker: takes its answer from ``files`` as choose_file."""
        self.calls.append(("choose_file", (title,)))
        picked = self.files.pop(0) if self.files else None
        return [picked] if picked else []

    def choose_folder(self, title: str, initial_dir: str | None = None) -> str | None:
        self.calls.append(("choose_folder", (title,)))
        return self.folders.pop(0) if self.folders else None

    def save_file(self, title: str, initial_name: str) -> str | None:
        self.calls.append(("save_file", (title, initial_name)))
        return self.saves.pop(0) if self.saves else None

    def edit_lines(self, title: str, message: str, lines: list[str]) -> list[str] | None:
        self.calls.append(("edit_lines", (title, message, list(lines))))
        return self.line_edits.pop(0) if self.line_edits else None

    def ask_yes_no(self, title: str, message: str,
                   moot: Callable[[], bool] | None = None) -> bool:
        self.calls.append(("ask_yes_no", (title, message)))
        self.moots.append(moot)
        return self.answers.pop(0) if self.answers else False

    def show_error(self, title: str, message: str) -> None:
        self.calls.append(("show_error", (title, message)))

    def open_path(self, path: str) -> None:
        self.calls.append(("open_path", (path,)))

    def copy_text(self, text: str) -> None:
        self.calls.append(("copy_text", (text,)))
        self.clipboard = text

    def open_url(self, url: str) -> None:
        self.calls.append(("open_url", (url,)))

    def called(self, name: str) -> list[tuple[object, ...]]:
        """The arguments of every call to ``name``."""
        return [args for call, args in self.calls if call == name]
