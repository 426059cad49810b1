"""Run slow work (connect, hash, download, stop) off the main thread, results back on it.

``run_in_background`` runs one call; ``JobQueue`` runs a window's engine calls in turn.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from core.errors import FilecastError
from core.gui.pump import EventPump

T = TypeVar("T")
log = logging.getLogger("filecast.gui")

BUG_MESSAGE = ("Something went wrong inside Filecast (a bug, not your doing). "
               "The details are in the terminal or log.")


def run_in_background(pump: EventPump, work: Callable[[], T], *,
                      on_done: Callable[[T], None],
                      on_error: Callable[[FilecastError], None],
                      name: str = "filecast-gui-worker") -> threading.Thread:
    """Call ``work`` in a daemon thread; ``on_done``/``on_error`` then run on the main thread.

    A FilecastError is the person's to act on and goes to ``on_error`` as is; anything else is
    a bug: logged with its traceback and reported as a generic FilecastError.
    """

    def body() -> None:
        try:
            result = work()
        except FilecastError as error:
            # ``error`` is unbound when the except block ends: hand the object, not the name.
            pump.call_soon(functools.partial(on_error, error))
        except Exception as exc:  # a bug: log it whole, tell the person plainly
            log.exception("background job %s failed", name)
            bug = FilecastError(BUG_MESSAGE)
            bug.__cause__ = exc
            pump.call_soon(lambda: on_error(bug))
        else:
            pump.call_soon(lambda: on_done(result))

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


@dataclasses.dataclass
class _Job:
    name: str
    work: Callable[[], Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[FilecastError], None]


class JobQueue:
    """A window's engine calls, one at a time, each in a worker thread; the results come
    back on the main thread. One at a time, so that Stop cannot overtake a Start that is
    still binding the port, nor Close a Stop. Used on the main thread only."""

    def __init__(self, pump: EventPump, prefix: str = "filecast-gui") -> None:
        self._pump = pump
        self._prefix = prefix
        self._waiting: collections.deque[_Job] = collections.deque()
        self._busy = False
        self._closed = False

    @property
    def busy(self) -> bool:
        """True while a call runs or waits its turn."""
        return self._busy

    def add(self, name: str, work: Callable[[], T], on_done: Callable[[T], None],
            on_error: Callable[[FilecastError], None]) -> None:
        """Queue ``work``; ``on_done(result)`` or ``on_error(error)`` follows on the main
        thread, then the next call starts."""
        self._waiting.append(_Job(name, work, on_done, on_error))
        if not self._busy:
            self._next()

    def clear(self) -> None:
        """Drop the calls that have not started (the one running still finishes)."""
        self._waiting.clear()

    def close(self) -> None:
        """The window is gone: no more callbacks, no more calls."""
        self._closed = True
        self._waiting.clear()

    def _next(self) -> None:
        if self._closed or not self._waiting:
            self._busy = False
            return
        self._busy = True
        job = self._waiting.popleft()

        def finish(callback: Callable[[Any], None], value: Any) -> None:
            if self._closed:
                return
            try:
                callback(value)
            finally:
                self._next()

        run_in_background(self._pump, job.work, on_done=lambda r: finish(job.on_done, r),
                          on_error=lambda e: finish(job.on_error, e),
                          name=f"{self._prefix}-{job.name}")
