"""Section 4: memory — peak RSS of the Filecast server and client, small file against huge one.

For each size a fresh server (``python3 -m core serve``) offers the file, hashes it and
serves one download to Filecast's client (bench/client_probe.py); the server's VmHWM is
read after that download, the client reports its own. The huge file is sparse (truncate),
so the server reads zeros from the page cache; the client writes real bytes to /tmp.
"""

from __future__ import annotations

from pathlib import Path

from .. import fetchers
from ..datafiles import random_file, sparse_file
from ..measure import peak_rss_kib, rotated, stats
from ..modes import size_label
from ..outcome import Check, Section, fmt
from ..peers import PeerError, start_filecast
from . import Context

COLUMNS = ["process", "file", "peak RSS MiB (median)", "min–max", "runs", "note"]


def _file_for(size: int, last: bool) -> Path:
    return sparse_file(size) if last else random_file(size)


def _measure(ctx: Context, path: Path, size: int) -> tuple[float | None, float | None, str]:
    """(server MiB, client MiB, error) for one download of ``path``."""
    work = ctx.scratch("memory")
    try:
        server = start_filecast(work, [path])
    except PeerError as error:
        return None, None, str(error)
    try:
        folder = ctx.scratch("memory-downloads")
        timeout = max(ctx.mode.request_timeout, size / 50e6)  # ≥ 50 MB/s on a slow disk
        got = fetchers.client_probe(server.port, path.name, folder, size, timeout,
                                    fetchers.probe_env(ctx.work))
        server_mib = peak_rss_kib([server.pid]) / 1024
        fetchers.clear(folder)
    finally:
        server.stop()
    client_mib = float(str(got.detail["vmhwm_kib"])) / 1024 if got.detail else None
    return server_mib, client_mib if got.gbps else None, got.error


def run(ctx: Context) -> Section:
    """Rounds over the sizes (small, then huge, rotated), ``memory_runs`` times."""
    mode = ctx.mode
    sizes = list(mode.memory_sizes)
    section = Section("memory", "4. Memory: peak RSS against file size", COLUMNS)
    server: dict[int, list[float | None]] = {s: [] for s in sizes}
    client: dict[int, list[float | None]] = {s: [] for s in sizes}
    errors: list[str] = []
    budget = ctx.budget()
    for index in budget.runs(mode.memory_runs):
        for size in rotated(sizes, index):
            size = int(str(size))
            path = _file_for(size, size == sizes[-1])
            s, c, error = _measure(ctx, path, size)
            server[size].append(s)
            client[size].append(c)
            if error:
                errors.append(f"{size_label(size)}: {error}")
    for what, table in (("Filecast server", server), ("Filecast client", client)):
        medians = []
        for size in sizes:
            st = stats(table[size])
            kind = "sparse" if size == sizes[-1] else "random"
            section.rows.append([what, f"{size_label(size)} ({kind})",
                                 fmt(st.median if st else None, 1),
                                 f"{fmt(st.min, 1)}–{fmt(st.max, 1)}" if st else "—",
                                 str(st.runs if st else 0), ""])
            section.data[f"{what} {size_label(size)}"] = st.as_dict() if st else None
            medians.append(st.median if st else None)
        small, big = medians[0], medians[-1]
        diff = big - small if small is not None and big is not None else None
        section.rows.append([what, "difference", fmt(diff, 1), "", "", "huge − small"])
        section.data[f"{what} difference MiB"] = diff
        section.checks.append(Check(
            f"memory flat: {what} RSS {size_label(sizes[-1])} − {size_label(sizes[0])}",
            diff, 16, "<", "MiB"))
    section.notes += errors[:5]
    section.notes.append(f"the {size_label(sizes[-1])} file is sparse (truncate): zeros, no"
                         " disk blocks; the server's peak includes hashing it at start")
    if budget.cut_short:
        section.notes.append("stopped before all runs: the section's time budget ran out")
    return section
