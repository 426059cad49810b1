"""core/gui/worker.py and core/gui/prefs.py: slow work off the Tk thread, results back on it.

A window never blocks its main thread: engine calls run in a worker and their result (or the
sentence of their error) comes back through the pump; a bug becomes one plain sentence and
a logged traceback. A window's calls run one at a time, so Stop cannot overtake Start.
Settings are written by a writer thread, in order, and read back once written. These tests
use a real Tk root under Xvfb and a settings folder under tmp_path.
"""

from __future__ import annotations

import logging
import threading
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from guikit import pump_for, pump_until

from core import settings
from core.errors import FilecastError, PortInUseError
from core.gui import prefs
from core.gui.pump import EventPump
from core.gui.worker import BUG_MESSAGE, JobQueue, run_in_background

pytestmark = pytest.mark.gui


@pytest.fixture
def pump(tk_root: tk.Tk) -> Iterator[EventPump]:
    pump = EventPump(tk_root, lambda item: None, tick_ms=5)
    pump.start()
    yield pump
    pump.stop()


class Outcome:
    """What came back to the main thread, and on which thread."""

    def __init__(self) -> None:
        self.values: list[object] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, value: object) -> None:
        self.threads.append(threading.current_thread())
        self.values.append(value)


def test_a_result_comes_back_on_the_main_thread(tk_root: tk.Tk, pump: EventPump) -> None:
    done, failed = Outcome(), Outcome()
    worked_on: list[threading.Thread] = []

    def work() -> int:
        worked_on.append(threading.current_thread())
        return 42

    thread = run_in_background(pump, work, on_done=done, on_error=failed, name="answer")
    pump_until(tk_root, lambda: done.values, timeout=2, what="the result")
    assert done.values == [42] and failed.values == []
    assert done.threads == [threading.main_thread()]
    assert worked_on == [thread] and thread is not threading.main_thread()
    assert thread.daemon and thread.name == "answer"  # never keeps a closed program alive


def test_a_filecast_error_reaches_on_error_as_it_is(tk_root: tk.Tk, pump: EventPump) -> None:
    done, failed = Outcome(), Outcome()
    error = PortInUseError("Port 5001 is taken by another program.")

    def work() -> None:
        raise error

    run_in_background(pump, work, on_done=done, on_error=failed)
    pump_until(tk_root, lambda: failed.values, timeout=2, what="the error")
    assert failed.values == [error] and failed.values[0] is error
    assert failed.threads == [threading.main_thread()] and done.values == []


def test_a_bug_becomes_one_plain_sentence_and_a_logged_traceback(
        tk_root: tk.Tk, pump: EventPump, caplog: pytest.LogCaptureFixture) -> None:
    done, failed = Outcome(), Outcome()

    def work() -> None:
        raise KeyError("internal detail")

    run_in_background(pump, work, on_done=done, on_error=failed, name="job-with-a-bug")
    pump_until(tk_root, lambda: failed.values, timeout=2, what="the error")
    [error] = failed.values
    assert type(error) is FilecastError and str(error) == BUG_MESSAGE
    assert isinstance(error.__cause__, KeyError)
    [record] = [r for r in caplog.records if r.name == "filecast.gui"]
    assert "job-with-a-bug" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError  # the traceback


# --- JobQueue ------------------------------------------------------------------------------


class Journal:
    """Jobs that note when their work starts and when their callback runs."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def note(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def work(self, name: str, gate: threading.Event | None = None,
             error: Exception | None = None) -> Callable[[], str]:
        def run() -> str:
            self.note(f"start {name}")
            if gate is not None:
                assert gate.wait(5)
            if error is not None:
                raise error
            return name
        return run

    def done(self, value: Any) -> None:
        self.note(f"done {value}")

    def failed(self, error: FilecastError) -> None:
        self.note(f"failed {error}")

    def add(self, jobs: JobQueue, name: str, **kwargs: Any) -> None:
        jobs.add(name, self.work(name, **kwargs), self.done, self.failed)


def test_jobs_run_one_at_a_time_in_order(tk_root: tk.Tk, pump: EventPump) -> None:
    journal, jobs, gate = Journal(), JobQueue(pump), threading.Event()
    assert not jobs.busy
    journal.add(jobs, "start", gate=gate)
    journal.add(jobs, "stop", error=PortInUseError("no"))
    journal.add(jobs, "close")
    pump_for(tk_root, 0.1)
    assert journal.lines == ["start start"]  # the others wait, however long the first takes
    assert jobs.busy
    gate.set()
    pump_until(tk_root, lambda: len(journal.lines) == 6, timeout=3, what="three jobs")
    assert journal.lines == ["start start", "done start", "start stop", "failed no",
                             "start close", "done close"]
    assert not jobs.busy


def test_clear_drops_the_waiting_jobs_not_the_running_one(tk_root: tk.Tk,
                                                           pump: EventPump) -> None:
    journal, jobs, gate = Journal(), JobQueue(pump), threading.Event()
    journal.add(jobs, "one", gate=gate)
    journal.add(jobs, "two")
    journal.add(jobs, "three")
    jobs.clear()
    gate.set()
    pump_until(tk_root, lambda: "done one" in journal.lines, timeout=3, what="the first job")
    pump_for(tk_root, 0.1)
    assert journal.lines == ["start one", "done one"]
    assert not jobs.busy
    journal.add(jobs, "four")  # the queue still works afterwards
    pump_until(tk_root, lambda: "done four" in journal.lines, timeout=3, what="a new job")


def test_a_closed_queue_calls_nothing_back_and_starts_nothing(tk_root: tk.Tk,
                                                              pump: EventPump) -> None:
    journal, jobs, gate = Journal(), JobQueue(pump), threading.Event()
    journal.add(jobs, "one", gate=gate)
    journal.add(jobs, "two")
    pump_until(tk_root, lambda: journal.lines == ["start one"], timeout=2, what="the start")
    jobs.close()
    gate.set()
    pump_for(tk_root, 0.2)
    journal.add(jobs, "three")
    pump_for(tk_root, 0.1)
    assert journal.lines == ["start one"]  # no callback into a window that is gone


# --- prefs: remember_quietly / load_remembered ---------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Its own settings folder; every queued write finished before the next test."""
    folder = tmp_path / "config"
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(folder))
    yield folder
    prefs.load_remembered()


def test_remembering_never_waits_for_the_disk(config: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    gate, writers = threading.Event(), []
    real_save = prefs.save_settings

    def slow_save(values: dict[str, Any]) -> None:
        writers.append(threading.current_thread())
        assert gate.wait(5)  # a slow disk
        real_save(values)

    monkeypatch.setattr(prefs, "save_settings", slow_save)
    began = time.monotonic()
    prefs.remember_quietly(server_port=5002)
    prefs.remember_quietly(server_port=5003)
    prefs.remember_quietly(client_download_folder="/srv/in")
    assert time.monotonic() - began < 0.5  # the Tk thread went on
    assert settings.load_settings() == {}  # nothing on disk yet
    gate.set()
    assert prefs.load_remembered() == {"server_port": 5003,
                                       "client_download_folder": "/srv/in"}  # in order
    assert writers and threading.current_thread() not in writers
    assert settings.load_settings() == prefs.load_remembered()


def test_a_failed_write_is_only_logged_and_later_ones_still_land(
        config: Path, caplog: pytest.LogCaptureFixture) -> None:
    config.parent.mkdir(exist_ok=True)
    config.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="filecast.gui"):
        prefs.remember_quietly(server_port=5002)
        assert prefs.load_remembered() == {}  # returns, though the write failed
    assert any("Could not save the settings" in r.getMessage() for r in caplog.records)
    config.unlink()
    prefs.remember_quietly(server_port=5004)
    assert prefs.load_remembered() == {"server_port": 5004}


def test_the_writer_thread_ends_when_nothing_is_left(config: Path) -> None:
    prefs.remember_quietly(server_port=5002)
    prefs.load_remembered()
    deadline = time.monotonic() + 2
    while any(t.name == "filecast-gui-settings" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the settings writer outlived its work"
        time.sleep(0.01)
