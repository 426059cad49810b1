"""What each client has received of each offered file: the server's book of downloads.

docs/PROTOCOL.md, "What a download is": the bytes of one version of one file that one
client's TCP acknowledged, counted as byte ranges across all its connections. A client is
its address with its client id (``X-Filecast-Client-Id``), else its address with its
User-Agent: an id alone could be copied from another machine's requests (issue 9, item 9).
So a download cut and resumed on a new connection is still one download, and "downloaded
the file" means its ranges cover the whole file.

The connection code says when a body starts and how many of its bytes were acknowledged
when it ends (core.server.acks); this book decides, once, what that was: the download completed,
a range, or a download that stopped short. Receipts count only for downloads delivered
whole. No sockets or files here; thread-safe; bounded memory (dropping a range or an old
download only ever under-counts, never records a download that did not happen).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.events import Address, TransferOutcome
from core.server.ledger import MAX_NAME_BYTES, clip
from core.server.peers import address_group
from core.server.persons import same_person_key

MAX_DOWNLOADS = 16384  # downloads remembered at once (the least recently active go first)
# Per address group (core.server.peers): one address making downloads by the thousand (a fresh
# client id each) pushes out only its own, never another client's (the adversarial pass:
# 5,000 one-byte downloads turned a real one into "not delivered whole"). Room for more
# than one address may hold connections at once (ServerConfig.max_per_address, 1,000):
# at 256, 300 clients behind one address lost downloads between body and receipt.
MAX_PER_ADDRESS = 2048
MAX_RANGES = 64  # disjoint ranges kept per download; more only happen with odd clients

ClientKey = tuple[str, str]
_Key = tuple[ClientKey, str, str]  # (client, file, etag)


def client_key(address: Address, client_id: str | None, user_agent: str | None, *,
               name: str | None = None) -> ClientKey:
    """Who "one client" is: the peer's IP with its client id, else with its User-Agent,
    and the display name it gave. Where a lab shares one account every client has one id
    (issue 11): without the name, Ana's first half and Ben's second half of a file added
    up to a "downloaded" neither had. The name is taken as the ledger writes it and
    matched as the roster matches it (core.server.persons), so a replayed line keys alike."""
    who = same_person_key(clip(name, MAX_NAME_BYTES) or "")
    if client_id:
        return address[0], f"id:{client_id}/{who}"
    return address[0], f"ua:{user_agent or ''}/{who}"


@dataclass(frozen=True)
class Verdict:
    """What one finished body was: ``acked`` of its bytes were acknowledged from its start,
    and the download now covers ``covered`` bytes of the file."""

    outcome: TransferOutcome
    covered: int
    acked: int


@dataclass
class _Download:
    size: int
    ranges: list[tuple[int, int]] = field(default_factory=list)  # sorted, disjoint [a, b)
    complete: bool = False  # "downloaded the file" was decided
    receipted: bool = False  # a receipt was counted for it
    bodies: int = 0  # bodies of it still going out (started, not yet ended)

    @property
    def covered(self) -> int:
        return sum(end - start for start, end in self.ranges)

    def add(self, start: int, end: int, max_ranges: int) -> None:
        """Merge [start, end) in; beyond ``max_ranges`` the smallest ranges are dropped."""
        if end <= start:
            return
        merged: list[tuple[int, int]] = []
        for a, b in self.ranges:
            if b < start or a > end:  # disjoint and not touching
                merged.append((a, b))
            else:
                start, end = min(a, start), max(b, end)
        merged.append((start, end))
        merged.sort()
        while len(merged) > max_ranges:
            merged.remove(min(merged, key=lambda r: r[1] - r[0]))
        self.ranges = merged


class DeliveryBook:
    """Every client's downloads of every offered file version (see the module docstring)."""

    def __init__(self, *, max_downloads: int = MAX_DOWNLOADS,
                 max_ranges: int = MAX_RANGES, max_per_address: int = MAX_PER_ADDRESS) -> None:
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)  # a body ended
        # the files of each archive going out, per client (until its files are on record)
        self._archives: dict[ClientKey, list[frozenset[str]]] = {}
        self._downloads: OrderedDict[_Key, _Download] = OrderedDict()
        self._groups: dict[str, OrderedDict[_Key, None]] = {}  # address group -> its keys
        self._max_downloads, self._max_ranges = max_downloads, max_ranges
        self._max_per_address = max_per_address

    def __len__(self) -> int:
        with self._lock:
            return len(self._downloads)

    def _get(self, key: _Key, size: int, *, fresh: bool = False) -> _Download:
        """The download for ``key`` (a new one when ``fresh`` or unknown); lock held."""
        download = self._downloads.get(key)
        group = self._groups.setdefault(address_group(key[0][0]), OrderedDict())
        if download is None or fresh or download.size != size:
            download = _Download(size, bodies=download.bodies if download else 0)
            self._downloads[key] = download
        self._downloads.move_to_end(key)
        group[key] = None
        group.move_to_end(key)
        while len(group) > self._max_per_address:
            self._forget(next(iter(group)))
        while len(self._downloads) > self._max_downloads:
            self._forget(next(iter(self._downloads)))
        return download

    def _forget(self, key: _Key) -> None:
        """Drop one download (the least recently active of its group, or of all); lock held."""
        self._downloads.pop(key, None)
        group_name = address_group(key[0][0])
        group = self._groups.get(group_name)
        if group is not None:
            group.pop(key, None)
            if not group:
                del self._groups[group_name]

    def start(self, client: ClientKey, file: str, etag: str, size: int, *,
              fresh: bool) -> None:
        """A body of ``file`` starts going to ``client``; ``fresh`` (a whole-file answer
        from byte 0) begins a new download, so fetching a file twice is two downloads."""
        with self._lock:
            self._get((client, file, etag), size, fresh=fresh).bodies += 1

    def ended(self, client: ClientKey, file: str, etag: str) -> None:
        """A body that ``start`` announced is over and its verdict is on record."""
        with self._lock:
            download = self._downloads.get((client, file, etag))
            if download is not None and download.bodies > 0:
                download.bodies -= 1
            self._ended.notify_all()

    def archive_started(self, client: ClientKey, files: frozenset[str]) -> None:
        """An archive of ``files`` (core.server.archive_send) starts going to ``client``;
        they enter the book only when it ends, so their receipts wait for it (``settle``)."""
        with self._lock:
            self._archives.setdefault(client, []).append(files)

    def archive_ended(self, client: ClientKey, files: frozenset[str]) -> None:
        """The archive ``archive_started`` announced is over and its files are on record."""
        with self._lock:
            going = self._archives.get(client, [])
            if any(f is files for f in going):
                going.remove(next(f for f in going if f is files))
            if not going:
                self._archives.pop(client, None)
            self._ended.notify_all()

    def settle(self, client: ClientKey, file: str, etag: str, timeout: float) -> None:
        """Wait, at most ``timeout`` seconds, until no body of this download and no archive
        of this file to this client is still going out: a client that cancels and resumes on a new
        connection can finish the resumed body and send its receipt while the server is
        still learning how much of the first body was acknowledged, and its receipt was
        refused (issue 11, the ten-windows test); a cut archive's receipts came the same way."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                download = self._downloads.get((client, file, etag))
                left = deadline - time.monotonic()
                busy = any(file in files for files in self._archives.get(client, ())) or (
                    download is not None and not download.complete and download.bodies > 0)
                if not busy or left <= 0:
                    return
                self._ended.wait(left)

    def finish(self, client: ClientKey, file: str, etag: str, size: int, start: int,
               length: int, acked: int, *, whole: bool = False) -> Verdict:
        """A body of ``length`` bytes from ``start`` ended with ``acked`` of them
        acknowledged: a download (the whole file in one body, or the first time ranges
        cover it), a range (all acknowledged), or it stopped short (``covered`` so far).

        A ``whole`` body (the 200 answer that began a fresh download) is a download by
        itself, whatever else the book holds: clients that share an address and User-Agent
        (one lab, one browser build) each count. A range, even of the whole file, only
        adds to the download it belongs to (a second 'bytes=0-' is no second download). Once the
        download is whole, a body cut short is a range of what it delivered: the client
        did not fail to get the file."""
        acked = min(acked, length)
        with self._lock:
            download = self._get((client, file, etag), size)
            download.add(start, start + acked, self._max_ranges)
            covered = download.covered
            if whole and start == 0 and acked >= length >= size:
                download.complete = True
                return Verdict(TransferOutcome.DOWNLOADED, size, acked)
            if not download.complete and covered >= size:
                download.complete = True
                return Verdict(TransferOutcome.DOWNLOADED, covered, acked)
            if acked >= length or download.complete:
                return Verdict(TransferOutcome.PARTIAL, covered, acked)
            return Verdict(TransferOutcome.INTERRUPTED, covered, acked)

    def replay(self, records: Iterable[Mapping[str, Any]],
               offered: Mapping[tuple[str, str], int]) -> None:
        """Rebuild what clients had from Clients.jsonl records (oldest first), for the
        versions still ``offered`` ((file, etag) → size): a download cut by a clean stop
        continues after a restart. Folded lines say no ranges and are skipped; anything
        malformed is skipped (the ledger is read back, not trusted to be well formed)."""
        for record in records:
            try:
                self._replay_one(record, offered)
            except (TypeError, ValueError, KeyError):
                continue

    def _replay_one(self, record: Mapping[str, Any], offered: Mapping[tuple[str, str], int]
                    ) -> None:
        event, file, etag = record["event"], record["file"], record["etag"]
        size = offered.get((file, etag)) if isinstance(file, str) else None
        if size is None or record.get("repeats"):
            return
        address = (str(record["address"]), int(record["port"]))
        name = record.get("name")
        client = client_key(address, record.get("client_id"), record.get("user_agent"),
                            name=name if isinstance(name, str) else None)
        with self._lock:
            download = self._get((client, file, etag), size)
            if event in ("partial", "interrupted", "downloaded"):
                start, acked = int(record["start"]), int(record["acked"])
                if start >= 0 and 0 <= acked <= size - start:
                    download.add(start, start + acked, self._max_ranges)
                download.complete = download.complete or event == "downloaded"
            elif event in ("verified", "digest_mismatch"):
                download.receipted = True

    def covered_whole(self, client: ClientKey, file: str, etag: str) -> bool:
        """Whether ``client`` has acknowledged every byte of this version."""
        with self._lock:
            download = self._downloads.get((client, file, etag))
            return download is not None and download.complete

    def first_receipt(self, client: ClientKey, file: str, etag: str) -> bool:
        """Count a receipt for a download delivered whole: True the first time only, so a
        receipt sent again (its answer was lost) writes no second ledger line."""
        with self._lock:
            download = self._downloads.get((client, file, etag))
            if download is None or not download.complete or download.receipted:
                return False
            download.receipted = True
            return True
