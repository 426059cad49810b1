"""The server window: offers a file, shows where to connect, who took it, and what happened.

It owns the engine objects (OfferTable, Ledger, FilecastServer) and the window's plumbing
(EventPump, ClientTable), wires the four panels, and runs the lifecycle. It holds no protocol
or file logic: it calls the engine (always off the main thread, one job at a time) and
renders the engine's events, which arrive through the pump.
"""

from __future__ import annotations

import contextlib
import logging
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Any

from core.activity import PLAIN, ServerPrinter
from core.errors import FilecastError
from core.events import (
    ConnectionsShed,
    EngineError,
    HashProgress,
    LedgerFloodLimited,
    OfferChanged,
    OfferedFileView,
    ServerStarted,
    ServerStopped,
)
from core.gui.dialogs import Dialogs
from core.gui.prefs import PORT_KEY, remember, saved_port
from core.gui.pump import EventPump
from core.gui.server_address_panel import AddressPanel, Serving
from core.gui.server_clients_panel import ClientsPanel, StatusBar
from core.gui.server_files_panel import FilesPanel
from core.gui.server_log_panel import LogPanel, open_folder_of, open_ledger
from core.gui.server_model import ClientTable
from core.gui.server_offer_panel import OfferPanel
from core.gui.server_offering import TITLE, Offering
from core.gui.server_roster import RosterKeeper
from core.gui.style import PAD, SMALL_PAD, fit_window
from core.gui.worker import JobQueue, run_in_background
from core.server import FilecastServer, Ledger, OfferTable, ServerConfig
from core.settings import default_ledger, load_settings

log = logging.getLogger("filecast.gui.server")

MIN_SIZE = (800, 540)  # usable at 1024x600 (issue 11)
START_SIZE = (1120, 760)


class ServerWindow(Offering):
    """The whole server window inside ``master`` (a Tk or a Toplevel)."""

    def __init__(self, master: tk.Misc, files: list[str], port: int | None,
                 log_file: str | None, dialogs: Dialogs | None = None,
                 host: str = "") -> None:
        self.master = master
        self.top = master.winfo_toplevel()
        self.dialogs = dialogs if dialogs is not None else Dialogs(master)
        self.host = host
        self.ledger_path = Path(log_file or default_ledger()).expanduser().resolve()
        self.pump = EventPump(master, self._handle, after_batch=self._redraw)
        self.table = ClientTable()
        self.printer = ServerPrinter(voice=PLAIN)  # the window speaks in sentences
        self.offer = OfferTable(listener=self.pump)
        # Written on the main thread only (start_serving hands them over in done()); read by
        # jobs, which run one at a time and after that hand-over.
        self.ledger: Ledger | None = None
        self.server: FilecastServer | None = None
        self._settings = load_settings()
        self._port = port if port is not None else saved_port(self._settings)
        self.jobs = JobQueue(self.pump)  # engine calls, one at a time, off the main thread
        self._closing = False
        self.closed = False
        self._dirty: set[int] = set()
        self._log: list[tuple[float, str]] = []
        self._shown: tuple[OfferedFileView, ...] = ()  # the offer on show
        self._engine_down = False

        self._build()
        self.pump.start()
        self.people.load()
        self.top.protocol("WM_DELETE_WINDOW", self.close)
        for key in ("<Control-o>", "<Control-O>"):
            self.top.bind(key, self._key(self.choose_file))
        for key in ("<Control-q>", "<Control-Q>", "<Control-w>", "<Control-W>"):
            self.top.bind(key, self._key(self.close))
        if files:
            self.offer_files(files)
        else:
            self.master.after_idle(self._first_pick, 40)

    # --- building --------------------------------------------------------------------

    def _build(self) -> None:
        """Offer and address side by side; the client table over the log; a status bar."""
        self.top.title(TITLE)
        scale = fit_window(self.top, MIN_SIZE, START_SIZE)

        self.status_bar = StatusBar(self.master)
        self.status_bar.pack(fill="x", side="bottom")
        ttk.Separator(self.master, orient="horizontal").pack(fill="x", side="bottom")
        self.frame = ttk.Frame(self.master, padding=(PAD, PAD, PAD, 0))
        self.frame.pack(fill="both", expand=True, side="top")
        self.frame.columnconfigure(0, weight=1)
        self.frame.rowconfigure(1, weight=1)

        top = ttk.Frame(self.frame)
        top.grid(row=0, column=0, sticky="ew")
        top.columnconfigure(0, weight=2, uniform="top")
        top.columnconfigure(1, weight=1, uniform="top")
        offer_box = ttk.LabelFrame(top, text="Offered", padding=(PAD, SMALL_PAD),
                                   style="Section.TLabelframe")
        offer_box.grid(row=0, column=0, sticky="nsew")
        offer_box.columnconfigure(0, weight=1)
        offer_box.rowconfigure(0, weight=1)
        self.offer_panel = OfferPanel(offer_box, on_choose=self.choose_file,
                                      on_folder=self.choose_folder,
                                      on_message=self.set_message)
        self.offer_panel.grid(row=0, column=0, sticky="nsew")
        address_box = ttk.LabelFrame(top, text="Clients connect at", padding=(PAD, SMALL_PAD),
                                     style="Section.TLabelframe")
        address_box.grid(row=0, column=1, sticky="nsew", padx=(PAD, 0))
        address_box.columnconfigure(0, weight=1, minsize=int(290 * scale))
        self.address_panel = AddressPanel(address_box, port=self._port,
                                          on_toggle=self.toggle_serving,
                                          on_copy=self.copy_url, on_open=self.open_url)
        self.address_panel.grid(row=0, column=0, sticky="nsew")

        self.panes = ttk.Panedwindow(self.frame, orient="vertical")
        self.panes.grid(row=1, column=0, sticky="nsew", pady=(PAD, 0))
        tabs = ttk.Notebook(self.panes)  # people first; every visit one click away
        self.people = RosterKeeper(tabs, pump=self.pump, dialogs=self.dialogs,
                                   settings=self._settings, note=self.note,
                                   jsonl_path=self.ledger_path.with_suffix(".jsonl"))
        self.clients_panel = ClientsPanel(tabs)
        self.files_panel = FilesPanel(tabs, on_remove=self.remove_files)
        tabs.add(self.people.panel, text="People")
        tabs.add(self.clients_panel, text="Connections")
        tabs.add(self.files_panel, text="Files")
        self.tabs = tabs
        self.log_panel = LogPanel(self.panes, on_open_ledger=self.open_ledger,
                                  on_open_folder=lambda: open_folder_of(
                                      self.ledger_path, self.dialogs, self.note))
        self.log_panel.show_ledger(str(self.ledger_path))
        self.panes.add(tabs, weight=3)
        self.panes.add(self.log_panel, weight=2)
        self.frame.bind("<Destroy>", self._on_destroy, add="+")

    @staticmethod
    def _key(action: Callable[[], None]) -> Callable[[tk.Event[tk.Misc]], str]:
        def handler(_event: tk.Event[tk.Misc]) -> str:
            action()
            return "break"
        return handler

    @property
    def busy(self) -> bool:
        """True while an engine call runs or waits its turn."""
        return self.jobs.busy

    # --- serving ---------------------------------------------------------------------

    def toggle_serving(self) -> None:
        """The Start/Stop button."""
        if self._closing:
            return
        if self.address_panel.serving is Serving.SERVING:
            self.stop_serving()
        elif self.address_panel.serving is Serving.STOPPED:
            self.start_serving()

    def start_serving(self) -> None:
        """Bind the port in the field and serve; a taken port is shown as a sentence."""
        try:
            port = self.address_panel.port()
        except ValueError as error:
            self.address_panel.show(Serving.STOPPED, error=str(error))
            return
        self.address_panel.show(Serving.STARTING, busy=True)
        config = ServerConfig(host=self.host, port=port)
        ledger, server = self.ledger, self.server  # read here, handed back through done()

        def work() -> tuple[Ledger, FilecastServer, FilecastError | None]:
            """Worker: open the ledger, make the server once, bind (slow: disk, DNS)."""
            held = ledger or Ledger(self.ledger_path, listener=self.pump)
            serving = server or FilecastServer(self.offer, held, self.pump, config)
            serving.config = config  # the same server on a restart: client keys stay unique
            try:
                serving.start()
            except FilecastError as error:  # keep what was made for the next attempt
                return held, serving, error
            return held, serving, None

        def done(result: tuple[Ledger, FilecastServer, FilecastError | None]) -> None:
            self.ledger, self.server, error = result  # main thread: the only writer
            if error is not None:
                failed(error)
                return
            if port:
                self._save(**{PORT_KEY: port})
            self.address_panel.show(Serving.SERVING, port=self.server.port)  # enables Stop

        def failed(error: FilecastError) -> None:
            self.address_panel.show(Serving.STOPPED, error=str(error))
            self._note_log(f"Error: {error}")

        self.jobs.add("start", work, done, failed)

    def stop_serving(self) -> None:
        """Stop accepting and cut every connection (up to ~2 s, in a worker)."""
        server = self.server
        if server is None:
            return
        self.address_panel.show(Serving.STOPPING, busy=True)

        def done(_result: None) -> None:
            self.address_panel.show(Serving.STOPPED)

        def failed(error: FilecastError) -> None:
            self.address_panel.show(Serving.STOPPED, error=str(error))

        self.jobs.add("stop", server.stop, done, failed)

    def copy_url(self, url: str) -> None:
        """A Copy button: the URL to the clipboard, and a short note saying so."""
        self.dialogs.copy_text(url)
        self.note(f"Copied {url} to the clipboard.")

    def open_url(self, url: str) -> None:
        """An Open button: the browser page at ``url``, in the person's browser."""
        self.dialogs.open_url(url)

    def open_ledger(self) -> None:
        """Open Clients.txt with the desktop's program."""
        open_ledger(self.ledger_path, self.dialogs, self.note)

    def note(self, text: str, seconds: float = 4.0) -> None:
        """A passing remark at the right of the status bar."""
        self.status_bar.note(text, seconds)

    # --- settings --------------------------------------------------------------------

    def _save(self, **values: Any) -> None:
        """Remember ``values`` in the settings file, in a worker; a failure is logged."""
        def failed(error: FilecastError) -> None:
            self._note_log(f"Error: {error}")

        run_in_background(self.pump, lambda: remember(**values), on_done=lambda _r: None,
                          on_error=failed, name="filecast-gui-settings")

    # --- events ----------------------------------------------------------------------

    def _handle(self, event: Any) -> None:
        """One engine event (main thread): fold it into state; drawing waits for _redraw."""
        if self.closed:
            return
        if isinstance(event, HashProgress):
            self._hash_progress(event)
        elif isinstance(event, OfferChanged):
            self._show_offer(event.files)
            self.people.apply(event)
        elif isinstance(event, ServerStarted):
            self.address_panel.show(Serving.SERVING, port=event.port, busy=True)
            self.address_panel.show_urls(event.urls)
            self.address_panel.set_port(event.port)  # Start after Stop keeps the address
        elif isinstance(event, ServerStopped):
            self._log.append((time.time(), "Stopped serving; the port is free again."))
            if not self._closing:
                self.address_panel.show(Serving.STOPPED, busy=self.jobs.busy)
        else:
            self.people.apply(event)
            key = self.table.apply(event)
            if key is not None:
                self._dirty.add(key)
        line = self.printer.line_for(event)
        if line is not None:
            self._log.append((time.time(), line))
        if isinstance(event, LedgerFloodLimited):  # seen as it happens; the log says more
            self.note(f"Summing ledger lines from {event.address}: over"
                      f" {event.per_minute} a minute.", seconds=15.0)
        elif isinstance(event, ConnectionsShed):
            idle = "idle " if event.idle else ""
            self.note(f"Full: closed {event.count} {idle}connections from {event.address}.",
                      seconds=15.0)
        if isinstance(event, EngineError):
            log.warning("engine: %s", event.message)

    def _note_log(self, line: str) -> None:
        """A line of the window's own (errors of its jobs) into the log."""
        self._log.append((time.time(), line))
        self._redraw()

    def _redraw(self) -> None:
        """Once per pump batch: changed rows, the status bar and new log lines."""
        if self.closed:
            return
        if self._dirty:
            rows = self.table.rows
            self.clients_panel.refresh((k, rows[k]) for k in sorted(self._dirty) if k in rows)
            self._dirty.clear()
        self.status_bar.show(self.table.counts)
        self.address_panel.show_connected(self.table.counts.connected)
        if self._log:
            self.log_panel.add(self._log)
            self._log = []
        self.people.redraw()  # last: the log and counts never wait on the roster

    # --- closing ---------------------------------------------------------------------

    def close(self) -> None:
        """Ask first when clients are downloading; then stop the engine and destroy."""
        if self._closing or self.closed:
            return
        downloading = self.table.counts.downloading
        if downloading:
            who = "1 client is" if downloading == 1 else f"{downloading} clients are"
            if not self.dialogs.ask_yes_no("Stop serving?",
                                           f"{who} downloading. Stop serving and close?",
                                           moot=lambda: not self.table.counts.downloading):
                return
        self._closing = True
        self.jobs.clear()
        if self.server is not None and self.server.running:
            self.address_panel.show(Serving.STOPPING, busy=True)
        self.jobs.add("close", self._shut_down, lambda _r: self._destroy(),
                  lambda _e: self._destroy())

    def _shut_down(self) -> None:
        """Worker: stop serving (cuts downloads, frees the port) and close the files."""
        if self._engine_down:
            return
        self._engine_down = True
        if self.server is not None:
            self.server.close()
        self.offer.close()  # stops its watcher and releases the folders it holds
        if self.ledger is not None:
            self.ledger.close()

    def _destroy(self) -> None:
        """Main thread: the engine is down; take the window away."""
        self.closed = True
        self.jobs.close()
        self.pump.stop()
        self.people.close()
        self.status_bar.cancel_note()
        with contextlib.suppress(tk.TclError):
            self.top.destroy()

    def _on_destroy(self, event: tk.Event[tk.Misc]) -> None:
        """Destroyed without close() (its master went away): still free the port."""
        if event.widget is not self.frame or self.closed:
            return
        self.closed = True
        self.jobs.close()
        self.pump.stop()
        self.people.close()
        run_in_background(self.pump, self._shut_down, on_done=lambda _r: None,
                          on_error=lambda _e: None, name="filecast-gui-shutdown")
