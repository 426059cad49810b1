"""core/gui/pump.py: the one road from engine threads to a window's Tk main thread.

Tk may only be touched on the main thread, so worker threads only ``put`` and the pump
drains on the main thread with ``after()``, in capped batches, keeping only the newest
progress of each subject. These tests put events from 8 threads into a pump on a real Tk
root (under Xvfb) and check where, in what order and in which batches they arrive, and
that a stopped pump leaves nothing scheduled.
"""

from __future__ import annotations

import gc
import threading
import tkinter as tk
from typing import ClassVar

import pytest
from guikit import pump_for, pump_until

from core.events import (
    ClientInfo,
    DownloadProgress,
    HashProgress,
    ServerStopped,
    TransferProgress,
)
from core.gui.pump import EventPump, coalesce

pytestmark = pytest.mark.gui

ANA, BEN = ClientInfo(1, ("10.0.0.5", 50000)), ClientInfo(2, ("10.0.0.6", 50001))
WORKERS, EACH, BATCH = 8, 150, 100


def download(file: str, received: int) -> DownloadProgress:
    return DownloadProgress(file, received, 1000, 10.0, None)


# --- coalesce ------------------------------------------------------------------------------


def test_only_the_newest_progress_of_each_subject_survives() -> None:
    items: list[object] = [download("a", 1), download("b", 1), download("a", 2),
                           download("b", 2), download("a", 3)]
    assert coalesce(items) == [download("b", 2), download("a", 3)]


def test_subjects_are_told_apart_by_kind_and_key() -> None:
    items: list[object] = [
        TransferProgress(ANA, "x", 1, 9, 9), TransferProgress(BEN, "x", 1, 9, 9),
        TransferProgress(ANA, "y", 2, 9, 9),  # the same client: newer, whatever the file
        HashProgress("x", 1, 9), download("x", 1), HashProgress("x", 2, 9),
    ]
    assert coalesce(items) == [TransferProgress(BEN, "x", 1, 9, 9),
                               TransferProgress(ANA, "y", 2, 9, 9), download("x", 1),
                               HashProgress("x", 2, 9)]


def test_everything_else_is_kept_in_order_even_when_equal() -> None:
    items: list[object] = ["one", ServerStopped(), download("a", 1), "two", ServerStopped(),
                           download("a", 2), "three"]
    assert coalesce(items) == ["one", ServerStopped(), "two", ServerStopped(),
                               download("a", 2), "three"]
    assert coalesce([]) == []


# --- EventPump on a real Tk root --------------------------------------------------------------


class Window:
    """What a window does with a pump: handle items and redraw after each batch."""

    def __init__(self) -> None:
        self.handled: list[object] = []
        self.threads: set[threading.Thread] = set()
        self.batches: list[int] = []
        self._since = 0

    def handle(self, item: object) -> None:
        self.threads.add(threading.current_thread())
        self.handled.append(item)
        self._since += 1

    def after_batch(self) -> None:
        self.threads.add(threading.current_thread())
        self.batches.append(self._since)
        self._since = 0


def test_events_from_eight_threads_reach_the_main_thread_in_batches(tk_root: tk.Tk) -> None:
    window = Window()
    pump = EventPump(tk_root, window.handle, tick_ms=5, batch=BATCH,
                     after_batch=window.after_batch)
    pump.start()
    go = threading.Barrier(WORKERS)

    def worker(number: int) -> None:
        go.wait()
        for seq in range(EACH):
            pump.put(("worker", number, seq))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    pump_until(tk_root, lambda: len(window.handled) == WORKERS * EACH, timeout=5,
               what="every event handled")
    for thread in threads:
        thread.join()
    pump.stop()

    assert window.threads == {threading.main_thread()}
    assert threading.current_thread() is threading.main_thread()
    for number in range(WORKERS):  # each thread's events in the order it put them
        mine = [item for item in window.handled if item[1] == number]  # type: ignore[index]
        assert mine == [("worker", number, seq) for seq in range(EACH)]
    # after_batch once per batch, after its items: no handled item is left unredrawn
    assert sum(window.batches) == WORKERS * EACH
    assert all(0 < size <= BATCH for size in window.batches)
    assert len(window.batches) >= WORKERS * EACH // BATCH
    assert len(pump.drains) == len(window.batches)


def test_empty_ticks_do_not_redraw(tk_root: tk.Tk) -> None:
    window = Window()
    pump = EventPump(tk_root, window.handle, tick_ms=5, after_batch=window.after_batch)
    pump.start()
    pump_for(tk_root, 0.1)
    pump.stop()
    assert window.batches == [] and window.handled == []
    assert len(pump.lags) > 3  # the loop did tick


def test_a_flood_of_progress_costs_one_handled_event_per_subject(tk_root: tk.Tk) -> None:
    window = Window()
    pump = EventPump(tk_root, window.handle, after_batch=window.after_batch)
    for received in range(500):
        pump.on_event(download("a", received))
        pump.on_event(download("b", received))
    pump.put("the end")
    pump.drain_now()
    assert window.handled == [download("a", 499), download("b", 499), "the end"]
    assert window.batches == [3]


def test_a_call_from_a_worker_runs_on_the_main_thread(tk_root: tk.Tk) -> None:
    pump = EventPump(tk_root, lambda item: None, tick_ms=5)
    ran: list[threading.Thread] = []
    pump.start()
    worker = threading.Thread(target=lambda: pump.call_soon(
        lambda: ran.append(threading.current_thread())))
    worker.start()
    worker.join()
    pump_until(tk_root, lambda: ran, timeout=2, what="the call")
    pump.stop()
    assert ran == [threading.main_thread()]


def test_a_stopped_pump_handles_nothing_and_leaves_nothing_scheduled(tk_root: tk.Tk) -> None:
    window = Window()
    pump = EventPump(tk_root, window.handle, tick_ms=5)
    pump.start()
    pump.put(1)
    pump_until(tk_root, lambda: window.handled == [1], timeout=2, what="the first item")
    pump.stop()
    assert tk_root.tk.call("after", "info") == ""  # no tick left to fire on a closed window
    pump.put(2)
    pump_for(tk_root, 0.1)
    assert window.handled == [1]
    pump.drain_now()  # queued items stayed queued
    assert window.handled == [1, 2]
    assert tk_root.tk.call("after", "info") == ""  # and draining them started nothing
    pump.stop()  # stopping twice is harmless


def test_a_pump_stopped_by_an_item_it_handles_schedules_no_more_ticks(tk_root: tk.Tk) -> None:
    """A result that closes the window stops the pump from inside a drain."""
    window = Window()
    pump = EventPump(tk_root, lambda item: pump.stop() if item == "close" else
                     window.handle(item), tick_ms=5)
    pump.start()
    pump.put("close")
    pump.put("same batch")
    pump_until(tk_root, lambda: window.handled == ["same batch"], timeout=2, what="the batch")
    pump.put("later")
    pump_for(tk_root, 0.1)
    assert window.handled == ["same batch"]
    assert tk_root.tk.call("after", "info") == ""


def test_draining_now_keeps_a_started_pump_going(tk_root: tk.Tk) -> None:
    window = Window()
    pump = EventPump(tk_root, window.handle, tick_ms=5)
    pump.start()
    pump.put(1)
    pump.drain_now()
    pump.put(2)
    pump_until(tk_root, lambda: window.handled == [1, 2], timeout=2, what="the next tick")
    pump.stop()


def test_a_handler_that_raises_loses_no_other_event(
        tk_root: tk.Tk, caplog: pytest.LogCaptureFixture) -> None:
    """A bug in one handler once dropped the rest of its batch, MainThreadCalls included
    (a JobQueue's result never arrived and the window's jobs stayed busy for good)."""
    window = Window()

    def handle(item: object) -> None:
        if item == "bug":
            raise RuntimeError("a bug in one handler")
        window.handle(item)

    pump = EventPump(tk_root, handle, tick_ms=5)
    results: list[str] = []
    pump.put("bug")
    pump.put("after the bug")
    pump.call_soon(lambda: results.append("a finished job's result"))
    pump.start()
    pump_for(tk_root, 0.2)
    pump.stop()
    bugs = [r for r in caplog.records
            if r.exc_info and "a bug in one handler" in str(r.exc_info[1])]
    assert len(bugs) == 1  # the bug is logged with its traceback; the pump went on
    assert window.handled == ["after the bug"]
    assert results == ["a finished job's result"]


class Cycle:
    """A reference cycle with a finalizer that notes which thread collected it."""

    collected_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.collected_on.append(threading.current_thread().name)


def test_garbage_is_collected_on_the_main_thread_while_a_window_runs(tk_root: tk.Tk) -> None:
    """A window's objects are cycles holding the Tcl interpreter: collected by a worker
    thread, Tcl aborted the whole process (seen once an archive's writer threads were busy).
    While a pump runs, cycles made by a busy worker are collected by the pump's tick."""
    pump = EventPump(tk_root, lambda _item: None)
    pump.start()
    try:
        assert not gc.isenabled()
        Cycle.collected_on.clear()

        def busy() -> None:  # a worker allocating a lot, as the engine does
            for _ in range(1000):  # past the collector's threshold (700)
                Cycle()

        worker = threading.Thread(target=busy, name="busy-worker")
        worker.start()
        worker.join()
        pump_until(tk_root, lambda: len(Cycle.collected_on) == 1000, what="the cycles collected")
        assert set(Cycle.collected_on) == {threading.main_thread().name}
    finally:
        pump.stop()
    assert gc.isenabled()
