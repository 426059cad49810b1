"""The server window's People tab: one row per person, a header line, search, the "not yet"
filter, sorting by any column, and the roster's actions (issue 11).

A pure view of core.server.RosterRow lists: the window hands in every row and the header
once per pump batch; this panel filters, sorts and copies only what changed into Tk.
"""

from __future__ import annotations

import functools
import time
import tkinter as tk
import unicodedata
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any, Literal

from core.gui.style import BAD, GOOD, MUTED, PAD, SMALL_PAD, bind_select_all, clip
from core.server import RosterRow, Standing, not_yet

# (column, heading, width in average characters, stretches); widths are in font units so
# 144 and 192 dpi read whole (issue 11: pixel widths clipped "Connec" at 192 dpi).
COLUMNS = (
    ("name", "Name", 22, True),
    ("outcome", "Has the file", 22, True),
    ("now", "Now", 17, False),
    ("seen", "Last seen", 11, False),
    ("visits", "Visits", 7, False),
    ("address", "Address", 17, False),
)
NOT_YET_HINT = "Names are as each person typed them."


def _seen(row: RosterRow) -> str:
    """Last seen as a time of day (today) or a date, local time."""
    if row.last_seen is None:
        return "never"
    moment = time.localtime(row.last_seen)
    today = time.localtime()
    same_day = moment[:3] == today[:3]
    return time.strftime("%H:%M" if same_day else "%d %b", moment)


def row_values(row: RosterRow) -> tuple[str, ...]:
    """What the Treeview shows of one row; network text goes through clip() (escaped)."""
    return (clip(row.name, 60), row.outcome, row.now or "—", _seen(row),
            str(row.visits) if row.visits else "—", row.address)


def row_tag(row: RosterRow) -> str:
    """Green for has it, amber for declined, red for a damaged copy, grey for never seen."""
    if row.has_it:
        return "good"
    if row.standing is Standing.DECLINED:
        return "declined"
    if row.outcome == "got a damaged copy":
        return "bad"
    return "never" if row.standing is Standing.NOT_YET else "normal"


def search_key(text: str) -> str:
    """What search compares: no case, no accents, single spaces ("ZOE" finds "Zoë")."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


_SORT_KEYS: dict[str, Callable[[RosterRow], Any]] = {
    "name": lambda r: search_key(r.name),
    "outcome": lambda r: (r.standing, r.outcome),
    "now": lambda r: r.now,
    "seen": lambda r: r.last_seen or 0.0,
    "visits": lambda r: r.visits,
    "address": lambda r: r.address,
}


class RosterPanel(ttk.Frame):
    """Header, tools and the people table. Callbacks run on the main thread."""

    def __init__(self, master: tk.Misc, *, on_expected: Callable[[], None],
                 on_export: Callable[[], None], on_new_session: Callable[[], None]) -> None:
        super().__init__(master, padding=(0, SMALL_PAD, 0, 0))
        self.columnconfigure(0, weight=1)
        self.rowconfigure(2, weight=1)
        self._rows: list[RosterRow] = []
        self._shown: list[tuple[str, tuple[str, ...], str]] = []
        self._iids: dict[str, str] = {}  # person key -> Treeview item id
        self.sort_column, self.sort_descending = "name", False
        self._build_header()
        self._build_tools(on_expected, on_export, on_new_session)
        self._build_table()

    def _build_header(self) -> None:
        header = ttk.Frame(self)
        header.grid(row=0, column=0, columnspan=2, sticky="ew")
        self.header = ttk.Label(header, text="Nobody yet", style="Heading.TLabel")
        self.header.pack(side="left")
        ttk.Label(header, text=NOT_YET_HINT, style="Muted.TLabel").pack(side="left",
                                                                       padx=(PAD, 0))

    def _build_tools(self, on_expected: Callable[[], None], on_export: Callable[[], None],
                     on_new_session: Callable[[], None]) -> None:
        tools = ttk.Frame(self)
        tools.grid(row=1, column=0, columnspan=2, sticky="ew", pady=SMALL_PAD)
        ttk.Label(tools, text="Search:").pack(side="left")
        self.search = tk.StringVar(self)
        self.search_entry = ttk.Entry(tools, textvariable=self.search, width=16)
        self.search_entry.pack(side="left", padx=(SMALL_PAD, PAD))
        bind_select_all(self.search_entry)
        self.only_not_yet = tk.BooleanVar(self, value=False)
        self.not_yet_check = ttk.Checkbutton(tools, text="Only who does not have it yet",
                                             variable=self.only_not_yet, command=self.render)
        self.not_yet_check.pack(side="left")
        self.search.trace_add("write", lambda *_: self.render())
        self.new_button = ttk.Button(tools, text="New session…", command=on_new_session)
        self.new_button.pack(side="right")
        self.export_button = ttk.Button(tools, text="Export CSV…", command=on_export)
        self.export_button.pack(side="right", padx=(0, SMALL_PAD))
        self.expected_button = ttk.Button(tools, text="Expected people…", command=on_expected)
        self.expected_button.pack(side="right", padx=(0, SMALL_PAD))

    def _build_table(self) -> None:
        char = tkfont.nametofont("TkDefaultFont").measure("0")
        self.tree = ttk.Treeview(self, columns=[c[0] for c in COLUMNS], show="headings",
                                 selectmode="extended", height=6)
        for name, title, chars, stretch in COLUMNS:
            anchor: Literal["center", "w"] = "center" if name == "visits" else "w"
            self.tree.heading(name, text=title, anchor=anchor,
                              command=functools.partial(self.sort_by, name))
            self.tree.column(name, width=chars * char, minwidth=4 * char, stretch=stretch,
                             anchor=anchor)
        self.tree.tag_configure("good", foreground=GOOD)
        self.tree.tag_configure("bad", foreground=BAD)
        self.tree.tag_configure("declined", foreground="#8a5300")
        self.tree.tag_configure("never", foreground=MUTED)
        scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scrollbar.set)
        self.tree.grid(row=2, column=0, sticky="nsew")
        scrollbar.grid(row=2, column=1, sticky="ns")

    # --- showing ------------------------------------------------------------------------

    def show(self, rows: list[RosterRow], header: str) -> None:
        """Every row and the header line; what is drawn depends on search, filter, sort."""
        self._rows = rows
        self.header.configure(text=header if rows else "Nobody yet")
        self.render()

    def visible(self) -> list[RosterRow]:
        """The rows the filter and search let through, in the chosen order."""
        words = search_key(self.search.get())
        rows = [r for r in self._rows
                if (not self.only_not_yet.get() or not_yet(r))
                and (not words or words in search_key(r.name))]
        rows.sort(key=_SORT_KEYS[self.sort_column], reverse=self.sort_descending)
        return rows

    def sort_by(self, column: str) -> None:
        """A heading click: sort by it; a second click on the same heading reverses."""
        if column == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_column, self.sort_descending = column, False
        for name, title, _chars, _stretch in COLUMNS:
            arrow = (" ▼" if self.sort_descending else " ▲") if name == column else ""
            self.tree.heading(name, text=title + arrow)
        self.render()

    def render(self) -> None:
        """Copy the visible rows into the Treeview; nothing at all when nothing changed."""
        shown = [(self._iid(row.key), row_values(row), row_tag(row)) for row in self.visible()]
        if shown == self._shown:
            return
        before = {key for key, _values, _tag in self._shown}
        now = {key for key, _values, _tag in shown}
        if before - now:
            self.tree.delete(*(before - now))
        old = {key: (values, tag) for key, values, tag in self._shown}
        for key, values, tag in shown:
            if key not in before:
                self.tree.insert("", "end", iid=key, values=values, tags=(tag,))
            elif old[key] != (values, tag):
                self.tree.item(key, values=values, tags=(tag,))
        self.tree.set_children("", *[key for key, _values, _tag in shown])
        self._shown = shown

    def _iid(self, key: str) -> str:
        """The Treeview item id of a person: opaque (``p17``), never the person's key, which
        holds network text (a NUL in a name once made two people one item: issue 11)."""
        iid = self._iids.get(key)
        if iid is None:
            iid = self._iids[key] = f"p{len(self._iids)}"
        return iid

    def shown_names(self) -> list[str]:
        """The Name column top to bottom (for tests and accessibility)."""
        return [str(self.tree.set(iid, "name")) for iid in self.tree.get_children()]

    def column_of(self, name: str, column: str) -> str:
        """One cell of the first row showing ``name``."""
        for iid in self.tree.get_children():
            if self.tree.set(iid, "name") == name:
                return str(self.tree.set(iid, column))
        raise KeyError(name)
