"""What the server window's roster costs (issue 11): reading Clients.jsonl back, folding it,
and drawing the People tab.

    python3 bench/probe_roster.py            # the model
    xvfb-run -a python3 bench/probe_roster.py --tk   # and the People tab at the cap

Writes a Clients.jsonl of 80,000 lines from 3,000 people in a temporary folder.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.server import Roster, RosterRow, Standing, read_recent
from core.server.roster import MAX_PEOPLE

OFFER = [("week-12.zip", '"1-2"')]


def record(n: int, who: int) -> dict[str, object]:
    """One ledger line as the server writes it."""
    return {"time": "2026-12-03T14:02:11Z", "event": ("declined", "downloaded",
                                                      "interrupted")[n % 3],
            "address": f"10.0.{who // 250}.{who % 250}", "port": 40000 + n % 20000,
            "client_id": f"id-{who:06d}", "name": f"Student {who}",
            "user_agent": "Filecast/0.1", "file": "week-12.zip", "bytes": 1000,
            "size": 2000, "start": 0, "acked": 1000, "sha256": None, "etag": '"1-2"',
            "repeats": 0, "text": "x" * 80}


def model() -> None:
    path = Path(tempfile.mkdtemp()) / "Clients.jsonl"
    path.write_text("".join(json.dumps(record(n, n % 3000)) + "\n" for n in range(80_000)))
    started = time.perf_counter()
    records = read_recent(path, 32 * 1024 * 1024)
    read = time.perf_counter() - started
    roster = Roster()
    roster.set_offer(OFFER)
    started = time.perf_counter()
    roster.restore(records)
    folded = time.perf_counter() - started
    started = time.perf_counter()
    rows = roster.rows()
    header = roster.header(rows)
    drawn = time.perf_counter() - started
    print(f"Clients.jsonl {path.stat().st_size / 1e6:.1f} MB, {len(records):,} lines: read"
          f" {read:.2f} s, folded {folded:.2f} s; {len(rows):,} people: rows and header"
          f" {drawn * 1000:.0f} ms ({header})")


def people_tab() -> None:
    import tkinter as tk

    from core.gui.server_roster_panel import RosterPanel
    from core.gui.style import apply_style
    root = tk.Tk()
    apply_style(root)
    panel = RosterPanel(root, on_expected=lambda: None, on_export=lambda: None,
                        on_new_session=lambda: None)
    panel.pack()
    rows = [RosterRow(f"id:{n}", f"Student {n}", Standing.DOWNLOADED, "has it", "", 1e9, 1,
                      "10.0.0.1", "x", False) for n in range(MAX_PEOPLE)]
    started = time.perf_counter()
    panel.show(rows, "h")
    root.update()
    first = time.perf_counter() - started
    rows[7] = RosterRow("id:7", "Student 7", Standing.VERIFIED, "has it, verified", "", 1e9,
                        2, "10.0.0.1", "x", False)
    started = time.perf_counter()
    panel.show(rows, "h")
    root.update()
    again = time.perf_counter() - started
    root.destroy()
    print(f"People tab, {MAX_PEOPLE:,} rows: first draw {first * 1000:.0f} ms, one row"
          f" changed {again * 1000:.0f} ms")


if __name__ == "__main__":
    model()
    if "--tk" in sys.argv:
        people_tab()
