"""One lab account, many people: the book of downloads keeps each person's bytes apart.

Where everyone shares one account every Filecast client sends one client id (issue 11), so
the server also tells people apart by the name they give. Before: Ana's first half and
Ben's second half of a file added up to "downloaded the file", and Ben's receipt made it
"verified", though neither had the file. And once people were apart, a person who
cancelled and resumed on a new connection could send the receipt of the resumed body
while the server was still learning how much of the first body was acknowledged: the
receipt was refused, then a late "downloaded" line came with no "verified" (the
ten-windows roster test).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from serverkit import Running, serving, write_file
from test_ledger_truth import get, read_nothing_and_reset, receipt

from core.wire.protocol import HEADER_CLIENT_ID, HEADER_CLIENT_NAME

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="acknowledged bytes are counted on Linux")

MIB = 1024 * 1024
LAB = f"{HEADER_CLIENT_ID}: lab-account-0001"


def named(name: str) -> str:
    return f"{HEADER_CLIENT_NAME}: {name}"


def events(running: Running) -> list[tuple[str, str | None]]:
    return [(r["event"], r.get("name")) for r in running.ledger_records()]


def test_halves_taken_by_two_people_on_one_account_are_no_download(tmp_path: Path) -> None:
    data = os.urandom(2 * MIB)
    path = write_file(tmp_path, "big.bin", data)
    with serving(tmp_path, [path], fold_window=0) as running:
        read_nothing_and_reset(running.port, (
            f"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n{LAB}\r\n{named('Ana')}\r\n\r\n"
        ).encode(), read=MIB)
        running.wait_lines("did not finish downloading")
        status, body = get(running, "big.bin", f"Range: bytes={MIB}-", LAB, named("Ben"))
        assert (status, body) == (206, data[MIB:])
        running.wait_lines("downloaded bytes")
        assert receipt(running, "big.bin", data, client_id="lab-account-0001") == 403
    assert ("downloaded", "Ben") not in events(running)
    assert ("verified", "Ben") not in events(running)


def test_a_receipt_waits_for_the_cut_body_of_the_same_download(tmp_path: Path) -> None:
    """The first body is still going out (its reader stalls, then leaves) when the resumed
    body has arrived and the receipt is sent: the receipt counts once the first body ends."""
    data = os.urandom(8 * MIB)
    path = write_file(tmp_path, "big.bin", data)
    with serving(tmp_path, [path], fold_window=0, stall_timeout=30.0) as running:
        first = running.raw()
        first.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        first.sendall((f"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n{LAB}\r\n"
                       f"{named('Ivo')}\r\n\r\n").encode())
        got = b""
        while len(got) < 64 * 1024:  # the head and a little of the body
            got += first.recv(65536)
        have = len(got.split(b"\r\n\r\n", 1)[1])
        leave = threading.Timer(1.5, first.close)  # the first connection ends later
        leave.start()
        try:
            status, body = get(running, "big.bin", f"Range: bytes={have}-", LAB,
                               named("Ivo"))
            assert (status, body) == (206, data[have:])
            started = time.monotonic()
            assert receipt(running, "big.bin", data, client_id="lab-account-0001",
                           person="Ivo") == 200
            assert time.monotonic() - started < 10
        finally:
            leave.cancel()
            first.close()
        running.wait_lines("verified")
    ivo = [e for e, name in events(running) if name == "Ivo"]
    assert ivo.count("downloaded") == 1 and ivo.count("verified") == 1, ivo
    assert ivo.index("downloaded") < ivo.index("verified"), ivo
