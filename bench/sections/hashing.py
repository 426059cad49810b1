"""Section 5: hashing an offered file — core.server.hashing.sha256_file against ``sha256sum``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..datafiles import random_file, warm
from ..machine import REPO
from ..measure import gbps, rotated, run_timed, stats
from ..modes import size_label
from ..outcome import STAT_COLUMNS, Check, Section, missing_row, paired_ratios, stat_row
from ..tools import which
from . import Context

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.server.hashing import sha256_file


def _ours(path: Path, size: int) -> tuple[float | None, str]:
    start = time.perf_counter()
    digest = sha256_file(path)
    return gbps(size, time.perf_counter() - start), digest


def _sha256sum(path: Path, size: int, timeout: float) -> tuple[float | None, str]:
    binary = which("sha256sum")
    if binary is None:
        return None, ""
    ran = run_timed([binary, str(path)], timeout)
    if not ran.ok:
        return None, ""
    return gbps(size, ran.seconds), ran.stdout.split()[0]


def run(ctx: Context) -> Section:
    """Interleaved rounds; the two digests must agree."""
    mode = ctx.mode
    path = random_file(mode.big_size)
    warm(path)
    section = Section("hashing", f"5. Hashing an offered {size_label(mode.big_size)} file",
                      STAT_COLUMNS)
    speeds: dict[str, list[float | None]] = {"ours": [], "sha256sum": []}
    digests: set[str] = set()
    budget = ctx.budget()
    have = which("sha256sum") is not None
    for index in budget.runs(mode.runs):
        for name in rotated(["ours", "sha256sum"], index):
            if name == "ours":
                speed, digest = _ours(path, mode.big_size)
            elif have:
                speed, digest = _sha256sum(path, mode.big_size, mode.request_timeout)
            else:
                continue
            speeds[str(name)].append(speed)
            if digest:
                digests.add(digest)
    row, data = stat_row("core.server.hashing.sha256_file (in-process)", speeds["ours"], "GB/s")
    section.rows.append(row)
    section.data["sha256_file_gbps"] = data
    if have:
        row, data = stat_row("sha256sum (process wall time)", speeds["sha256sum"], "GB/s")
        section.rows.append(row)
        section.data["sha256sum_gbps"] = data
    else:
        section.rows.append(missing_row("sha256sum"))
    ratio = paired_ratios(speeds["ours"], speeds["sha256sum"])
    row, data = stat_row("ratio sha256_file / sha256sum", ratio, "×", note="per-round ratios")
    section.rows.append(row)
    section.data["ratio"] = data
    s = stats(ratio)
    section.checks.append(Check("hashing: sha256_file ÷ sha256sum", s.median if s else None,
                                0.9, ">="))
    if len(digests) > 1:
        section.notes.append(f"DIGESTS DIFFER: {sorted(digests)}")
    if budget.cut_short:
        section.notes.append("stopped before all runs: the section's time budget ran out")
    return section
