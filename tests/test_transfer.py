"""core.server.transfer (Transfer, unavailable): one file body over a real TCP connection on
127.0.0.1, with a small fake SessionContext around a real offer, book of downloads and pump.

What the person serving a file would notice if it went wrong: a client that got the whole
file recorded as anything but "downloaded", a cut download recorded as more than the client
received, a body whose bytes do not match the digest the server promised (the file was
edited while it went out), or a 503 that arrives after half a body.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import Background, FakeContext, read_response

from core.events import ClientInfo, TransferFinished, TransferOutcome, TransferStarted
from core.server.delivery import client_key
from core.server.ledger import LedgerEvent
from core.server.routing import Reply, route
from core.server.transfer import Transfer, unavailable
from core.wire.http11 import HttpError, parse_request_head, response_head
from core.wire.protocol import file_path

MIB = 1024 * 1024
NAME = "report.bin"
MODES = [pytest.param(mode, marks=pytest.mark.skipif(
    mode == "sendfile" and not hasattr(os, "sendfile"), reason="needs os.sendfile"))
    for mode in ("copy", "sendfile")]


@contextlib.contextmanager
def serving(tmp_path: Path, data: bytes, **config: object) -> Iterator[FakeContext]:
    path = tmp_path / NAME
    path.write_bytes(data)
    os.utime(path, ns=(1_700_000_000_000_000_000,) * 2)  # "now" is long after: strong dates
    ctx = FakeContext([path], **config)
    try:
        yield ctx
    finally:
        ctx.close()


@contextlib.contextmanager
def connected(*, rcvbuf: int | None = None, sndbuf: int | None = 64 * 1024
              ) -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of a TCP connection; small buffers so no body hides in them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.socket()
        if rcvbuf is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    if sndbuf is not None:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.settimeout(10.0)
    with server, client:
        yield server, client


def get(ctx: FakeContext, *headers: str) -> Reply:
    lines = [f"GET {file_path(NAME)} HTTP/1.1", "Host: 127.0.0.1", *headers]
    request = parse_request_head(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    return route(request, b"", ctx.offer.state, now=time.time())


CLIENT = ClientInfo(1, ("127.0.0.1", 50000), user_agent="test-agent")
KEY = client_key(CLIENT.address, None, CLIENT.user_agent)


def transfer(ctx: FakeContext, server: socket.socket, reply: Reply) -> Background:
    """Transfer.run in a thread, as a session's worker runs it."""
    body = Transfer(ctx, server, CLIENT, KEY, reply)
    return Background(lambda: body.run(response_head(reply.status, reply.headers)))


def read_head(sock: socket.socket) -> bytes:
    """The response head; the body's first bytes may follow it in the returned rest."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before a head"
        data += chunk
    return data.partition(b"\r\n\r\n")[2]


def finished(ctx: FakeContext) -> TransferFinished:
    [event] = ctx.recorder.of(TransferFinished)
    return event


@pytest.mark.parametrize("mode", MODES)
def test_a_whole_file_arrives_exact_and_is_recorded_downloaded_once(
        tmp_path: Path, mode: str) -> None:
    data = os.urandom(3 * MIB + 7)
    with serving(tmp_path, data, body_mode=mode) as ctx, connected() as (server, client):
        reply = get(ctx)
        sending = transfer(ctx, server, reply)
        response = read_response(client)
        assert sending.join(10.0) is True
    assert response.status == 200 and response.body == data
    assert [(e.event, e.file, e.start, e.bytes, e.acked, e.size) for e in ctx.entries] == [
        (LedgerEvent.DOWNLOADED, NAME, 0, len(data), len(data), len(data))]
    assert ctx.entries[0].etag == reply.file.etag  # type: ignore[union-attr]
    [started] = ctx.recorder.of(TransferStarted)
    assert (started.file, started.start, started.length, started.size) == (
        NAME, 0, len(data), len(data))
    end = finished(ctx)
    assert (end.outcome, end.sent, end.acked, end.covered) == (
        TransferOutcome.DOWNLOADED, len(data), len(data), len(data))
    assert ctx.deliveries.covered_whole(KEY, NAME, reply.file.etag)  # type: ignore[union-attr]


def test_a_range_is_recorded_partial_with_its_bytes(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024)
    with serving(tmp_path, data) as ctx, connected() as (server, client):
        reply = get(ctx, "Range: bytes=100-1099")
        sending = transfer(ctx, server, reply)
        response = read_response(client)
        assert sending.join(10.0) is True
    assert response.status == 206 and response.body == data[100:1100]
    assert [(e.event, e.start, e.bytes, e.acked) for e in ctx.entries] == [
        (LedgerEvent.PARTIAL, 100, 1000, 1000)]
    end = finished(ctx)
    assert (end.outcome, end.start, end.length, end.acked) == (
        TransferOutcome.PARTIAL, 100, 1000, 1000)
    assert not ctx.deliveries.covered_whole(KEY, NAME, reply.file.etag)  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
def test_a_reader_that_closes_early_is_recorded_interrupted_with_what_reached_it(
        tmp_path: Path, mode: str) -> None:
    data = os.urandom(16 * MIB)
    with serving(tmp_path, data, body_mode=mode) as ctx, \
            connected(rcvbuf=16 * 1024, sndbuf=None) as (server, client):
        sending = transfer(ctx, server, get(ctx))
        got = len(read_head(client))
        while got < 64 * 1024:
            got += len(client.recv(16 * 1024))
        buffered = client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        client.close()  # with bytes unread: a reset, as when the client is killed
        assert sending.join(10.0) is False
    [entry] = ctx.entries
    assert entry.event is LedgerEvent.INTERRUPTED
    assert entry.acked is not None and 0 < entry.acked < len(data)
    # TCP acknowledges what reached the client's buffer, read or not: never more than that,
    # and never the megabytes the server's own send buffer still held.
    assert entry.acked <= got + buffered
    end = finished(ctx)
    assert end.outcome is TransferOutcome.INTERRUPTED and end.acked == entry.acked
    assert end.sent > entry.acked  # what the server's own buffer held did not count


@pytest.mark.parametrize("mode", MODES)
def test_a_file_changed_before_the_last_byte_never_arrives_complete(
        tmp_path: Path, mode: str) -> None:
    data = os.urandom(4 * MIB)
    with serving(tmp_path, data, body_mode=mode) as ctx, \
            connected(rcvbuf=64 * 1024) as (server, client):
        promised = ctx.offer.state.find(NAME)
        assert promised is not None
        sending = transfer(ctx, server, get(ctx))
        body = read_head(client)
        while len(body) < 256 * 1024:
            body += client.recv(65536)
        time.sleep(0.05)  # the server is held by full buffers, far from the last byte
        with open(tmp_path / NAME, "r+b") as handle:  # edited in place: same size
            handle.seek(len(data) - MIB)
            handle.write(os.urandom(MIB))
        os.utime(tmp_path / NAME, ns=(1_700_000_100_000_000_000,) * 2)
        while len(body) < len(data) - 1:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        assert sending.join(10.0) is False
        server.close()  # as the session does after a failed body
        client.settimeout(2.0)
        with contextlib.suppress(ConnectionResetError):
            body += client.recv(65536)
    assert len(body) < len(data)  # the promised bytes never all arrived
    assert [e.event for e in ctx.entries] == [LedgerEvent.INTERRUPTED]
    assert finished(ctx).outcome is TransferOutcome.INTERRUPTED
    now = ctx.offer.state.find(NAME)
    assert now is not None and now.etag != promised.etag  # the offer re-read the file


@pytest.mark.parametrize("change", ["removed", "rewritten"])
def test_a_file_gone_or_changed_before_sending_is_a_503_before_any_byte(
        tmp_path: Path, change: str) -> None:
    with serving(tmp_path, b"original bytes") as ctx, connected() as (server, client):
        reply = get(ctx)
        if change == "removed":
            (tmp_path / NAME).unlink()
        else:
            (tmp_path / NAME).write_bytes(b"new and longer bytes")
        with pytest.raises(HttpError) as caught:
            Transfer(ctx, server, CLIENT, KEY, reply).run(b"HTTP/1.1 200 OK\r\n\r\n")
        server.close()
        assert client.recv(100) == b""  # not a byte of the head went out
    error = caught.value
    assert error.status == 503 and not error.close
    assert ("Retry-After", "1") in error.headers
    expected = "cannot be read" if change == "removed" else "is changing"
    assert expected in error.message
    assert ctx.entries == [] and ctx.recorder.events == []


def test_unavailable_says_why_the_file_cannot_be_sent_now() -> None:
    busy = unavailable(OSError(errno.EMFILE, "Too many open files"))
    unreadable = unavailable(OSError(errno.EACCES, "Permission denied"))
    gone = unavailable(None, gone=True)
    changing = unavailable(None)
    for error in (busy, unreadable, gone, changing):
        assert error.status == 503 and not error.close
        assert ("Retry-After", "1") in error.headers
    assert "too busy" in busy.message
    assert "cannot be read" in unreadable.message and "cannot be read" in gone.message
    assert "changing" in changing.message
