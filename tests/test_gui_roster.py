"""The server window's People tab (issue 11), driven like a teacher would: ten named
clients on real sockets, then the roster's header, filter, search, sort, expected people,
CSV export and new session, and the same roster after the window is closed and reopened.
"""

from __future__ import annotations

import csv
import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from guikit import FakeDialogs, pump_until
from test_gui_server import Harness
from test_gui_server import harness as harness  # the fixture, shared

from core.client.visit import FilecastClient
from core.errors import NotOfferedError
from core.gui.server_window import ServerWindow
from core.server import Roster
from core.wire.protocol import HEADER_CLIENT_ID, HEADER_CLIENT_NAME

pytestmark = pytest.mark.gui
FILE = "big.bin"
DATA = os.urandom(6 * 1024 * 1024)


def cut_download(port: int, who: str, keep: int = 256 * 1024) -> None:
    """A named client that reads part of the file and goes away (a laptop lid closing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET /files/{FILE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"{HEADER_CLIENT_ID}: id-{hashlib.sha256(who.encode()).hexdigest()[:12]}\r\n"
                     f"{HEADER_CLIENT_NAME}: {quote(who)}\r\n\r\n".encode())
        got = 0
        while got < keep:
            chunk = sock.recv(65536)
            assert chunk
            got += len(chunk)


def visit(port: int, who: str, *actions: str, folder: Path) -> None:
    """One visit of a Filecast client named ``who``: check, then each action in turn."""
    ident = "id-" + hashlib.sha256(who.encode()).hexdigest()[:12]
    with FilecastClient("127.0.0.1", port, client_id=ident, name=who) as client:
        client.connect()
        for action in actions:
            if action == "typo":
                with pytest.raises(NotOfferedError):
                    client.check("big.bni")
            elif action == "decline":
                client.check(FILE)
                client.decline(FILE)
            else:
                client.check(FILE)
                (folder / who).mkdir(parents=True, exist_ok=True)
                assert client.download(FILE, folder / who).verified


def the_class(harness: Harness, port: int) -> None:
    """Ten people: downloads, declines, cuts, a resume, typos, and one who came back."""
    folder = harness.tmp / "downloads"
    for who in ("ana", "ben", "cleo"):
        harness.run(lambda who=who: visit(port, who, "download", folder=folder))
    for who in ("dan", "eve"):
        harness.run(lambda who=who: visit(port, who, "decline", folder=folder))
    harness.run(lambda: cut_download(port, "finn"))
    harness.run(lambda: cut_download(port, "gus"))
    harness.run(lambda: visit(port, "gus", "download", folder=folder))
    harness.run(lambda: visit(port, "hana", "typo", "download", folder=folder))
    harness.run(lambda: visit(port, "ivy", "typo", folder=folder))
    harness.run(lambda: visit(port, "jon", "download", folder=folder))
    harness.run(lambda: visit(port, "jon", "decline", folder=folder))
    harness.run(lambda: cut_download(port, "jon"))


HEADER = "6 of 10 have it · 0 downloading · 2 declined"
OUTCOMES = {"ana": "has it, verified", "ben": "has it, verified", "cleo": "has it, verified",
            "dan": "declined", "eve": "declined", "gus": "has it, verified",
            "hana": "has it, verified", "ivy": "asked, no answer", "jon": "has it, verified"}


def settled(window: ServerWindow) -> tuple[tuple[str, str, int], ...]:
    """What a person reads in the table, top to bottom, once nobody is connected."""
    panel = window.people.panel
    rows = tuple((r.name, r.outcome, r.visits) for r in panel.visible())
    return rows if all(not r.now for r in panel.visible()) else ()


def test_ten_people_make_ten_rows_with_best_outcomes_and_survive_a_restart(
        harness: Harness) -> None:
    offered = harness.file(FILE, DATA)
    window = harness.open([offered], toplevel=True)
    port = harness.serving(window)
    the_class(harness, port)
    panel = window.people.panel
    pump_until(harness.root, lambda: panel.header.cget("text") == HEADER and settled(window),
               what="the header and ten quiet rows")
    assert len(panel.shown_names()) == 10
    for name, outcome in OUTCOMES.items():
        assert panel.column_of(name, "outcome") == outcome
    assert panel.column_of("finn", "outcome").startswith("has ")  # some percent of it
    assert panel.column_of("jon", "visits") == "3"
    assert panel.tree.item(panel.tree.get_children()[0], "tags") == ("good",)  # ana

    panel.not_yet_check.invoke()
    assert sorted(panel.shown_names()) == ["dan", "eve", "finn", "ivy"]
    panel.not_yet_check.invoke()
    assert len(panel.shown_names()) == 10
    before = settled(window)

    window.close()
    pump_until(harness.root, lambda: window.closed, what="the window closed")
    again = harness.open([offered], toplevel=True)
    harness.serving(again)
    pump_until(harness.root, lambda: again.people.loaded and settled(again) == before,
               what="the same roster after a restart")
    assert again.people.panel.header.cget("text") == HEADER


def test_expected_people_show_who_never_came_and_are_remembered(harness: Harness) -> None:
    dialogs = FakeDialogs(line_edits=[["Ana", "  kim ", "", "ANA"]])
    window = harness.open([harness.file(FILE, b"x" * 1000)], dialogs=dialogs, toplevel=True)
    port = harness.serving(window)
    harness.run(lambda: visit(port, "ana", "decline", folder=harness.tmp))
    panel = window.people.panel
    panel.expected_button.invoke()
    pump_until(harness.root, lambda: sorted(panel.shown_names()) == ["ana", "kim"],
               what="ana and kim")
    assert panel.column_of("kim", "outcome") == "not seen yet"
    assert panel.column_of("kim", "seen") == "never"
    assert panel.header.cget("text") == "0 of 2 have it · 0 downloading · 1 declined"
    assert dialogs.called("edit_lines")[0][2] == []
    window.close()
    pump_until(harness.root, lambda: window.closed, what="closed")
    time.sleep(0.3)  # the settings writer is a daemon thread; it writes in well under that
    dialogs_again = FakeDialogs()
    again = harness.open([harness.file(FILE, b"x" * 1000)], dialogs=dialogs_again,
                         toplevel=True)
    harness.serving(again)
    pump_until(harness.root, lambda: "kim" in again.people.panel.shown_names(), what="kim")
    again.people.panel.expected_button.invoke()
    assert dialogs_again.called("edit_lines")[0][2] == ["Ana", "kim"]


def test_search_sort_and_csv_export(harness: Harness) -> None:
    target = harness.tmp / "roster.csv"
    dialogs = FakeDialogs(saves=[str(target)])
    window = harness.open([harness.file(FILE, b"x" * 1000)], dialogs=dialogs, toplevel=True)
    port = harness.serving(window)
    for who in ("Zoë", "=cmd|' /C calc'!A0", "adam"):
        harness.run(lambda who=who: visit(port, who, "decline", folder=harness.tmp))
    harness.run(lambda: visit(port, "bea", "download", folder=harness.tmp))
    panel = window.people.panel
    pump_until(harness.root, lambda: len(panel.shown_names()) == 4, what="four people")
    assert panel.shown_names() == ["=cmd|' /C calc'!A0", "adam", "bea", "Zoë"]
    panel.tree.tk.call(panel.tree.heading("outcome", "command"))
    assert panel.shown_names()[-1] == "bea"
    assert panel.tree.heading("outcome", "text") == "Has the file ▲"
    panel.search.set("ZOE")  # typed without the accent, as on most keyboards
    assert panel.shown_names() == ["Zoë"]
    panel.search.set("zoey")
    assert panel.shown_names() == []
    panel.search.set("")
    panel.export_button.invoke()
    pump_until(harness.root, lambda: "Saved the roster of 4 people" in
               window.status_bar.detail.cget("text"), what="the export note")
    rows = list(csv.reader(target.open(encoding="utf-8-sig", newline="")))
    assert rows[0][0] == "Name" and len(rows) == 5
    assert ["'=cmd|' /C calc'!A0", "no", "declined"] in [r[:3] for r in rows]


def test_a_new_session_starts_empty_and_stays_so_after_a_restart(harness: Harness) -> None:
    dialogs = FakeDialogs(answers=[True])
    window = harness.open([harness.file(FILE, b"x" * 1000)], dialogs=dialogs, toplevel=True)
    port = harness.serving(window)
    harness.run(lambda: visit(port, "ana", "download", folder=harness.tmp))
    panel = window.people.panel
    pump_until(harness.root, lambda: panel.shown_names() == ["ana"], what="ana")
    time.sleep(1.1)  # ledger times are to the second: the new session starts after ana
    panel.new_button.invoke()
    assert panel.shown_names() == []
    assert "ana" in harness.ledger.read_text(encoding="utf-8")
    window.close()
    pump_until(harness.root, lambda: window.closed, what="closed")
    time.sleep(0.3)
    again = harness.open([harness.file(FILE, b"x" * 1000)], toplevel=True)
    harness.serving(again)
    pump_until(harness.root, lambda: again.people.loaded, what="the roster read back")
    assert again.people.panel.shown_names() == []


def test_a_changed_file_makes_people_not_yet_again_visibly(harness: Harness) -> None:
    path = harness.file(FILE, b"x" * 1000)
    window = harness.open([path])
    port = harness.serving(window)
    harness.run(lambda: visit(port, "ana", "download", folder=harness.tmp))
    panel = window.people.panel
    pump_until(harness.root, lambda: panel.header.cget("text").startswith("1 of 1"),
               what="ana has it")
    path.write_bytes(b"y" * 1001)
    pump_until(harness.root, lambda: panel.header.cget("text").startswith("0 of 1"),
               timeout=15, what="the new version noticed")
    assert "older version" in panel.column_of("ana", "outcome")


def test_the_ledger_is_read_back_off_the_tk_thread_and_meanwhile_is_kept(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """80,000 lines take ~2 s to read and fold: never on the Tk thread. What happens while
    they are read is replayed into the rebuilt roster, so nobody is lost."""
    from core.gui import server_roster
    first = harness.open([harness.file(FILE, b"x" * 1000)], toplevel=True)
    port = harness.serving(first)
    harness.run(lambda: visit(port, "ana", "decline", folder=harness.tmp))
    first.close()
    pump_until(harness.root, lambda: first.closed, what="closed")
    real = server_roster.read_recent
    threads: list[str] = []

    def slow(path: Path, limit: int) -> list[dict[str, object]]:
        threads.append(threading.current_thread().name)
        time.sleep(1.0)
        return real(path, limit)

    folding: list[str] = []
    restore = Roster.restore

    def watched(roster: Roster, records: Any) -> None:
        folding.append(threading.current_thread().name)
        restore(roster, records)

    monkeypatch.setattr(server_roster, "read_recent", slow)
    monkeypatch.setattr(Roster, "restore", watched)
    again = harness.open([harness.file(FILE, b"x" * 1000)], toplevel=True)
    port = harness.serving(again)
    harness.run(lambda: visit(port, "ben", "decline", folder=harness.tmp))
    assert not again.people.loaded  # ben came while the ledger was still being read
    pump_until(harness.root, lambda: again.people.loaded, what="the ledger read back")
    pump_until(harness.root, lambda: sorted(again.people.panel.shown_names()) == ["ana", "ben"],
               what="ana from the ledger and ben from meanwhile")
    assert threads and threads[0] != "MainThread"
    assert folding and "MainThread" not in folding  # the folding too, not only the reading
