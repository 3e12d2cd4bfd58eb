"""Verification: the input and the generated policies, analysed together, must give what the plan says.

- no NPS101-105 (isolation), NPS501 (DNS) or NPS701 (an expectation that does not hold);
- workload to workload: every planned connection is allowed on its ports, and nothing more: for a plan
  from expectations, nothing beyond the ``allow`` entries and DNS; for a plan from connectivity, nothing
  that today's policies did not allow (the input's own policies may keep more than the frozen ports);
- workload to external addresses (a plan from expectations): nothing beyond the ``cidr`` entries.

The differences are listed as a diff: ``- SRC => DST : PORTS`` planned but not allowed, ``+ ...`` allowed
but not planned.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from netpolscan.analysis.addresses import NamedEndpoint, Segment
from netpolscan.analysis.connectivity import Connectivity, connectivity
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.generate.plan import Key, Plan, target_key
from netpolscan.plugin_api import Finding
from netpolscan.scan import ScanOptions, scan_documents
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text

RULES = ("NPS101", "NPS102", "NPS103", "NPS104", "NPS105", "NPS501", "NPS701")
GENERATED_PATH = "(generated)"


@dataclass
class Verification:
    findings: list[Finding] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # what the kind cannot close (said, not failed)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.diff

    def lines(self) -> list[str]:
        out = [f"{f.location.path}:{f.location.line}: {f.rule_id} {f.message}" for f in self.findings]
        return out + self.diff


def key_pairs(conn: Connectivity) -> dict[tuple[Key, Key], PortSet]:
    """Allowed ports between workload groups (a group with itself left out)."""
    keys = {id(w): target_key(w) for w in conn.inventory.workloads}
    found: dict[tuple[Key, Key], PortSet] = {}
    for src_index, dst_index, ports in conn.class_connections():
        for src in conn.classes[src_index].members:
            for dst in conn.classes[dst_index].members:
                pair = (keys[id(src)], keys[id(dst)])
                if src is not dst and pair[0] != pair[1]:
                    found[pair] = found.get(pair, NO_PORTS) | ports
    return found


def verify(
    documents: Sequence[Document],
    generated: str,
    plan: Plan,
    namespace: str,
    expectations: Sequence[str] = (),
    today: dict[tuple[Key, Key], PortSet] | None = None,
    open_external_ingress: bool = False,
) -> Verification:
    """Analyse ``documents`` with the ``generated`` manifests and compare with ``plan`` (``today``: the
    input's own workload connections, the upper bound of a plan from connectivity).
    ``open_external_ingress``: the kind cannot deny ingress from outside the cluster (ClusterNetworkPolicy):
    such connections are listed as limits instead of failing."""
    combined = [*documents, *parse_text(generated, GENERATED_PATH)]
    options = ScanOptions(paths=(), namespace=namespace, select=RULES, expectations=tuple(expectations))
    report = scan_documents(combined, options)
    result = Verification([f for f in report.findings if f.rule_id in RULES and f.suppression is None])
    assert report.inventory is not None
    conn = connectivity(report.inventory)
    actual = key_pairs(conn)
    expected = plan.pairs()
    upper = expected if today is None else _union(today, expected)
    for pair in sorted(set(expected) | set(actual)):
        want, have = expected.get(pair, NO_PORTS), actual.get(pair, NO_PORTS)
        missing = want - have
        extra = have - upper.get(pair, NO_PORTS)
        labels = f"{plan.targets[pair[0]].label} => {plan.targets[pair[1]].label}"
        if not missing.is_empty:
            result.diff.append(f"- {labels} : {missing}  (planned, not allowed)")
        if not extra.is_empty:
            result.diff.append(f"+ {labels} : {extra}  (allowed, not planned)")
    if today is None:
        for line in _external(conn, plan):
            external_ingress = line.split(" => ")[0].endswith("[External]")
            (result.limits if open_external_ingress and external_ingress else result.diff).append(line)
    return result


def _union(
    a: dict[tuple[Key, Key], PortSet], b: dict[tuple[Key, Key], PortSet]
) -> dict[tuple[Key, Key], PortSet]:
    out = dict(a)
    for pair, ports in b.items():
        out[pair] = out.get(pair, NO_PORTS) | ports
    return out


def _covers(cidr: ipaddress.IPv4Network | ipaddress.IPv6Network, segment: Segment) -> bool:
    if isinstance(segment, NamedEndpoint):
        return cidr.prefixlen == 0
    return (
        cidr.version == 4
        and int(cidr.network_address) <= segment.first
        and segment.last <= int(cidr.broadcast_address)
    )


def _external(conn: Connectivity, plan: Plan) -> list[str]:
    """Connections between workloads and external addresses beyond the plan's ``cidr`` allows."""
    diff: list[str] = []
    for cls in conn.classes:
        targets = {target_key(w): plan.targets.get(target_key(w)) for w in cls.members}
        for target in targets.values():  # the members of a class are decided alike
            if target is None:
                continue
            for direction, table in (("egress", plan.egress), ("ingress", plan.ingress)):
                allows = table.get(target.key, {})
                for segment, ports in conn.external_connections(direction, cls.index):
                    allowed = NO_PORTS
                    for peer, allow in allows.items():
                        if not isinstance(peer, tuple) and _covers(peer, segment):
                            allowed = allowed | allow.ports
                    extra = ports - allowed
                    if not extra.is_empty:
                        ends = (target.label, segment.label)
                        src, dst = ends if direction == "egress" else ends[::-1]
                        diff.append(f"+ {src} => {dst} : {extra}  (allowed, not planned)")
    return sorted(diff)
