"""Filecast's benchmark: ``python3 bench/run.py [--quick|--smoke] [--only SECTION]``.

Installs missing peers when root (not in --smoke), runs the six sections of issue 4 and
section 7 (folders, issue 12) with every server on 127.0.0.1, prints a table and writes
``bench/results/latest.md`` and ``latest.json`` (``latest-quick``/``latest-smoke`` for the
shorter modes).
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``core`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine, report, tools
from bench.measure import raise_nofile
from bench.modes import FULL, MODES, QUICK, SMOKE
from bench.outcome import Section
from bench.peers import stop_all
from bench.sections import Context, folder, hashing, loopback, many, memory, single, window

SECTIONS: list[tuple[str, str, Callable[[Context], Section]]] = [
    ("1", "loopback", loopback.run),
    ("2", "single", single.run),
    ("3", "many", many.run),
    ("4", "memory", memory.run),
    ("5", "hashing", hashing.run),
    ("6", "window", window.run),
    ("7", "folder", folder.run),
]
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """--quick / --smoke, --only, --results-dir."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer runs (3; 1 for many clients)")
    size.add_argument("--smoke", action="store_true",
                      help="1 MiB file, 5 clients, 1 run, no installs, < 30 s (for the tests)")
    parser.add_argument("--only", action="append", default=[], metavar="SECTION",
                        help="run only this section: 1-7 or loopback, single, many, memory, "
                             "hashing, window, folder (repeatable, or comma-separated)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS,
                        help=f"where latest*.md/.json go (default: {RESULTS})")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument("--loadgen", choices=("ab", "wrk"), default="ab",
                        help="section 3's load generator (default: ab -n N -c N)")
    return parser.parse_args(argv)


def chosen(only: list[str]) -> list[tuple[str, str, Callable[[Context], Section]]]:
    """The sections --only names (all when empty); SystemExit on an unknown name."""
    wanted = {w.strip().lower() for item in only for w in item.split(",") if w.strip()}
    if not wanted:
        return SECTIONS
    known = {n for n, _, _ in SECTIONS} | {k for _, k, _ in SECTIONS}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"unknown section(s): {', '.join(sorted(unknown))}")
    return [s for s in SECTIONS if s[0] in wanted or s[1] in wanted]


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def run_sections(ctx: Context, picked: list[tuple[str, str, Callable[[Context], Section]]]
                 ) -> list[Section]:
    """Run each section; a crash becomes a row saying so, never the end of the run."""
    results = []
    for number, key, fn in picked:
        print(f"[bench] section {number} ({key})...", flush=True)
        start = time.monotonic()
        try:
            section = fn(ctx)
        except Exception as error:  # one broken section must not lose the others
            traceback.print_exc()
            section = Section(key, f"{number}. {key}", ["what", "note"],
                              [["(section failed)", f"{type(error).__name__}: {error}"]])
        finally:
            stop_all()
        section.seconds = time.monotonic() - start
        print(f"[bench] section {number} done in {section.seconds:.0f} s", flush=True)
        results.append(section)
    return results


def main(argv: list[str] | None = None) -> int:
    """Install, measure, print, write."""
    args = parse_args(argv)
    mode = SMOKE if args.smoke else QUICK if args.quick else FULL
    assert mode.name in MODES
    picked = chosen(args.only)
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    raise_nofile()
    if mode.install and not args.no_install:
        print("[bench] checking peers (apt-get install when missing, as root)...", flush=True)
        notes = tools.install_missing()
    else:
        notes = {name: "present" if tools.which(name) else "not available (not installed)"
                 for name in tools.INSTALLABLE}
    # Bytecode as an installed package has it (pip compiles at install): where
    # PYTHONDONTWRITEBYTECODE is set, each Filecast client run compiled ~130 modules (0.2 s).
    compileall.compile_dir(str(machine.REPO / "core"), quiet=1)
    facts = machine.facts()
    facts["tools"] = notes
    facts["mode"] = mode.name
    command = "python3 bench/run.py " + " ".join(shlex.quote(a) for a in
                                                 (argv if argv is not None else sys.argv[1:]))
    work = Path(tempfile.mkdtemp(prefix="filecast-bench-run-", dir="/tmp"))
    work.chmod(0o755)  # nginx workers (user nobody) read below it
    try:
        sections = run_sections(Context(mode, work, notes, args.loadgen), picked)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    facts["load_average_at_end"] = machine.load_average()
    stem = "latest" + ("" if mode is FULL else f"-{mode.name}")
    if args.only:
        stem += "-only-" + "-".join(key for _, key, _ in picked)
    print(report.text(sections, facts, mode.name))
    md, js = report.write(args.results_dir, stem, sections, facts, mode.name, command.strip())
    print(f"[bench] wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
