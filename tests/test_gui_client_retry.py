"""An honest client window while the server is away (issue 11, item 4): it keeps trying
until the person cancels and says when it tries next, never says "Connected", keeps the
bar at what is saved through Cancel and Retry, and shows progress while a resume re-reads
the part it kept.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

from guikit import pump_until
from serverkit import Background
from test_gui_client import BIG_SIZE, Served, connect, finished, make_window, start_held_download
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_client import downloads as downloads
from test_gui_client import offered as offered
from test_gui_client import served as served

from core.client.visit import FilecastClient
from core.events import DownloadProgress, DownloadRechecking, DownloadStarted, Listener
from core.gui import client_window as cw
from core.gui.client_download_panel import DownloadPanel
from core.gui.style import apply_style


def patient_client(host: str, port: int, listener: Listener) -> FilecastClient:
    """The window's own kind of client (no retry limit), with quick tries for the test."""
    return FilecastClient(host, port, listener=listener, timeout=2.0, retries=None,
                          backoff=0.05)


def server_line(window: cw.ClientWindow) -> str:
    return str(window.connect_panel.status_label.cget("text"))


def bar(window: cw.ClientWindow) -> float:
    return float(window.download_panel.progress_bar.cget("value"))


def test_away_server_cancel_retry_and_back_keeps_the_bar_and_never_says_connected(
        tk_root: tk.Tk, served: Served, downloads: Path, offered: list[Path]) -> None:
    window = make_window(tk_root, downloads)
    window._factory = patient_client
    connect(tk_root, window, served.address)
    port = served.server.port
    start_held_download(tk_root, window, served)
    stopping = Background(served.server.stop)
    served.gate.release()
    stopping.join()
    pump_until(tk_root, lambda: "(attempt 6)" in window.download_panel.status, timeout=20,
               what="six tries, and still trying")
    assert window.stage == cw.DOWNLOADING  # it did not give up after five
    assert "Trying again" in server_line(window) and "Connected" not in server_line(window)
    kept = bar(window)
    assert kept > 0

    window.download_panel.cancel_button.invoke()
    pump_until(tk_root, lambda: finished(window), what="the cancel")
    assert "Connected" not in server_line(window), server_line(window)
    assert "stopped answering at" in server_line(window)
    assert bar(window) == kept
    status = window.download_panel.status
    assert "of 8.4 MB" in status and "Retry resumes it" in status, status

    window.download_panel.retry_button.invoke()  # the server is still away
    assert window.stage == cw.DOWNLOADING and bar(window) == kept
    pump_until(tk_root, lambda: "(attempt 2)" in window.download_panel.status, timeout=20,
               what="a retry while the server is away")
    assert bar(window) == kept

    served.start(port)  # the server is back: the running retry gets the rest by itself
    pump_until(tk_root, lambda: finished(window), timeout=30, what="the resumed download")
    assert window.error == "", window.error
    assert "SHA-256 was verified" in window.download_panel.result
    assert (downloads / "big.bin").read_bytes() == offered[1].read_bytes()
    assert server_line(window).startswith("Connected to"), server_line(window)


def test_a_resume_shows_its_reread_of_the_part_and_keeps_the_bar(tk_root: tk.Tk) -> None:
    apply_style(tk_root)
    panel = DownloadPanel(tk_root, on_change_folder=lambda: None, on_cancel=lambda: None,
                          on_retry=lambda: None, on_open_folder=lambda: None)
    panel.start("big.bin")
    panel.started(DownloadStarted("big.bin", BIG_SIZE, 4_000_000))
    panel.rechecking(DownloadRechecking("big.bin", 1_000_000, 4_000_000))
    assert panel.status == "Checking the 4.0 MB already saved: 25%…"
    assert float(panel.progress_bar.cget("value")) == 4_000_000
    panel.progress(DownloadProgress("big.bin", 5_000_000, BIG_SIZE, 1e6, 3.0))
    assert panel.status.startswith("Checking the 4.0 MB")  # the re-read is what holds it up
    assert float(panel.progress_bar.cget("value")) == 5_000_000
    panel.rechecking(DownloadRechecking("big.bin", 4_000_000, 4_000_000))
    panel.progress(DownloadProgress("big.bin", 6_000_000, BIG_SIZE, 1e6, 2.0))
    assert panel.status.startswith("6.0 MB of 8.4 MB")
    panel.destroy()
