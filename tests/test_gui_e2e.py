"""Both windows in one process (one Tk for the server window, a Toplevel for the client
window), real sockets on 127.0.0.1 and real files: the whole original dialogue, a server
stopped and restarted under a download, and hostile names on both sides.

What is checked is what a person sees: the server's Treeview values, its activity log,
the client window's labels, the saved file, and the lines in Clients.txt.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path
from tkinter import ttk
from urllib.parse import quote

import pytest
import stub_server
from gui_load import HOST, WindowPair, client_factory, pump_until
from guikit import FakeDialogs
from stub_server import StubServer

from core.client.visit import FilecastClient
from core.events import DownloadRetrying, DownloadStarted, Event, Listener
from core.gui import client_window as cw
from core.gui.client_window import ClientWindow
from core.gui.server_address_panel import Serving
from core.gui.style import apply_style
from core.wire.protocol import FileInfo, Offer, decision_json, error_body

pytestmark = pytest.mark.gui

SMALL = b"hello world"
BIG_SIZE = 32 * 1024 * 1024  # far more than loopback socket buffers hold



def unnamed(said: str) -> str:
    """A ledger sentence without the display name after the address (issue 11)."""
    return re.sub(r'^"(?:[^"\\]|\\.)*" ', "", said)

def make_pair(root: tk.Tk, tmp_path: Path, files: dict[str, bytes],
              factory: Callable[[str, int, Listener], FilecastClient] | None = None
              ) -> WindowPair:
    offered = tmp_path / "offered"
    offered.mkdir(exist_ok=True)
    paths = []
    for name, data in files.items():
        (offered / name).write_bytes(data)
        paths.append(offered / name)
    downloads = tmp_path / "downloads"
    downloads.mkdir(exist_ok=True)
    return WindowPair(root, paths, tmp_path / "ledger" / "Clients.txt", downloads,
                      server_dialogs=FakeDialogs(), client_dialogs=FakeDialogs(),
                      factory=factory or client_factory("e2e-person"))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FILECAST_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def pairs(tk_root: tk.Tk, config: Path) -> Iterator[list[WindowPair]]:
    """Pairs a test opened, closed at the end (before tk_root goes)."""
    opened: list[WindowPair] = []
    yield opened
    for pair in opened:
        pair.close()


# --- the client window, driven by its widgets ---------------------------------------------


def connect(root: tk.Misc, window: ClientWindow, address: str) -> None:
    window.connect_panel.set_host(address)
    window.connect_panel.connect_button.invoke()
    pump_until(root, lambda: window.stage in (cw.READY, cw.DISCONNECTED), what="connect")
    assert window.stage == cw.READY, window.error


def check(root: tk.Misc, window: ClientWindow, name: str) -> None:
    window.file_panel.name_entry.delete(0, "end")
    window.file_panel.name_entry.insert(0, name)
    window.file_panel.name_entry.focus_force()
    window.file_panel.name_entry.event_generate("<Return>")  # Enter checks
    pump_until(root, lambda: window.stage in (cw.ASKING, cw.READY), what="the answer")


def disconnect(pair: WindowPair) -> None:
    pair.client.connect_panel.disconnect_button.invoke()
    assert pair.client.stage == cw.DISCONNECTED


def rows_settled(pair: WindowPair, count: int) -> Callable[[], bool]:
    return lambda: (len(pair.rows()) == count and pair.server.table.counts.connected == 0
                    and not pair.server._dirty)


# --- 1. the original dialogue, three times -------------------------------------------------


def test_yes_no_and_a_missing_name_through_both_windows(
        tk_root: tk.Tk, tmp_path: Path, pairs: list[WindowPair]) -> None:
    data = os.urandom(1_234_567)
    pair = make_pair(tk_root, tmp_path, {"test.txt": data})
    pairs.append(pair)
    port = pair.serving()
    client, server = pair.client, pair.server
    assert server.top.title() == "Filecast Server — test.txt"

    # Visit 1: y. The greeting is the original's; the answer names the size.
    connect(tk_root, client, pair.address)
    assert client.top.title() == f"Filecast Client — {HOST}:{port}"
    assert str(client.file_panel.message_label.cget("text")) == \
        "Enter 'test.txt' when prompted to download the document..."
    check(tk_root, client, "test.txt")
    assert client.stage == cw.ASKING
    assert client.file_panel.answer == "File exists, 1,234,567 bytes (1.2 MB). Download?"
    client.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: client.stage == cw.READY and client.result is not None,
               what="the download")
    saved = pair.downloads / "test.txt"
    assert saved.read_bytes() == data
    assert client.download_panel.result.startswith(f"Saved to {saved} (1.2 MB).")
    assert "SHA-256 was verified" in client.download_panel.result
    assert client.error == ""
    disconnect(pair)

    # Visit 2: n.
    connect(tk_root, client, pair.address)
    check(tk_root, client, "test.txt")
    client.file_panel.no_button.invoke()
    pump_until(tk_root, lambda: client.stage == cw.READY, what="the decline")
    assert client.file_panel.answer == "You declined 'test.txt'; the server has recorded it."
    disconnect(pair)

    # Visit 3: a name that does not exist.
    connect(tk_root, client, pair.address)
    check(tk_root, client, "x")
    assert client.stage == cw.READY
    assert client.file_panel.answer == "File does not exist!"
    disconnect(pair)

    # The server's table, as a person reads it: one row per visit, in order.
    pump_until(tk_root, rows_settled(pair, 3), what="three settled rows")
    rows = pair.rows()
    for row in rows:
        assert row["who"].startswith(f"e2e-person ({HOST}:")
    assert [(r["asked"], r["state"], r["sent"]) for r in rows] == [
        ("test.txt", "downloaded and verified · disconnected", "1.2 MB"),
        ("test.txt", "declined · disconnected", "0 B"),
        ("x", "asked for a file that does not exist · disconnected", "0 B"),
    ]
    tree = server.clients_panel.tree
    assert [tree.item(iid, "tags") for iid in tree.get_children()] == [
        ("good",), ("declined",), ("bad",)]
    assert server.status_bar.text == ("0 connected  ·  0 downloading  ·  1 downloaded  ·  "
                                      "1 declined  ·  1.2 MB sent")

    log = server.log_panel.content
    assert "<ip:" not in log  # sentences in the window (issue 11)
    assert log.count(f"{HOST}:") >= 3 and log.count(" was told what is offered") == 3
    assert len(re.findall(r" connected$", log, re.M)) == 3
    assert len(re.findall(r" left$", log, re.M)) == 3
    assert "downloaded the file 'test.txt'" in log
    assert "downloaded and verified the file 'test.txt'" in log
    assert "did not download the file 'test.txt'" in log
    assert "asked for 'x', which does not exist" in log

    # Clients.txt: the four lines, in the order things happened, each with the address.
    lines = pair.ledger.read_text(encoding="utf-8").splitlines()
    said = [line.split(" ", 1)[1] for line in lines]
    assert [unnamed(s.split(") ", 1)[1]) for s in said] == [
        "downloaded the file 'test.txt'",
        "downloaded and verified the file 'test.txt'",
        "did not download the file 'test.txt'",
        "asked for 'x', which does not exist",
    ]
    assert all(s.startswith(f"Client: ('{HOST}', ") for s in said)
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines)  # ISO time, UTC


# --- 2. Stop under a download, Start, resume -----------------------------------------------


class HoldFirstProgress:
    """Wraps the client window's listener: the download thread is held as the body starts
    (loopback would finish 32 MiB between two progress events) until :meth:`release`; the
    server meanwhile fills the socket buffers and waits, mid-download."""

    def __init__(self) -> None:
        self.armed = True
        self.reached = threading.Event()
        self._go = threading.Event()

    def wrap(self, listener: Listener) -> Listener:
        gate = self

        class Held:
            def on_event(self, event: Event) -> None:
                listener.on_event(event)
                if gate.armed and isinstance(event, DownloadStarted):
                    gate.armed = False
                    gate.reached.set()
                    gate._go.wait(30)

        return Held()

    def release(self) -> None:
        self._go.set()


def held_factory(gate: HoldFirstProgress, retries: int, backoff: float
                 ) -> Callable[[str, int, Listener], FilecastClient]:
    def make(host: str, port: int, listener: Listener) -> FilecastClient:
        return FilecastClient(host, port, client_id="e2e-window-client-01", name="e2e-person",
                              listener=gate.wrap(listener), timeout=5.0, retries=retries,
                              backoff=backoff)
    return make


def start_held_download(pair: WindowPair, gate: HoldFirstProgress) -> None:
    connect(pair.root, pair.client, pair.address)
    check(pair.root, pair.client, "big.bin")
    assert pair.client.stage == cw.ASKING
    pair.client.file_panel.yes_button.invoke()
    pump_until(pair.root, gate.reached.is_set, what="the download under way")
    pump_until(pair.root, lambda: any(r["state"].startswith("downloading ")
                                      for r in pair.rows()), what="a downloading row")
    assert pair.client.stage == cw.DOWNLOADING
    assert pair.client.download_panel.cancel_button.winfo_ismapped()


def press(pair: WindowPair, state: Serving) -> None:
    """The server window's Start/Stop button, then wait until it settles in ``state``."""
    panel = pair.server.address_panel
    panel.toggle_button.invoke()
    pump_until(pair.root, lambda: panel.serving is state
               and panel.toggle_button.instate(["!disabled"]), what=state.name)


def check_resumed(pair: WindowPair, data: bytes) -> None:
    client = pair.client
    saved = pair.downloads / "big.bin"
    assert saved.read_bytes() == data
    assert not (pair.downloads / "big.bin.part").exists()
    assert "SHA-256 was verified" in client.download_panel.result
    assert client.error == ""
    pump_until(pair.root, lambda: pair.rows()[-1]["state"].startswith(
        "downloaded and verified"), what="the verified row")
    first, last = pair.rows()[0], pair.rows()[-1]
    assert first["state"] in ("interrupted", "interrupted · disconnected")
    said = [unnamed(line.split(") ", 1)[1])
            for line in pair.ledger.read_text("utf-8").splitlines()]
    assert len(said) == 3, said
    assert said[0].startswith("did not finish downloading 'big.bin' (")
    assert said[0].endswith(f" of {BIG_SIZE} bytes)")
    assert said[1:] == ["downloaded the file 'big.bin'",  # its rest completes the download
                        "downloaded and verified the file 'big.bin'"]
    jsonl = pair.ledger.with_suffix(".jsonl").read_text("utf-8").splitlines()
    cut, rest = (json.loads(line) for line in jsonl[:2])
    # Resumed near where the cut left off, not from 0, and never past what the server
    # counted as acknowledged: what was queued beyond it was dropped (issue 9).
    assert 0 < rest["start"] <= cut["acked"] == cut["bytes"]
    assert rest["start"] + rest["acked"] == BIG_SIZE == rest["bytes"]
    assert last["who"].startswith("e2e-person (")


def test_stop_cuts_a_download_and_retry_after_start_resumes_it_verified(
        tk_root: tk.Tk, tmp_path: Path, pairs: list[WindowPair]) -> None:
    data = os.urandom(BIG_SIZE)
    gate = HoldFirstProgress()
    pair = make_pair(tk_root, tmp_path, {"big.bin": data},
                     held_factory(gate, retries=1, backoff=0.05))
    pairs.append(pair)
    port = pair.serving()
    start_held_download(pair, gate)

    press(pair, Serving.STOPPED)  # the server window's Stop button
    gate.release()
    client = pair.client
    pump_until(tk_root, lambda: client.stage == cw.READY, what="the client to give up")
    assert "The server stopped sending 'big.bin'" in client.error
    assert "partial download is kept" in client.error
    part = pair.downloads / "big.bin.part"
    assert 0 < part.stat().st_size < BIG_SIZE
    assert client.download_panel.retry_button.winfo_ismapped()
    assert "Retry resumes it." in client.download_panel.status
    # issue 11: it said green "Connected to ..." with the server gone
    status = str(client.connect_panel.status_label.cget("text"))
    assert status.startswith("The server at ") and "stopped answering at " in status, status
    assert "Connected" not in status
    assert str(client.connect_panel.status_label.cget("style")) == "Bad.TLabel"
    pump_until(tk_root, lambda: pair.rows()[0]["state"] == "interrupted · disconnected",
               what="the interrupted row")

    press(pair, Serving.SERVING)  # Start: the same port, so the client finds it again
    assert pair.server.server is not None and pair.server.server.port == port
    client.download_panel.retry_button.invoke()
    pump_until(tk_root, lambda: client.stage == cw.READY and client.result is not None,
               timeout=30, what="the resumed download")
    assert str(client.connect_panel.status_label.cget("text")).startswith("Connected to ")
    assert client.result is not None and client.result.resumed_from > 0
    check_resumed(pair, data)


def test_a_server_restarted_within_the_clients_retries_resumes_by_itself(
        tk_root: tk.Tk, tmp_path: Path, pairs: list[WindowPair]) -> None:
    data = os.urandom(BIG_SIZE)
    gate = HoldFirstProgress()
    pair = make_pair(tk_root, tmp_path, {"big.bin": data},
                     held_factory(gate, retries=5, backoff=0.3))
    pairs.append(pair)
    pair.serving()
    start_held_download(pair, gate)
    press(pair, Serving.STOPPED)
    press(pair, Serving.SERVING)  # back before the client even notices
    gate.release()
    client = pair.client
    panel = client.download_panel
    pump_until(tk_root, lambda: "connection was lost" in panel.status
               or client.result is not None, what="the retry notice")
    pump_until(tk_root, lambda: client.stage == cw.READY and client.result is not None,
               timeout=30, what="the download, resumed by the engine")
    check_resumed(pair, data)


# --- 4. hostile names in both windows ------------------------------------------------------

# ≤ 200 bytes as UTF-8 (the protocol's cap): RTL override, an ANSI escape, newline, tab,
# then a 190-byte run.
HOSTILE_NAME = "\u202e\x1b[31m\n\t" + "x" * 190
# The offered file's own name (Linux allows all of these in a file name).
HOSTILE_FILE = "bad\n\t\u202e\x1b[31m" + "z" * 190
# Through a request path, C0 controls are refused (400); C1 controls and bidi marks are not:
# U+009B is the one-byte CSI of an ANSI escape, U+0085 a next-line, U+2028 a line separator.
HOSTILE_PATH_NAME = "\u202e\u2028\u0085\u009b31m" + "q" * 190
RAW = ("\n", "\t", "\x1b", "\u202e", "\u2028", "\u0085", "\u009b")


def raw_controls(text: str, allow_newlines: bool = False) -> list[str]:
    """The characters of ``text`` that would reach the screen unescaped and should not."""
    return [ch for ch in text if not ch.isprintable() and not (allow_newlines and ch == "\n")]


def visit(port: int, method: str, path: str, name: str, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        headers = {"X-Filecast-Client-Name": quote(name, safe="")}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_hostile_client_and_file_names_are_escaped_and_clipped_in_the_server_window(
        tk_root: tk.Tk, tmp_path: Path, pairs: list[WindowPair]) -> None:
    assert len(HOSTILE_NAME.encode()) == 200
    pair = make_pair(tk_root, tmp_path, {"test.txt": SMALL, HOSTILE_FILE: SMALL})
    pairs.append(pair)
    port = pair.serving()
    server = pair.server
    assert visit(port, "GET", "/files/" + quote(HOSTILE_PATH_NAME, safe=""),
                 HOSTILE_NAME) == 404
    assert visit(port, "POST", "/api/v1/decisions", HOSTILE_NAME,
                 decision_json(HOSTILE_FILE)) == 200
    assert visit(port, "GET", "/files/" + quote("a\nb", safe=""), HOSTILE_NAME) == 400
    pump_until(tk_root, rows_settled(pair, 3), what="three rows")

    rows = pair.rows()
    for row in rows:
        for column, value in row.items():
            assert raw_controls(value) == [], (column, value)
        assert len(row["who"]) <= 70 and len(row["asked"]) <= 50
        assert row["who"].startswith("\\u202e\\x1b[31m\\n\\txxxx") and row["who"].endswith("…")
    assert rows[0]["asked"].startswith("\\u202e\\u2028\\x85\\x9b31mqqq")
    assert rows[0]["state"] == "asked for a file that does not exist · disconnected"
    assert rows[1]["asked"].startswith("bad\\n\\t\\u202e\\x1b[31mzzz")
    assert rows[1]["state"] == "declined · disconnected"
    assert rows[2]["asked"] == "—"  # refused before it named a file

    log = server.log_panel.content
    assert raw_controls(log, allow_newlines=True) == []
    assert "asked for '\\u202e\\u2028\\x85\\x9b31mqqq" in log
    assert "did not download the file 'bad\\n\\t\\u202e\\x1b[31mzzz" in log
    assert max(len(line) for line in log.splitlines()) <= 320  # stamp + 300
    # The offered hostile name, in the title and the offer panel, is escaped too.
    server.remove_files([f.name for f in server.offer.state.files])  # then it is alone
    server.offer_files([str(tmp_path / "offered" / HOSTILE_FILE)])
    pump_until(tk_root, lambda: "bad" in server.top.title(), what="the new title")
    assert raw_controls(server.top.title()) == []
    assert raw_controls(str(server.offer_panel.name_label.cget("text"))) == []
    assert all(raw_controls(name) == [] for name in server.files_panel.shown_names())
    assert server.top.winfo_reqwidth() <= tk_root.winfo_screenwidth()
    # Clients.txt escapes them as well (the engine's job; checked here end to end).
    ledger = pair.ledger.read_text(encoding="utf-8")
    assert raw_controls(ledger, allow_newlines=True) == []


HOSTILE_MESSAGE = ("\x1b[2J\x1b[31mREAD THIS\u202e\n" + "\t" * 40 + "w" * 3000 + "\n") * 30
HOSTILE_SERVER = "\u202e\x1b]0;pwned\x07" + "S" * 500


def all_texts(widget: tk.Misc) -> Iterator[tuple[str, str]]:
    """Every text a person can see in ``widget`` and its children."""
    for child in widget.winfo_children():
        if isinstance(child, (ttk.Label, ttk.Button, ttk.Labelframe)) and \
                child.winfo_ismapped():
            yield str(child), str(child.cget("text"))
        yield from all_texts(child)


def look(top: tk.Misc) -> tuple[int, int]:
    """Every visible text is free of raw control characters; the window's requested size."""
    top.update_idletasks()
    for name, text in [*all_texts(top), ("title", top.wm_title())]:
        assert raw_controls(text, allow_newlines=True) == [], (name, text)
    return top.winfo_reqwidth(), top.winfo_reqheight()


def test_a_hostile_server_cannot_break_the_client_windows_layout(
        tk_root: tk.Tk, tmp_path: Path, config: Path) -> None:
    apply_style(tk_root)
    stub = StubServer({"test.txt": SMALL})
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    top = tk.Toplevel(tk_root)
    window = ClientWindow(top, None, FakeDialogs(),  # type: ignore[arg-type]
                          client_factory=client_factory("someone", retries=0))
    window.folder = downloads
    try:
        address = f"{HOST}:{stub.port}"
        # The normal look: the original greeting and question, then a download done.
        connect(tk_root, window, address)
        check(tk_root, window, "test.txt")
        assert window.stage == cw.ASKING
        normal_asking = look(top)
        window.file_panel.yes_button.invoke()
        pump_until(tk_root, lambda: window.result is not None, what="the download")
        normal_done = look(top)

        # The hostile server: its name, its message, its file's name, its error sentences.
        offer = stub.offer()
        stub.files = {HOSTILE_FILE: SMALL}
        files = (FileInfo(HOSTILE_FILE, len(SMALL), stub.digest(HOSTILE_FILE),
                          offer.files[0].modified, stub.etag(HOSTILE_FILE)),)
        stub.offer = lambda: Offer("Stub/1", HOSTILE_SERVER, HOSTILE_MESSAGE, files)  # type: ignore[method-assign]
        stub.httpd.RequestHandlerClass = HostileDecisions
        connect(tk_root, window, address)
        check(tk_root, window, HOSTILE_FILE)
        assert window.stage == cw.ASKING, window.error or window.file_panel.answer
        sizes = [look(top)]
        window.file_panel.no_button.invoke()  # the server answers with a hostile error
        pump_until(tk_root, lambda: window.stage == cw.READY and window.error,
                   what="the error")
        assert "refused the request (500: " in window.error
        sizes.append(look(top))
        check(tk_root, window, HOSTILE_FILE)
        assert window.stage == cw.ASKING, window.error or window.file_panel.answer
        window.file_panel.yes_button.invoke()
        pump_until(tk_root, lambda: window.result is not None and window.stage == cw.READY,
                   what="the hostile file's download")
        assert window.result is not None and window.result.path.parent == downloads
        sizes.append(look(top))

        assert "\\u202e" in str(window.connect_panel.status_label.cget("text"))
        normal = max(normal_asking[0], normal_done[0]), max(normal_asking[1], normal_done[1])
        for width, height in sizes:  # asking, the error, done: it stays on a 1280x800 screen
            assert width < 1.5 * normal[0], (width, normal)
            assert height < 1.5 * normal[1] and height <= tk_root.winfo_screenheight(), \
                (height, normal)
    finally:
        if window.client is not None:
            window.client.cancel()
        window._leave()
        top.destroy()
        stub.stop()


class HostileDecisions(stub_server._Handler):
    """The stub, but a decision gets a 500 whose message is hostile."""

    def do_POST(self) -> None:
        self._record()
        self._json(500, error_body("boom", HOSTILE_MESSAGE[:5000]))


def test_retry_notices_reach_the_client_window(tk_root: tk.Tk) -> None:
    """A retry notice with a hostile reason is escaped and clipped (DownloadRetrying)."""
    apply_style(tk_root)
    window = ClientWindow(tk_root, None, FakeDialogs())  # type: ignore[arg-type]
    window.download_panel.start("big.bin")
    window.download_panel.retrying(DownloadRetrying("big.bin", 1, 5, 0.5, HOSTILE_MESSAGE))
    status = window.download_panel.status
    assert raw_controls(status) == [] and len(status) < 400
