"""Many concurrent downloads with a load generator that is not ours: ab, else wrk.

``ab -n N -c N`` opens N connections at once and downloads the file once on each: exactly
"N concurrent downloads", and it ends when the last one does. wrk (the fallback) always runs
for its whole ``-d``; a Lua script makes each connection download once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .measure import preexec_nofile, run_timed
from .tools import which

WRK_SECONDS = 60  # wrk always runs this long; every download must end within it
_WRK_ONCE = """\
-- one download per connection, then idle; done() prints the figures as JSON
local calls, quota = 0, 0
function init(args) quota = tonumber(args[1]) end
function delay()
  calls = calls + 1
  if calls > quota then
    if calls >= 2 * quota then wrk.thread:stop() end
    return 3600000
  end
  return 0
end
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "bytes": %d, "status": %d, "connect": %d, "read": %d, "write": %d,'
    .. ' "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.bytes, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Load:
    """What N concurrent downloads of one file achieved."""

    tool: str
    clients: int
    completed: int
    failed: int
    seconds: float  # until the last download ended
    gbps: float | None  # body bytes of completed downloads / seconds
    p50: float | None  # seconds to finish one download
    p99: float | None
    note: str = ""


def available(preferred: str = "ab") -> str | None:
    """The load generator to use: ``preferred`` when installed, else the other, else None."""
    for tool in (preferred, "wrk" if preferred == "ab" else "ab"):
        if which(tool):
            return tool
    return None


def run(url: str, clients: int, size: int, timeout: float, work: Path,
        preferred: str = "ab") -> Load:
    """N concurrent downloads of ``url`` (``size`` bytes each); bounded by ``timeout``."""
    tool = available(preferred)
    if tool == "ab":
        return _ab(url, clients, size, timeout)
    if tool == "wrk":
        return _wrk(url, clients, size, timeout, work)
    raise RuntimeError("neither ab nor wrk is available")


def _field(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.MULTILINE)
    return match[1] if match else None


def ab_command(url: str, clients: int, timeout: float, *, seconds: float | None = None
               ) -> list[str]:
    """``ab -n N -c N`` (``-t`` first when time-limited: -t implies -n 50000).

    No ``-k``: ab speaks HTTP/1.0, so a download ends when the server closes the connection
    (with -k it would wait for Filecast's idle time-out: Filecast keeps an HTTP/1.0
    keep-alive connection open without answering ``Connection: keep-alive``).
    """
    binary = which("ab") or "ab"
    limit = ["-t", str(max(1, round(seconds)))] if seconds else []
    return [binary, "-q", "-r", *limit, "-n", str(clients), "-c", str(clients),
            "-s", str(max(1, round(timeout))), url]


def _ab(url: str, clients: int, size: int, timeout: float) -> Load:
    ran = run_timed(ab_command(url, clients, timeout), timeout + 30, preexec=preexec_nofile)
    out = ran.stdout + ran.stderr
    complete = _field(r"^Complete requests:\s+(\d+)", out)
    if complete is None:  # ab gave up part-way ("Total of X requests completed")
        done = int(_field(r"Total of (\d+) requests completed", out) or 0)
        why = "timed out" if ran.timed_out else (out.strip().splitlines() or ["?"])[-1]
        return Load("ab", clients, done, clients - done, ran.seconds, None, None, None,
                    f"ab stopped early: {why}")
    failed = int(_field(r"^Failed requests:\s+(\d+)", out) or 0)
    non2xx = int(_field(r"^Non-2xx responses:\s+(\d+)", out) or 0)
    completed = max(0, int(complete) - failed - non2xx)
    seconds = float(_field(r"^Time taken for tests:\s+([\d.]+)", out) or ran.seconds)
    p50 = _field(r"^\s+50%\s+(\d+)", out)
    p99 = _field(r"^\s+99%\s+(\d+)", out)
    missing = clients - int(complete)
    return Load("ab", clients, completed, clients - completed, seconds,
                completed * size / seconds / 1e9 if seconds > 0 else None,
                int(p50) / 1000 if p50 else None, int(p99) / 1000 if p99 else None,
                f"{missing} never answered" if missing > 0 else "")


def _wrk(url: str, clients: int, size: int, timeout: float, work: Path) -> Load:
    script = work / "wrk-once.lua"
    script.write_text(_WRK_ONCE)
    binary = which("wrk") or "wrk"
    threads = min(2, clients)
    seconds = max(2, round(min(timeout, WRK_SECONDS)))
    cmd = [binary, f"-t{threads}", f"-c{clients}", f"-d{seconds}s", f"--timeout={seconds}s",
           "-s", str(script), url, "--", str(max(1, clients // threads))]
    ran = run_timed(cmd, seconds + 30, preexec=preexec_nofile)
    line = next((x for x in ran.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        return Load("wrk", clients, 0, clients, ran.seconds, None, None, None,
                    f"wrk failed: {(ran.stderr or ran.stdout).strip()[-200:]}")
    data = json.loads(line)
    completed = max(0, int(data["requests"]) - int(data["status"]))
    last = data["max_us"] / 1e6
    return Load("wrk", clients, completed, clients - completed, last,
                completed * size / last / 1e9 if last > 0 else None,
                data["p50_us"] / 1e6, data["p99_us"] / 1e6,
                "wrk: seconds = the slowest download (wrk runs for its whole -d)")
