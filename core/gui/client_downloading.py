"""The client window's downloads: start one, render its events, end it, Retry, Cancel.

A mixin of :class:`~core.gui.client_window.ClientWindow`, split off to keep that module to
one screenful per idea; it holds no protocol or file logic either. A download is for the
file the person said yes to: Retry keeps that version, and when the server sends another
the window asks again (issue 9).
"""

from __future__ import annotations

import math
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from core.client import (
    DownloadResult,
    FilecastClient,
    Unfinished,
    discard_unfinished,
    find_unfinished,
)
from core.errors import (
    CancelledError,
    ConnectError,
    FilecastError,
    NotOfferedError,
    OfferChangedError,
    ServerGoneError,
)
from core.events import (
    DownloadProgress,
    DownloadRechecking,
    DownloadRetrying,
    DownloadStarted,
    DownloadVerifying,
)
from core.gui.client_connect_panel import ConnectPanel
from core.gui.client_download_panel import DownloadPanel
from core.gui.client_file_panel import FilePanel
from core.gui.client_stages import (
    ASKING,
    BUSY,
    CANCELLING,
    DISCONNECTED,
    DOWNLOADING,
    READY,
)
from core.gui.client_unfinished_panel import UnfinishedPanel
from core.gui.dialogs import Dialogs
from core.gui.pump import EventPump
from core.gui.style import clip_name
from core.gui.worker import run_in_background
from core.wire.paths import saved_segments
from core.wire.protocol import FileInfo
from core.wire.units import human_size


class Downloading:
    """The download half of the client window (the window sets every attribute below)."""

    client: FilecastClient | None
    stage: str
    result: DownloadResult | None
    pump: EventPump
    file_panel: FilePanel
    download_panel: DownloadPanel
    _asking: tuple[str, FileInfo] | None
    # a download that stopped short: Retry resumes it, for the version said yes to
    _resume: tuple[str, Path, FileInfo] | None
    # when the server stopped answering (HH:MM), while it has not answered again
    _lost_since: str | None
    folder: Path
    dialogs: Dialogs
    unfinished_panel: UnfinishedPanel
    connect_panel: ConnectPanel
    _check_after_connect: str | None  # a Resume's file, asked about once connected
    # when (time.monotonic()) the engine tries again, while it waits to; the ticking after()
    _retry_at: float | None
    _retry_tick: str | None
    alive: bool

    def _server_lost(self, lost: bool) -> None:
        """The server stopped answering (a retry, a failed download), or answered again:
        the connect panel must say which (issue 11: it said "Connected" with it gone)."""
        since = (self._lost_since or time.strftime("%H:%M")) if lost else None
        if since != self._lost_since:
            self._lost_since = since
            self._draw_server()

    def _retrying_at(self, when: float | None) -> None:
        """The engine tries again at ``when`` (None: it is not waiting): the Server line
        counts down to it, once a second, so it says what is true (issue 11)."""
        self._retry_at = when
        self._draw_server()
        if when is not None and self._retry_tick is None:
            self._retry_tick = self.download_panel.after(1000, self._tick)

    def _tick(self) -> None:
        """One second on: redraw the countdown while the engine still waits."""
        self._retry_tick = None
        if self.alive and self._retry_at is not None and self.stage == DOWNLOADING:
            self._draw_server()
            self._retry_tick = self.download_panel.after(1000, self._tick)

    def retry_in(self) -> int | None:
        """Whole seconds until the engine tries again, while a download waits to."""
        if self._retry_at is None or self.stage != DOWNLOADING:
            return None
        return max(0, math.ceil(self._retry_at - time.monotonic()))

    def _draw_server(self) -> None:
        """Redraw the connect panel for the current stage (the window's)."""
        raise NotImplementedError

    def connect(self, text: str | None = None) -> None:
        """Visit the server ``text`` names (the window's)."""
        raise NotImplementedError

    def check(self, name: str | None = None) -> None:
        """Ask the server about ``name`` (the window's)."""
        raise NotImplementedError

    if TYPE_CHECKING:  # Selecting's, beside this mixin: a stub here would shadow them
        def batch_note(self) -> str: ...
        def _next_in_queue(self) -> bool: ...
        def retry_many(self) -> bool: ...

    def _set_state(self, state: str) -> None:
        """Enter ``state`` (the window's)."""
        raise NotImplementedError

    def show_error(self, text: str) -> None:
        """Show a sentence in the error area (the window's)."""
        raise NotImplementedError

    def clear_error(self) -> None:
        """Empty the error area (the window's)."""
        raise NotImplementedError

    def _download(self, name: str, folder: Path, info: FileInfo, *,
                  resuming: bool = False) -> None:
        client = self.client
        if client is None:
            return
        self._resume = (name, folder, info)
        self.result = None
        self.clear_error()
        self._set_state(DOWNLOADING)
        self.file_panel.say(f"Downloading '{clip_name(name)}'…{self.batch_note()}",
                            "Muted.TLabel")
        self.download_panel.start(name, resuming=resuming)
        self.download_panel.cancel_button.focus_set()
        run_in_background(self.pump, lambda: client.download(name, folder, info=info),
                          on_done=partial(self._downloaded, client, name),
                          on_error=partial(self._download_failed, client))

    def _on_event(self, event: object) -> None:
        """Engine events from the pump (main thread): render the running download."""
        if self.stage != DOWNLOADING:
            return
        panel = self.download_panel
        if isinstance(event, DownloadProgress):
            panel.progress(event)
        elif isinstance(event, DownloadStarted):
            panel.started(event)
            self._retry_at = None
            self._server_lost(False)  # it answers again
        elif isinstance(event, DownloadRechecking):
            panel.rechecking(event)
        elif isinstance(event, DownloadRetrying):
            panel.retrying(event)
            self._server_lost(True)
            self._retrying_at(time.monotonic() + event.delay)
        elif isinstance(event, DownloadVerifying):
            panel.verifying()

    def _downloaded(self, client: FilecastClient, name: str, result: DownloadResult) -> None:
        self._lost_since = self._retry_at = None
        self._resume = None
        self.result = result
        self._set_state(READY if client is self.client else DISCONNECTED)
        self.download_panel.done(result.path, result.size, result.verified,
                                 saved_segments(name)[-1])
        self.file_panel.say(f"Downloaded '{clip_name(name)}'. Type another name to check another"
                            " file.", "Muted.TLabel")
        self.file_panel.focus_name()
        if not self._next_in_queue():  # a selection goes on with its next file
            self.refresh_unfinished()

    def _download_failed(self, client: FilecastClient, error: FilecastError) -> None:
        if isinstance(error, OfferChangedError) and client is self.client:
            self._ask_again(error)
            return
        missing = isinstance(error, NotOfferedError)
        if missing:
            self._resume = None
        self._retry_at = None
        self._set_state(READY if client is self.client else DISCONNECTED)
        if not isinstance(error, CancelledError):  # a cancel says nothing of the server
            self._server_lost(isinstance(error, (ConnectError, ServerGoneError)))
        self.download_panel.stopped(resumable=not missing)
        self.show_error(str(error))
        self.refresh_unfinished()
        self.file_panel.say("")
        if missing:
            self.file_panel.not_found()
            self.file_panel.focus_name()
        else:
            self.download_panel.retry_button.focus_set()

    def _ask_again(self, error: OfferChangedError) -> None:
        """The server sends another file than the one said yes to: say so, and ask about the
        one it has now (issue 9); its answer replaces the stopped download's Retry."""
        assert self._resume is not None
        name = self._resume[0]
        self._resume = None
        self._asking = (name, error.info)
        self._set_state(ASKING)
        self.download_panel.changed()
        self.show_error(str(error))
        self.file_panel.ask(error.info.size)

    def cancel(self) -> None:
        """Stop the running download; its partial file is kept for a resume."""
        if self.stage != DOWNLOADING or self.client is None:
            return
        self.client.cancel()  # thread-safe: wakes the worker at once
        self._set_state(CANCELLING)
        self.download_panel.cancelling()

    def retry(self) -> None:
        """Download the stopped file again into the same folder: the engine resumes it, for
        the version said yes to (issue 9: not whatever the server offers now)."""
        if self.stage != READY or self.client is None:
            return
        if self._resume is None:  # a selection's files taken at once stopped: go on
            self.retry_many()
            return
        self._download(*self._resume, resuming=True)

    # --- unfinished downloads in the folder (issue 11) ----------------------------------------

    def refresh_unfinished(self) -> None:
        """Look for leftovers in the download folder (a worker: it reads the disk); the
        one Retry already offers is not listed twice."""
        folder = self.folder

        def show(items: list[Unfinished]) -> None:
            if not self.alive or folder != self.folder:
                return
            retry = saved_segments(self._resume[0])[-1] if self._resume is not None else None
            self.unfinished_panel.show([i for i in items if saved_segments(i.name)[-1] != retry],
                                       enabled=self.stage not in BUSY)

        run_in_background(self.pump, lambda: find_unfinished(folder), on_done=show,
                          on_error=lambda error: self.show_error(str(error)),
                          name="filecast-gui-leftovers")

    def resume_unfinished(self, item: Unfinished) -> None:
        """Resume: visit its server and ask about the file again, so the person says yes to
        the version there now (consent is for the file shown); the part is then resumed."""
        if self.stage in BUSY:
            return
        if self.client is not None and self.stage in (READY, ASKING) \
                and self.client.address == item.server:
            self.file_panel.set_name(item.name)
            self.check(item.name)
            return
        self._check_after_connect = item.name
        self.connect_panel.set_host(item.server)
        self.connect(item.server)

    def delete_unfinished(self, item: Unfinished) -> None:
        """Delete…: after a question (No is the default), remove its part and metadata."""
        if self.stage in BUSY or not self.dialogs.ask_yes_no(
                "Delete the unfinished download?",
                f"Delete the {human_size(item.saved)} kept of '{clip_name(item.name)}'? It cannot"
                " be resumed after that."):
            return
        run_in_background(self.pump, lambda: discard_unfinished(item),
                          on_done=lambda _r: self.refresh_unfinished(),
                          on_error=lambda error: self.show_error(str(error)),
                          name="filecast-gui-delete")
