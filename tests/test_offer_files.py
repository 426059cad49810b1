"""Issue 9, items 6 and 8: what is offered is the file the person chose, found by its name.

- Symlinks: an offered symlink re-pointed to /etc/passwd while serving was served 0.2 s
  later; re-pointed to a FIFO, the offer watcher and a worker blocked in open() for good.
  What is offered is resolved once; only regular files are ever opened, never blocking.
- Names: a file named in NFD on disk, asked for in NFC, was "File does not exist!".
"""

from __future__ import annotations

import json
import os
import threading
import time
import unicodedata
from pathlib import Path

import pytest
from serverkit import Running, download, serving, wait_until, write_file

from core.errors import ServeError
from core.server.offer import OfferTable
from core.wire.protocol import file_path

DATA = b"the chosen file's bytes\n"
SECRET = b"root:x:0:0:a secret outside the offer\n"


def _get(running: Running, name: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = running.connect(timeout=timeout)
    try:
        conn.request("GET", file_path(name))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_an_offered_symlink_is_resolved_once(tmp_path: Path) -> None:
    real = write_file(tmp_path, "real.txt", DATA)
    secret = write_file(tmp_path, "secret.txt", SECRET)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with serving(tmp_path, [link]) as running:
        link.unlink()
        link.symlink_to(secret)  # re-pointed while serving
        time.sleep(1.5)  # past a watcher pass
        status, body = _get(running, "link.txt")
    assert (status, body) == (200, DATA)


def test_a_symlink_repointed_to_a_fifo_blocks_nothing(tmp_path: Path) -> None:
    real = write_file(tmp_path, "real.txt", DATA)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with serving(tmp_path, [link]) as running:
        link.unlink()
        link.symlink_to(fifo)
        time.sleep(1.5)
        assert _get(running, "link.txt", timeout=5) == (200, DATA)
        real.write_bytes(DATA + b"edited\n")  # the watcher still notices and re-hashes
        wait_until(lambda: running.offer.state.files[0].size == len(DATA) + 7, 5,
                   "the edit to be seen")
        running.wait_hashed(5)


def test_a_fifo_in_place_of_the_file_is_refused_without_blocking(tmp_path: Path) -> None:
    real = write_file(tmp_path, "real.txt", DATA)
    with serving(tmp_path, [real]) as running:
        real.unlink()
        os.mkfifo(real)
        time.sleep(1.5)  # a watcher pass; it must not block in open()
        began = time.monotonic()
        status, _ = _get(running, "real.txt", timeout=10)
        assert status == 503
        assert time.monotonic() - began < 3
        real.unlink()
        real.write_bytes(DATA)  # put back: offered again, with its digest
        wait_until(lambda: running.offer.state.files[0].sha256 is not None
                   and running.offer.state.files[0].size == len(DATA), 10,
                   "the restored file to be hashed")
        assert _get(running, "real.txt") == (200, DATA)
        assert not [t for t in threading.enumerate() if t.name == "filecast-offer"
                    and not t.is_alive()]


def test_a_symlink_in_place_of_the_file_is_never_followed(tmp_path: Path) -> None:
    real = write_file(tmp_path, "real.txt", DATA)
    secret = write_file(tmp_path, "secret.txt", SECRET)
    with serving(tmp_path, [real]) as running:
        real.unlink()
        real.symlink_to(secret)
        time.sleep(1.5)
        status, body = _get(running, "real.txt")
    assert SECRET not in body
    assert status == 503


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_can_be_offered(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/null")
    else:  # an empty one (a folder with files is offered: issue 12)
        path = tmp_path / "empty"
        path.mkdir()
    began = time.monotonic()
    with pytest.raises(ServeError) as caught:
        OfferTable([path])
    assert time.monotonic() - began < 2
    assert "Cannot offer" in str(caught.value)


# --- names ------------------------------------------------------------------------------

NFD = unicodedata.normalize("NFD", "Résumé.pdf")
NFC = unicodedata.normalize("NFC", "Résumé.pdf")


def test_a_name_is_found_whatever_its_unicode_form(tmp_path: Path) -> None:
    assert NFD != NFC
    path = write_file(tmp_path, NFD, DATA)
    with serving(tmp_path, [path]) as running:
        status, _, body = download(running, NFC)
        assert (status, body) == (200, DATA)
        line = running.wait_lines("downloaded the file")[0]
        record = next(r for r in running.ledger_records() if r["event"] == "downloaded")
    assert record["file"] == NFD, "the ledger names the offered file as it is offered"
    assert "Re\\u0301sume\\u0301.pdf" in line or NFD in line


def test_a_decline_in_the_other_form_is_recorded(tmp_path: Path) -> None:
    path = write_file(tmp_path, NFD, DATA)
    with serving(tmp_path, [path]) as running:
        conn = running.connect()
        body = json.dumps({"version": 1, "file": NFC, "decision": "declined"}).encode()
        conn.request("POST", "/api/v1/decisions", body=body,
                     headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
        running.wait_lines("did not download the file")


def test_two_names_that_differ_only_in_form_are_refused_and_shown(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_file(tmp_path / "a", NFC, DATA)
    second = write_file(tmp_path / "b", NFD, DATA)
    with pytest.raises(ServeError) as caught:
        OfferTable([first, second])
    message = str(caught.value)
    assert "NFC" in message and "NFD" in message, message


def test_a_folder_swapped_for_a_link_changes_nothing(tmp_path: Path) -> None:
    """Adversarial pass: replacing a parent folder of the offered file with a symlink to
    another folder served the other folder's file of the same name."""
    share, private = tmp_path / "share", tmp_path / "private"
    share.mkdir()
    private.mkdir()
    offered = write_file(share, "notes.txt", DATA)
    write_file(private, "notes.txt", SECRET)
    with serving(tmp_path, [offered]) as running:
        share.rename(tmp_path / "share-old")
        share.symlink_to(private)
        time.sleep(1.5)  # a watcher pass
        status, body = _get(running, "notes.txt")
    assert SECRET not in body
    assert (status, body) == (200, DATA)


def test_an_editor_saving_by_rename_is_still_seen(tmp_path: Path) -> None:
    offered = write_file(tmp_path, "notes.txt", DATA)
    with serving(tmp_path, [offered]) as running:
        write_file(tmp_path, "notes.txt.tmp", DATA + b"v2\n").rename(offered)
        wait_until(lambda: running.offer.state.files[0].size == len(DATA) + 3, 5,
                   "the new version to be seen")
        running.wait_hashed(5)
        assert _get(running, "notes.txt") == (200, DATA + b"v2\n")


def test_the_watcher_of_a_big_offer_looks_less_often(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-stating 10,000 files every second took 11% of a core and slowed the transfers
    it watched (issue 12): a look that takes long is followed by a longer rest."""
    import core.server.offer as offer_module

    table = OfferTable([str(write_file(tmp_path, "a.txt", b"a"))])
    looks: list[float] = []

    def slow_look() -> float:
        looks.append(time.monotonic())
        return 0.1  # as if re-stating every file took 0.1 s

    monkeypatch.setattr(offer_module, "WATCH_SHARE", 0.05)  # so: 2 s of rest after it
    monkeypatch.setattr(table, "_pass", slow_look)
    table.start()
    try:
        time.sleep(1.6)
    finally:
        table.close()
    assert len(looks) == 1, looks  # one look a second would have made two
