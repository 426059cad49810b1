"""The client window against a real Filecast server in this process, driven like a person would."""

from __future__ import annotations

import os
import re
import socket
import threading
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from tkinter import ttk

import pytest
from guikit import FakeDialogs, pump_for, pump_until
from hostile_server import HostileServer
from serverkit import Background, Recorder, wait_until

from core.client.visit import FilecastClient
from core.errors import DiskFullError
from core.events import (
    ClientDisconnected,
    Event,
    Listener,
    TransferProgress,
    TransferStarted,
)
from core.gui import client_window as cw
from core.gui import prefs
from core.gui.client_window import ClientWindow
from core.gui.style import MUTED, apply_style
from core.server import FilecastServer, ServerConfig
from core.server.ledger import Ledger
from core.server.offer import OfferTable

pytestmark = pytest.mark.gui

SMALL = b"hello world"  # 11 bytes, as in the original program
BIG_SIZE = 8 * 1024 * 1024


class Gate:
    """Server listener that can hold a body mid-way, then let it go on a chunk at a time."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.armed = False
        self.passes = 0
        self.reached = threading.Event()
        self._cond = threading.Condition()

    def on_event(self, event: Event) -> None:
        self.recorder.on_event(event)  # type: ignore[arg-type]
        if not isinstance(event, TransferProgress):
            return
        with self._cond:
            if not self.armed:
                return
            if self.passes == 0:
                self.reached.set()
                self._cond.wait_for(lambda: not self.armed or self.passes > 0, timeout=30)
            self.passes = max(0, self.passes - 1)

    def hold(self) -> None:
        """Hold the next body after its first mebibyte (copy mode reports each one)."""
        with self._cond:
            self.reached.clear()
            self.armed, self.passes = True, 0

    def step(self) -> None:
        """Let a held body send one more mebibyte."""
        with self._cond:
            self.passes += 1
            self._cond.notify_all()

    def release(self) -> None:
        """Let held bodies go on; later ones are not held."""
        with self._cond:
            self.armed = False
            self._cond.notify_all()


class Served:
    """A real server on 127.0.0.1 copying bodies in 1 MiB chunks, restartable on its port."""

    def __init__(self, tmp_path: Path, files: list[Path]) -> None:
        self.gate = Gate()
        self.offer = OfferTable(files, listener=self.gate, server_name="test-server")
        self.ledger = Ledger(tmp_path / "ledger" / "Clients.txt")
        self.server = self.start(0)

    def start(self, port: int) -> FilecastServer:
        config = ServerConfig(host="127.0.0.1", port=port, body_mode="copy",
                              progress_interval=0.0)
        server = FilecastServer(self.offer, self.ledger, self.gate, config)
        server.start()
        self.server = server
        wait_until(lambda: all(f.sha256 for f in self.offer.state.files), what="hashing")
        return server

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def ledger_text(self) -> str:
        return self.ledger.txt_path.read_text(encoding="utf-8")

    def close(self) -> None:
        self.gate.release()
        self.server.close()
        self.ledger.close()


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("FILECAST_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def offered(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "offered"
    folder.mkdir()
    small = folder / "test.txt"
    small.write_bytes(SMALL)
    big = folder / "big.bin"
    big.write_bytes(os.urandom(BIG_SIZE))
    return [small, big]


@pytest.fixture
def served(tmp_path: Path, offered: list[Path]) -> Iterator[Served]:
    running = Served(tmp_path, offered)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def quick_client(host: str, port: int, listener: Listener) -> FilecastClient:
    """A client that gives up after one quick retry (the person's default waits ~15 s)."""
    return FilecastClient(host, port, listener=listener, timeout=5.0, retries=1, backoff=0.05)


def make_window(master: tk.Misc, downloads: Path, host: str | None = None,
                dialogs: FakeDialogs | None = None) -> ClientWindow:
    apply_style(master.winfo_toplevel())  # type: ignore[arg-type]
    fake = dialogs or FakeDialogs()
    fake.folders.insert(0, str(downloads))
    window = ClientWindow(master, host, fake, client_factory=quick_client)  # type: ignore[arg-type]
    window.download_panel.change_button.invoke()
    assert window.folder == downloads
    master.update()
    return window


def connect(root: tk.Misc, window: ClientWindow, address: str) -> None:
    window.connect_panel.set_host(address)
    window.connect_panel.connect_button.invoke()
    pump_until(root, lambda: window.stage in (cw.READY, cw.DISCONNECTED), what="connect")
    assert window.stage == cw.READY, window.error


def ask(root: tk.Misc, window: ClientWindow, name: str, stage: str = cw.ASKING) -> None:
    window.file_panel.name_entry.delete(0, "end")
    window.file_panel.name_entry.insert(0, name)
    window.file_panel.check_button.invoke()
    pump_until(root, lambda: window.stage in (cw.ASKING, cw.READY), what="the answer")
    assert window.stage == stage, window.error or window.file_panel.answer


def finished(window: ClientWindow) -> bool:
    return window.stage not in cw.BUSY


def test_yes_saves_the_file_verified_into_the_chosen_folder(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    assert tk_root.title() == f"Filecast Client — {served.address}"
    assert "test-server" in str(window.connect_panel.status_label.cget("text"))
    ask(tk_root, window, "test.txt")
    assert window.file_panel.answer == "File exists, 11 bytes (11 B). Download?"
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the download")
    saved = downloads / "test.txt"
    assert saved.read_bytes() == SMALL
    assert window.error == ""
    assert str(saved) in window.download_panel.result
    assert "SHA-256 was verified" in window.download_panel.result
    served.gate.recorder.wait_count(TransferStarted, 1)
    window.download_panel.open_button.invoke()
    assert window.dialogs.called("open_path") == [(str(downloads),)]  # type: ignore[attr-defined]


def test_an_error_replaces_the_last_downloads_result_at_the_top(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    """issue 11: a new error appeared under the previous download's green result."""
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "test.txt")
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the download")
    assert "SHA-256 was verified" in window.download_panel.result
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    window.connect(f"127.0.0.1:{free_port}")
    pump_until(tk_root, lambda: window.stage == cw.DISCONNECTED and window.error,
               what="the connect error")
    assert window.download_panel.result == ""
    assert not window.download_panel.open_button.winfo_ismapped()
    tk_root.update_idletasks()
    assert window.error_label.winfo_y() < window.download_panel.winfo_y()  # on top of it


def test_no_is_recorded_by_the_server_and_said(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "test.txt")
    window.file_panel.no_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.READY, what="the decline")
    assert window.file_panel.answer == "You declined 'test.txt'; the server has recorded it."
    assert "did not download the file 'test.txt'" in served.ledger_text()
    assert not (downloads / "test.txt").exists()
    ask(tk_root, window, "test.txt")  # the person can check another name
    window.connect_panel.disconnect_button.invoke()
    assert window.stage == cw.DISCONNECTED and tk_root.title() == "Filecast Client"
    assert str(window.file_panel.name_entry.cget("state")) == "disabled"
    served.gate.recorder.wait_count(ClientDisconnected, 1)


def test_a_missing_name_says_file_does_not_exist(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "quarterly-report.xlsx", stage=cw.READY)  # close to nothing offered
    assert window.file_panel.answer == "File does not exist!"
    assert str(window.file_panel.answer_label.cget("style")) == "Bad.TLabel"
    assert window.error == ""


def test_a_name_in_another_case_is_the_offered_file(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    """issue 11: "Test.TXT" for "test.txt" was "File does not exist!"."""
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "Test.TXT")
    assert window.file_panel.file_name == "test.txt"  # the field shows the real name
    assert window.file_panel.answer.startswith("File exists, 11 bytes")


def test_a_typo_is_suggested_and_check_asks_for_the_suggestion(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "tset.txt", stage=cw.READY)
    assert window.file_panel.answer == \
        "File does not exist! Did you mean 'test.txt'? Check asks for it."
    assert window.file_panel.file_name == "test.txt"
    window.file_panel.check_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="the question")


def test_a_pasted_link_connects_and_fills_the_name(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, f"http://{served.address}/files/test.txt")
    assert window.file_panel.file_name == "test.txt"
    window.file_panel.check_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.ASKING, what="the question")


def test_keyboard_alone(tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = make_window(tk_root, downloads)
    panel = window.file_panel
    tk_root.focus_force()
    window.connect_panel.focus_host()
    pump_until(tk_root, lambda: tk_root.focus_get() is window.connect_panel.host_box,
               what="focus in the address field")

    def key(sequence: str) -> None:
        focus = tk_root.focus_get()
        assert focus is not None
        focus.event_generate(sequence)
        tk_root.update()

    window.connect_panel.host_box.insert(0, served.address)
    key("<Return>")
    pump_until(tk_root, lambda: window.stage == cw.READY, what="connected")
    pump_until(tk_root, lambda: tk_root.focus_get() is panel.name_entry, what="name focus")

    def check(name: str) -> None:
        assert tk_root.focus_get() is panel.name_entry
        panel.name_entry.delete(0, "end")
        panel.name_entry.insert(0, name)
        key("<Return>")
        pump_until(tk_root, lambda: window.stage == cw.ASKING, what="Download?")
        pump_until(tk_root, lambda: tk_root.focus_get() is panel.yes_button, what="Yes focus")

    check("test.txt")
    panel.name_entry.focus_set()  # typing y or n in a text field is typing, not answering
    key("<KeyPress-n>")
    key("<KeyPress-y>")
    assert window.stage == cw.ASKING
    assert panel.name_entry.get() == "test.txtny"

    check("test.txt")
    key("<KeyPress-N>")
    pump_until(tk_root, lambda: window.stage == cw.READY, what="declined")
    assert "declined 'test.txt'" in panel.answer
    pump_until(tk_root, lambda: tk_root.focus_get() is panel.name_entry, what="name focus")

    check("test.txt")
    key("<KeyPress-y>")
    pump_until(tk_root, lambda: window.result is not None, what="downloaded")
    assert (downloads / "test.txt").read_bytes() == SMALL

    check("test.txt")
    key("<Return>")  # Enter on Yes says yes: the second copy is numbered
    pump_until(tk_root, lambda: window.result is not None, what="downloaded again")
    assert (downloads / "test (1).txt").read_bytes() == SMALL
    window.download_panel.open_button.focus_set()
    key("<Return>")  # Enter presses the focused button
    assert window.dialogs.called("open_path") == [(str(downloads),)]  # type: ignore[attr-defined]
    panel.name_entry.focus_set()

    check("test.txt")
    key("<Escape>")
    pump_until(tk_root, lambda: window.stage == cw.READY, what="declined by Escape")
    assert "declined" in panel.answer
    assert served.ledger_text().count("did not download the file 'test.txt'") == 2


def test_no_server_at_that_address_is_a_sentence_and_the_window_stays_usable(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    window = make_window(tk_root, downloads)
    window.connect_panel.set_host(f"127.0.0.1:{free_port}")
    window.connect_panel.connect_button.invoke()
    pump_until(tk_root, lambda: window.stage == cw.DISCONNECTED and window.error,
               what="the connect error")
    assert window.error.startswith(f"No Filecast server answers at 127.0.0.1:{free_port}.")
    assert tk_root.title() == "Filecast Client"
    window.connect("not a host/x")
    assert "is not a server address" in window.error
    connect(tk_root, window, served.address)
    assert window.error == ""
    ask(tk_root, window, "test.txt")


def test_an_existing_file_is_never_overwritten(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    (downloads / "test.txt").write_bytes(b"mine")
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    ask(tk_root, window, "test.txt")
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the download")
    assert (downloads / "test.txt").read_bytes() == b"mine"
    assert (downloads / "test (1).txt").read_bytes() == SMALL
    result = window.download_panel.result
    assert "'test.txt' already existed in that folder" in result
    assert "'test (1).txt'" in result
    assert str(downloads / "test (1).txt") in result


def start_held_download(root: tk.Tk, window: ClientWindow, served: Served) -> None:
    """Yes for big.bin, held by the server after its first mebibyte, some of it received."""
    served.gate.hold()
    ask(root, window, "big.bin")
    window.file_panel.yes_button.invoke()
    assert window.stage == cw.DOWNLOADING
    pump_until(root, served.gate.reached.is_set, what="the held body")
    bar = window.download_panel.progress_bar
    for _ in range(6):  # the client reports at most every 0.1 s, on the next bytes it reads
        pump_for(root, 0.15)
        if float(bar.cget("value")) > 0:
            break
        served.gate.step()
    assert float(bar.cget("value")) > 0, "no progress reached the window"
    assert "of 8.4 MB" in window.download_panel.status


def resume_to_verified(root: tk.Tk, window: ClientWindow, served: Served, downloads: Path,
                       offered: list[Path]) -> None:
    assert window.download_panel.retry_button.winfo_ismapped()
    window.download_panel.retry_button.invoke()
    pump_until(root, lambda: finished(window), timeout=30, what="the resumed download")
    assert window.error == "", window.error
    assert (downloads / "big.bin").read_bytes() == offered[1].read_bytes()
    assert "SHA-256 was verified" in window.download_panel.result
    starts = [e.start for e in served.gate.recorder.of(TransferStarted) if e.file == "big.bin"]
    assert starts[0] == 0 and starts[-1] > 0  # the second body resumed the part
    assert not (downloads / "big.bin.part").exists()


def test_cancel_keeps_the_part_and_retry_resumes_it(
        tk_root: tk.Tk, served: Served, downloads: Path, offered: list[Path]) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    start_held_download(tk_root, window, served)
    tk_root.focus_force()
    window.download_panel.cancel_button.focus_set()
    tk_root.update()
    window.download_panel.cancel_button.event_generate("<Escape>")
    pump_until(tk_root, lambda: finished(window), what="the cancel")
    served.gate.release()
    assert "cancelled" in window.error and "partial download is kept" in window.error
    part = downloads / "big.bin.part"
    assert 0 < part.stat().st_size < BIG_SIZE
    resume_to_verified(tk_root, window, served, downloads, offered)


def test_server_stopped_mid_download_then_restarted_and_retried(
        tk_root: tk.Tk, served: Served, downloads: Path, offered: list[Path]) -> None:
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    port = served.server.port
    start_held_download(tk_root, window, served)
    stopping = Background(served.server.stop)
    pump_until(tk_root, lambda: finished(window), what="the engine to give up")
    served.gate.release()
    stopping.join()
    assert "The server stopped sending 'big.bin'" in window.error
    assert "partial download is kept" in window.error
    assert (downloads / "big.bin.part").stat().st_size > 0
    served.start(port)
    resume_to_verified(tk_root, window, served, downloads, offered)


def test_closing_during_a_download_asks_then_keeps_the_part(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    top = tk.Toplevel(tk_root)
    dialogs = FakeDialogs(answers=[False, True])
    window = make_window(top, downloads, dialogs=dialogs)
    connect(tk_root, window, served.address)
    start_held_download(tk_root, window, served)
    window.request_close()
    assert window.stage == cw.DOWNLOADING and top.winfo_exists()
    window.request_close()
    assert not top.winfo_exists()
    assert len(dialogs.called("ask_yes_no")) == 2
    served.gate.release()
    wait_until(lambda: (downloads / "big.bin.part").exists(), what="the kept part")


def test_recent_servers_and_folder_persist(
        tk_root: tk.Tk, served: Served, downloads: Path, tmp_path: Path) -> None:
    first = tk.Toplevel(tk_root)
    window = make_window(first, downloads)
    connect(tk_root, window, f"localhost:{served.server.port}")
    connect(tk_root, window, served.address)
    served.gate.recorder.wait_count(ClientDisconnected, 1)  # the first visit was closed
    window.request_close()
    assert not first.winfo_exists()

    second = tk.Toplevel(tk_root)
    again = ClientWindow(second, None, FakeDialogs())  # type: ignore[arg-type]
    assert again.folder == downloads
    assert again.recent_hosts == [served.address, f"localhost:{served.server.port}"]
    assert again.connect_panel.host_text == served.address
    assert served.address in again.connect_panel.host_box.cget("values")
    second.destroy()


def test_a_host_given_at_start_connects(tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = ClientWindow(tk_root, served.address, FakeDialogs(),  # type: ignore[arg-type]
                          client_factory=quick_client)
    pump_until(tk_root, lambda: window.stage == cw.READY, what="the connect")
    assert window.offer is not None and window.offer.name == "test-server"


class FullDiskClient(FilecastClient):
    """A client whose disk fills up: the engine's sentence must reach the window as is."""

    def download(self, name, folder, *, info=None):  # type: ignore[no-untyped-def]
        raise DiskFullError("The disk is full: 12 B free is not enough for 'test.txt' (11 B"
                            " still to save). Free some space and press Retry; the partial"
                            " download is kept.")


def test_a_full_disk_is_a_sentence_with_retry(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    window = ClientWindow(tk_root, None, FakeDialogs(),  # type: ignore[arg-type]
                          client_factory=lambda h, p, listener: FullDiskClient(
                              h, p, listener=listener))
    connect(tk_root, window, served.address)
    ask(tk_root, window, "test.txt")
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the failure")
    assert window.error.startswith("The disk is full: 12 B free")
    assert str(window.error_label.cget("style")) == "Bad.TLabel"
    assert window.download_panel.retry_button.winfo_ismapped()
    assert tk_root.focus_get() is window.download_panel.retry_button


def test_fields_that_cannot_be_used_look_it(tk_root: tk.Tk, downloads: Path) -> None:
    """Before connecting, the file-name field is disabled; in clam it still looked white and
    editable, so people typed into it and nothing happened."""
    window = make_window(tk_root, downloads)
    entry = window.file_panel.name_entry
    assert entry.instate(["disabled"])
    style = ttk.Style(tk_root)
    for widget in ("TEntry", "TCombobox", "TSpinbox"):
        disabled = style.lookup(widget, "fieldbackground", ["disabled"])
        assert disabled and disabled != style.lookup(widget, "fieldbackground"), widget
        assert style.lookup(widget, "foreground", ["disabled"]) == MUTED


def test_without_a_downloads_folder_files_go_home_not_where_it_was_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Double-clicked, the program starts in some folder the person never chose."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.chdir(tmp_path)
    assert prefs.default_folder() == home
    (home / "Downloads").mkdir()
    assert prefs.default_folder() == home / "Downloads"


# --- issue 9: consent is for the file the person was shown -----------------------------------

HOSTILE_NAME = "report.pdf"
HOSTILE_DATA = os.urandom(1024 * 1024 + 12345)  # 1.1 MB
CHANGED_DATA = os.urandom(3 * 1024 * 1024)  # 3.1 MB


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({HOSTILE_NAME: HOSTILE_DATA}) as server:
        yield server


def test_a_file_that_changed_after_yes_is_asked_about_again(
        tk_root: tk.Tk, hostile: HostileServer, downloads: Path) -> None:
    """The question said 1.1 MB; the server then sends 3.1 MB: ask, do not save."""
    hostile.lies.other_version = CHANGED_DATA
    hostile.lies.receipt_verified = True  # the server stands by what it now sends
    window = make_window(tk_root, downloads)
    connect(tk_root, window, f"127.0.0.1:{hostile.port}")
    ask(tk_root, window, HOSTILE_NAME)
    assert window.file_panel.answer == "File exists, 1,060,921 bytes (1.1 MB). Download?"
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: window.stage != cw.DOWNLOADING, what="the change")
    assert window.stage == cw.ASKING
    assert window.error.startswith(
        f"'{HOSTILE_NAME}' changed on the server since you said yes: it is now 3.1 MB, not"
        " 1.1 MB.")
    assert window.file_panel.answer == "File exists, 3,145,728 bytes (3.1 MB). Download?"
    assert window.file_panel.yes_button.winfo_ismapped()
    assert not window.download_panel.retry_button.winfo_ismapped()
    assert list(downloads.iterdir()) == []  # nothing of it was saved
    window.file_panel.yes_button.invoke()  # yes to what is shown now
    pump_until(tk_root, lambda: finished(window), what="the download")
    assert window.error == ""
    assert (downloads / HOSTILE_NAME).read_bytes() == CHANGED_DATA


def test_retry_keeps_the_version_said_yes_to(
        tk_root: tk.Tk, hostile: HostileServer, downloads: Path) -> None:
    """A download cut short; the file then changes on the server. Retry must not fetch the
    new version silently (it used to check again and take whatever the server said)."""
    hostile.lies.short_by = 500_000
    window = make_window(tk_root, downloads)
    connect(tk_root, window, f"127.0.0.1:{hostile.port}")
    ask(tk_root, window, HOSTILE_NAME)
    window.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the cut")
    assert window.download_panel.retry_button.winfo_ismapped(), window.error
    hostile.lies.short_by = 0
    hostile.files[HOSTILE_NAME] = CHANGED_DATA  # a new version: new size, new ETag
    window.download_panel.retry_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the retry")
    assert window.stage == cw.ASKING, window.error
    assert "changed on the server since you said yes" in window.error
    assert window.file_panel.answer == "File exists, 3,145,728 bytes (3.1 MB). Download?"
    assert not (downloads / HOSTILE_NAME).exists()


def test_the_window_says_it_waits_for_the_servers_sha256(
        tk_root: tk.Tk, hostile: HostileServer, downloads: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.not_ready_times = 2  # the server is still hashing for two receipts
    window = make_window(tk_root, downloads)
    connect(tk_root, window, f"127.0.0.1:{hostile.port}")
    ask(tk_root, window, HOSTILE_NAME)
    window.file_panel.yes_button.invoke()
    said: set[str] = set()
    pump_until(tk_root, lambda: said.add(window.download_panel.status) or finished(window),
               timeout=20, what="the download")
    assert "All bytes are in; waiting for the server to confirm its SHA-256…" in said
    assert window.error == ""
    assert "SHA-256 was verified" in window.download_panel.result
    assert (downloads / HOSTILE_NAME).read_bytes() == HOSTILE_DATA


def test_the_hint_shows_the_address_in_the_form_the_server_window_shows() -> None:
    """issue 11: one address form everywhere (the server shows http://HOST:PORT/)."""
    from core.client import parse_server
    from core.gui.client_connect_panel import EXAMPLE_ADDRESS, HINT
    assert re.fullmatch(r"http://[0-9.]+:\d+/", EXAMPLE_ADDRESS) and EXAMPLE_ADDRESS in HINT
    assert parse_server(EXAMPLE_ADDRESS) == ("192.168.1.20", 5001)


def test_a_check_with_the_server_gone_never_says_connected(
        tk_root: tk.Tk, served: Served, downloads: Path) -> None:
    """issue 11: after the server stopped, the window still said green "Connected to"."""
    window = make_window(tk_root, downloads)
    connect(tk_root, window, served.address)
    served.server.stop()
    ask(tk_root, window, "test.txt", stage=cw.READY)
    status = str(window.connect_panel.status_label.cget("text"))
    assert "stopped answering at" in status and "Connected" not in status, status
    assert window.error  # and the sentence says what happened
