"""Single downloads, timed: curl (to /dev/null or a file), Filecast's client, and the hash limit."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .measure import MiB, gbps, run_timed
from .peers import REPO
from .tools import which

HASH_SLICE = 4 * MiB


@dataclass(frozen=True)
class Fetched:
    """One timed download: GB/s, or None with the reason."""

    gbps: float | None
    seconds: float
    error: str = ""
    detail: dict[str, object] | None = None


def _curl(url: str, out: str, size: int, timeout: float) -> Fetched:
    binary = which("curl")
    if binary is None:
        return Fetched(None, 0.0, "curl not available")
    ran = run_timed([binary, "-s", "-o", out, "--max-time", str(round(timeout)), "-w",
                     "%{http_code} %{size_download} %{speed_download}", url], timeout + 10)
    parts = ran.stdout.split()
    if not ran.ok or len(parts) != 3 or parts[0] != "200" or int(float(parts[1])) != size:
        return Fetched(None, ran.seconds, f"curl failed: {ran.stdout} {ran.stderr[-200:]}")
    return Fetched(float(parts[2]) / 1e9, ran.seconds, detail={"wall_gbps":
                                                               gbps(size, ran.seconds)})


def curl_null(url: str, size: int, timeout: float) -> Fetched:
    """``curl -s -o /dev/null``; GB/s as curl reports it (%{speed_download})."""
    return _curl(url, "/dev/null", size, timeout)


def curl_save(url: str, folder: Path, size: int, timeout: float) -> Fetched:
    """``curl -o FILE`` with no check; GB/s over the process's wall time."""
    clear(folder)
    got = _curl(url, str(folder / "curl.bin"), size, timeout)
    if got.gbps is None:
        return got
    return Fetched(gbps(size, got.seconds), got.seconds)


def curl_save_synced(url: str, folder: Path, size: int, timeout: float) -> Fetched:
    """``curl -o FILE`` and then ``sync FILE`` (coreutils: fsync), over both wall times: curl
    saving as durably as Filecast's client does (it fsyncs before its rename)."""
    got = curl_save(url, folder, size, timeout)
    binary = which("sync")
    if got.gbps is None or binary is None:
        return got if got.gbps is None else Fetched(None, got.seconds, "sync not available")
    synced = run_timed([binary, str(folder / "curl.bin")], timeout)
    if not synced.ok:
        return Fetched(None, got.seconds, f"sync failed: {synced.stderr[-200:]}")
    seconds = got.seconds + synced.seconds
    return Fetched(gbps(size, seconds), seconds, detail={"sync_seconds": synced.seconds})


def disk_ceiling(folder: Path, size: int, timeout: float) -> Fetched:
    """``dd if=/dev/zero bs=1M oflag=direct conv=fsync`` into ``folder``: how fast this disk
    takes bytes durably, the limit of any download that is saved and synced there. Where
    the file system refuses O_DIRECT (tmpfs) it is ``conv=fsync`` alone."""
    binary = which("dd")
    if binary is None:
        return Fetched(None, 0.0, "dd not available")
    clear(folder)
    target = folder / "dd.bin"
    count = max(1, size // MiB)
    for flags in (["oflag=direct", "conv=fsync"], ["conv=fsync"]):
        ran = run_timed([binary, "if=/dev/zero", f"of={target}", "bs=1M", f"count={count}",
                         *flags], timeout)
        if ran.ok:
            return Fetched(gbps(count * MiB, ran.seconds), ran.seconds,
                           detail={"flags": " ".join(flags)})
    return Fetched(None, 0.0, f"dd failed: {ran.stderr[-200:]}")


def client_probe(port: int, name: str, folder: Path, size: int, timeout: float,
                 env: dict[str, str], *, no_write: bool = False) -> Fetched:
    """Filecast's client in-process (bench/client_probe.py): connect + download + verify.

    ``no_write``: the probe's diagnostic mode, receiving and hashing without writing."""
    clear(folder)
    extra = ["--no-write"] if no_write else []
    ran = run_timed([sys.executable, str(REPO / "bench" / "client_probe.py"), "127.0.0.1",
                     str(port), name, str(folder), *extra], timeout, env=env)
    line = ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ""
    if not ran.ok or not line.startswith("{"):
        return Fetched(None, ran.seconds, f"client failed: {ran.stderr.strip()[-300:]}")
    data = json.loads(line)
    if data["bytes"] != size or not data["verified"]:
        return Fetched(None, ran.seconds, f"client saved {data['bytes']} bytes, "
                                          f"verified={data['verified']}", data)
    return Fetched(gbps(size, data["seconds"]), data["seconds"], detail=data)


def client_cli(port: int, name: str, folder: Path, size: int, timeout: float,
               env: dict[str, str]) -> Fetched:
    """``python3 -m core get 127.0.0.1:PORT NAME --yes -o DIR``, wall time (with start-up)."""
    clear(folder)
    ran = run_timed([sys.executable, "-m", "core", "get", f"127.0.0.1:{port}", name, "--yes",
                     "-o", str(folder)], timeout, cwd=str(REPO), env=env)
    saved = folder / name
    if not ran.ok or not saved.exists() or saved.stat().st_size != size:
        return Fetched(None, ran.seconds, f"core get failed: {ran.stdout[-200:]}"
                                          f" {ran.stderr[-200:]}")
    return Fetched(gbps(size, ran.seconds), ran.seconds)


def hash_limit(path: Path, size: int) -> Fetched:
    """hashlib.sha256 alone over the file's bytes already in memory (mmap, populated)."""
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), size, flags=flags,
                                          prot=mmap.PROT_READ) as mapped:
        view = memoryview(mapped)
        try:
            digest = hashlib.sha256()
            start = time.perf_counter()
            for offset in range(0, size, HASH_SLICE):
                digest.update(view[offset:offset + HASH_SLICE])
            seconds = time.perf_counter() - start
        finally:
            view.release()
    return Fetched(gbps(size, seconds), seconds, detail={"sha256": digest.hexdigest()})


def clear(folder: Path) -> None:
    """Empty a download folder (the files would otherwise pile up and be renamed)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def probe_env(work: Path) -> dict[str, str]:
    """Environment for Filecast's client: settings kept in the run's folder."""
    return {**os.environ, "FILECAST_CONFIG_DIR": str(work / "filecast-config")}
