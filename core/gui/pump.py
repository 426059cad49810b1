"""The one queue from engine threads to a window, drained on the Tk main thread.

Worker threads only ``put``; the main thread drains with ``after()`` in capped batches.
Progress events are coalesced per subject (only the newest survives a batch), so a flood
from hundreds of clients costs the window one redraw per tick, at most ~20 a second.
"""

from __future__ import annotations

import gc
import logging
import queue
import time
import tkinter as tk
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from core.events import DownloadProgress, Event, HashProgress, TransferProgress

log = logging.getLogger("filecast.gui")

TICK_MS = 50
BATCH = 5000


class MainThreadCollector:
    """Runs Python's cyclic garbage collector on the Tk main thread only, while a window's
    pump runs. A window's objects are reference cycles holding the Tcl interpreter; when a
    worker thread's allocation triggered the automatic collector, Tcl objects were freed
    there and Tcl aborted the whole process ("Tcl_AsyncDelete: async handler deleted by
    the wrong thread"; seen with an archive's writer threads busy, issue 12)."""

    def __init__(self) -> None:
        self._pumps = 0  # pumps running (main thread only)

    def started(self) -> None:
        """A pump starts: automatic collection off, this thread collects instead."""
        self._pumps += 1
        gc.disable()

    def stopped(self) -> None:
        """A pump stops: with none left, the automatic collector is back."""
        self._pumps = max(0, self._pumps - 1)
        if not self._pumps:
            gc.enable()

    def reset(self) -> None:
        """The Tk root is gone with its windows, stopped or not: automatic collection is
        back (tests destroy a root per test)."""
        self._pumps = 0
        gc.enable()

    @staticmethod
    def collect_due() -> None:
        """Collect the oldest generation past its threshold, as CPython itself would."""
        counts, limits = gc.get_count(), gc.get_threshold()
        if counts[0] <= limits[0]:
            return
        generation = 2 if counts[2] > limits[2] else 1 if counts[1] > limits[1] else 0
        gc.collect(generation)


COLLECTOR = MainThreadCollector()


@dataclass(frozen=True)
class MainThreadCall:
    """A function a worker wants run on the main thread (e.g. a finished job's result)."""

    fn: Callable[[], None]


def coalesce_key(item: object) -> Hashable | None:
    """Items with the same key in one batch are redundant but for the newest."""
    if isinstance(item, TransferProgress):
        return ("transfer", item.client.key)
    if isinstance(item, DownloadProgress):
        return ("download", item.file)
    if isinstance(item, HashProgress):
        return ("hash", item.file)
    return None


def coalesce(items: list[object]) -> list[object]:
    """Drop every keyed item that a later item with the same key supersedes."""
    last: dict[Hashable, int] = {}
    for index, item in enumerate(items):
        key = coalesce_key(item)
        if key is not None:
            last[key] = index
    return [item for index, item in enumerate(items)
            if (key := coalesce_key(item)) is None or last[key] == index]


class EventPump:
    """Owns a window's queue and its ``after()`` drain loop; also measures the loop's lag."""

    def __init__(self, root: tk.Misc, handle: Callable[[Any], None], *,
                 tick_ms: int = TICK_MS, batch: int = BATCH,
                 after_batch: Callable[[], None] | None = None) -> None:
        self._root = root
        self._handle = handle
        self._after_batch = after_batch
        self._active = False
        self._tick_ms = tick_ms
        self._batch = batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._job: str | None = None
        self._due = 0.0
        self.lags: deque[float] = deque(maxlen=10000)
        self.drains: deque[float] = deque(maxlen=10000)  # how long each non-empty tick took

    def put(self, item: object) -> None:
        """Queue an item. Safe from any thread; never touches Tk."""
        self._queue.put(item)

    def on_event(self, event: Event) -> None:
        """The engine listener: called from worker threads, only queues the event."""
        self._queue.put(event)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the main thread at the next drain. Safe from any thread."""
        self._queue.put(MainThreadCall(fn))

    def start(self) -> None:
        """Begin draining (main thread)."""
        if not self._active:
            COLLECTOR.started()
        self._active = True
        if self._job is None:
            self._schedule()

    def stop(self) -> None:
        """Stop draining (main thread); queued items stay queued. Also works from inside a
        handled item (e.g. a result that destroys the window): no further tick is scheduled."""
        if self._active:
            COLLECTOR.stopped()
        self._active = False
        if self._job is not None:
            self._root.after_cancel(self._job)
            self._job = None

    def _schedule(self) -> None:
        self._due = time.monotonic() + self._tick_ms / 1000
        self._job = self._root.after(self._tick_ms, self._drain)

    def _drain(self) -> None:
        """Handle up to one batch, coalesced; record how late this tick ran.

        ``after_batch`` (when given) runs once after a non-empty batch, so a window can redraw
        what the batch changed once instead of once per event.
        """
        self._job = None
        began = time.monotonic()
        self.lags.append(max(0.0, began - self._due))
        items: list[object] = []
        try:
            while len(items) < self._batch:
                items.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        try:
            for item in coalesce(items):
                self._handle_one(item)
            if items and self._after_batch is not None:
                self._after_batch()
        finally:
            if items:
                self.drains.append(time.monotonic() - began)
            COLLECTOR.collect_due()  # here, on the main thread (MainThreadCollector)
            if self._active:
                self._schedule()

    def _handle_one(self, item: object) -> None:
        """One item; a handler that raises is a bug, logged with its traceback, and the
        rest of the batch is still handled (a lost MainThreadCall once left a window's
        job queue busy for good)."""
        try:
            if isinstance(item, MainThreadCall):
                item.fn()
            else:
                self._handle(item)
        except Exception:
            log.exception("window event handler failed on %r", item)

    def drain_now(self) -> None:
        """Handle everything queued right now (tests and shutdown); a started pump goes on."""
        if self._job is not None:
            self._root.after_cancel(self._job)
            self._job = None
        self._drain()

    def reset_stats(self) -> None:
        """Forget the lags and drain times measured so far (start of a measurement)."""
        self.lags.clear()
        self.drains.clear()

    def lag_stats(self) -> dict[str, float]:
        """p50, p99 and max lag of the drain loop in milliseconds, and how many ticks.

        The lag is how late a tick started; the time a tick itself took (handling a batch
        and redrawing, during which the window answers nothing either) is ``drain_p99`` and
        ``drain_max``, over the ticks that had something to do.
        """
        data = sorted(self.lags)
        drains = sorted(self.drains)

        def pick(values: list[float], q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else 0.0

        return {"p50": pick(data, 0.5), "p99": pick(data, 0.99),
                "max": data[-1] * 1000 if data else 0.0, "ticks": float(len(data)),
                "drain_p99": pick(drains, 0.99),
                "drain_max": drains[-1] * 1000 if drains else 0.0}
