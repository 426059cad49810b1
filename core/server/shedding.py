"""Who gives up a seat when the server is full: the load-shedding policy (issue 9, item 5).

2,000 connections from one machine that each sent one request and then said nothing held
every seat for the 900 s a visit may think, and every new client got 503 for as long.
When a connection arrives and there is no room:

1. **Fair shares first.** The address holding the most seats gives one up if it holds more
   than the newcomer's address plus one: its longest-idle connection (waiting for a
   request: a keep-alive visit between requests, or one that has not finished sending its
   first), else its newest. No address keeps more than its share while another is shut
   out, however busy it keeps its seats.
2. **Then long idleness.** Shares being even, the connection idle the longest gives way if
   it has waited at least ``IDLE_GRACE``: nothing is lost but a socket its client reopens.
   A newcomer that has not had the time to send its request is never shed for the next
   one (the adversarial pass: with every seat busy, the client let in was the only idle
   seat, and the attackers' next reconnect shed it).
3. Otherwise the newcomer is refused (503, Retry-After).

An address at its own cap (``max_per_address``) gives up its own longest-idle connection
for the newcomer, else the newcomer is refused: a class behind one NAT address rotates its
idle connections instead of being locked out by them.

Pure: the server passes a snapshot of its seats and carries the decision out.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Seat:
    """One open connection as the policy sees it."""

    key: int
    ip: str
    idle_since: float | None  # waiting for a request since (monotonic); None while busy
    opened: float


@dataclass(frozen=True)
class Admit:
    """There is room: take the newcomer."""


@dataclass(frozen=True)
class Shed:
    """Close connection ``key`` (``idle`` or busy) and take the newcomer in its seat."""

    key: int
    idle: bool


@dataclass(frozen=True)
class Refuse:
    """No seat can be freed fairly: answer the newcomer 503."""


Decision = Admit | Shed | Refuse


IDLE_GRACE = 1.0  # seconds a connection may take to send its first request


class Crowd:
    """The seats as the policy sees them through a burst of newcomers: built once (O(n)),
    then kept current as it decides (O(addresses) a decision). A snapshot of 2,000 seats
    per connection cost 1.3 ms, most of a core while hostile clients reconnected as fast
    as they were shed."""

    def __init__(self, seats: Sequence[Seat], *, max_connections: int,
                 max_per_address: int) -> None:
        self._max, self._cap = max_connections, max_per_address
        self._counts = Counter(seat.ip for seat in seats)
        self._total = len(seats)
        # Per address: idle seats, the longest idle at the right; busy ones, newest right.
        self._idle: dict[str, deque[Seat]] = defaultdict(deque)
        self._busy: dict[str, deque[Seat]] = defaultdict(deque)
        for seat in sorted(seats, key=lambda s: -(s.idle_since or 0.0)):
            if seat.idle_since is not None:
                self._idle[seat.ip].append(seat)
        for seat in sorted(seats, key=lambda s: s.opened):
            if seat.idle_since is None:
                self._busy[seat.ip].append(seat)

    def decide(self, newcomer: str, key: int, now: float) -> Decision:
        """What to do with connection ``key`` from ``newcomer`` (see the module docstring);
        an admitted newcomer is counted as a seat waiting for its first request."""
        decision = self._choose(newcomer, now)
        if isinstance(decision, Refuse):
            return decision
        self._total += 1
        self._counts[newcomer] += 1
        self._idle[newcomer].appendleft(Seat(key, newcomer, now, now))
        return decision

    def _choose(self, newcomer: str, now: float) -> Decision:
        counts = self._counts
        if self._cap > 0 and counts[newcomer] >= self._cap:
            return self._take(self._idle[newcomer], idle=True) or Refuse()
        if self._total < self._max:
            return Admit()
        ip, held = counts.most_common(1)[0]
        if held > counts[newcomer] + 1:
            return (self._take(self._idle[ip], idle=True)
                    or self._take(self._busy[ip], idle=False) or Refuse())
        waiting = [seats for seats in self._idle.values() if seats]
        if waiting:
            longest = min(waiting, key=_idle_since_of_right)
            if now - _idle_since_of_right(longest) >= IDLE_GRACE:
                return self._take(longest, idle=True) or Refuse()
        return Refuse()

    def _take(self, seats: deque[Seat], *, idle: bool) -> Shed | None:
        """Shed the seat at the right of ``seats`` (the longest idle, or the newest busy)."""
        if not seats:
            return None
        seat = seats.pop()
        self._total -= 1
        self._counts[seat.ip] -= 1
        return Shed(seat.key, idle=idle)


def _idle_since_of_right(seats: deque[Seat]) -> float:
    """Since when the seat at the right of an idle deque has waited."""
    since = seats[-1].idle_since
    assert since is not None
    return since


def make_room(seats: Sequence[Seat], newcomer: str, *, max_connections: int,
              max_per_address: int, now: float = 0.0) -> Decision:
    """What to do with one connection from ``newcomer`` given the open ``seats``."""
    crowd = Crowd(seats, max_connections=max_connections, max_per_address=max_per_address)
    return crowd.decide(newcomer, -1, now)
