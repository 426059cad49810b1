"""Who the roster is about (issue 11): a person and how far they got, the rule that says
which person a ledger line or an event is about, and a row as shown. Pure data; the
folding is core.server.roster's.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

MAX_NUMBER = 2**63  # bytes a ledger line may claim; a hand edit beyond it counts as none


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
class Download:
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
    group: str = ""  # the address group it counts against (core.server.peers)
    name: str | None = None
    client_id: str | None = None
    address: str = ""
    agent: str = ""  # the program, for people without a name: "curl", "Wget"
    marks: dict[Version, Mark] = field(default_factory=dict)
    presence: Standing = Standing.CONNECTED
    visits: set[tuple[str, int]] = field(default_factory=set)
    last_seen: float = 0.0
    open: dict[int, Download | None] = field(default_factory=dict)  # connection -> body


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


# A browser's User-Agent names every engine it descends from: the first mark found wins
# (Edge says Chrome and Safari too; Android says Linux; an iPhone says Mac OS X).
_BROWSERS = (("Edg", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
             ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("CrOS", "ChromeOS"), ("Windows", "Windows"), ("Macintosh", "Mac"),
            ("Linux", "Linux"))


MAX_PROGRAM = 32  # characters of a row's program: "Samsung Internet on Android" fits


def program(agent: object) -> str:
    """What a User-Agent says the client is, for a row without a name: ``curl/8.5.0`` ->
    ``curl``, a browser -> ``Chrome on Android`` (issue 13); MAX_PROGRAM at most."""
    if not isinstance(agent, str):
        return ""
    if agent.startswith("Mozilla/"):
        browser = next((label for mark, label in _BROWSERS if mark in agent), None)
        system = next((label for mark, label in _SYSTEMS if mark in agent), None)
        if browser is not None:
            return f"{browser} on {system}" if system else browser
    words = agent.split("/", 1)[0].split()
    return words[0][:MAX_PROGRAM] if words else ""


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


def epoch(stamp: object) -> float | None:
    """A ledger ``time`` (``2026-12-03T14:02:11Z``) as seconds since the epoch."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def whole_number(value: object) -> int:
    """A JSON number the ledger wrote, or 0 for anything else (a hand-edited line: a bool,
    a negative number, or 10**400, which once broke every redraw)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_NUMBER:
        return value
    return 0


WORDS = {Standing.NOT_YET: "not seen yet", Standing.CONNECTED: "came, did not ask",
          Standing.ASKED: "asked, no answer", Standing.DECLINED: "declined",
          Standing.PARTWAY: "has part of it", Standing.DOWNLOADED: "has it",
          Standing.VERIFIED: "has it, verified"}


def unnamed(person: Person) -> str:
    """A row for someone who gave no name: the address, and the program if it said one
    (``10.0.0.9 · curl``), so a teacher can tell a browser from a script."""
    return f"{person.address} · {person.agent}" if person.agent else person.address


def not_yet(row: RosterRow) -> bool:
    """The "not yet" filter: everyone who does not have the offered file."""
    return not row.has_it
