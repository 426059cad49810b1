"""Section 2, client side: Filecast's client saving a 1 GiB download, beside its limits.

All from one Filecast server (in sendfile mode, which takes the least CPU from the client
it shares the machine with; see single.py), interleaved per round: Filecast's client (saved,
fsynced, SHA-256 verified), the ``core get`` command, curl saving without a check, curl
then ``sync`` (as durable as Filecast's save), ``dd`` writing as much with O_DIRECT and
fsync into the same folder (the disk's durable speed), hashlib alone (the hash's speed),
and the client receiving and hashing without writing (a diagnostic: its own pipeline).

A verified, durable download can go no faster than the slower of the hash and the disk;
issue 4 assumed the hash is that limit. dd gives one sequential writer's durable speed
in the same round: an estimate of the disk's, not a bound (the client, writing from its
own thread while it receives, has beaten it on this VM).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .. import fetchers
from ..measure import rotated, stats
from ..outcome import Check, Section, missing_row, paired_ratios, stat_row
from ..peers import Peer
from ..tools import which
from . import Context

CLIENT, CLI, CURL, SYNCED = "client", "core get", "curl -o", "curl -o; sync"
DISK, NO_WRITE, HASH = "dd", "client, not writing", "hashlib"
ORDER = [CLIENT, CLI, CURL, SYNCED, DISK, NO_WRITE, HASH]
LABELS = {
    CLIENT: "Filecast client: save + fsync + SHA-256 verify (in-process download())",
    CLI: "python3 -m core get --yes (wall time incl. start-up)",
    CURL: "curl -o file, no check, not synced (wall time)",
    SYNCED: "curl -o file, then sync file (as durable as Filecast's save)",
    DISK: "disk: dd bs=1M oflag=direct conv=fsync, same folder (its durable speed)",
    NO_WRITE: "Filecast client receiving + SHA-256, not writing (diagnostic)",
    HASH: "hashlib.sha256 alone, bytes in memory (the hash's limit)",
}
NEEDS = {CURL: "curl", SYNCED: "curl", DISK: "dd"}

Fetch = Callable[[], fetchers.Fetched]


def _fetchers(ctx: Context, path: Path, server: Peer, folder: Path) -> dict[str, Fetch]:
    """One timed run of each way to get the file (or of the limit it stands for)."""
    mode, size, port = ctx.mode, ctx.mode.big_size, server.port
    env = fetchers.probe_env(ctx.work)
    url = server.url(path.name)
    return {
        CLIENT: lambda: fetchers.client_probe(port, path.name, folder, size,
                                              mode.request_timeout, env),
        CLI: lambda: fetchers.client_cli(port, path.name, folder, size, mode.request_timeout,
                                         env),
        CURL: lambda: fetchers.curl_save(url, folder, size, mode.request_timeout),
        SYNCED: lambda: fetchers.curl_save_synced(url, folder, size, mode.request_timeout),
        DISK: lambda: fetchers.disk_ceiling(folder, size, mode.request_timeout),
        NO_WRITE: lambda: fetchers.client_probe(port, path.name, folder, size,
                                                mode.request_timeout, env, no_write=True),
        HASH: lambda: fetchers.hash_limit(path, size),
    }


def client_side(ctx: Context, section: Section, path: Path, server: Peer | None) -> None:
    """Rounds of every way, rotated; rows, ratios and the two client targets."""
    folder = ctx.scratch("single-downloads")
    if server is None:
        for name in ORDER:
            section.rows.append(missing_row(LABELS[name], "Filecast server not available"))
        return
    runs = {name: fetch for name, fetch in _fetchers(ctx, path, server, folder).items()
            if name not in NEEDS or which(NEEDS[name])}
    speeds: dict[str, list[float | None]] = {name: [] for name in ORDER}
    split: list[tuple[float, float]] = []
    errors: list[str] = []
    budget = ctx.budget()
    for index in budget.runs(ctx.mode.runs):
        for name in map(str, rotated(list(runs), index)):  # the machine drifts in a run
            # Start each run with nothing dirty in the page cache: curl's gigabyte otherwise
            # goes to disk during the next run, which then pays for it (CPU and disk).
            os.sync()
            got = runs[name]()
            speeds[name].append(got.gbps)
            if got.error:
                errors.append(f"{name}: {got.error}")
            if name == CLIENT and got.detail and got.gbps:
                split.append((float(str(got.detail["receive_seconds"])),
                              float(str(got.detail["finish_seconds"]))))
    fetchers.clear(folder)
    for name in ORDER:
        if name not in runs:
            section.rows.append(missing_row(LABELS[name], ctx.why_missing(NEEDS[name])))
            continue
        row, data = stat_row(LABELS[name], speeds[name], "GB/s")
        section.rows.append(row)
        section.data[f"client {name}"] = data
    _time_split(section, split)
    _ratios(section, speeds)
    section.notes += errors[:5]
    section.notes.append(f"Served by {server.name} on the same two cores. All of them save"
                         " into the same folder under the run's temporary"
                         " folder (on disk); Filecast's client writes with O_DIRECT where the"
                         " file system allows and fsyncs before its rename, curl does not.")
    if budget.cut_short:
        section.notes.append("client rounds stopped early: the time budget ran out")


def _time_split(section: Section, split: list[tuple[float, float]]) -> None:
    """Where the client's time went: receiving (hash and write beside it), then finishing."""
    receive = stats([r for r, _ in split])
    finish = stats([f for _, f in split])
    if receive is None or finish is None:
        return
    section.data["client time split (s)"] = {"receive": receive.as_dict(),
                                             "finish": finish.as_dict()}
    section.notes.append(
        f"Filecast client time: {receive.median:.2f} s receiving (hash + write beside it),"
        f" then {finish.median:.2f} s finishing (drain, fsync, rename, receipt) — median"
        " seconds.")


def _ratios(section: Section, speeds: dict[str, list[float | None]]) -> None:
    """Per-round ratios; the issue's two client targets, with the limit beside them."""
    disk = speeds[DISK] or [None] * len(speeds[HASH])
    limit = [min(h, d) if h is not None and d is not None else h
             for h, d in zip(speeds[HASH], disk, strict=False)]
    ratios = {
        "ratio client / curl": paired_ratios(speeds[CLIENT], speeds[CURL]),
        "ratio client / (curl; sync)": paired_ratios(speeds[CLIENT], speeds[SYNCED]),
        "ratio client / hashlib": paired_ratios(speeds[CLIENT], speeds[HASH]),
        "ratio disk (dd) / hashlib": paired_ratios(speeds[DISK], speeds[HASH]),
        "ratio client / slower of hashlib and dd": paired_ratios(speeds[CLIENT], limit),
        "ratio client not writing / hashlib": paired_ratios(speeds[NO_WRITE], speeds[HASH]),
    }
    for what, values in ratios.items():
        row, data = stat_row(what, values, "×", note="per-round ratios")
        section.rows.append(row)
        section.data[what] = data
    medians = {what: (s.median if (s := stats(values)) else None)
               for what, values in ratios.items()}
    context = _limit_context(medians)
    section.checks.append(Check("single download, client: Filecast client ÷ curl saving",
                                medians["ratio client / curl"], 1.5, ">=", detail=context))
    section.checks.append(Check("single download, client: Filecast client ÷ hashlib SHA-256",
                                medians["ratio client / hashlib"], 0.8, ">=",
                                detail=context))


def _limit_context(medians: dict[str, float | None]) -> str:
    """A line for the targets table: what the disk allowed, and the client against it."""
    parts = []
    for what, label in (("ratio disk (dd) / hashlib", "disk ÷ hashlib"),
                        ("ratio client / slower of hashlib and dd",
                         "client ÷ slower of hashlib and dd"),
                        ("ratio client / (curl; sync)", "client ÷ (curl; sync)"),
                        ("ratio client not writing / hashlib", "not writing ÷ hashlib")):
        value = medians.get(what)
        if value is not None:
            parts.append(f"{label} {value:.2f}×")
    return "; ".join(parts)
