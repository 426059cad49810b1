"""The server window's offer: choose files or a folder, add more and remove some while
serving (issue 12), the message, and how the offer is shown (summary, Files tab, title).

A mixin of :class:`~core.gui.server_window.ServerWindow`, split off as the client window's
downloads are; it holds no file logic: engine calls (OfferTable.set_files/add/remove) run
as the window's jobs, off the main thread, and their sentences come back to the panels.
"""

from __future__ import annotations

import os
import tkinter as tk
from pathlib import Path
from typing import Any

from core.errors import FilecastError
from core.events import HashProgress, OfferedFileView
from core.gui.dialogs import Dialogs
from core.gui.prefs import SERVER_FOLDER_KEY
from core.gui.server_address_panel import AddressPanel, Serving
from core.gui.server_files_panel import FilesPanel
from core.gui.server_offer_panel import OfferPanel, set_title
from core.gui.style import clip_name
from core.gui.worker import JobQueue
from core.server import OfferTable

TITLE = "Filecast Server"
CHOOSE_TITLE = "Choose files to distribute"
FOLDER_TITLE = "Choose a folder to distribute"


class Offering:
    """The offer half of the server window (the window sets every attribute below)."""

    master: tk.Misc
    top: tk.Tk | tk.Toplevel
    dialogs: Dialogs
    jobs: JobQueue
    offer: OfferTable
    offer_panel: OfferPanel
    files_panel: FilesPanel
    address_panel: AddressPanel
    closed: bool
    _closing: bool
    _settings: dict[str, Any]
    _shown: tuple[OfferedFileView, ...]

    def start_serving(self) -> None:
        """Bind and serve (the window's)."""
        raise NotImplementedError

    def note(self, text: str, seconds: float = 4.0) -> None:
        """A passing remark in the status bar (the window's)."""
        raise NotImplementedError

    def _note_log(self, line: str) -> None:
        """A line of the window's own into the log (the window's)."""
        raise NotImplementedError

    def _save(self, **values: Any) -> None:
        """Remember values in the settings file (the window's)."""
        raise NotImplementedError

    # --- choosing ----------------------------------------------------------------------

    def _start_folder(self) -> str | None:
        folder = self._settings.get(SERVER_FOLDER_KEY)
        return folder if isinstance(folder, str) and os.path.isdir(folder) else None

    def choose_file(self) -> None:
        """"Choose files…" / "Add files…" (Ctrl+O): the picker, then offer what was picked,
        beside what is offered already."""
        if self._closing:
            return
        paths = self.dialogs.choose_files(CHOOSE_TITLE, self._start_folder())
        if paths:
            self.offer_files(paths)
        elif not self._shown:
            self.offer_panel.show_empty()

    def choose_folder(self) -> None:
        """"Choose a folder…" / "Add folder…": every file in it, by its relative name."""
        if self._closing:
            return
        folder = self.dialogs.choose_folder(FOLDER_TITLE, self._start_folder())
        if folder:
            self.offer_files([folder])

    def _first_pick(self, tries: int) -> None:
        """Open the picker at start, once the window is on screen (so the dialog has a
        parent to sit over and the window shows its "Choose files" state behind it)."""
        if self.closed or self._shown or self.jobs.busy:
            return
        if not self.top.winfo_viewable() and tries > 0:
            self.master.after(50, self._first_pick, tries - 1)
            return
        self.choose_file()

    def offer_files(self, paths: list[str]) -> None:
        """Offer ``paths`` (files or folders): the first offer, or more beside it while
        serving (issue 12); serving starts with the first."""
        adding = bool(self._shown)

        def work() -> tuple[list[str], tuple[str, ...]]:
            before = len(self.offer.state.left_out) if adding else 0
            if adding:
                names = self.offer.add(paths)
            else:
                self.offer.set_files(paths)
                self.offer.start()  # hash now, even while the port is still sorted out
                names = [f.name for f in self.offer.state.files]
            return names, self.offer.state.left_out[before:]  # this offer's notes only

        def done(result: tuple[list[str], tuple[str, ...]]) -> None:
            names, notes = result
            self.offer_panel.show_error(None)
            folder = str(Path(paths[0]).resolve().parent)
            self._settings[SERVER_FOLDER_KEY] = folder
            self._save(**{SERVER_FOLDER_KEY: folder})
            for note in notes:
                self._note_log(note)
            if adding:
                self.note(f"Added {len(names):,} file{'' if len(names) == 1 else 's'}.")
            if self.address_panel.serving is Serving.NO_FILE:
                self.start_serving()

        self.jobs.add("offer", work, done, self._offer_failed)

    def remove_files(self, names: list[str]) -> None:
        """The Files tab's Remove: stop offering these; downloads under way finish."""
        def done(count: int) -> None:
            self.note(f"Removed {count:,} file{'' if count == 1 else 's'} from the offer.")

        self.jobs.add("remove", lambda: self.offer.remove(names), done, self._offer_failed)

    def _offer_failed(self, error: FilecastError) -> None:
        self.offer_panel.show_error(str(error))
        self._note_log(f"Error: {error}")

    def set_message(self, text: str) -> None:
        """The clients' message was edited (Enter / focus-out); empty restores the default."""
        self.offer.set_message(text or None)

    # --- showing -----------------------------------------------------------------------

    def _show_offer(self, files: tuple[OfferedFileView, ...]) -> None:
        """A new offer or digest: the summary, the Files tab, the message and the title."""
        self._shown = files
        self.offer_panel.show_files(files)
        self.files_panel.show(files)
        self.offer_panel.show_message(self.offer.state.message)
        title = clip_name(files[0].name, 60) if len(files) == 1 else \
            set_title(files) if files else ""
        self.top.title(f"{TITLE} — {title}" if title else TITLE)

    def _hash_progress(self, event: HashProgress) -> None:
        """The bar under the digest, while the one offered file is hashed."""
        if len(self._shown) == 1 and self._shown[0].name == event.file \
                and self._shown[0].sha256 is None:
            self.offer_panel.show_hash_progress(event.done, event.total)

