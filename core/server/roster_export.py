"""The roster as CSV for a spreadsheet (issue 11): one row per person, as the window shows.

Names are self-declared network text, so a cell a spreadsheet would run as a formula
(``=HYPERLINK(...)``, ``+``, ``-``, ``@``; OWASP "CSV injection") is written with a leading
apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TextIO

from core.server.persons import RosterRow

COLUMNS = ("Name", "Has it", "Outcome", "Now", "Last seen (UTC)", "Visits", "Address",
           "Client id", "Expected")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """``text`` made inert for a spreadsheet: a formula start gets a leading apostrophe."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _when(seconds: float | None) -> str:
    """``2026-12-03 14:02:11`` in UTC, or empty for someone never seen."""
    if seconds is None:
        return ""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):  # a hand-edited time past year 9999
        return ""


def write_csv(rows: Iterable[RosterRow], out: TextIO) -> int:
    """Write a header and one line per row to ``out`` (opened with newline=""); returns
    how many people were written."""
    # Every cell quoted: where ';' is the list separator (much of Europe), an unquoted
    # "ana;=HYPERLINK(...)" split into a formula cell past the first-character guard.
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([cell(row.name), "yes" if row.has_it else "no", row.outcome, row.now,
                         _when(row.last_seen), row.visits, cell(row.address),
                         cell(row.client_id),
                         "yes" if row.expected else "no"])
        count += 1
    return count
