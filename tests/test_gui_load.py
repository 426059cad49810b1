"""The server window under load, with the client window open beside it in the same Tk loop.

0, 1 and 300 engine clients download a 2 MiB file at the same moment while the client
window downloads it too: the server table must hold every visit's row, and the window must
keep answering. The drain loop's after() lag is measured and reported (written to a file
under tmp and attached with record_property), never asserted: it depends on the machine.
The 300 run twice: as threads of this process (a worst case: their reading and hashing
compete with the window for the GIL) and in a child process (what a real server sees).

Also: Stop/Start on the server window, many times with clients connected, leaks no thread,
socket or file descriptor.
"""

from __future__ import annotations

import json
import os
import threading
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gui_load import HOST, WindowPair, pump_until, run_load

from core.client.visit import FilecastClient
from core.gui import client_window as cw
from core.gui.server_address_panel import Serving

pytestmark = pytest.mark.gui

LOAD_FILE = "load.bin"
LOAD_SIZE = 2 * 1024 * 1024


@pytest.fixture
def pair(tk_root: tk.Tk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WindowPair]:
    monkeypatch.setenv("FILECAST_CONFIG_DIR", str(tmp_path / "config"))
    offered = tmp_path / "offered"
    offered.mkdir()
    (offered / LOAD_FILE).write_bytes(os.urandom(LOAD_SIZE))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    windows = WindowPair(tk_root, [offered / LOAD_FILE], tmp_path / "ledger" / "Clients.txt",
                         downloads)
    try:
        yield windows
    finally:
        windows.close()


def connect_client_window(pair: WindowPair) -> None:
    window = pair.client
    window.connect_panel.set_host(pair.address)
    window.connect_panel.connect_button.invoke()
    pump_until(pair.root, lambda: window.stage in (cw.READY, cw.DISCONNECTED), what="connect")
    assert window.stage == cw.READY, window.error
    window.file_panel.name_entry.insert(0, LOAD_FILE)
    window.file_panel.check_button.invoke()
    pump_until(pair.root, lambda: window.stage != cw.CHECKING, what="the answer")
    assert window.stage == cw.ASKING, window.error or window.file_panel.answer


@pytest.mark.parametrize(("clients", "where"), [
    (0, "threads"), (1, "threads"), (300, "threads"),
    (300, "process"),  # as on a real server: only the server's threads beside the window
])
def test_the_server_window_keeps_every_row_and_keeps_answering(
        pair: WindowPair, tmp_path: Path, clients: int, where: str,
        record_property: Callable[[str, object], None]) -> None:
    pair.serving()
    connect_client_window(pair)
    window = pair.client

    def press_yes() -> None:  # while the load clients download
        window.file_panel.yes_button.invoke()

    report = run_load(pair, clients, LOAD_FILE, tmp_path / "scratch", timeout=60.0,
                      during=press_yes, separate_process=where == "process", min_seconds=1.0)
    assert report.errors == []
    assert report.verified == clients
    pump_until(pair.root, lambda: window.stage == cw.READY and window.result is not None,
               what="the client window's download")
    saved = pair.downloads / LOAD_FILE
    assert saved.read_bytes() == pair.files[0].read_bytes()
    assert "SHA-256 was verified" in window.download_panel.result

    rows = pair.rows()
    assert len(rows) == clients + 1  # every visit, the client window's too
    states = sorted(r["state"] for r in rows)
    mine = [r for r in rows if r["who"].startswith("gui-person (")]
    assert len(mine) == 1 and mine[0]["state"] == "downloaded and verified"
    assert states.count("downloaded and verified · disconnected") == clients
    assert pair.server.table.counts.downloaded == clients + 1
    assert pair.server.status_bar.text.startswith(f"1 connected  ·  0 downloading  ·  "
                                                  f"{clients + 1} downloaded")

    # The window still answers a click at once after the flood.
    before = len(pair.server.dialogs.calls)
    pair.server.address_panel.copy_buttons[0].invoke()
    assert len(pair.server.dialogs.calls) == before + 1

    line = f"[clients in {where}] {report.line()}"
    numbers = {"clients_in": where, **report.as_dict()}
    (tmp_path / "gui-lag.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (tmp_path / "gui-lag.txt").write_text(line + "\n")
    record_property("gui_lag", json.dumps(numbers))
    record_property("gui_lag_file", str(tmp_path / "gui-lag.txt"))
    print(line)


# --- Stop/Start with clients connected ---------------------------------------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def stop_start_cycles(pair: WindowPair, cycles: int) -> None:
    """``cycles`` times: three clients connect (keep-alive), Stop cuts them, Start again."""
    port = pair.serving()
    panel = pair.server.address_panel
    rows = len(pair.rows())
    for cycle in range(cycles):
        visits = [FilecastClient(HOST, port, client_id=f"cycle-client-{i:04d}",
                                 name=f"cycle-{cycle}-{i}", timeout=5.0, retries=0)
                  for i in range(3)]
        for visit in visits:
            visit.connect()  # the server answers from its own threads
        pump_until(pair.root, lambda: pair.server.table.counts.connected == 3,
                   what="three clients connected")
        panel.toggle_button.invoke()  # Stop
        pump_until(pair.root, lambda: panel.serving is Serving.STOPPED
                   and panel.toggle_button.instate(["!disabled"]), what="stopped")
        for visit in visits:
            visit.close()
        panel.toggle_button.invoke()  # Start, on the same port
        pump_until(pair.root, lambda: panel.serving is Serving.SERVING
                   and panel.toggle_button.instate(["!disabled"]), what="serving again")
        assert pair.server.server is not None and pair.server.server.port == port
    pump_until(pair.root, lambda: pair.server.table.counts.connected == 0,
               what="every cycle's clients gone")
    assert len(pair.rows()) == rows + 3 * cycles
    assert pair.server.table.counts.connected == 0


def check_no_leaks(pair: WindowPair, cycles: int) -> None:
    pair.serving()
    stop_start_cycles(pair, 2)  # warm up: the first Start and lazy imports open things
    pump_until(pair.root, lambda: not pair.server.busy, what="the window's jobs")
    threads, fds = threading.active_count(), fd_count()
    stop_start_cycles(pair, cycles)
    # Threads of the window's finished jobs and the clients' closed sockets go a moment later.
    pump_until(pair.root, lambda: threading.active_count() <= threads + 2
               and fd_count() <= fds + 2, timeout=10,
               what=f"threads ≤ {threads} + 2 and fds ≤ {fds} + 2 (now "
                    f"{threading.active_count()} and {fd_count()})")


def test_stop_start_ten_times_with_clients_leaks_nothing(pair: WindowPair) -> None:
    check_no_leaks(pair, 10)


@pytest.mark.slow
def test_stop_start_a_hundred_times_with_clients_leaks_nothing(pair: WindowPair) -> None:
    check_no_leaks(pair, 100)
