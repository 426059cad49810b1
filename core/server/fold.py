"""Ledger folding: repeated identical events from one client become one line with a count.

A client that asks for a missing file in a loop, or a download manager that fetches a file
in hundreds of ranges, would otherwise write hundreds of ledger lines that say nothing new
(issue 5). Events are *identical* when address (IP, not port: a loop opens new
connections), client id, event and file are the same.

- The **first** event of a run is written at once, in full, as before: nothing a single
  request causes is ever delayed or lost, even if the server is killed a moment later.
- **Repeats** within ``window`` seconds of that line are only counted. When the window
  closes (the server's accept loop wakes for it) or the server stops, one more line says
  how many there were: "... asked for 'x', which does not exist (repeated 56 more times)".
  A flood that goes on gets one such line per window; a quiet window ends the run, and
  the next event is written in full again.
- Every event is accounted for exactly once: as its own line, or in one folded line's
  ``repeats`` (Clients.jsonl), so ``sum(repeats or 1)`` is the number of events.

Which events fold, and why:

- ``not_offered``: the typo'd name in a shell loop or a misconfigured script; the noise the
  issue is about.
- ``partial``: a download manager's many ranges of one file; the folded line totals them.
- ``interrupted``: the same manager's aborted connections, or a client retrying in a loop.

Never folded: ``downloaded``, ``verified``, ``declined`` and ``digest_mismatch``. They are
the decisions the ledger exists to record, each one worth its line. Nor is a transfer the
server itself cut short by stopping (``fold=False``): five students cut off are five lines.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.server.floodgate import FloodGate, unbacked
from core.server.ledger import Ledger, LedgerEntry, LedgerEvent

FOLDED_EVENTS = frozenset({LedgerEvent.NOT_OFFERED, LedgerEvent.PARTIAL,
                           LedgerEvent.INTERRUPTED})
LIST_UNIT = 100  # files of one list that cost one line of the flood budget
MAX_OPEN_WINDOWS = 10_000  # memory bound: a flood of distinct names closes the oldest early

_Key = tuple[str, "str | None", "str | None", LedgerEvent, str]  # ip, id, name, event, file


@dataclass
class _Window:
    """One run of identical events: when its window opened, and the repeats since."""

    opened: float
    repeats: int = 0
    bytes: int = 0
    last: LedgerEntry | None = None
    unbacked: bool = False  # no delivered byte backs any of its events (core.server.floodgate)


class LedgerFolder:
    """Writes ledger entries through ``ledger``, folding repeats (see the module docstring).

    Thread-safe. ``window`` <= 0 turns folding off. StorageError from the ledger passes to
    the caller, which reports it.
    """

    def __init__(self, ledger: Ledger, window: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 max_open: int = MAX_OPEN_WINDOWS,
                 on_open: Callable[[], None] | None = None,
                 on_flood: Callable[[str], None] | None = None) -> None:
        """``on_open`` is called (outside the lock) when a first window opens, so the owner
        can schedule its :meth:`flush_due`; ``on_flood(ip)`` when an address's unbacked
        lines begin to be only counted (core.server.floodgate), once a minute."""
        self._ledger, self._window, self._clock = ledger, window, clock
        self._max_open, self._on_open = max_open, on_open
        self._flooding: list[str] = []  # addresses newly limited, told outside the lock
        self._gate = FloodGate(clock=clock, on_limit=self._flooding.append)
        self._on_flood = on_flood
        self._lock = threading.Lock()
        # Insertion order is opening order (a reopened window goes to the end), so the
        # first window is always the next to close: checks stop there, O(1) per record.
        self._open: dict[_Key, _Window] = {}

    def record(self, entry: LedgerEntry, *, fold: bool = True) -> None:
        """Write ``entry``, or count it as a repeat of an open run.

        The decision is taken under the lock; the writing (an fsync) happens after it, so
        concurrent clients share the ledger's group commit instead of queueing here.
        """
        opened_first = False
        with self._lock:
            lines = self._flush(due_only=True)
            # The name too: on a shared account every classmate's client has one id, and
            # one's cut download once folded into another's line (issue 11 review).
            key = (entry.address[0], entry.client_id, entry.name, entry.event, entry.file)
            repeat = fold and self._window > 0 and key in self._open
            if not repeat and unbacked(entry) and \
                    not self._gate.admit(entry.address[0], entry.event, entry):
                pass  # counted for the address's flood summary line instead
            elif not fold or self._window <= 0 or entry.event not in FOLDED_EVENTS:
                lines.append(entry)
            else:
                window = self._open.get(key)
                if window is not None:
                    window.repeats += 1
                    window.bytes += entry.bytes or 0
                    window.last = entry
                    window.unbacked = window.unbacked and unbacked(entry)
                else:
                    lines.append(entry)  # the first of a run: in full, at once
                    opened_first = not self._open
                    self._open[key] = _Window(self._clock(), unbacked=unbacked(entry))
                    while len(self._open) > self._max_open:
                        lines.extend(self._close(next(iter(self._open))))
            flooding, self._flooding[:] = list(self._flooding), []
            opened_first = opened_first or bool(flooding)  # its summary needs a wake-up
        self._write(lines)
        if opened_first and self._on_open is not None:
            self._on_open()
        for ip in flooding:
            if self._on_flood is not None:
                self._on_flood(ip)

    def record_many(self, entries: list[LedgerEntry]) -> None:
        """Write lines backed by delivered bytes (an archive's "downloaded" and "verified"
        lines) in one group commit: never folded, never flood-counted, each its own fact;
        lines of windows that have closed go first, so the ledger stays in order."""
        with self._lock:
            lines = self._flush(due_only=True)
        self._write(lines + entries)

    def record_list(self, entries: list[LedgerEntry]) -> None:
        """Write the lines of one request about many files (a selection declined: one line
        per file, issue 12) in one group commit. Unbacked lines pass the flood gate as
        one list costing a unit per LIST_UNIT files, so a class declining a folder is
        written whole while a client repeating such lists is still summed."""
        if not entries:
            return
        first = entries[0]
        with self._lock:
            lines = self._flush(due_only=True)
            admitted = not unbacked(first) or self._gate.admit(
                first.address[0], first.event, entries[-1], weight=len(entries),
                cost=-(-len(entries) // LIST_UNIT))
            flooding, self._flooding[:] = list(self._flooding), []
        self._write(lines + (entries if admitted else []))
        if flooding and self._on_open is not None:
            self._on_open()  # the summary line needs a wake-up
        for ip in flooding:
            if self._on_flood is not None:
                self._on_flood(ip)

    def _write(self, lines: list[LedgerEntry]) -> None:
        """Record the entries, in order, in one group commit (outside the lock)."""
        if lines:
            self._ledger.record_many(lines)

    def next_due(self) -> float | None:
        """Seconds until the oldest open window closes or a flood summary is due; None
        when nothing is pending."""
        with self._lock:
            oldest = next(iter(self._open.values()), None)
            flood = self._gate.next_due()
        fold = None if oldest is None else max(0.0, oldest.opened + self._window - self._clock())
        return min((d for d in (fold, flood) if d is not None), default=None)

    def open_windows(self) -> int:
        """How many runs are open (for tests and diagnostics)."""
        with self._lock:
            return len(self._open)

    def flush_due(self) -> None:
        """Write the folded lines of every window that has closed."""
        with self._lock:
            lines = self._flush(due_only=True)
        self._write(lines)

    def flush_all(self) -> None:
        """Write every pending folded line now (at stop)."""
        with self._lock:
            lines = self._flush(due_only=False)
        self._write(lines)

    def _flush(self, *, due_only: bool) -> list[LedgerEntry]:
        """Close due (or all) windows and return their folded lines; a window with repeats
        is reopened when only due, so a flood that goes on keeps folding. Lock held."""
        now = self._clock()
        lines: list[LedgerEntry] = self._gate.due(everything=not due_only)
        for key, window in list(self._open.items()):
            if due_only and now < window.opened + self._window:
                break  # the rest opened later still
            had_repeats, was_unbacked = window.repeats > 0, window.unbacked
            lines.extend(self._close(key))
            if due_only and had_repeats:  # the flood goes on: so does its window
                self._open[key] = _Window(now, unbacked=was_unbacked)
        return lines

    def _close(self, key: _Key) -> list[LedgerEntry]:
        """Drop one window; its folded line (if it counted repeats) is for the caller to
        write, unless unbacked lines from its address are over their budget: then its
        repeats go to the flood summary (the adversarial pass: folded lines skipped it)."""
        window = self._open.pop(key)
        if not window.repeats or window.last is None:
            return []
        last = window.last
        if window.unbacked and not self._gate.admit(key[0], last.event, last,
                                                    weight=window.repeats):
            return []
        return [dataclasses.replace(
            last, repeats=window.repeats, time=None, start=None,
            bytes=window.bytes if last.event is LedgerEvent.PARTIAL else None)]
