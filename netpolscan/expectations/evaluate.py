"""Checking expectations with the semantic engine: resolve endpoints, test every pair, explain a breach.

``allow`` holds when every matched (source, destination) pair allows every listed port (all ports of all
protocols when none are listed); ``deny`` holds when no matched pair allows any listed port (any port at
all when none are listed). A workload paired with itself is skipped. A ``cidr`` stands for the external
addresses in it: one representative address per segment of the engine's address space that the range
intersects, so every distinct policy decision inside the range is tested.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from netpolscan.analysis.addresses import AddressSpace
from netpolscan.analysis.connectivity import Connectivity, Endpoint, IPAddress, Verdict, connectivity
from netpolscan.analysis.endpoints import owner_of, workload_label
from netpolscan.analysis.explain import explain
from netpolscan.analysis.ports import ALL_PORTS, PortSet
from netpolscan.expectations.spec import EndpointSpec, Expectation, IPNetwork
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload
from netpolscan.model.selectors import LabelSelector
from netpolscan.sources.document import Document, Pointer

PICK_ORDER = ("TCP", "UDP", "SCTP")  # which protocol a message names first


@dataclass(frozen=True)
class Breach:
    """A concrete pair and port that breaks an expectation, and why the engine decides so."""

    src: Endpoint
    dst: Endpoint
    protocol: str
    port: int
    why: str


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation: ``breach`` when it does not hold; ``unmatched`` endpoint notes."""

    expectation: Expectation
    pairs: int
    breach: Breach | None = None
    unmatched: tuple[str, ...] = field(default=())

    @property
    def holds(self) -> bool:
        return self.breach is None


def name(endpoint: Endpoint) -> str:
    return workload_label(endpoint) if isinstance(endpoint, Workload) else str(endpoint)


# --- endpoints -----------------------------------------------------------------------------------------


def matches_workload(workload: Workload, wanted: str) -> bool:
    """A workload endpoint names the object itself or its controlling owner (the pods of a ReplicaSet)."""
    return wanted in (workload.name, owner_of(workload)[1])


def resolve_workloads(inventory: Inventory, spec: EndpointSpec) -> list[Workload]:
    """The workloads an endpoint matches (none for a cidr), sorted by namespace and name."""
    if spec.cidr is not None:
        return []
    if spec.namespace is not None:
        namespaces = [spec.namespace]
    else:
        selector = LabelSelector(match_labels=tuple(sorted((spec.namespace_labels or {}).items())))
        namespaces = [ns.name for ns in inventory.namespaces_matching(selector)]
    found: list[Workload] = []
    for namespace in namespaces:
        if spec.workload is not None:
            found.extend(w for w in inventory.workloads_in(namespace) if matches_workload(w, spec.workload))
        elif spec.labels is not None:
            selector = LabelSelector(match_labels=tuple(sorted(spec.labels.items())))
            found.extend(inventory.workloads_matching(namespace, selector))
        else:
            found.extend(inventory.workloads_in(namespace))
    return sorted(found, key=lambda w: (w.namespace, w.name, w.kind))


def representatives(cidr: IPNetwork, space: AddressSpace, conn: Connectivity) -> list[IPAddress]:
    """One address per policy-distinguishable part of ``cidr`` (as the engine splits the address space)."""
    lo, hi = int(cidr.network_address), int(cidr.broadcast_address)
    if cidr.version == 4:
        return [
            ipaddress.IPv4Address(max(seg.first, lo))
            for seg in space.segments
            if seg.last >= lo and seg.first <= hi
        ]
    points = {lo}
    for policy in conn.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    block = peer.ip_block
                    for net in (block.cidr, *block.excepts) if block is not None else ():
                        if net.version == 6:
                            for point in (int(net.network_address), int(net.broadcast_address) + 1):
                                if lo <= point <= hi:
                                    points.add(point)
    return [ipaddress.IPv6Address(p) for p in sorted(points)]


def resolve(inventory: Inventory, spec: EndpointSpec, side: str) -> list[Endpoint]:
    """Workloads, or representative external addresses for a cidr (``side`` is ``from`` or ``to``)."""
    if spec.cidr is None:
        return list(resolve_workloads(inventory, spec))
    conn = connectivity(inventory)
    space = conn.ingress_space if side == "from" else conn.egress_space
    return list(representatives(spec.cidr, space, conn))


def why_nothing(inventory: Inventory, spec: EndpointSpec) -> str:
    """Why an endpoint matches nothing in scope."""
    if spec.namespace is not None and not inventory.in_scope(spec.namespace):
        return f"namespace {spec.namespace} is not in the input"
    if spec.namespace is None and spec.namespace_labels is not None:
        selector = LabelSelector(match_labels=tuple(sorted(spec.namespace_labels.items())))
        if not inventory.namespaces_matching(selector):
            return f"no namespace of the input has labels {selector}"
    if spec.workload is not None:
        return f"no workload {spec.namespace}/{spec.workload} in the input"
    return f"no workload matches {spec}"


# --- evaluation ----------------------------------------------------------------------------------------


def first_port(ports: PortSet, dst: Endpoint | None = None) -> tuple[str, int] | None:
    """The port a message names: a container port of the destination when one is in ``ports``, else the
    lowest port (TCP first)."""
    if isinstance(dst, Workload):
        for container_port in dst.ports:
            if ports.contains(container_port.protocol, container_port.port):
                return container_port.protocol, container_port.port
    for protocol in PICK_ORDER:
        intervals = ports.intervals(protocol)
        if intervals:
            return protocol, intervals[0][0]
    return None


def evaluate(inventory: Inventory, expectation: Expectation) -> Outcome:
    """Check one expectation against the inventory's connectivity."""
    conn = connectivity(inventory)
    unmatched: list[str] = []
    sides: dict[str, list[Endpoint]] = {"from": [], "to": []}
    for side, specs in (("from", expectation.sources), ("to", expectation.destinations)):
        for spec in specs:
            found = resolve(inventory, spec, side)
            if not found:
                unmatched.append(f"`{side}` {spec}: {why_nothing(inventory, spec)}")
            sides[side].extend(found)
    listed = expectation.ports if expectation.ports is not None else ALL_PORTS
    pairs = 0
    for src, dst in _pairs(sides["from"], sides["to"]):
        pairs += 1
        allowed = conn.allowed(src, dst)
        bad = listed - allowed if expectation.expect == "allow" else listed & allowed
        port = first_port(bad, dst)
        if port is not None:
            breach = Breach(src, dst, port[0], port[1], _why(inventory, src, dst, port))
            return Outcome(expectation, pairs, breach, tuple(unmatched))
    if not pairs and not unmatched:
        unmatched.append(
            "its endpoints form no pair to check "
            "(a workload with itself, or external addresses on both sides)"
        )
    return Outcome(expectation, pairs, None, tuple(unmatched))


def _pairs(
    sources: Sequence[Endpoint], destinations: Sequence[Endpoint]
) -> Iterator[tuple[Endpoint, Endpoint]]:
    seen: set[tuple[int, int]] = set()
    for src in sources:
        for dst in destinations:
            if src is dst or not (isinstance(src, Workload) or isinstance(dst, Workload)):
                continue
            key = (id(src), id(dst))
            if key not in seen:
                seen.add(key)
                yield src, dst


def _where(doc: Document, pointer: Pointer) -> str:
    line, _ = doc.position(pointer)
    return f"{doc.path}:{line}"


def _side(verdict: Verdict, endpoint: Endpoint, port: tuple[str, int], allowed: bool) -> str:
    what = "egress from" if verdict.direction == "egress" else "ingress to"
    subject = f"{what} {name(endpoint)}"
    if not verdict.isolated:
        reason = "an external address" if not isinstance(endpoint, Workload) else "no policy selects it"
        return f"{subject} is not isolated ({reason})"
    policies = ", ".join(
        f"NetworkPolicy {p.namespace}/{p.name} ({_where(p.document, ('metadata', 'name'))})"
        for p in verdict.policies
    )
    matching = [(g, ports) for g, ports in verdict.allowing if ports.contains(*port)]
    if allowed:
        rules = "; ".join(
            f"{g.policy.namespace}/{g.policy.name} {g.direction} rule {g.rule.index + 1} "
            f"({_where(g.policy.document, g.rule.pointer)})"
            for g, _ in matching
        )
        return f"{subject} is allowed by {rules}"
    others = [
        f"{g.policy.namespace}/{g.policy.name} {g.direction} rule {g.rule.index + 1} "
        f"({_where(g.policy.document, g.rule.pointer)}) allows only {ports}"
        for g, ports in verdict.allowing
        if ports
    ]
    tail = f"; {'; '.join(others)}" if others else "; no rule matches this peer"
    return f"{subject} is isolated by {policies}{tail}"


def _why(inventory: Inventory, src: Endpoint, dst: Endpoint, port: tuple[str, int]) -> str:
    explanation = explain(inventory, src, dst, port)
    if explanation.port_allowed:
        parts = [_side(v, e, port, True) for v, e in ((explanation.egress, src), (explanation.ingress, dst))]
    else:
        parts = [
            _side(v, e, port, False)
            for v, e in ((explanation.egress, src), (explanation.ingress, dst))
            if not v.ports.contains(*port)
        ]
    return "; ".join(parts)
