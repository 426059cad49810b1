"""Tests for core.server.ledger: exact sentences, one whole line per record, no forged lines."""

from __future__ import annotations

import errno
import json
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.errors import DiskFullError, StorageError
from core.server.ledger import Ledger, LedgerEntry, LedgerEvent, sentence

ADDR = ("127.0.0.1", 53552)
WHEN = datetime(2026, 11, 30, 6, 21, 2, 123456, tzinfo=timezone.utc)
HOSTILE = [
    "a\nb",
    "a\rb",
    "it's",
    "\x1b[2J",
    "evil\u202etxt.exe",
    "a\u2028b\u2029c",
    "tab\there",
    "back\\slash",
    "\x85\x0b\x0c\x1c\x7f\u2066\ufeff",
    "x'\n2026-01-01T00:00:00Z Client: ('6.6.6.6', 1) downloaded the file 'y",
    "lone\udcffsurrogate",
    "emoji 😀 and \U000e0001 tag",
]


def entry(event: LedgerEvent, file: str = "test.txt", **fields: Any) -> LedgerEntry:
    """A ledger entry from 127.0.0.1:53552 at a fixed time unless overridden."""
    fields.setdefault("time", WHEN)
    return LedgerEntry(event=event, address=ADDR, file=file, **fields)


def txt_lines(led: Ledger) -> list[str]:
    """Clients.txt split the way an editor would (every Unicode line break counts)."""
    return led.txt_path.read_text(encoding="utf-8").splitlines()


def jsonl_records(led: Ledger) -> list[dict[str, Any]]:
    """Clients.jsonl parsed, after checking no Unicode line break hides inside a line."""
    text = led.jsonl_path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) == text.count("\n")
    return [json.loads(line) for line in lines]


@pytest.fixture
def led(tmp_path: Path) -> Any:
    """An open ledger at tmp_path/Clients.txt, closed after the test."""
    with Ledger(tmp_path / "Clients.txt") as opened:
        yield opened


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (
            entry(LedgerEvent.DOWNLOADED),
            "Client: ('127.0.0.1', 53552) downloaded the file 'test.txt'",
        ),
        (
            entry(LedgerEvent.DECLINED),
            "Client: ('127.0.0.1', 53552) did not download the file 'test.txt'",
        ),
        (
            entry(LedgerEvent.NOT_OFFERED, "x.txt"),
            "Client: ('127.0.0.1', 53552) asked for 'x.txt', which does not exist",
        ),
        (
            entry(LedgerEvent.INTERRUPTED, "x", bytes=5, size=11),
            "Client: ('127.0.0.1', 53552) did not finish downloading 'x' (5 of 11 bytes)",
        ),
        (
            entry(LedgerEvent.VERIFIED, "x", sha256="ab"),
            "Client: ('127.0.0.1', 53552) downloaded and verified the file 'x'",
        ),
        (
            entry(LedgerEvent.DIGEST_MISMATCH, "x", sha256="ab"),
            "Client: ('127.0.0.1', 53552) reported a wrong digest for the file 'x'",
        ),
        (
            entry(LedgerEvent.PARTIAL, "x", start=100, bytes=50, size=1000),
            "Client: ('127.0.0.1', 53552) downloaded bytes 100-149 of the file 'x'",
        ),
    ],
)
def test_each_sentence_exactly(led: Ledger, made: LedgerEntry, expected: str) -> None:
    assert sentence(made) == expected
    led.record(made)
    assert txt_lines(led) == [f"2026-11-30T06:21:02Z {expected}"]
    assert jsonl_records(led)[0]["text"] == expected


def test_the_name_goes_to_both_files_id_and_agent_to_jsonl_only(led: Ledger) -> None:
    led.record(entry(LedgerEvent.DOWNLOADED, client_id="abcdefgh", name="Bob", user_agent="curl/8"))
    assert txt_lines(led) == [
        "2026-11-30T06:21:02Z Client: ('127.0.0.1', 53552) \"Bob\" downloaded the file 'test.txt'"
    ]
    assert jsonl_records(led) == [
        {
            "time": "2026-11-30T06:21:02Z",
            "event": "downloaded",
            "address": "127.0.0.1",
            "port": 53552,
            "client_id": "abcdefgh",
            "name": "Bob",
            "user_agent": "curl/8",
            "file": "test.txt",
            "bytes": None,
            "size": None,
            "start": None,
            "acked": None,
            "sha256": None,
            "etag": None,
            "repeats": 0,
            "text": "Client: ('127.0.0.1', 53552) \"Bob\" downloaded the file 'test.txt'",
        }
    ]


def test_time_is_filled_now_in_utc_with_seconds_and_z(led: Ledger) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    made = led.record(LedgerEntry(LedgerEvent.DECLINED, ADDR, "test.txt"))
    assert made.time is not None and made.time.tzinfo is not None
    stamp = txt_lines(led)[0].split(" ", 1)[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= parsed <= datetime.now(timezone.utc)
    assert jsonl_records(led)[0]["time"] == stamp


def test_other_time_zones_are_written_as_utc(led: Ledger) -> None:
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    led.record(entry(LedgerEvent.DECLINED, time=plus_two))
    assert txt_lines(led)[0].startswith("2026-11-30T06:21:02Z ")


def test_concurrent_records_give_one_whole_line_each(led: Ledger) -> None:
    def work(thread: int) -> None:
        for i in range(20):
            led.record(entry(LedgerEvent.DOWNLOADED, f"t{thread}-i{i}", name=f"{thread}:{i}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = txt_lines(led)
    records = jsonl_records(led)
    assert len(lines) == len(records) == 1000
    pairs = [(t, i) for t in range(50) for i in range(20)]
    assert sorted(r["name"] for r in records) == sorted(f"{t}:{i}" for t, i in pairs)
    assert sorted(line.rsplit("'", 2)[1] for line in lines) == sorted(
        f"t{t}-i{i}" for t, i in pairs
    )
    assert [line.split(" ", 1)[1] for line in lines] == [r["text"] for r in records]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_cannot_forge_lines(led: Ledger, name: str) -> None:
    led.record(entry(LedgerEvent.DOWNLOADED, name, name=name, user_agent=name))
    lines = txt_lines(led)
    assert len(lines) == 1
    assert all(ch.isprintable() for ch in lines[0])
    head = f"2026-11-30T06:21:02Z Client: {ADDR!r} "
    assert lines[0].startswith(head)
    said = re.fullmatch(r"""("(?:[^"\\]|\\.)*") downloaded the file ('(?:[^'\\]|\\.)*')""",
                        lines[0][len(head):])
    assert said, lines[0]  # one quoted name, one quoted file: neither ends early
    records = jsonl_records(led)
    assert len(records) == 1
    assert (records[0]["file"], records[0]["name"], records[0]["user_agent"]) == (name,) * 3
    raw = led.jsonl_path.read_bytes()
    assert raw.count(b"\n") == 1 and "\u2028".encode() not in raw and "\u202e".encode() not in raw


def test_escapes_are_readable(led: Ledger) -> None:
    led.record(entry(LedgerEvent.DECLINED, "a'b\\c\n\t\x1b\u202e\u2028é"))
    assert txt_lines(led)[0].endswith(
        "did not download the file 'a\\'b\\\\c\\n\\t\\x1b\\u202e\\u2028é'"
    )
    assert "é" in led.jsonl_path.read_text(encoding="utf-8")


def test_existing_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "Clients.txt"
    path.write_text("2020-01-01T00:00:00Z an old line\n", encoding="utf-8")
    with Ledger(path) as first:
        first.record(entry(LedgerEvent.DECLINED))
    with Ledger(path) as second:
        second.record(entry(LedgerEvent.DOWNLOADED))
        lines = txt_lines(second)
        assert len(jsonl_records(second)) == 2
    assert lines[0] == "2020-01-01T00:00:00Z an old line"
    assert [line.split(" ", 2)[2] for line in lines[1:]] == [
        "('127.0.0.1', 53552) did not download the file 'test.txt'",
        "('127.0.0.1', 53552) downloaded the file 'test.txt'",
    ]


def test_line_is_on_disk_when_record_returns(led: Ledger, monkeypatch: Any) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    led.record(entry(LedgerEvent.DOWNLOADED))
    assert len(set(synced)) == 2
    assert len(txt_lines(led)) == len(jsonl_records(led)) == 1


def test_concurrent_records_share_fsyncs_and_each_is_durable_on_return(
        led: Ledger, monkeypatch: Any) -> None:
    """Group commit: 40 clients finishing at once need far fewer than 80 fsyncs (a slow
    disk would otherwise queue them one after another), yet record() still returns only
    once its own line is on disk."""
    real_fsync = os.fsync
    durable: dict[str, int] = {}  # path -> bytes of the file on disk after the last fsync
    lock = threading.Lock()
    calls = {"n": 0}

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        threading.Event().wait(0.02)  # a disk that takes 20 ms per flush
        real_fsync(fd)
        with lock:
            calls["n"] += 1
            path = os.readlink(f"/proc/self/fd/{fd}")
            durable[path] = max(durable.get(path, 0), size)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    problems: list[str] = []
    start = threading.Barrier(40)

    def client(i: int) -> None:
        start.wait()
        led.record(entry(LedgerEvent.DOWNLOADED, f"file-{i:02d}.bin"))
        synced = durable.get(str(led.txt_path), 0)
        on_disk = led.txt_path.read_bytes()[:synced].decode()
        if f"'file-{i:02d}.bin'" not in on_disk:
            problems.append(f"file-{i:02d} returned before its line was fsynced")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems
    assert len(txt_lines(led)) == len(jsonl_records(led)) == 40
    assert calls["n"] < 40, f"{calls['n']} fsyncs for 40 records: no group commit"


def test_missing_folder_is_created(tmp_path: Path) -> None:
    with Ledger(tmp_path / "a" / "b" / "Clients.txt") as led:
        led.record(entry(LedgerEvent.DOWNLOADED))
        assert led.jsonl_path == tmp_path / "a" / "b" / "Clients.jsonl"
        assert led.jsonl_path.exists()


def test_path_without_suffix_gets_jsonl_twin(tmp_path: Path) -> None:
    with Ledger(tmp_path / "Clients") as led:
        led.record(entry(LedgerEvent.DOWNLOADED))
        assert led.jsonl_path == tmp_path / "Clients.jsonl"
        assert len(jsonl_records(led)) == 1


def test_jsonl_path_itself_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="same file"):
        Ledger(tmp_path / "Clients.jsonl")


def test_unwritable_path_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    path = blocker / "Clients.txt"
    with pytest.raises(StorageError) as caught:
        Ledger(path)
    message = str(caught.value)
    assert message.startswith(f"Cannot write the ledger file {path}: ")
    assert message.endswith(".")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_permission_denied_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(StorageError, match="Permission denied"):
        Ledger(folder / "Clients.txt")


def test_disk_full_raises_storage_error(led: Ledger, monkeypatch: Any) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(
        DiskFullError, match=re.escape(f"Cannot write the ledger file {led.txt_path}")
    ):
        led.record(entry(LedgerEvent.DOWNLOADED))


def test_torn_write_does_not_glue_the_next_line(led: Ledger, monkeypatch: Any) -> None:
    real_write = os.write
    calls = {"n": 0}

    def flaky(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, data[:10])
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", flaky)
    with pytest.raises(StorageError):
        led.record(entry(LedgerEvent.DOWNLOADED, "first"))
    led.record(entry(LedgerEvent.DOWNLOADED, "second"))
    lines = txt_lines(led)
    assert len(lines) == 2 and lines[1].endswith("downloaded the file 'second'")


def test_record_after_close_is_a_bug(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "Clients.txt")
    led.close()
    led.close()
    with pytest.raises(RuntimeError):
        led.record(entry(LedgerEvent.DOWNLOADED))


def test_missing_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        sentence(entry(LedgerEvent.INTERRUPTED, bytes=3))
    with pytest.raises(ValueError):
        sentence(entry(LedgerEvent.PARTIAL, bytes=3))


class _Heard:
    """A listener that keeps what it is told, with the thread it was told on."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_event(self, event: Any) -> None:
        self.events.append(event)


def test_a_listener_hears_each_line_as_written_once_it_is_on_disk(tmp_path: Path) -> None:
    """The roster (issue 11) folds exactly what Clients.jsonl holds, live as after a restart."""
    from core.events import LedgerWritten
    from core.server.ledger import read_recent
    heard = _Heard()
    with Ledger(tmp_path / "Clients.txt", listener=heard) as led:
        led.record(entry(LedgerEvent.DECLINED, client_id="ana-1", name="Ana", etag='"1-2"'))
        led.record(entry(LedgerEvent.DOWNLOADED, bytes=11, size=11))
    on_disk = read_recent(tmp_path / "Clients.jsonl")
    assert [e.record for e in heard.events if isinstance(e, LedgerWritten)] == on_disk
    assert on_disk[0]["name"] == "Ana" and on_disk[0]["etag"] == '"1-2"'


def test_a_line_that_failed_to_write_is_not_heard(led: Ledger, monkeypatch: Any,
                                                  tmp_path: Path) -> None:
    heard = _Heard()
    with Ledger(tmp_path / "other" / "Clients.txt", listener=heard) as failing:
        def full(_fd: int, _data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "write", full)
        with pytest.raises(DiskFullError):
            failing.record(entry(LedgerEvent.DECLINED))
        monkeypatch.undo()
    assert heard.events == []
