"""Who has the file: one row per person with their best outcome, as pure state (issue 11).

A person is the client id a Filecast client keeps (a client that sends none, like curl, is
its IP address). Outcomes come only from ledger lines (Clients.jsonl records, handed in as
LedgerWritten while serving or read back after a restart), so the roster says what the ledger
can back and is the same after a restart; live events add only what a person is doing now.
A person's outcome for a file version never goes down: verified > downloaded > partway >
declined > asked > connected. No Tk and no I/O here: the window renders ``rows()``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    FileRequested,
    LedgerWritten,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from core.server.ledger import MAX_NAME_BYTES, clip
from core.server.peers import address_group
from core.server.persons import (
    HAS_IT,
    WORDS,
    Download,
    Mark,
    Person,
    RosterRow,
    Standing,
    epoch,
    person_key,
    program,
    same_person_key,
    unnamed,
    whole_number,
)
from core.wire.names import name_key
from core.wire.units import percent

MAX_PEOPLE = 5000  # a school's worth; the window redraws them all, so not unbounded
MAX_PEOPLE_PER_GROUP = 250  # from one address (or IPv6 /64): a lab behind one address fits

# Ledger event (Clients.jsonl "event") -> the standing it proves for that file version.
_PROVES = {"downloaded": Standing.DOWNLOADED, "verified": Standing.VERIFIED,
           "interrupted": Standing.PARTWAY, "partial": Standing.PARTWAY,
           "digest_mismatch": Standing.PARTWAY, "declined": Standing.DECLINED}
# Lines that show the person came and asked, about no offered version.
_ASKED = {"not_offered", "receipt_refused"}


class Roster:
    """People keyed by person_key, fed ledger records and live events (main thread)."""

    def __init__(self, since: str | None = None, clock: Any = time.time) -> None:
        """``since``: a ledger time; older lines are another session's and are skipped."""
        self.since = since
        self._clock = clock
        self.people: dict[str, Person] = {}
        self._connections: dict[int, str] = {}  # connection key -> person key
        self._per_group: dict[str, int] = {}  # people counted against each address group
        # Per group, the people who are neither connected nor on record with an outcome,
        # least recently active first: the ones to forget when a group or the roster is full.
        self._idle: dict[str, dict[str, None]] = {}
        self._offer: dict[str, str | None] = {}  # name_key -> current ETag
        self._expected: dict[str, str] = {}  # same_person_key -> the name as written

    # --- what is offered and who is expected ----------------------------------------------

    def set_offer(self, files: Iterable[tuple[str, str | None]]) -> None:
        """The offered files as (name, ETag): a new version makes people "not yet" again."""
        self._offer = {name_key(name): etag for name, etag in files}

    def set_expected(self, names: Iterable[str]) -> list[str]:
        """The people the teacher expects, one name each; returns the cleaned list kept."""
        self._expected = {}
        for name in names:
            name = name.strip()
            key = same_person_key(clip(name, MAX_NAME_BYTES) or "")  # as the ledger keeps it
            if name and key not in self._expected:
                self._expected[key] = name
        return list(self._expected.values())

    def take_settings(self, other: Roster) -> None:
        """Offer and expect what ``other`` does (a roster rebuilt in a worker taking over)."""
        self._offer, self._expected = dict(other._offer), dict(other._expected)

    def fresh(self, since: str) -> Roster:
        """An empty roster counting from ``since``, offering and expecting what this does
        ("New session": the ledger keeps everything, the roster starts over)."""
        new = Roster(since, self._clock)
        new._offer, new._expected = dict(self._offer), dict(self._expected)
        return new

    # --- folding ------------------------------------------------------------------------

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold ledger records read back from Clients.jsonl, oldest first."""
        for record in records:
            self._fold_record(record)

    def apply(self, event: object) -> bool:
        """Fold one engine event; True when a row may have changed."""
        if isinstance(event, LedgerWritten):
            return self._fold_record(event.record)
        client = getattr(event, "client", None)
        if not isinstance(client, ClientInfo) or isinstance(event, ClientConnected):
            return False  # a connection is nobody until its first request says who
        if isinstance(event, ClientDisconnected):
            return self._gone(client.key)
        # The name as the ledger keeps it, so a long one is one person live and on record.
        address, agent, name = client.address[0], client.user_agent, clip(client.name,
                                                                          MAX_NAME_BYTES)
        person = self._person(person_key(client.client_id, name, address, agent),
                              name, client.client_id, address, self._clock(), agent)
        if person is None:
            return False  # the roster is full of people busy or on record: not shown
        self._moved(client.key, person)
        person.visits.add(client.address)
        person.open.setdefault(client.key, None)
        self._busy(person)
        if isinstance(event, FileRequested):
            person.presence = max(person.presence, Standing.ASKED)
        elif isinstance(event, TransferStarted):
            person.open[client.key] = Download(event.file, 0, event.length, event.start,
                                                event.size)
        elif isinstance(event, TransferProgress):
            body = person.open.get(client.key)
            if body is not None:
                body.sent = event.sent
        elif isinstance(event, TransferFinished):
            person.open[client.key] = None
        return True

    def _moved(self, connection: int, person: Person) -> None:
        """The connection now speaks for ``person``; one that changed its id or name leaves
        the person it spoke for before, who would stay "connected" for ever otherwise."""
        before = self._connections.get(connection)
        self._connections[connection] = person.key
        earlier = self.people.get(before) if before not in (None, person.key) else None
        if earlier is not None:
            body = earlier.open.pop(connection, None)
            person.open[connection] = body
            self._rest(earlier)

    def _gone(self, connection: int) -> bool:
        """A connection closed: the person is no longer doing anything on it."""
        key = self._connections.pop(connection, None)
        person = self.people.get(key) if key is not None else None
        if person is None:
            return False
        person.open.pop(connection, None)
        person.last_seen = self._clock()
        self._rest(person)
        return True

    def _busy(self, person: Person) -> None:
        """Connected or on record: never forgotten to make room."""
        self._idle.get(person.group, {}).pop(person.key, None)

    def _rest(self, person: Person) -> None:
        """Neither connected nor on record with an outcome: the last in line to forget."""
        if not person.open and not person.marks:
            idle = self._idle.setdefault(person.group, {})
            idle.pop(person.key, None)
            idle[person.key] = None

    def _room(self, group: str) -> bool:
        """Make room for one more person of ``group`` by forgetting the least recently
        active idle one (of that group when it is full); False when nobody may go. A peer
        minting client ids once grew the roster without bound (issue 11 review)."""
        full_group = self._per_group.get(group, 0) >= MAX_PEOPLE_PER_GROUP
        if not full_group and len(self.people) < MAX_PEOPLE:
            return True
        idle = self._idle.get(group) if full_group else \
            next((keys for keys in self._idle.values() if keys), None)
        if not idle:
            return False
        key = next(iter(idle))
        del idle[key]
        gone = self.people.pop(key)
        self._per_group[gone.group] -= 1
        return True

    def _person(self, key: str, name: str | None, client_id: str | None, address: str,
                seen: float, agent: object = None) -> Person | None:
        """The person ``key``, made on first sight (None when there is no room); the
        latest spelling of the name shows."""
        person = self.people.get(key)
        if person is None:
            group = address_group(address)
            if not self._room(group):
                return None
            person = self.people[key] = Person(key, group)
            self._per_group[group] = self._per_group.get(group, 0) + 1
        person.name = (name or "").strip() or person.name
        person.client_id = client_id or person.client_id
        person.address = address or person.address
        person.agent = program(agent) or person.agent
        person.last_seen = max(person.last_seen, seen)
        return person

    def _fold_record(self, record: Mapping[str, Any]) -> bool:
        """One Clients.jsonl record: the outcome it proves, for the version it names."""
        event, address = record.get("event"), record.get("address")
        stamp = record.get("time")
        if not isinstance(address, str) or not isinstance(event, str) \
                or (event not in _PROVES and event not in _ASKED):
            return False  # "flooded" summaries and hand edits say nothing of one person
        if self.since is not None and (not isinstance(stamp, str) or stamp < self.since):
            return False
        client_id = record.get("client_id")
        client_id = client_id if isinstance(client_id, str) else None
        name = record.get("name")
        name = name if isinstance(name, str) else None
        agent = record.get("user_agent")
        person = self._person(person_key(client_id, name, address, agent), name, client_id,
                              address, epoch(stamp) or 0.0, agent)
        if person is None:
            return False
        person.visits.add((address, whole_number(record.get("port"))))
        standing = _PROVES.get(event)
        file = record.get("file")
        if standing is None or not isinstance(file, str):
            person.presence = max(person.presence, Standing.ASKED)
            self._rest(person)
            return True
        etag = record.get("etag")
        version = (name_key(file), etag if isinstance(etag, str) else None)
        size = whole_number(record.get("size"))
        # A folded line's bytes total its repeats, which add nothing to what the line it
        # repeats covered ("has 180% of it"); no line covers more than the file.
        covered = 0 if whole_number(record.get("repeats")) else whole_number(record.get("bytes"))
        mark = Mark(standing, min(covered, size) if size else covered, size,
                    damaged=event == "digest_mismatch")
        old = person.marks.get(version)
        person.marks[version] = mark if old is None else old.better(mark)
        self._busy(person)
        return True

    # --- what is shown ------------------------------------------------------------------

    @staticmethod
    def _marks_by_file(person: Person) -> dict[str, list[tuple[str | None, Mark]]]:
        """The person's marks grouped by file, once per standing: looking through all of
        them for each offered file froze the window 12 s for a person with 10,000 files."""
        grouped: dict[str, list[tuple[str | None, Mark]]] = {}
        for (marked, version), mark in person.marks.items():
            grouped.setdefault(marked, []).append((version, mark))
        return grouped

    @staticmethod
    def _mark_for(marks: list[tuple[str | None, Mark]], etag: str | None
                  ) -> tuple[Mark | None, bool]:
        """The best of one file's ``marks`` for one offered version (a line of unknown
        version counts), and whether the person has a whole older version instead."""
        best: Mark | None = None
        older = False
        for version, mark in marks:
            if version is None or etag is None or version == etag:
                best = mark if best is None else best.better(mark)
            elif mark.standing >= HAS_IT:
                older = True
        return best, older

    def _standing(self, person: Person) -> tuple[Standing, str]:
        """The person's standing with the whole offer (their worst file) and its words."""
        if not self._offer:
            marks = list(person.marks.values())
            best = max(marks, key=lambda m: (m.standing, m.covered), default=None)
            return self._words(person, best, False, downloading=False)
        worst: tuple[Standing, str] | None = None
        by_file = self._marks_by_file(person)
        going = {name_key(body.file) for body in person.open.values() if body is not None}
        for file, etag in self._offer.items():
            mark, older = self._mark_for(by_file.get(file, []), etag)
            downloading = file in going
            standing, words = self._words(person, mark, older, downloading)
            if worst is None or standing < worst[0]:
                worst = (standing, words)
        assert worst is not None
        return worst

    @staticmethod
    def _words(person: Person, mark: Mark | None, older: bool,
               downloading: bool) -> tuple[Standing, str]:
        """A standing and the sentence the Outcome column shows for it."""
        standing = max(mark.standing if mark else Standing.NOT_YET, person.presence)
        if downloading and standing < Standing.PARTWAY:
            standing = Standing.PARTWAY
        words = WORDS[standing]
        if standing is Standing.PARTWAY and mark is not None and mark.standing is standing:
            words = ("got a damaged copy" if mark.damaged else
                     f"has {percent(mark.covered, mark.size)} of it" if mark.size else words)
        elif standing is Standing.PARTWAY:
            words = "downloading"
        if standing >= HAS_IT or not older:
            return standing, words
        return standing, f"{words} (has an older version)" if older else words

    def _now(self, person: Person) -> str:
        """What the person is doing now: downloading, connected, or nothing."""
        bodies = [b for b in person.open.values() if b is not None]
        if bodies:
            body = max(bodies, key=lambda b: b.start + b.sent)
            return f"downloading {percent(body.start + body.sent, body.size)}"
        return "connected" if person.open else ""

    def rows(self) -> list[RosterRow]:
        """Every person, then every expected name nobody gave yet (standing NOT_YET)."""
        rows = []
        seen: set[str] = set()
        for person in self.people.values():
            standing, outcome = self._standing(person)
            key = same_person_key(person.name or "")
            seen.add(key)
            rows.append(RosterRow(person.key, person.name or unnamed(person), standing,
                                  outcome, self._now(person), person.last_seen or None,
                                  len(person.visits), person.address,
                                  person.client_id or "", key in self._expected))
        for key, name in self._expected.items():
            if key not in seen:
                rows.append(RosterRow(f"expected:{key}", name, Standing.NOT_YET,
                                      WORDS[Standing.NOT_YET], "", None, 0, "", "", True))
        return rows

    def header(self, rows: list[RosterRow] | None = None) -> str:
        """``27 of 30 have it · 2 downloading · 1 declined``: the roster at a glance (of
        ``rows`` when the caller has them already)."""
        rows = self.rows() if rows is None else rows
        have = sum(row.has_it for row in rows)
        downloading = sum(row.now.startswith("downloading") for row in rows)
        declined = sum(row.standing is Standing.DECLINED for row in rows)
        return (f"{have} of {len(rows)} have it · {downloading} downloading"
                f" · {declined} declined")

