"""The ledger's budget for lines no delivered byte backs, per address per minute (issue 9).

2,718 distinct 16 KB missing names on one connection grew the ledger 94 MB in 20 s: folding
(core.server.fold) only merges *identical* events. A line that no byte sent to the client backs
(a name that is not offered, a decline, a wrong or refused receipt, a download cut before
its first byte was acknowledged) costs a request and nothing else, so from one address at
most ``FLOOD_BUDGET`` of them a minute are written one by one. Past that they are only
counted, per kind, and one summary line says how many there were when that minute ends:
nothing is silently lost, and sum(repeats or 1) over Clients.jsonl still counts every
event. Lines backed by delivered bytes never pass through here.

The address is the IP alone: client ids and ports are the sender's to choose. The budget
is generous for people: a class of 30 behind one NAT address, each with a typo and a
decline, writes 60 lines.

Pure bookkeeping with an injectable clock; core.server.fold calls it under its lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from core.server.ledger import LedgerEntry, LedgerEvent
from core.server.peers import address_group

FLOOD_BUDGET = 120  # lines one address may have written one by one in a minute
FLOOD_WINDOW = 60.0  # seconds
MAX_ADDRESSES = 10_000  # windows kept at once; the oldest closes early (memory bound)

# The events that no delivered byte backs; an interrupted line backs itself when bytes > 0.
UNBACKED_EVENTS = frozenset({LedgerEvent.NOT_OFFERED, LedgerEvent.DECLINED,
                             LedgerEvent.DIGEST_MISMATCH, LedgerEvent.RECEIPT_REFUSED})


def unbacked(entry: LedgerEntry) -> bool:
    """Whether no byte delivered to the client stands behind ``entry``."""
    if entry.event is LedgerEvent.INTERRUPTED:
        return not entry.bytes
    return entry.event in UNBACKED_EVENTS


@dataclass
class _Minute:
    """One address's current minute: lines written, and what was only counted since."""

    opened: float
    written: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last: LedgerEntry | None = None  # the last event only counted, for the summary's address


class FloodGate:
    """Admits unbacked lines up to the budget and sums the rest (see the module docstring)."""

    def __init__(self, *, budget: int = FLOOD_BUDGET, window: float = FLOOD_WINDOW,
                 clock: Callable[[], float] = time.monotonic,
                 on_limit: Callable[[str], None] = lambda ip: None) -> None:
        """``on_limit(ip)`` is told when an address's lines begin to be counted, once per
        minute (under the caller's lock: it must only hand the news on)."""
        self._budget, self._window, self._clock = budget, window, clock
        self._on_limit = on_limit
        # Insertion order is opening order, so the first minute is always the next to end.
        self._minutes: OrderedDict[str, _Minute] = OrderedDict()

    def admit(self, ip: str, event: LedgerEvent, entry: LedgerEntry | None = None, *,
              weight: int = 1, cost: int = 1) -> bool:
        """True when a line for ``event`` from ``ip`` may be written now (using ``cost``
        of the minute's budget); otherwise the ``weight`` events it stands for (a folded
        line's repeats, a list's files) are counted for the minute's summary line."""
        now = self._clock()
        ip = address_group(ip)  # an IPv6 host holds a whole /64 (core.server.peers)
        minute = self._minutes.get(ip)
        if minute is None or now >= minute.opened + self._window:
            if minute is not None and minute.counts:
                return self._count(ip, minute, event, entry, weight)  # due(): summary first
            minute = _Minute(now)
            self._minutes.pop(ip, None)
            self._minutes[ip] = minute
            while len(self._minutes) > MAX_ADDRESSES:
                oldest = next(iter(self._minutes))
                if self._minutes[oldest].counts:
                    break  # its summary is still to be written; due() will
                del self._minutes[oldest]
        if minute.written < self._budget:
            minute.written += cost
            return True
        return self._count(ip, minute, event, entry, weight)

    def _count(self, ip: str, minute: _Minute, event: LedgerEvent,
               entry: LedgerEntry | None, weight: int) -> bool:
        if not minute.counts:
            self._on_limit(ip)
        minute.counts[event.value] = minute.counts.get(event.value, 0) + weight
        minute.last = entry or minute.last
        return False

    def next_due(self) -> float | None:
        """Seconds until the next summary line is due; None when none is pending."""
        pending = [m.opened for m in self._minutes.values() if m.counts]
        if not pending:
            return None
        return max(0.0, min(pending) + self._window - self._clock())

    def due(self, *, everything: bool = False) -> list[LedgerEntry]:
        """The summary lines of minutes that have ended (all pending ones at stop)."""
        now = self._clock()
        lines = []
        for ip, minute in list(self._minutes.items()):
            if not minute.counts or (not everything and now < minute.opened + self._window):
                continue
            lines.append(_summary(ip, minute))
            del self._minutes[ip]
        return lines


def _summary(ip: str, minute: _Minute) -> LedgerEntry:
    """One line standing for every event of the minute that was only counted."""
    port = minute.last.address[1] if minute.last is not None else 0
    counts = tuple(sorted(minute.counts.items(), key=lambda kv: -kv[1]))
    return LedgerEntry(LedgerEvent.FLOODED, (ip, port), "", repeats=sum(minute.counts.values()),
                       counts=counts)
