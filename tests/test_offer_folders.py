"""Offering a folder (issue 12): every file under it under its relative name, what is left
out said in a sentence, and nothing but those files reachable over HTTP, whatever a client
puts in the address (tests/hostile_names.py).
"""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hostile_names import HOSTILE_RELATIVE
from serverkit import (
    ROOT,
    Recorder,
    ServeProcess,
    download,
    exchange,
    serving,
    wait_until,
)

from core.client.visit import FilecastClient
from core.errors import ServeError
from core.events import HashProgress, OfferChanged
from core.server.folders import walk_folder
from core.server.offer import OfferTable
from core.wire.protocol import file_path


@pytest.fixture
def week(tmp_path: Path) -> Path:
    """Week 12/ with nested files, a hidden one, links in and out, and a FIFO."""
    root = tmp_path / "share" / "Week 12"
    (root / "answers").mkdir(parents=True)
    (root / "worksheet 1.pdf").write_bytes(b"one" * 100)
    (root / "answers" / "key.txt").write_bytes(b"key")
    (root / ".DS_Store").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"GIT-CONFIG-CONTENT")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not for clients")
    (root / "escape.txt").symlink_to(outside)
    (root / "loop").symlink_to(root)
    (root / "same.txt").symlink_to(root / "answers" / "key.txt")
    os.mkfifo(root / "pipe")
    return root


def test_a_folder_is_offered_by_relative_names_and_says_what_it_left_out(week: Path) -> None:
    found, left, _empty = walk_folder(str(week))
    assert [name for name, _real in found] == [
        "Week 12/answers/key.txt", "Week 12/same.txt", "Week 12/worksheet 1.pdf"]
    assert left.sentence("Week 12") == (
        "Left out of 'Week 12': 2 hidden files or folders, 2 links leading out of it or to"
        " folders, 1 pipe, device or socket.")
    table = OfferTable([week], server_name="test")
    try:
        assert [f.name for f in table.state.files] == [name for name, _ in found]
        assert table.state.left_out == (left.sentence("Week 12"),)
    finally:
        table.close()


def test_curl_gets_a_nested_file_and_nothing_else(tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running:
        url = f"http://127.0.0.1:{running.port}{file_path('Week 12/answers/key.txt')}"
        assert url.endswith("/files/Week%2012/answers/key.txt")
        got = subprocess.run(["curl", "-sf", url], capture_output=True, timeout=10)
        assert got.returncode == 0 and got.stdout == b"key"
        for name in [*HOSTILE_RELATIVE, "Week 12/.git/config", "Week 12/escape.txt",
                     "Week 12/../secret.txt", "Week 12/answers/../../secret.txt"]:
            target = "/files/" + quote(name.encode("utf-8", "surrogatepass"), safe="/")
            reply = exchange(running.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Connection: close\r\n\r\n".encode())
            assert reply.status in (400, 404), (name, reply.status)
            assert b"not for clients" not in reply.body
            assert b"GIT-CONFIG-CONTENT" not in reply.body


def test_serve_a_folder_on_the_terminal(tmp_path: Path, week: Path) -> None:
    served = ServeProcess(tmp_path, [str(week)], offered=["Week 12/worksheet 1.pdf"])
    try:
        served.wait_for(r"Left out of 'Week 12': 2 hidden files or folders")
    finally:
        served.close()


def test_a_file_from_a_folder_is_saved_in_the_same_folders(tmp_path: Path, week: Path) -> None:
    """`get HOST "Week 12/answers/key.txt" --output DIR`: the original dialogue for one
    name, saved as DIR/Week 12/answers/key.txt (DIR made when missing), verified."""
    out = tmp_path / "not yet made"
    with serving(tmp_path, [week]) as running:
        done = subprocess.run(
            [sys.executable, "-m", "core", "get", f"127.0.0.1:{running.port}",
             "Week 12/answers/key.txt", "--yes", "--output", str(out)],
            capture_output=True, text=True, timeout=30, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "FILECAST_CONFIG_DIR": str(tmp_path)})
        assert done.returncode == 0, done.stdout + done.stderr
        assert (out / "Week 12" / "answers" / "key.txt").read_bytes() == b"key"
        assert running.wait_lines("downloaded and verified the file 'Week 12/answers/key.txt'")


def test_a_link_planted_as_a_subfolder_is_not_followed(tmp_path: Path, week: Path) -> None:
    out = tmp_path / "downloads"
    (out / "Week 12").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "Week 12" / "answers").symlink_to(elsewhere)
    with serving(tmp_path, [week]) as running, \
            FilecastClient("127.0.0.1", running.port) as client:
        saved = client.download("Week 12/answers/key.txt", out).path
    assert saved == out.resolve() / "Week 12" / "answers (1)" / "key.txt"  # beside it
    assert list(elsewhere.iterdir()) == []


def test_a_folder_of_1000_files_is_hashed_in_batches(tmp_path: Path) -> None:
    """Once: one file a pass, each digest re-sending the whole offer (1,000 small files:
    86 s and a million file views). Now digests go out a batch at a time."""
    root = tmp_path / "Data"
    for folder in range(10):
        (root / f"d{folder}").mkdir(parents=True)
        for n in range(100):
            (root / f"d{folder}" / f"f{n}.bin").write_bytes(os.urandom(1024))
    heard = Recorder()
    table = OfferTable([root], listener=heard, server_name="test")
    try:
        table.start()
        wait_until(lambda: all(f.sha256 for f in table.state.files), 60.0, "every digest")
    finally:
        table.close()
    changes = heard.of(OfferChanged)
    assert len(table.state.files) == 1000
    assert len(changes) < 100, f"{len(changes)} OfferChanged for 1,000 digests"


def test_files_and_folders_are_added_and_removed_while_serving(tmp_path: Path,
                                                              week: Path) -> None:
    """Clients see the change at once; a download under way finishes on the file it
    opened, and the next asks get 404: nobody gets a mix of versions."""
    extra = tmp_path / "notes.txt"
    extra.write_bytes(b"notes")
    with serving(tmp_path, [extra]) as running:
        offer = running.offer
        assert offer.add([week]) == ["Week 12/answers/key.txt", "Week 12/same.txt",
                                     "Week 12/worksheet 1.pdf"]
        assert offer.state.files[0].name == "notes.txt"
        assert download(running, "Week 12/answers/key.txt")[0] == 200
        with pytest.raises(ServeError):  # the same name twice: said, nothing changes
            offer.add([extra])
        assert len(offer.state.files) == 4
        assert offer.remove(["Week 12/answers/"]) == 1
        assert offer.remove(["notes.txt"]) == 1
        assert [f.name for f in offer.state.files] == ["Week 12/same.txt",
                                                       "Week 12/worksheet 1.pdf"]
        assert download(running, "Week 12/answers/key.txt")[0] == 404
        assert download(running, "notes.txt")[0] == 404


def test_a_saved_file_keeps_the_servers_modification_time(tmp_path: Path, week: Path) -> None:
    """As tar and wget keep them (issue 12): a worksheet from last week says so."""
    source = week / "worksheet 1.pdf"
    os.utime(source, (1_700_000_000, 1_700_000_000))
    (tmp_path / "out").mkdir()
    with serving(tmp_path, [week]) as running, \
            FilecastClient("127.0.0.1", running.port) as client:
        saved = client.download("Week 12/worksheet 1.pdf", tmp_path / "out").path
    assert saved.stat().st_mtime == 1_700_000_000


def test_the_file_a_client_asks_for_is_hashed_first(tmp_path: Path) -> None:
    """A client can start while a folder is hashed: what it asks for goes first."""
    root = tmp_path / "Data"
    root.mkdir()
    for n in range(50):
        (root / f"{n:02d}.bin").write_bytes(os.urandom(64 * 1024))
    heard = Recorder()
    table = OfferTable([root], listener=heard, server_name="test")
    try:
        table.want("Data/49.bin")  # asked for before the watcher began
        table.start()
        wait_until(lambda: all(f.sha256 for f in table.state.files), 60.0, "every digest")
    finally:
        table.close()
    order = list(dict.fromkeys(event.file for event in heard.of(HashProgress)))
    assert order[0] == "Data/49.bin"
    assert order[1:] == [f"Data/{n:02d}.bin" for n in range(49)]  # then in order, once each


def test_a_large_offer_is_announced_in_one_line_once_hashed() -> None:
    """A folder of 1,000 files once printed 1,000 'Offering ...' lines on the terminal."""
    from core.activity import MAX_ANNOUNCED, ServerPrinter
    from core.events import OfferedFileView
    printer = ServerPrinter(out=io.StringIO())
    views = [OfferedFileView(f"Data/{n}.bin", f"/x/{n}", 1000, None, f'"{n}"', 0.0)
             for n in range(MAX_ANNOUNCED + 5)]
    assert printer.line_for(OfferChanged(tuple(views))) is None  # still hashing
    hashed = tuple(dataclasses.replace(v, sha256="a" * 64) for v in views)
    assert printer.line_for(OfferChanged(hashed)) == (
        "Offering 25 files (25.0 KB); every SHA-256 is computed (each is in the offer,"
        " GET /api/v1/offer)")
    assert printer.line_for(OfferChanged(hashed)) is None  # once
    few = printer.line_for(OfferChanged(hashed[:2]))
    assert few is not None and few.count("Offering 'Data/") == 2


def test_a_browser_is_told_the_files_own_name_not_its_folders(tmp_path: Path,
                                                              week: Path) -> None:
    """RFC 6266 §4.3: a recipient drops any path from the file name; say only the last part,
    so a browser or curl -OJ saves key.txt, not 'Week 12_answers_key.txt' or nothing."""
    with serving(tmp_path, [week]) as running:
        _status, headers, body = download(running, "Week 12/answers/key.txt")
    assert body == b"key"
    assert headers["content-disposition"] == (
        "attachment; filename=\"key.txt\"; filename*=UTF-8''key.txt")


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_left_out_and_said(tmp_path: Path) -> None:
    """A folder unpacked from an old zip holds a Latin-1 name (b'caf\\xe9.txt'): no client
    can name it (names travel as UTF-8), and offering it broke the greeting for every client
    (the adversarial pass of issue 13). It is left out, and the offer says so."""
    folder = tmp_path / "Week 12"
    folder.mkdir()
    (folder / "answers.txt").write_bytes(b"42\n")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as odd:
        odd.write(b"latin-1 name\n")
    with serving(tmp_path, [folder]) as running, \
            FilecastClient("127.0.0.1", running.port) as client:
        offer = client.connect()
        assert [f.name for f in offer.files] == ["Week 12/answers.txt"]
        notes = running.offer.state.left_out
    assert any("not UTF-8" in note for note in notes), notes


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_a_single_file_whose_name_is_not_utf8_is_refused_with_a_sentence(tmp_path: Path) -> None:
    odd = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(odd, "wb") as handle:
        handle.write(b"latin-1 name\n")
    with pytest.raises(ServeError, match=r"not in UTF-8\. Rename it"):
        OfferTable([os.fsdecode(odd)])
