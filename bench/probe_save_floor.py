"""The floor of Filecast's way of saving many small files on this disk (issue 12).

    python3 bench/probe_save_floor.py [DIR] [--batch N]

Writes 10,000 files of 10 KiB in 100 folders under a fresh folder in DIR (default /tmp)
the way the client saves an archive's files, with no network and no checks: each as a
hidden ``.NAME.partial``, its modification time set, then after each ``--batch`` files
(default 900, as the client's requests) one syncfs, a link to the final name and the
part's removal each, and one more syncfs. Then the same files written straight to their
final names, as ``tar x`` does. Prints both times: what no Python client that keeps
".part, verify, rename" can beat here, and what tar's way costs.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import time

FILES, FOLDERS, SIZE = 10_000, 100, 10 * 1024


def save(root: str, batch: int, *, parts: bool) -> float:
    """Seconds to write the tree under ``root`` (parts then names, or names directly)."""
    libc = ctypes.CDLL(None, use_errno=True)
    data = os.urandom(SIZE)
    top = os.open(root, os.O_RDONLY)
    folders: dict[int, int] = {}
    pending: list[tuple[int, str, str]] = []
    started = time.perf_counter()

    def settle() -> None:
        libc.syncfs(top)
        for folder, part, name in pending:
            os.link(part, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
            os.unlink(part, dir_fd=folder)
        libc.syncfs(top)
        pending.clear()

    for n in range(FILES):
        index = n // (FILES // FOLDERS)
        if index not in folders:
            os.mkdir(f"folder {index:03d}", dir_fd=top)
            folders[index] = os.open(f"folder {index:03d}", os.O_RDONLY, dir_fd=top)
        name = f"file {n:05d}.bin"
        target = f".{name}.partial" if parts else name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folders[index])
        os.write(fd, data)
        os.utime(fd, ns=(1_700_000_000 * 10**9,) * 2)
        os.close(fd)
        if parts:
            pending.append((folders[index], target, name))
            if len(pending) >= batch:
                settle()
    if parts:
        settle()
    else:
        libc.syncfs(top)
    seconds = time.perf_counter() - started
    for fd in (*folders.values(), top):
        os.close(fd)
    return seconds


def main() -> None:
    args = sys.argv[1:]
    batch = int(args[args.index("--batch") + 1]) if "--batch" in args else 900
    where = next((a for a in args if not a.startswith("--") and not a.isdigit()), "/tmp")
    for parts in (True, False):
        root = tempfile.mkdtemp(prefix="filecast-floor-", dir=where)  # never used before
        seconds = save(root, batch, parts=parts)
        how = ".partial, syncfs, link, unlink" if parts else "straight to the final name"
        print(f"{FILES:,} files of {SIZE // 1024} KiB, {how}: {seconds:.2f} s ({root})")


if __name__ == "__main__":
    main()
