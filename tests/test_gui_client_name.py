"""The client window's "Your name" field: asked once, remembered, and what the server records
(issue 11: the window sent the account's full name with no way to give another)."""

from __future__ import annotations

import os
import threading
import time
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from guikit import FakeDialogs, pump_until
from serverkit import Running, serving, write_file
from test_gui_client import config_dir as config_dir  # settings of the test's own

from core import settings
from core.gui import client_window as cw
from core.gui import prefs
from core.gui.client_window import ClientWindow
from core.gui.style import apply_style
from core.settings import load_settings

pytestmark = pytest.mark.gui

SMALL = b"hello world"
BIG_SIZE = 8 * 1024 * 1024  # long enough to be seen downloading


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The account's full name as the window looks it up; set ``account[0]``."""
    name: list[str | None] = ["Account Person"]
    monkeypatch.setattr(cw, "account_name", lambda: name[0])
    return name


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    folder = tmp_path / "offered"
    folder.mkdir()
    files = [write_file(folder, "test.txt", SMALL),
             write_file(folder, "big.bin", os.urandom(BIG_SIZE))]
    with serving(tmp_path, files, body_mode="copy", progress_interval=0.0) as server:
        yield server


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def make_window(master: tk.Misc, downloads: Path) -> ClientWindow:
    """A client window with the engine client the person gets (it is what sends the name)."""
    apply_style(master.winfo_toplevel())  # type: ignore[arg-type]
    window = ClientWindow(master, None, FakeDialogs(folders=[str(downloads)]))  # type: ignore[arg-type]
    window.download_panel.change_button.invoke()
    master.update()
    return window


def type_name(window: ClientWindow, text: str) -> None:
    window.connect_panel.name_entry.delete(0, "end")
    window.connect_panel.name_entry.insert(0, text)


def connect(root: tk.Misc, window: ClientWindow, running: Running) -> None:
    window.connect_panel.set_host(f"127.0.0.1:{running.port}")
    window.connect_panel.connect_button.invoke()
    pump_until(root, lambda: window.stage in (cw.READY, cw.DISCONNECTED), what="connect")
    assert window.stage == cw.READY, window.error


def decline(root: tk.Misc, window: ClientWindow, running: Running) -> dict[str, Any]:
    """Check test.txt, say No; the ledger's record of it."""
    window.file_panel.name_entry.delete(0, "end")
    window.file_panel.name_entry.insert(0, "test.txt")
    window.file_panel.check_button.invoke()
    pump_until(root, lambda: window.stage in (cw.ASKING, cw.READY), what="the answer")
    assert window.stage == cw.ASKING, window.error or window.file_panel.answer
    window.file_panel.no_button.invoke()
    pump_until(root, lambda: window.stage == cw.READY, what="the decline")
    running.wait_lines("did not download the file 'test.txt'")
    [record] = [r for r in running.ledger_records() if r["event"] == "declined"]
    return record


def test_the_field_starts_with_the_accounts_name_when_none_is_remembered(
        tk_root: tk.Tk, downloads: Path, account: list[str | None]) -> None:
    window = make_window(tk_root, downloads)
    assert window.connect_panel.name_entry.get() == "Account Person"
    hint = str(window.connect_panel.name_hint.cget("text"))
    assert hint == "Shown to the server; anyone can type any name."
    window.destroy()
    account[0] = None  # no full name on the account (or not Unix): the field is empty
    assert make_window(tk_root, downloads).connect_panel.name_entry.get() == ""


def test_the_remembered_name_wins_over_the_accounts(
        tk_root: tk.Tk, downloads: Path, account: list[str | None]) -> None:
    prefs.remember(client_display_name="Zoë Park")
    window = make_window(tk_root, downloads)
    assert window.connect_panel.name_entry.get() == "Zoë Park"
    window.destroy()
    prefs.remember(client_display_name="")  # the person chose to give none: kept so
    assert make_window(tk_root, downloads).connect_panel.name_entry.get() == ""


def test_display_name_reads_only_what_it_can_trust() -> None:
    assert prefs.display_name({}) is None
    assert prefs.display_name({prefs.CLIENT_NAME_KEY: 42}) is None
    assert prefs.display_name({prefs.CLIENT_NAME_KEY: "  Ana  "}) == "Ana"
    assert prefs.display_name({prefs.CLIENT_NAME_KEY: ""}) == ""
    assert prefs.display_name({prefs.CLIENT_NAME_KEY: "x" * 5000}) == "x" * 200


def test_a_typed_name_reaches_the_servers_ledger(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None]) -> None:
    window = make_window(tk_root, downloads)
    type_name(window, "  Zoë Park  ")
    connect(tk_root, window, running)
    record = decline(tk_root, window, running)
    assert record["name"] == "Zoë Park"
    assert f"('127.0.0.1', {record['port']}) \"Zoë Park\" did not download the file" \
        in record["text"]
    [line] = running.lines_with("did not download the file 'test.txt'")
    assert '"Zoë Park" did not download the file' in line


def test_the_name_is_remembered_for_the_next_window_and_written_only_when_it_changed(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[dict[str, Any]] = []

    def remember_quietly(**values: Any) -> None:
        writes.append(values)
        prefs.remember_quietly(**values)

    monkeypatch.setattr(cw, "remember_quietly", remember_quietly)
    first = tk.Toplevel(tk_root)
    window = make_window(first, downloads)
    type_name(window, "  Zoë Park ")
    connect(tk_root, window, running)
    connect(tk_root, window, running)  # the same name again: nothing new to write
    named = [w for w in writes if prefs.CLIENT_NAME_KEY in w]
    assert named == [{prefs.CLIENT_NAME_KEY: "Zoë Park"}]
    window.request_close()
    prefs._writer.settled()
    assert load_settings()[prefs.CLIENT_NAME_KEY] == "Zoë Park"

    account[0] = "Someone Else"
    second = tk.Toplevel(tk_root)
    again = make_window(second, downloads)
    assert again.connect_panel.name_entry.get() == "Zoë Park"
    second.destroy()


def test_an_empty_field_sends_no_name(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None]) -> None:
    window = make_window(tk_root, downloads)
    type_name(window, "   ")
    assert window.connect_panel.display_name is None
    connect(tk_root, window, running)
    record = decline(tk_root, window, running)
    assert record["name"] is None
    assert f"Client: ('127.0.0.1', {record['port']}) did not download" in record["text"]


def test_a_very_long_name_is_cut_and_still_recorded(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None]) -> None:
    """The protocol caps a name at 200 bytes and a server ignores a longer one: the window
    cuts it instead, so the person is still named in the ledger."""
    window = make_window(tk_root, downloads)
    type_name(window, "é" * 300)  # 600 bytes of UTF-8
    assert window.connect_panel.display_name == "é" * 200
    connect(tk_root, window, running)
    record = decline(tk_root, window, running)
    assert record["name"] is not None and record["name"].startswith("é" * 50)


def test_the_field_is_locked_while_downloading(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None]) -> None:
    window = make_window(tk_root, downloads)
    entry = window.connect_panel.name_entry
    assert entry.instate(["!disabled"])
    connect(tk_root, window, running)
    assert entry.instate(["!disabled"])  # a changed name is sent by the next Connect
    window.file_panel.name_entry.delete(0, "end")
    window.file_panel.name_entry.insert(0, "big.bin")
    window.file_panel.check_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="Download?")
    window.file_panel.yes_button.invoke()
    seen: set[tuple[str, bool]] = set()

    def look() -> bool:
        seen.add((window.stage, entry.instate(["disabled"])))
        return window.stage not in cw.BUSY

    look()  # at once: on a quick machine the download ends within the first pump
    pump_until(tk_root, look, timeout=30, what="the download")
    assert (cw.DOWNLOADING, True) in seen
    assert (cw.DOWNLOADING, False) not in seen
    assert (downloads / "big.bin").stat().st_size == BIG_SIZE, window.error
    assert entry.instate(["!disabled"])


def test_keyboard_enter_in_the_name_connects_and_ctrl_a_selects_it(
        tk_root: tk.Tk, running: Running, downloads: Path, account: list[str | None]) -> None:
    window = make_window(tk_root, downloads)
    panel = window.connect_panel
    assert panel.host_box.tk_focusNext() is panel.name_entry  # Tab: address, name, Connect
    assert panel.name_entry.tk_focusNext() is panel.connect_button
    panel.set_host(f"127.0.0.1:{running.port}")
    type_name(window, "Kim")
    tk_root.focus_force()
    panel.name_entry.focus_set()
    pump_until(tk_root, lambda: tk_root.focus_get() is panel.name_entry, what="name focus")
    panel.name_entry.event_generate("<Control-a>")
    tk_root.update()
    assert panel.name_entry.selection_present()
    assert panel.name_entry.index("sel.first") == 0
    assert panel.name_entry.index("sel.last") == len("Kim")
    panel.name_entry.event_generate("<Return>")
    pump_until(tk_root, lambda: window.stage == cw.READY, what="connected by Enter")
    assert decline(tk_root, window, running)["name"] == "Kim"


def test_the_quiet_writer_and_the_client_id_never_lose_each_others_write(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A window's first connect makes the client id (settings.client_id, on the Tk thread)
    while the quiet writer saves the name: each read-modify-write must see the other's."""
    loaded, original = threading.Event(), settings.load_settings

    def slow_load() -> dict[str, Any]:
        values = original()
        loaded.set()
        time.sleep(0.3)  # the writer has read the file and not yet saved it
        return values

    monkeypatch.setattr(prefs, "load_settings", slow_load)  # the writer's read only
    prefs.remember_quietly(**{prefs.CLIENT_NAME_KEY: "Zoë Park"})
    assert loaded.wait(10)
    made = settings.client_id()
    prefs._writer.settled()
    saved = original()
    assert saved.get(prefs.CLIENT_NAME_KEY) == "Zoë Park"
    assert saved.get(settings.CLIENT_ID_KEY) == made
