"""core/activity.py: the terminal keeps the original program's lines; the window says the
same events as sentences with the person's name (issue 11); both take decisions from the
one table of sentences."""

from __future__ import annotations

import io

from core.activity import PLAIN, ServerPrinter
from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    Declined,
    OfferChanged,
    OfferedFileView,
    OfferSent,
    ServerStarted,
    TransferFinished,
    TransferOutcome,
)

ANA = ClientInfo(key=1, address=("192.168.1.31", 53552), name="Ana Lopez")
ANON = ClientInfo(key=2, address=("::1", 40000))


def test_the_terminal_keeps_the_original_lines() -> None:
    printer = ServerPrinter(io.StringIO())
    assert printer.line_for(ClientConnected(ANA)) == \
        "Client connected <ip: ('192.168.1.31', 53552)>"
    assert printer.line_for(OfferSent(ANA)) == \
        "Message sent out to client <ip: ('192.168.1.31', 53552)>"
    assert printer.line_for(ClientDisconnected(ANA)) == \
        "Client: <ip: ('192.168.1.31', 53552)> disconnected!"
    assert printer.line_for(Declined(ANA, "test.txt")) == \
        "Client: <ip: ('192.168.1.31', 53552)> did not download the file 'test.txt'"


def test_the_window_says_it_in_sentences_with_the_name() -> None:
    printer = ServerPrinter(io.StringIO(), voice=PLAIN)
    assert printer.line_for(ClientConnected(ANA)) == "Ana Lopez (192.168.1.31:53552) connected"
    assert printer.line_for(OfferSent(ANON)) == "[::1]:40000 was told what is offered"
    assert printer.line_for(ClientDisconnected(ANA)) == "Ana Lopez (192.168.1.31:53552) left"
    done = TransferFinished(ANA, "test.txt", 0, 11, 11, 11, TransferOutcome.DOWNLOADED, 11, 11)
    assert printer.line_for(done) == \
        "Ana Lopez (192.168.1.31:53552) downloaded the file 'test.txt'"


def test_a_name_cannot_break_the_windows_line() -> None:
    sly = ClientInfo(key=3, address=("10.0.0.9", 1), name="Eve\n12:00:00 Bob downloaded")
    line = ServerPrinter(io.StringIO(), voice=PLAIN).line_for(ClientConnected(sly))
    assert line is not None and "\n" not in line and line.startswith("Eve\\n12:00:00 Bob")


def test_two_files_of_one_size_and_time_are_each_announced() -> None:
    """Each file is announced once per version: two files of the same size written in the
    same clock tick share an ETag, and the second was never announced (the bench waited
    for its line until it gave up)."""
    printer = ServerPrinter(io.StringIO())
    same = [OfferedFileView(f"{n}.bin", f"/x/{n}.bin", 1024, "ab" * 32, '"400-1"', 0.0)
            for n in range(3)]
    line = printer.line_for(OfferChanged(tuple(same)))
    assert line is not None and [n for n in ("0.bin", "1.bin", "2.bin") if n in line] == \
        ["0.bin", "1.bin", "2.bin"]
    assert printer.line_for(OfferChanged(tuple(same))) is None  # once


def test_the_terminal_server_says_the_address_is_also_the_browser_page() -> None:
    """Issue 13: the page is for every device; the terminal says where it is."""
    text = ServerPrinter().line_for(ServerStarted("0.0.0.0", 5001, ("http://10.0.0.5:5001/",)))
    assert text is not None
    lines = text.splitlines()
    assert lines[:3] == ["SERVER WORKING", "Clients can connect at:", "    http://10.0.0.5:5001/"]
    assert "browser" in lines[3] and lines[-1] == "Waiting for connection..."
