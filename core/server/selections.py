"""One summary line per selection (issue 12), however many archive requests it took.

A client asks for a big selection in several archive requests (each body stays under the
server's 64 KiB cap: ~900 files); each request says which selection it belongs to and
whether it is the last (docs/PROTOCOL.md, "Many files at once"). A connection keeps a
tally per selection and the summary ("downloaded 10,000 of 10,000 files (102.4 MB) of
'Data/' in one archive") is written once: after the last part, or when the connection
ends first. Every count in it is the server's own: files received whole (acknowledged by
the client's TCP) of the files asked for. Runs on the session's worker thread.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from core.events import ClientInfo
from core.server.archives import SelectionPart
from core.server.effects import entry_for
from core.server.entries import ServedFile
from core.server.ledger import LedgerEntry, LedgerEvent

MAX_OPEN = 4  # selections a connection may have under way; more: the oldest is summed up


@dataclass
class Tally:
    """What a selection's archives delivered so far."""

    taken: int = 0  # files received whole
    files: int = 0  # files asked for
    taken_bytes: int = 0
    size: int = 0
    folder: str | None = None  # the deepest folder every file is in ("" for none)

    def add(self, members: tuple[ServedFile, ...], whole: int) -> None:
        """Count one archive of ``members``, of which the first ``whole`` arrived whole."""
        self.taken += whole
        self.files += len(members)
        self.taken_bytes += sum(entry.size for entry in members[:whole])
        self.size += sum(entry.size for entry in members)
        folder = common_folder(members)
        self.folder = folder if self.folder is None else _shared(self.folder, folder)

    def summary(self, client: ClientInfo) -> LedgerEntry | None:
        """The line for this selection; None when it asked for one file or took none (so
        it cannot flood)."""
        if self.files < 2 or not self.taken:
            return None
        return entry_for(client, LedgerEvent.TOOK_ARCHIVE, self.folder or "",
                         bytes=self.taken_bytes, size=self.size,
                         counts=(("downloaded", self.taken), ("files", self.files)))


class Selections:
    """A connection's selections under way (the session's own: no lock)."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, Tally] = OrderedDict()

    def add(self, part: SelectionPart | None, members: tuple[ServedFile, ...],
            whole: int) -> list[Tally]:
        """Count one archive; the tallies whose summary is due now: this archive's alone
        (no ``part``), its selection's after the last part, or the oldest one pushed out."""
        if part is None:
            alone = Tally()
            alone.add(members, whole)
            return [alone]
        due: list[Tally] = []
        tally = self._open.pop(part.id, None) or Tally()
        tally.add(members, whole)
        if part.last:
            due.append(tally)
        else:
            self._open[part.id] = tally
            if len(self._open) > MAX_OPEN:
                due.append(self._open.popitem(last=False)[1])
        return due

    def ended(self) -> list[Tally]:
        """The connection is over: every selection still open is summed up as it stands."""
        due, self._open = list(self._open.values()), OrderedDict()
        return due


def common_folder(members: tuple[ServedFile, ...]) -> str:
    """The deepest folder every member is in, with its slash (``Week 12/``); "" for none."""
    return _deepest_shared([entry.name for entry in members])


def _shared(first: str, second: str) -> str:
    """The deepest folder two common folders share: ``a/b/`` and ``a/c/`` -> ``a/``."""
    return _deepest_shared([first, second])


def _deepest_shared(names: list[str]) -> str:
    """The deepest folder every name is in (a name ending in ``/`` is a folder itself)."""
    common: list[str] = []
    for parts in zip(*(name.split("/")[:-1] for name in names), strict=False):
        if len(set(parts)) != 1:  # as deep as the shallowest, while all agree
            break
        common.append(parts[0])
    return "/".join(common) + "/" if common else ""
