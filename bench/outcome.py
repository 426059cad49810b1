"""What a section hands back: its table, its figures for the JSON, its target checks, notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .measure import Stats, stats

NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class Check:
    """One target from issue 4: a measured value against a goal."""

    name: str
    value: float | None
    goal: float
    op: str  # ">=", "<=" or "<"
    unit: str = "×"
    detail: str = ""

    @property
    def met(self) -> bool | None:
        """True/False, or None when nothing could be measured."""
        if self.value is None:
            return None
        if self.op == ">=":
            return self.value >= self.goal
        if self.op == "<=":
            return self.value <= self.goal
        return self.value < self.goal

    @property
    def verdict(self) -> str:
        """met / missed / not measured."""
        return {True: "met", False: "missed", None: "not measured"}[self.met]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "value": self.value, "goal": self.goal, "op": self.op,
                "unit": self.unit, "verdict": self.verdict, "detail": self.detail}


@dataclass
class Section:
    """A section's outcome; ``rows`` are already formatted for the table."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell, or a dash."""
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_stats(s: Stats | None, digits: int = 2) -> tuple[str, str, str]:
    """(median, "min–max", runs) cells."""
    if s is None:
        return "—", "—", "0"
    return fmt(s.median, digits), f"{fmt(s.min, digits)}–{fmt(s.max, digits)}", str(s.runs)


def stat_row(what: str, values: Sequence[float | None], unit: str, digits: int = 2,
             note: str = "") -> tuple[list[str], dict[str, object] | None]:
    """A standard row (what, median, min–max, runs, unit, note) and its JSON."""
    s = stats(values)
    median, span, runs = fmt_stats(s, digits)
    return [what, median, span, runs, unit, note], (s.as_dict() | {"unit": unit}) if s else None


def missing_row(what: str, why: str = NOT_AVAILABLE) -> list[str]:
    """A row for a peer that could not be measured."""
    return [what, "—", "—", "0", "", why]


STAT_COLUMNS = ["what", "median", "min–max", "runs", "unit", "note"]


def paired_ratios(top: Sequence[float | None], bottom: Sequence[float | None]
                  ) -> list[float | None]:
    """Per-round ratios top/bottom (same round = same machine state)."""
    return [t / b if t is not None and b else None for t, b in zip(top, bottom, strict=False)]
