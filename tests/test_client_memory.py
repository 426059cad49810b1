"""Client memory stays under 100 MiB whatever a server sends (issue 9, item 1).

Each test runs the client in a process of its own, under a small wrapper process whose only
child it is, so ``RUSAGE_CHILDREN`` there is the client's peak RSS and nothing else's. The
wrapper also caps the client's address space (2 GiB) and its time, so a client that does
swallow an endless answer fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer

from core.client.http import MAX_ANSWER_BYTES

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
LIMIT_MIB = 100  # the promise in issue 9
NAME = "report.pdf"
DATA = os.urandom(MIB)

# The client, as `get --yes` drives it, with a 2 s time-out so the deadline cases are quick.
CLIENT = r"""
import sys
from pathlib import Path
from core.client.visit import FilecastClient
from core.errors import FilecastError
port, name, folder = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
try:
    with FilecastClient("127.0.0.1", port, timeout=2.0, retries=1, backoff=0.01) as client:
        client.connect()
        client.download(name, folder, info=client.check(name))
except FilecastError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
print("saved")
"""

# Runs the client as its only child and reports the child's peak RSS.
WRAPPER = r"""
import json, resource, subprocess, sys, time
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
began = time.monotonic()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, timeout=float(sys.argv[1]),
                          preexec_fn=cap)
    rc, out, err = done.returncode, done.stdout, done.stderr
except subprocess.TimeoutExpired as expired:
    rc, out, err = None, expired.stdout or b"", expired.stderr or b""
print(json.dumps({"rc": rc, "seconds": time.monotonic() - began,
                  "rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")}))
"""


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({NAME: DATA}) as server:
        yield server


def run_client(server: HostileServer, folder: Path, seconds: float = 30) -> dict[str, object]:
    """The client against ``server`` in a measured process: rc, seconds, rss_mib, output."""
    command = [sys.executable, "-c", WRAPPER, str(seconds),
               sys.executable, "-c", CLIENT, str(server.port), NAME, str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    report: dict[str, object] = json.loads(done.stdout)
    return report


def fails_small(server: HostileServer, folder: Path, words: str) -> None:
    """The client ends within seconds with a sentence containing ``words``, under 100 MiB."""
    report = run_client(server, folder)
    print(report)
    assert report["rc"] == 1, report
    stderr = str(report["stderr"])
    assert words in stderr and "Traceback" not in stderr, stderr
    assert float(str(report["seconds"])) < 20, report  # liveness, not speed
    assert float(str(report["rss_mib"])) < LIMIT_MIB, report
    assert list(folder.iterdir()) == [] or all(p.name.endswith((".part", ".part.json"))
                                                for p in folder.iterdir())


def test_the_honest_server_is_measured_too(hostile: HostileServer, tmp_path: Path) -> None:
    report = run_client(hostile, tmp_path)
    assert report["rc"] == 0 and "saved" in str(report["stdout"]), report
    assert float(str(report["rss_mib"])) < LIMIT_MIB, report
    assert (tmp_path / NAME).read_bytes() == DATA


def test_a_file_with_both_lengths_and_endless_chunks(hostile: HostileServer,
                                                     tmp_path: Path) -> None:
    """issue 9: Content-Length: 11 and Transfer-Encoding: chunked took the client to 8.4 GB."""
    hostile.lies.both_framings = True
    fails_small(hostile, tmp_path, "Content-Length and Transfer-Encoding")


def test_an_offer_in_endless_chunks(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.lies.endless_chunks = True
    fails_small(hostile, tmp_path, "far larger than a Filecast server")


def test_endless_100_continue(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.lies.endless_continue = True
    fails_small(hostile, tmp_path, "did not finish answering within 2 seconds")


def test_endless_header_lines(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.lies.endless_headers = True
    fails_small(hostile, tmp_path, "does not answer like a Filecast server")


@pytest.mark.parametrize("item", [b"[[]]", b"{}", b'{"a":{}}', b"1.5"])
def test_the_largest_json_answer_read(hostile: HostileServer, tmp_path: Path,
                                      item: bytes) -> None:
    """An answer just under the cap that parses into the most objects per byte (json.loads
    of `[[]],[[]],...` costs about 35 times its size)."""
    head, tail = b'{"version": 1, "files": [', b"]}"
    count = (MAX_ANSWER_BYTES - len(head) - len(tail)) // (len(item) + 1)
    hostile.lies.offer_body = head + b",".join([item] * count) + tail
    assert len(hostile.lies.offer_body) <= MAX_ANSWER_BYTES
    fails_small(hostile, tmp_path, "The server's offer is missing a field")


def test_an_answer_over_the_cap(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.lies.offer_body = b'{"version": 1, "files": [' + b"[[]]," * (16 * MIB) + b"[]]}"
    fails_small(hostile, tmp_path, "far larger than a Filecast server")
