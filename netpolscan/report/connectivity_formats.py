"""Connectivity views: the connectivity list (txt, csv, md, json, dot, mermaid) and the diff views.

The txt, csv, md, json and dot forms match netpol-analyzer's connectivity list line for line. Formatters
only lay out rows computed by :mod:`netpolscan.analysis`; they never re-derive semantics.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence

from netpolscan.analysis.connectivity import Verdict
from netpolscan.analysis.connlist import Row
from netpolscan.analysis.diff import DiffRow
from netpolscan.analysis.explain import Explanation, endpoint_name
from netpolscan.analysis.ports import PortSet
from netpolscan.model.objects import Workload
from netpolscan.sources.document import Document, Pointer

CONNLIST_FORMATS = ("txt", "csv", "md", "json", "dot", "mermaid")


_BATCH = 2000  # rows per text chunk of the streamed views


def _batches(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


def iter_txt(rows: Sequence[Row]) -> Iterator[str]:
    for batch in _batches(rows):
        yield "".join(f"{row.src} => {row.dst} : {row.conn}\n" for row in batch)


def format_txt(rows: Sequence[Row]) -> str:
    return "".join(iter_txt(rows))


def _csv(header: Sequence[str], records: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue()


def _md(header: Sequence[str], records: Sequence[Sequence[str]]) -> str:
    return "".join(_iter_md(header, [records]))


def _iter_md(header: Sequence[str], batches: Iterable[Sequence[Sequence[str]]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |\n" + "|" + "|".join("-" * (len(h) + 2) for h in header) + "|\n"
    for records in batches:
        yield "".join("| " + " | ".join(record) + " |\n" for record in records)


def iter_csv(rows: Sequence[Row]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("src", "dst", "conn"))
    for batch in _batches(rows):
        writer.writerows((row.src, row.dst, row.conn) for row in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()  # the header of an empty list


def format_csv(rows: Sequence[Row]) -> str:
    return "".join(iter_csv(rows))


def iter_md(rows: Sequence[Row]) -> Iterator[str]:
    return _iter_md(
        ("src", "dst", "conn"), ([(row.src, row.dst, row.conn) for row in batch] for batch in _batches(rows))
    )


def format_md(rows: Sequence[Row]) -> str:
    return "".join(iter_md(rows))


def iter_json(rows: Sequence[Row]) -> Iterator[str]:
    """``json.dumps([{"src": .., "dst": .., "conn": ..}, ...], indent=2) + "\\n"``, a batch of rows at a time."""
    if not rows:
        yield "[]\n"
        return
    dumps = json.dumps
    separator = "[\n"
    for batch in _batches(rows):
        yield separator + ",\n".join(
            f'  {{\n    "src": {dumps(row.src)},\n    "dst": {dumps(row.dst)},\n    "conn": {dumps(row.conn)}\n  }}'
            for row in batch
        )
        separator = ",\n"
    yield "\n]\n"


def format_json(rows: Sequence[Row]) -> str:
    return "".join(iter_json(rows))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_nodes(nodes: dict[str, tuple[str | None, str]], between: Sequence[str] = ()) -> list[str]:
    """Node lines: workloads in one ``cluster_<ns>`` subgraph per namespace, then the other endpoints.

    ``nodes`` maps an endpoint name to (namespace or None, colour); ``between`` lines go after the
    namespaces, before the other endpoints.
    """
    lines: list[str] = []
    by_namespace: dict[str, list[str]] = {}
    others: list[str] = []
    for name in sorted(nodes):
        namespace = nodes[name][0]
        if namespace is None:
            others.append(name)
        else:
            by_namespace.setdefault(namespace, []).append(name)
    for namespace in sorted(by_namespace):
        lines.append(f"\tsubgraph {_quote(dot_cluster(namespace))} {{")
        lines.append('\t\tcolor="black"')
        lines.append('\t\tfontcolor="black"')
        for name in by_namespace[namespace]:
            colour = nodes[name][1]
            short = name.split("/", 1)[1]
            lines.append(f'\t\t{_quote(name)} [label={_quote(short)} color="{colour}" fontcolor="{colour}"]')
        lines.append(f"\t\tlabel={_quote(f'{namespace}[namespace]')}")
        lines.append("\t}")
    lines.extend(between)
    for name in others:
        colour = nodes[name][1]
        lines.append(f'\t{_quote(name)} [label={_quote(name)} color="{colour}" fontcolor="{colour}"]')
    return lines


def dot_cluster(namespace: str) -> str:
    """The subgraph id of a namespace, as netpol-analyzer writes it (``-`` becomes ``_``)."""
    return f"cluster_{namespace.replace('-', '_')}[namespace]"


def dot_edge(src: str, dst: str, label: str, colour: str, font_colour: str) -> str:
    weight = "1" if src > dst else "0.5"
    return (
        f'\t{_quote(src)} -> {_quote(dst)} [label={_quote(label)} color="{colour}" '
        f'fontcolor="{font_colour}" weight={weight}]'
    )


def iter_dot(rows: Sequence[Row], workloads: Sequence[tuple[str, str]] = ()) -> Iterator[str]:
    """The list as a graph; ``workloads`` (label, namespace) are nodes even without a connection."""
    nodes: dict[str, tuple[str | None, str]] = {name: (namespace, "blue") for name, namespace in workloads}
    for row in rows:
        for name, namespace in ((row.src, row.src_namespace), (row.dst, row.dst_namespace)):
            nodes[name] = (namespace, "red2" if name.endswith("[External]") else "blue")
    yield "".join(line + "\n" for line in ("digraph {", *dot_nodes(nodes)))
    for batch in _batches(rows):
        yield "".join(dot_edge(row.src, row.dst, row.conn, "gold2", "darkgreen") + "\n" for row in batch)
    yield "}\n"


def format_dot(rows: Sequence[Row], workloads: Sequence[tuple[str, str]] = ()) -> str:
    return "".join(iter_dot(rows, workloads))


# GitHub renders a Mermaid block only within Mermaid's default limits: at most 500 edges and 50,000
# characters of diagram text. A longer list is summarised per namespace, and the diagram says so.
MERMAID_MAX_EDGES = 500
MERMAID_MAX_CHARS = 50_000


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid_lines(
    nodes: dict[str, str | None], edges: Sequence[tuple[str, str, str]], comment: str = ""
) -> Iterator[str]:
    """A flowchart: one subgraph per namespace (nodes of namespace None outside), labelled edges.

    Node ids are ``n<number>`` and subgraph ids ``ns_<number>``: only ``[A-Za-z0-9_]``, whatever the names.
    """
    ids = {name: f"n{index}" for index, name in enumerate(nodes)}
    by_namespace: dict[str | None, list[str]] = {}
    for name, namespace in nodes.items():
        by_namespace.setdefault(namespace, []).append(name)
    lines = ["flowchart LR"]
    if comment:
        lines.append(f"    %% {comment}")
    for number, namespace in enumerate(sorted(by_namespace, key=lambda ns: (ns is None, ns or ""))):
        indent = "    "
        if namespace is not None:
            lines.append(f'    subgraph ns_{number}["{_mermaid_text(namespace)}"]')
            indent = "        "
        for name in by_namespace[namespace]:
            label = name.split("/", 1)[1] if namespace is not None else name
            lines.append(f'{indent}{ids[name]}["{_mermaid_text(label)}"]')
        if namespace is not None:
            lines.append("    end")
    yield "".join(line + "\n" for line in lines)
    for start in range(0, len(edges), _BATCH):
        yield "".join(
            f'    {ids[src]} -->|"{_mermaid_text(label)}"| {ids[dst]}\n'
            for src, dst, label in edges[start : start + _BATCH]
        )


def _mermaid_nodes(rows: Sequence[Row]) -> dict[str, str | None]:
    nodes: dict[str, str | None] = {}
    for row in rows:
        nodes.setdefault(row.src, row.src_namespace)
        nodes.setdefault(row.dst, row.dst_namespace)
    return nodes


def _mermaid_summary(rows: Sequence[Row]) -> Iterator[str]:
    """The list past GitHub's Mermaid limits: one node per namespace, one edge per namespace pair (the
    union of their connections), cut to the limits if still too long; a comment line says so."""
    merged: dict[tuple[str, str], PortSet] = {}
    for row in rows:
        key = (
            row.src if row.src_namespace is None else f"{row.src_namespace}[namespace]",
            row.dst if row.dst_namespace is None else f"{row.dst_namespace}[namespace]",
        )
        found = merged.get(key)
        merged[key] = row.ports if found is None else found | row.ports
    edges: list[tuple[str, str, str]] = []
    size = 0
    for (src, dst), ports in sorted(merged.items()):
        line = len(src) + len(dst) + len(str(ports)) + 40  # an upper bound of the edge's line and nodes
        if len(edges) >= MERMAID_MAX_EDGES or size + line > MERMAID_MAX_CHARS - 2000:
            break
        edges.append((src, dst, str(ports)))
        size += line
    nodes = dict.fromkeys(sorted({name for src, dst, _ in edges for name in (src, dst)}))
    shown = f"{len(edges)} of {len(merged)} namespace pairs" if len(edges) < len(merged) else "every pair"
    comment = (
        f"netpolscan: {len(rows)} connections exceed GitHub's Mermaid limits ({MERMAID_MAX_EDGES} edges, "
        f"{MERMAID_MAX_CHARS} characters): summarised per namespace ({shown}); the full list: "
        "--format txt, dot or html"
    )
    return _mermaid_lines(nodes, edges, comment)


def iter_mermaid(rows: Sequence[Row]) -> Iterator[str]:
    """A Mermaid flowchart: one subgraph per namespace, edges labelled with the connections; past GitHub's
    Mermaid limits, a summary per namespace (see :func:`_mermaid_summary`)."""
    if len(rows) <= MERMAID_MAX_EDGES:
        edges = [(row.src, row.dst, row.conn) for row in rows]
        text = "".join(_mermaid_lines(_mermaid_nodes(rows), edges))
        if len(text) <= MERMAID_MAX_CHARS:
            yield text
            return
    yield from _mermaid_summary(rows)


def format_mermaid(rows: Sequence[Row]) -> str:
    """A Mermaid flowchart: one subgraph per namespace, edges labelled with the connections."""
    return "".join(iter_mermaid(rows))


CONNLIST_FORMATTERS: dict[str, Callable[[Sequence[Row]], str]] = {
    "txt": format_txt,
    "csv": format_csv,
    "md": format_md,
    "json": format_json,
    "dot": format_dot,
    "mermaid": format_mermaid,
}


CONNLIST_STREAMS: dict[str, Callable[[Sequence[Row]], Iterator[str]]] = {
    "txt": iter_txt,
    "csv": iter_csv,
    "md": iter_md,
    "json": iter_json,
    "dot": iter_dot,
    "mermaid": iter_mermaid,
}


def format_connlist(rows: Sequence[Row], fmt: str = "txt", workloads: Sequence[tuple[str, str]] = ()) -> str:
    """The connectivity list in ``fmt`` (one of CONNLIST_FORMATS)."""
    return "".join(iter_connlist(rows, fmt, workloads))


def iter_connlist(
    rows: Sequence[Row], fmt: str = "txt", workloads: Sequence[tuple[str, str]] = ()
) -> Iterator[str]:
    """The connectivity list in ``fmt`` as consecutive chunks of text (what ``format_connlist`` joins).

    The chunks hold a few thousand rows each, so writing them out one by one keeps memory to the rows.
    ``workloads`` (label, namespace) are dot nodes even without a connection.
    """
    if fmt == "dot":
        return iter_dot(rows, workloads)
    try:
        stream = CONNLIST_STREAMS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown connectivity format {fmt!r} (expected {', '.join(CONNLIST_FORMATS)})"
        ) from None
    return stream(rows)


# --- semantic diff ---------------------------------------------------------------------------------------

DIFF_FORMATS = ("txt", "csv", "md", "json", "dot", "mermaid")
DIFF_HEADER = ("diff-type", "source", "destination", "ref1", "ref2", "workloads-diff-info")
_DIFF_COLOURS = {"added": "#008000", "removed": "red2", "changed": "magenta", "unchanged": "grey"}


def _diff_records(rows: Sequence[DiffRow]) -> list[tuple[str, ...]]:
    return [
        (row.kind, row.src, row.dst, str(row.base), str(row.head), row.info)
        for row in rows
        if row.kind != "unchanged"
    ]


def format_diff_txt(rows: Sequence[DiffRow]) -> str:
    records = _diff_records(rows)
    if not records:
        return ""
    lines = ["Connectivity diff:"]
    for kind, src, dst, base, head, info in records:
        line = f"diff-type: {kind}, source: {src}, destination: {dst}, ref1: {base}, ref2: {head}"
        lines.append(line + (f", workloads-diff-info: {info}" if info else ""))
    return "\n".join(lines) + "\n"


def format_diff_csv(rows: Sequence[DiffRow]) -> str:
    return _csv(DIFF_HEADER, _diff_records(rows))


def format_diff_md(rows: Sequence[DiffRow]) -> str:
    return _md(DIFF_HEADER, _diff_records(rows))


def format_diff_json(rows: Sequence[DiffRow]) -> str:
    return (
        json.dumps([dict(zip(DIFF_HEADER, record, strict=True)) for record in _diff_records(rows)], indent=2)
        + "\n"
    )


_DIFF_LEGEND = """\tnodesep=0.5
\tsubgraph cluster_legend {
\t\tlabel="Legend"
\t\tfontsize = 10
\t\tmargin=0
\t\ta [style=invis height=0 width=0]
\t\tb [style=invis height=0 width=0]
\t\tc [style=invis height=0 width=0]
\t\td [style=invis height=0 width=0]
\t\te [style=invis height=0 width=0]
\t\tf [style=invis height=0 width=0]
\t\tg [style=invis height=0 width=0]
\t\th [style=invis height=0 width=0]
\t\t{rank=source a b c d}
\t\t{rank=same e f g h}
\t\ta -> b [label="added connection", color="#008000" fontcolor="#008000" fontsize = 10 arrowsize=0.2]
\t\tc -> d [label="removed connection", color="red2" fontcolor="red2" fontsize = 10 arrowsize=0.2]
\t\te -> f [label="changed connection", color="magenta" fontcolor="magenta" fontsize = 10 arrowsize=0.2]
\t\tg -> h [label="unchanged connection", color="grey" fontcolor="grey" fontsize = 10 arrowsize=0.2]
\t\tnp [label="new peer" color="#008000" fontcolor="#008000" fontsize = 10]
\t\tlp [label="lost peer" color="red" fontcolor="red" fontsize = 10]
\t\tpp [label="persistent peer" color="blue" fontcolor="blue" fontsize = 10]
\t\t{rank=sink np lp pp}
\t\tnp->lp [style=invis]
\t\tlp->pp [style=invis]
\t}"""


def format_diff_dot(rows: Sequence[DiffRow]) -> str:
    """The diff as a graph: every connection of either side, coloured by change; new/lost peers coloured."""
    nodes: dict[str, tuple[str | None, str]] = {}
    for row in rows:
        for name, namespace in ((row.src, row.src_namespace), (row.dst, row.dst_namespace)):
            colour = "blue"
            if row.info and name in row.info:
                colour = "#008000" if row.kind == "added" else "red"
            if nodes.get(name, (None, "blue"))[1] == "blue":
                nodes[name] = (namespace, colour)
    lines = ["digraph {", *dot_nodes(nodes)]
    for row in sorted(rows, key=lambda r: (r.src, r.dst)):
        colour = _DIFF_COLOURS[row.kind]
        if row.kind == "changed":
            label = f"{row.head} (ref1: {row.base})"
        else:
            label = str(row.base if row.kind == "removed" else row.head)
        lines.append(dot_edge(row.src, row.dst, label, colour, colour))
    lines.append(_DIFF_LEGEND)
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_DIFF_STYLES = {
    "added": "stroke:#1a7f37,color:#1a7f37",
    "removed": "stroke:#cf222e,color:#cf222e,stroke-dasharray:4",
    "changed": "stroke:#9a6700,color:#9a6700",
}


def _mermaid_diff_label(row: DiffRow) -> str:
    if row.kind == "added":
        return f"added: {row.head}"
    if row.kind == "removed":
        return f"removed: {row.base}"
    return f"{row.head} (was {row.base})"


def format_diff_mermaid(rows: Sequence[DiffRow]) -> str:
    """The changes as a Mermaid flowchart: added edges green, removed ones red and dashed, changed ones
    amber (labelled with the ports before). Within GitHub's Mermaid limits: past them, the first changes
    are drawn and a ``%%`` comment line says how many are not."""
    changes = [row for row in rows if row.kind != "unchanged"]
    edges: list[tuple[str, str, str]] = []
    kinds: dict[str, list[int]] = {}
    nodes: dict[str, str | None] = {}
    size = 0
    for row in changes:
        label = _mermaid_diff_label(row)
        line = 2 * (len(row.src) + len(row.dst)) + len(label) + 80  # its edge, nodes and style index, at most
        if len(edges) >= MERMAID_MAX_EDGES or size + line > MERMAID_MAX_CHARS - 2000:
            break
        kinds.setdefault(row.kind, []).append(len(edges))
        edges.append((row.src, row.dst, label))
        nodes.setdefault(row.src, row.src_namespace)
        nodes.setdefault(row.dst, row.dst_namespace)
        size += line
    comment = ""
    if len(edges) < len(changes):
        comment = (
            f"netpolscan: {len(changes)} changes exceed GitHub's Mermaid limits ({MERMAID_MAX_EDGES} edges, "
            f"{MERMAID_MAX_CHARS} characters): the first {len(edges)} are drawn; the full list: --format "
            "txt, dot or html"
        )
    styles = [
        f"    linkStyle {','.join(map(str, indexes))} {_MERMAID_DIFF_STYLES[kind]}\n"
        for kind, indexes in sorted(kinds.items())
    ]
    return "".join(_mermaid_lines(nodes, edges, comment)) + "".join(styles)


DIFF_FORMATTERS: dict[str, Callable[[Sequence[DiffRow]], str]] = {
    "txt": format_diff_txt,
    "csv": format_diff_csv,
    "md": format_diff_md,
    "json": format_diff_json,
    "dot": format_diff_dot,
    "mermaid": format_diff_mermaid,
}


def format_diff(rows: Sequence[DiffRow], fmt: str = "txt") -> str:
    """The semantic diff in ``fmt`` (one of DIFF_FORMATS; SARIF is built by the SARIF reporter)."""
    if not any(row.kind != "unchanged" for row in rows):
        return ""  # netpol-analyzer prints nothing at all when nothing changed
    try:
        return DIFF_FORMATTERS[fmt](rows)
    except KeyError:
        raise ValueError(f"unknown diff format {fmt!r} (expected {', '.join(DIFF_FORMATS)})") from None


# --- explain ---------------------------------------------------------------------------------------------


def _where(document: Document, pointer: Pointer) -> str:
    line, _ = document.position(pointer)
    return f"{document.path}:{line}"


def _decision_lines(verdict: Verdict, subject: str) -> list[str]:
    """A tiered verdict: every tier, policy, rule and action that decided some ports, with file:line."""
    what = "Egress from" if verdict.direction == "egress" else "Ingress to"
    lines = [f"{what} {subject}: decided by policy tiers", f"  allowed: {verdict.ports}"]
    for decision in verdict.decisions:
        step = decision.step
        where = ""
        if step is not None:
            where = f" ({_where(step.policy.document, step.rule.pointer)})"
        lines.append(f"  - {decision.describe()}{where}: {decision.ports}")
    return lines


def _verdict_lines(verdict: Verdict, subject: str, external: bool) -> list[str]:
    what = "Egress from" if verdict.direction == "egress" else "Ingress to"
    if verdict.decisions:
        return _decision_lines(verdict, subject)
    if not verdict.isolated:
        reason = "an external address" if external else "no policy selects it"
        return [f"{what} {subject}: not isolated ({reason}): All Connections"]
    names = ", ".join(
        f"{p.namespace}/{p.name} ({_where(p.document, ('metadata', 'name'))})" for p in verdict.policies
    )
    lines = [f"{what} {subject}: isolated by {names}", f"  allowed: {verdict.ports}"]
    for grant, ports in verdict.allowing:
        policy, rule = grant.policy, grant.rule
        lines.append(
            f"  - {policy.namespace}/{policy.name} {rule.direction} rule {rule.index + 1} "
            f"({_where(policy.document, rule.pointer)}): {ports}"
        )
    if not verdict.allowing:
        lines.append("  - no rule of these policies matches the peer")
    return lines


def format_explanation(explanation: Explanation) -> str:
    """Plain-text explanation: the result, then each direction with its policies and rules."""
    src, dst = endpoint_name(explanation.src), endpoint_name(explanation.dst)
    lines = [f"Connection {src} => {dst}"]
    if explanation.port is not None:
        protocol, number = explanation.port
        state = "ALLOWED" if explanation.port_allowed else "DENIED"
        lines.append(f"{protocol} {number}: {state}")
    lines.append(f"Allowed connections: {explanation.allowed}")
    lines.append(f"Denied connections: {PortSet.all() - explanation.allowed}")
    missing = explanation.missing()
    if missing and (explanation.port is not None or not explanation.allowed):
        said = {"egress": "egress at the source", "ingress": "ingress at the destination"}
        lines.append("Missing: " + " and ".join(said[m] for m in missing))
    lines.append("")
    lines.extend(_verdict_lines(explanation.egress, src, not isinstance(explanation.src, Workload)))
    lines.extend(_verdict_lines(explanation.ingress, dst, not isinstance(explanation.dst, Workload)))
    return "\n".join(lines) + "\n"
