"""Section 7, part C: one folder of 4 big files to 50 clients at once (issue 12).

Filecast offers the folder (``core serve FOLDER``: its files are ``/files/FOLDER/NAME``),
nginx serves the same files (``/FOLDER/NAME``), both from a warm page cache. A round
starts 50 ``curl`` processes together, each fetching the 4 files one after the other to
/dev/null; the aggregate is every byte delivered over the wall time from the first start
to the last end. A failure is a download whose code is not 200 (or a curl that exits
non-zero). Goals: no failure, and Filecast's aggregate >= 0.9× nginx's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..datafiles import data_dir
from ..folder_tree import big_files, big_folder, warm_all
from ..measure import gbps, rotated, stats
from ..modes import size_label
from ..outcome import Check, Section, missing_row, paired_ratios, stat_row
from ..peers import Peer, PeerError, start_filecast, start_nginx
from ..tools import which
from . import Context

FILECAST, NGINX = "Filecast", "nginx"
FILES = 4
PAUSE = 1.0  # lets the previous round's sockets wind down


@dataclass(frozen=True)
class Swarm:
    """One round against one server."""

    gbps: float | None
    failed: int
    seconds: float
    note: str = ""


def run(ctx: Context, section: Section) -> None:
    """Rounds of Filecast and nginx, order rotated; rows and checks into ``section``."""
    mode = ctx.mode
    folder = big_folder(FILES, mode.folder_big)
    files = big_files(folder)
    warm_all(files)
    curl = which("curl")
    label = (f"C. {mode.folder_clients} clients × {len(files)} files of"
             f" {size_label(mode.folder_big)}")
    if curl is None:
        section.rows.append(missing_row(label, ctx.why_missing("curl")))
        return
    peers, missing = _start(ctx.scratch("folder-clients"), folder, len(files))
    results: dict[str, list[Swarm]] = {name: [] for name in peers}
    try:
        budget = ctx.budget()
        for index in budget.runs(ctx.mode.runs):
            for name in rotated(list(peers), index):
                peer = peers[str(name)]
                urls = [peer.url(quote(f"{folder.name}/{f.name}")) for f in files]
                results[peer.name].append(_swarm(curl, urls, mode.folder_clients,
                                                 mode.folder_big, mode.request_timeout))
                time.sleep(PAUSE)
        if budget.cut_short:
            section.notes.append("C. stopped before all runs: the time budget ran out")
    finally:
        for peer in peers.values():
            peer.stop()
    _rows(section, label, results, missing, mode.folder_clients)


def _start(work: Path, folder: Path, count: int) -> tuple[dict[str, Peer], dict[str, str]]:
    """Filecast offering the folder, and nginx serving the folder's parent."""
    peers: dict[str, Peer] = {}
    missing: dict[str, str] = {}
    starters: dict[str, Callable[[], Peer]] = {
        FILECAST: lambda: start_filecast(work, [folder], offered=count),
        NGINX: lambda: start_nginx(work, data_dir())}
    for name, start in starters.items():
        try:
            peers[name] = start()
        except PeerError as error:
            missing[name] = str(error)
    return peers, missing


def _swarm(curl: str, urls: list[str], clients: int, size: int, timeout: float) -> Swarm:
    """``clients`` curls at once, each ``-o /dev/null`` × the URLs; every byte over the
    wall time from the first start to the last end."""
    cmd = [curl, "-sS", *(["-o", "/dev/null"] * len(urls)), *urls, "-w", "%{http_code} "]
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, errors="replace")
             for _ in range(clients)]
    failed, notes = 0, set()
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            notes.add("timed out")
        bad = len(urls) - out.split().count("200")
        if proc.returncode != 0:
            bad = max(bad, 1)
            notes.add(f"exit {proc.returncode}: {err.strip()[-100:]}")
        failed += bad
    seconds = time.perf_counter() - start
    delivered = (clients * len(urls) - failed) * size
    return Swarm(gbps(delivered, seconds), failed, seconds, "; ".join(sorted(notes))[:200])


def _rows(section: Section, label: str, results: dict[str, list[Swarm]],
          missing: dict[str, str], clients: int) -> None:
    speeds = {name: [r.gbps for r in runs] for name, runs in results.items()}
    for name in (FILECAST, NGINX):
        if name not in results:
            section.rows.append(missing_row(f"{label}: {name}", missing.get(name, "")[:120]))
            continue
        runs = results[name]
        notes = "; ".join(sorted({r.note for r in runs if r.note}))[:160]
        row, data = stat_row(f"{label}: {name}, aggregate", speeds[name], "GB/s", note=notes)
        section.rows.append(row)
        failed = [float(r.failed) for r in runs]
        frow, fdata = stat_row(f"{label}: {name}, failed downloads", failed, "failed", 0,
                               note="per round")
        section.rows.append(frow)
        section.data[f"clients {name}"] = {"gbps": data, "failed": fdata,
                                           "seconds": [r.seconds for r in runs]}
    ratio = paired_ratios(speeds.get(FILECAST, []), speeds.get(NGINX, []))
    row, data = stat_row(f"{label}: ratio Filecast ÷ nginx", ratio, "×",
                         note="per-round ratios of aggregate GB/s")
    section.rows.append(row)
    section.data["clients ratio"] = data
    s = stats(ratio)
    ours = results.get(FILECAST)
    section.checks += [
        Check(f"folder: {clients} clients at once, Filecast downloads failed (all runs)",
              float(sum(r.failed for r in ours)) if ours else None, 0, "<=", "failures"),
        Check(f"folder: {clients} clients at once, aggregate GB/s Filecast ÷ nginx",
              s.median if s else None, 0.9, ">="),
    ]
