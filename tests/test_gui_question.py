"""Questions that go away when their reason does, default to No and keep the focus (issue
11: "Still downloading. Stop it and close?" stayed up after the download finished, and
Enter then re-checked the file behind it).
"""

from __future__ import annotations

import time
import tkinter as tk
from pathlib import Path

from guikit import FakeDialogs, pump_until
from test_gui_client import Served, finished, make_window, start_held_download
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_client import downloads as downloads
from test_gui_client import offered as offered
from test_gui_client import served as served

from core.gui import client_window as cw
from core.gui.question_dialog import QuestionDialog
from core.gui.style import apply_style


def ask(root: tk.Tk, then: str, moot: list[bool]) -> tuple[bool, float]:
    """Open a real question and, 0.3 s later, do ``then`` to it; its answer and how long."""
    apply_style(root)
    dialog = QuestionDialog(root, "Stop the download?", "Still downloading. Stop it?",
                            moot=lambda: moot[0])
    def key(name: str) -> None:
        dialog.no_button.focus_force()  # where the dialog put it; forced: Xvfb has no WM
        dialog.top.update()
        dialog.no_button.event_generate(name)

    actions = {"moot": lambda: moot.__setitem__(0, True),
               "enter": lambda: key("<Return>"),
               "escape": lambda: key("<Escape>"),
               "yes": dialog.yes_button.invoke}
    root.after(300, actions[then])
    root.after(3000, lambda: moot.__setitem__(0, True))  # never hang a run: a late No
    started = time.monotonic()
    answer = dialog.run()
    return answer, time.monotonic() - started


def test_a_question_whose_reason_ended_closes_itself_answering_no(tk_root: tk.Tk) -> None:
    answer, took = ask(tk_root, "moot", [False])
    assert answer is False and took < 2.0


def test_enter_and_escape_say_no_and_only_yes_says_yes(tk_root: tk.Tk) -> None:
    for key in ("enter", "escape"):
        answer, took = ask(tk_root, key, [False])
        assert answer is False and took < 2.0, key  # answered by the key, not the timer
    assert ask(tk_root, "yes", [False])[0] is True


def test_a_question_already_moot_is_never_shown(tk_root: tk.Tk) -> None:
    apply_style(tk_root)
    dialog = QuestionDialog(tk_root, "t", "m", moot=lambda: True)
    assert dialog.run() is False
    assert not dialog.top.winfo_exists()


def test_the_client_windows_close_question_ends_with_the_download(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    top = tk.Toplevel(tk_root)
    dialogs = FakeDialogs(answers=[False])
    window = make_window(top, downloads, dialogs=dialogs)
    from test_gui_client import connect
    connect(tk_root, window, served.address)
    start_held_download(tk_root, window, served)
    window.request_close()
    [moot] = dialogs.moots
    assert moot is not None and not moot()  # still downloading: the question stands
    served.gate.release()
    pump_until(tk_root, lambda: finished(window), what="the download to finish")
    assert window.stage == cw.READY
    assert moot()  # finished: the question would close itself
    assert top.winfo_exists()  # and the window stays, showing how it ended
    top.destroy()
