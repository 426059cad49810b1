"""Adversarial review of many files at once (issue 12): archives, lists of receipts, a
selection declined. Each test shows one defect and fails until it is fixed (strict xfail).

Real sockets on 127.0.0.1 and real files in tmp_path, as the other tests do.
"""

from __future__ import annotations

import json
import socket
import tarfile
import threading
import time
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from hostile_server import HostileServer, Seen
from serverkit import serving, write_file

from core.client import FilecastClient
from core.server import archives
from core.server.floodgate import FLOOD_BUDGET
from core.wire.archive import ARCHIVE_PATH
from core.wire.protocol import RECEIPTS_PATH

JSON = {"Content-Type": "application/json"}


# --- 1. the flood gate: a list of receipts nobody was delivered ---------------------------

def test_a_list_of_refused_receipts_is_limited_like_single_ones(tmp_path: Path) -> None:
    served = write_file(tmp_path, "a.txt", b"hello")
    with serving(tmp_path, [served]) as running:
        entry = running.offer.state.files[0]
        receipt = {"file": "a.txt", "etag": entry.etag, "bytes": entry.size,
                   "sha256": entry.sha256}
        conn = running.connect()
        for _ in range(3):  # 300 receipts for a file this client was never sent
            body = json.dumps({"version": 1, "receipts": [receipt] * 100}).encode()
            conn.request("POST", RECEIPTS_PATH, body, JSON)
            answer = conn.getresponse()
            assert answer.status == 200
            assert set(json.loads(answer.read())["results"]) == {"not_delivered"}
        conn.close()
        time.sleep(0.2)
        refused = [r for r in running.ledger_records() if r["event"] == "receipt_refused"]
    # one by one, at most FLOOD_BUDGET a minute are written; the rest go to a summary line
    assert len(refused) <= FLOOD_BUDGET


# --- 2. an archive deletes another program's NAME.part ------------------------------------

def test_an_archive_never_deletes_another_programs_part(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    files = [write_file(share, "notes.txt", b"the notes"),
             write_file(share, "other.txt", b"the other")]
    got = tmp_path / "got"
    got.mkdir()
    foreign = got / "notes.txt.part"  # a browser's unfinished download, say (no metadata)
    foreign.write_bytes(b"half of a 4 GB download in another program")
    with serving(tmp_path, files) as running, \
            FilecastClient("127.0.0.1", running.port, client_id="review-part-01") as client:
        offer = client.connect()
        client.download_small(list(offer.files), got)
    # docs/PROTOCOL.md, Saving: a .part without our metadata is another program's and is
    # never listed, deleted or truncated
    assert foreign.read_bytes() == b"half of a 4 GB download in another program"


# --- 3. two offered names with one safe name: another file's bytes under a final name ------

def test_two_names_that_save_alike_each_keep_their_own_bytes(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    contents = {"a:b.txt": b"colon version\n", "a_b.txt": b"underscore version, longer\n"}
    files = [write_file(share, name, data) for name, data in contents.items()]
    got = tmp_path / "got"
    got.mkdir()
    with serving(tmp_path, files) as running, \
            FilecastClient("127.0.0.1", running.port, client_id="review-twin-01") as client:
        offer = client.connect()
        taken = client.download_small(list(offer.files), got)
        saved = dict(taken.saved)
        for info in taken.left:  # as `get --all` and the window go on with what is left
            saved[info.name] = client.download(info.name, got, info=info).path
    # one by one, the second is saved as 'a_b (1).txt'; never another file's bytes
    for name, path in saved.items():
        assert path.read_bytes() == contents[name], name
    assert set(saved) == set(contents), taken.failed
    assert sorted(p.name for p in got.iterdir()) == ["a_b (1).txt", "a_b.txt"]


# --- 4. a hostile server's endless archive header holds the client for ever ---------------

def _empty_pax_header() -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 0
    return info.tobuf(tarfile.USTAR_FORMAT)


class EndlessPax(HostileServer):
    """Answers an archive request with a huge Content-Length and empty pax headers, for ever
    (each one a full block the strict reader reads and then asks for the next)."""

    def _answer(self, sock: socket.socket, request: Seen) -> bool:
        if request.path != ARCHIVE_PATH:
            return super()._answer(sock, request)
        self._send(sock, "200 OK", [("Content-Type", "application/x-tar"),
                                    ("Content-Length", str(10**15))])
        blocks = _empty_pax_header() * 128
        while not self._stop.is_set():
            sock.sendall(blocks)
            self.body_bytes_sent += len(blocks)
        return False


def test_endless_empty_pax_headers_do_not_hold_the_client(tmp_path: Path) -> None:
    folder = tmp_path / "got"
    folder.mkdir()
    files = {"a.txt": b"first\n" * 10, "b.txt": b"second\n" * 10}
    outcome: list[object] = []
    with EndlessPax(files) as server:
        client = FilecastClient("127.0.0.1", server.port, timeout=2.0, retries=1,
                                backoff=0.01)

        def take() -> None:
            try:
                offer = client.connect()
                outcome.append(client.download_small(list(offer.files), folder))
            except Exception as exc:  # any end is an end
                outcome.append(exc)

        worker = threading.Thread(target=take, daemon=True)
        worker.start()
        worker.join(5.0)
        held = worker.is_alive()
        sent = server.body_bytes_sent
        client.cancel()  # let the thread go
    worker.join(5.0)
    client.close()
    assert not held, f"the client was still reading after {sent:,} bytes of empty headers"


# --- 5. HEAD /archive/ lays the whole offer out again each time ---------------------------

def test_asking_the_length_of_a_big_offer_again_is_cheap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Laying out 100,000 files took the server 4 s of CPU, each HEAD /archive/ again: a
    hostile loop of them could pin it. An unchanged offer is laid out once."""
    root = tmp_path / "share" / "Week"
    for folder in range(4):
        (root / f"d{folder:02d}").mkdir(parents=True)
        for n in range(50):
            (root / f"d{folder:02d}" / f"sheet number {n:04d}.txt").write_bytes(b"")
    laid_out: list[int] = []
    real_layout = archives.layout
    monkeypatch.setattr(archives, "layout",
                        lambda entries: laid_out.append(len(entries)) or real_layout(entries))
    with serving(tmp_path, [root], wait_hashed=False) as running:
        assert len(running.offer.state.files) == 200
        conn = running.connect(timeout=30)
        for target in ("/archive/", "/archive/", "/archive/Week/d01/", "/archive/Week/d01/"):
            conn.request("HEAD", target)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
        conn.close()
    assert laid_out == [200, 50]  # once for the offer, once for the folder


# --- 6. a folder named in another Unicode form ---------------------------------------------

def test_an_archive_folder_is_found_in_either_unicode_form(tmp_path: Path) -> None:
    folder = tmp_path / "share" / "Übung"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a")
    (folder / "b.txt").write_bytes(b"b")
    with serving(tmp_path, [folder]) as running:
        conn = running.connect()
        statuses = {}
        for form in ("NFC", "NFD"):
            name = unicodedata.normalize(form, "Übung")
            conn.request("HEAD", f"/files/{quote(name)}/a.txt")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200  # a file is found in either form
            conn.request("HEAD", f"/archive/{quote(name)}/")
            answer = conn.getresponse()
            answer.read()
            statuses[form] = answer.status
        conn.close()
    assert statuses == {"NFC": 200, "NFD": 200}
