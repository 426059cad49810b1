"""core.server.session.Session: one client connection, served over a real TCP connection on
127.0.0.1 with a small fake SessionContext around a real offer, book of downloads and pump.

What a person would notice if it went wrong: a kept-alive client whose second request is
never answered, a garbled request that hangs instead of getting a 400, a look at a file
("HEAD") written to the ledger as if it were a download, a wrong name missing from the
ledger, or a silent connection holding a worker thread forever.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import Background, FakeContext, Reader, wait_until

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    FileRequested,
    TransferStarted,
)
from core.server.ledger import LedgerEvent
from core.server.session import Session
from core.wire.protocol import file_path

NAME = "notes.pdf"
DATA = b"%PDF-1.4 the notes the person offered\n" * 1000
HEAD_TIMEOUT = 0.3


class Visit:
    """A Session running on its own thread, and the client's end of its connection."""

    def __init__(self, ctx: FakeContext, server: socket.socket, client: socket.socket) -> None:
        self.ctx, self.client = ctx, client
        self.reader = Reader(client, timeout=5.0)
        self.info = ClientInfo(1, client.getsockname())
        self.session = Session(ctx, server, self.info)
        self.began = time.monotonic()
        self.thread = Background(self.session.run)

    def send(self, *lines: str) -> None:
        self.client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def ended(self, timeout: float = 5.0) -> float:
        """Wait for the session to end; how long it ran."""
        self.thread.join(timeout)
        return time.monotonic() - self.began

    def closed_by_server(self) -> bool:
        """Whether the server closed the connection (nothing more comes)."""
        try:
            return self.reader.buffer == b"" and self.client.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[FakeContext]:
    path = tmp_path / NAME
    path.write_bytes(DATA)
    os.utime(path, ns=(1_700_000_000_000_000_000,) * 2)
    context = FakeContext([path], head_timeout=HEAD_TIMEOUT, idle_timeout=2.0,
                          visit_timeout=2.0, stall_timeout=2.0)
    yield context
    context.sendfile_loop.close()
    context.offer.close()


@pytest.fixture
def visit(ctx: FakeContext) -> Iterator[Visit]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5.0)
        server, _ = listener.accept()
    with client:
        one = Visit(ctx, server, client)
        yield one
        client.close()
        one.ended()


def test_two_requests_on_one_kept_alive_connection_are_both_answered(visit: Visit) -> None:
    visit.send(f"HEAD {file_path(NAME)} HTTP/1.1", "Host: 127.0.0.1")
    looked = visit.reader.response(head_request=True)
    assert looked.status == 200 and looked.headers["content-length"] == str(len(DATA))
    visit.send(f"GET {file_path(NAME)} HTTP/1.1", "Host: 127.0.0.1")
    got = visit.reader.response()
    assert got.status == 200 and got.body == DATA
    assert "connection" not in got.headers  # still open for a third
    wait_until(lambda: visit.ctx.entries, 5.0, "the download to be recorded")
    assert [e.event for e in visit.ctx.entries] == [LedgerEvent.DOWNLOADED]
    visit.client.close()
    visit.ended()
    kinds = [type(e) for e in visit.ctx.recorder.events]
    assert kinds[0] is ClientConnected and kinds[-1] is ClientDisconnected
    assert kinds.count(ClientConnected) == 1  # one visit, one connection


def test_a_malformed_head_gets_a_400_and_the_connection_closes(visit: Visit) -> None:
    visit.send("GET / HTTP/1.1", "Host: 127.0.0.1", "this line is not a header")
    answer = visit.reader.response()
    assert answer.status == 400
    assert answer.headers.get("connection") == "close"
    assert b"malformed" in answer.body
    assert visit.closed_by_server()
    assert visit.ended() < 2.0
    assert visit.ctx.entries == []
    assert visit.ctx.recorder.of(ClientDisconnected)


def test_a_head_for_an_offered_file_is_reported_with_its_size_and_not_recorded(
        visit: Visit) -> None:
    visit.send(f"HEAD {file_path(NAME)} HTTP/1.1", "Host: 127.0.0.1")
    answer = visit.reader.response(head_request=True)
    assert answer.status == 200
    assert answer.headers["content-length"] == str(len(DATA))
    assert visit.reader.buffer == b""  # no body after the head
    [requested] = visit.ctx.recorder.of(FileRequested)
    assert (requested.file, requested.exists, requested.size) == (NAME, True, len(DATA))
    assert visit.ctx.entries == []
    assert visit.ctx.recorder.of(TransferStarted) == []


def test_a_get_for_a_name_not_offered_is_a_404_and_one_not_offered_line(
        visit: Visit) -> None:
    visit.send(f"GET {file_path('secret plans.txt')} HTTP/1.1", "Host: 127.0.0.1")
    answer = visit.reader.response()
    assert answer.status == 404
    assert b"not offered" in answer.body
    assert [(e.event, e.file) for e in visit.ctx.entries] == [
        (LedgerEvent.NOT_OFFERED, "secret plans.txt")]
    [requested] = visit.ctx.recorder.of(FileRequested)
    assert (requested.file, requested.exists, requested.size) == (
        "secret plans.txt", False, None)
    # a wrong name does not end the visit: the person may type it again
    visit.send(f"HEAD {file_path(NAME)} HTTP/1.1", "Host: 127.0.0.1")
    assert visit.reader.response(head_request=True).status == 200
    assert len(visit.ctx.entries) == 1


def test_a_silent_first_connection_ends_after_the_head_timeout(visit: Visit) -> None:
    took = visit.ended()
    assert HEAD_TIMEOUT * 0.9 <= took < HEAD_TIMEOUT + 1.0
    assert visit.closed_by_server()  # closed quietly: it asked nothing, so no answer
    assert visit.ctx.entries == []
    kinds = [type(e) for e in visit.ctx.recorder.events]
    assert kinds == [ClientConnected, ClientDisconnected]
