"""The printed table, ``latest.md`` and ``latest.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .outcome import Check, Section, fmt

TARGET_COLUMNS = ["target", "measured", "goal", "verdict", "detail"]


def _check_cells(check: Check) -> list[str]:
    unit = "" if check.unit == "×" else f" {check.unit}"
    measured = fmt(check.value, 2) + ("×" if check.unit == "×" else unit)
    goal = f"{check.op} {check.goal:g}" + ("×" if check.unit == "×" else unit)
    return [check.name, measured, goal, check.verdict, check.detail]


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(columns, *rows, strict=False)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False))
            for row in rows]
    return "\n".join([line, rule, *body])


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(cell(c) for c in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def all_checks(sections: Sequence[Section]) -> list[Check]:
    """Every target check, in section order."""
    return [check for section in sections for check in section.checks]


def text(sections: Sequence[Section], facts: dict[str, object], mode: str) -> str:
    """The table printed at the end of a run."""
    parts = [f"Filecast benchmark ({mode}) — {facts.get('date')}, {facts.get('cores')} cores, "
             f"Python {facts.get('python')}, kernel {facts.get('kernel')}"]
    for section in sections:
        parts.append(f"\n== {section.title} ({section.seconds:.0f} s) ==")
        parts.append(_text_table(section.columns, section.rows))
        parts.extend(f"  note: {note}" for note in section.notes)
    checks = all_checks(sections)
    if checks:
        parts.append("\n== Targets (issue 4) ==")
        parts.append(_text_table(TARGET_COLUMNS, [_check_cells(c) for c in checks]))
    return "\n".join(parts) + "\n"


def markdown(sections: Sequence[Section], facts: dict[str, object], mode: str,
             command: str) -> str:
    """``latest.md``: machine facts, one table per section, the targets."""
    versions = facts.get("versions", {})
    fact_rows = [[k, str(v)] for k, v in facts.items() if k != "versions"]
    if isinstance(versions, dict):
        fact_rows += [[f"{k} version", str(v)] for k, v in versions.items()]
    parts = [f"# Filecast benchmark — {mode} run, {facts.get('date')}", "",
             f"Command: `{command}`. Figures are medians of interleaved runs (min–max beside"
             " them); ratios are taken per round, Filecast and its peer measured back to back,"
             " then the median of those. GB/s are decimal (10⁹ bytes/s).", "",
             "## Machine", "", _md_table(["fact", "value"], fact_rows)]
    checks = all_checks(sections)
    if checks:
        parts += ["", "## Targets (issue 4)", "",
                  _md_table(TARGET_COLUMNS, [_check_cells(c) for c in checks])]
    for section in sections:
        parts += ["", f"## {section.title}", "", f"Took {section.seconds:.0f} s.", "",
                  _md_table(section.columns, section.rows)]
        if section.notes:
            parts += [""] + [f"- {note}" for note in section.notes]
    return "\n".join(parts) + "\n"


def as_json(sections: Sequence[Section], facts: dict[str, object], mode: str,
            command: str) -> dict[str, object]:
    """``latest.json``."""
    return {
        "mode": mode,
        "command": command,
        "machine": facts,
        "targets": [c.as_dict() for c in all_checks(sections)],
        "sections": {s.key: {"title": s.title, "seconds": s.seconds, "columns": s.columns,
                             "rows": s.rows, "figures": s.data, "notes": s.notes}
                     for s in sections},
    }


def write(folder: Path, stem: str, sections: Sequence[Section], facts: dict[str, object],
          mode: str, command: str) -> tuple[Path, Path]:
    """Write STEM.md and STEM.json into ``folder`` (atomically, via .tmp files)."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / f"{stem}.md", folder / f"{stem}.json"
    for path, content in ((md, markdown(sections, facts, mode, command)),
                          (js, json.dumps(as_json(sections, facts, mode, command), indent=2,
                                          ensure_ascii=False) + "\n")):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    return md, js
