"""Ledger folding: a client asking in a loop cannot fill the ledger with noise.

The first of a run of identical events (same address, client id, event and file) is written
at once; repeats within the fold window become one more line with a count, written when
the window closes or at stop. Decisions (downloaded, verified, declined, wrong digest) are
never folded. Unit tests drive core.server.fold with a fake clock; the rest go through a live
server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from serverkit import Running, serving, wait_until, write_file

from core.client.visit import FilecastClient
from core.errors import NotOfferedError
from core.server.fold import FOLDED_EVENTS, LedgerFolder
from core.server.ledger import Ledger, LedgerEntry, LedgerEvent
from core.wire.protocol import file_path

ID = "folding-client-01"


def events_in(records: list[dict[str, Any]]) -> int:
    """How many events the JSONL lines stand for (a folded line counts its repeats)."""
    return sum(r["repeats"] or 1 for r in records)


# --- core.server.fold with a fake clock ----------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jsonl(ledger: Ledger) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            ledger.jsonl_path.read_text(encoding="utf-8").splitlines()]


def missing(name: str = "x", port: int = 40000, client_id: str | None = ID) -> LedgerEntry:
    return LedgerEntry(LedgerEvent.NOT_OFFERED, ("10.0.0.7", port), name, client_id=client_id)


def test_fold_window_semantics(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        for n in range(57):  # one client, new connections (ports), one second
            clock.now += 1 / 57
            folder.record(missing(port=40000 + n))
        assert len(jsonl(ledger)) == 1  # the first is written at once, in full
        assert folder.next_due() == pytest.approx(9.0, abs=0.05)
        clock.now += 9.5
        folder.flush_due()
        records = jsonl(ledger)
        assert [r["repeats"] for r in records] == [0, 56]
        assert records[1]["text"] == (
            "Client: ('10.0.0.7', 40056) asked for 'x', which does not exist"
            " (repeated 56 more times)")
        assert ledger.txt_path.read_text().splitlines()[1].endswith("(repeated 56 more times)")
        # the flood goes on: the next window is summarised too, without a new full line
        for _ in range(3):
            folder.record(missing())
        clock.now += 10.5
        folder.flush_due()
        assert [r["repeats"] for r in jsonl(ledger)] == [0, 56, 3]
        # a quiet window ends the run: the next event is written in full again
        clock.now += 10.5
        folder.flush_due()
        assert folder.next_due() is None
        folder.record(missing())
        assert [r["repeats"] for r in jsonl(ledger)] == [0, 56, 3, 0]
        assert events_in(jsonl(ledger)) == 57 + 3 + 1


def test_only_identical_repeats_fold(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        folder.record(missing("x"))
        folder.record(missing("y"))  # another file
        folder.record(missing("x", client_id="another-client"))  # another client
        folder.record(LedgerEntry(LedgerEvent.NOT_OFFERED, ("10.0.0.8", 1), "x", client_id=ID))
        for event in (LedgerEvent.DOWNLOADED, LedgerEvent.VERIFIED, LedgerEvent.DECLINED,
                      LedgerEvent.DIGEST_MISMATCH):
            for _ in range(3):  # decisions are never folded
                folder.record(LedgerEntry(event, ("10.0.0.7", 1), "x", client_id=ID))
        assert len(jsonl(ledger)) == 4 + 12
        folder.record(missing("x"))
        folder.record(missing("x"), fold=False)  # e.g. cut by the server's own stop
        assert len(jsonl(ledger)) == 17
        folder.flush_all()
        assert [r["repeats"] for r in jsonl(ledger)][-1] == 1
        assert jsonl(ledger)[-1]["text"].endswith("(repeated 1 more time)")
        assert events_in(jsonl(ledger)) == 4 + 12 + 2


def test_ranges_and_interruptions_fold_with_totals(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        for n in range(100):  # a download manager's many ranges
            folder.record(LedgerEntry(LedgerEvent.PARTIAL, ("10.0.0.7", 1), "big.iso",
                                      start=n * 1000, bytes=1000, size=10**6))
        for n in range(16):
            folder.record(LedgerEntry(LedgerEvent.INTERRUPTED, ("10.0.0.7", 1), "big.iso",
                                      start=0, bytes=n * 10, size=10**6))
        folder.flush_all()
        texts = [r["text"] for r in jsonl(ledger)]
        assert texts == [
            "Client: ('10.0.0.7', 1) downloaded bytes 0-999 of the file 'big.iso'",
            "Client: ('10.0.0.7', 1) did not finish downloading 'big.iso' (0 of 1000000 bytes)",
            "Client: ('10.0.0.7', 1) downloaded 99 more ranges of the file 'big.iso'"
            " (99000 bytes)",
            "Client: ('10.0.0.7', 1) did not finish downloading 'big.iso'"
            " (repeated 15 more times)",
        ]
        assert jsonl(ledger)[2]["bytes"] == 99_000
        assert {LedgerEvent.NOT_OFFERED, LedgerEvent.PARTIAL,
                                 LedgerEvent.INTERRUPTED} == FOLDED_EVENTS


def test_window_zero_folds_nothing(tmp_path: Path) -> None:
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 0.0)
        for _ in range(20):
            folder.record(missing())
        assert len(jsonl(ledger)) == 20 and folder.next_due() is None


def test_open_windows_are_bounded(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock, max_open=50)
        for n in range(200):  # distinct names: each its own line, never held back
            folder.record(missing(f"name-{n}"))
            folder.record(missing(f"name-{n}"))
        assert folder.open_windows() <= 50
        folder.flush_all()
        assert events_in(jsonl(ledger)) == 400


# --- through a live server ----------------------------------------------------------------


def get_missing(running: Running, name: str, count: int) -> None:
    """``count`` GETs of a missing name, each on a new connection (curl in a shell loop)."""
    for _ in range(count):
        conn = running.connect()
        try:
            conn.request("GET", file_path(name))
            response = conn.getresponse()
            response.read()
            assert response.status == 404
        finally:
            conn.close()


def test_a_client_asking_in_a_loop_is_folded(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", b"Hello world")
    with serving(tmp_path, [path], fold_window=60.0) as running:
        with FilecastClient("127.0.0.1", running.port, client_id=ID) as client:
            for _ in range(300):  # one keep-alive visit asking again and again
                with pytest.raises(NotOfferedError):
                    client.check("tset.txt")
        get_missing(running, "nothing.txt", 100)
        for n in range(5):
            get_missing(running, f"distinct-{n}.txt", 1)
        # the first of each run is there at once; the repeats wait for the window
        running.wait_lines("asked for 'distinct-4.txt', which does not exist")
        assert len(running.ledger_lines()) == 7
        running.server.stop()  # stop writes what the open windows hold
        records = running.ledger_records()
        assert len(records) == 9
        assert events_in(records) == 300 + 100 + 5  # exactly once, each of them
        folded = {r["file"]: r for r in records if r["repeats"]}
        assert folded["tset.txt"]["repeats"] == 299 and folded["tset.txt"]["client_id"] == ID
        assert folded["nothing.txt"]["repeats"] == 99
        assert running.lines_with("asked for 'tset.txt', which does not exist"
                                  " (repeated 299 more times)")


def test_windows_close_while_serving(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", b"Hello world")
    with serving(tmp_path, [path], fold_window=0.3) as running:
        get_missing(running, "x", 60)
        # no stop: the summary comes when the window closes (the accept loop wakes for it)
        wait_until(lambda: events_in(running.ledger_records()) == 60, what="the summary")
        assert len(running.ledger_records()) < 60


def test_decisions_are_never_folded(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", b"Hello world")
    with serving(tmp_path, [path], fold_window=60.0) as running:
        for n in range(4):
            (tmp_path / f"copy{n}").mkdir()
            with FilecastClient("127.0.0.1", running.port, client_id=ID) as client:
                client.download("test.txt", tmp_path / f"copy{n}")
                client.decline("test.txt")
        running.wait_lines("did not download the file 'test.txt'", 4)
        running.server.stop()
        events = [r["event"] for r in running.ledger_records()]
        assert sorted(events) == ["declined"] * 4 + ["downloaded"] * 4 + ["verified"] * 4
        assert all(r["repeats"] == 0 for r in running.ledger_records())


def test_many_ranges_fold_into_one_line(tmp_path: Path) -> None:
    path = write_file(tmp_path, "big.bin", bytes(range(256)) * 400)
    with serving(tmp_path, [path], fold_window=60.0) as running:
        conn = running.connect()
        for n in range(100):  # a download manager fetching 1 KB pieces over one connection
            conn.request("GET", file_path("big.bin"),
                         headers={"Range": f"bytes={n * 1000}-{n * 1000 + 999}"})
            response = conn.getresponse()
            assert response.status == 206 and len(response.read()) == 1000
        conn.close()
        running.wait_lines("downloaded bytes 0-999 of the file 'big.bin'")
        running.server.stop()
        assert running.lines_with("downloaded 99 more ranges of the file 'big.bin'"
                                  " (99000 bytes)")
        assert len(running.ledger_lines()) == 2


def test_folding_is_off_with_a_zero_window(tmp_path: Path) -> None:
    path = write_file(tmp_path, "test.txt", b"Hello world")
    with serving(tmp_path, [path], fold_window=0) as running:
        get_missing(running, "x", 20)
        running.wait_lines("asked for 'x'", 20)


def test_summary_survives_a_bad_answer_midway(tmp_path: Path) -> None:
    # a keep-alive flood that ends with a malformed request still gets its summary at stop
    path = write_file(tmp_path, "test.txt", b"Hello world")
    with serving(tmp_path, [path], fold_window=60.0) as running:
        conn = running.connect()
        for _ in range(10):
            conn.request("HEAD", file_path("gone.txt"))
            conn.getresponse().read()
        conn.putrequest("GET", "/files/%ff")
        conn.endheaders()
        assert conn.getresponse().status == 400
        conn.close()
        running.server.stop()
        assert events_in(running.ledger_records()) == 10
