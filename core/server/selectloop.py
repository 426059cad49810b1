"""A thread that waits on one selector for many sockets, fed by other threads.

The server keeps a few of these (core.server.sendfile_loop sends file bodies,
core.server.linger closes refused connections): each is one daemon thread instead of a thread
per socket. Other threads hand items over with :meth:`SelectorThread.hand_over`, which queues
them and wakes the selector with a byte on a socket pair; the thread adopts them, waits, and
calls the subclass's hooks. It starts with the first item and ends with :meth:`close`.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Generic, TypeVar

log = logging.getLogger("filecast.selectloop")

T = TypeVar("T")


class SelectorThread(Generic[T]):
    """The plumbing; subclasses say what adopting, a ready socket and time passing mean.

    Every hook runs on the thread, except ``_orphan`` (called by close() for items the
    thread never adopted)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._incoming: list[T] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once close() has begun."""
        return self._closed

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def hand_over(self, item: T, *, limit: int | None = None) -> bool:
        """Queue ``item`` for the thread, starting it when needed. False, and nothing
        queued, once closed or when ``limit`` items are already queued or held."""
        with self._lock:
            if self._closed or (limit is not None
                                and len(self._incoming) + self._held() >= limit):
                return False
            self._incoming.append(item)
            if not self.alive:
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()
        self._wake()
        return True

    def close(self, timeout: float = 2.0) -> None:
        """End the thread (``_stopping`` ends what it holds) and release the selector."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # never close what the thread still uses
                log.error("%s did not stop within %.1f s", self._name, timeout)
                return
        with self._lock:
            orphans, self._incoming = self._incoming, []
        for item in orphans:  # handed over while the thread was ending
            self._orphan(item)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        """Make select() return (new items, or close)."""
        with contextlib.suppress(OSError):  # BlockingIOError: a wake-up is pending already
            self._wake_w.send(b"x")

    # --- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        """Thread body; a bug is logged and ends everything held, never the server."""
        try:
            while not self._closed:
                ready = self._selector.select(max(0.0, self._timeout(time.monotonic())))
                for key, _ in ready:
                    if key.data is None:
                        self._take_incoming()
                    else:
                        self._ready(key.data)
                self._tick(time.monotonic())
        except Exception:
            log.exception("%s failed", self._name)
        finally:
            self._stopping()

    def _take_incoming(self) -> None:
        """Adopt what was handed over since the last wake-up."""
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for item in incoming:
            self._adopt(item)

    # --- hooks -------------------------------------------------------------------------

    def _held(self) -> int:
        """How many items the thread holds now (for ``hand_over``'s limit)."""
        return 0

    def _adopt(self, item: T) -> None:
        """Take ``item`` over: usually register its socket with the selector."""
        raise NotImplementedError

    def _ready(self, item: T) -> None:
        """A registered socket is ready; ``item`` is what it was registered with."""
        raise NotImplementedError

    def _timeout(self, now: float) -> float:
        """How long select() may wait."""
        return 1.0

    def _tick(self, now: float) -> None:
        """After each wake of the selector: time-outs and the like."""

    def _stopping(self) -> None:
        """The thread ends: end everything it holds."""

    def _orphan(self, item: T) -> None:
        """close() found ``item`` handed over but never adopted."""
