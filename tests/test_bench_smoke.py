"""The benchmark still runs: ``bench/run.py --smoke`` end to end (timings are never asserted).

Smoke mode uses a 1 MiB file and 5 clients, installs nothing and skips peers that are not
installed; its results go to a temporary folder, never to bench/results/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADINGS = [
    "1. Loopback ceiling",
    "2. One 1 MiB download",
    "3. Many clients",
    "4. Memory",
    "5. Hashing",
    "6. Server window under load",
    "7. Folders",
    "Targets (issue 4)",
]


def test_bench_smoke_runs_and_writes_its_tables(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--results-dir",
         str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=110, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    markdown = (tmp_path / "latest-smoke.md").read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert heading in markdown, heading
        assert heading in result.stdout, heading
    assert "| what | median | min–max | runs | unit | note |" in markdown
    data = json.loads((tmp_path / "latest-smoke.json").read_text(encoding="utf-8"))
    assert data["mode"] == "smoke"
    assert data["machine"]["cores"]
    assert set(data["sections"]) == {"loopback", "single", "many", "memory", "hashing",
                                     "window", "folder"}
    assert "(section failed)" not in markdown
