"""HTML reports: one self-contained page per run (style, script and SVG inline; nothing is fetched).

``render`` is the ``scan --format html`` formatter: the findings with filters by level, rule and
namespace, then (when the report carries its inventory) the namespace x direction isolation matrix and
the connectivity graph. :func:`connectivity_page` and :func:`diff_page` are the ``connectivity`` and
``diff`` views. The graph is laid out here, deterministically: namespaces are boxes in a grid, their
workloads stacked inside; peers outside the cluster share one box of their own; each edge is a curve
labelled with its ports. A Content-Security-Policy forbids every request, so the page works offline.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from netpolscan.plugin_api import Finding, Report
from netpolscan.report.html_assets import LICENSE_NOTE, SCRIPT, STYLE
from netpolscan.sources.gc_pause import paused_gc

if TYPE_CHECKING:
    from netpolscan.analysis.connlist import Row
    from netpolscan.analysis.diff import DiffRow
    from netpolscan.model.inventory import Inventory

OUTSIDE = "(outside the cluster)"  # the group of the peers that are not workloads
NO_NAMESPACE = "(none)"  # the namespace filter value of a finding about no namespaced object
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def page(title: str, subtitle: str, sections: Iterable[str], version: str = "") -> str:
    """The whole document: head with the inline style, the sections, the inline script."""
    from netpolscan import __version__

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{_e(title)}</title>\n<!-- {LICENSE_NOTE} -->\n<style>{STYLE}</style></head>\n<body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>\n<main>\n"
        + "\n".join(sections)
        + f"\n</main><footer>netpolscan {_e(version or __version__)}: a static analysis of the input "
        "manifests, not of a live cluster.</footer>\n"
        f"<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _section(title: str, body: str, section_id: str) -> str:
    return f'<section id="{section_id}"><h2>{_e(title)}</h2>\n{body}</section>'


# --- filters and tables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterRow:
    """A table row the filters act on: its cells (HTML) and its values per filter dimension."""

    cells: tuple[str, ...]
    values: tuple[tuple[str, tuple[str, ...]], ...]  # (dimension, values); any value may match


_ORDER = {"error": 0, "warning": 1, "note": 2, "added": 0, "removed": 1, "changed": 2}


def _filter_bar(dims: Sequence[tuple[str, str]], rows: Sequence[FilterRow]) -> str:
    """One group of toggle buttons per dimension (value and row count); none pressed = every row."""
    groups = []
    for dim, title in dims:
        counts: Counter[str] = Counter()
        for row in rows:
            counts.update(dict(row.values).get(dim, ()))
        buttons = "".join(
            f'<button type="button" class="filter" data-dim="{_e(dim)}" data-value="{_e(value)}" '
            f'aria-pressed="false">{_e(value)} <span class="count">{counts[value]}</span></button>'
            for value in sorted(counts, key=lambda v: (_ORDER.get(v, 9), v))
        )
        groups.append(f'<div class="group"><span class="dim">{_e(title)}</span>{buttons}</div>')
    return (
        f'<div class="filters">{"".join(groups)}<button type="button" class="clear">show all</button></div>'
        f'<p class="count">Showing <span id="shown-count">{len(rows)}</span> of '
        f'<span id="total-count">{len(rows)}</span>.</p>'
    )


def _filter_table(header: Sequence[str], rows: Sequence[FilterRow], table_id: str) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for title in header)
    lines = []
    for row in rows:
        data = "".join(f' data-{dim}="{_e("|".join(values))}"' for dim, values in row.values)
        lines.append(f"<tr data-row{data}>" + "".join(f"<td>{cell}</td>" for cell in row.cells) + "</tr>")
    body = "\n".join(lines)
    return f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'


# --- findings ---------------------------------------------------------------------------------------------


def finding_namespace(finding: Finding) -> str:
    """The namespace a finding is about: its object's (a Namespace's own name), else ``(none)``."""
    obj = finding.obj
    if obj is None:
        return NO_NAMESPACE
    return obj.name if obj.kind == "Namespace" else obj.namespace or NO_NAMESPACE


def _finding_row(finding: Finding) -> FilterRow:
    level = finding.level.value
    where = finding.location
    suppressed = ' <span class="badge kind-unchanged">suppressed</span>' if finding.suppression else ""
    cells = (
        f'<span class="badge level-{level}">{level}</span>{suppressed}',
        f'<span class="mono">{_e(finding.rule_id)}</span><br><span class="count nowrap">{_e(finding.rule_name)}</span>',
        _e(finding_namespace(finding)),
        _e(f"{finding.obj.kind}/{finding.obj.name}" if finding.obj is not None else ""),
        f'<span class="mono">{_e(f"{where.path}:{where.line}:{where.column}")}</span>',
        _e(finding.message),
    )
    values = (("level", (level,)), ("rule", (finding.rule_id,)), ("namespace", (finding_namespace(finding),)))
    return FilterRow(cells, values)


def findings_section(report: Report) -> str:
    shown = [f for f in report.findings if report.show_suppressed or f.suppression is None]
    counts = Counter(f.level.value for f in report.active)
    summary = (
        f"<p>{len(report.active)} findings: {counts['error']} errors, {counts['warning']} warnings, "
        f"{counts['note']} notes.</p>"
    )
    rows = [_finding_row(f) for f in shown]
    notes = "".join(f"<li>{_e(n.level.value)}: {_e(n.message)}</li>" for n in report.notifications)
    body = summary + (f"<ul>{notes}</ul>" if notes else "")
    if rows:
        body += _filter_bar((("level", "Level"), ("rule", "Rule"), ("namespace", "Namespace")), rows)
        header = ("Level", "Rule", "Namespace", "Object", "Location", "Message")
        body += _filter_table(header, rows, "findings")
    return _section("Findings", body, "findings-section")


# --- isolation matrix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Isolation:
    """How many workloads of a namespace have a default deny, per direction (after every policy tier)."""

    namespace: str
    workloads: int
    ingress: int
    egress: int


def isolation(inventory: Inventory) -> list[Isolation]:
    from netpolscan.analysis.connectivity import connectivity

    conn = connectivity(inventory)
    found = []
    for name in sorted(set(inventory.namespaces) | {w.namespace for w in inventory.workloads}):
        workloads = inventory.workloads_in(name)
        denied = [sum(conn.default_denied(w, d) for w in workloads) for d in ("ingress", "egress")]
        found.append(Isolation(name, len(workloads), denied[0], denied[1]))
    return found


def _cell(denied: int, total: int) -> str:
    if total == 0:
        return '<td class="cell deny-empty">no workloads</td>'
    if denied == total:
        return '<td class="cell deny-all">default deny</td>'
    if denied == 0:
        return '<td class="cell deny-none">open</td>'
    return f'<td class="cell deny-some">{denied} of {total} workloads</td>'


def matrix_section(inventory: Inventory) -> str:
    rows = sorted(
        isolation(inventory),
        key=lambda r: (r.workloads == 0, r.ingress + r.egress - 2 * r.workloads, r.namespace),
    )
    lines = "\n".join(
        f"<tr><td>{_e(r.namespace)}</td><td>{r.workloads}</td>"
        f"{_cell(r.ingress, r.workloads)}{_cell(r.egress, r.workloads)}</tr>"
        for r in rows
    )
    closed = sum(1 for r in rows if r.workloads and r.ingress == r.egress == r.workloads)
    body = (
        f"<p>Is each direction of each namespace default-denied (closed to every peer no rule allows)? "
        f"{closed} of {sum(1 for r in rows if r.workloads)} namespaces with workloads are closed both ways."
        " The least isolated come first.</p>"
        '<div class="scroll short"><table class="matrix" id="isolation"><thead><tr><th>Namespace</th>'
        f"<th>Workloads</th><th>Ingress</th><th>Egress</th></tr></thead><tbody>\n{lines}\n</tbody></table></div>"
    )
    return _section("Isolation by namespace", body, "isolation-section")


# --- graph ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str
    kind: str = "allowed"  # allowed | added | removed | changed | unchanged


_COLOURS = {
    "allowed": "#6d83a8",
    "added": "#2e7d32",
    "removed": "#c62828",
    "changed": "#8e24aa",
    "unchanged": "#b8bec9",
}
_GAP, _BOX_W, _NODE_W, _NODE_H, _NODE_GAP, _HEADER = 110, 214, 194, 20, 8, 26
_MARGIN = 16
_CHARS = 31  # what fits a node at 11px


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _short(text: str, limit: int = _CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _layout(groups: dict[str, list[str]]) -> tuple[dict[str, _Box], list[tuple[str, _Box]], float, float]:
    """Group boxes in a near-square grid (row by row), each group's nodes stacked in its box."""
    names = sorted(groups, key=lambda g: (g != OUTSIDE, g))
    columns = max(1, math.ceil(math.sqrt(len(names))))
    heights = [_HEADER + len(groups[g]) * (_NODE_H + _NODE_GAP) + 4 for g in names]
    nodes: dict[str, _Box] = {}
    boxes: list[tuple[str, _Box]] = []
    y = float(_MARGIN)
    for start in range(0, len(names), columns):
        row_height = max(heights[start : start + columns])
        for offset, group in enumerate(names[start : start + columns]):
            x = float(_MARGIN + offset * (_BOX_W + _GAP))
            boxes.append((group, _Box(x, y, _BOX_W, heights[start + offset])))
            for index, node in enumerate(groups[group]):
                top = y + _HEADER + index * (_NODE_H + _NODE_GAP)
                nodes[node] = _Box(x + (_BOX_W - _NODE_W) / 2, top, _NODE_W, _NODE_H)
        y += row_height + _GAP
    width = _MARGIN + min(columns, len(names)) * (_BOX_W + _GAP) if names else 100
    return nodes, boxes, float(width), max(y - _GAP + _MARGIN, 60.0)


Point = tuple[float, float]


def _sides(a: _Box, b: _Box) -> tuple[bool, bool]:
    """Whether an edge from ``a`` to ``b`` leaves ``a`` and enters ``b`` on their right sides."""
    if abs(a.cx - b.cx) < 1:  # one column (one namespace): both on the right, the curve bulging right
        return True, True
    return (True, False) if b.cx > a.cx else (False, True)


def _anchors(edges: Sequence[Edge], places: dict[str, _Box]) -> list[tuple[Point, Point]]:
    """Start and end of each edge: the edges meeting one side of a node spread along it, in the order
    of the other ends' heights (so curves fanning out of a node do not start on one point)."""
    slots: dict[tuple[str, bool], list[tuple[float, float, int, int]]] = {}
    for index, edge in enumerate(edges):
        a, b = places[edge.src], places[edge.dst]
        right_a, right_b = _sides(a, b)
        slots.setdefault((edge.src, right_a), []).append((b.cy, b.cx, index, 0))
        slots.setdefault((edge.dst, right_b), []).append((a.cy, a.cx, index, 1))
    points: list[list[Point]] = [[(0.0, 0.0), (0.0, 0.0)] for _ in edges]
    for (name, right), items in slots.items():
        box = places[name]
        items.sort()
        for order, (_, _, index, end) in enumerate(items):
            y = box.y + 3 + (box.h - 6) * (order + 1) / (len(items) + 1)
            points[index][end] = (box.x + box.w if right else box.x, y)
    return [(start, end) for start, end in points]


def _control(start: Point, end: Point, same_column: bool) -> Point:
    """The control point of an edge's quadratic curve."""
    if same_column:  # longer (and upward) edges bulge further, so a -> b and b -> a stay apart
        bulge = min(_GAP - 12.0, 26 + abs(end[1] - start[1]) / 3 + (14 if end[1] < start[1] else 0))
        return max(start[0], end[0]) + bulge, (start[1] + end[1]) / 2
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    offset = min(40.0, length / 8)  # to the left of the way: a -> b and b -> a do not overlap
    return (start[0] + end[0]) / 2 + dy / length * offset, (start[1] + end[1]) / 2 - dx / length * offset


def _on_curve(start: Point, control: Point, end: Point, t: float) -> Point:
    """The point at ``t`` of a quadratic curve: a label sits nearer its edge's source (t < 0.5), so the
    labels of a -> b and b -> a do not cover each other."""
    a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t * t
    return a * start[0] + b * control[0] + c * end[0], a * start[1] + b * control[1] + c * end[1]


def _n(value: float) -> str:
    return str(round(value))


def graph_svg(nodes: dict[str, str | None], edges: Sequence[Edge]) -> str:
    """The graph as inline SVG. ``nodes`` maps a name to its namespace (None: outside the cluster)."""
    groups: dict[str, list[str]] = {}
    for name in sorted(nodes):
        groups.setdefault(nodes[name] or OUTSIDE, []).append(name)
    places, boxes, width, height = _layout(groups)
    ids = {name: f"n{index}" for index, name in enumerate(sorted(nodes))}
    scale = min(2.0, max(1.0, 1100 / width))  # a small graph is drawn larger
    parts = [
        f'<svg class="graph" role="img" aria-label="connectivity graph" width="{_n(width * scale)}" '
        f'height="{_n(height * scale)}" viewBox="0 0 {_n(width)} {_n(height)}"><defs>'
    ]
    for kind in sorted({edge.kind for edge in edges}):
        parts.append(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="{_COLOURS[kind]}"/></marker>'
        )
    parts.append("</defs>")
    for group, box in boxes:
        outside = " outside" if group == OUTSIDE else ""
        parts.append(
            f'<g class="ns{outside}" data-namespace="{_e(group)}"><rect x="{_n(box.x)}" y="{_n(box.y)}" '
            f'width="{_n(box.w)}" height="{_n(box.h)}" rx="6"/><text x="{_n(box.x + 8)}" y="{_n(box.y + 17)}">'
            f"{_e(_short(group, 30))}</text></g>"
        )
    for edge, (start, end) in zip(edges, _anchors(edges, places), strict=True):
        same_column = abs(places[edge.src].cx - places[edge.dst].cx) < 1
        control = _control(start, end, same_column)
        mid = _on_curve(start, control, end, 0.5 if same_column else 0.35)
        namespaces = "|".join(dict.fromkeys((nodes[edge.src] or OUTSIDE, nodes[edge.dst] or OUTSIDE)))
        anchor = "start" if same_column else "middle"  # beside the bulge of a curve within a namespace
        parts.append(
            f'<g class="edge {edge.kind}" data-src="{ids[edge.src]}" data-dst="{ids[edge.dst]}" '
            f'data-namespace="{_e(namespaces)}">'
            f"<title>{_e(edge.src)} =&gt; {_e(edge.dst)} : {_e(edge.label)}</title>"
            f'<path d="M{_n(start[0])} {_n(start[1])}Q{_n(control[0])} {_n(control[1])} {_n(end[0])} '
            f'{_n(end[1])}" marker-end="url(#arrow-{edge.kind})"/>'
            f'<text x="{_n(mid[0])}" y="{_n(mid[1] - 2)}" text-anchor="{anchor}">{_e(_short(edge.label, 40))}</text></g>'
        )
    for name in sorted(nodes):
        box = places[name]
        external = "" if nodes[name] is not None else " external"
        shown = name.split("/", 1)[1] if nodes[name] is not None else name
        shown = shown.removesuffix("[External]")
        parts.append(
            f'<g class="node{external}" data-node="{ids[name]}" data-namespace="{_e(nodes[name] or OUTSIDE)}">'
            f"<title>{_e(name)}</title>"
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" rx="3"/>'
            f'<text x="{_n(box.x + 5)}" y="{_n(box.y + 14)}">{_e(_short(shown))}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def graph_section(nodes: dict[str, str | None], edges: Sequence[Edge], legend: str = "") -> str:
    body = (
        f"<p>{len(nodes)} peers, {len(edges)} connections. Namespaces are boxes; peers outside the cluster "
        "share their own box. Click a peer to highlight its connections (again to clear); hover an edge "
        f"for its full label. The namespace filter also applies here.</p>{legend}"
        f'<div class="graph-wrap">{graph_svg(nodes, edges)}</div>'
    )
    return _section("Connectivity graph", body, "graph-section")


def _row_nodes(rows: Iterable[Row | DiffRow], nodes: dict[str, str | None]) -> dict[str, str | None]:
    for row in rows:
        nodes[row.src] = row.src_namespace
        nodes[row.dst] = row.dst_namespace
    return nodes


def _peer_namespaces(row: Row | DiffRow) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ns or OUTSIDE for ns in (row.src_namespace, row.dst_namespace)))


def connections_section(rows: Sequence[Row]) -> str:
    table_rows = [
        FilterRow(
            (f'<span class="mono">{_e(r.src)}</span>', f'<span class="mono">{_e(r.dst)}</span>', _e(r.conn)),
            (("namespace", _peer_namespaces(r)),),
        )
        for r in rows
    ]
    body = "<p>Every allowed connection (as <code>netpolscan connectivity</code> lists it).</p>"
    if table_rows:
        body += _filter_bar((("namespace", "Namespace"),), table_rows)
        body += _filter_table(("Source", "Destination", "Connections"), table_rows, "connections")
    return _section("Connections", body, "connections-section")


def _inventory_sections(
    inventory: Inventory, rows: Sequence[Row], workloads: Iterable[tuple[str, str]]
) -> list[str]:
    nodes: dict[str, str | None] = dict(workloads)
    _row_nodes(rows, nodes)
    edges = [Edge(r.src, r.dst, r.conn) for r in rows]
    return [matrix_section(inventory), graph_section(nodes, edges)]


# --- the three pages --------------------------------------------------------------------------------------


def render(report: Report) -> str:
    """``scan --format html``: findings with filters; matrix and graph when the report has the inventory."""
    with paused_gc():  # many small strings and tuples while the whole inventory is alive
        return _scan_page(report)


def _scan_page(report: Report) -> str:
    sections = [findings_section(report)]
    inventory = report.inventory
    if inventory is not None:
        from netpolscan.analysis.connlist import connection_rows
        from netpolscan.analysis.endpoints import workload_label

        workloads = ((workload_label(w), w.namespace) for w in inventory.workloads)
        sections += _inventory_sections(inventory, connection_rows(inventory), workloads)
    else:
        sections.append(
            _section(
                "Isolation and connectivity",
                "<p>Not shown: this scan analysed several renderings (or none), so there is no one "
                "cluster to draw. Run <code>netpolscan connectivity --format html</code> on one rendering.</p>",
                "isolation-section",
            )
        )
    inputs = ", ".join(report.inputs) or "the input"
    return page(f"netpolscan scan: {inputs}", f"{len(report.active)} findings", sections, report.tool_version)


def connectivity_page(
    inventory: Inventory, rows: Sequence[Row], workloads: Sequence[tuple[str, str]], inputs: Sequence[str]
) -> str:
    """``connectivity --format html``: isolation matrix, graph and the list of connections."""
    with paused_gc():
        return _connectivity_page(inventory, rows, workloads, inputs)


def _connectivity_page(
    inventory: Inventory, rows: Sequence[Row], workloads: Sequence[tuple[str, str]], inputs: Sequence[str]
) -> str:
    sections = _inventory_sections(inventory, rows, workloads)
    sections.append(connections_section(rows))
    title = f"netpolscan connectivity: {', '.join(inputs)}"
    return page(title, f"{len(rows)} allowed connections", sections)


def _diff_label(row: DiffRow) -> str:
    if row.kind == "changed":
        return f"{row.head} (was {row.base})"
    return str(row.base if row.kind == "removed" else row.head)


def diff_page(rows: Sequence[DiffRow], base: str, head: str) -> str:
    """``diff --format html``: the changes as a table with filters and a graph (added green, removed red)."""
    with paused_gc():
        return _diff_page(rows, base, head)


def _diff_page(rows: Sequence[DiffRow], base: str, head: str) -> str:
    counts = Counter(row.kind for row in rows)
    changes = [row for row in rows if row.kind != "unchanged"]
    table_rows = [
        FilterRow(
            (
                f'<span class="badge kind-{row.kind}">{row.kind}</span>',
                f'<span class="mono">{_e(row.src)}</span>',
                f'<span class="mono">{_e(row.dst)}</span>',
                _e(row.base),
                _e(row.head),
                _e(row.info),
            ),
            (("kind", (row.kind,)), ("namespace", _peer_namespaces(row))),
        )
        for row in changes
    ]
    summary = (
        f"<p>{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged connections (BASE {_e(base)}, HEAD {_e(head)}).</p>"
    )
    body = summary
    if table_rows:
        body += _filter_bar((("kind", "Change"), ("namespace", "Namespace")), table_rows)
        header = ("Change", "Source", "Destination", "BASE", "HEAD", "Workloads")
        body += _filter_table(header, table_rows, "changes")
    legend = (
        '<p class="legend"><span style="color:#2e7d32">&#9473; added</span>'
        '<span style="color:#c62828">&#9476; removed</span><span style="color:#8e24aa">&#9473; changed</span>'
        '<span style="color:#8a919c">&#9473; unchanged</span></p>'
    )
    edges = [Edge(row.src, row.dst, _diff_label(row), row.kind) for row in rows]
    sections = [
        _section("Changes", body, "changes-section"),
        graph_section(_row_nodes(rows, {}), edges, legend),
    ]
    return page(f"netpolscan diff: {base} -> {head}", f"{len(changes)} changed connections", sections)
