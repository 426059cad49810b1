"""Section 1: the loopback ceiling — one TCP stream, best Python (sendfile → recv_into), iperf3."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from ..datafiles import random_file, warm
from ..measure import MiB, free_port, gbps, rotated, run_timed, wait_listening
from ..modes import size_label
from ..outcome import STAT_COLUMNS, Section, missing_row, stat_row
from ..tools import which
from . import Context

RECV_BUFFER = 4 * MiB


def python_stream(path: Path, size: int, timeout: float) -> float | None:
    """GB/s of os.sendfile of the whole file into recv_into of one reused buffer."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        received = [0]

        def receive() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(timeout)
                view = memoryview(bytearray(RECV_BUFFER))
                while received[0] < size:
                    got = conn.recv_into(view)
                    if not got:
                        return
                    received[0] += got

        thread = threading.Thread(target=receive, daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout) as out, \
                open(path, "rb") as f:
            out.setblocking(True)  # os.sendfile wants a blocking socket; SO_SNDTIMEO bounds it
            out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                           struct.pack("ll", int(timeout), 0))
            start = time.perf_counter()
            sent = 0
            while sent < size:
                n = os.sendfile(out.fileno(), f.fileno(), sent, size - sent)
                if n == 0:
                    break
                sent += n
            thread.join(timeout)
            seconds = time.perf_counter() - start
    return gbps(size, seconds) if received[0] == size else None


def iperf3(seconds: int, timeout: float) -> float | None:
    """GB/s one iperf3 stream received on 127.0.0.1 (server and client stopped after)."""
    binary = which("iperf3")
    if binary is None:
        return None
    port = free_port()
    server = subprocess.Popen([binary, "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_listening(port, 10):
            return None
        ran = run_timed([binary, "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J"],
                        timeout)
        if not ran.ok:
            return None
        bits = json.loads(ran.stdout)["end"]["sum_received"]["bits_per_second"]
        return float(bits) / 8 / 1e9
    except (ValueError, KeyError):
        return None
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def run(ctx: Context) -> Section:
    """Interleave the Python stream and iperf3, ``runs`` times each."""
    mode = ctx.mode
    path = random_file(mode.big_size)
    warm(path)
    budget = ctx.budget()
    have_iperf = which("iperf3") is not None
    results: dict[str, list[float | None]] = {"python": [], "iperf3": []}
    for index in budget.runs(mode.runs):
        for what in rotated(["python", "iperf3"], index):
            if what == "python":
                results["python"].append(python_stream(path, mode.big_size,
                                                       mode.request_timeout))
            elif have_iperf:
                results["iperf3"].append(iperf3(mode.iperf_seconds, mode.request_timeout))
    section = Section("loopback", "1. Loopback ceiling (one TCP stream)", STAT_COLUMNS)
    row, data = stat_row(f"Python os.sendfile → recv_into ({size_label(mode.big_size)})",
                         results["python"], "GB/s")
    section.rows.append(row)
    section.data["python_stream_gbps"] = data
    if have_iperf:
        row, data = stat_row(f"iperf3 -t {mode.iperf_seconds}", results["iperf3"], "GB/s")
        section.rows.append(row)
        section.data["iperf3_gbps"] = data
    else:
        section.rows.append(missing_row("iperf3", ctx.why_missing("iperf3")))
    if budget.cut_short:
        section.notes.append("stopped before all runs: the section's time budget ran out")
    return section
