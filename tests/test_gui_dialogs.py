"""The real dialog seam (core/gui/dialogs.py): what it asks Tk for. Tk's own dialogs are
replaced here, so no modal dialog can hang the run."""

from __future__ import annotations

import tkinter as tk
from tkinter import messagebox
from typing import Any

import pytest

from core.gui.dialogs import Dialogs


def test_a_yes_no_question_defaults_to_the_safe_answer(
        tk_root: tk.Tk, monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 11: Enter on "Stop it and close?" said Yes, the destructive answer."""
    asked: list[dict[str, Any]] = []

    def askyesno(title: str, message: str, **options: Any) -> bool:
        asked.append(options)
        return False

    monkeypatch.setattr(messagebox, "askyesno", askyesno)
    assert Dialogs(tk_root).ask_yes_no("Stop serving?", "Stop serving and close?") is False
    assert asked[0]["default"] == messagebox.NO and asked[0]["parent"] is tk_root
