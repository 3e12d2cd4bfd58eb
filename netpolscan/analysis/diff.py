"""Semantic diff: the connections two inputs allow, compared endpoint by endpoint.

Workload endpoints are compared by name (``namespace/name[Kind]``). For external addresses, each side's
segments are refined to their common boundaries per workload and direction, then adjacent pieces with the
same (base, head) connections are merged again, so a range is reported once with the widest extent.
External endpoints known by name (``fqdn:…``, ``entity:…``) are compared by name, as workloads are.

``diff_rows(base, head)`` returns every compared pair, unchanged ones included (the dot view draws them);
``DiffRow.kind`` is ``changed``, ``added``, ``removed`` or ``unchanged``. ``allowing_rules`` (NetworkPolicy)
and ``allowing_tier_rules`` (the other kinds) name the HEAD rules that allow a row's HEAD connection (for
SARIF locations).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from netpolscan.analysis.addresses import SPACE_END, NamedEndpoint, Segment
from netpolscan.analysis.connectivity import Connectivity, Grant, Verdict, connectivity
from netpolscan.analysis.endpoints import workload_label
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload
from netpolscan.model.tiers import ALLOW, TierPolicy, TierRule

KIND_ORDER = {"changed": 0, "added": 1, "removed": 2, "unchanged": 3}


@dataclass(frozen=True)
class DiffRow:
    kind: str
    src: str
    dst: str
    base: PortSet
    head: PortSet
    info: str = ""
    src_namespace: str | None = None
    dst_namespace: str | None = None

    @property
    def sort_key(self) -> tuple[bool, int, str, str]:
        """Ingress-controller rows come last, as netpol-analyzer lists them."""
        return self.src.startswith("{"), KIND_ORDER[self.kind], self.src, self.dst

    @property
    def newly_allowed(self) -> PortSet:
        """What HEAD allows here that BASE did not."""
        return self.head - self.base


@dataclass
class _Side:
    pairs: dict[tuple[str, str], PortSet]
    # (direction, workload label) -> [(first, last, ports)]; "ingress" = external source
    external: dict[tuple[str, str], list[tuple[int, int, PortSet]]]
    workloads: dict[str, Workload]


def _side(inventory: Inventory) -> _Side:
    pairs: dict[tuple[str, str], PortSet] = {}
    external: dict[tuple[str, str], dict[tuple[int, int], PortSet]] = defaultdict(dict)
    workloads = {workload_label(w): w for w in inventory.workloads}
    for connection in connectivity(inventory).pairs():
        src, dst = connection.src, connection.dst
        if isinstance(src, NamedEndpoint) or isinstance(dst, NamedEndpoint):  # by name: its segment
            labels = (_label(src), _label(dst))  # number differs between inputs
            pairs[labels] = pairs.get(labels, NO_PORTS) | connection.ports
        elif isinstance(src, Segment) and isinstance(dst, Workload):
            ranges = external[("ingress", workload_label(dst))]
            key = (src.first, src.last)
            ranges[key] = ranges.get(key, NO_PORTS) | connection.ports
        elif isinstance(src, Workload) and isinstance(dst, Segment):
            ranges = external[("egress", workload_label(src))]
            key = (dst.first, dst.last)
            ranges[key] = ranges.get(key, NO_PORTS) | connection.ports
        elif isinstance(src, Workload) and isinstance(dst, Workload):
            labels = (workload_label(src), workload_label(dst))
            if labels[0] != labels[1]:
                pairs[labels] = pairs.get(labels, NO_PORTS) | connection.ports
    if inventory.services:
        from netpolscan.analysis.ingress_controller import INGRESS_CONTROLLER, ingress_controller_connections

        for label, (ports, _) in ingress_controller_connections(inventory).items():
            pairs[(INGRESS_CONTROLLER, label)] = ports
    return _Side(
        pairs, {k: sorted((a, b, p) for (a, b), p in v.items()) for k, v in external.items()}, workloads
    )


def _label(endpoint: Workload | Segment) -> str:
    if isinstance(endpoint, NamedEndpoint):
        return endpoint.name
    assert isinstance(endpoint, Workload)  # a named endpoint's peer is a workload
    return workload_label(endpoint)


def _lookup(ranges: list[tuple[int, int, PortSet]], address: int) -> PortSet:
    for first, last, ports in ranges:
        if first <= address <= last:
            return ports
    return NO_PORTS


def _external_pieces(
    base: list[tuple[int, int, PortSet]], head: list[tuple[int, int, PortSet]]
) -> list[tuple[Segment, PortSet, PortSet]]:
    points = {0, SPACE_END}
    for first, last, _ in (*base, *head):
        points.update((first, last + 1))
    starts = sorted(points)
    pieces: list[tuple[int, int, PortSet, PortSet]] = []
    for lo, hi in zip(starts, starts[1:], strict=False):
        b, h = _lookup(base, lo), _lookup(head, lo)
        if pieces and pieces[-1][2] == b and pieces[-1][3] == h and pieces[-1][1] == lo - 1:
            pieces[-1] = (pieces[-1][0], hi - 1, b, h)
        else:
            pieces.append((lo, hi - 1, b, h))
    return [(Segment(lo, hi), b, h) for lo, hi, b, h in pieces if b or h]


def _kind(base: PortSet, head: PortSet) -> str:
    if base == head:
        return "unchanged"
    if not base:
        return "added"
    return "removed" if not head else "changed"


def diff_rows(base: Inventory, head: Inventory) -> list[DiffRow]:
    """Every endpoint pair with a connection on either side, sorted (changed, added, removed, unchanged)."""
    old, new = _side(base), _side(head)

    def info(kind: str, labels: list[str]) -> str:
        if kind == "added":  # not {ingress-controller} nor a named external endpoint: workloads
            found = [label for label in labels if label in new.workloads and label not in old.workloads]
            verb = "added"
        elif kind == "removed":
            found = [label for label in labels if label in old.workloads and label not in new.workloads]
            verb = "removed"
        else:
            return ""
        return f"workload {' and '.join(found)} {verb}" if found else ""

    def namespace(label: str) -> str | None:
        workload = new.workloads.get(label) or old.workloads.get(label)
        return workload.namespace if workload is not None else None

    rows: list[DiffRow] = []
    for key in sorted(old.pairs.keys() | new.pairs.keys()):
        b, h = old.pairs.get(key, NO_PORTS), new.pairs.get(key, NO_PORTS)
        kind = _kind(b, h)
        rows.append(
            DiffRow(kind, key[0], key[1], b, h, info(kind, list(key)), namespace(key[0]), namespace(key[1]))
        )
    for direction, label in sorted(old.external.keys() | new.external.keys()):
        pieces = _external_pieces(
            old.external.get((direction, label), []), new.external.get((direction, label), [])
        )
        for segment, b, h in pieces:
            kind = _kind(b, h)
            if direction == "ingress":
                src, dst, src_ns, dst_ns = segment.label, label, None, namespace(label)
            else:
                src, dst, src_ns, dst_ns = label, segment.label, namespace(label), None
            rows.append(DiffRow(kind, src, dst, b, h, info(kind, [label]), src_ns, dst_ns))
    rows.sort(key=lambda row: row.sort_key)
    return rows


def _endpoint(
    label: str, workloads: dict[str, Workload], conn: Connectivity
) -> Workload | ipaddress.IPv4Address | NamedEndpoint:
    if label.endswith("[External]"):
        return ipaddress.IPv4Address(label.split("-", 1)[0])
    if label in workloads:
        return workloads[label]
    named = conn.egress_space.named(label) or conn.ingress_space.named(label)
    if named is None:
        raise KeyError(label)
    return named


def _head_verdicts(head: Inventory, row: DiffRow) -> list[Verdict]:
    """HEAD's egress verdict at ``row``'s source and ingress verdict at its destination."""
    conn = connectivity(head)
    workloads = {workload_label(w): w for w in head.workloads}
    src = _endpoint(row.src, workloads, conn)
    dst = _endpoint(row.dst, workloads, conn)
    return [conn.verdict(src, dst, direction) for direction in ("egress", "ingress")]


def allowing_rules(head: Inventory, row: DiffRow) -> list[Grant]:
    """The HEAD NetworkPolicy rules (egress at the source, ingress at the destination) allowing ``row``'s
    HEAD ports."""
    return [
        grant
        for verdict in _head_verdicts(head, row)
        for grant, ports in verdict.allowing
        if ports & row.head
    ]


def allowing_tier_rules(head: Inventory, row: DiffRow) -> list[tuple[str, TierPolicy, TierRule]]:
    """The HEAD rules of the other policy kinds (cluster-wide, Cilium, Calico) whose Allow decides some of
    ``row``'s HEAD ports: ``(direction, policy, rule)``, once each."""
    found: dict[tuple[int, int], tuple[str, TierPolicy, TierRule]] = {}
    for verdict in _head_verdicts(head, row):
        for decision in verdict.decisions:
            step = decision.step
            if decision.action != ALLOW or step is None or not decision.ports & row.head:
                continue
            if isinstance(step.policy, TierPolicy) and isinstance(step.rule, TierRule):
                found.setdefault(
                    (id(step.policy), id(step.rule)), (verdict.direction, step.policy, step.rule)
                )
    return list(found.values())
