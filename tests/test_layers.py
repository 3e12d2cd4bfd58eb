"""The package imports in one direction: each top-level module or package of ``netpolscan`` imports only
from its own layer or the layers below it, and the import graph between them has no cycle.

Every import counts: module level, inside functions (lazy imports) and under ``TYPE_CHECKING``, because
each is a dependency a reader has to follow. Print the graph with ``python tests/test_layers.py``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "netpolscan"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),  # the one exception type that stops a run
    ("sources", "sourcemap"),  # reading input: files, rendering, YAML with positions; mapping back to sources
    ("model",),  # typed Kubernetes objects parsed from documents, the inventory
    ("analysis",),  # semantics: selection, connectivity, explain, diff
    ("plugin_api", "context", "ruledoc", "hookspecs"),  # what a rule, a formatter and a hook speak
    ("__init__",),  # the public API: netpolscan.__all__
    ("suppression", "config", "engine", "plugins"),  # running rules, config, plugins
    ("report", "expectations"),  # formatters; connectivity expectations
    ("builtin", "policykinds"),  # the built-in plugin: rules, formats, policy kinds
    ("scan", "testing"),  # a whole scan; helpers for rule authors
    (
        "generate",
        "fixes",
        "flows",
    ),  # write policies, apply fixes, check flow logs (each re-runs the analysis)
    ("cli", "__main__"),  # the command line
)
"""Lowest first. A module may import from its own layer and the layers before it."""

RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    """The top-level unit of ``netpolscan.a.b``: ``a`` (``__init__`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Modules of ``netpolscan`` that ``path`` imports (``from netpolscan import name``: the package)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                is_module = (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / submodule.replace(".", "/")
                ).is_dir()
                found.add(submodule if is_module else base)
    return {name for name in found if name == "netpolscan" or name.startswith("netpolscan.")}


def import_graph() -> dict[str, set[str]]:
    """Top-level unit -> the other top-level units it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _unit(_module_name(path))
        graph[source].update(_unit(target) for target in _imported(path) if _unit(target) != source)
    return dict(graph)


def _edges_to(graph: dict[str, set[str]], source: str, target: str) -> list[str]:
    """The files of ``source`` that import ``target`` (for the failure message)."""
    return [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if _unit(_module_name(path)) == source and any(_unit(t) == target for t in _imported(path))
    ]


def test_every_module_has_a_layer() -> None:
    units = set(import_graph()) | {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    missing = sorted(units - set(RANK))
    assert not missing, f"place {missing} in tests/test_layers.py LAYERS (lowest layer first)"


def test_imports_point_down_the_layers() -> None:
    graph = import_graph()
    upward = [
        f"{source} -> {target} ({', '.join(_edges_to(graph, source, target))})"
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if RANK.get(target, -1) > RANK.get(source, len(LAYERS))
    ]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycle_between_packages() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state:
            cycle = visit(unit)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_sees_lazy_and_type_checking_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from netpolscan.context import X\n"
        "def f():\n    import netpolscan.cli\n"
    )
    names = {
        n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
    }
    assert {"netpolscan.context", "netpolscan.cli"} <= names
    assert "plugin_api" in import_graph()["hookspecs"] and "context" in import_graph()["plugin_api"]


if __name__ == "__main__":
    for unit, targets in sorted(import_graph().items(), key=lambda item: (RANK.get(item[0], 99), item[0])):
        print(f"{unit:13} -> {', '.join(sorted(targets, key=lambda t: (RANK.get(t, 99), t)))}")
