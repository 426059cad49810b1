"""Section 6: the server window under load — lag of its ``after()`` drain (p50, p99, max).

The window (core/gui/server_window.py) runs in bench/window_probe.py on a private Xvfb
screen and serves the 10 MiB file; ab keeps N connections downloading it at once, each
starting a new download when one ends, for a fixed time (``ab -t S -n 50000 -c N``; ab
checks its time limit when a download ends, so the file must be small enough to end
often), then the probe reports ``window.pump.lag_stats()``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from .. import loadgen
from ..datafiles import random_file, warm
from ..measure import Sampler, free_port, preexec_nofile, run_timed, stats
from ..modes import size_label
from ..outcome import STAT_COLUMNS, Check, Section, stat_row
from ..peers import REPO
from ..tools import which
from ..xvfb import screen
from . import Context

WINDOW_FILE = REPO / "core" / "gui" / "server_window.py"
READY_TIMEOUT = 90.0
MAX_RUNS = 3
AB_MAX_REQUESTS = 50000  # what ab -t implies; the time limit ends the run
AB_GRACE = 60.0  # after -t: the downloads in flight when ab's time is up


def skip_reason() -> str | None:
    """Why the section cannot run here, or None."""
    if not WINDOW_FILE.exists() or "class ServerWindow" not in WINDOW_FILE.read_text():
        return "core/gui/server_window.py has no ServerWindow yet"
    if which("Xvfb") is None:
        return "Xvfb is not available"
    if which("ab") is None:
        return "ab (apache2-utils) is not available to drive the clients"
    return None


def _lines(stream: object, out: queue.SimpleQueue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line.strip())


def _wait_for(lines: queue.SimpleQueue[str], prefix: str, timeout: float) -> str | None:
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line.startswith(prefix):
                return line[len(prefix):].strip()
    except queue.Empty:
        return None


def _send(proc: subprocess.Popen[str], command: str) -> bool:
    """Write a command line to the probe; False when it is gone."""
    try:
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


def _one(ctx: Context, display: str, path: Path) -> tuple[dict[str, float] | None, str, int]:
    """(lag stats, error, peak threads of the window process) of one loaded window."""
    mode = ctx.mode
    work = ctx.scratch("window")
    env = {**os.environ, "DISPLAY": display, "FILECAST_CONFIG_DIR": str(work / "config")}
    env.pop("XAUTHORITY", None)
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "window_probe.py"), str(path),
                             str(work / "Clients.txt"), str(free_port())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(REPO),
                            preexec_fn=preexec_nofile)
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        port = _wait_for(lines, "READY", READY_TIMEOUT)
        if port is None:
            return None, "the window did not start serving", 0
        if not _send(proc, "START"):
            return None, "the window closed before the load", 0
        url = f"http://127.0.0.1:{port}/files/{path.name}"
        with Sampler(lambda: [proc.pid]) as sampler:
            command = loadgen.ab_command(url, mode.window_clients, mode.request_timeout,
                                         seconds=mode.window_seconds)
            command[command.index("-n") + 1] = str(AB_MAX_REQUESTS)
            run_timed(command, mode.window_seconds + AB_GRACE, preexec=preexec_nofile)
        if not _send(proc, "STOP"):
            return None, "the window closed during the load", sampler.peak_threads
        report = _wait_for(lines, "LAG", 30.0)
        if report is None:
            return None, "the window sent no lag report", sampler.peak_threads
        return json.loads(report), "", sampler.peak_threads
    finally:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run(ctx: Context) -> Section:
    """Up to three loaded windows; lag figures are medians over them."""
    mode = ctx.mode
    section = Section("window", f"6. Server window under load ({mode.window_clients} clients"
                      " downloading)", STAT_COLUMNS)
    reason = skip_reason()
    if reason:
        section.rows.append(["window drain lag", "—", "—", "0", "ms", f"skipped: {reason}"])
        section.notes.append(f"skipped: {reason}")
        section.checks.append(Check("window lag p99 under load", None, 100, "<", "ms", reason))
        return section
    path = random_file(mode.many_size)
    warm(path)
    reports: list[dict[str, float]] = []
    threads: list[float | None] = []
    errors: list[str] = []
    budget = ctx.budget()
    with screen() as display:
        if display is None:
            errors.append("Xvfb did not start")
        else:
            for _ in budget.runs(min(mode.runs, MAX_RUNS)):
                report, error, peak_threads = _one(ctx, display, path)
                if report is not None:
                    reports.append(report)
                    threads.append(peak_threads)
                if error:
                    errors.append(error)
    for key in ("p50", "p99", "max"):
        label = f"drain lag {key}"
        row, data = stat_row(label, [r.get(key) for r in reports], "ms", 1)
        section.rows.append(row)
        section.data[f"lag_{key}_ms"] = data
    for key, label in (("ticks", "drain ticks measured"),
                       ("peak_downloading", "peak clients shown downloading")):
        row, data = stat_row(label, [r.get(key) for r in reports], "", 0)
        section.rows.append(row)
        section.data[key] = data
    row, data = stat_row("window process peak threads", threads, "", 0)
    section.rows.append(row)
    section.data["peak_threads"] = data
    p99 = stats([r.get("p99") for r in reports])
    section.checks.append(Check(f"window lag p99 with {mode.window_clients} clients downloading",
                                p99.median if p99 else None, 100, "<", "ms"))
    section.notes += errors[:5]
    section.notes.append(f"clients: ab -t {mode.window_seconds:g} -c {mode.window_clients} on the"
                         f" {size_label(mode.many_size)} file (each connection downloads it,"
                         " closes, and a new one starts), window on a private Xvfb")
    return section
