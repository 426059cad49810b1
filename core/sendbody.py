"""Put a span of a file on a socket with bounded memory: ``os.sendfile`` or a copy loop.

Both senders report progress through a callback and give up when the peer takes no bytes
for ``stall`` seconds, so a client that stops reading cannot hold a worker forever. Which
one is faster depends on the kernel (see bench/); the server setting picks one.
"""

from __future__ import annotations

import io
import os
import select
import socket
from collections.abc import Callable

COPY_CHUNK = 1024 * 1024
SENDFILE_CHUNK = 64 * 1024 * 1024

Progress = Callable[[int], None]


class StalledError(TimeoutError):
    """The peer accepted no bytes for the whole stall time-out."""


def _wait_writable(sock: socket.socket, stall: float) -> None:
    """Block until ``sock`` can take bytes, or raise StalledError / ConnectionError."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLOUT)
    events = poller.poll(stall * 1000)
    if not events:
        raise StalledError("the client stopped reading")
    if events[0][1] & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
        raise ConnectionResetError("the connection closed")


def send_sendfile(sock: socket.socket, handle: io.FileIO, offset: int, count: int, *,
                  stall: float, progress: Progress) -> int:
    """Zero-copy ``count`` bytes from ``handle`` at ``offset``; returns the bytes sent.

    The socket must be in timeout mode (non-blocking underneath), so ``os.sendfile`` never
    blocks and each wait is bounded by ``stall``. Falls back to copying where the platform
    has no ``os.sendfile`` (Windows).
    """
    if not hasattr(os, "sendfile"):
        return send_copy(sock, handle, offset, count, stall=stall, progress=progress)
    sent = 0
    out, fd = sock.fileno(), handle.fileno()
    while sent < count:
        try:
            n = os.sendfile(out, fd, offset + sent, min(count - sent, SENDFILE_CHUNK))
        except BlockingIOError:
            _wait_writable(sock, stall)
            continue
        if n == 0:
            raise EOFError("the offered file got shorter while it was sent")
        sent += n
        progress(sent)
    return sent


def send_copy(sock: socket.socket, handle: io.FileIO, offset: int, count: int, *,
              stall: float, progress: Progress, chunk: int = COPY_CHUNK) -> int:
    """Copy ``count`` bytes through one reused buffer; returns the bytes sent.

    Each ``send`` waits at most the socket's time-out (``stall``) for room.
    """
    buffer = bytearray(min(chunk, max(count, 1)))
    view = memoryview(buffer)
    handle.seek(offset)
    sent = 0
    while sent < count:
        got = handle.readinto(view[:min(len(buffer), count - sent)])
        if not got:
            raise EOFError("the offered file got shorter while it was sent")
        done = 0
        while done < got:  # not sendall: its time-out covers the whole call, not a stall
            done += sock.send(view[done:got])
        sent += got
        progress(sent)
    return sent


Sender = Callable[..., int]
SENDERS: dict[str, Sender] = {"sendfile": send_sendfile, "copy": send_copy}
