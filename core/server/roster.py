"""Who has the file: one row per person with their best outcome, as pure state (issue 11).

A person is the client id a Filecast client keeps (a client that sends none, like curl, is
its IP address). Outcomes come only from ledger lines (Clients.jsonl records, handed in as
LedgerWritten while serving or read back after a restart), so the roster says what the ledger
can back and is the same after a restart; live events add only what a person is doing now.
A person's outcome for a file version never goes down: verified > downloaded > partway >
declined > asked > connected. No Tk and no I/O here: the window renders ``rows()``.
"""

from __future__ import annotations

import enum
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
from core.wire.names import name_key
from core.wire.units import percent


class Standing(enum.IntEnum):
    """How far a person got with the offer; higher is better and never replaced by lower."""

    NOT_YET = 0  # expected, never seen
    CONNECTED = 1
    ASKED = 2
    DECLINED = 3
    PARTWAY = 4  # some bytes, not the whole file (interrupted, a range, a wrong digest)
    DOWNLOADED = 5
    VERIFIED = 6


HAS_IT = Standing.DOWNLOADED  # DOWNLOADED or better: the person has the file

# Ledger event (Clients.jsonl "event") -> the standing it proves for that file version.
_PROVES = {"downloaded": Standing.DOWNLOADED, "verified": Standing.VERIFIED,
           "interrupted": Standing.PARTWAY, "partial": Standing.PARTWAY,
           "digest_mismatch": Standing.PARTWAY, "declined": Standing.DECLINED}
# Lines that show the person came and asked, about no offered version.
_ASKED = {"not_offered", "receipt_refused"}


@dataclass(frozen=True)
class Mark:
    """The best a person reached with one file version; ``covered`` of ``size`` bytes."""

    standing: Standing
    covered: int = 0
    size: int = 0
    damaged: bool = False  # the client's digest did not match: it kept nothing

    def better(self, other: Mark) -> Mark:
        """The higher of two marks (on a tie, the one covering more)."""
        if (other.standing, other.covered) > (self.standing, self.covered):
            return other
        return self


Version = tuple[str, str | None]  # (name_key of the file, ETag or None when unknown)


@dataclass
class _Download:
    """One connection's body going out now."""

    file: str
    sent: int
    length: int
    start: int
    size: int


@dataclass
class Person:
    """Everything the roster knows of one person (main thread only)."""

    key: str
    name: str | None = None
    client_id: str | None = None
    address: str = ""
    agent: str = ""  # the program, for people without a name: "curl", "Wget"
    marks: dict[Version, Mark] = field(default_factory=dict)
    presence: Standing = Standing.CONNECTED
    visits: set[tuple[str, int]] = field(default_factory=set)
    last_seen: float = 0.0
    open: dict[int, _Download | None] = field(default_factory=dict)  # connection -> body


@dataclass(frozen=True)
class RosterRow:
    """One row as shown and exported. ``name`` is network text: the window escapes it."""

    key: str
    name: str
    standing: Standing
    outcome: str
    now: str
    last_seen: float | None
    visits: int
    address: str
    client_id: str
    expected: bool

    @property
    def has_it(self) -> bool:
        """The person has the offered file (downloaded or verified)."""
        return self.standing >= HAS_IT


def program(agent: object) -> str:
    """The program a User-Agent names, ``curl/8.5.0`` -> ``curl`` (24 characters at most)."""
    words = agent.split("/", 1)[0].split() if isinstance(agent, str) else []
    return words[0][:24] if words else ""


def person_key(client_id: str | None, name: str | None, address: str,
               agent: object = None) -> str:
    """The one rule for who a line or event is about: the client id with the name given
    (where everyone shares one account, every client has one id: issue 11), else the
    address with the program and the name (curl and a browser on one laptop: two rows)."""
    who = same_person_key(name or "")
    if client_id:
        return f"id:{client_id}/{who}"
    return f"ip:{address}/{program(agent)}/{who}"


def same_person_key(name: str) -> str:
    """How an expected name meets a given one: case, Unicode form and spacing ignored
    ("ana  LÓPEZ" is "Ana López")."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _epoch(stamp: object) -> float | None:
    """A ledger ``time`` (``2026-12-03T14:02:11Z``) as seconds since the epoch."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _int(value: object) -> int:
    """A JSON number the ledger wrote, or 0 for anything else (a hand-edited line)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class Roster:
    """People keyed by person_key, fed ledger records and live events (main thread)."""

    def __init__(self, since: str | None = None, clock: Any = time.time) -> None:
        """``since``: a ledger time; older lines are another session's and are skipped."""
        self.since = since
        self._clock = clock
        self.people: dict[str, Person] = {}
        self._connections: dict[int, str] = {}  # connection key -> person key
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
            if name and same_person_key(name) not in self._expected:
                self._expected[same_person_key(name)] = name
        return list(self._expected.values())

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
        address, agent = client.address[0], client.user_agent
        person = self._person(person_key(client.client_id, client.name, address, agent),
                              client.name, client.client_id, address, self._clock(), agent)
        self._connections[client.key] = person.key
        person.visits.add(client.address)
        person.open.setdefault(client.key, None)
        if isinstance(event, FileRequested):
            person.presence = max(person.presence, Standing.ASKED)
        elif isinstance(event, TransferStarted):
            person.open[client.key] = _Download(event.file, 0, event.length, event.start,
                                                event.size)
        elif isinstance(event, TransferProgress):
            body = person.open.get(client.key)
            if body is not None:
                body.sent = event.sent
        elif isinstance(event, TransferFinished):
            person.open[client.key] = None
        return True

    def _gone(self, connection: int) -> bool:
        """A connection closed: the person is no longer doing anything on it."""
        key = self._connections.pop(connection, None)
        person = self.people.get(key) if key is not None else None
        if person is None:
            return False
        person.open.pop(connection, None)
        person.last_seen = self._clock()
        return True

    def _person(self, key: str, name: str | None, client_id: str | None, address: str,
                seen: float, agent: object = None) -> Person:
        """The person ``key``, made on first sight; the latest spelling of the name shows."""
        person = self.people.get(key)
        if person is None:
            person = self.people[key] = Person(key)
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
        if not isinstance(address, str) or (event not in _PROVES and event not in _ASKED):
            return False  # "flooded" summaries and hand edits say nothing of one person
        if self.since is not None and (not isinstance(stamp, str) or stamp < self.since):
            return False
        client_id = record.get("client_id")
        client_id = client_id if isinstance(client_id, str) else None
        name = record.get("name")
        name = name if isinstance(name, str) else None
        agent = record.get("user_agent")
        person = self._person(person_key(client_id, name, address, agent), name, client_id,
                              address, _epoch(stamp) or 0.0, agent)
        person.visits.add((address, _int(record.get("port"))))
        standing = _PROVES.get(str(event))
        file = record.get("file")
        if standing is None or not isinstance(file, str):
            person.presence = max(person.presence, Standing.ASKED)
            return True
        etag = record.get("etag")
        version = (name_key(file), etag if isinstance(etag, str) else None)
        mark = Mark(standing, _int(record.get("bytes")), _int(record.get("size")),
                    damaged=event == "digest_mismatch")
        old = person.marks.get(version)
        person.marks[version] = mark if old is None else old.better(mark)
        return True

    # --- what is shown ------------------------------------------------------------------

    def _mark_for(self, person: Person, file: str, etag: str | None) -> tuple[Mark | None, bool]:
        """The best mark for one offered version (a line of unknown version counts), and
        whether the person has a whole older version instead."""
        best: Mark | None = None
        older = False
        for (marked, version), mark in person.marks.items():
            if marked != file:
                continue
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
        for file, etag in self._offer.items():
            mark, older = self._mark_for(person, file, etag)
            downloading = any(body is not None and name_key(body.file) == file
                              for body in person.open.values())
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
        words = _WORDS[standing]
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
            rows.append(RosterRow(person.key, person.name or _unnamed(person), standing,
                                  outcome, self._now(person), person.last_seen or None,
                                  len(person.visits), person.address,
                                  person.client_id or "", key in self._expected))
        for key, name in self._expected.items():
            if key not in seen:
                rows.append(RosterRow(f"expected:{key}", name, Standing.NOT_YET,
                                      _WORDS[Standing.NOT_YET], "", None, 0, "", "", True))
        return rows

    def header(self) -> str:
        """``27 of 30 have it · 2 downloading · 1 declined``: the roster at a glance."""
        rows = self.rows()
        have = sum(row.has_it for row in rows)
        downloading = sum(row.now.startswith("downloading") for row in rows)
        declined = sum(row.standing is Standing.DECLINED for row in rows)
        return (f"{have} of {len(rows)} have it · {downloading} downloading"
                f" · {declined} declined")


_WORDS = {Standing.NOT_YET: "not seen yet", Standing.CONNECTED: "came, did not ask",
          Standing.ASKED: "asked, no answer", Standing.DECLINED: "declined",
          Standing.PARTWAY: "has part of it", Standing.DOWNLOADED: "has it",
          Standing.VERIFIED: "has it, verified"}


def _unnamed(person: Person) -> str:
    """A row for someone who gave no name: the address, and the program if it said one
    (``10.0.0.9 · curl``), so a teacher can tell a browser from a script."""
    return f"{person.address} · {person.agent}" if person.agent else person.address


def not_yet(row: RosterRow) -> bool:
    """The "not yet" filter: everyone who does not have the offered file."""
    return not row.has_it
