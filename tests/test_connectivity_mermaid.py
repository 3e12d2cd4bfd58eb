"""``connectivity --format mermaid`` stays renderable on GitHub: safe node ids, within Mermaid's limits
(500 edges, 50,000 characters); a longer list is summarised per namespace and a comment line says so."""

from __future__ import annotations

import re

from netpolscan.analysis.connlist import Row
from netpolscan.analysis.ports import PortSet
from netpolscan.report.connectivity_formats import MERMAID_MAX_CHARS, MERMAID_MAX_EDGES, format_mermaid

NODE = re.compile(r'^\s+(\S+)\["')
EDGE = re.compile(r'^\s+(\S+) -->\|"[^"]*"\| (\S+)$')
SUBGRAPH = re.compile(r'^\s+subgraph (\S+)\["')
SAFE = re.compile(r"^[A-Za-z0-9_]+$")


def _ids(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    nodes, edges = [], []
    for line in text.splitlines():
        for pattern in (NODE, SUBGRAPH):
            found = pattern.match(line)
            if found:
                nodes.append(found.group(1))
        edge = EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
    return nodes, edges


def _rows(namespaces: int, per_namespace: int, name: str = "web") -> list[Row]:
    """Every workload reaches the next namespace's workloads, and an external range reaches them all."""
    ports = PortSet.single("TCP", 8080)
    rows = []
    for ns in range(namespaces):
        for index in range(per_namespace):
            src = f"team-{ns:03}/{name}-{index}[Deployment]"
            rows.append(Row("0.0.0.0-255.255.255.255[External]", src, ports, None, f"team-{ns:03}"))
            target = f"team-{(ns + 1) % namespaces:03}"
            rows.append(Row(src, f"{target}/{name}-{index}[Deployment]", ports, f"team-{ns:03}", target))
    return sorted(rows)


def test_small_list_is_drawn_whole_with_safe_ids() -> None:
    rows = _rows(3, 2, name='we"b.x')
    text = format_mermaid(rows)
    assert text.startswith("flowchart LR\n") and "%%" not in text
    nodes, edges = _ids(text)
    assert len(edges) == len(rows)
    assert all(SAFE.match(node) for node in nodes) and all(SAFE.match(a) and SAFE.match(b) for a, b in edges)
    assert "#quot;" in text and 'we"b' not in text


def test_too_many_edges_are_summarised_per_namespace() -> None:
    rows = _rows(60, 5)  # 600 rows
    assert len(rows) > MERMAID_MAX_EDGES
    text = format_mermaid(rows)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert lines[1].startswith("    %% netpolscan: 600 connections exceed GitHub's Mermaid limits")
    assert "summarised per namespace" in lines[1]
    nodes, edges = _ids(text)
    assert 0 < len(edges) <= MERMAID_MAX_EDGES and len(text) <= MERMAID_MAX_CHARS
    assert all(SAFE.match(node) for node in nodes)
    assert '["team-000[namespace]"]' in text


def test_too_much_text_is_summarised_and_cut() -> None:
    rows = _rows(250, 1, name="x" * 200)  # 500 rows, but far more than 50,000 characters
    text = format_mermaid(rows)
    assert len(text) <= MERMAID_MAX_CHARS
    comment = text.splitlines()[1]
    assert "exceed GitHub's Mermaid limits" in comment
    assert re.search(r"\(\d+ of \d+ namespace pairs\)", comment) or "(every pair)" in comment
