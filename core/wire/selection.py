"""What a person asks for when they ask for several files at once (issue 12): names, a
folder of the offer (``Week 12/``), or everything. Pure; both clients use it.

Each name is matched as a single name is (core.wire.names.match_name: exact, then case and
Unicode form ignored); a name that is a folder of the offer stands for every file under it.
A name that matches nothing is reported, with the closest offered name, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.wire.names import loose_key, match_name, name_key
from core.wire.paths import SEPARATOR


@dataclass(frozen=True)
class Selection:
    """The offered files chosen, in the offer's order, and the names that matched none
    (each with the closest offered name, or None)."""

    names: tuple[str, ...]
    missing: tuple[tuple[str, str | None], ...] = ()


def _under(folder: str, offered: Sequence[str]) -> list[str]:
    """The offered names inside ``folder`` (``Week 12`` or ``Week 12/``), any depth; typed
    in another case, when that can mean only one folder (as a file name may: issue 11)."""
    typed = folder.strip().rstrip(SEPARATOR)
    prefix = name_key(typed) + SEPARATOR
    inside = [name for name in offered if name_key(name).startswith(prefix)]
    if inside or not typed:
        return inside
    depth, loose = typed.count(SEPARATOR) + 1, loose_key(typed)
    inside = [name for name in offered if SEPARATOR in name and loose_key(
        SEPARATOR.join(name.split(SEPARATOR)[:depth])) == loose
        and name.count(SEPARATOR) >= depth]
    folders = {SEPARATOR.join(name.split(SEPARATOR)[:depth]) for name in inside}
    return inside if len(folders) == 1 else []


def select(offered: Sequence[str], asked: Sequence[str], *, everything: bool = False
           ) -> Selection:
    """The files ``asked`` names (or all of them), without repeats, in the offer's order."""
    if everything:
        return Selection(tuple(offered))
    chosen: set[str] = set()
    missing: list[tuple[str, str | None]] = []
    exact = set(offered)
    for typed in asked:
        if typed in exact:  # a name as offered (a row of the list): no search, so that
            chosen.add(typed)  # 10,000 rows selected are not 10,000 searches of 10,000
            continue
        typed = typed.strip()
        inside = _under(typed, offered) if typed.rstrip(SEPARATOR) else []
        match = match_name(typed, offered) if not typed.endswith(SEPARATOR) else None
        if match is not None and match.name is not None:
            chosen.add(match.name)
        elif inside:
            chosen.update(inside)
        else:
            missing.append((typed, match.suggestion if match is not None else None))
    return Selection(tuple(name for name in offered if name in chosen), tuple(missing))


def names_a_folder(offered: Sequence[str], typed: str) -> bool:
    """Whether one typed name stands for a folder of the offer (``Week 12/``), not a file:
    then it is a selection, asked about once, even alone."""
    return match_name(typed, offered).name is None and bool(_under(typed, offered)) \
        and bool(typed.strip().rstrip(SEPARATOR))


def empty_within(folders: Sequence[str], offered: Sequence[str], asked: Sequence[str], *,
                 everything: bool = False) -> tuple[str, ...]:
    """The offer's empty folders a selection takes along (issue 12: kept, as tar keeps
    them): all of them with everything, else those inside a folder that was asked for."""
    if everything:
        return tuple(folders)
    prefixes: list[str] = []
    exact = set(offered)
    for typed in asked:
        if typed in exact:
            continue  # a file, not a folder
        inside = _under(typed, offered) if typed.strip().rstrip(SEPARATOR) else []
        if inside and match_name(typed, offered).name is None:
            depth = typed.strip().rstrip(SEPARATOR).count(SEPARATOR) + 1
            prefixes.append(name_key(SEPARATOR.join(inside[0].split(SEPARATOR)[:depth]))
                            + SEPARATOR)
    return tuple(f for f in folders if (name_key(f) + SEPARATOR).startswith(tuple(prefixes)))
