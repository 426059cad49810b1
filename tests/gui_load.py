"""Both windows in one process, and load on the server window, measured.

No pytest here, so bench/ (or a script) can import it: put ``tests/`` on ``sys.path`` and

    from gui_load import WindowPair, run_load

:class:`WindowPair` opens the server window in a ``tk.Tk`` and the client window in a
``tk.Toplevel`` of it (never two Tk roots: they would share one event queue), both on
127.0.0.1 with real sockets. :func:`run_load` sends N engine clients
(:class:`core.client.visit.FilecastClient`, one thread each) at the server window, all downloading
at the same moment, while the Tk loop keeps running the way ``mainloop`` would, and reports
the server window's ``after()`` lag (``EventPump.lag_stats``): how late its 50 ms drain tick
ran, which is how late anything a person clicked would have been answered.
"""

from __future__ import annotations

import _tkinter
import gc
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.client.visit import FilecastClient
from core.events import Listener
from core.gui.client_window import ClientWindow
from core.gui.server_address_panel import Serving
from core.gui.server_window import ServerWindow
from core.gui.style import apply_style

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


def pump_while(root: tk.Misc, busy: Callable[[], object], timeout: float,
               what: str = "condition") -> float:
    """Run Tk's event loop while ``busy()`` is truthy, like ``mainloop`` would (every due
    event, then a 1 ms nap); the seconds it took. TimeoutError after ``timeout`` s."""
    start = time.monotonic()
    deadline = start + timeout
    while busy():
        # Checked between events too: a layout that never settles (a <Configure> loop)
        # keeps Tk busy forever and must fail here, not hang the run.
        while root.tk.dooneevent(_tkinter.DONT_WAIT):
            if time.monotonic() > deadline:
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.001)
    return time.monotonic() - start


def pump_until(root: tk.Misc, done: Callable[[], object], timeout: float = 15.0,
               what: str = "condition") -> float:
    """:func:`pump_while` the other way round."""
    return pump_while(root, lambda: not done(), timeout, what)


class QuietDialogs:
    """Dialogs that never open: no file, no folder, 'no' to every question (recorded)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def choose_file(self, *args: Any, **kwargs: Any) -> str | None:
        self.calls.append(("choose_file", args))
        return None

    def choose_files(self, *args: Any, **kwargs: Any) -> list[str]:
        self.calls.append(("choose_file", args))
        return []

    def choose_folder(self, *args: Any, **kwargs: Any) -> str | None:
        self.calls.append(("choose_folder", args))
        return None

    def ask_yes_no(self, *args: Any) -> bool:
        self.calls.append(("ask_yes_no", args))
        return False

    def show_error(self, *args: Any) -> None:
        self.calls.append(("show_error", args))

    def open_path(self, *args: Any) -> None:
        self.calls.append(("open_path", args))

    def copy_text(self, *args: Any) -> None:
        self.calls.append(("copy_text", args))


def client_factory(name: str = "gui-person", *, timeout: float = 10.0, retries: int = 5,
                   backoff: float = 0.5) -> Callable[[str, int, Listener], FilecastClient]:
    """The client window's engine client, with a display name the server table shows."""

    def make(host: str, port: int, listener: Listener) -> FilecastClient:
        return FilecastClient(host, port, client_id="gui-window-client-0001", name=name,
                              listener=listener, timeout=timeout, retries=retries,
                              backoff=backoff)

    return make


@dataclass
class WindowPair:
    """The server window in ``root``, the client window in a Toplevel of it, on 127.0.0.1.

    ``downloads`` is the client window's download folder; the server's ledger is
    ``ledger`` (Clients.txt). Close with :meth:`close` (main thread), before ``root`` goes.
    """

    root: tk.Tk
    files: list[Path]
    ledger: Path
    downloads: Path
    server_dialogs: Any = field(default_factory=QuietDialogs)
    client_dialogs: Any = field(default_factory=QuietDialogs)
    factory: Callable[[str, int, Listener], FilecastClient] = field(
        default_factory=client_factory)
    server: ServerWindow = field(init=False)
    client: ClientWindow = field(init=False)
    client_top: tk.Toplevel = field(init=False)

    def __post_init__(self) -> None:
        apply_style(self.root)
        self.server = ServerWindow(self.root, [str(f) for f in self.files], 0, str(self.ledger),
                                   dialogs=self.server_dialogs, host=HOST)
        self.client_top = tk.Toplevel(self.root)
        self.client_top.geometry("+40+40")
        self.client = ClientWindow(self.client_top, None, self.client_dialogs,
                                   client_factory=self.factory)
        self.client.folder = self.downloads
        self.client.download_panel.set_folder(self.downloads)

    def serving(self, timeout: float = 15.0) -> int:
        """Wait until the server window serves with its digest shown; its port."""
        window = self.server
        pump_until(self.root, lambda: window.address_panel.serving is Serving.SERVING
                   and window.address_panel.toggle_button.instate(["!disabled"])
                   and not window.offer_panel.hashing and window.offer.state.files
                   and all(f.sha256 for f in window.offer.state.files),
                   timeout, "the server window to serve")
        assert window.server is not None
        return window.server.port

    @property
    def address(self) -> str:
        assert self.server.server is not None
        return f"{HOST}:{self.server.server.port}"

    def rows(self) -> list[dict[str, str]]:
        """The server table as a person reads it: one dict of column → text per row."""
        tree = self.server.clients_panel.tree
        columns = [str(c) for c in tree.cget("columns")]
        return [dict(zip(columns, (str(v) for v in tree.item(iid, "values")), strict=True))
                for iid in tree.get_children()]

    def close(self) -> None:
        """Cancel the client window's visit, stop the engine (here, on the main thread)."""
        if self.client.alive:
            if self.client.client is not None:
                self.client.client.cancel()
            self.client._leave()
            self.client.pump.stop()
            self.client_top.destroy()
        if not self.server.closed:
            self.server.closed = True
            self.server.pump.stop()
            self.server.status_bar.cancel_note()  # the status bar's passing note
            self.server._shut_down()
        gc.collect()  # on the main thread: see tests/guikit.py


class LagProbe:
    """An after() heartbeat of its own, every ``interval_ms``: how late each beat ran.

    Unlike ``EventPump.lag_stats`` (whose lag starts after the previous drain has ended), it
    also catches time spent inside a drain or any other callback: the wait a click would see.
    """

    def __init__(self, root: tk.Misc, interval_ms: int = 20) -> None:
        self.root, self.interval = root, interval_ms
        self.lags: list[float] = []
        self._job: str | None = None
        self._due = 0.0

    def start(self) -> None:
        self._due = time.monotonic() + self.interval / 1000
        self._job = self.root.after(self.interval, self._beat)

    def _beat(self) -> None:
        self.lags.append(max(0.0, time.monotonic() - self._due))
        self.start()

    def stop(self) -> dict[str, float]:
        """Stop beating; p50, p99 and max lateness in ms, and how many beats."""
        if self._job is not None:
            self.root.after_cancel(self._job)
            self._job = None
        data = sorted(self.lags) or [0.0]
        return {"p50": data[len(data) // 2] * 1000,
                "p99": data[min(len(data) - 1, int(0.99 * len(data)))] * 1000,
                "max": data[-1] * 1000, "beats": float(len(self.lags))}


@dataclass
class LoadReport:
    """What :func:`run_load` saw."""

    clients: int
    seconds: float
    lag_ms: dict[str, float]  # the server window's EventPump.lag_stats()
    client_window_lag_ms: dict[str, float]  # the client window's
    probe_ms: dict[str, float]  # LagProbe: any after() callback's lateness
    verified: int
    errors: list[str]

    def line(self) -> str:
        """One line for a log: ``300 clients in 4.1 s: after() lag p50 1.0 / p99 ...``."""
        lag, probe = self.lag_ms, self.probe_ms
        return (f"{self.clients} clients in {self.seconds:.1f} s, {self.verified} verified: "
                f"server window pump after() lag p50 {lag['p50']:.1f} / p99 {lag['p99']:.1f} / "
                f"max {lag['max']:.1f} ms over {int(lag['ticks'])} ticks, longest drain "
                f"{lag['drain_max']:.1f} ms; 20 ms probe late p50 {probe['p50']:.1f} / "
                f"p99 {probe['p99']:.1f} / max {probe['max']:.1f} ms")

    def as_dict(self) -> dict[str, Any]:
        """The numbers, rounded, for a JSON file."""
        def rounded(d: dict[str, float]) -> dict[str, float]:
            return {k: round(v, 2) for k, v in d.items()}

        return {"clients": self.clients, "seconds": round(self.seconds, 2),
                "verified": self.verified, "server_window_lag_ms": rounded(self.lag_ms),
                "client_window_lag_ms": rounded(self.client_window_lag_ms),
                "probe_ms": rounded(self.probe_ms), "errors": len(self.errors)}


class LoadClients:
    """``count`` engine clients in threads of their own: each connects and checks
    ``file_name``, all wait at a gate, then download it together (each into its own folder
    under ``scratch``, deleted once verified) and leave."""

    def __init__(self, port: int, count: int, file_name: str, scratch: Path,
                 timeout: float = 60.0) -> None:
        self.port, self.count, self.file_name = port, count, file_name
        self.scratch, self.timeout = scratch, timeout
        self.gate = threading.Barrier(count + 1) if count else None
        self.verified = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._visit, args=(i,), daemon=True,
                                         name=f"load-client-{i}") for i in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def all_connected(self) -> bool:
        """Every client is at the gate (or one failed, and the gate is broken)."""
        return self.gate is None or self.gate.broken or self.gate.n_waiting >= self.count

    def go(self) -> None:
        """Open the gate (without blocking the caller)."""
        if self.gate is not None and not self.gate.broken:
            threading.Thread(target=self.gate.wait, args=(self.timeout,), daemon=True).start()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def _visit(self, index: int) -> None:
        folder = self.scratch / f"client-{index:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with FilecastClient(HOST, self.port, client_id=f"load-client-{index:04d}",
                                name=f"load-{index:03d}", timeout=30.0, retries=3,
                                backoff=0.2) as client:
                client.connect()
                info = client.check(self.file_name)
                assert self.gate is not None
                self.gate.wait(self.timeout)
                result = client.download(self.file_name, folder, info=info)
                with self._lock:
                    self.verified += int(result.verified)
        except Exception as exc:  # reported, not raised: the caller asserts on the report
            if self.gate is not None:
                self.gate.abort()
            with self._lock:
                self.errors.append(f"client {index}: {exc!r}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class ClientsProcess:
    """:class:`LoadClients` in a child process (this file run as a script), so the window's
    process holds only the server's threads, as on a real classroom's server. Same face."""

    def __init__(self, port: int, count: int, file_name: str, scratch: Path,
                 timeout: float = 60.0) -> None:
        self.count = count
        self.verified = 0
        self.errors: list[str] = []
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._ready = count == 0
        self._command = [sys.executable, str(Path(__file__).resolve()), str(port), str(count),
                         file_name, str(scratch), str(timeout)]
        self._child: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get(
            "PYTHONPATH", "")]).rstrip(os.pathsep))
        self._child = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, env=env)
        out = self._child.stdout
        assert out is not None

        def read_lines() -> None:
            for line in out:
                self._lines.put(line)

        threading.Thread(target=read_lines, daemon=True, name="load-clients-reader").start()

    def _read(self) -> None:
        while not self._lines.empty():
            line = self._lines.get()
            if line.strip() == "READY":
                self._ready = True
            elif line.startswith("{"):
                result = json.loads(line)
                self.verified, self.errors = result["verified"], result["errors"]

    def all_connected(self) -> bool:
        self._read()
        return self._ready or not self.running()

    def go(self) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write("GO\n")
        self._child.stdin.flush()

    def running(self) -> bool:
        assert self._child is not None
        alive = self._child.poll() is None
        if not alive:
            time.sleep(0.05)  # the reader's last line
            self._read()
            if self._child.returncode and not self.errors:
                self.errors = [f"the clients' process exited with {self._child.returncode}"]
        return alive


def _child_main(argv: list[str]) -> int:
    """``gui_load.py PORT COUNT FILE SCRATCH TIMEOUT``: LoadClients, READY, wait for GO."""
    port, count, file_name, scratch, timeout = argv
    clients = LoadClients(int(port), int(count), file_name, Path(scratch), float(timeout))
    clients.start()
    while not clients.all_connected():
        time.sleep(0.01)
    print("READY", flush=True)
    sys.stdin.readline()
    clients.go()
    for thread in clients.threads:
        thread.join()
    print(json.dumps({"verified": clients.verified, "errors": clients.errors}), flush=True)
    return 0


def run_load(pair: WindowPair, clients: int, file_name: str, scratch: Path, *,
             timeout: float = 60.0, during: Callable[[], None] | None = None,
             min_seconds: float = 2.0, separate_process: bool = False) -> LoadReport:
    """``clients`` engine clients (:class:`LoadClients`; in a child process when
    ``separate_process``) connect, check ``file_name``, wait for each other, then all
    download it at once and leave, while the Tk loop runs. ``during`` runs on the main
    thread once they are all connected (e.g. press Yes in the client window). Lag is
    measured from the first connect to the last client gone and its rows drawn, and over
    at least ``min_seconds``.

    In this process, the clients' own threads (reading, hashing, writing) compete with the
    window for the GIL, which a real server's window does not have to: the numbers are a
    worst case. ``separate_process`` measures what a classroom's server would see."""
    port = pair.serving()
    kind = ClientsProcess if separate_process else LoadClients
    load = kind(port, clients, file_name, scratch, timeout)
    window = pair.server
    window.pump.reset_stats()
    pair.client.pump.reset_stats()
    probe = LagProbe(pair.root)
    probe.start()
    started = time.monotonic()
    load.start()
    # Pump (never block the Tk thread) until every client is connected, then let all go.
    pump_until(pair.root, load.all_connected, timeout, "every load client to connect")
    if clients:
        load.go()
    if during is not None:
        during()
    pump_while(pair.root, load.running, timeout, "the load clients to finish")
    gone = window.table.counts
    pump_until(pair.root, lambda: gone.connected <= (1 if pair.client.client else 0)
               and not window._dirty, timeout, "the rows to settle")
    seconds = time.monotonic() - started
    pump_while(pair.root, lambda: time.monotonic() - started < min_seconds, min_seconds + 1)
    return LoadReport(clients, seconds, window.pump.lag_stats(),
                      pair.client.pump.lag_stats(), probe.stop(), load.verified, load.errors)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
