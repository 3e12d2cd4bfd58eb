"""The connectivity list: allowed connections grouped by endpoint name, ready for formatters.

Workloads that share a name (the pods of one owner) are one endpoint; their connections are united.
Self pairs are omitted and rows are sorted as plain strings, as netpol-analyzer prints them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netpolscan.analysis.addresses import iter_bits
from netpolscan.analysis.connectivity import Connection, Connectivity, connectivity
from netpolscan.analysis.endpoints import endpoint_label, endpoint_namespace, workload_label
from netpolscan.analysis.ports import PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.sources.gc_pause import paused_gc


@dataclass(frozen=True, order=True, slots=True)
class Row:
    """One line of the connectivity list."""

    src: str
    dst: str
    ports: PortSet
    src_namespace: str | None = None
    dst_namespace: str | None = None

    @property
    def conn(self) -> str:
        return str(self.ports)


def group_connections(connections: Iterable[Connection]) -> list[Row]:
    """Rows from connections: one per ordered endpoint-name pair, self pairs dropped, sorted."""
    merged: dict[tuple[str, str], tuple[PortSet, str | None, str | None]] = {}
    for connection in connections:
        src = endpoint_label(connection.src)
        dst = endpoint_label(connection.dst)
        if src == dst:
            continue
        key = (src, dst)
        found = merged.get(key)
        if found is None:
            merged[key] = (
                connection.ports,
                endpoint_namespace(connection.src),
                endpoint_namespace(connection.dst),
            )
        else:
            merged[key] = (found[0] | connection.ports, found[1], found[2])
    return [Row(src, dst, ports, sns, dns) for (src, dst), (ports, sns, dns) in sorted(merged.items())]


def connection_rows(inventory: Inventory, focus_workload: str | None = None) -> list[Row]:
    """The connectivity list of ``inventory``; ``focus_workload`` (``name`` or ``ns/name``) keeps its rows."""
    with paused_gc():
        rows = _rows(connectivity(inventory))
    if inventory.services:  # "{ingress-controller}" sorts after every other name
        from netpolscan.analysis.ingress_controller import ingress_controller_rows

        rows.extend(ingress_controller_rows(inventory))
    if focus_workload:
        rows = [
            row for row in rows if _is_focus(row.src, focus_workload) or _is_focus(row.dst, focus_workload)
        ]
    return rows


def _rows(conn: Connectivity) -> list[Row]:
    """Rows straight from class-level connections (same result as ``group_connections(conn.pairs())``).

    Endpoint names are numbered in sorted order, so rows come out sorted with only small per-source sorts;
    per source, destinations are kept in a dict of shared PortSets (memory follows the output).
    """
    names: dict[str, str | None] = {}
    member_labels: list[list[str]] = []
    for cls in conn.classes:
        labels = []
        for workload in cls.members:
            label = workload_label(workload)
            names[label] = workload.namespace
            labels.append(label)
        member_labels.append(labels)
    segment_labels = [
        [segment.label for segment in space.segments] for space in (conn.ingress_space, conn.egress_space)
    ]
    for labels in segment_labels:
        names.update(dict.fromkeys(labels))
    ordered = sorted(names)
    rank = {label: index for index, label in enumerate(ordered)}
    ingress_ranks, egress_ranks = ([rank[label] for label in labels] for labels in segment_labels)
    members = [[rank[label] for label in labels] for labels in member_labels]
    table: list[dict[int, PortSet] | None] = [None] * len(ordered)
    union = conn._union

    def add(src: int, dst: int, ports: PortSet) -> None:
        found = table[src]
        if found is None:
            table[src] = {dst: ports}
            return
        previous = found.get(dst)
        found[dst] = ports if previous is None else union(previous, ports)

    for src_class, dst_class, ports in conn.class_connections():
        sources, destinations = members[src_class], members[dst_class]
        if len(sources) == 1 and len(destinations) == 1:
            src, dst = sources[0], destinations[0]
            if src != dst:
                found = table[src]
                if found is None:
                    table[src] = {dst: ports}
                else:
                    previous = found.get(dst)
                    found[dst] = ports if previous is None else union(previous, ports)
            continue
        for src in sources:
            for dst in destinations:
                if src != dst:  # one workload, or two pods of one owner: a self pair
                    add(src, dst, ports)
    for cls in conn.classes:
        ranks = members[cls.index]
        if not ranks:
            continue
        for bits, ports in conn._external_parts("ingress", cls.index):
            for index in iter_bits(bits):
                src = ingress_ranks[index]
                for dst in ranks:
                    add(src, dst, ports)
        for bits, ports in conn._external_parts("egress", cls.index):
            for index in iter_bits(bits):
                dst = egress_ranks[index]
                for src in ranks:
                    add(src, dst, ports)
    rows: list[Row] = []
    append = rows.append
    for src, found in enumerate(table):
        if found is None:
            continue
        table[src] = None  # rows replace the table as they are made
        src_label = ordered[src]
        src_namespace = names[src_label]
        for dst in sorted(found):
            dst_label = ordered[dst]
            append(Row(src_label, dst_label, found[dst], src_namespace, names[dst_label]))
    return rows


def _is_focus(label: str, focus: str) -> bool:
    if "[" not in label or label.endswith("[External]"):
        return False
    name = label[: label.index("[")]
    return name == focus or name.split("/", 1)[-1] == focus
