"""The server window's live table of clients (one row per visit) and its status bar.

Pure view of :class:`~core.gui.server_model.ClientTable` rows: the window folds events into
the table and hands this panel only the rows that changed, once per pump batch.
"""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Iterable
from tkinter import font as tkfont
from tkinter import ttk

from core.gui.server_model import Counts, Row, State
from core.gui.style import BAD, GOOD, MUTED, PAD, SMALL_PAD, clip
from core.wire.units import human_size

# (column, heading, width in average characters, stretches): font units, so 144 and 192 dpi
# read whole (issue 11: pixel widths clipped "Connec" and "06:57:" at 192 dpi).
COLUMNS = (
    ("who", "Client", 28, True),
    ("since", "Connected", 11, False),
    ("asked", "Asked for", 20, True),
    ("state", "State", 30, True),
    ("sent", "Sent", 10, False),
)
BUSY = "#1a5fb4"
UPSERT_PROC = "::filecast_treeview_upsert"
UPSERT_SCRIPT = """
proc ::filecast_treeview_upsert {tree rows} {
    foreach {iid values tags} $rows {
        if {[$tree exists $iid]} {
            $tree item $iid -values $values -tags $tags
        } else {
            $tree insert {} end -id $iid -values $values -tags $tags
        }
    }
}
"""
DECLINED = "#8a5300"

_TAG_OF_STATE = {
    State.DOWNLOADED: "good",
    State.VERIFIED: "good",
    State.DOWNLOADING: "busy",
    State.DECLINED: "declined",
    State.INTERRUPTED: "bad",
    State.MISMATCH: "bad",
    State.MISSING: "bad",
}


def row_tag(row: Row) -> str:
    """The colour tag of a row: outcomes keep their colour, idle visits that ended go grey."""
    tag = _TAG_OF_STATE.get(row.state)
    if tag is not None:
        return tag
    return "normal" if row.connected else "gone"


def row_values(row: Row) -> tuple[str, str, str, str, str]:
    """What the Treeview shows of one row; network-supplied text goes through clip()."""
    since = time.strftime("%H:%M:%S", time.localtime(row.since))
    return (clip(row.who, 70), since, clip(row.asked, 50) if row.asked else "—",
            row.state_text, row.sent_text)


def status_text(counts: Counts) -> str:
    """The status bar's one line."""
    return (f"{counts.connected} connected  ·  {counts.downloading} downloading  ·  "
            f"{counts.downloaded} downloaded  ·  {counts.declined} declined  ·  "
            f"{human_size(counts.bytes_sent)} sent")


class ClientsPanel(ttk.Frame):
    """A Treeview with a vertical scrollbar; rows are keyed by connection."""

    def __init__(self, master: tk.Misc) -> None:
        super().__init__(master)
        self.columnconfigure(0, weight=1)
        self.rowconfigure(1, weight=1)
        header = ttk.Frame(self)
        header.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, SMALL_PAD))
        ttk.Label(header, text="Clients", style="Heading.TLabel").pack(side="left")
        self.hint = ttk.Label(header, text="One row per visit. Nobody has connected yet.",
                              style="Muted.TLabel")
        self.hint.pack(side="left", padx=(PAD, 0))

        self.tree = ttk.Treeview(self, columns=[c[0] for c in COLUMNS], show="headings",
                                 selectmode="extended", height=8)
        char = tkfont.nametofont("TkDefaultFont").measure("0")
        for name, title, chars, stretch in COLUMNS:
            self.tree.heading(name, text=title, anchor="e" if name == "sent" else "w")
            self.tree.column(name, width=chars * char, minwidth=6 * char, stretch=stretch,
                             anchor="e" if name == "sent" else "w")
        self.tree.tag_configure("good", foreground=GOOD)
        self.tree.tag_configure("bad", foreground=BAD)
        self.tree.tag_configure("busy", foreground=BUSY)
        self.tree.tag_configure("declined", foreground=DECLINED)
        self.tree.tag_configure("gone", foreground=MUTED)
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=self.scrollbar.set)
        self._shown: dict[str, tuple[tuple[str, ...], tuple[str]]] = {}
        self.tree.grid(row=1, column=0, sticky="nsew")
        self.scrollbar.grid(row=1, column=1, sticky="ns")

    def refresh(self, rows: Iterable[tuple[int, Row]]) -> None:
        """Insert or update these rows; follows new rows when the view is at the bottom.

        Rows whose text and colour did not change are skipped, and the rest go to Tk in ONE
        call (a small Tcl procedure): every Tcl call gives up the GIL and, with hundreds of
        engine threads busy in this process, waits to get it back. One call per row froze
        the window for seconds with 300 clients downloading (tests/test_gui_load.py).
        """
        batch: list[object] = []
        newest = None
        for key, row in rows:
            iid = str(key)
            shown = (row_values(row), (row_tag(row),))
            before = self._shown.get(iid)
            if before == shown:
                continue
            if before is None:
                newest = iid
            self._shown[iid] = shown
            batch.extend((iid, *shown))
        if not batch:
            return
        at_bottom = newest is not None and self.tree.yview()[1] >= 0.999
        self.tk.call(self._upsert(), self.tree, tuple(batch))
        if newest is not None:
            self.hint.configure(text="One row per visit, kept after the client leaves.")
            if at_bottom:
                self.tree.see(newest)

    def _upsert(self) -> str:
        """The Tcl procedure that inserts or updates ``iid values tags`` triples."""
        if not self.tk.call("info", "commands", UPSERT_PROC):
            self.tk.eval(UPSERT_SCRIPT)
        return UPSERT_PROC

    def state_of(self, key: int) -> str:
        """The State column of one row (for tests and accessibility)."""
        return str(self.tree.set(str(key), "state"))

    def column_of(self, key: int, column: str) -> str:
        """Any column of one row."""
        return str(self.tree.set(str(key), column))


class StatusBar(ttk.Frame):
    """Counts below the table; set once per pump batch."""

    def __init__(self, master: tk.Misc) -> None:
        super().__init__(master, style="Status.TFrame")
        self.label = ttk.Label(self, text=status_text(Counts()), style="Status.TLabel")
        self.label.pack(side="left")
        self.detail = ttk.Label(self, text="", style="Status.TLabel")
        self.detail.pack(side="right")
        self._note_job: str | None = None  # the pending after() that clears a note

    def show(self, counts: Counts) -> None:
        """Redraw the counts."""
        self.label.configure(text=status_text(counts))

    def show_detail(self, text: str) -> None:
        """The right-hand note (where the ledger is written)."""
        self.detail.configure(text=text)

    def note(self, text: str, seconds: float = 4.0) -> None:
        """A passing remark at the right, cleared after ``seconds``."""
        self.show_detail(text)
        self.cancel_note()
        self._note_job = self.after(int(seconds * 1000), self._clear_note)

    def cancel_note(self) -> None:
        """Forget a pending clear (the window is going away, or a new note replaces it)."""
        if self._note_job is not None:
            self.after_cancel(self._note_job)
            self._note_job = None

    def _clear_note(self) -> None:
        self._note_job = None
        self.show_detail("")

    @property
    def text(self) -> str:
        """The counts line on show."""
        return str(self.label.cget("text"))
