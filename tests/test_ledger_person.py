"""The ledger carries the person (issue 11, item 2): Clients.txt keeps the original sentence
and adds the display name a client gave, escaped so no name can forge or split a sentence;
Clients.jsonl has the name and client id on every line; old lines without them still read."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from core.server.ledger import Ledger, LedgerEntry, LedgerEvent, read_recent, sentence
from core.wire.escaping import quoted_name

ADDR = ("192.168.1.31", 53552)
WHEN = datetime(2026, 12, 3, 9, 0, 0, tzinfo=timezone.utc)


def entry(event: LedgerEvent, name: str | None, **fields: Any) -> LedgerEntry:
    return LedgerEntry(event=event, address=ADDR, file="test.txt", name=name, time=WHEN,
                       **fields)


def test_a_named_client_is_named_after_its_address() -> None:
    assert sentence(entry(LedgerEvent.DOWNLOADED, "Ana Lopez")) == \
        "Client: ('192.168.1.31', 53552) \"Ana Lopez\" downloaded the file 'test.txt'"
    assert sentence(entry(LedgerEvent.DECLINED, "Ana Lopez")) == \
        "Client: ('192.168.1.31', 53552) \"Ana Lopez\" did not download the file 'test.txt'"


def test_without_a_name_the_original_sentence_is_unchanged() -> None:
    assert sentence(entry(LedgerEvent.DOWNLOADED, None)) == \
        "Client: ('192.168.1.31', 53552) downloaded the file 'test.txt'"


@pytest.mark.parametrize("name", [
    'Ana" downloaded the file \'x\'',
    "Ana\n2026-01-01T00:00:00Z Client: ('6.6.6.6', 1) \"Eve\" downloaded the file 'y'",
    "“Ana” «Lopez» ‘x’ „y‟ 「z」 ＂w＂",
    "back\\slash \\\" end",
    "\u202eevil\u2066",
    "tab\tand\u2028line",
])
def test_no_name_can_end_its_quotes_or_start_a_line(name: str) -> None:
    shown = quoted_name(name)
    inner = shown[1:-1]
    assert shown.startswith('"') and shown.endswith('"')
    assert inner.isprintable()
    # every quote inside is escaped: a reader finds the name's end at the last quote only
    stripped = inner.replace("\\\\", "").replace('\\"', "").replace("\\'", "")
    assert '"' not in stripped and "'" not in stripped
    assert not any(ch in stripped for ch in "“”«»‘’„‟「」＂")
    line = sentence(entry(LedgerEvent.DOWNLOADED, name))
    assert line.count("\n") == 0 and line.endswith("downloaded the file 'test.txt'")


def test_a_name_reads_back_from_its_escapes() -> None:
    name = 'Zoë "Z" O’Neil\\'
    shown = quoted_name(name)
    assert shown == '"Zoë \\"Z\\" O\\u2019Neil\\\\"'


def test_both_files_carry_the_person(tmp_path: Path) -> None:
    with Ledger(tmp_path / "Clients.txt") as led:
        led.record(entry(LedgerEvent.DOWNLOADED, "Ana Lopez", client_id="abcdefgh12345678"))
        led.record(entry(LedgerEvent.DECLINED, None))
    lines = (tmp_path / "Clients.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith("Client: ('192.168.1.31', 53552) \"Ana Lopez\" downloaded the"
                             " file 'test.txt'")
    records = [json.loads(x) for x in (tmp_path / "Clients.jsonl").read_text().splitlines()]
    assert records[0]["name"] == "Ana Lopez" and records[0]["client_id"] == "abcdefgh12345678"
    assert "name" in records[1] and records[1]["name"] is None


def test_old_lines_without_a_name_still_read(tmp_path: Path) -> None:
    old = {"time": "2026-11-30T06:21:02Z", "event": "downloaded", "address": "10.0.0.2",
           "port": 5000, "file": "test.txt", "bytes": 11, "size": 11,
           "text": "Client: ('10.0.0.2', 5000) downloaded the file 'test.txt'"}
    (tmp_path / "Clients.jsonl").write_text(json.dumps(old) + "\n", encoding="utf-8")
    records = read_recent(tmp_path / "Clients.jsonl")
    assert records and records[0]["file"] == "test.txt"
    assert records[0].get("name") is None
