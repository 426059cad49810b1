#!/usr/bin/env python3
"""Regenerate the README's pictures of the two windows: docs/screenshots/*.png.

    python3 docs/screenshots/make.py                      # 1280x800 at 96 dpi
    python3 docs/screenshots/make.py --screen 1024x600    # a small laptop: *-1024x600.png
    python3 docs/screenshots/make.py --screen 2560x1600 --dpi 192   # HiDPI: *-192dpi.png

Needs Xvfb and ImageMagick's ``import`` (Debian: ``apt-get install xvfb imagemagick
fonts-dejavu-core``). It starts a private Xvfb (1280x800x24) on a free display, opens the
server window and the client window in this process (one Tk, the client in a Toplevel),
offers a file from a temporary folder on 127.0.0.1 only, drives real engine clients at it
(some throttled so they are mid-download when the picture is taken), and captures each window
with ``import -window``. Writes server.png, client-ask.png, client-downloading.png,
client-done.png and client-many.png next to this script; settings, downloads and the
ledger stay in the temporary folder, which is removed at the end.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

SCREEN = "1280x800"
DPI = 96
SUFFIX = ""  # added to every picture's name for the other screens
OFFERED = "Physics-Week-12-Worksheets.zip"
SIZE = 48 * 1000 * 1000
PORT = 5001  # the default, so the pictures show what people will see (0 when taken)
MiB = 1024 * 1024


# --- a private X display -------------------------------------------------------------------


def start_xvfb() -> subprocess.Popen[bytes]:
    """Xvfb on the first free display from :90; sets DISPLAY for this process."""
    for number in range(90, 200):
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SCREEN}x24",
                                   "-dpi", str(DPI),
                                   "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                os.environ["DISPLAY"] = f":{number}"
                time.sleep(0.2)
                return server
            time.sleep(0.05)
        server.terminate()
        server.wait()
    raise SystemExit("make.py: could not start Xvfb on any display from :90 to :199")


# --- the windows -------------------------------------------------------------------------


class Quiet:
    """Dialogs that never open (a picture needs none)."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: None


RATES: dict[str, float] = {}  # thread name → bytes a second, for the downloads held back


def hold_back_reads() -> None:
    """Make chosen downloads as slow as a classroom's Wi-Fi, so they are mid-way when the
    picture is taken: the engine reads a body with ``HTTPResponse.readinto`` in the
    download's own thread, and in the threads named in RATES each read now waits its turn.
    (Loopback would finish 48 MB between two progress events.)"""
    original = http.client.HTTPResponse.readinto

    def readinto(self: http.client.HTTPResponse, buffer: Any) -> int:
        rate = RATES.get(threading.current_thread().name, 0.0)
        if not rate:
            return original(self, buffer)
        got = original(self, memoryview(buffer)[: 64 * 1024])
        time.sleep(got / rate)
        return got

    http.client.HTTPResponse.readinto = readinto  # type: ignore[method-assign,assignment]
    original_read = http.client.HTTPResponse.read

    def read(self: http.client.HTTPResponse, amount: int | None = None) -> bytes:
        # an archive is read with read(n), which does not go through readinto
        rate = RATES.get(threading.current_thread().name, 0.0)
        got = original_read(self, amount)
        if rate and amount:
            time.sleep(len(got) / rate)
        return got

    http.client.HTTPResponse.read = read  # type: ignore[method-assign,assignment]


class Progress:
    """A listener that remembers how far a download got (and passes events on)."""

    def __init__(self, forward: Any = None) -> None:
        self.forward = forward
        self.received, self.size = 0, 1

    def on_event(self, event: Any) -> None:
        from core.events import DownloadProgress, DownloadStarted

        if self.forward is not None:
            self.forward.on_event(event)
        if isinstance(event, DownloadStarted):
            self.size = max(1, event.size)
        elif isinstance(event, DownloadProgress):
            self.received = event.received

    @property
    def fraction(self) -> float:
        return self.received / self.size


def pump(root: Any, done: Callable[[], object], timeout: float, what: str) -> None:
    """Run the Tk loop until ``done()``; SystemExit after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"make.py: timed out waiting for {what}")
        root.update()
        time.sleep(0.01)


def settle(root: Any, seconds: float = 0.4) -> None:
    """Let the window redraw everything (the pump ticks every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.01)


def capture(root: Any, top: Any, name: str) -> Path:
    """The window, as it is on the screen, into ``name`` (PNG, no metadata)."""
    top.lift()
    settle(root)
    window = top.wm_frame()
    stem, _, ext = name.rpartition(".")
    path = HERE / f"{stem}{SUFFIX}.{ext}"
    subprocess.run(["import", "-window", window, "-strip", "-define", "png:compression-level=9",
                    str(path)], check=True)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(("127.0.0.1", PORT))
        except OSError:
            return 0
    return PORT


# --- the clients ---------------------------------------------------------------------------


def visit(port: int, name: str, action: str, folder: Path, rate: float = 0.0,
          keep: list[Any] | None = None) -> Progress:
    """One engine client doing ``action`` in a thread of its own (held to ``rate`` bytes a
    second while downloading, when given); how far its download got."""
    from core.client.visit import FilecastClient
    from core.errors import FilecastError

    progress = Progress()
    client = FilecastClient("127.0.0.1", port, client_id=f"shot-{name.lower():0<8}",
                            name=name, listener=progress, timeout=30.0, retries=0)
    if keep is not None:
        keep.append(client)
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    if rate:
        RATES[f"shot-{name}"] = rate

    def run() -> None:
        try:
            client.connect()
            if action == "connect":  # stays, told the file, deciding
                return
            if action == "leave":
                client.close()
                return
            if action == "missing":
                client.check("Week-12.zip")
                return
            client.check(OFFERED)
            if action == "decline":
                client.decline(OFFERED)
                client.close()
                return
            client.download(OFFERED, target)
            if action == "download-leave":
                client.close()
        except FilecastError:
            client.close()

    threading.Thread(target=run, name=f"shot-{name}", daemon=True).start()
    return progress


def main() -> int:
    global SCREEN, DPI, SUFFIX
    args = sys.argv[1:]
    if "--screen" in args:
        SCREEN = args[args.index("--screen") + 1]
    if "--dpi" in args:
        DPI = int(args[args.index("--dpi") + 1])
    SUFFIX = f"-{DPI}dpi" if DPI != 96 else ("" if SCREEN == "1280x800" else f"-{SCREEN}")
    for tool in ("Xvfb", "import"):
        if shutil.which(tool) is None:
            raise SystemExit(f"make.py: '{tool}' is missing (apt-get install xvfb imagemagick)")
    xvfb = start_xvfb()
    hold_back_reads()
    socket.gethostname = lambda: "physics-lab"  # the server's name, as clients are told it
    work = Path(tempfile.mkdtemp(prefix="filecast-"))
    os.environ["FILECAST_CONFIG_DIR"] = str(work / "settings")
    clients: list[Any] = []
    try:
        return shoot(work, clients)
    finally:
        for client in clients:
            client.cancel()
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(work, ignore_errors=True)


def shoot(work: Path, clients: list[Any]) -> int:
    import tkinter as tk

    from core.client.visit import FilecastClient
    from core.gui import client_window as cw
    from core.gui.client_window import ClientWindow
    from core.gui.server_address_panel import Serving
    from core.gui.server_window import ServerWindow
    from core.gui.style import apply_style, set_icon

    offered = work / "Teacher" / OFFERED
    offered.parent.mkdir(parents=True)
    with open(offered, "wb") as out:  # incompressible, like a real zip
        for _ in range(SIZE // MiB):
            out.write(os.urandom(MiB))
        out.write(os.urandom(SIZE % MiB))
    downloads = work / "Downloads"
    downloads.mkdir()
    others = work / "others"

    root = tk.Tk(className="Filecast")
    apply_style(root)
    set_icon(root, "server")
    root.geometry("+0+0")
    server = ServerWindow(root, [str(offered)], free_port(), str(work / "Teacher" / "Clients.txt"),
                          dialogs=Quiet(), host="127.0.0.1")  # type: ignore[arg-type]
    pump(root, lambda: server.address_panel.serving is Serving.SERVING
         and server.offer_panel.digest, 20, "the server window to serve")
    assert server.server is not None
    port = server.server.port

    # The server window, with a class's worth of visits in every state.
    def rows() -> list[str]:
        return [str(r.state_text) for r in server.table.rows.values()]

    def then(name: str, action: str, state: str, rate: float = 0.0) -> Progress:
        progress = visit(port, name, action, others, rate, clients)
        pump(root, lambda: any(r.client.name == name and state in r.state_text
                               for r in server.table.rows.values()), 20, f"{name}: {state}")
        return progress

    then("Ben", "download-leave", "verified · disconnected")
    then("Chloe", "decline", "declined · disconnected")
    then("Dev", "missing", "does not exist")
    then("Farid", "leave", "disconnected")
    cut = then("Emma", "download", "downloading", rate=6 * MiB)
    pump(root, lambda: cut.fraction > 0.3, 20, "Emma's download to pass 30%")
    clients[-1].cancel()  # her laptop lid closes mid-download
    pump(root, lambda: any("interrupted" in s for s in rows()), 20, "the interrupted row")
    clients[-1].close()
    then("Jonas", "connect", "told the file")
    slow = [then(name, "download", "downloading", rate=rate * MiB)
            for name, rate in (("Grace", 1.5), ("Hiro", 3.0), ("Ines", 5.0))]
    pump(root, lambda: slow[0].fraction > 0.08, 30, "the downloads to get going")
    server.people.expected = server.people.roster.set_expected(
        ["Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kalani",
         "Lucía"])
    server.people.dirty = True
    settle(root, 1.0)  # the speeds settle
    capture(root, root, "server.png")
    server.tabs.select(server.clients_panel)
    server.clients_panel.tree.yview_moveto(0)
    capture(root, root, "server-connections.png")
    server.tabs.select(server.people.panel)

    # A set: a week's folder added while serving, in the Files tab (issue 12).
    week = work / "Teacher" / "Week 12"
    (week / "answers").mkdir(parents=True)
    for n, size in enumerate((180_000, 240_000, 95_000, 310_000), 1):
        (week / f"worksheet {n}.pdf").write_bytes(os.urandom(size))
    (week / "answers" / "key.pdf").write_bytes(os.urandom(52_000))
    (week / ".DS_Store").write_bytes(b"junk")
    server.offer_files([str(week)])
    pump(root, lambda: len(server.files_panel.shown_names()) == 6
         and all(f.sha256 for f in server.offer.state.files), 30, "the added folder")
    server.tabs.select(server.files_panel)
    capture(root, root, "server-set.png")
    server.tabs.select(server.people.panel)

    # The client window: asking, downloading, done.
    progress = Progress()

    def factory(host: str, port_: int, listener: Any) -> FilecastClient:
        progress.forward = listener
        return FilecastClient(host, port_, client_id="shot-client-window", name="Sam",
                              listener=progress)

    top = tk.Toplevel(root)
    top.geometry("+0+0")
    root.withdraw()  # one window on the screen at a time
    window = ClientWindow(top, None, Quiet(), client_factory=factory)  # type: ignore[arg-type]
    window.folder = downloads
    window.download_panel.set_folder(downloads)
    window.connect_panel.set_host(f"127.0.0.1:{port}")
    window.connect_panel.set_name("Sam")
    window.connect_panel.connect_button.invoke()
    pump(root, lambda: window.stage == cw.READY, 20, "the client window to connect")
    window.file_panel.name_entry.insert(0, OFFERED)
    window.file_panel.check_button.invoke()
    pump(root, lambda: window.stage == cw.ASKING, 20, "the question")
    capture(root, top, "client-ask.png")

    RATES["filecast-gui-worker"] = 4.5 * MiB  # the window's download thread
    window.file_panel.yes_button.invoke()
    pump(root, lambda: progress.fraction > 0.42, 30, "the client's download to pass 42%")
    settle(root, 0.3)
    capture(root, top, "client-downloading.png")

    RATES.clear()  # full speed to the end
    pump(root, lambda: window.result is not None, 60, "the client's download to finish")
    settle(root)
    capture(root, top, "client-done.png")

    # A selection: every offered file, the small ones at once (issue 12).
    progress.received = 0
    RATES["filecast-gui-worker"] = 0.15 * MiB
    window.file_panel.all_button.invoke()
    pump(root, lambda: window.stage == cw.ASKING, 20, "the selection's question")
    window.file_panel.yes_button.invoke()
    pump(root, lambda: "at once" in window.file_panel.answer and progress.fraction > 0.35, 30,
         "the files taken at once to pass 35%")
    settle(root, 0.1)
    capture(root, top, "client-many.png")
    RATES.clear()
    window.cancel()
    pump(root, lambda: window.stage not in cw.BUSY, 30, "the selection to stop")

    if window.client is not None:
        window.client.cancel()
    window._leave()
    top.destroy()
    server.closed = True
    server.pump.stop()
    server._shut_down()
    root.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
