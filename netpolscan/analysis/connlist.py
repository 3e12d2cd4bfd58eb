"""The connectivity list: allowed connections grouped by endpoint name, ready for formatters.

Workloads that share a name (the pods of one owner) are one endpoint; their connections are united.
Self pairs are omitted and rows are sorted as plain strings, as netpol-analyzer prints them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netpolscan.analysis.connectivity import Connection, connectivity
from netpolscan.analysis.endpoints import endpoint_label, endpoint_namespace
from netpolscan.analysis.ports import PortSet
from netpolscan.model.inventory import Inventory


@dataclass(frozen=True, order=True)
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
    rows = group_connections(connectivity(inventory).pairs())
    if focus_workload:
        rows = [
            row for row in rows if _is_focus(row.src, focus_workload) or _is_focus(row.dst, focus_workload)
        ]
    return rows


def _is_focus(label: str, focus: str) -> bool:
    if "[" not in label or label.endswith("[External]"):
        return False
    name = label[: label.index("[")]
    return name == focus or name.split("/", 1)[-1] == focus
