"""The six sections of issue 4 and section 7 (folders, issue 12); each takes a Context
and returns an outcome.Section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..measure import Budget
from ..modes import Mode


@dataclass
class Context:
    """What every section gets: the mode, a scratch folder, the tool notes."""

    mode: Mode
    work: Path  # this run's temporary folder (removed at the end)
    tool_notes: dict[str, str]
    loadgen: str = "ab"  # section 3's load generator when both are installed

    def budget(self) -> Budget:
        """A fresh time budget for one section's repeated runs."""
        return Budget(self.mode.section_budget)

    def scratch(self, name: str) -> Path:
        """A sub-folder of the work folder, readable by nginx's workers."""
        folder = self.work / name
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        return folder

    def why_missing(self, tool: str) -> str:
        """"not available" with the install note, for a table cell."""
        note = self.tool_notes.get(tool, "")
        return note if note.startswith("not available") else "not available"
