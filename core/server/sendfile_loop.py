"""One thread that drives ``os.sendfile`` on non-blocking sockets for every body in flight.

Why: with a thread per connection each sending its own body, 1,000 downloads were 1,000
threads waking for every socket buffer's worth and queuing for the GIL to go back to
``poll()`` (strace of 1,000 ab clients: 44,812 futex calls beside 2,029 sendfile calls;
issue 4). A worker now tries ``sendfile`` itself until the socket is full, then hands the
rest to the sendfile loop and sleeps until it is done: one thread and one selector do the waiting.

A body that makes no progress for its ``stall`` time ends with :class:`StalledError`; one
whose socket fails ends with that ``OSError``; :meth:`SendfileLoop.close` ends every body left
with ``ConnectionAbortedError``. Either way the worker that handed it over gets the error.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable

from core.server.selectloop import SelectorThread

log = logging.getLogger("filecast.sendfile")

SENDFILE_CHUNK = 64 * 1024 * 1024  # per call; the socket buffer is the real limit
STALL_CHECK = 0.25  # seconds between scans for stalled bodies

Progress = Callable[[int], None]


class StalledError(TimeoutError):
    """The peer accepted no bytes for the whole stall time-out."""


class _Body:
    """One span of a file going out on one socket; owned by the sendfile loop once handed over."""

    __slots__ = ("count", "done", "error", "fd", "last", "offset", "out", "progress", "sent",
                 "stall")

    def __init__(self, sock: socket.socket, fd: int, offset: int, count: int, sent: int,
                 stall: float, progress: Progress) -> None:
        self.out, self.fd = sock.fileno(), fd
        self.offset, self.count, self.sent = offset, count, sent
        self.stall, self.progress = stall, progress
        self.last = time.monotonic()  # when bytes last went out
        self.error: BaseException | None = None
        self.done = threading.Event()


def send_some(out: int, fd: int, offset: int, count: int) -> int:
    """One ``os.sendfile`` of at most ``count`` bytes; 0 means the socket is full.

    EOFError when the file ends early: it got shorter while it was being sent."""
    try:
        sent = os.sendfile(out, fd, offset, min(count, SENDFILE_CHUNK))
    except BlockingIOError:
        return 0
    if sent == 0:
        raise EOFError("the offered file got shorter while it was sent")
    return sent


class SendfileLoop(SelectorThread[_Body]):
    """Sends the bodies handed to it from one thread, started with the first of them."""

    def __init__(self) -> None:
        super().__init__("filecast-sendfile")
        self._bodies: dict[int, _Body] = {}  # socket fd -> body; touched by the thread only
        self._next_check = 0.0

    def send(self, sock: socket.socket, fd: int, offset: int, count: int, *, stall: float,
             progress: Progress) -> int:
        """Send ``count`` bytes of file ``fd`` from ``offset`` on non-blocking ``sock``.

        Called from a worker thread, which it blocks until the body is out or has failed;
        returns the bytes sent. A body that fits in the socket buffer never waits for the
        loop, so small answers cost no hand-over.
        """
        sent = 0
        while sent < count:
            more = send_some(sock.fileno(), fd, offset + sent, count - sent)
            if not more:
                break
            sent += more
            _report(progress, sent)
        if sent >= count:
            return sent
        body = _Body(sock, fd, offset, count, sent, stall, progress)
        if not self.hand_over(body):
            raise ConnectionAbortedError(errno.ECONNABORTED, "the server is stopping")
        while not body.done.wait(30.0):
            if not self.alive:  # never hang the worker, whatever became of the thread
                raise ConnectionAbortedError(errno.ECONNABORTED, "the sendfile loop stopped")
        if body.error is not None:
            raise body.error
        return body.sent

    # --- on the sendfile loop's thread ----------------------------------------------------------

    def _adopt(self, body: _Body) -> None:
        """Register a body handed over; its stall clock starts now."""
        self._bodies[body.out] = body
        body.last = time.monotonic()
        try:
            self._selector.register(body.out, selectors.EVENT_WRITE, body)
        except (OSError, ValueError) as exc:  # the socket was closed meanwhile
            self._end(body, exc if isinstance(exc, OSError) else ConnectionResetError())

    def _ready(self, body: _Body) -> None:
        """One sendfile for a writable socket; the end of the body or an error releases it."""
        try:
            more = send_some(body.out, body.fd, body.offset + body.sent, body.count - body.sent)
        except (OSError, EOFError) as exc:
            self._end(body, exc)
            return
        if not more:
            return
        body.sent += more
        body.last = time.monotonic()
        _report(body.progress, body.sent)
        if body.sent >= body.count:
            self._end(body, None)

    def _timeout(self, now: float) -> float:
        return self._next_check - now

    def _tick(self, now: float) -> None:
        """Four times a second: end the bodies whose peer took nothing for their stall time."""
        if now < self._next_check:
            return
        self._next_check = now + STALL_CHECK
        for body in [b for b in self._bodies.values() if now - b.last > b.stall]:
            self._end(body, StalledError("the client stopped reading"))

    def _stopping(self) -> None:
        for body in list(self._bodies.values()):
            self._end(body, ConnectionAbortedError(errno.ECONNABORTED, "the server stopped"))

    def _orphan(self, item: _Body) -> None:
        _finish(item, ConnectionAbortedError(errno.ECONNABORTED, "the server stopped"))

    def _end(self, body: _Body, error: BaseException | None) -> None:
        """Forget a body and wake its worker."""
        self._bodies.pop(body.out, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(body.out)
        _finish(body, error)


def _report(progress: Progress, sent: int) -> None:
    """Call a progress callback; a listener bug must not stop this body or the others."""
    try:
        progress(sent)
    except Exception:
        log.exception("progress callback failed")


def _finish(body: _Body, error: BaseException | None) -> None:
    """Report the outcome to the waiting worker."""
    body.error = error
    body.done.set()
