"""Issue 9, item 12: no one can flood the ledger, and what is not written is still said.

2,718 distinct 16 KB missing names on one connection grew the ledger 94 MB in 20 s (2.1x
the wire bytes). Now a line carries at most a few KB, and lines that no delivered byte
backs are written one by one only up to a budget per address per minute; the rest are
counted in one summary line. Lines backed by delivered bytes are never dropped.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from serverkit import Reader, serving, wait_until, write_file

from core.events import LedgerFloodLimited
from core.server.floodgate import FLOOD_BUDGET, FloodGate
from core.server.fold import LedgerFolder
from core.server.ledger import MAX_FILE_BYTES, Ledger, LedgerEntry, LedgerEvent, clipped, sentence


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jsonl(ledger: Ledger) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            ledger.jsonl_path.read_text(encoding="utf-8").splitlines()]


def ask(name: str, ip: str = "10.0.0.7", port: int = 40000) -> LedgerEntry:
    return LedgerEntry(LedgerEvent.NOT_OFFERED, (ip, port), name)


# --- the budget, with a fake clock ----------------------------------------------------------

def test_the_gate_admits_a_budget_a_minute_per_address() -> None:
    clock = Clock()
    gate = FloodGate(clock=clock)
    assert all(gate.admit("10.0.0.7", LedgerEvent.NOT_OFFERED) for _ in range(FLOOD_BUDGET))
    assert not gate.admit("10.0.0.7", LedgerEvent.NOT_OFFERED)
    assert not gate.admit("10.0.0.7", LedgerEvent.DECLINED)
    assert gate.admit("10.0.0.8", LedgerEvent.NOT_OFFERED)  # another address: its own budget
    assert gate.due() == []
    clock.now += 60.0
    (summary,) = gate.due()
    assert summary.address[0] == "10.0.0.7" and summary.repeats == 2
    assert dict(summary.counts) == {"not_offered": 1, "declined": 1}
    assert gate.admit("10.0.0.7", LedgerEvent.NOT_OFFERED)  # a new minute


def test_a_flood_of_distinct_names_is_written_up_to_the_budget_then_summed(
        tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        for n in range(2718):  # 20 s of distinct names, as in the issue
            clock.now += 20 / 2718
            folder.record(ask(f"missing-{n}"))
        clock.now += 60
        folder.flush_due()
        records = jsonl(ledger)
    assert len(records) == FLOOD_BUDGET + 1
    summary = records[-1]
    assert summary["event"] == "flooded"
    assert summary["repeats"] == 2718 - FLOOD_BUDGET
    assert sum(r["repeats"] or 1 for r in records) == 2718  # every event accounted for
    assert f"{2718 - FLOOD_BUDGET:,} asks for files that do not exist" in summary["text"]


def test_lines_backed_by_delivered_bytes_are_never_dropped(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        for n in range(FLOOD_BUDGET + 50):
            folder.record(ask(f"missing-{n}"))
        for n in range(20):
            folder.record(LedgerEntry(LedgerEvent.DOWNLOADED, ("10.0.0.7", 40000 + n), "a.txt",
                                      bytes=10, size=10, start=0, acked=10))
        records = jsonl(ledger)
    assert [r["event"] for r in records].count("downloaded") == 20


def test_a_selection_declined_is_written_whole_but_repeated_lists_are_summed(
        tmp_path: Path) -> None:
    """issue 12: a class declining a folder of 1,000 files leaves 1,000 lines (the list
    costs ten lines of the budget); a client sending such lists over and over is summed."""
    clock = Clock()
    declined = [LedgerEntry(LedgerEvent.DECLINED, ("10.0.0.7", 40000), f"Data/{n:04d}.bin")
                for n in range(1000)]
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        folder.record_list(declined)
        assert len(jsonl(ledger)) == 1000
        for _ in range(30):  # 30,000 more declines within the minute
            folder.record_list(declined)
        clock.now += 60
        folder.flush_due()
        records = jsonl(ledger)
    written = [r for r in records if r["event"] == "declined"]
    assert len(written) == FLOOD_BUDGET // 10 * 1000  # the budget, in lists of ten units
    summary = records[-1]
    assert summary["event"] == "flooded"
    assert len(written) + summary["repeats"] == 31 * 1000  # every decline accounted for


def test_a_line_carries_at_most_a_few_kilobytes(tmp_path: Path) -> None:
    huge = "\U0001f600" * 16_000  # escaped as \U0001f600 in Clients.txt: 10 characters each
    agent = "A" * 16_000
    with Ledger(tmp_path / "Clients.txt") as ledger:
        ledger.record(LedgerEntry(LedgerEvent.NOT_OFFERED, ("10.0.0.7", 1), huge,
                                  user_agent=agent))
        txt = ledger.txt_path.read_bytes()
        (record,) = jsonl(ledger)
    assert len(txt) < 3_000
    assert len(ledger.jsonl_path.read_bytes()) < 4_000
    assert record["file"].startswith("\U0001f600" * 10)
    assert len(record["file"].encode()) <= MAX_FILE_BYTES + 40
    assert "more characters" in record["file"] and "more characters" in record["text"]


def test_a_clipped_name_cannot_forge_a_line() -> None:
    text = sentence(clipped(LedgerEntry(LedgerEvent.NOT_OFFERED, ("10.0.0.7", 1),
                                        "x" * 5000 + "'\nClient: forged")))
    assert "\n" not in text and text.count("Client:") == 1


# --- over the wire ------------------------------------------------------------------------

def test_a_flood_over_one_connection_leaves_a_small_ledger_and_says_so(
        tmp_path: Path) -> None:
    path = write_file(tmp_path, "a.txt", b"data")
    with serving(tmp_path, [path]) as running, running.raw(timeout=30) as sock:
        reader = Reader(sock, timeout=30)
        wire = 0
        for n in range(2718):
            name = quote(f"{n:05d}-" + "n" * (15_000 - 6), safe="")
            request = f"HEAD /files/{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            sock.sendall(request)
            wire += len(request)
            assert reader.response(head_request=True).status == 404
        flooded = running.recorder.wait_count(LedgerFloodLimited, 1)[0]
        size = running.ledger.txt_path.stat().st_size + running.ledger.jsonl_path.stat().st_size
        lines = running.ledger_lines()
    assert flooded.address == "127.0.0.1"
    assert wire > 40_000_000
    assert size < 2_000_000, f"{size:,} bytes of ledger for {wire:,} bytes of requests"
    assert FLOOD_BUDGET <= len(lines) <= FLOOD_BUDGET + 2


@pytest.mark.parametrize("count", [30])
def test_a_class_behind_one_address_is_not_limited(tmp_path: Path, count: int) -> None:
    """30 people behind one NAT address, each with a typo and a decline, in one minute."""
    path = write_file(tmp_path, "a.txt", b"data")
    body = json.dumps({"version": 1, "file": "a.txt", "decision": "declined"}).encode()
    with serving(tmp_path, [path]) as running:
        for n in range(count):
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
                ident = f"X-Filecast-Client-Id: student-{n:04d}\r\n"
                sock.sendall(f"HEAD /files/typo{n}.txt HTTP/1.1\r\nHost: x\r\n{ident}\r\n"
                             .encode())
                sock.sendall(f"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\n{ident}"
                             f"Content-Type: application/json\r\nContent-Length: {len(body)}"
                             "\r\n\r\n".encode() + body)
                reader = Reader(sock)
                assert reader.response(head_request=True).status == 404
                assert reader.response().status == 200
        wait_until(lambda: len(running.ledger_lines()) >= 2 * count, what="every line")
    assert running.recorder.of(LedgerFloodLimited) == []


def test_an_ipv6_host_has_one_budget_for_its_whole_slash_64() -> None:
    gate = FloodGate(clock=Clock())
    assert all(gate.admit(f"2001:db8:1:2::{n:x}", LedgerEvent.NOT_OFFERED)
               for n in range(FLOOD_BUDGET))
    assert not gate.admit("2001:db8:1:2::ffff", LedgerEvent.NOT_OFFERED)
    assert gate.admit("2001:db8:1:3::1", LedgerEvent.NOT_OFFERED)  # another /64


def test_folded_lines_of_unbacked_events_count_against_the_budget(tmp_path: Path) -> None:
    """Adversarial pass: 120 missing names asked again and again wrote 120 folded lines per
    fold window past the budget (about 840 unbacked lines a minute)."""
    clock = Clock()
    with Ledger(tmp_path / "Clients.txt") as ledger:
        folder = LedgerFolder(ledger, 10.0, clock=clock)
        for _ in range(60):  # a minute: every name asked again each second
            for n in range(FLOOD_BUDGET):
                folder.record(ask(f"missing-{n}"))
            clock.now += 1.0
            folder.flush_due()
        clock.now += 60.0
        folder.flush_due()
        records = jsonl(ledger)
    unbacked_lines = [r for r in records if r["event"] in ("not_offered", "flooded")]
    # two minutes of budget (the last folded lines are written in the second), not 840
    assert len(unbacked_lines) <= 2 * (FLOOD_BUDGET + 1)
    assert sum(r["repeats"] or 1 for r in records) == 60 * FLOOD_BUDGET  # all accounted for


def test_a_line_backed_by_one_byte_carries_little_of_what_the_client_sent(
        tmp_path: Path) -> None:
    """Adversarial pass: a 1-byte range with a 200-character client name of controls and a
    256-character agent made 3.3 KB of ledger, three times its request."""
    with Ledger(tmp_path / "Clients.txt") as ledger:
        ledger.record(LedgerEntry(LedgerEvent.PARTIAL, ("10.0.0.7", 1), "a.txt", bytes=1,
                                  size=11, start=10, acked=1, name="\x01" * 200,
                                  user_agent="\x85" * 256, client_id="x" * 64))
        size = ledger.txt_path.stat().st_size + ledger.jsonl_path.stat().st_size
    assert size < 1500
