"""The server window, driven like a person would, against the real engine on 127.0.0.1.

Every wait is a bounded pump loop (guikit.pump_until); dialogs are FakeDialogs; settings live
in tmp_path (FILECAST_CONFIG_DIR), the ledger too.
"""

from __future__ import annotations

import gc
import hashlib
import http.client
import json
import os
import re
import socket
import threading
import tkinter as tk
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from guikit import FakeDialogs, pump_until
from serverkit import Reader

from core.client.visit import FilecastClient
from core.errors import NotOfferedError
from core.events import ConnectionsShed, HashProgress, OfferChanged, OfferedFileView
from core.gui.prefs import PORT_KEY, saved_port
from core.gui.server_address_panel import Serving
from core.gui.server_log_panel import LogPanel
from core.gui.server_model import Row
from core.gui.server_offer_panel import EMPTY_TEXT
from core.gui.server_window import ServerWindow
from core.gui.style import apply_style
from core.server.floodgate import FLOOD_BUDGET
from core.settings import load_settings

pytestmark = pytest.mark.gui
T = TypeVar("T")
ENGINE_THREADS = ("filecast-accept", "filecast-client-", "filecast-offer")


def engine_threads() -> list[threading.Thread]:
    """The engine's own threads still alive (not the window's short-lived job threads)."""
    return [t for t in threading.enumerate()
            if t.is_alive() and t.name.startswith(ENGINE_THREADS)]


class Harness:
    """Opens server windows on tk_root (or a Toplevel of it) and cleans up after them."""

    def __init__(self, root: tk.Tk, tmp_path: Path) -> None:
        self.root = root
        self.tmp = tmp_path
        self.windows: list[ServerWindow] = []
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-client")
        self.ledger = tmp_path / "ledger" / "Clients.txt"

    def file(self, name: str = "test.txt", data: bytes = b"hello world") -> Path:
        path = self.tmp / name
        path.write_bytes(data)
        return path

    def open(self, files: list[Path] | None = None, *, port: int | None = 0,
             dialogs: FakeDialogs | None = None, toplevel: bool = False) -> ServerWindow:
        master: tk.Misc = tk.Toplevel(self.root) if toplevel else self.root
        window = ServerWindow(master, [str(f) for f in files or []], port, str(self.ledger),
                              dialogs=dialogs or FakeDialogs(), host="127.0.0.1")
        self.windows.append(window)
        return window

    def serving(self, window: ServerWindow) -> int:
        """Wait until the window serves and its digest is on show; the port."""
        pump_until(self.root, lambda: window.address_panel.serving is Serving.SERVING
                   and window.address_panel.toggle_button.instate(["!disabled"]),
                   what="serving")
        pump_until(self.root, lambda: not window.offer_panel.hashing
                   and window.offer.state.files
                   and all(f.sha256 for f in window.offer.state.files)
                   and (window.offer_panel.digest or len(window.offer.state.files) > 1),
                   what="the digest")
        assert window.server is not None
        return window.server.port

    def run(self, fn: Callable[[], T], timeout: float = 15.0) -> T:
        """Run a blocking client call in a thread while the window keeps pumping."""
        future: Future[T] = self.pool.submit(fn)
        pump_until(self.root, future.done, timeout, what=f"{fn!r}")
        return future.result()

    def close(self) -> None:
        for window in self.windows:
            if not window.closed:
                window.closed = True
                window.pump.stop()
                window._shut_down()
        self.pool.shutdown(wait=True)
        self.windows.clear()
        gc.collect()  # on the main thread: see tests/guikit.py


@pytest.fixture
def harness(tk_root: tk.Tk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("FILECAST_CONFIG_DIR", str(tmp_path / "config"))
    apply_style(tk_root)
    h = Harness(tk_root, tmp_path)
    yield h
    h.close()


def get_json(port: int, path: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200
        body: dict[str, Any] = json.loads(resp.read())
        return body
    finally:
        conn.close()


def row_named(window: ServerWindow, name: str) -> tuple[int, Row]:
    matches = [(k, r) for k, r in window.table.rows.items() if r.client.name == name]
    assert len(matches) == 1, [r.who for r in window.table.rows.values()]
    return matches[0]


# --- choosing the file ---------------------------------------------------------------


def test_without_a_file_the_picker_opens_and_cancel_shows_the_choose_state(
        harness: Harness) -> None:
    dialogs = FakeDialogs(files=[None])
    window = harness.open(dialogs=dialogs)
    pump_until(harness.root, lambda: dialogs.called("choose_file"), what="the picker")
    harness.root.update()
    panel = window.offer_panel
    assert panel.is_empty and panel.empty_label.winfo_ismapped()
    assert panel.empty_label.cget("text") == EMPTY_TEXT
    assert panel.empty_button.winfo_ismapped()
    assert window.top.title() == "Filecast Server"
    assert window.server is None and window.address_panel.serving is Serving.NO_FILE

    path = harness.file("test.txt", b"hello world")
    dialogs.files.append(str(path))
    panel.empty_button.invoke()
    port = harness.serving(window)
    assert port > 0
    urls = [str(label.cget("text")) for label in window.address_panel.url_labels]
    assert f"http://127.0.0.1:{port}/" in urls
    assert window.top.title() == "Filecast Server — test.txt"
    assert not panel.is_empty


def test_the_offer_panel_shows_name_sizes_and_digest(harness: Harness) -> None:
    data = os.urandom(1_234_567)
    window = harness.open([harness.file("big.bin", data)])
    harness.serving(window)
    panel = window.offer_panel
    assert panel.name_label.cget("text") == "big.bin"
    assert panel.size_label.cget("text") == "1.2 MB (1,234,567 bytes)"
    assert panel.digest == hashlib.sha256(data).hexdigest()
    assert str(panel.digest_entry.cget("state")) == "readonly"
    assert "Offering 'big.bin' (1,234,567 bytes), SHA-256" in window.log_panel.content


def test_a_determinate_bar_shows_hashing_progress(harness: Harness) -> None:
    window = harness.open(dialogs=FakeDialogs(files=[None]))
    pump_until(harness.root, lambda: window.offer_panel.is_empty, what="the empty state")
    view = OfferedFileView("huge.iso", "/x/huge.iso", 4_000_000_000, None, '"e"', 0.0)
    window.pump.on_event(OfferChanged((view,)))  # what the engine says while hashing
    window.pump.on_event(HashProgress("huge.iso", 1_000_000_000, 4_000_000_000))
    panel = window.offer_panel
    pump_until(harness.root, lambda: panel.hashing and panel.hash_bar.winfo_ismapped(),
               what="the bar")
    assert float(panel.hash_bar.cget("value")) == pytest.approx(0.25)
    assert panel.hash_label.cget("text") == "Computing SHA-256… 25% of 4.0 GB"
    assert not panel.digest_entry.winfo_ismapped()
    assert panel.size_label.cget("text") == "4.0 GB (4,000,000,000 bytes)"
    done = OfferedFileView("huge.iso", "/x/huge.iso", 4_000_000_000, "ab" * 32, '"e"', 0.0)
    window.pump.on_event(HashProgress("huge.iso", 4_000_000_000, 4_000_000_000))
    window.pump.on_event(OfferChanged((done,)))
    pump_until(harness.root, lambda: not panel.hashing and panel.digest_entry.winfo_ismapped(),
               what="the digest")
    assert panel.digest == "ab" * 32


def test_a_file_that_cannot_be_offered_is_a_sentence(harness: Harness) -> None:
    empty = harness.tmp / "empty"
    empty.mkdir()
    dialogs = FakeDialogs(files=[str(empty)])
    window = harness.open(dialogs=dialogs)
    pump_until(harness.root, lambda: window.offer_panel.empty_error.cget("text"),
               what="the error")
    assert "the folder holds no file to offer" in window.offer_panel.empty_error.cget("text")
    assert window.offer_panel.is_empty and window.server is None


def test_editing_the_message_changes_what_clients_are_told(harness: Harness) -> None:
    window = harness.open([harness.file("test.txt")])
    port = harness.serving(window)
    entry = window.offer_panel.message_entry
    default = "Enter 'test.txt' when prompted to download the document..."
    assert window.offer_panel.message == default
    assert get_json(port, "/api/v1/offer")["message"] == default

    entry.focus_force()
    entry.delete(0, "end")
    entry.insert(0, "Take the worksheet for Monday")
    entry.event_generate("<Return>")
    pump_until(harness.root, lambda: window.offer.state.message.startswith("Take"))
    assert get_json(port, "/api/v1/offer")["message"] == "Take the worksheet for Monday"

    entry.delete(0, "end")  # empty restores the default, applied on focus-out
    window.address_panel.port_spin.focus_force()
    pump_until(harness.root, lambda: window.offer.state.message == default,
               what="the default message")
    pump_until(harness.root, lambda: window.offer_panel.message == default)
    assert get_json(port, "/api/v1/offer")["message"] == default


# --- clients -------------------------------------------------------------------------


def test_clients_download_decline_and_ask_for_a_missing_file(harness: Harness) -> None:
    data = os.urandom(300_000)
    window = harness.open([harness.file("notes.pdf", data)])
    port = harness.serving(window)
    out = harness.tmp / "downloads"
    out.mkdir()

    def visit(name: str, action: str) -> object:
        with FilecastClient("127.0.0.1", port, client_id=f"id-{name}-1234", name=name) as c:
            c.connect()
            if action == "missing":
                with pytest.raises(NotOfferedError):
                    c.check("nope.txt")
                return None
            c.check("notes.pdf")
            if action == "decline":
                c.decline("notes.pdf")
                return None
            return c.download("notes.pdf", out)

    result = harness.run(lambda: visit("alice", "download"))
    assert getattr(result, "verified", False)
    harness.run(lambda: visit("bob", "decline"))
    harness.run(lambda: visit("carol", "missing"))

    states = {"alice": "downloaded and verified · disconnected",
              "bob": "declined · disconnected",
              "carol": "asked for a file that does not exist · disconnected"}
    panel = window.clients_panel

    def shown() -> bool:
        return all(window.table.rows and any(r.client.name == n for r in window.table.rows.values())
                   and panel.tree.exists(str(row_named(window, n)[0]))
                   and panel.state_of(row_named(window, n)[0]) == s for n, s in states.items())

    pump_until(harness.root, shown, what="three finished rows")
    key, _ = row_named(window, "alice")
    assert panel.column_of(key, "who").startswith("alice (127.0.0.1:")
    assert panel.column_of(key, "asked") == "notes.pdf"
    assert panel.column_of(key, "sent") == "300.0 KB"
    assert panel.tree.item(str(key), "tags") == ("good",)
    assert panel.tree.item(str(row_named(window, "carol")[0]), "tags") == ("bad",)
    pump_until(harness.root, lambda: window.status_bar.text ==
               "0 connected  ·  0 downloading  ·  1 downloaded  ·  1 declined  ·  300.0 KB sent",
               what="the status bar")

    log = window.log_panel.content
    # the window speaks in sentences (issue 11); the terminal keeps the original lines
    assert "<ip:" not in log
    assert len(re.findall(r"127\.0\.0\.1:\d+\)? connected$", log, re.M)) == 3
    assert len(re.findall(r"\(127\.0\.0\.1:\d+\) left$", log, re.M)) == 3
    assert re.search(r"^\S+ +alice \(127\.0\.0\.1:\d+\) was told what is offered$", log, re.M)
    assert re.search(r"alice \(127\.0\.0\.1:\d+\) downloaded and verified the file 'notes.pdf'",
                     log)
    assert "did not download the file 'notes.pdf'" in log
    assert "asked for 'nope.txt', which does not exist" in log
    assert "downloaded and verified the file 'notes.pdf'" in log
    ledger = harness.ledger.read_text(encoding="utf-8")
    assert "downloaded the file 'notes.pdf'" in ledger
    assert "downloaded and verified the file 'notes.pdf'" in ledger
    assert "did not download the file 'notes.pdf'" in ledger
    assert "asked for 'nope.txt', which does not exist" in ledger


def test_a_hostile_client_name_is_escaped_and_clipped(harness: Harness) -> None:
    window = harness.open([harness.file("test.txt")])
    port = harness.serving(window)
    hostile = "Mallory%0A%E2%80%AE" + "x" * 150  # newline, right-to-left override, long
    too_long = "y" * 500  # over the protocol's 200 bytes: ignored, known by address

    def visit(name_header: str, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path, headers={"X-Filecast-Client-Name": name_header})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    # A control character in a path is refused outright (400); these two get through.
    long_file = "/files/" + "evil%E2%80%A8%E2%80%AE" + "z" * 500  # line separator, RTL
    assert harness.run(lambda: visit(hostile, long_file)) == 404
    assert harness.run(lambda: visit(too_long, "/api/v1/offer")) == 200
    pump_until(harness.root, lambda: len(window.clients_panel.tree.get_children()) == 2
               and window.table.counts.connected == 0, what="two rows")
    first, second = window.clients_panel.tree.get_children()
    who = window.clients_panel.tree.set(first, "who")
    assert who.startswith("Mallory\\n\\u202exxx") and who.endswith("…")
    assert len(who) <= 70 and "\n" not in who and "\u202e" not in who
    asked = window.clients_panel.tree.set(first, "asked")
    assert asked.startswith("evil\\u2028\\u202ezzz") and len(asked) <= 50
    assert window.clients_panel.tree.set(second, "who").startswith("127.0.0.1:")
    log = window.log_panel.content
    assert "\u202e" not in log and "\u2028" not in log and "evil\\u2028\\u202e" in log
    assert max(len(line) for line in log.splitlines()) < 400


# --- serving -------------------------------------------------------------------------


def test_a_taken_port_is_a_sentence_and_another_port_serves(harness: Harness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        window = harness.open([harness.file("test.txt")], port=busy_port)
        panel = window.address_panel
        pump_until(harness.root, lambda: panel.error_text, what="the port error")
        assert f"Port {busy_port} is already in use by another program" in panel.error_text
        assert panel.serving is Serving.STOPPED
        assert panel.toggle_button.cget("text") == "Start serving"
        assert panel.port_spin.instate(["!disabled"])

        panel.set_port(70000)
        panel.toggle_button.invoke()
        assert "is not a port" in panel.error_text

        panel.set_port(0)
        panel.toggle_button.invoke()
        port = harness.serving(window)
        assert port not in (0, busy_port) and panel.error_text == ""
        assert get_json(port, "/api/v1/offer")["files"][0]["name"] == "test.txt"


def test_stop_then_start_serves_again_and_remembers_the_port(harness: Harness) -> None:
    window = harness.open([harness.file("test.txt")])
    port = harness.serving(window)
    panel = window.address_panel
    assert panel.toggle_button.cget("text") == "Stop serving"
    panel.toggle_button.invoke()
    assert panel.toggle_button.instate(["disabled"])  # while stop() runs
    pump_until(harness.root, lambda: panel.serving is Serving.STOPPED
               and panel.toggle_button.instate(["!disabled"]), what="stopped")
    assert not window.server.running  # type: ignore[union-attr]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "Stopped" in panel.status_label.cget("text")

    panel.toggle_button.invoke()
    new_port = harness.serving(window)
    assert new_port == port  # the field kept the address clients already have
    assert get_json(new_port, "/api/v1/offer")["files"][0]["name"] == "test.txt"
    pump_until(harness.root, lambda: load_settings().get(PORT_KEY) == port,
               what="the port saved")
    assert saved_port(load_settings()) == port


def test_copy_open_ledger_open_folder_and_ctrl_o(harness: Harness) -> None:
    dialogs = FakeDialogs()
    window = harness.open([harness.file("test.txt")], dialogs=dialogs)
    port = harness.serving(window)
    window.address_panel.copy_buttons[0].invoke()
    assert dialogs.clipboard == f"http://127.0.0.1:{port}/"
    window.address_panel.open_buttons[0].invoke()  # the browser page (issue 13)
    assert dialogs.called("open_url") == [(f"http://127.0.0.1:{port}/",)]
    window.log_panel.open_ledger_button.invoke()
    window.log_panel.open_folder_button.invoke()
    assert dialogs.called("open_path") == [(str(harness.ledger),), (str(harness.ledger.parent),)]

    other = harness.file("other.txt", b"second")
    dialogs.files.append(str(other))
    window.offer_panel.message_entry.focus_force()
    harness.root.update()
    window.offer_panel.message_entry.event_generate("<Control-o>")
    pump_until(harness.root, lambda: window.offer_panel.name_label.cget("text") == "2 files",
               what="the added file")  # Ctrl+O adds to the offer while serving (issue 12)
    assert window.top.title() == "Filecast Server — 2 files"
    assert [f["name"] for f in get_json(port, "/api/v1/offer")["files"]] == [
        "test.txt", "other.txt"]
    assert window.files_panel.shown_names() == ["test.txt", "other.txt"]


# --- closing ---------------------------------------------------------------------------


def test_closing_while_a_client_downloads_asks_first(harness: Harness) -> None:
    big = harness.tmp / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # far more than the socket buffers hold
    dialogs = FakeDialogs(answers=[False, True])
    window = harness.open([big], dialogs=dialogs, toplevel=True)
    port = harness.serving(window)
    slow = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        slow.sendall(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        slow.recv(1024)  # the head, and then never read again
        pump_until(harness.root, lambda: window.table.counts.downloading == 1,
                   what="a download in flight")
        close = window.top.protocol("WM_DELETE_WINDOW")
        harness.root.tk.call(close)  # the window manager's close button
        assert dialogs.called("ask_yes_no") == [
            ("Stop serving?", "1 client is downloading. Stop serving and close?")]
        harness.root.update()
        assert not window.closed and window.top.winfo_exists()

        window.clients_panel.tree.focus_force()
        harness.root.update()
        window.clients_panel.tree.event_generate("<Control-w>")  # asked again: Yes
        pump_until(harness.root, lambda: window.closed, what="the window to close")
        assert len(dialogs.called("ask_yes_no")) == 2
        assert not window.top.winfo_exists()
        pump_until(harness.root, lambda: not engine_threads(), 5, what="engine threads gone")
        assert "did not finish downloading 'big.bin'" in harness.ledger.read_text()
    finally:
        slow.close()


def test_closing_with_nobody_downloading_does_not_ask(harness: Harness) -> None:
    dialogs = FakeDialogs()
    window = harness.open([harness.file("test.txt")], dialogs=dialogs, toplevel=True)
    port = harness.serving(window)
    window.top.focus_force()
    harness.root.update()
    window.top.event_generate("<Control-q>")
    pump_until(harness.root, lambda: window.closed, what="the window to close")
    assert dialogs.called("ask_yes_no") == []
    pump_until(harness.root, lambda: not engine_threads(), 5, what="engine threads gone")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_destroying_the_host_toplevel_still_frees_the_port(harness: Harness) -> None:
    window = harness.open([harness.file("test.txt")], toplevel=True)
    port = harness.serving(window)
    window.top.destroy()  # e.g. an end-to-end test tearing down its windows
    assert window.closed
    pump_until(harness.root, lambda: not engine_threads(), 5, what="engine threads gone")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# --- the log ---------------------------------------------------------------------------


def test_the_log_keeps_only_its_last_lines(tk_root: tk.Tk) -> None:
    panel = LogPanel(tk_root, on_open_ledger=lambda: None, on_open_folder=lambda: None,
                     max_lines=50)
    panel.pack()
    panel.add((0.0, f"line {i}") for i in range(120))
    panel.add([(0.0, "two\nlines")])
    assert panel.line_count == 50
    lines = panel.content.splitlines()
    assert lines[-2].endswith("  two") and lines[-1] == " " * 10 + "lines"
    assert lines[0].endswith("line 72")
    assert str(panel.text.cget("state")) == "disabled"


def test_the_window_says_when_it_sheds_connections_or_sums_ledger_lines(
        harness: Harness) -> None:
    """Issue 9: the person serving sees it happen, in the status bar and the log."""
    window = harness.open([harness.file("notes.pdf", b"x" * 1000)])
    port = harness.serving(window)

    def flood() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for n in range(FLOOD_BUDGET + 5):
                sock.sendall(f"HEAD /files/missing-{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            reader = Reader(sock)
            for _ in range(FLOOD_BUDGET + 5):
                assert reader.response(head_request=True).status == 404

    harness.run(flood)
    pump_until(harness.root, lambda: window.status_bar.detail.cget("text") ==
               f"Summing ledger lines from 127.0.0.1: over {FLOOD_BUDGET} a minute.",
               what="the flood note")
    assert "127.0.0.1 sends more requests than the ledger writes one by one" in \
        window.log_panel.content
    window.pump.on_event(ConnectionsShed("10.0.0.66", 12, True))
    pump_until(harness.root, lambda: window.status_bar.detail.cget("text") ==
               "Full: closed 12 idle connections from 10.0.0.66.", what="the shed note")
    assert "closed 12 idle connections from 10.0.0.66" in window.log_panel.content
