"""The public API is ``netpolscan.__all__`` (plus ``netpolscan.testing.__all__`` for tests), and what we show
plugin authors uses nothing else: the code of docs/plugins.md and of the example plugin imports only those
names, and the prose names no private module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import netpolscan
import netpolscan.testing

REPO = Path(__file__).resolve().parent.parent
PLUGINS_MD = REPO / "docs" / "plugins.md"
EXAMPLE = REPO / "examples" / "netpolscan-example-plugin"
PUBLIC: dict[str, set[str]] = {
    "netpolscan": set(netpolscan.__all__),
    "netpolscan.testing": set(netpolscan.testing.__all__),
}
FENCE = re.compile(r"^```python[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _sources() -> list[tuple[str, str]]:
    """(where, Python source) of every code sample shown to plugin authors."""
    text = PLUGINS_MD.read_text(encoding="utf-8")
    found = [(f"docs/plugins.md block {n}", m["body"]) for n, m in enumerate(FENCE.finditer(text), start=1)]
    for path in sorted(EXAMPLE.rglob("*.py")):
        found.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    return found


def private_uses(source: str) -> list[str]:
    """Imports of netpolscan names outside the public API, and ``netpolscan.X`` attributes likewise."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "netpolscan":
            public = PUBLIC.get(node.module or "")
            if public is None:
                problems.append(f"line {node.lineno}: from {node.module} import ... (a private module)")
                continue
            problems.extend(
                f"line {node.lineno}: {alias.name} is not in {node.module}.__all__"
                for alias in node.names
                if alias.name not in public
            )
        elif isinstance(node, ast.Import):
            problems.extend(
                f"line {node.lineno}: import {alias.name} (a private module)"
                for alias in node.names
                if alias.name.split(".")[0] == "netpolscan" and alias.name not in PUBLIC
            )
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "netpolscan" and node.attr not in PUBLIC["netpolscan"] | {"testing"}:
                problems.append(f"line {node.lineno}: netpolscan.{node.attr} is not in netpolscan.__all__")
    return problems


def test_every_public_name_exists_once() -> None:
    assert len(netpolscan.__all__) == len(set(netpolscan.__all__))
    for name in netpolscan.__all__:
        assert getattr(netpolscan, name) is not None, name
    for name in netpolscan.testing.__all__:
        assert callable(getattr(netpolscan.testing, name)), name


def test_what_plugins_need_is_public() -> None:
    needed = {"hookimpl", "Rule", "Severity", "Violation", "ScanContext", "Report", "Formatter"}
    model = {"NetworkPolicy", "PolicyRule", "Peer", "PortSpec", "Workload", "Namespace", "LabelSelector"}
    assert needed | model | {"rule_from_doc", "Document", "Pointer"} <= set(netpolscan.__all__)


@pytest.mark.parametrize(("where", "source"), _sources(), ids=[where for where, _ in _sources()])
def test_docs_and_example_plugin_use_only_the_public_api(where: str, source: str) -> None:
    problems = private_uses(source)
    assert not problems, f"{where}: " + "; ".join(problems)


def test_the_prose_of_plugins_md_names_only_public_modules_and_names() -> None:
    text = FENCE.sub("", PLUGINS_MD.read_text(encoding="utf-8"))
    named = set(re.findall(r"`@?netpolscan\.([A-Za-z_][A-Za-z0-9_.]*)", text))
    allowed = PUBLIC["netpolscan"] | {"testing", "__all__"}
    private = sorted(name for name in named if name.split(".")[0] not in allowed)
    assert not private, f"docs/plugins.md names private modules or names: {private}"


def test_the_checker_catches_private_imports() -> None:
    source = (
        "import netpolscan\nfrom netpolscan import Rule, engine\nfrom netpolscan.plugin_api import Report\n"
        "import netpolscan.model\nx = netpolscan.plugins\n"
    )
    problems = private_uses(source)
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5"], problems
