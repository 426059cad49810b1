"""Section 7: offering a folder (issue 12), its three speed targets measured as ratios.

A. 10,000 files of 10 KiB in 100 folders, all to one client, saved, verified and durable:
   Filecast's ``core get --all`` (saves through .part files, checks every SHA-256, flushes
   to disk itself) against ``wget -i URLS; sync`` and ``curl URL.tar | tar x; sync`` from
   nginx serving the same tree. Goals: wget ÷ Filecast >= 2, curl|tar ÷ Filecast >= 0.8.
B. Offering that folder: OfferTable from listing to every digest known, against a bare
   loop of ``hashlib.file_digest`` over the same files, both from a warm page cache (the
   cache cannot be dropped here). Goal: ours ÷ bare <= 1.2.
C. One folder of 4 big files to 50 clients at once (bench/sections/folder_clients.py).

Every client writes into a fresh folder that was never used: this disk is mounted with
``discard``, and creating files where files were just deleted is 10-20× slower, which
would decide the race. The outputs are deleted once, at the end of the section. Rounds are
interleaved with the order rotated; each ratio is the median of per-round ratios.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ..folder_tree import Tree, count_files, small_tree, warm_all, write_url_list
from ..machine import REPO
from ..measure import Ran, rotated, run_timed, stats
from ..outcome import STAT_COLUMNS, Check, Section, missing_row, paired_ratios, stat_row
from ..peers import Peer, PeerError, start_filecast, start_nginx
from ..tools import which
from . import Context, folder_clients

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.events import Event, OfferChanged
from core.server.offer import OfferTable

SMALL = 10 * 1024
FILECAST, WGET, CURL_TAR = "Filecast", "wget", "curl|tar"
Timing = tuple[float | None, str]  # seconds (None: failed) and why it failed


def run(ctx: Context) -> Section:
    """Parts A, B and C; a part that crashes becomes a row, the others still run."""
    mode = ctx.mode
    tree = small_tree(mode.folder_files, mode.folder_folders, SMALL)
    warm_all([*tree.paths, tree.tar])
    section = Section("folder", "7. Folders (issue 12): many small files, hashing them,"
                      " one folder to many clients", STAT_COLUMNS)
    outputs = ctx.scratch("folder-outputs")
    try:
        _part(section, "A", lambda: small_files(ctx, section, tree, outputs))
        _part(section, "B", lambda: hashing(ctx, section, tree))
        _part(section, "C", lambda: folder_clients.run(ctx, section))
    finally:
        shutil.rmtree(outputs, ignore_errors=True)
    return section


def _part(section: Section, letter: str, part: Callable[[], None]) -> None:
    try:
        part()
    except Exception as error:  # one broken part must not lose the others
        traceback.print_exc()
        section.rows.append([f"{letter}. (part failed)", "—", "—", "0", "",
                             f"{type(error).__name__}: {error}"[:160]])


# --- A. many small files to one client -------------------------------------------------


def small_files(ctx: Context, section: Section, tree: Tree, outputs: Path) -> None:
    """Rounds of Filecast, wget and curl|tar, each into a fresh folder."""
    work = ctx.scratch("folder-small")
    nginx: Peer | None = None
    missing: dict[str, str] = {}
    try:
        nginx = start_nginx(work, tree.root)
    except PeerError as error:
        missing = {WGET: str(error), CURL_TAR: str(error)}
    for tool, name in (("wget", WGET), ("curl", CURL_TAR)):
        if which(tool) is None:
            missing[name] = ctx.why_missing(tool)
    runners: dict[str, Callable[[Path], Timing]] = {
        FILECAST: lambda out: _filecast_get(ctx, work, tree, out)}
    if nginx is not None:
        base = f"http://127.0.0.1:{nginx.port}"
        urls = write_url_list(work / "urls.txt", base, tree.names)
        tar_url = f"{base}/{tree.tar.name}"
        runners[WGET] = lambda out: _shell_save(
            ['cd "$1" && wget -q -x -nH -i "$2" && sync', str(out), str(urls)], out, tree, ctx)
        runners[CURL_TAR] = lambda out: _shell_save(
            ['curl -sS "$2" | tar x -C "$1" && sync', str(out), tar_url], out, tree, ctx)
    try:
        seconds = _rounds(ctx, section, {k: v for k, v in runners.items() if k not in missing},
                          outputs)
    finally:
        if nginx is not None:
            nginx.stop()
    _small_rows(section, seconds, missing, len(tree.names))


def _rounds(ctx: Context, section: Section, runners: dict[str, Callable[[Path], Timing]],
            outputs: Path) -> dict[str, list[float | None]]:
    """Interleaved rounds, order rotated; a failure is a None and a note."""
    seconds: dict[str, list[float | None]] = {name: [] for name in runners}
    budget = ctx.budget()
    for index in budget.runs(ctx.mode.runs):
        for name in rotated(list(runners), index):
            out = outputs / f"small-{index}-{str(name).replace('|', '-')}"
            out.mkdir(mode=0o755)  # never used before: see the module's docstring
            value, why = runners[str(name)](out)
            seconds[str(name)].append(value)
            if value is None:
                one_line = " ".join(why.split())
                section.notes.append(f"A. {name}, round {index + 1} failed: {one_line}"[:300])
    if budget.cut_short:
        section.notes.append("A. stopped before all runs: the time budget ran out")
    return seconds


def _saved(ran: Ran, out: Path, wanted: int) -> Timing:
    """The run's seconds when it exited 0 in time and left ``wanted`` files."""
    if not ran.ok:
        why = "timed out" if ran.timed_out else f"exit {ran.returncode}"
        return None, f"{why}: {(ran.stderr or ran.stdout).strip()[-200:]}"
    got = count_files(out)
    if got != wanted:
        return None, f"saved {got:,} of {wanted:,} files"
    return ran.seconds, ""


def _filecast_get(ctx: Context, work: Path, tree: Tree, out: Path) -> Timing:
    """A server started for this run alone (its watcher re-stats every file each second,
    which the other clients should not pay for), then ``core get --all``'s wall time, with
    settings of its own (never ~/.config)."""
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "FILECAST_CONFIG_DIR": str(ctx.scratch(f"folder-config/{out.name}"))}
    try:
        peer = start_filecast(work, [tree.data], offered=len(tree.names))
    except PeerError as error:
        return None, str(error)
    try:
        ran = run_timed([sys.executable, "-m", "core", "get", f"127.0.0.1:{peer.port}",
                         "--all", "--yes", "-o", str(out)], ctx.mode.request_timeout,
                        cwd=str(REPO), env=env)
    finally:
        peer.stop()
    return _saved(ran, out, len(tree.names))


def _shell_save(script: list[str], out: Path, tree: Tree, ctx: Context) -> Timing:
    """``sh -c SCRIPT sh ARGS...``: wget or curl|tar, then sync, as one wall time."""
    ran = run_timed(["sh", "-c", script[0], "sh", *script[1:]], ctx.mode.request_timeout)
    return _saved(ran, out, len(tree.names))


def _small_rows(section: Section, seconds: dict[str, list[float | None]],
                missing: dict[str, str], count: int) -> None:
    what = {FILECAST: "core get --all (saved, verified, flushed)",
            WGET: "nginx → wget -x -i URLS; sync", CURL_TAR: "nginx → curl URL.tar | tar x; sync"}
    for name in (FILECAST, WGET, CURL_TAR):
        label = f"A. {count:,} files of {SMALL // 1024} KiB: {what[name]}"
        if name in missing:
            section.rows.append(missing_row(label, missing[name][:120]))
            continue
        row, data = stat_row(label, seconds[name], "s")
        section.rows.append(row)
        section.data[f"small {name}"] = data
    for name, goal in ((WGET, 2.0), (CURL_TAR, 0.8)):
        ratio = paired_ratios(seconds.get(name, []), seconds[FILECAST])
        row, data = stat_row(f"A. ratio {name} s ÷ Filecast s", ratio, "×",
                             note="per-round ratios; higher: Filecast faster")
        section.rows.append(row)
        section.data[f"small ratio {name}"] = data
        s = stats(ratio)
        section.checks.append(Check(f"folder: {count:,} small files, {name}; sync ÷ Filecast"
                                    " (time)", s.median if s else None, goal, ">="))


# --- B. hashing the offered folder -----------------------------------------------------


class _AllHashed:
    """A listener that notes the first offer update with every digest in it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.done = threading.Event()

    def on_event(self, event: Event) -> None:
        if (isinstance(event, OfferChanged) and len(event.files) == self.count
                and all(view.sha256 for view in event.files)):
            self.done.set()


def _offer_table(tree: Tree, timeout: float) -> float | None:
    """Seconds from OfferTable() (which lists the folder) to every digest known."""
    listener = _AllHashed(len(tree.names))
    start = time.perf_counter()
    table = OfferTable([tree.data], listener=listener, server_name="bench")
    try:
        table.start()
        if not listener.done.wait(timeout):
            return None
        seconds = time.perf_counter() - start
        complete = all(f.sha256 for f in table.state.files)
    finally:
        table.close()
    return seconds if complete else None


def _bare_loop(paths: list[Path]) -> float:
    """Seconds of ``hashlib.file_digest`` over every file, one after the other."""
    digest = getattr(hashlib, "file_digest", None)  # Python 3.11+
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            if digest is not None:
                digest(f, "sha256")
            else:
                hashlib.sha256(f.read())
    return time.perf_counter() - start


def hashing(ctx: Context, section: Section, tree: Tree) -> None:
    """Interleaved rounds of OfferTable and the bare loop, from a warm page cache."""
    paths = tree.paths
    warm_all(paths)
    seconds: dict[str, list[float | None]] = {"ours": [], "bare": []}
    budget = ctx.budget()
    for index in budget.runs(ctx.mode.runs):
        for name in rotated(["ours", "bare"], index):
            seconds[str(name)].append(_offer_table(tree, ctx.mode.request_timeout)
                                      if name == "ours" else _bare_loop(paths))
    count = len(paths)
    for key, what in (("ours", "OfferTable(folder) until every SHA-256 is known"),
                      ("bare", "bare loop of hashlib.file_digest")):
        row, data = stat_row(f"B. {count:,} files: {what}", seconds[key], "s", 3)
        section.rows.append(row)
        section.data[f"hashing {key}"] = data
    ratio = paired_ratios(seconds["ours"], seconds["bare"])
    row, data = stat_row("B. ratio OfferTable s ÷ bare loop s", ratio, "×",
                         note="per-round ratios; warm page cache; lower is better")
    section.rows.append(row)
    section.data["hashing ratio"] = data
    s = stats(ratio)
    section.checks.append(Check(f"folder: hashing {count:,} small files, OfferTable ÷ bare"
                                " file_digest loop", s.median if s else None, 1.2, "<="))
    if budget.cut_short:
        section.notes.append("B. stopped before all runs: the time budget ran out")
