"""curl as an outside client of a real FilecastServer: plain HTTP/1.1 is the whole contract."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import Running, serving, sha256, write_file

from core.wire.protocol import parse_repr_digest

pytestmark = [
    pytest.mark.curl,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

DATA = os.urandom(256 * 1024 + 3)
NAME = "test.bin"
UNICODE_NAME = "résumé final.txt"
UNICODE_DATA = "Curriculum vitæ\n".encode() * 1000


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    folder = tmp_path / "offered"
    folder.mkdir()
    files = [write_file(folder, NAME, DATA), write_file(folder, UNICODE_NAME, UNICODE_DATA)]
    with serving(tmp_path, files) as server:
        yield server


def curl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run curl quietly (errors still shown), with a time limit."""
    return subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True,
                          cwd=cwd, timeout=60, check=False)


def test_head(running: Running) -> None:
    result = curl("-I", running.url(NAME))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
               if k}
    assert headers["content-length"] == str(len(DATA))
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')
    assert headers["accept-ranges"] == "bytes"
    assert parse_repr_digest(headers["repr-digest"]) == sha256(DATA)
    assert running.lines_with("downloaded") == []  # a HEAD is no download


def test_download_saves_exact_bytes(running: Running, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = curl("-O", "--output-dir", str(out), running.url(NAME))
    assert result.returncode == 0, result.stderr
    assert (out / NAME).read_bytes() == DATA
    running.wait_lines(f"downloaded the file '{NAME}'")


def test_remote_header_name(running: Running, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = curl("-O", "-J", running.url(UNICODE_NAME), cwd=out)
    assert result.returncode == 0, result.stderr
    (saved,) = out.iterdir()
    assert saved.read_bytes() == UNICODE_DATA
    # curl's -J reads only the plain filename= parameter (not RFC 5987 filename*=), so it
    # saves under the server's closest-ASCII fallback; Filecast's own client uses the offer.
    assert saved.name in (UNICODE_NAME, "resume final.txt")
    running.wait_lines(f"downloaded the file '{UNICODE_NAME}'")


def test_resume_with_continue_at(running: Running, tmp_path: Path) -> None:
    """A resume of bytes this server never sent is a range, not a download (issue 9)."""
    half = len(DATA) // 2
    target = tmp_path / "partial.bin"
    target.write_bytes(DATA[:half])
    result = curl("-C", "-", "-o", str(target), running.url(NAME))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == DATA
    running.wait_lines(f"downloaded bytes {half}-{len(DATA) - 1} of the file '{NAME}'")
    (record,) = running.ledger_records()
    assert (record["event"], record["start"], record["bytes"], record["size"]) == (
        "partial", half, len(DATA) - half, len(DATA))


def test_resume_of_a_download_from_this_server_completes_it(running: Running,
                                                            tmp_path: Path) -> None:
    half = len(DATA) // 2
    target = tmp_path / "partial.bin"
    first = curl("-r", f"0-{half - 1}", "-o", str(target), running.url(NAME))
    assert first.returncode == 0, first.stderr
    rest = curl("-C", "-", "-o", str(target), running.url(NAME))
    assert rest.returncode == 0, rest.stderr
    assert target.read_bytes() == DATA
    running.wait_lines(f"downloaded the file '{NAME}'")
    assert [r["event"] for r in running.ledger_records()] == ["partial", "downloaded"]


def test_range(running: Running) -> None:
    result = curl("-r", "0-99", "-o", "-", running.url(NAME))
    assert result.returncode == 0, result.stderr
    assert result.stdout == DATA[:100]
    running.wait_lines(f"downloaded bytes 0-99 of the file '{NAME}'")


def test_missing_file_fails(running: Running, tmp_path: Path) -> None:
    result = curl("-f", "-o", str(tmp_path / "nothing"), running.url("missing.txt"))
    assert result.returncode == 22
    assert b"404" in result.stderr
    assert not (tmp_path / "nothing").exists()
    running.wait_lines("asked for 'missing.txt', which does not exist")


def test_curl_time_condition_gets_304_for_a_file_it_already_has(running: Running,
                                                                 tmp_path: Path) -> None:
    """``curl -z FILE`` (If-Modified-Since from the saved copy's time) once fetched the
    whole body again (issue 13): an unchanged file is a 304 and no download in the
    ledger; the saved copy stays as it was."""
    out = tmp_path / "out"
    out.mkdir()
    os.utime(running.files[NAME], (1_700_000_000, 1_700_000_000))  # not saved this second
    running.offer.refresh(NAME)
    assert curl("-R", "-O", "--output-dir", str(out), running.url(NAME)).returncode == 0
    running.wait_lines(f"downloaded the file '{NAME}'")
    saved = out / NAME
    again = curl("-R", "-z", str(saved), "-o", str(saved), "-w", "%{http_code}",
                 running.url(NAME))
    assert again.returncode == 0, again.stderr
    assert again.stdout == b"304"
    assert saved.read_bytes() == DATA
    assert [r["event"] for r in running.ledger_records()] == ["downloaded"]  # the first only


def test_a_file_has_the_type_its_name_says(running: Running) -> None:
    result = curl("-I", running.url(UNICODE_NAME))
    assert result.returncode == 0, result.stderr
    head = result.stdout.decode("latin-1").lower()
    assert "content-type: text/plain\r\n" in head and "x-content-type-options: nosniff" in head
