"""Put a span of a file on a socket with bounded memory: a copy loop, or the sendfile loop.

Which is faster depends on the load (bench/, loopback): one stream to curl ran at
3.4-4.0 GB/s copying against 2.5-3.6 with sendfile, while for a crowd sendfile's zero-copy
path saves the CPU the copies need, and the copy loop's 1 MiB buffer per body would cost
1 GiB for 1,000 clients. "auto", the default, copies while at most ``COPY_UP_TO`` bodies
are in flight and hands bodies to the server's
:class:`core.server.sendfile_loop.SendfileLoop` beyond.
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Callable

COPY_CHUNK = 1024 * 1024
COPY_UP_TO = 2  # bodies in flight that "auto" still copies (one per core here)
BODY_MODES = ("auto", "copy", "sendfile")

Progress = Callable[[int], None]


def send_copy(sock: socket.socket, handle: io.FileIO, offset: int, count: int,
              progress: Progress, chunk: int = COPY_CHUNK) -> int:
    """Copy ``count`` bytes through one reused buffer in the calling thread; returns the
    bytes sent. Each ``send`` waits at most the socket's time-out (the stall limit) for room.

    ``progress`` hears of every ``send``, so after a cut it knows exactly what went out
    (core.server.acks subtracts what was not acknowledged from it; issue 9)."""
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
            progress(sent + done)
        sent += got
    return sent


def choose_mode(mode: str, in_flight: int) -> str:
    """"copy" or "sendfile" for a body when ``in_flight`` bodies (this one included) are
    going out; "copy" wherever the platform has no ``os.sendfile`` (Windows)."""
    if mode not in BODY_MODES:
        raise ValueError(f"unknown body mode {mode!r}")
    if not hasattr(os, "sendfile"):
        return "copy"
    if mode == "auto":
        return "copy" if in_flight <= COPY_UP_TO else "sendfile"
    return mode
