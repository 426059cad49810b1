"""Many small files in one response (issue 12, docs/PROTOCOL.md "Many files at once"),
end to end: a real server, the Filecast client, curl and tar, a proxy that cuts.

What a person notices: the same tree arrives, every file verified and with the server's
modification time; the ledger says each file was downloaded and verified; a cut keeps
what arrived and the rest still comes; a file that changed is asked about again, never
saved as a mix; curl and tar read the same stream.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from serverkit import Running, serving
from test_cli_many import same_tree

from core.client import FilecastClient
from core.client.archive_fetch import SMALL_FILE_BYTES
from core.errors import OfferChangedError
from core.events import DownloadProgress, Event
from core.wire.archive import ARCHIVE_PATH
from core.wire.protocol import RECEIPTS_PATH

MTIME = 1_700_000_000


@pytest.fixture
def week(tmp_path: Path) -> Path:
    root = tmp_path / "share" / "Week 12"
    for folder in ("a", "a/deeper", "b", "ü ñ"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for n in range(20):
            path = root / folder / f"sheet {n:02d}.txt"
            path.write_bytes(os.urandom(3000 + 37 * n))
            os.utime(path, (MTIME + n, MTIME + n))
    (root / "big.bin").write_bytes(os.urandom(SMALL_FILE_BYTES + 1))  # one by one
    return root


class Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.seen.append(event)


def take_all(running: Running, folder: Path, port: int | None = None) -> tuple[int, set[str]]:
    """What `get --all` does, through the library: the small files at once, the rest after."""
    folder.mkdir(exist_ok=True)
    with FilecastClient("127.0.0.1", port or running.port, client_id="archive-test-0001",
                        name="Ana", retries=3, backoff=0.05) as client:
        offer = client.connect()
        small = [f for f in offer.files if f.size <= SMALL_FILE_BYTES]
        taken = client.download_small(small, folder)
        for info in taken.left + [f for f in offer.files if f not in small]:
            client.download(info.name, folder, info=info)
        return len(taken.saved) + len(taken.left), set(taken.failed)


def events(running: Running, kind: str) -> list[str]:
    return [r["file"] for r in running.ledger_records() if r["event"] == kind]


def test_all_of_a_folder_arrives_verified_with_its_times_and_is_on_record(
        tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running:
        count, failed = take_all(running, tmp_path / "got")
        assert (count, failed) == (80, set())
        running.wait_lines("downloaded and verified", 81)
    got = tmp_path / "got" / "Week 12"
    assert same_tree(week, got)
    assert os.stat(got / "a" / "sheet 07.txt").st_mtime == MTIME + 7
    assert not list(got.rglob("*.part")) and not list(got.rglob(".*"))
    names = {str(p.relative_to(week.parent)) for p in week.rglob("*") if p.is_file()}
    assert set(events(running, "downloaded")) == names  # one line per file
    assert sorted(events(running, "verified")) == sorted(names)


def test_curl_and_tar_read_the_archive_of_a_folder(tmp_path: Path, week: Path) -> None:
    if shutil.which("curl") is None or shutil.which("tar") is None:
        pytest.skip("needs curl and tar")
    out = tmp_path / "out"
    out.mkdir()
    with serving(tmp_path, [week]) as running:
        url = f"http://127.0.0.1:{running.port}/archive/Week%2012/a/"
        curl = subprocess.Popen(["curl", "-sSf", url], stdout=subprocess.PIPE)
        subprocess.run(["tar", "x"], stdin=curl.stdout, cwd=out, check=True, timeout=60)
        assert curl.wait(60) == 0
        running.wait_lines("downloaded the file", 40)
    assert same_tree(week / "a", out / "Week 12" / "a")
    assert len(events(running, "downloaded")) == 40 and not events(running, "verified")
    (summary,) = running.wait_lines("in one archive")
    assert summary.endswith("downloaded 40 of 40 files (134.1 KB) of 'Week 12/a/' in one"
                            " archive")


def test_a_cut_archive_keeps_what_arrived_and_the_rest_comes_one_by_one(
        tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running, FaultProxy(running.port) as proxy:
        proxy.knobs.cuts = [120_000]  # the archive's connection drops a third of the way
        count, failed = take_all(running, tmp_path / "got", port=proxy.port)
        assert (count, failed) == (80, set())
        running.wait_lines("downloaded and verified", 81)
    assert same_tree(week, tmp_path / "got" / "Week 12")
    # Every file is on record as downloaded and verified, once each. (Through a proxy the
    # server sees the proxy's acknowledgements, so files the proxy took but never passed
    # on are "downloaded" twice: once to the proxy, once when the client took them again.)
    assert len(set(events(running, "downloaded"))) == 81
    verified = events(running, "verified")
    assert len(verified) == len(set(verified)) == 81


def test_a_file_changed_after_the_offer_is_asked_about_again_and_the_rest_saved(
        tmp_path: Path, week: Path) -> None:
    """Consent is for the version shown: the changed file is never saved from the archive
    (the server cuts the stream at it, or refuses the selection once it noticed); taken
    one by one it says it changed; every other file arrives."""
    changed_name = "Week 12/b/sheet 03.txt"
    with serving(tmp_path, [week]) as running, \
            FilecastClient("127.0.0.1", running.port, retries=1, backoff=0.05) as client:
        offer = client.connect()
        (week / "b" / "sheet 03.txt").write_bytes(b"a new version")
        small = [f for f in offer.files if f.size <= SMALL_FILE_BYTES]
        taken = client.download_small(small, tmp_path)
        assert changed_name in [i.name for i in taken.left]
        sentences = []
        for info in taken.left:
            try:
                client.download(info.name, tmp_path, info=info)
            except OfferChangedError as error:
                sentences.append(str(error))
    assert len(sentences) == 1 and "changed on the server since you said yes" in sentences[0]
    assert not (tmp_path / "Week 12" / "b" / "sheet 03.txt").exists()
    saved = {str(p.relative_to(tmp_path)) for p in (tmp_path / "Week 12").rglob("*")
             if p.is_file()}
    assert saved == {i.name for i in small} - {changed_name}


def test_a_file_changed_while_the_archive_is_sent_cuts_it_before_a_mix(
        tmp_path: Path, week: Path) -> None:
    """The server checks each member unchanged before its last byte: the stream is cut
    there, so the client never saves a mix of two versions."""
    with serving(tmp_path, [week]) as running:
        entries = [running.offer.state.find(f"Week 12/a/sheet {n:02d}.txt") for n in range(3)]
        assert all(entries)
        (week / "a" / "sheet 01.txt").write_bytes(b"x" * 3037)  # same size, new bytes
        os.utime(week / "a" / "sheet 01.txt", (MTIME, MTIME + 99))
        body = json.dumps({"version": 1, "files": [
            {"file": e.name, "etag": e.etag} for e in entries if e]}).encode()
        conn = running.connect(timeout=30.0)
        conn.request("POST", ARCHIVE_PATH, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        data = b""
        with pytest.raises(Exception):  # noqa: B017 - cut: IncompleteRead or a reset
            data = response.read()
        conn.close()
        running.wait_lines("downloaded the file", 1)
    assert events(running, "downloaded") == ["Week 12/a/sheet 00.txt"]
    assert b"x" * 3037 not in data


def test_a_receipt_list_counts_only_what_this_client_was_delivered(
        tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running:
        entries = [running.offer.state.find(f"Week 12/b/sheet {n:02d}.txt") for n in range(2)]
        receipts = [{"file": e.name, "etag": e.etag, "bytes": e.size, "sha256": e.sha256}
                    for e in entries if e]
        receipts.append({"file": "nope.txt", "etag": '"1"', "bytes": 1, "sha256": "0" * 64})
        conn = running.connect(timeout=30.0)
        conn.request("POST", RECEIPTS_PATH, json.dumps({"version": 1, "receipts": receipts}),
                     {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
        running.wait_lines("receipt", 2)
    assert answer["results"] == ["not_delivered", "not_delivered", "not_offered"]
    assert not events(running, "verified")


def test_the_archive_says_how_far_it_got(tmp_path: Path, week: Path) -> None:
    seen = Events()
    with serving(tmp_path, [week]) as running, \
            FilecastClient("127.0.0.1", running.port, listener=seen) as client:
        small = [f for f in client.connect().files if f.size <= SMALL_FILE_BYTES]
        client.download_small(small, tmp_path)
    progress = [e for e in seen.seen if isinstance(e, DownloadProgress)]
    total = sum(f.size for f in small)
    assert progress and progress[-1].received == progress[-1].size == total
    assert (progress[-1].files_done, progress[-1].files) == (len(small), len(small))


def test_tarfile_reads_a_whole_offer_as_offered(tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running:
        conn = running.connect(timeout=30.0)
        conn.request("GET", "/archive/")
        response = conn.getresponse()
        disposition = response.getheader("Content-Disposition") or ""
        data = response.read()
        conn.close()
    assert 'filename="Filecast files.tar"' in disposition
    with tarfile.open(fileobj=__import__("io").BytesIO(data)) as tar:
        got = {m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest()  # type: ignore[union-attr]
               for m in tar.getmembers()}
    assert got == {str(p.relative_to(week.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in week.rglob("*") if p.is_file()}


def test_the_page_offers_download_all_and_each_folder_as_one_archive(
        tmp_path: Path, week: Path) -> None:
    other = tmp_path / "loose.txt"
    other.write_bytes(b"loose")
    with serving(tmp_path, [week, other]) as running:
        conn = running.connect(timeout=30.0)
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        conn.request("HEAD", "/archive/Week%2012/")
        head = conn.getresponse()
        head.read()
        conn.close()
    assert '<a href="/archive/" download>Download all (82 files,' in page
    assert '<a href="/archive/Week%2012/" download>Week 12/ (81 files) as one .tar</a>' in page
    assert head.status == 200 and head.getheader("Content-Type") == "application/x-tar"
    assert 'filename="Week 12.tar"' in (head.getheader("Content-Disposition") or "")


def test_a_name_already_there_is_never_overwritten_and_the_new_name_is_said(
        tmp_path: Path, week: Path) -> None:
    got = tmp_path / "got"
    (got / "Week 12" / "a").mkdir(parents=True)
    mine = got / "Week 12" / "a" / "sheet 00.txt"
    mine.write_bytes(b"my own notes")
    with serving(tmp_path, [week]) as running, FilecastClient("127.0.0.1", running.port) as client:
        small = [f for f in client.connect().files if f.size <= SMALL_FILE_BYTES]
        taken = client.download_small(small, got)
    assert mine.read_bytes() == b"my own notes"
    assert taken.renamed == {"Week 12/a/sheet 00.txt": "sheet 00 (1).txt"}
    assert (got / "Week 12" / "a" / "sheet 00 (1).txt").read_bytes() == \
        (week / "a" / "sheet 00.txt").read_bytes()
    assert len(taken.saved) == 80


def test_a_crash_mid_archive_leaves_nothing_that_stops_the_next_try(
        tmp_path: Path, week: Path) -> None:
    """A file of an archive is written as a hidden '.NAME.partial', not NAME.part: a crash
    once left NAME.part without metadata, and the next try stopped at it ("belongs to
    another program"). What a crash leaves, or a user's own file of that name, is never
    deleted: that file is taken one by one."""
    got = tmp_path / "got"
    (got / "Week 12" / "b").mkdir(parents=True)
    crash = got / "Week 12" / "b" / ".sheet 01.txt.partial"
    crash.write_bytes(b"half of it")
    with serving(tmp_path, [week]) as running, FilecastClient("127.0.0.1", running.port) as client:
        offered = client.connect().files
        small = [f for f in offered if f.size <= SMALL_FILE_BYTES]
        taken = client.download_small(small, got)
        assert [i.name for i in taken.left] == ["Week 12/b/sheet 01.txt"]
        for info in taken.left + [f for f in offered if f not in small]:
            client.download(info.name, got, info=info)
    assert crash.read_bytes() == b"half of it"
    assert same_tree(week, got / "Week 12") is False  # the hidden leftover is still there
    crash.unlink()
    assert same_tree(week, got / "Week 12")
    assert not list(got.rglob("*.part")) and not list(got.rglob("*.partial"))


def test_one_folder_offered_has_one_download_all_link(tmp_path: Path, week: Path) -> None:
    with serving(tmp_path, [week]) as running:
        conn = running.connect(timeout=30.0)
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        conn.close()
    assert page.count(".tar</a>") == 1 and "Download all (81 files," in page


def test_a_selection_taken_in_several_archives_has_one_summary_line(
        tmp_path: Path, week: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: "one summary line when a client takes a selection". 10,000 files went as
    eleven requests of ~900 and left eleven summary lines; here requests of a few files
    each stand for them."""
    import core.client.archive_fetch as archive_fetch

    monkeypatch.setattr(archive_fetch, "MAX_ARCHIVE_REQUEST_BYTES", 700)  # ~8 files each
    with serving(tmp_path, [week]) as running:
        count, failed = take_all(running, tmp_path / "got")
        assert (count, failed) == (80, set())
        running.wait_lines("downloaded and verified", 81)
    posted = [r for r in running.ledger_records() if r["event"] == "took_archive"]
    assert len(posted) == 1, [r["text"] for r in posted]
    assert posted[0]["text"].endswith("downloaded 80 of 80 files (268.1 KB) of 'Week 12/'"
                                      " in one archive")
