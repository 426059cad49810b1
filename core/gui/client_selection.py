"""Several files at once in the client window (issue 12): one question for a selection
("7 files, 13.5 MB. Download?"), then each file downloaded as one file is (for the version
the offer showed, verified, resumable), one after another; No is recorded for each.

A mixin of :class:`~core.gui.client_window.ClientWindow`, beside Downloading: the queue
lives here, each download is Downloading's, and Retry after a stop resumes the file that
stopped and then goes on with the rest.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from core.client import (
    DownloadResult,
    FilecastClient,
    Taken,
    by_archive,
    free_bytes,
    make_folders,
)
from core.errors import FilecastError
from core.gui.client_download_panel import DownloadPanel
from core.gui.client_file_panel import FilePanel
from core.gui.client_stages import ASKING, DECLINING, DISCONNECTED, DOWNLOADING, READY
from core.gui.pump import EventPump
from core.gui.worker import run_in_background
from core.wire import sentences
from core.wire.paths import saved_segments
from core.wire.protocol import FileInfo, Offer
from core.wire.selection import empty_within, select


class Selecting:
    """The selection half of the client window (the window sets every attribute below)."""

    client: FilecastClient | None
    offer: Offer | None
    stage: str
    folder: Path
    pump: EventPump
    file_panel: FilePanel
    _asking: tuple[str, FileInfo] | None
    _asking_many: list[FileInfo] | None  # a selection asked about, not yet answered
    _queue: list[FileInfo]  # the selection's files still to download after this one
    _no_archive: set[str]  # files an archive did not bring: they go one by one
    _renamed: str  # which files of the selection were saved under new names
    _empty: tuple[str, ...]  # the offer's empty folders the selection takes along
    _batch: tuple[int, int, int]  # files done, files in the selection, their bytes
    _resume: tuple[str, Path, FileInfo] | None  # Downloading's: one file's Retry
    result: DownloadResult | None
    download_panel: DownloadPanel

    def _set_state(self, state: str) -> None:
        """Enter ``state`` (the window's)."""
        raise NotImplementedError

    def clear_error(self) -> None:
        """Empty the error area (the window's)."""
        raise NotImplementedError

    def show_error(self, text: str) -> None:
        """Show a sentence in the error area (the window's)."""
        raise NotImplementedError

    if TYPE_CHECKING:  # Downloading's, beside this mixin: a stub here would shadow them
        def _download(self, name: str, folder: Path, info: FileInfo, *,
                      resuming: bool = False) -> None: ...
        def _download_failed(self, client: FilecastClient, error: FilecastError) -> None: ...

    def ask_many(self, names: list[str], *, everything: bool = False) -> None:
        """"All files…" / "Selected files…": one question for them all (with every file,
        the offer's empty folders are made too: issue 12)."""
        if self.stage not in (READY, ASKING) or self.client is None or self.offer is None:
            return
        by_name = {info.name: info for info in self.offer.files}
        infos = [by_name[name] for name in select(list(by_name), names).names]
        if not infos:
            return
        self._empty = empty_within(self.offer.folders, list(by_name), names,
                                   everything=everything or len(infos) == len(by_name))
        self._asking, self._asking_many = None, infos
        self.clear_error()
        self._set_state(ASKING)
        size, folder = sum(info.size for info in infos), self.folder
        self.file_panel.ask_many(len(infos), size)

        def room(free: int | None) -> None:  # asked in a worker: a network folder is slow
            warning = sentences.short_of_space(size, free)
            if warning and self._asking_many is infos:
                self.file_panel.ask_many(len(infos), size, warning)

        run_in_background(self.pump, lambda: free_bytes(folder), on_done=room,
                          on_error=lambda _error: None)

    def _yes_many(self) -> None:
        """Yes to a selection: its small files at once, then the rest one by one."""
        infos, self._asking_many = self._asking_many or [], None
        if not infos:
            return
        self._queue, self._no_archive, self._renamed = list(infos), set(), ""
        self._batch = (0, len(infos), sum(info.size for info in infos))
        self._continue_many()

    def _continue_many(self) -> bool:
        """The selection's next step: its small files in one go (core.client.archive_fetch)
        while two or more are left, else its next file; False when nothing is left."""
        queue = self._queue
        if not queue:
            return False
        small = [i for i in queue if by_archive(i) and i.name not in self._no_archive]
        if len(small) > 1:
            names = {info.name for info in small}
            self._queue = [info for info in queue if info.name not in names]
            self._download_small(small)
        else:
            info = self._queue.pop(0)
            self._download(info.name, self.folder, info)
        return True

    def _download_small(self, small: list[FileInfo]) -> None:
        """Download ``small`` at once in a worker; the panel shows them as one bar."""
        client, folder = self.client, self.folder
        if client is None:
            return
        self._resume, self.result = None, None
        self.clear_error()
        self._set_state(DOWNLOADING)
        label = sentences.file_count(len(small))
        self.file_panel.say(f"Downloading {label} at once…", "Muted.TLabel")
        self.download_panel.start(label)
        self.download_panel.cancel_button.focus_set()
        run_in_background(self.pump, lambda: client.download_small(small, folder),
                          on_done=lambda taken: self._took_small(client, small, taken),
                          on_error=partial(self._download_failed, client))

    def _took_small(self, client: FilecastClient, small: list[FileInfo], taken: Taken) -> None:
        """Small files are in: count them; what a cut left goes one by one, what a cancel
        or a full disk left waits for Retry."""
        done, count, size = self._batch
        self._batch = (done + len(taken.saved), count, size)
        self._queue = taken.left + self._queue
        problems = list(taken.failed.values())
        self._set_state(READY if client is self.client else DISCONNECTED)
        first = next(iter(taken.renamed.items()), None)
        if first is not None:  # said again at the end: the bar's note goes with the next file
            self._renamed = sentences.renamed(len(taken.renamed),
                                              (saved_segments(first[0])[-1], first[1]))
        if taken.stopped is None:
            self._no_archive.update(info.name for info in taken.left)
            saved = sum(info.size for info in small if info.name in taken.saved)
            self.download_panel.done_many(self.folder, len(taken.saved), saved, self._renamed)
            if problems:
                self.show_error(_summary(problems))
            if client is not self.client or not self._continue_many():
                self._finish_many()
            return
        self.download_panel.stopped(resumable=bool(self._queue))
        self.show_error(_summary([str(taken.stopped), *problems]))
        self.file_panel.say("")

    def _next_in_queue(self) -> bool:
        """After a file of a selection is saved: start the next step; False at the end
        (the panel then says how many were taken)."""
        done, count, size = self._batch
        if not count:
            return False
        self._batch = (done + 1, count, size)
        if self._continue_many():
            return True
        self._finish_many()
        return False

    def _finish_many(self) -> None:
        """The selection is over: say how many of its files were taken."""
        done, count, size = self._batch
        self._batch, renamed, self._renamed = (0, 0, 0), self._renamed, ""
        said = sentences.took_many(done, count, size)
        self.file_panel.say(f"{said} {renamed}" if renamed else said, "Muted.TLabel")
        empty, folder, self._empty = self._empty, self.folder, ()
        if empty:  # kept, as tar keeps them; in a worker: the folder may be a slow share
            run_in_background(self.pump, lambda: make_folders(folder, empty),
                              on_done=lambda _made: None,
                              on_error=lambda error: self.show_error(str(error)))

    def retry_many(self) -> bool:
        """Retry after a selection stopped (a cancel, a full disk): go on with what is
        left, the files already saved not taken again; False when nothing is left."""
        if not self._batch[1]:
            return False
        return self._continue_many()

    def batch_note(self) -> str:
        """`` (file 3 of 7)`` while a selection downloads, else nothing."""
        done, count, _size = self._batch
        return f" (file {done + 1} of {count})" if count else ""


    def _no_many(self) -> None:
        """No to a selection: the server records a decline for each file."""
        infos, self._asking_many = self._asking_many or [], None
        client = self.client
        if not infos or client is None:
            return
        self._set_state(DECLINING)
        self.file_panel.say("Telling the server…", "Muted.TLabel")

        def work() -> None:
            client.decline_many(infos)

        def done(_result: None) -> None:
            if client is self.client:
                self._set_state(READY)
                self.file_panel.say(f"You declined {len(infos):,} files; the server has"
                                    " recorded it.", "Muted.TLabel")

        def failed(error: FilecastError) -> None:
            if client is self.client:
                self._set_state(READY)
                self.file_panel.say("")
                self.show_error(str(error))

        run_in_background(self.pump, work, on_done=done, on_error=failed)


def _summary(sentences_: list[str], shown: int = 3) -> str:
    """The first few sentences, and how many more there are."""
    more = len(sentences_) - shown
    return "\n".join(sentences_[:shown]) + (f"\n…and {more:,} more." if more > 0 else "")
