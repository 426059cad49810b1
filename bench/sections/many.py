"""Section 3: many clients at once — N concurrent downloads of one file from each server.

The load generator is ab (``-n N -c N``: N connections at once, one download each), or
wrk. Each server's peak RSS (VmHWM, reset before each run) and peak thread count (sampled
every 50 ms from /proc/PID/status) are taken over that run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .. import loadgen
from ..datafiles import data_dir, random_file, warm
from ..measure import (
    Sampler,
    Stats,
    children_cpu_seconds,
    cpu_seconds,
    peak_rss_kib,
    reset_peak,
    rotated,
    stats,
)
from ..modes import size_label
from ..outcome import Check, Section, fmt, paired_ratios
from ..peers import Peer, PeerError, start_filecast, start_http_server, start_nginx
from . import Context

COLUMNS = ["server", "clients", "completed", "failed", "GB/s (min–max)", "p50 s", "p99 s",
           "peak RSS MiB", "peak threads", "server CPU s", "load gen CPU s", "runs", "note"]
FILECAST, NGINX, HTTP_SERVER = "Filecast", "nginx", "http.server"
Run = dict[str, float | str | None]  # one ab/wrk run against one server
PAUSE = 1.0  # lets the previous run's sockets and threads wind down


def _one(peer: Peer, clients: int, size: int, ctx: Context) -> Run:
    pids = peer.pids()
    reset_ok = reset_peak(pids)
    server_cpu, loadgen_cpu = cpu_seconds(pids), children_cpu_seconds()
    with Sampler(peer.pids) as sampler:
        load = loadgen.run(peer.url(f"random-{size_label(size).replace(' ', '')}.bin"),
                           clients, size, ctx.mode.request_timeout, ctx.work, ctx.loadgen)
    rss = peak_rss_kib(peer.pids()) if reset_ok else sampler.peak_rss_kib
    # CPU seconds are steadier than GB/s on a shared machine, and say who is the limit:
    # a single-threaded load generator near one core's worth of seconds per second is.
    return {"completed": load.completed, "failed": load.failed, "gbps": load.gbps,
            "p50": load.p50, "p99": load.p99, "rss_mib": rss / 1024,
            "threads": sampler.peak_threads, "seconds": load.seconds, "note": load.note,
            "tool": load.tool, "server_cpu": cpu_seconds(peer.pids()) - server_cpu,
            "loadgen_cpu": children_cpu_seconds() - loadgen_cpu}


def run(ctx: Context) -> Section:
    """For each client count: rounds of Filecast, nginx and http.server, interleaved."""
    mode = ctx.mode
    size = mode.many_size
    path = random_file(size)
    warm(path)
    section = Section("many", f"3. Many clients: concurrent downloads of a {size_label(size)}"
                      " file", COLUMNS)
    tool = loadgen.available(ctx.loadgen)
    if tool is None:
        section.rows.append(["(all)", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "0",
                             "neither ab nor wrk: " + ctx.why_missing("ab")])
        return section
    work = ctx.scratch("many")
    starters = [(FILECAST, lambda: start_filecast(work, [path])),
                (NGINX, lambda: start_nginx(work, data_dir())),
                (HTTP_SERVER, lambda: start_http_server(work, data_dir()))]
    peers: dict[str, Peer] = {}
    missing: dict[str, str] = {}
    results: dict[tuple[str, int], list[Run]] = {}
    try:
        for name, start in starters:
            try:
                peers[name] = start()
            except PeerError as error:
                missing[name] = str(error)
        for clients in mode.many_clients:
            budget = ctx.budget()  # one per client count: http.server alone can take minutes
            for index in budget.runs(mode.many_runs):
                for name in rotated(list(peers), index):
                    peer = peers[str(name)]
                    if not peer.alive():
                        continue
                    results.setdefault((peer.name, clients), []).append(
                        _one(peer, clients, size, ctx))
                    time.sleep(PAUSE)
    finally:
        for peer in peers.values():
            peer.stop()
    _table(section, results, missing, mode.many_clients)
    _checks(section, results, mode.many_clients)
    how = (" -q -r -n N -c N (HTTP/1.0, all connections at once, one download each);"
           " p50/p99 = ab's time per download, from connect until the server closes the"
           " connection") if tool == "ab" else (
        " with a Lua script: -c N, one download per connection (HTTP/1.1 keep-alive);"
        " p50/p99 = wrk's latency, request to last byte")
    section.notes.append(f"load generator: {tool}{how}")
    section.notes.append("peak RSS = VmHWM of the server's processes (nginx: master + workers),"
                         " reset through /proc/PID/clear_refs before each run")
    section.notes.append("CPU s = user + system seconds over the run (medians): the server's"
                         " processes from /proc/PID/stat, the load generator's from getrusage;"
                         " a load generator using about one second per second is saturated")
    if any(len(runs) < mode.many_runs for runs in results.values()):
        section.notes.append("some rows have fewer runs: the time budget ran out")
    return section


def _values(runs: Sequence[Run], key: str) -> list[float | None]:
    return [float(r[key]) if isinstance(r[key], (int, float)) else None for r in runs]


def _table(section: Section, results: dict[tuple[str, int], list[Run]],
           missing: dict[str, str], counts: Sequence[int]) -> None:
    for clients in counts:
        for name in (FILECAST, NGINX, HTTP_SERVER):
            runs = results.get((name, clients), [])
            if not runs:
                why = missing.get(name, "not measured")
                section.rows.append([name, str(clients), "—", "—", "—", "—", "—", "—", "—", "—",
                                     "—", "0", why[:120]])
                continue
            g = stats(_values(runs, "gbps"))
            cells = {k: stats(_values(runs, k))
                     for k in ("completed", "failed", "p50", "p99", "server_cpu", "loadgen_cpu")}
            rss = max(_values(runs, "rss_mib"), key=lambda v: v or 0.0)
            threads = max(_values(runs, "threads"), key=lambda v: v or 0.0)
            notes = sorted({str(r["note"]) for r in runs if r["note"]})
            section.rows.append([
                name, str(clients),
                fmt(cells["completed"].median if cells["completed"] else None, 0),
                fmt(cells["failed"].median if cells["failed"] else None, 0),
                f"{fmt(g.median)} ({fmt(g.min)}–{fmt(g.max)})" if g else "—",
                fmt(cells["p50"].median if cells["p50"] else None),
                fmt(cells["p99"].median if cells["p99"] else None),
                fmt(rss, 1), fmt(threads, 0), _median(cells["server_cpu"]),
                _median(cells["loadgen_cpu"]), str(len(runs)), "; ".join(notes)[:160]])
            section.data[f"{name} {clients}"] = {
                "runs": runs,
                **{k: (s.as_dict() if s else None) for k, s in cells.items()},
                "gbps": g.as_dict() if g else None, "peak_rss_mib": rss, "peak_threads": threads}


def _cpu_context(ours: Sequence[Run], theirs: Sequence[Run]) -> str:
    """Who spent the CPU: the servers' seconds, and how busy the load generator was."""
    cpu = stats(paired_ratios(_values(ours, "server_cpu"), _values(theirs, "server_cpu")))
    busy = stats([float(r["loadgen_cpu"]) / float(r["seconds"])  # type: ignore[arg-type]
                  for r in theirs if isinstance(r.get("loadgen_cpu"), float)
                  and isinstance(r.get("seconds"), (int, float)) and r["seconds"]])
    parts = []
    if cpu is not None:
        parts.append(f"server CPU Filecast ÷ nginx {cpu.median:.2f}×")
    if busy is not None:
        parts.append(f"load generator busy {busy.median:.2f} CPU-s per s beside nginx")
    return "; ".join(parts)


def _median(s: Stats | None) -> str:
    """A median for a table cell."""
    return fmt(s.median if s else None)


def _checks(section: Section, results: dict[tuple[str, int], list[Run]],
            counts: Sequence[int]) -> None:
    clients = max(counts)
    ours = results.get((FILECAST, clients), [])
    theirs = results.get((NGINX, clients), [])
    failed = sum(int(v or 0) for v in _values(ours, "failed")) if ours else None
    ratio = stats(paired_ratios(_values(ours, "gbps"), _values(theirs, "gbps")))
    p99 = stats(paired_ratios(_values(ours, "p99"), _values(theirs, "p99")))
    rss = max((v or 0.0 for v in _values(ours, "rss_mib")), default=None) if ours else None
    section.checks += [
        Check(f"{clients} clients: Filecast downloads failed (all runs)",
              float(failed) if failed is not None else None, 0, "<=", "failed"),
        Check(f"{clients} clients: aggregate GB/s Filecast ÷ nginx",
              ratio.median if ratio else None, 0.75, ">=", detail=_cpu_context(ours, theirs)),
        Check(f"{clients} clients: p99 finish time Filecast ÷ nginx",
              p99.median if p99 else None, 1.5, "<="),
        Check(f"{clients} clients: Filecast server peak RSS", rss, 100, "<=", "MiB"),
    ]
