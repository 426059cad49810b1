"""Issue 11's "Done when", through real windows: ten client windows, each with the name
typed in its "Your name" field and all on one shared account (so one client id, as in a
lab), decline, download, cut and resume, and retry after a typo; the server window's People
tab then holds exactly ten rows with their best outcomes, the header counts them, "not yet"
shows who is missing, and a restarted server window shows the same roster.
"""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from guikit import FakeDialogs, pump_until

from core.gui import client_window as cw
from core.gui.client_window import ClientWindow
from core.gui.server_address_panel import Serving
from core.gui.server_window import ServerWindow
from core.gui.style import apply_style

pytestmark = pytest.mark.gui
FILE = "week-12.zip"
SIZE = 24 * 1024 * 1024  # more than loopback and the proxy buffer: a cut stays a cut
PLANS = {"Ana": "yes", "Ben": "yes", "Chloé": "yes", "Dmitri": "no", "Emma": "no",
         "Farah": "typo", "Grace": "typo", "Hiro": "cut", "Ivo": "cut-retry", "Jonas": "yes"}
HEADER = "7 of 10 have it · 0 downloading · 2 declined"


@pytest.fixture
def classroom(tk_root: tk.Tk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[dict[str, object]]:
    monkeypatch.setenv("FILECAST_CONFIG_DIR", str(tmp_path / "config"))  # one account
    apply_style(tk_root)
    offered = tmp_path / "offered" / FILE
    offered.parent.mkdir()
    offered.write_bytes(os.urandom(SIZE))
    made: dict[str, object] = {"offered": offered, "ledger": tmp_path / "Clients.txt",
                               "windows": []}
    yield made
    for window in made["windows"]:  # type: ignore[attr-defined]
        if isinstance(window, ServerWindow) and not window.closed:
            window.closed = True
            window.pump.stop()
            window._shut_down()
        elif isinstance(window, ClientWindow) and window.alive:
            if window.client is not None:
                window.client.cancel()
            window._leave()
            window.pump.stop()


def open_server(root: tk.Tk, made: dict[str, object]) -> ServerWindow:
    top = tk.Toplevel(root)
    server = ServerWindow(top, [str(made["offered"])], 0, str(made["ledger"]),
                          dialogs=FakeDialogs(), host="127.0.0.1")
    made["windows"].append(server)  # type: ignore[attr-defined]
    pump_until(root, lambda: server.address_panel.serving is Serving.SERVING
               and server.offer_panel.digest and server.people.loaded, 20, "serving")
    return server


def student(root: tk.Tk, made: dict[str, object], name: str, address: str,
            folder: Path) -> ClientWindow:
    """A client window as a student uses it: their name typed, the address, Connect."""
    window = ClientWindow(tk.Toplevel(root), None, FakeDialogs())
    made["windows"].append(window)  # type: ignore[attr-defined]
    window.folder = folder
    window.download_panel.set_folder(folder)
    window.connect_panel.set_name(name)
    window.connect_panel.set_host(address)
    window.connect_panel.connect_button.invoke()
    pump_until(root, lambda: window.stage == cw.READY, what=f"{name} connected")
    return window


def ask(root: tk.Tk, window: ClientWindow, typed: str) -> None:
    window.file_panel.set_name(typed)
    window.file_panel.check_button.invoke()
    pump_until(root, lambda: window.stage in (cw.ASKING, cw.READY) and
               window.file_panel.answer, what="the answer")


def done(root: tk.Tk, window: ClientWindow) -> None:
    pump_until(root, lambda: window.stage not in cw.BUSY, timeout=30, what="the download")


def follow(root: tk.Tk, window: ClientWindow, plan: str, proxy: FaultProxy) -> None:
    """One student's plan, through the window's own buttons."""
    if plan == "typo":
        ask(root, window, "week-21.zip")  # "File does not exist! Did you mean ...?"
        assert window.stage == cw.READY and "Did you mean" in window.file_panel.answer
        window.file_panel.check_button.invoke()  # the suggestion is in the field
        pump_until(root, lambda: window.stage == cw.ASKING, what="asked again")
    else:
        ask(root, window, FILE)
    if plan == "no":
        window.file_panel.no_button.invoke()
        pump_until(root, lambda: window.stage == cw.READY, what="the decline")
        return
    window.file_panel.yes_button.invoke()
    if plan.startswith("cut"):
        bar = window.download_panel.progress_bar
        pump_until(root, lambda: float(bar.cget("value")) > SIZE / 10, what="part of it")
        window.download_panel.cancel_button.invoke()
        done(root, window)
        if plan == "cut-retry":
            proxy.knobs.rate = 0.0  # full speed for the resume
            window.download_panel.retry_button.invoke()
    done(root, window)


def test_ten_named_client_windows_make_ten_roster_rows_that_survive_a_restart(
        tk_root: tk.Tk, tmp_path: Path, classroom: dict[str, object]) -> None:
    server = open_server(tk_root, classroom)
    assert server.server is not None
    with FaultProxy(server.server.port) as proxy:
        for name, plan in PLANS.items():
            proxy.knobs.rate = 2 * 1024 * 1024 if plan.startswith("cut") else 0.0
            address = f"127.0.0.1:{proxy.port}" if plan.startswith("cut") \
                else f"127.0.0.1:{server.server.port}"
            window = student(tk_root, classroom, name, address, tmp_path / "dl" / name)
            (tmp_path / "dl" / name).mkdir(parents=True)
            follow(tk_root, window, plan, proxy)
            window.disconnect()
        panel = server.people.panel
        try:
            pump_until(tk_root, lambda: panel.header.cget("text") == HEADER
                       and "verified" in panel.column_of("Ivo", "outcome")
                       and not any(r.now for r in panel.visible()), 40, "the roster settled")
        except AssertionError:  # say what the roster shows instead
            shown = [(r.name, r.outcome, r.now) for r in panel.visible()]
            raise AssertionError(f"{panel.header.cget('text')}: {shown}") from None
    before = [(r.name, r.outcome, r.visits) for r in panel.visible()]
    assert [name for name, _o, _v in before] == sorted(PLANS, key=str.casefold)
    outcome = dict((name, said) for name, said, _v in before)
    assert outcome["Ana"] == outcome["Farah"] == outcome["Ivo"] == "has it, verified"
    assert outcome["Dmitri"] == "declined" and outcome["Hiro"].startswith("has ")
    panel.not_yet_check.invoke()
    assert panel.shown_names() == ["Dmitri", "Emma", "Hiro"]
    panel.not_yet_check.invoke()

    server.close()
    pump_until(tk_root, lambda: server.closed, what="the server window closed")
    again = open_server(tk_root, classroom)
    after = again.people.panel
    pump_until(tk_root, lambda: after.header.cget("text") == HEADER, what="the same header")
    assert [(r.name, r.outcome, r.visits) for r in after.visible()] == before
