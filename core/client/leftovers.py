"""Unfinished downloads left in a folder: found when a window opens, resumed or deleted
(issue 11: a 1.7 GB NAME.part stayed in Downloads, unmentioned until the same name was
asked for again).

A leftover is a ``NAME.part`` with the metadata this client wrote beside it (hidden
``.NAME.part.json``, or ``NAME.part.json`` as kept before); a ``.part`` without ours is
another program's (browsers use the suffix too) and is never listed or touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.client.http import parse_server
from core.client.partfile import MAX_META_BYTES, META_VERSION, PartFile
from core.client.savefolder import SaveFolder
from core.wire.names import META_SUFFIX, PART_SUFFIX, meta_name, part_of_meta
from core.wire.paths import MAX_DEPTH, saved_segments

MAX_SIZE = 2**63  # bytes a file may have: a larger planted size is not metadata we wrote
MAX_SCANNED = 10_000  # folder entries looked at: a Downloads folder, not a whole disk


@dataclass(frozen=True)
class Unfinished:
    """One unfinished download: the offered ``name``, ``saved`` of ``size`` bytes, and
    the server it came from (``HOST:PORT``, as the client wrote it)."""

    name: str
    saved: int
    size: int
    server: str
    folder: Path = field(default=Path(), compare=False)  # where it was found


def _read(folder: SaveFolder, meta: str, at: tuple[str, ...] = ()) -> Unfinished | None:
    """The leftover whose metadata is ``meta``, when it is ours and its part is there;
    ``at``: the folders, under the chosen one, that ``folder`` is."""
    safe = part_of_meta(meta)
    if safe is None:
        return None
    data = folder.read_small(meta, MAX_META_BYTES)
    try:
        record = json.loads(data.decode("utf-8")) if data is not None else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("version") != META_VERSION:
        return None
    name, size, server = record.get("name"), record.get("size"), record.get("server")
    if not (isinstance(name, str) and type(size) is int and 0 < size < MAX_SIZE
            and isinstance(server, str) and _plain_server(server)):
        return None  # a planted 10**400 or a server with a hidden host is not ours either
    if saved_segments(name) != (*at, safe):
        return None  # metadata under another file's name (or another folder's): not ours
    saved = folder.regular_size(safe + PART_SUFFIX)
    if saved is None or not 0 < saved <= size:
        return None
    return Unfinished(name, saved, size, server, folder.path)


def _plain_server(server: str) -> bool:
    """Whether ``server`` is the plain ``HOST:PORT`` this client writes (the metadata may
    be planted: a ``user@host`` form would show one host and connect to another)."""
    try:
        host, port = parse_server(server)
    except ValueError:
        return False
    return server == (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def find_unfinished(folder: Path) -> list[Unfinished]:
    """Every unfinished download in ``folder`` and the folders under it (a folder's files
    are saved there: issue 12), by name (worker thread: it reads the disk). Links are not
    followed; a folder that cannot be read has none."""
    try:
        chosen = SaveFolder(folder)
    except OSError:
        return []
    found: dict[tuple[str, ...], Unfinished] = {}
    _scan(chosen, (), found, [MAX_SCANNED])
    return sorted(found.values(), key=lambda item: item.name.casefold())


def _scan(folder: SaveFolder, at: tuple[str, ...], found: dict[tuple[str, ...], Unfinished],
          budget: list[int]) -> None:
    """Look for leftovers in ``folder`` (``at`` under the chosen one), then its folders;
    ``budget``: entries left to look at in all. Closes ``folder``."""
    try:
        entries = folder.entries()
    except OSError:
        entries = []
    try:
        for name, is_folder in entries:
            budget[0] -= 1
            if budget[0] < 0:
                return
            if is_folder and len(at) < MAX_DEPTH and not name.startswith("."):
                try:
                    sub = folder.descend(name, make=False)
                except OSError:
                    continue
                _scan(sub, (*at, name), found, budget)
                continue
            item = _read(folder, name, at)
            if item is not None:
                found[saved_segments(item.name)] = item  # hidden and old metadata: one
    finally:
        folder.close()


def _still_ours(item: Unfinished) -> bool:
    """Whether ``item``'s folder still holds it as a leftover this client wrote."""
    *at, leaf = saved_segments(item.name)
    try:
        folder = SaveFolder(item.folder)
    except OSError:
        return False
    with folder:
        return any(getattr(_read(folder, meta, tuple(at)), "name", None) == item.name
                   for meta in (meta_name(leaf), leaf + META_SUFFIX))


def discard_unfinished(item: Unfinished) -> bool:
    """Delete one leftover's part and metadata (only those names, never a link's target),
    if the folder still holds it as ours: a list shown for another folder, or a part that
    another program wrote meanwhile, is left alone (False). StorageError says why it
    cannot (worker thread)."""
    if not _still_ours(item):
        return False
    part = PartFile(item.folder, item.name, saved_segments(item.name)[-1])
    try:
        part.discard()
    finally:
        part.folder.close()
    return True
