"""The connectivity list with netpol-analyzer's extras: the exposure sections and the one-connection focus.

``format_connlist_view(rows, fmt, exposure, focus, workloads)`` lays out rows already computed by
:mod:`netpolscan.analysis.connlist`, :mod:`netpolscan.analysis.focus` and
:mod:`netpolscan.analysis.exposure` in txt, csv, md, json or dot, as netpol-analyzer prints them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from netpolscan.analysis.connlist import Row
from netpolscan.analysis.exposure import ENTIRE_CLUSTER, Exposure, ExposureLine
from netpolscan.analysis.focus import NO_FOCUS, Focus
from netpolscan.report.connectivity_formats import _csv, _md, _quote, dot_cluster, dot_edge, dot_nodes

VIEW_FORMATS = ("txt", "csv", "md", "json", "dot")


def _pairs(rows: Sequence[Row], focus: Focus) -> list[tuple[str, ...]]:
    if focus.conn is not None:
        return [(row.src, row.dst) for row in rows]
    return [(row.src, row.dst, row.conn) for row in rows]


def _lines(lines: Sequence[ExposureLine], focus: Focus) -> list[tuple[str, ...]]:
    """Records of exposure lines: (workload, peer[, conn]), the workload first in either direction."""
    if focus.conn is not None:
        return [(line.workload, line.peer) for line in lines]
    return [(line.workload, line.peer, str(line.conn)) for line in lines]


def _title(focus: Focus) -> str:
    return "Exposure Analysis Result" + (f" On {focus.conn_text}" if focus.conn else "") + ":"


def _txt(rows: Sequence[Row], exposure: Exposure | None, focus: Focus) -> str:
    text = ""
    if focus.conn is not None:
        text = f"Permitted connections on {focus.conn_text}:\n"
    text += "".join(" => ".join(record[:2]) + _tail(record) + "\n" for record in _pairs(rows, focus))
    if exposure is None:
        return text
    return text + ("\n" if rows else "") + exposure_txt(exposure, focus)


def exposure_txt(exposure: Exposure, focus: Focus = NO_FOCUS) -> str:
    """The exposure sections in text: egress, ingress, and the workloads no policy protects."""
    text = _title(focus) + "\n"
    width = max((len(line.workload) for line in (*exposure.egress, *exposure.ingress)), default=0)
    sections = []
    for title, lines, arrow in (
        ("Egress Exposure:", exposure.egress, "=>"),
        ("Ingress Exposure:", exposure.ingress, "<="),
    ):
        if lines:
            body = "".join(
                f"{record[0].ljust(width)} \t{arrow} \t{record[1]}{_tail(record)}\n"
                for record in _lines(lines, focus)
            )
            sections.append(f"{title}\n{body}")
    if exposure.unprotected and focus.conn is None:  # one connection: the section is left out
        body = "".join(
            f"{name} is not protected on {direction}\n" for name, direction in exposure.unprotected
        )
        sections.append(f"Workloads not protected by network policies:\n{body}")
    return text + "\n".join(sections)


def _tail(record: tuple[str, ...]) -> str:
    return f" : {record[2]}" if len(record) > 2 else ""


def _header(focus: Focus, ingress: bool = False) -> tuple[str, ...]:
    first = ("dst", "src") if ingress else ("src", "dst")
    return first if focus.conn is not None else (*first, "conn")


def _csv_view(rows: Sequence[Row], exposure: Exposure | None, focus: Focus) -> str:
    text = _csv(_header(focus), _pairs(rows, focus))
    if exposure is None:
        return text
    pad = ",,"
    text += f"{_title(focus)}{pad}\n"
    if exposure.egress:
        text += f"Egress Exposure:{pad}\n" + _csv(_header(focus), _lines(exposure.egress, focus))
    if exposure.ingress:
        text += f"Ingress Exposure:{pad}\n" + _csv(_header(focus, True), _lines(exposure.ingress, focus))
    return text


def _md_view(rows: Sequence[Row], exposure: Exposure | None, focus: Focus) -> str:
    text = _md(_header(focus), _pairs(rows, focus))
    if exposure is None:
        return text
    egress = ""
    if exposure.egress:
        egress = "### Egress Exposure:\n" + _md(_header(focus), _lines(exposure.egress, focus))
    ingress = ""
    if exposure.ingress:
        ingress = "### Ingress Exposure:\n" + _md(_header(focus, True), _lines(exposure.ingress, focus))
    return text + f"## {_title(focus)}\n{egress}\n{ingress}"


def _json_view(rows: Sequence[Row], exposure: Exposure | None, focus: Focus) -> str:
    keys = ("src", "dst", "conn")
    connlist = [dict(zip(keys, record, strict=False)) for record in _pairs(rows, focus)]
    if exposure is None:
        return json.dumps(connlist, indent=2) + "\n"

    def items(lines: Sequence[ExposureLine], ingress: bool) -> list[dict[str, str]] | None:
        if not lines:  # nothing exposed: null, or [] with --focus-conn (as netpol-analyzer writes it)
            return None if focus.conn is None else []
        found = []
        for record in _lines(lines, focus):
            src, dst = (record[1], record[0]) if ingress else (record[0], record[1])
            found.append(dict(zip(keys, (src, dst, *record[2:]), strict=False)))
        return found

    document = {
        "connlist_conn_focus_results" if focus.conn is not None else "connlist_results": connlist,
        "exposure_conn_focus_results" if focus.conn is not None else "exposure_results": {
            "egress_exposure": items(exposure.egress, False),
            "ingress_exposure": items(exposure.ingress, True),
        },
    }
    return json.dumps(document, indent=2) + "\n"


def _dot_view(
    rows: Sequence[Row], exposure: Exposure | None, workloads: Sequence[tuple[str, str]], focus: Focus
) -> str:
    """The graph; with ``--focus-conn`` edges carry that connection (the exposure of a direction no
    policy protects keeps ``All Connections``, as netpol-analyzer draws it)."""
    nodes: dict[str, tuple[str | None, str]] = {name: (namespace, "blue") for name, namespace in workloads}
    for row in rows:
        for name, namespace in ((row.src, row.src_namespace), (row.dst, row.dst_namespace)):
            nodes[name] = (namespace, "red2" if name.endswith("[External]") else "blue")
    edges = [
        (row.src, row.dst, dot_edge(row.src, row.dst, focus.conn_text or row.conn, "gold2", "darkgreen"))
        for row in rows
    ]
    reps: dict[str, dict[str, str]] = {}  # namespace part -> node id -> pod part
    exposure_unprotected = set(exposure.unprotected) if exposure else set()
    entire = False
    for lines, ingress in (
        ((exposure.egress if exposure else ()), False),
        ((exposure.ingress if exposure else ()), True),
    ):
        for line in lines:
            nodes.setdefault(line.workload, (line.namespace, "blue"))
            rep = line.representative
            if rep is not None:
                peer = f"{rep.pod_name}_in_{rep.namespace_name}"
                reps.setdefault(rep.namespace_name, {})[peer] = rep.pod_name
            elif line.peer == ENTIRE_CLUSTER:
                peer = ENTIRE_CLUSTER
                entire = True
            else:
                continue  # an external line: already an edge of the connectivity list
            label = str(line.conn)
            unprotected = (line.workload, "Ingress" if ingress else "Egress") in exposure_unprotected
            if focus.conn is not None and not unprotected:  # an unprotected side keeps All Connections
                label = focus.conn_text
            src, dst = (peer, line.workload) if ingress else (line.workload, peer)
            colour = "darkorange2" if ingress else "darkorange4"
            weight = "1" if ingress else "0.5"
            edges.append(
                (
                    src,
                    dst,
                    f'\t{_quote(src)} -> {_quote(dst)} [label={_quote(label)} color="{colour}" '
                    f'fontcolor="darkgreen" weight={weight} style=dashed]',
                )
            )
    between: list[str] = []
    for namespace in sorted(reps):
        cluster = dot_cluster(namespace)
        between += [f"\tsubgraph {_quote(cluster)} {{", '\t\tcolor="red2"', '\t\tfontcolor="red2"']
        for node, pod in sorted(reps[namespace].items()):
            between.append(f'\t\t{_quote(node)} [label={_quote(pod)} color="red2" fontcolor="red2"]')
        between += [f"\t\tlabel={_quote(f'{namespace}[namespace]')}", "\t}"]
    lines_out = ["digraph {", *dot_nodes(nodes, between)]
    if entire:  # among the other endpoints, in name order
        position = len(lines_out)
        for index, text in enumerate(lines_out):
            if text.startswith('\t"') and text[2:].split('"', 1)[0] > ENTIRE_CLUSTER:
                position = index
                break
        lines_out.insert(
            position,
            f'\t{_quote(ENTIRE_CLUSTER)} [label={_quote(ENTIRE_CLUSTER)} color="red2" fontcolor="red2" shape=diamond]',
        )
    lines_out += [edge for _, _, edge in sorted(edges, key=lambda item: (item[0], item[1]))]
    lines_out.append("}")
    return "\n".join(lines_out) + "\n"


def format_connlist_view(
    rows: Sequence[Row],
    fmt: str,
    exposure: Exposure | None = None,
    focus: Focus = NO_FOCUS,
    workloads: Sequence[tuple[str, str]] = (),
) -> str:
    """The connectivity list (and its exposure) in ``fmt``; ``workloads`` are dot nodes even unconnected."""
    if fmt == "txt":
        return _txt(rows, exposure, focus)
    if fmt == "csv":
        return _csv_view(rows, exposure, focus)
    if fmt == "md":
        return _md_view(rows, exposure, focus)
    if fmt == "json":
        return _json_view(rows, exposure, focus)
    if fmt == "dot":
        return _dot_view(rows, exposure, workloads, focus)
    raise ValueError(
        f"unknown format {fmt!r} with --exposure or --focus-conn (expected {', '.join(VIEW_FORMATS)})"
    )
