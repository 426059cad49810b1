"""What an archive request gets (issue 12, docs/PROTOCOL.md "Many files at once"): which
offered files, in which order, laid out how. Pure, like core.server.routing, which calls it.

``POST /api/v1/archive`` names the files and the version of each the person said yes to:
any other version is 409, as for a receipt (consent is for the file shown). ``GET
/archive/`` is the whole offer and ``GET /archive/FOLDER/`` one folder of it, for curl and
a browser's "Download all"; a GET says no versions, so it is the offer as it is now.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from core.server.entries import ServedFile
from core.server.offer import OfferState
from core.wire.archive import ARCHIVE_PREFIX, ARCHIVE_TYPE, Layout, Member
from core.wire.http11 import HttpError, Request
from core.wire.names import name_key
from core.wire.protocol import clean_client_id, content_disposition, decode_path

ALL_NAME = "Filecast files.tar"  # what a browser saves the whole offer as


def member(entry: ServedFile) -> Member:
    """How an offered file appears in an archive: its offered name, size and whole seconds."""
    return Member(entry.name, entry.size, entry.mtime_ns // 1_000_000_000)


def layout(entries: Sequence[ServedFile]) -> Layout:
    """The archive of ``entries``, in order."""
    return Layout.of([member(entry) for entry in entries])


def archive_headers(plan: Layout, filename: str) -> tuple[tuple[str, str], ...]:
    """The headers of an archive answer: its exact length, so a cut is seen (no ranges:
    a cut archive is taken again file by file, from what is missing)."""
    return (("Content-Type", ARCHIVE_TYPE), ("Content-Length", str(plan.length)),
            ("Content-Disposition", content_disposition(filename)),
            ("Cache-Control", "no-store"))


@dataclass(frozen=True)
class SelectionPart:
    """One archive request of a selection taken in several: the selection's id, and
    whether this is its last request (core.server.selections sums them up in one line)."""

    id: str
    last: bool


def selection_part(data: dict[str, object]) -> SelectionPart | None:
    """The ``selection`` of an archive request, if it has one; 400 when malformed."""
    raw = data.get("selection")
    if raw is None:
        return None
    ident = raw.get("id") if isinstance(raw, dict) else None
    last = raw.get("last") if isinstance(raw, dict) else None
    if not isinstance(ident, str) or clean_client_id(ident) is None \
            or not isinstance(last, bool):
        raise HttpError(400, "bad_request", "An archive request's selection needs an id"
                        " (8 to 64 letters, digits, '-' or '_') and last (true or false).")
    return SelectionPart(ident, last)


def selected(data: dict[str, object], state: OfferState) -> list[ServedFile]:
    """The files a POSTed selection names, in its order; 400, 404 or 409 otherwise."""
    items = data.get("files")
    if not isinstance(items, list) or not items:
        raise HttpError(400, "bad_request", "An archive request needs a list of files, each"
                        " with its file and etag.")
    entries: list[ServedFile] = []
    seen: set[str] = set()
    for item in items:
        name = item.get("file") if isinstance(item, dict) else None
        etag = item.get("etag") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(etag, str):
            raise HttpError(400, "bad_request", "Each file of an archive request needs its"
                            " file and etag.")
        entry = state.find(name)
        if entry is None:
            raise HttpError(404, "not_offered", f"'{name}' is not offered by this server.",
                            close=False)
        if entry.etag != etag:
            raise HttpError(409, "changed", f"'{name}' changed on the server; ask about it"
                            " again.", close=False)
        if entry.name in seen:
            raise HttpError(400, "bad_request", f"'{name}' is named twice.")
        seen.add(entry.name)
        entries.append(entry)
    return entries


def folder_of(request: Request, state: OfferState) -> tuple[list[ServedFile], str, Layout]:
    """The files of ``GET /archive/FOLDER/`` (every file for ``/archive/``), the name a
    browser saves them as, and their layout; 404 when the offer has no such folder."""
    try:
        folder = decode_path(request.path[len(ARCHIVE_PREFIX):]).rstrip("/")
    except ValueError as exc:
        raise HttpError(400, "bad_request", "The folder name in the address is malformed.",
                        close=False) from exc
    if not folder:
        entries = list(state.files)
        filename = ALL_NAME
    else:
        prefix = name_key(folder) + "/"  # in whatever Unicode form it was typed, as /files/
        entries = [f for f in state.files if name_key(f.name).startswith(prefix)]
        filename = folder.rsplit("/", 1)[-1] + ".tar"
    if not entries:
        raise HttpError(404, "not_offered", f"'{folder}/' is not offered by this server."
                        if folder else "This server offers no files right now.", close=False)
    return entries, filename, _cached_layout(state.revision, name_key(folder), entries)


_layouts: OrderedDict[tuple[str, str], Layout] = OrderedDict()  # (revision, folder) -> it
_layouts_lock = threading.Lock()
MAX_CACHED_LAYOUTS = 4  # the whole offer and a few folders, ~13 MB each at 100,000 files


def _cached_layout(revision: str, folder: str, entries: Sequence[ServedFile]) -> Layout:
    """The layout of a folder of this version of the offer, made once: laying out 100,000
    files took the server 4 s, so a loop of HEAD /archive/ could pin its CPU (review)."""
    key = (revision, folder)
    with _layouts_lock:
        plan = _layouts.get(key)
        if plan is not None:
            _layouts.move_to_end(key)
            return plan
    plan = layout(entries)
    with _layouts_lock:
        _layouts[key] = plan
        while len(_layouts) > MAX_CACHED_LAYOUTS:
            _layouts.popitem(last=False)
    return plan
