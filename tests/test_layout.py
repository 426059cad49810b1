"""The package rules of docs/ARCHITECTURE.md, read from the imports with ast (issue 10).

core.wire is pure and shared; core.server and core.client never import each other; the front
ends (core.cli, core.activity, core.gui) reach the engine only through the two facades; no
runtime import cycle anywhere in core; no module over the size a reader can hold.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
MAX_LINES = 420  # "under ~400 lines a module" (DEVELOPERS.md), with a little slack

# Imports made only for type hints, each with the reason a narrower interface would be worse.
TYPE_ONLY_ALLOWED: dict[tuple[str, str], str] = {
    # OfferChangedError carries the FileInfo the person was shown; FileInfo is a wire fact.
    ("core.errors", "core.wire.protocol"): "errors carry the wire's FileInfo",
}


def module_name(path: Path) -> str:
    """core/server/session.py -> core.server.session; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules() -> dict[str, Path]:
    """Every module of core, by dotted name."""
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, name: str) -> Iterator[tuple[str, bool]]:
    """(imported module, type_only) for every import of a core module in this file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only_nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for inner in node.body:
                for sub in ast.walk(inner):
                    type_only_nodes.add(id(sub))
    known = core_modules()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from core.server import ledger" imports the submodule, not only the package.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        for target in targets:
            if target == "core" or target.startswith("core."):
                yield target, id(node) in type_only_nodes


def side(name: str) -> str:
    """Which room a module is in: wire, server, client, gui or front (cli, activity, ...)."""
    parts = name.split(".")
    if len(parts) >= 2 and parts[1] in ("wire", "server", "client", "gui"):
        return parts[1]
    return "shared" if name in SHARED else "front"


# Modules both engine sides may use: the error and event types and the package's constants.
SHARED = {"core", "core.errors", "core.events"}
FACADES = {"core.server", "core.client"}


def all_edges() -> list[tuple[str, str, bool]]:
    """Every (importer, imported, type_only) inside core."""
    return [(name, target, type_only)
            for name, path in core_modules().items()
            for target, type_only in imports_of(path, name)]


def test_the_walker_sees_imports_at_all() -> None:
    """Guards the test itself: it must find the server's imports of its own modules."""
    edges = {(a, b) for a, b, _ in all_edges()}
    assert ("core.server.listening", "core.server.session") in edges
    assert any(b.startswith("core.wire") for a, b in edges if a.startswith("core.client"))


def test_wire_imports_nothing_of_either_side_or_the_windows() -> None:
    bad = [(a, b) for a, b, _ in all_edges()
           if side(a) == "wire" and side(b) not in ("wire", "shared")]
    assert bad == []


def test_the_server_and_the_client_never_import_each_other() -> None:
    bad = [(a, b) for a, b, _ in all_edges()
           if {side(a), side(b)} == {"server", "client"}]
    assert bad == []


def test_front_ends_reach_the_engine_only_through_the_facades() -> None:
    """The terminal and the windows use core.server / core.client, never their insides."""
    bad = [(a, b) for a, b, _ in all_edges()
           if side(a) in ("gui", "front") and side(b) in ("server", "client") and b not in FACADES]
    assert bad == []


def test_the_engine_never_imports_a_front_end() -> None:
    bad = [(a, b) for a, b, _ in all_edges()
           if side(a) in ("wire", "server", "client", "shared") and side(b) in ("gui", "front")]
    assert bad == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def _graph(include_type_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for a, b, type_only in all_edges():
        # A package's facade importing its own modules is how a facade works, not a cycle.
        if a in FACADES or a == "core" or b == "core" or (type_only and not include_type_only):
            continue
        graph.setdefault(a, set()).add(b)
    return graph


def test_no_runtime_import_cycles_anywhere_in_core() -> None:
    assert _cycles(_graph(include_type_only=False)) == []


def test_type_only_imports_close_no_cycle_except_the_ones_explained() -> None:
    graph = _graph(include_type_only=True)
    for a, b in TYPE_ONLY_ALLOWED:
        graph.get(a, set()).discard(b)
    assert _cycles(graph) == []


@pytest.mark.parametrize("name", sorted(core_modules()))
def test_no_module_is_over_the_size_a_reader_can_hold(name: str) -> None:
    lines = core_modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


@pytest.mark.parametrize("package", ["core.wire", "core.server", "core.client", "core.gui"])
def test_each_package_says_what_it_holds_and_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse(core_modules()[package].read_text(encoding="utf-8")))
    assert doc and "import" in doc, f"{package}/__init__.py must say what it may import"
