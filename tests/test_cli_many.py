"""`python3 -m core get HOST NAME NAME...` and `--all` (issue 12): one question for the
selection, every file saved in its folders and verified, declines recorded per file, the
original dialogue untouched for one name."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest
from serverkit import ROOT, serving


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "share" / "Week 12"
    for folder in ("a", "a/deeper", "b"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for n in range(3):
            (root / folder / f"file {n}.bin").write_bytes(os.urandom(2000 + n))
    return root


def get(tmp_path: Path, port: int, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "get", f"127.0.0.1:{port}", *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT),
                                             "FILECAST_CONFIG_DIR": str(tmp_path / "cfg")})


def same_tree(left: Path, right: Path) -> bool:
    """`diff -r` clean: the same names, folders and bytes."""
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    return not mismatch and not errors and all(
        same_tree(left / sub, right / sub) for sub in compared.common_dirs)


def test_all_asks_once_and_saves_the_same_tree(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "out"
    with serving(tmp_path, [tree]) as running:
        done = get(tmp_path, running.port, "--all", "-o", str(out), stdin="y\n")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "9 files, " in done.stdout and "download?(Y/N): " in done.stdout
        assert done.stdout.count("download?(Y/N)") == 1
        assert "Downloaded 9 of 9 files" in done.stdout
        assert same_tree(tree, out / "Week 12")
        assert len(running.wait_lines("downloaded and verified the file 'Week 12/", 9)) == 9


def test_a_folder_and_a_name_declined_are_recorded_per_file(tmp_path: Path,
                                                           tree: Path) -> None:
    with serving(tmp_path, [tree]) as running:
        done = get(tmp_path, running.port, "Week 12/a/deeper", "Week 12/b/file 0.bin",
                   "Week 12/b/fiel 1.bin", "--no")
        assert done.returncode == 1  # one name matched nothing
        assert "Did you mean 'Week 12/b/file 1.bin'?" in done.stdout
        assert "4 files, " in done.stdout and "You did not download 4 files" in done.stdout
        assert len(running.wait_lines("did not download the file 'Week 12/", 4)) == 4


def test_one_name_keeps_the_original_dialogue(tmp_path: Path, tree: Path) -> None:
    with serving(tmp_path, [tree]) as running:
        done = get(tmp_path, running.port, "Week 12/a/file 1.bin", stdin="y\n")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "File Exists, 2001 Bytes, download?(Y/N): " in done.stdout
        assert "Download Complete!" in done.stdout
        assert (tmp_path / "Week 12" / "a" / "file 1.bin").read_bytes() == \
            (tree / "a" / "file 1.bin").read_bytes()


def test_a_folder_of_1000_files_added_while_serving(tmp_path: Path) -> None:
    """Issue 12's "Done when", on the terminal: a folder of 1,000 files added while
    serving; one client takes all of it (the same tree, every file verified), another
    takes one file by its name as today, a third declines the selection; the ledger says
    so, per file."""
    root = tmp_path / "share" / "Data"
    for folder in range(10):
        (root / f"set {folder}").mkdir(parents=True)
        for n in range(100):
            (root / f"set {folder}" / f"{n:03d}.bin").write_bytes(os.urandom(1024 + n))
    first = tmp_path / "first.txt"
    first.write_bytes(b"first")
    with serving(tmp_path, [first]) as running:
        running.offer.add([root])
        running.wait_hashed()
        everything = get(tmp_path, running.port, "--all", "--yes", "-o", str(tmp_path / "all"))
        assert everything.returncode == 0, everything.stdout[-2000:] + everything.stderr
        assert "Downloaded 1,001 of 1,001 files" in everything.stdout
        assert same_tree(root, tmp_path / "all" / "Data")
        one = get(tmp_path, running.port, "Data/set 3/042.bin", "--yes", "-o",
                  str(tmp_path / "one"))
        assert one.returncode == 0 and "Download Complete!" in one.stdout
        declined = get(tmp_path, running.port, "Data/", "--no")
        assert declined.returncode == 0 and "You did not download 1,000 files" in declined.stdout
        verified = running.wait_lines("downloaded and verified the file 'Data/", 1001)
        assert len(verified) == 1001
        # A selection declined is one request (a line per file), not 1,000 declines that
        # the flood gate would have summed after its budget of 120 a minute.
        declines = running.wait_lines("did not download the file 'Data/", 1000)
        assert len(declines) == 1000
        assert "flooded" not in {r["event"] for r in running.ledger_records()}
