"""The files the benchmark serves: random ones (kept across runs) and a sparse one."""

from __future__ import annotations

import os
from pathlib import Path

from .measure import MiB
from .modes import size_label

DATA_DIR = Path("/tmp/filecast-bench")
CHUNK = 16 * MiB


def data_dir() -> Path:
    """/tmp/filecast-bench, readable by nginx workers (which run as nobody)."""
    DATA_DIR.mkdir(mode=0o755, exist_ok=True)
    DATA_DIR.chmod(0o755)
    return DATA_DIR


def random_file(size: int) -> Path:
    """``random-SIZE.bin`` of os.urandom bytes; reused when it already has the right size."""
    path = data_dir() / f"random-{size_label(size).replace(' ', '')}.bin"
    if path.exists() and path.stat().st_size == size:
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        left = size
        while left > 0:
            step = min(CHUNK, left)
            f.write(os.urandom(step))
            left -= step
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


def sparse_file(size: int) -> Path:
    """``sparse-SIZE.bin``: zeros made with truncate, taking no disk space."""
    path = data_dir() / f"sparse-{size_label(size).replace(' ', '')}.bin"
    if not (path.exists() and path.stat().st_size == size):
        with open(path, "wb") as f:
            f.truncate(size)
        path.chmod(0o644)
    return path


def warm(path: Path) -> None:
    """Read the file once so it sits in the page cache."""
    buffer = bytearray(CHUNK)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
