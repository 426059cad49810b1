"""Facts about the machine a run was made on."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from .measure import run_timed
from .tools import TOOLS, version

REPO = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return 0.0


def load_average() -> str:
    """The 1/5/15 minute load averages (a busy shared machine shows here)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _git_commit() -> str:
    ran = run_timed(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], 10.0)
    if not ran.ok:
        return "unknown"
    dirty = run_timed(["git", "-C", str(REPO), "status", "--porcelain"], 10.0)
    return ran.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def facts() -> dict[str, object]:
    """Cores, RAM, Python, kernel, commit and the peers' versions."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "os": platform.platform(),
        "filecast_commit": _git_commit(),
        "load_average_at_start": load_average(),
        "versions": {name: version(name) for name in TOOLS},
    }
