"""The client window: visit a server, ask for a file by name, answer yes or no, download it.

A state machine over the engine's :class:`~core.client.visit.FilecastClient`. It holds no protocol
or file logic: every engine call runs in a worker thread (``run_in_background``), download
events arrive through the window's one :class:`~core.gui.pump.EventPump`, and the panels only
render; downloads are the Downloading mixin's (client_downloading.py). Keyboard: Enter
connects, Enter checks, then y/Enter says yes and n/Escape says no; Escape cancels a download.
"""

from __future__ import annotations

import logging
import tkinter as tk
from collections.abc import Callable
from functools import partial
from pathlib import Path
from tkinter import ttk
from typing import Any

from core.client import DownloadResult, FilecastClient, free_bytes, parse_server
from core.errors import ConnectError, FilecastError, NotOfferedError, ServerGoneError
from core.events import Listener
from core.gui.client_connect_panel import ConnectPanel
from core.gui.client_download_panel import DownloadPanel
from core.gui.client_downloading import Downloading
from core.gui.client_file_panel import FilePanel
from core.gui.client_keys import KeyboardFlow
from core.gui.client_selection import Selecting
from core.gui.client_stages import (
    ASKING,
    BUSY,
    CHECKING,
    CONNECTING,
    DECLINING,
    DISCONNECTED,
    DOWNLOADING,
    READY,
    STAGES,
    may_follow,
)
from core.gui.client_unfinished_panel import UnfinishedPanel
from core.gui.dialogs import Dialogs
from core.gui.prefs import (
    CLIENT_NAME_KEY,
    DOWNLOAD_FOLDER_KEY,
    RECENT_KEY,
    display_name,
    download_folder,
    load_remembered,
    recent_hosts,
    remember_quietly,
    with_recent,
)
from core.gui.pump import EventPump
from core.gui.style import PAD, clip, clip_sentence, wrap_to_width
from core.gui.worker import run_in_background
from core.settings import account_name, client_id
from core.wire import sentences
from core.wire.names import match_name
from core.wire.protocol import FileInfo, Offer, file_in_url

log = logging.getLogger("filecast.gui")

TITLE = "Filecast Client"
CONTENT_WIDTH = 720  # pixels at 96 dpi


ClientFactory = Callable[[str, int, Listener], FilecastClient]


class ClientWindow(Downloading, Selecting, ttk.Frame):
    """Fills ``master`` (a Tk or a Toplevel) with the whole client; ``stage`` is its state."""

    def __init__(self, master: tk.Misc, host: str | None = None,
                 dialogs: Dialogs | None = None, *,
                 client_factory: ClientFactory | None = None) -> None:
        super().__init__(master, padding=PAD)
        self.top = self.winfo_toplevel()
        self.dialogs = dialogs if dialogs is not None else Dialogs(self.top)
        self.pump = EventPump(self, self._on_event)
        self._factory = client_factory or self._make_client
        self.client: FilecastClient | None = None
        self.stage = DISCONNECTED
        self.offer: Offer | None = None
        self._pasted_name: str | None = None  # the file a pasted link named
        self._lost_since: str | None = None  # HH:MM the server stopped answering, if it did
        self._retry_at: float | None = None  # see Downloading._retrying_at
        self._retry_tick: str | None = None
        self.result: DownloadResult | None = None
        self._asking: tuple[str, FileInfo] | None = None
        self._resume: tuple[str, Path, FileInfo] | None = None  # see Downloading
        self._check_after_connect: str | None = None  # see Downloading.resume_unfinished
        self._asking_many: list[FileInfo] | None = None  # see Selecting
        self._queue: list[FileInfo] = []
        self._batch, self._no_archive, self._renamed, self._empty = (0, 0, 0), set(), "", ()
        self.alive = True
        settings = load_remembered()
        self.recent_hosts = recent_hosts(settings)
        self.folder = download_folder(settings)
        self._name = display_name(settings)  # None: the person was never asked

        self.connect_panel = ConnectPanel(self, on_connect=self.connect,
                                          on_disconnect=self.disconnect)
        self.file_panel = FilePanel(self, on_check=self.check, on_yes=self.yes, on_no=self.no,
                                    on_many=self.ask_many)
        self.unfinished_panel = UnfinishedPanel(self, on_resume=self.resume_unfinished,
                                                on_delete=self.delete_unfinished)
        self.download_panel = DownloadPanel(
            self, on_change_folder=self.change_folder, on_cancel=self.cancel,
            on_retry=self.retry, on_open_folder=self.open_folder)
        self.error_label = ttk.Label(self, text="", style="Bad.TLabel", wraplength=560,
                                     justify="left")
        self._layout()

        self.connect_panel.set_recent(self.recent_hosts)
        self.connect_panel.set_name(self._name if self._name is not None else
                                    account_name() or "")
        self.download_panel.set_folder(self.folder)
        self.top.title(TITLE)
        self.top.minsize(640, 480)
        self.top.protocol("WM_DELETE_WINDOW", self.request_close)
        self.keyboard = KeyboardFlow(self)
        self.bind("<Destroy>", self._on_destroy, add="+")
        self.pump.start()
        self._set_state(DISCONNECTED)
        self.refresh_unfinished()
        if host:
            self.connect_panel.set_host(host)
            self.connect()
        else:
            if self.recent_hosts:
                self.connect_panel.set_host(self.recent_hosts[0])
            self.connect_panel.focus_host()

    # --- layout and keys ----------------------------------------------------------------

    def _layout(self) -> None:
        self.pack(fill="both", expand=True)
        self.connect_panel.grid(row=0, column=0, sticky="ew")
        self.file_panel.grid(row=1, column=0, sticky="ew", pady=(PAD, 0))
        # Errors sit at the top of the result area, above the download they replace.
        self.error_label.grid(row=2, column=0, sticky="new", pady=(PAD, 0), padx=PAD)
        self.download_panel.grid(row=3, column=0, sticky="new", pady=(PAD, 0))
        self.unfinished_panel.grid(row=4, column=0, sticky="new", pady=(PAD, 0))
        self.unfinished_panel.grid_remove()  # shown when the folder holds some
        # The texts wrap to the width the window has (style.wrap_to_width) instead of
        # widening it, so the width is set here: room for the question and Yes/No on one
        # line, and for a download folder's path.
        scale = max(1.0, float(self.tk.call("tk", "scaling")) / (96 / 72))
        self.columnconfigure(0, weight=1, minsize=int(CONTENT_WIDTH * scale))
        self.rowconfigure(3, weight=1)
        wrap_to_width(self.error_label)
        self.error_label.grid_remove()  # shown with the first error

    # --- state --------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        """Enter ``state`` and draw every control from its row of the stage table."""
        if not may_follow(self.stage, state):  # a bug: say so, but keep the window usable
            log.error("client window: %s -> %s is not in client_stages.NEXT", self.stage, state)
        self.stage, stage = state, STAGES[state]
        address = self.client.address if self.client is not None else None
        self._draw_server()
        self.file_panel.enable(stage.takes_name, asking=stage.asking)
        self.download_panel.change_button.configure(state="disabled" if stage.busy else "normal")
        self.download_panel.show_retry(
            self._resume is not None and not stage.busy,
            enabled=state == READY and self.client is not None)
        connected = stage.connected and address is not None
        self.top.title(f"{TITLE} — {address}" if connected else TITLE)
        self.unfinished_panel.enable(not stage.busy)

    def _draw_server(self) -> None:
        """The connect panel for the current stage: connecting, connected, or lost."""
        stage = STAGES[self.stage]
        address = self.client.address if self.client is not None else None
        self.connect_panel.show(
            connecting=address if self.stage == CONNECTING else None,
            connected=address if stage.connected else None,
            server_name=self.offer.name if self.offer is not None else None,
            busy=stage.busy, lost_since=self._lost_since, retry_in=self.retry_in())

    @property
    def error(self) -> str:
        """The sentence in the error area ("" when there is none)."""
        return str(self.error_label.cget("text"))

    def show_error(self, text: str) -> None:
        """Show a sentence the person can act on, in red, in the window. It may quote the
        server (its error message), so control characters are escaped and it is capped.
        A green result of an earlier download is stale now: it goes (issue 11)."""
        self.error_label.configure(text=clip_sentence(text))
        if text:
            self.error_label.grid()  # only an error takes room above the download
            self.download_panel.clear_result()
        else:
            self.error_label.grid_remove()

    def clear_error(self) -> None:
        """Empty the error area (it takes no room then)."""
        self.error_label.configure(text="")
        self.error_label.grid_remove()

    # --- connecting ---------------------------------------------------------------------

    def _make_client(self, host: str, port: int, listener: Listener) -> FilecastClient:
        # No retry limit: a window keeps trying until the person cancels (issue 11: it
        # gave up after ~15 s, while a teacher's laptop came back a minute later).
        return FilecastClient(host, port, client_id=client_id(),
                              name=self.connect_panel.display_name, listener=listener,
                              retries=None)

    def connect(self, text: str | None = None) -> None:
        """Visit the server in the address field (or ``text``), leaving any current visit."""
        if self.stage in BUSY:
            return
        text = self.connect_panel.host_text if text is None else text
        try:
            host, port = parse_server(text)
        except ValueError as exc:
            self.show_error(str(exc))
            self.connect_panel.focus_host()
            return
        self._leave()
        self._remember_name()
        self._lost_since = None  # a new visit: nothing lost yet
        client = self._factory(host, port, self.pump)
        self.client, self._pasted_name = client, file_in_url(text)
        self.clear_error()
        self.file_panel.show_disconnected()
        self._set_state(CONNECTING)
        run_in_background(self.pump, client.connect,
                          on_done=partial(self._connected, client),
                          on_error=partial(self._connect_failed, client))

    def _connected(self, client: FilecastClient, offer: Offer) -> None:
        if client is not self.client:
            self._close_later(client)  # the person went elsewhere meanwhile
            return
        self.offer = offer
        self._remember_host(client.address)
        self.file_panel.show_offer(offer.message)
        self.file_panel.show_files(offer.files)
        self._set_state(READY)  # the name field takes text from here on
        if self._pasted_name is not None:  # a pasted link to the file names it
            self.file_panel.set_name(self._pasted_name)
        if self._check_after_connect is not None:  # Resume of an unfinished download
            name, self._check_after_connect = self._check_after_connect, None
            self.file_panel.set_name(name)
            self.check(name)
            return
        if self._resume is not None:
            self.file_panel.say(f"The download of '{clip(self._resume[0])}' stopped short;"
                                " Retry resumes it.", "Muted.TLabel")
        self.file_panel.focus_name()

    def _connect_failed(self, client: FilecastClient, error: FilecastError) -> None:
        if client is not self.client:
            return
        self.client = None
        self._set_state(DISCONNECTED)
        self.show_error(str(error))
        self.connect_panel.focus_host()

    def disconnect(self) -> None:
        """End the visit (the server records the client as gone)."""
        if self.stage in BUSY:
            return
        self._leave()
        self.clear_error()
        self.file_panel.show_disconnected()
        self._set_state(DISCONNECTED)
        self.connect_panel.focus_host()

    def _leave(self) -> None:
        """Forget the current visit and close it in a worker."""
        client, self.client, self.offer, self._asking = self.client, None, None, None
        self._asking_many, self._queue, self._batch = None, [], (0, 0, 0)
        if client is not None:
            client.cancel()  # a connect still under way gives up at once
            self._close_later(client)

    def _close_later(self, client: FilecastClient) -> None:
        run_in_background(self.pump, client.close, on_done=lambda _: None,
                          on_error=lambda _: None)

    # --- asking -------------------------------------------------------------------------

    def check(self, name: str | None = None) -> None:
        """Ask the server whether it offers ``name`` (the name field by default)."""
        if self.stage not in (READY, ASKING) or self.client is None:
            return
        name = self.file_panel.file_name if name is None else name
        if not name:
            self.file_panel.say("Type the name of a file the server offers.", "Bad.TLabel")
            self.file_panel.focus_name()
            return
        client, offered = self.client, self.offer.files if self.offer is not None else ()
        match = match_name(name, [f.name for f in offered])
        if match.name is not None and match.name != name:  # case or form only (issue 11)
            name = match.name
            self.file_panel.set_name(name)
        self._asking = None
        self.clear_error()
        self._set_state(CHECKING)
        self.file_panel.checking(name)
        folder = self.folder
        run_in_background(self.pump, lambda: (client.check(name), free_bytes(folder)),
                          on_done=partial(self._checked, client, name),
                          on_error=partial(self._check_failed, client, match.suggestion))

    def _checked(self, client: FilecastClient, name: str,
                 found: tuple[FileInfo, int | None]) -> None:
        if client is not self.client:
            return
        info, free = found
        self._asking = (name, info)
        self._set_state(ASKING)
        self._server_lost(False)
        self.file_panel.ask(info.size, sentences.short_of_space(info.size, free))

    def _check_failed(self, client: FilecastClient, suggestion: str | None,
                      error: FilecastError) -> None:
        if client is not self.client:
            return
        self._set_state(READY)
        self._server_lost(isinstance(error, (ConnectError, ServerGoneError)))
        if isinstance(error, NotOfferedError):
            self.file_panel.not_found(suggestion)
        else:
            self.file_panel.say("")
            self.show_error(str(error))
        self.file_panel.focus_name()

    def yes(self) -> None:
        """Download the file (or the selection) asked about into the download folder."""
        if self.stage == ASKING and self._asking_many:
            self._yes_many()
            return
        if self.stage != ASKING or self._asking is None:
            return
        name, info = self._asking
        self._asking = None
        self._download(name, self.folder, info)

    def no(self) -> None:
        """Decline: the server records that this client did not download the file(s)."""
        if self.stage == ASKING and self._asking_many:
            self._no_many()
            return
        if self.stage != ASKING or self._asking is None or self.client is None:
            return
        name, _ = self._asking
        self._asking = None
        client = self.client
        self._set_state(DECLINING)
        self.file_panel.say("Telling the server…", "Muted.TLabel")
        run_in_background(self.pump, lambda: client.decline(name),
                          on_done=lambda _: self._declined(client, name),
                          on_error=partial(self._check_failed, client, None))

    def _declined(self, client: FilecastClient, name: str) -> None:
        if client is not self.client:
            return
        self._set_state(READY)
        self.file_panel.say(f"You declined '{clip(name)}'; the server has recorded it.")
        self.file_panel.focus_name()

    # --- folder and settings ------------------------------------------------------------

    def change_folder(self) -> None:
        """Pick another download folder; it is remembered."""
        chosen = self.dialogs.choose_folder("Save downloads in", str(self.folder))
        if not chosen:
            return
        self.folder = Path(chosen)
        self.download_panel.set_folder(self.folder)
        remember_quietly(**{DOWNLOAD_FOLDER_KEY: str(self.folder)})
        self.refresh_unfinished()

    def open_folder(self) -> None:
        """Show the folder of the downloaded file (or the download folder)."""
        folder = self.result.path.parent if self.result is not None else self.folder
        self.dialogs.open_path(str(folder))

    def _remember_host(self, address: str) -> None:
        self.recent_hosts = with_recent(self.recent_hosts, address)
        self.connect_panel.set_recent(self.recent_hosts)
        remember_quietly(**{RECENT_KEY: self.recent_hosts})

    def _remember_name(self) -> None:
        """Keep the name the person connects with (asked once: issue 11), written only when
        it changed, in the quiet writer (never the settings file on the Tk thread)."""
        name = self.connect_panel.name_text
        if name != self._name:
            self._name = name
            remember_quietly(**{CLIENT_NAME_KEY: name})

    # --- closing ------------------------------------------------------------------------

    def request_close(self) -> None:
        """The window's close button: ask first during a download, then cancel and close."""
        if self.stage == DOWNLOADING and self._resume is not None:
            name = clip(self._resume[0])
            if not self.dialogs.ask_yes_no(
                    "Stop the download?",
                    f"'{name}' is still downloading. Stop it and close Filecast? The partial"
                    " download is kept, so it can resume next time.",
                    moot=lambda: self.stage != DOWNLOADING):  # it ended: nothing to stop
                return
        if self.client is not None:
            self.client.cancel()
        self._leave()
        self.pump.stop()
        self.top.destroy()

    def _on_destroy(self, event: tk.Event[Any]) -> None:
        if event.widget is self:
            self.alive = False
            self.pump.stop()
