"""Timing, statistics, bounded subprocesses and /proc sampling (peak RSS, thread count)."""

from __future__ import annotations

import contextlib
import math
import os
import resource
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

MiB = 1024 * 1024
GiB = 1024 * MiB
SAMPLE_INTERVAL = 0.05
WANTED_NOFILE = 65536


@dataclass(frozen=True)
class Stats:
    """Median, min and max of several runs of one figure."""

    median: float
    min: float
    max: float
    runs: int
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"median": self.median, "min": self.min, "max": self.max, "runs": self.runs,
                "values": list(self.values)}


def stats(values: Sequence[float | None]) -> Stats | None:
    """Stats of the finite values, or None when there are none."""
    good = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not good:
        return None
    return Stats(statistics.median(good), min(good), max(good), len(good), tuple(good))


def raise_nofile() -> int:
    """Lift RLIMIT_NOFILE (as root also the hard limit) for this process and its children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in ((WANTED_NOFILE, max(hard, WANTED_NOFILE)), (hard, hard)):
        if target[0] <= soft and soft != resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, target)
            return target[0]
        except (ValueError, OSError):
            continue
    return soft


def preexec_nofile() -> None:
    """``preexec_fn`` for load generators: many sockets need many descriptors."""
    raise_nofile()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float) -> bool:
    """Whether 127.0.0.1:port accepts a connection within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def wait_listening(port: int, timeout: float) -> bool:
    """Whether something listens on TCP ``port`` within ``timeout`` s, without connecting
    (a probe connection would use up a one-shot server such as ``iperf3 -s -1``)."""
    deadline = time.monotonic() + timeout
    wanted = f":{port:04X}"
    while time.monotonic() < deadline:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table, encoding="ascii") as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[1].endswith(wanted) and fields[3] == "0A":  # 0A: LISTEN
                        return True
        time.sleep(0.05)
    return False


@dataclass(frozen=True)
class Ran:
    """A finished (or killed) subprocess."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    @property
    def ok(self) -> bool:
        """Exit 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out


def run_timed(cmd: Sequence[str], timeout: float, *, cwd: str | None = None,
              env: dict[str, str] | None = None,
              preexec: Callable[[], None] | None = None) -> Ran:
    """Run ``cmd`` to the end or kill it after ``timeout`` s; wall time included."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", cwd=cwd, env=env,
                            preexec_fn=preexec)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    return Ran(proc.returncode, out, err, time.perf_counter() - start, timed_out)


# --- /proc ----------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM, VmRSS (KiB) and Threads of a live process; empty when it is gone."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "Threads"):
                    fields[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return fields


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (nginx workers), found through /proc/*/stat."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the live processes ``pids`` used so far, all threads."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5))
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's finished children (the load generators)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reset_peak(pids: Sequence[int]) -> bool:
    """Reset VmHWM of each process (``5`` > clear_refs, Linux ≥ 4.0); False if refused."""
    ok = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


def peak_rss_kib(pids: Sequence[int]) -> int:
    """Sum of VmHWM over ``pids`` (KiB)."""
    return sum(proc_status(pid).get("VmHWM", 0) for pid in pids)


class Sampler:
    """Samples the thread count and RSS of some processes every 50 ms while active."""

    def __init__(self, pids: Callable[[], Sequence[int]], max_seconds: float = 1800.0) -> None:
        self._pids = pids
        self._max = max_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self.peak_threads = 0
        self.peak_rss_kib = 0
        self.samples = 0

    def _sample(self) -> None:
        threads = rss = 0
        for pid in self._pids():
            status = proc_status(pid)
            threads += status.get("Threads", 0)
            rss += status.get("VmRSS", 0)
        self.peak_threads = max(self.peak_threads, threads)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.samples += 1

    def _run(self) -> None:
        deadline = time.monotonic() + self._max
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._sample()
            self._stop.wait(SAMPLE_INTERVAL)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()


class Budget:
    """Bounds a section's repeated runs by count and by time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadline = time.monotonic() + seconds
        self.cut_short = False

    @property
    def expired(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() >= self._deadline

    def runs(self, count: int) -> Iterator[int]:
        """0..count-1, stopping early (and noting it) when the time is up."""
        for index in range(count):
            if index and self.expired:
                self.cut_short = True
                return
            yield index


def rotated(items: Sequence[object], run: int) -> list[object]:
    """``items`` starting at ``run`` mod len: the order changes from run to run."""
    if not items:
        return []
    shift = run % len(items)
    return list(items[shift:]) + list(items[:shift])


def gbps(size: int, seconds: float) -> float | None:
    """Decimal gigabytes per second, or None for a zero/invalid time."""
    return size / seconds / 1e9 if seconds > 0 else None
