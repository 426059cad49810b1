"""How big and how long: the full run, ``--quick`` and ``--smoke``."""

from __future__ import annotations

from dataclasses import dataclass

from .measure import GiB, MiB


@dataclass(frozen=True)
class Mode:
    """Sizes, run counts and time limits of one kind of run."""

    name: str
    big_size: int  # section 1, 2, 5: the "1 GiB" file
    many_size: int  # section 3 and 6: the "10 MiB" file
    many_clients: tuple[int, ...]  # section 3
    memory_sizes: tuple[int, ...]  # section 4 (the last one sparse)
    runs: int  # sections 1, 2, 5
    many_runs: int  # section 3
    memory_runs: int  # section 4
    window_clients: int  # section 6
    window_seconds: float  # section 6: how long the clients download
    iperf_seconds: int  # section 1
    install: bool  # apt-get missing peers (as root)
    section_budget: float  # seconds a section may spend on repeated runs
    request_timeout: float  # one curl/ab/probe run
    folder_files: int = 10_000  # section 7 A/B: small files of 10 KiB ...
    folder_folders: int = 100  # ... spread over this many folders
    folder_big: int = GiB  # section 7 C: each of the 4 files of the big folder
    folder_clients: int = 50  # section 7 C: clients downloading that folder at once


FULL = Mode("full", GiB, 10 * MiB, (200, 1000), (10 * MiB, 4 * GiB), runs=5, many_runs=3,
            memory_runs=3, window_clients=300, window_seconds=15.0, iperf_seconds=3,
            install=True, section_budget=900.0, request_timeout=300.0)
QUICK = Mode("quick", GiB, 10 * MiB, (200, 1000), (10 * MiB, 4 * GiB), runs=3, many_runs=1,
             memory_runs=1, window_clients=300, window_seconds=8.0, iperf_seconds=2,
             install=True, section_budget=400.0, request_timeout=300.0,
             folder_big=256 * MiB)
SMOKE = Mode("smoke", MiB, MiB, (5,), (MiB, 64 * MiB), runs=1, many_runs=1, memory_runs=1,
             window_clients=5, window_seconds=1.0, iperf_seconds=1, install=False,
             section_budget=20.0, request_timeout=20.0, folder_files=300, folder_folders=10,
             folder_big=MiB, folder_clients=5)

MODES = {mode.name: mode for mode in (FULL, QUICK, SMOKE)}


def size_label(size: int) -> str:
    """``1 GiB``, ``10 MiB``."""
    if size >= GiB and size % GiB == 0:
        return f"{size // GiB} GiB"
    return f"{size // MiB} MiB" if size >= MiB else f"{size} B"
