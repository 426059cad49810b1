"""The roster (core/server/roster.py): one row per person with their best outcome per file
version, from the very ledger records Clients.jsonl holds, so it reads the same live and
after a restart (issue 11). Records are written by a real Ledger and heard through its
listener, exactly as the server window gets them.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    FileRequested,
    LedgerWritten,
    OfferSent,
    TransferProgress,
    TransferStarted,
)
from core.server import Roster, Standing, not_yet, read_recent, write_csv
from core.server.ledger import Ledger, LedgerEntry, LedgerEvent

FILE, V1, V2, SIZE = "big.bin", '"100-1"', '"100-2"', 100


class Feed:
    """A real Ledger whose lines a live Roster hears; ``restarted()`` rebuilds one from disk."""

    def __init__(self, folder: Path) -> None:
        self.roster = Roster()
        self.roster.set_offer([(FILE, V1)])
        self.path = folder / "Clients.txt"
        self.ledger = Ledger(self.path, listener=self)

    def on_event(self, event: Any) -> None:
        self.roster.apply(event)

    def line(self, event: LedgerEvent, who: str | None, port: int = 5000,
             address: str = "10.0.0.5", name: str | None = None, **fields: Any) -> None:
        fields.setdefault("etag", V1)
        if event in (LedgerEvent.DOWNLOADED, LedgerEvent.INTERRUPTED, LedgerEvent.PARTIAL):
            fields.setdefault("size", SIZE)
            fields.setdefault("bytes", SIZE if event is LedgerEvent.DOWNLOADED else 40)
            fields.setdefault("start", 0)
        self.ledger.record(LedgerEntry(event, (address, port), FILE, client_id=who,
                                       name=name if name is not None else who, **fields))

    def restarted(self, offer: str = V1) -> Roster:
        again = Roster()
        again.set_offer([(FILE, offer)])
        again.restore(read_recent(self.path.with_suffix(".jsonl")))
        return again


@pytest.fixture
def feed(tmp_path: Path) -> Any:
    made = Feed(tmp_path)
    yield made
    made.ledger.close()


def outcomes(roster: Roster) -> dict[str, tuple[Standing, str]]:
    return {row.name: (row.standing, row.outcome) for row in roster.rows()}


def test_the_best_outcome_never_goes_down_and_one_person_is_one_row(feed: Feed) -> None:
    """Once: a verified student who then declined and cut a second download turned red."""
    feed.line(LedgerEvent.DOWNLOADED, "ana", port=1)
    feed.line(LedgerEvent.VERIFIED, "ana", port=1, sha256="0" * 64, size=SIZE)
    feed.line(LedgerEvent.INTERRUPTED, "ana", port=2)
    feed.line(LedgerEvent.DECLINED, "ana", port=3)
    rows = feed.roster.rows()
    assert [(r.name, r.standing, r.outcome, r.visits) for r in rows] == [
        ("ana", Standing.VERIFIED, "has it, verified", 3)]


def test_ten_people_and_the_header_live_and_after_a_restart(feed: Feed) -> None:
    for n in range(4):
        feed.line(LedgerEvent.DOWNLOADED, f"have-{n}", port=n)
    feed.line(LedgerEvent.DECLINED, "decliner")
    feed.line(LedgerEvent.INTERRUPTED, "cut", bytes=40)
    feed.line(LedgerEvent.INTERRUPTED, "resumed", bytes=40)
    feed.line(LedgerEvent.DOWNLOADED, "resumed", start=40, port=7)
    feed.line(LedgerEvent.NOT_OFFERED, "typo", etag=None)
    feed.line(LedgerEvent.DOWNLOADED, "typo", port=9)
    feed.line(LedgerEvent.NOT_OFFERED, "only-typo", etag=None)
    feed.line(LedgerEvent.DIGEST_MISMATCH, "damaged", sha256="1" * 64, size=SIZE)
    assert feed.roster.header() == "6 of 10 have it · 0 downloading · 1 declined"
    assert outcomes(feed.roster)["cut"] == (Standing.PARTWAY, "has 40% of it")
    assert outcomes(feed.roster)["only-typo"] == (Standing.ASKED, "asked, no answer")
    assert outcomes(feed.roster)["damaged"] == (Standing.PARTWAY, "got a damaged copy")
    again = feed.restarted()
    assert again.rows() == feed.roster.rows()
    assert again.header() == feed.roster.header()
    assert sorted(r.name for r in again.rows() if not_yet(r)) == [
        "cut", "damaged", "decliner", "only-typo"]


def test_a_new_version_makes_people_not_yet_again_visibly(feed: Feed) -> None:
    feed.line(LedgerEvent.DOWNLOADED, "ana")
    feed.roster.set_offer([(FILE, V2)])
    [row] = feed.roster.rows()
    assert not row.has_it and "older version" in row.outcome
    feed.line(LedgerEvent.DECLINED, "ana", etag=V2)
    assert outcomes(feed.roster)["ana"] == (Standing.DECLINED,
                                           "declined (has an older version)")
    assert feed.restarted(offer=V2).rows() == feed.roster.rows()


def test_lines_without_names_or_ids_are_people_by_address(feed: Feed) -> None:
    """curl sends neither; old ledgers have neither: such lines still parse and count."""
    feed.line(LedgerEvent.DOWNLOADED, None, address="10.0.0.9", port=1, etag=None,
              user_agent="curl/8.5.0")
    feed.line(LedgerEvent.INTERRUPTED, None, address="10.0.0.9", port=2, etag=None,
              user_agent="curl/8.6.0")
    feed.line(LedgerEvent.DOWNLOADED, None, address="10.0.0.9", port=3, etag=None,
              user_agent="Wget/1.21")
    feed.line(LedgerEvent.DECLINED, None, address="10.0.0.8", port=3, etag=None)
    rows = sorted((r.name, r.address, r.visits, r.has_it) for r in feed.roster.rows())
    assert rows == [("10.0.0.8", "10.0.0.8", 1, False),  # the program it said it was, if any
                    ("10.0.0.9 · Wget", "10.0.0.9", 1, True),
                    ("10.0.0.9 · curl", "10.0.0.9", 2, True)]


def test_one_shared_account_still_tells_people_apart_by_the_name_they_give(feed: Feed) -> None:
    """In a lab where everyone shares one account, every client keeps the same id."""
    feed.line(LedgerEvent.DOWNLOADED, "lab-account", name="Ana", address="10.0.0.5")
    feed.line(LedgerEvent.DECLINED, "lab-account", name="Ben", address="10.0.0.6")
    feed.line(LedgerEvent.DECLINED, "lab-account", name="ana ", address="10.0.0.5", port=2)
    assert outcomes(feed.roster) == {"ana": (Standing.DOWNLOADED, "has it"),  # as last typed
                                     "Ben": (Standing.DECLINED, "declined")}


def test_expected_names_show_who_never_came_matched_loosely(feed: Feed) -> None:
    feed.line(LedgerEvent.DOWNLOADED, "id-1", name="Ana López")
    kept = feed.roster.set_expected(["ana lópez", "  Ben  ", "", "ben", "Chloé"])
    assert kept == ["ana lópez", "Ben", "Chloé"]
    rows = {r.name: r for r in feed.roster.rows()}
    assert rows["Ana López"].expected and rows["Ana López"].has_it
    assert rows["Ben"].standing is Standing.NOT_YET and rows["Ben"].outcome == "not seen yet"
    assert feed.roster.header() == "1 of 3 have it · 0 downloading · 0 declined"


def test_a_new_session_skips_older_lines_but_the_ledger_keeps_them(feed: Feed) -> None:
    feed.line(LedgerEvent.DOWNLOADED, "ana")
    fresh = Roster(since="2999-01-01T00:00:00Z")
    fresh.restore(read_recent(feed.path.with_suffix(".jsonl")))
    assert fresh.rows() == []
    assert "ana" in feed.path.read_text()


ANA = ClientInfo(1, ("10.0.0.5", 4000), client_id="ana", name="Ana")


def test_live_activity_is_shown_beside_the_outcome_and_goes_with_the_connection() -> None:
    roster = Roster(clock=lambda: 1000.0)
    roster.set_offer([(FILE, V1)])
    assert not roster.apply(ClientConnected(ClientInfo(1, ("10.0.0.5", 4000))))
    assert roster.rows() == []  # nobody until a request says who
    roster.apply(OfferSent(ANA))
    assert [(r.outcome, r.now) for r in roster.rows()] == [("came, did not ask", "connected")]
    roster.apply(FileRequested(ANA, FILE, True, SIZE))
    roster.apply(TransferStarted(ANA, FILE, 0, SIZE, SIZE))
    roster.apply(TransferProgress(ANA, FILE, 25, SIZE, SIZE))
    [row] = roster.rows()
    assert (row.standing, row.outcome, row.now) == (Standing.PARTWAY, "downloading",
                                                     "downloading 25%")
    assert roster.header() == "0 of 1 have it · 1 downloading · 0 declined"
    roster.apply(ClientDisconnected(ANA))
    [row] = roster.rows()
    assert (row.standing, row.now, row.last_seen) == (Standing.ASKED, "", 1000.0)


def test_csv_has_every_person_and_no_cell_runs_as_a_formula(feed: Feed) -> None:
    feed.line(LedgerEvent.DOWNLOADED, "id-1", name='=HYPERLINK("http://evil","x")')
    feed.line(LedgerEvent.DECLINED, "id-2", name="Ben, \"the\" second")
    out = io.StringIO(newline="")
    assert write_csv(feed.roster.rows(), out) == 2
    table = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert table[0][:3] == ["Name", "Has it", "Outcome"]
    assert table[1][:3] == ["'=HYPERLINK(\"http://evil\",\"x\")", "yes", "has it"]
    assert table[2][:3] == ["Ben, \"the\" second", "no", "declined"]


@pytest.mark.parametrize("agent", ["/x", "   ", "", "\x1b[2J/1", "a" * 500])
def test_any_user_agent_makes_a_row_and_never_an_error(feed: Feed, agent: str) -> None:
    feed.line(LedgerEvent.DOWNLOADED, None, etag=None, user_agent=agent)
    [row] = feed.roster.rows()
    from core.server.persons import MAX_PROGRAM

    assert row.name.startswith("10.0.0.5") and len(row.name) <= len("10.0.0.5 · ") + MAX_PROGRAM


def test_a_person_who_took_a_folder_of_10000_files_is_drawn_at_once() -> None:
    """Issue 12: one person took 10,000 files. Each redraw compared every offered file
    with every mark the person had (100 million steps, 4.4 s here): the server window froze
    up to 12 s at a time under a 10,000-file archive. A generous deadline, far above a
    linear pass (tens of milliseconds)."""
    names = [f"Data/{n:05d}.bin" for n in range(10_000)]
    roster = Roster()
    roster.set_offer([(name, V1) for name in names])
    for name in names:
        roster.apply(LedgerWritten({"event": "verified", "address": "10.0.0.5", "port": 1,
                                    "client_id": "ana-000001", "name": "Ana", "file": name,
                                    "etag": V1, "time": "2026-12-03T10:00:00Z"}))
    started = time.monotonic()
    (row,) = roster.rows()
    assert time.monotonic() - started < 1.5
    assert (row.name, row.standing) == ("Ana", Standing.VERIFIED)


@pytest.mark.parametrize(("agent", "label"), [
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
     " Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
     " like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
     " Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko)"
     " Chrome/126.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
     "Firefox on Mac"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like"
     " Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
     "Samsung Internet on Android"),
    ("curl/8.5.0", "curl"), ("Wget/1.21.3", "Wget"), ("aria2/1.36.0", "aria2"),
    ("Mozilla/5.0 (compatible; a link checker)", "Mozilla"), ("", ""), (None, ""),
])
def test_a_row_without_a_name_says_which_browser_on_what(agent: object, label: str) -> None:
    """Thirty rows of "10.0.0.9 · Mozilla" told a teacher nothing (issue 13)."""
    from core.server.persons import program

    assert program(agent) == label
