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

import copy
import dataclasses
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from netpolscan.analysis.addresses import NamedEndpoint, Segment
from netpolscan.analysis.connectivity import Connectivity, Endpoint, connectivity
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.generate.plan import Key, Plan, key_pairs, target_key
from netpolscan.model.inventory import Inventory
from netpolscan.model.kinds import object_identity
from netpolscan.model.objects import Workload
from netpolscan.model.parse import parse_document
from netpolscan.plugin_api import Finding
from netpolscan.scan import ScanOptions, scan_inventory
from netpolscan.sources.document import Document

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


def with_generated(inventory: Inventory, generated: Sequence[Document]) -> Inventory:
    """The input's inventory with the ``generated`` documents added. An input object that a generated one
    redefines (same kind, namespace and name: the output of an earlier run) is replaced by it, as
    applying the generated manifests would; else the input's model objects are reused as they are."""
    namespace = inventory.default_namespace
    names = {object_identity(doc.data, namespace) for doc in generated}
    redefined = [
        d for d in inventory.documents if d.error is None and object_identity(d.data, namespace) in names
    ]
    if redefined:
        kept = [d for d in inventory.documents if not any(d is r for r in redefined)]
        return Inventory.from_documents([*kept, *generated], namespace, inventory.kinds)
    parsed = copy.copy(inventory.parsed)
    for item in dataclasses.fields(parsed):
        value = getattr(parsed, item.name)
        if isinstance(value, dict):
            value = {key: list(objects) for key, objects in value.items()}
        else:
            value = type(value)(value)
        setattr(parsed, item.name, value)
    for doc in generated:
        parse_document(doc, namespace, parsed, inventory.kinds)
    return Inventory([*inventory.documents, *generated], parsed, namespace, inventory.kinds)


def verify(
    inventory: Inventory,
    generated: Sequence[Document],
    plan: Plan,
    expectations: Sequence[str] = (),
    today: dict[tuple[Key, Key], PortSet] | None = None,
    open_external_ingress: bool = False,
) -> Verification:
    """Analyse the input's ``inventory`` with the ``generated`` documents and compare with ``plan``
    (``today``: the input's own workload connections, the upper bound of a plan from connectivity).
    ``open_external_ingress``: the kind cannot deny ingress from outside the cluster (ClusterNetworkPolicy):
    such connections are listed as limits instead of failing."""
    combined = with_generated(inventory, generated)
    options = ScanOptions(
        paths=(), namespace=inventory.default_namespace, select=RULES, expectations=tuple(expectations)
    )
    report = scan_inventory(combined, options)
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
            why = _by(conn, plan.targets[pair[0]].workloads[0], plan.targets[pair[1]].workloads[0])
            result.diff.append(f"+ {labels} : {extra}  (allowed, not planned{why})")
    if today is None:
        for line in _external(conn, plan):
            external_ingress = line.split(" => ")[0].endswith("[External]")
            (result.limits if open_external_ingress and external_ingress else result.diff).append(line)
    return result


def _by(conn: Connectivity, src: Endpoint, dst: Endpoint) -> str:
    """Which of the input's policies allow ``src`` -> ``dst``, per direction (``""`` when none is known)."""
    parts = []
    for direction, owner in (("egress", src), ("ingress", dst)):
        if not isinstance(owner, Workload):
            continue
        verdict = conn.verdict(src, dst, direction)
        names = sorted(
            {
                f"{g.policy.namespace}/{g.policy.name}"
                for g, _ in verdict.allowing
                if g.policy.document.path != GENERATED_PATH
            }
        )
        if names:
            parts.append(f"{direction} allowed by the input's NetworkPolicy {', '.join(names)}")
        elif not verdict.isolated:
            parts.append(f"{direction} not isolated")
    return ": " + "; ".join(parts) if parts else ""


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
                        why = ""
                        if not isinstance(segment, NamedEndpoint):
                            points: tuple[Endpoint, Endpoint] = (
                                target.workloads[0],
                                ipaddress.IPv4Address(segment.first),
                            )
                            why = _by(conn, *(points if direction == "egress" else points[::-1]))
                        diff.append(f"+ {src} => {dst} : {extra}  (allowed, not planned{why})")
    return sorted(diff)
