"""The People tab's keeper: the roster model, its panel, and what the roster remembers
(who is expected, when this session began) (issue 11).

The roster is rebuilt from Clients.jsonl when the window opens (in a worker: the file may be
large) and then fed the same records live (LedgerWritten), so it reads the same after a
restart. Reading, exporting and remembering run off the main thread.
"""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import FilecastError, storage_error
from core.events import OfferChanged
from core.gui.dialogs import Dialogs
from core.gui.prefs import remember_quietly
from core.gui.pump import EventPump
from core.gui.server_roster_panel import RosterPanel
from core.gui.worker import run_in_background
from core.server import Roster, read_recent, write_csv

EXPECTED_KEY = "server_expected_people"
SINCE_KEY = "server_roster_since"
MAX_EXPECTED = 2000  # names kept; a class or a hall, not a phone book
MAX_LEDGER_READ = 32 * 1024 * 1024  # the newest 32 MB of Clients.jsonl: ~80,000 lines
REDRAW_INTERVAL = 0.25  # seconds between redraws of the People tab while things change
MAX_MEANWHILE = 100_000  # events kept to replay while the ledger is read back


def _now_stamp() -> str:
    """Now as a ledger time (``2026-12-03T14:02:11Z``): where a new session begins."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def remembered_expected(settings: Mapping[str, Any]) -> list[str]:
    """The expected names kept in the settings file (checked: it may be hand-edited)."""
    value = settings.get(EXPECTED_KEY)
    if not isinstance(value, list):
        return []
    return [name for name in value if isinstance(name, str)][:MAX_EXPECTED]


def remembered_since(settings: Mapping[str, Any]) -> str | None:
    """When the current session began, or None for "everything in the ledger"."""
    value = settings.get(SINCE_KEY)
    return value if isinstance(value, str) and value[:2] == "20" else None


def _export(rows: list[Any], path: str) -> int:
    """Worker: write the CSV; StorageError names the file when it cannot."""
    try:
        with open(path, "w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel reads UTF-8
            return write_csv(rows, out)
    except OSError as error:
        reason = error.strerror or str(error)
        raise storage_error(error, f"Cannot save the roster to {path}: {reason}.") from error


class RosterKeeper:
    """Owns the Roster and its panel inside the server window (main thread)."""

    def __init__(self, master: tk.Misc, *, pump: EventPump, dialogs: Dialogs,
                 settings: Mapping[str, Any], jsonl_path: Path,
                 note: Callable[[str], None]) -> None:
        self.pump, self.dialogs, self.note = pump, dialogs, note
        self.jsonl_path = jsonl_path
        self.roster = Roster(since=remembered_since(settings))
        self.expected = self.roster.set_expected(remembered_expected(settings))
        self.panel = RosterPanel(master, on_expected=self.edit_expected,
                                 on_export=self.export, on_new_session=self.new_session)
        self.dirty = True
        self.loaded = False
        self._drawn = 0.0  # time.monotonic() of the last redraw (pushed on when slow)
        self._meanwhile: list[object] | None = None  # events while the ledger is read
        self._later: str | None = None  # a redraw waiting for its turn

    def load(self) -> None:
        """Rebuild from the ledger on disk: read and fold in a worker (80,000 lines take
        about 2 s, too long for the Tk thread), then replay what happened meanwhile into it
        and take it (folding a line twice changes nothing: outcomes only go up)."""
        since = self.roster.since

        def rebuild() -> Roster:
            restored = Roster(since)
            restored.restore(read_recent(self.jsonl_path, MAX_LEDGER_READ))
            return restored

        def done(restored: Roster) -> None:
            if self.roster.since != since:  # "New session" meanwhile: nothing to restore
                self.loaded, self._meanwhile = True, None
                return
            restored.take_settings(self.roster)
            for event in self._meanwhile or ():
                restored.apply(event)
            self.roster, self._meanwhile = restored, None
            self.loaded = self.dirty = True
            self.redraw(now=True)

        def failed(error: FilecastError) -> None:
            self.loaded, self._meanwhile = True, None
            self.note(str(error))

        self._meanwhile = []
        run_in_background(self.pump, rebuild, on_done=done, on_error=failed,
                          name="filecast-gui-roster")

    def apply(self, event: object) -> None:
        """One engine event (main thread); kept to replay while the ledger is read back."""
        if isinstance(event, OfferChanged):
            self.roster.set_offer((f.name, f.etag) for f in event.files)
            self.dirty = True
            return
        if self._meanwhile is not None and len(self._meanwhile) < MAX_MEANWHILE:
            self._meanwhile.append(event)
        if self.roster.apply(event):
            self.dirty = True

    def redraw(self, *, now: bool = False) -> None:
        """The rows and header when anything changed, at most every REDRAW_INTERVAL (a
        class downloading at once changes a row every batch); ``now`` for the person's own
        actions, which show at once."""
        if not self.dirty:
            return
        wait = self._drawn + REDRAW_INTERVAL - time.monotonic()
        if wait > 0 and not now:
            if self._later is None:
                self._later = self.panel.after(int(wait * 1000) + 1, self._redraw_later)
            return
        started = time.monotonic()
        self.dirty = False
        rows = self.roster.rows()
        self.panel.show(rows, self.roster.header(rows))
        # The next redraw waits five times as long as this one took: at the 5,000-people
        # cap a redraw takes ~80 ms, so the roster keeps the Tk thread under a fifth busy.
        self._drawn = time.monotonic() + 4 * (time.monotonic() - started)

    def _redraw_later(self) -> None:
        self._later = None
        if self.panel.winfo_exists():
            self.redraw()

    def close(self) -> None:
        """The window goes: no redraw after it."""
        if self._later is not None:
            self.panel.after_cancel(self._later)
            self._later = None

    # --- actions ------------------------------------------------------------------------

    def edit_expected(self) -> None:
        """"Expected people…": paste or load one name a line; who never came shows."""
        lines = self.dialogs.edit_lines(
            "Expected people", "One name a line, as people will type it. Names are matched"
            " ignoring case and accents form; those nobody gave show as \"not seen yet\".",
            self.expected)
        if lines is None:
            return
        self.expected = self.roster.set_expected(lines[:MAX_EXPECTED])
        remember_quietly(**{EXPECTED_KEY: self.expected})
        self.dirty = True
        self.redraw(now=True)

    def export(self) -> None:
        """"Export CSV…": every person (not only the filtered view), in a worker."""
        rows = self.roster.rows()
        path = self.dialogs.save_file("Export the roster",
                                      f"roster-{datetime.now():%Y-%m-%d-%H%M}.csv")
        if not path:
            return

        def done(count: int) -> None:
            people = "1 person" if count == 1 else f"{count} people"
            self.note(f"Saved the roster of {people} to {path}.")

        def failed(error: FilecastError) -> None:
            self.dialogs.show_error("Cannot export", str(error))

        run_in_background(self.pump, lambda: _export(rows, path), on_done=done,
                          on_error=failed, name="filecast-gui-export")

    def new_session(self) -> None:
        """"New session…": an empty roster from now on; the ledger keeps every line."""
        if not self.dialogs.ask_yes_no(
                "Start a new session?", "The roster starts empty and counts only what happens"
                " from now on. Clients.txt keeps every line."):
            return
        since = _now_stamp()
        self.roster = self.roster.fresh(since)
        remember_quietly(**{SINCE_KEY: since})
        self.dirty = True
        self.redraw(now=True)
        self.note("New session: the roster counts from now on.")

