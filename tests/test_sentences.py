"""Unit tests of core/wire/sentences.py: every sentence Filecast says about a visit.

The original terminal program's lines are what people and scripts already know, so they
are checked word for word. The ledger (core/server/ledger.sentence), the terminal and the
windows all render from this one table, so the same entry must read the same everywhere:
one table of expected sentences below drives both about_client and the ledger.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.server.ledger import LedgerEntry, LedgerEvent, sentence
from core.wire import sentences
from core.wire.escaping import quoted
from core.wire.sentences import (
    about_client,
    about_client_folded,
    ask_terminal,
    ask_window,
    flood_summary,
)

ADDR = ("10.0.0.5", 53552)
WHO = "Client: ('10.0.0.5', 53552)"
FILE = "notes.pdf"


def test_the_original_programs_lines_are_kept_word_for_word() -> None:
    assert sentences.SERVER_WORKING == "SERVER WORKING"
    assert sentences.WAITING == "Waiting for connection..."
    assert sentences.ENTER_HOST == "Enter host ip address: "
    assert sentences.ENTER_FILENAME == "Enter the filename: "
    assert sentences.NOT_OFFERED == "File does not exist!"
    assert sentences.DOWNLOAD_COMPLETE == "Download Complete!"


@pytest.mark.parametrize(
    ("size", "prompt"),
    [
        (11, "File Exists, 11 Bytes, download?(Y/N): "),
        (0, "File Exists, 0 Bytes, download?(Y/N): "),
        (1, "File Exists, 1 Bytes, download?(Y/N): "),  # the original's spelling, kept
        (10_485_760, "File Exists, 10485760 Bytes, download?(Y/N): "),
    ],
)
def test_the_terminal_asks_the_original_yes_no_question(size: int, prompt: str) -> None:
    assert ask_terminal(size) == prompt


@pytest.mark.parametrize(
    ("size", "question"),
    [
        (11, "File exists, 11 bytes (11 B). Download?"),
        (1, "File exists, 1 byte (1 B). Download?"),
        (0, "File exists, 0 bytes (0 B). Download?"),
        (1_048_576, "File exists, 1,048,576 bytes (1.0 MB). Download?"),
        (4_300_000_000, "File exists, 4,300,000,000 bytes (4.3 GB). Download?"),
    ],
)
def test_the_window_asks_with_exact_and_human_sizes(size: int, question: str) -> None:
    assert ask_window(size) == question


# (event, fields of the entry, the sentence after "Client: ADDRESS ") — the one table.
ABOUT = [
    (LedgerEvent.DOWNLOADED, {}, "downloaded the file 'notes.pdf'"),
    (LedgerEvent.DECLINED, {}, "did not download the file 'notes.pdf'"),
    (LedgerEvent.NOT_OFFERED, {}, "asked for 'notes.pdf', which does not exist"),
    (LedgerEvent.INTERRUPTED, {"bytes": 5_242_880, "size": 10_485_760},
     "did not finish downloading 'notes.pdf' (5242880 of 10485760 bytes)"),
    (LedgerEvent.INTERRUPTED, {"bytes": 0, "size": 11},
     "did not finish downloading 'notes.pdf' (0 of 11 bytes)"),
    (LedgerEvent.VERIFIED, {"sha256": "ab" * 32, "size": 11},
     "downloaded and verified the file 'notes.pdf'"),
    (LedgerEvent.DIGEST_MISMATCH, {"sha256": "00" * 32, "size": 11},
     "reported a wrong digest for the file 'notes.pdf'"),
    (LedgerEvent.PARTIAL, {"start": 0, "bytes": 100},
     "downloaded bytes 0-99 of the file 'notes.pdf'"),
    (LedgerEvent.PARTIAL, {"start": 500, "bytes": 1},
     "downloaded bytes 500-500 of the file 'notes.pdf'"),
    (LedgerEvent.PARTIAL, {"start": 1_000, "bytes": 24, "size": 1_024},
     "downloaded bytes 1000-1023 of the file 'notes.pdf'"),
    (LedgerEvent.RECEIPT_REFUSED, {"etag": '"b-1"'},
     "sent a receipt for 'notes.pdf', which this server has not delivered to it whole;"
     " not counted"),
]
NUMBERS = ("bytes", "size", "start")


@pytest.mark.parametrize(("event", "fields", "said"), ABOUT)
def test_about_client_says_each_kind_of_visit(event: LedgerEvent, fields: dict[str, Any],
                                              said: str) -> None:
    numbers = {k: v for k, v in fields.items() if k in NUMBERS}
    assert about_client(event.value, WHO, quoted(FILE), **numbers) == f"{WHO} {said}"
    label = "<ip: ('10.0.0.5', 53552)>"  # the terminal's and window's spelling of a client
    assert about_client(event.value, label, quoted(FILE), **numbers) == f"{label} {said}"


@pytest.mark.parametrize(("event", "fields", "said"), ABOUT)
def test_the_ledger_writes_exactly_what_about_client_says(
        event: LedgerEvent, fields: dict[str, Any], said: str) -> None:
    entry = LedgerEntry(event, ADDR, FILE, client_id="ana-1", name="Ana",
                        user_agent="Filecast/0.1.0", **fields)
    numbers = {k: v for k, v in fields.items() if k in NUMBERS}
    who = f'{WHO} "Ana"'  # the display name follows the address (issue 11)
    assert sentence(entry) == about_client(event.value, who, quoted(FILE), **numbers)
    assert sentence(entry) == f"{who} {said}"


def test_every_ledger_event_has_a_sentence_and_every_sentence_an_event() -> None:
    events = {e.value for e in LedgerEvent}
    summaries = {LedgerEvent.FLOODED.value, LedgerEvent.TOOK_ARCHIVE.value}  # their own
    assert set(sentences.ABOUT_CLIENT) == events - summaries
    assert set(sentences.ABOUT_CLIENT_FOLDED) <= events
    assert set(sentences.COUNTED) <= events


def test_a_hostile_name_reaches_the_sentence_escaped() -> None:
    name = "x'\nClient: ('6.6.6.6', 1) downloaded the file 'y"
    line = sentence(LedgerEntry(LedgerEvent.DOWNLOADED, ADDR, name))
    assert len(line.splitlines()) == 1
    assert line == f"{WHO} downloaded the file {quoted(name)}"


@pytest.mark.parametrize(
    ("event", "repeats", "count", "said"),
    [
        ("not_offered", 1, 0,
         "asked for 'notes.pdf', which does not exist (repeated 1 more time)"),
        ("not_offered", 7, 0,
         "asked for 'notes.pdf', which does not exist (repeated 7 more times)"),
        ("interrupted", 1, 0, "did not finish downloading 'notes.pdf' (repeated 1 more time)"),
        ("interrupted", 2, 40, "did not finish downloading 'notes.pdf' (repeated 2 more times)"),
        ("partial", 1, 300, "downloaded 1 more range of the file 'notes.pdf' (300 bytes)"),
        ("partial", 12, 4096, "downloaded 12 more ranges of the file 'notes.pdf' (4096 bytes)"),
    ],
)
def test_folded_lines_count_one_more_time_or_n_more_times(event: str, repeats: int,
                                                         count: int, said: str) -> None:
    assert about_client_folded(event, WHO, quoted(FILE), repeats, count) == f"{WHO} {said}"
    folded = LedgerEntry(LedgerEvent(event), ADDR, FILE, bytes=count, repeats=repeats)
    assert sentence(folded) == f"{WHO} {said}"


@pytest.mark.parametrize("event", [LedgerEvent.DOWNLOADED, LedgerEvent.VERIFIED,
                                   LedgerEvent.DECLINED, LedgerEvent.RECEIPT_REFUSED])
def test_the_ledger_refuses_to_fold_what_the_table_never_folds(event: LedgerEvent) -> None:
    with pytest.raises(ValueError, match="never folded"):
        sentence(LedgerEntry(event, ADDR, FILE, repeats=2))


@pytest.mark.parametrize(("event", "fields"), [
    (LedgerEvent.PARTIAL, {"start": 0}),
    (LedgerEvent.PARTIAL, {"bytes": 10}),
    (LedgerEvent.INTERRUPTED, {"bytes": 10}),
])
def test_the_ledger_refuses_a_range_line_without_its_numbers(event: LedgerEvent,
                                                            fields: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="needs"):
        sentence(LedgerEntry(event, ADDR, FILE, **fields))


def test_a_flood_summary_names_how_many_of_each_kind_were_only_counted() -> None:
    counts = (("not_offered", 1_200), ("declined", 30), ("digest_mismatch", 2),
              ("receipt_refused", 1_001), ("interrupted", 3))
    said = flood_summary(WHO, 2_236, counts)
    assert said == (
        f"{WHO} made 2,236 more requests within a minute than the ledger writes one by one:"
        " 1,200 asks for files that do not exist, 30 declines, 2 receipts with a wrong digest,"
        " 1,001 receipts for files not sent whole, 3 downloads cut before their first byte")
    flooded = LedgerEntry(LedgerEvent.FLOODED, ADDR, "", repeats=2_236, counts=counts)
    assert sentence(flooded) == said


def test_a_flood_summary_spells_an_unknown_kind_by_its_name() -> None:
    said = flood_summary(WHO, 3, (("mystery", 3),))
    assert said.endswith("one by one: 3 mystery")


def test_a_flood_summary_of_one_of_a_kind_reads_in_the_singular() -> None:
    said = flood_summary(WHO, 1, (("not_offered", 200), ("declined", 1)))
    assert said.endswith("made 1 more request within a minute than the ledger writes one by"
                         " one: 200 asks for files that do not exist, 1 decline")


def test_an_archive_summary_says_how_many_files_of_which_folder() -> None:
    """issue 12: one line for an archive, after its line per file."""
    line = sentence(LedgerEntry(LedgerEvent.TOOK_ARCHIVE, ADDR, "Week 12/", bytes=48_000_000,
                                counts=(("downloaded", 118), ("files", 120))))
    assert line == (f"{WHO} downloaded 118 of 120 files (48.0 MB) of 'Week 12/' in one"
                    " archive")
    whole = sentence(LedgerEntry(LedgerEvent.TOOK_ARCHIVE, ADDR, "", bytes=10,
                                 counts=(("downloaded", 2), ("files", 2))))
    assert whole.endswith("downloaded 2 of 2 files (10 B) of the offer in one archive")
