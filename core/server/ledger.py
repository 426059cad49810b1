"""The server's ledger of client decisions: ``Clients.txt`` and its JSON Lines twin.

The ledger is the record of who took the file, so each line is written whole with one
``os.write`` to a file opened with ``O_APPEND`` and then ``os.fsync``-ed before ``record``
returns: the server reports an event as done only after that, so a crash can neither lose a
line it already reported nor leave a torn one in the middle of the file. Lines are never
rewritten. Clients.txt is appended before Clients.jsonl, so a crash between the two appends
can leave that one (never reported) event in Clients.txt alone. File names, client names and
user agents come from the network, so every character that could start a new line or
disguise the text is escaped in both files.

A line with ``repeats`` > 0 is a folded line (core.server.fold): it stands for that many repeats of
an event written in full earlier by the same client, so a loop cannot flood the ledger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import StorageError, storage_error
from core.events import Address, LedgerWritten, Listener, format_address
from core.wire import sentences
from core.wire.escaping import quoted, quoted_name

_FLAGS = os.O_APPEND | os.O_CREAT | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
# What one line may carry of text from the network, in bytes once written (issue 9: 16 KB
# names flooded the ledger; then a 1-byte range with a name of 200 control characters and
# a 256-character agent wrote 3.3 KB). A character costs its UTF-8 length, or its JSON
# escape's when it is not printable, so a line stays within about 1.5 KB.
MAX_FILE_BYTES = 512
MAX_AGENT_BYTES = 160
MAX_NAME_BYTES = 120
_MODE = 0o644


class LedgerEvent(str, enum.Enum):
    """What a client did; the value is the machine name written as JSONL ``event``."""

    DOWNLOADED = "downloaded"
    DECLINED = "declined"
    NOT_OFFERED = "not_offered"
    INTERRUPTED = "interrupted"
    VERIFIED = "verified"
    DIGEST_MISMATCH = "digest_mismatch"
    PARTIAL = "partial"
    RECEIPT_REFUSED = "receipt_refused"
    FLOODED = "flooded"  # a summary of lines only counted (core.server.floodgate)
    TOOK_ARCHIVE = "took_archive"  # a summary of one archive's files (core.server.archive_send)


@dataclass(frozen=True)
class LedgerEntry:
    """One decision of one client; ``time`` (UTC) is filled by the ledger when None."""

    event: LedgerEvent
    address: Address
    file: str
    client_id: str | None = None
    name: str | None = None
    user_agent: str | None = None
    bytes: int | None = None
    size: int | None = None
    start: int | None = None
    acked: int | None = None  # of a body: bytes from ``start`` the client acknowledged
    sha256: str | None = None
    etag: str | None = None  # the version of the file the line is about
    time: datetime | None = None
    repeats: int = 0  # > 0: a folded line standing for this many repeats (core.server.fold)
    # FLOODED: how many of each event it stands for; TOOK_ARCHIVE: "downloaded" and "files"
    counts: tuple[tuple[str, int], ...] = ()


def _json_escape_char(ch: str) -> str:
    """One character as a JSON ``\\uXXXX`` escape (a surrogate pair above U+FFFF)."""
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_line(record: dict[str, Any]) -> str:
    """One JSON line, readable UTF-8, with U+2028/9, bidi and other non-printables escaped."""
    text = json.dumps(record, ensure_ascii=False)
    if text.isprintable():
        return text
    # json leaves these raw inside strings only, so a \u escape there is always valid JSON.
    return "".join(ch if ch.isprintable() else _json_escape_char(ch) for ch in text)


_NEEDS = {LedgerEvent.INTERRUPTED: ("bytes", "size"), LedgerEvent.PARTIAL: ("start", "bytes")}


def _written_size(ch: str) -> int:
    """What one character costs once written: its UTF-8, or its JSON escape."""
    if ch.isprintable():
        return len(ch.encode("utf-8", "surrogatepass"))
    return 12 if ord(ch) > 0xFFFF else 6


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut where it would cost more than ``limit`` bytes once written, saying how
    many more characters there were."""
    if text is None:
        return text
    if text.isprintable() and len(text.encode("utf-8", "surrogatepass")) <= limit:
        return text  # each character costs its UTF-8 (below): no pass per character
    cost = 0
    for index, ch in enumerate(text):
        cost += _written_size(ch)
        if cost > limit:
            return f"{text[:index]}…(+{len(text) - index:,} more characters)"
    return text


def clipped(entry: LedgerEntry) -> LedgerEntry:
    """``entry`` with its network texts within the caps (MAX_*_BYTES); itself when they
    are (the usual line: making a copy cost as much as writing it)."""
    file = clip(entry.file, MAX_FILE_BYTES) or ""
    name = clip(entry.name, MAX_NAME_BYTES)
    agent = clip(entry.user_agent, MAX_AGENT_BYTES)
    if (file, name, agent) == (entry.file, entry.name, entry.user_agent):
        return entry
    return dataclasses.replace(entry, file=file, name=name, user_agent=agent)


def _who(entry: LedgerEntry) -> str:
    """``Client: ('10.0.0.5', 53552)``, then the display name the client gave, if any
    (issue 11: the original sentence stays as it was; the person is added after it)."""
    who = f"Client: {format_address(entry.address)}"
    return f"{who} {quoted_name(entry.name)}" if entry.name else who


def sentence(entry: LedgerEntry) -> str:
    """The Clients.txt text after the timestamp, from core.wire.sentences (one table)."""
    who = _who(entry)
    if entry.event is LedgerEvent.FLOODED:
        return sentences.flood_summary(who, entry.repeats, entry.counts)
    if entry.event is LedgerEvent.TOOK_ARCHIVE:
        counts = dict(entry.counts)
        return sentences.took_archive(who, counts.get("downloaded", 0), counts.get("files", 0),
                                      entry.bytes or 0, quoted(entry.file) if entry.file
                                      else None)
    if entry.repeats:
        if entry.event.value not in sentences.ABOUT_CLIENT_FOLDED:
            raise ValueError(f"{entry.event.value} ledger entries are never folded")
        return sentences.about_client_folded(entry.event.value, who, quoted(entry.file),
                                             entry.repeats, entry.bytes or 0)
    for field in _NEEDS.get(entry.event, ()):
        if getattr(entry, field) is None:
            raise ValueError(f"a {entry.event.value} ledger entry needs {field!r}")
    return sentences.about_client(entry.event.value, who, quoted(entry.file),
                                  bytes=entry.bytes, size=entry.size, start=entry.start)


def timestamp(moment: datetime) -> str:
    """ISO 8601 UTC to the second with 'Z' (naive times are taken as UTC already)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_JSON_FIELDS = ("client_id", "name", "user_agent", "file", "bytes", "size", "start", "acked",
                "sha256", "etag", "repeats")


def _json_record(entry: LedgerEntry, stamp: str, text: str) -> dict[str, Any]:
    """Every JSONL field, None as null, in a stable order."""
    head = {"time": stamp, "event": entry.event.value}
    where = {"address": entry.address[0], "port": entry.address[1]}
    extra = {"counts": dict(entry.counts)} if entry.counts else {}
    return {**head, **where, **{f: getattr(entry, f) for f in _JSON_FIELDS}, **extra,
            "text": text}


def read_recent(path: Path, max_bytes: int = 8 * 1024 * 1024) -> list[dict[str, Any]]:
    """The JSON records of the last ``max_bytes`` of a Clients.jsonl, oldest first; lines
    that are not JSON objects (a torn last line, a hand edit) are skipped. Missing: []."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return []
    lines = data.split(b"\n")
    if len(data) == max_bytes:
        lines = lines[1:]  # the first may be the end of a line cut by the seek
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _storage_error(path: Path, error: OSError) -> StorageError:
    """The sentence shown to the person: which ledger file, and what the system said."""
    reason = error.strerror or str(error) or type(error).__name__
    return storage_error(error, f"Cannot write the ledger file {path}: {reason}.")


def _twin_path(txt: Path) -> Path:
    """The JSONL twin: ``Clients.txt`` or ``Clients`` -> ``Clients.jsonl``; refuse ``x.jsonl``."""
    if not txt.suffix:
        return txt.with_name(txt.name + ".jsonl")
    if txt.suffix.lower() == ".jsonl":
        raise StorageError(
            f"Cannot use {txt} as the ledger file: its JSON Lines twin would be the same file."
        )
    return txt.with_suffix(".jsonl")


class _AppendFile:
    """One append-only ledger file; remembers a torn write so the next line starts clean."""

    def __init__(self, path: Path) -> None:
        """Open (creating) ``path`` for appending; StorageError names it on failure."""
        self.path = path
        self.torn = False
        try:
            self.fd = os.open(path, _FLAGS, _MODE)
        except OSError as error:
            raise _storage_error(path, error) from error

    def append_lines(self, lines: list[bytes]) -> None:
        """Write whole lines (one os.write unless the system cuts it), then fsync once."""
        data = b"".join(lines)
        data = (b"\n" + data) if self.torn else data
        try:
            written = os.write(self.fd, data)
            while written < len(data):
                self.torn = True
                written += os.write(self.fd, data[written:])
            self.torn = False
            os.fsync(self.fd)
        except OSError as error:
            raise _storage_error(self.path, error) from error

    def close(self) -> None:
        """Close the descriptor; an error is moot, as every line was already fsynced."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


class Ledger:
    """Appends one line per decision to Clients.txt and Clients.jsonl, safe across threads."""

    def __init__(self, path: str | os.PathLike[str], listener: Listener | None = None) -> None:
        """Open both files now so a bad path is reported when the server starts.
        ``listener`` hears LedgerWritten for each line once it is on disk (the roster)."""
        self._listener = listener
        self._txt_path = Path(path)
        self._jsonl_path = _twin_path(self._txt_path)
        self._cond = threading.Condition()
        self._queue: list[tuple[bytes, bytes]] = []
        self._issued = 0  # entries queued so far
        self._durable = 0  # entries written and fsynced (or failed) so far
        self._flushing = False
        self._failures: list[tuple[int, int, StorageError]] = []  # recent failed batches
        try:
            self._txt_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _storage_error(self._txt_path, error) from error
        self._txt: _AppendFile | None = _AppendFile(self._txt_path)
        try:
            self._jsonl: _AppendFile | None = _AppendFile(self._jsonl_path)
        except StorageError:
            self._txt.close()
            raise

    @property
    def txt_path(self) -> Path:
        """Where the human-readable ledger is written."""
        return self._txt_path

    @property
    def jsonl_path(self) -> Path:
        """Where the JSON Lines twin is written."""
        return self._jsonl_path

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        """Append ``entry`` to both files, durably, before returning it with ``time`` filled."""
        entry = dataclasses.replace(entry, time=entry.time or datetime.now(timezone.utc))
        self.record_many([entry])
        return clipped(entry)

    def record_many(self, entries: list[LedgerEntry]) -> None:
        """Append ``entries`` in order, in one group commit, durably before returning:
        10,000 files of one archive cost a few fsyncs, not 10,000 (issue 12). An entry
        without a ``time`` is written with the time of the call."""
        lines = []
        now_stamp = timestamp(datetime.now(timezone.utc))  # one strftime for them all
        for entry in entries:
            entry = clipped(entry)
            stamp = now_stamp if entry.time is None else timestamp(entry.time)
            text = sentence(entry)
            txt_line = f"{stamp} {text}\n".encode("utf-8", "backslashreplace")
            json_line = (_json_line(_json_record(entry, stamp, text)) + "\n").encode("utf-8")
            lines.append((txt_line, json_line))
        if lines:
            self._commit(lines)
        if self._listener is not None:  # called from the recording thread: a worker's
            for _, json_line in lines:
                self._listener.on_event(LedgerWritten(json.loads(json_line)))

    def _commit(self, lines: list[tuple[bytes, bytes]]) -> None:
        """Group commit: queue the lines; the first waiter writes and fsyncs every queued
        line at once while later ones wait, so N clients finishing together cost a few
        fsyncs, not 2N in a row. Returns only once these lines are on disk."""
        with self._cond:
            if self._txt is None or self._jsonl is None:
                raise RuntimeError("record() called on a closed Ledger")
            self._queue.extend(lines)
            first = self._issued + 1
            self._issued += len(lines)
            ticket = self._issued
            while self._durable < ticket:
                if self._flushing:
                    self._cond.wait()
                    continue
                self._flush_queue()
            for failed_first, failed_last, error in self._failures:
                if failed_first <= ticket and first <= failed_last:
                    raise error

    def _flush_queue(self) -> None:
        """Write and fsync everything queued; called with the condition held, drops it
        around the I/O so more lines can queue for the next batch meanwhile."""
        batch, self._queue = self._queue, []
        first, last = self._durable + 1, self._issued
        txt, jsonl = self._txt, self._jsonl
        assert txt is not None and jsonl is not None
        self._flushing = True
        self._cond.release()
        error: StorageError | None = None
        try:
            txt.append_lines([t for t, _ in batch])
            jsonl.append_lines([j for _, j in batch])
        except StorageError as failed:
            error = failed
        finally:
            self._cond.acquire()
            self._flushing = False
            self._durable = last
            if error is not None:
                self._failures = [*self._failures[-15:], (first, last, error)]
            self._cond.notify_all()

    def close(self) -> None:
        """Close both files; later record() calls are a bug. Closing twice is harmless."""
        with self._cond:
            while self._flushing:
                self._cond.wait()
            if self._queue and self._txt is not None:
                self._flush_queue()  # lines queued by records still waiting for their turn
            files = [f for f in (self._txt, self._jsonl) if f is not None]
            self._txt = self._jsonl = None
        for file in files:
            file.close()

    def __enter__(self) -> Ledger:
        """Use as ``with Ledger(path) as ledger:``."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving the block."""
        self.close()
