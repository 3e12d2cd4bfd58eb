"""From a plan to kind-neutral policy specs: per namespace a default deny (with DNS egress), per
destination workload one ingress policy, per source workload one egress policy.

Rules group the peers allowed on the same ports. Peers are written as narrowly as the input allows and
as briefly as exactness permits: every workload of other namespaces becomes those namespaces; one
selector used in several namespaces becomes one peer over those namespaces (or over every namespace, when
no other workload of the input carries it). A peer never selects the policy's own workload.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netpolscan.analysis.ports import PROTOCOL_ORDER, PortSet
from netpolscan.expectations.spec import IPNetwork
from netpolscan.generate.plan import DNS_PORTS, Allow, Key, Peer, Plan, Sel, Target, peer_sort_key

MAX_REASONS = 6  # comment lines per rule; more are counted
ALL_NAMESPACES_MIN = 3  # "in every namespace" only when the workloads span at least this many


@dataclass(frozen=True)
class PeerSpec:
    """Pods (``namespaces`` None = every namespace; ``labels`` None = every pod) or a ``cidr``."""

    namespaces: tuple[str, ...] | None = None
    labels: Sel | None = None
    cidr: IPNetwork | None = None
    comment: str = ""


@dataclass
class PortItem:
    """One port entry: a protocol with every port (``low`` None), a number, a range or a name."""

    protocol: str
    low: int | None = None
    high: int | None = None
    name: str | None = None


@dataclass
class RuleSpec:
    peers: list[PeerSpec]
    ports: PortSet
    items: list[PortItem]  # empty = every port of every protocol
    reasons: list[str] = field(default_factory=list)


@dataclass
class PolicySpec:
    namespace: str
    name: str
    subject: Sel | None  # None = every pod of the namespace
    directions: tuple[str, ...]
    ingress: list[RuleSpec]
    egress: list[RuleSpec]
    comment: list[str]
    target: Target | None = None

    @property
    def is_default_deny(self) -> bool:
        return self.subject is None


def port_items(ports: PortSet, names: dict[tuple[str, int], str]) -> list[PortItem]:
    """``ports`` as port entries, each single port by its name where ``names`` has one."""
    if ports.is_all:
        return []
    items = []
    for protocol in PROTOCOL_ORDER:
        for low, high in ports.intervals(protocol):
            if (low, high) == (1, 65535):
                items.append(PortItem(protocol))
            elif low == high:
                items.append(PortItem(protocol, low, low, names.get((protocol, low))))
            else:
                items.append(PortItem(protocol, low, high))
    return items


def port_names(targets: Iterable[Target]) -> dict[tuple[str, int], str]:
    """(protocol, number) -> the name every container of every workload of ``targets`` gives it."""
    found: dict[tuple[str, int], str] | None = None
    for target in targets:
        for workload in target.workloads:
            named = {(p.protocol, p.port): p.name for p in workload.ports if p.name}
            if found is None:
                found = named
            else:
                found = {k: v for k, v in found.items() if named.get(k) == v}
    return found or {}


class _Peers:
    """Peer collapsing over the targets of one plan (indexes built once)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.by_namespace: dict[str, set[Key]] = defaultdict(set)
        self.by_label: dict[tuple[str, str], set[Key]] = defaultdict(set)
        for key, target in plan.targets.items():
            self.by_namespace[key[0]].add(key)
            labels = set(target.workloads[0].labels.items())
            for workload in target.workloads[1:]:
                labels &= set(workload.labels.items())
            for item in labels:
                self.by_label[item].add(key)
        self.all_keys = set(plan.targets)

    def carrying(self, selector: Sel) -> set[Key]:
        """The targets ``selector`` selects, in any namespace."""
        labels = selector.labels
        found = set(self.all_keys) if not labels else set(self.by_label.get(labels[0], ()))
        for item in labels[1:]:
            found &= self.by_label.get(item, set())
        if selector.exclude:
            found = {
                k for k in found if all(selector.matches(w.labels) for w in self.plan.targets[k].workloads)
            }
        return found

    def collapse(self, owner: Key, peers: Sequence[Key]) -> list[PeerSpec]:
        """Peers for the targets ``peers`` of ``owner``; never one that also selects the owner (a
        workload is not planned to itself, and a peer of every pod would read as no isolation)."""
        group = set(peers)
        spans = {key[0] for key in group}
        out: list[PeerSpec] = []
        remaining = set(group)
        full = []
        for namespace in sorted(spans - {owner[0]}):
            members = self.by_namespace[namespace]
            if len(members) > 1 and members <= group:
                full.append(namespace)
                remaining -= members
        if full:
            what = f"namespace {full[0]}" if len(full) == 1 else f"{len(full)} namespaces"
            out.append(PeerSpec(tuple(full), None, comment=f"every workload of {what}"))
        by_selector: dict[Sel, list[Key]] = defaultdict(list)
        for key in remaining:
            by_selector[self.plan.targets[key].selector].append(key)
        for labels, keys in by_selector.items():
            keys.sort()
            namespaces = tuple(sorted({key[0] for key in keys}))
            if len(namespaces) >= ALL_NAMESPACES_MIN and self.carrying(labels) <= group:
                out.append(PeerSpec(None, labels, comment=f"{len(keys)} workloads, in every namespace"))
            elif len(keys) == 1:
                out.append(PeerSpec(namespaces, labels, comment=self.plan.targets[keys[0]].label))
            else:
                out.append(PeerSpec(namespaces, labels, comment=f"{len(keys)} workloads"))
        return sorted(out, key=_peer_order)


def _peer_order(peer: PeerSpec) -> tuple[int, tuple[str, ...], Sel, str]:
    if peer.cidr is not None:
        return (
            2,
            (),
            Sel(),
            f"{peer.cidr.version}{int(peer.cidr.network_address):040d}/{peer.cidr.prefixlen:03d}",
        )
    return (0 if peer.namespaces is None else 1, peer.namespaces or (), peer.labels or Sel(), "")


def _reasons(allows: Iterable[Allow]) -> list[str]:
    found = list(dict.fromkeys(reason for allow in allows for reason in allow.reasons))
    if len(found) > MAX_REASONS:
        found = [*found[: MAX_REASONS - 1], f"... and {len(found) - MAX_REASONS + 1} more"]
    return found


def _rules(
    plan: Plan, collapse: _Peers, owner: Target, peers: dict[Peer, Allow], direction: str
) -> list[RuleSpec]:
    by_ports: dict[PortSet, list[Peer]] = defaultdict(list)
    for peer, allow in peers.items():
        by_ports[allow.ports].append(peer)
    rules = []
    for ports, group in by_ports.items():
        group.sort(key=peer_sort_key)
        keys = [peer for peer in group if isinstance(peer, tuple)]
        specs = collapse.collapse(owner.key, keys) if keys else []
        specs += [PeerSpec(cidr=peer) for peer in group if not isinstance(peer, tuple)]
        named_on = [owner] if direction == "ingress" else [plan.targets[key] for key in keys]
        names = (
            port_names(named_on) if named_on and (direction == "ingress" or len(keys) == len(group)) else {}
        )
        rules.append(RuleSpec(specs, ports, port_items(ports, names), _reasons(peers[p] for p in group)))
    return sorted(rules, key=lambda rule: (_peer_order(rule.peers[0]), str(rule.ports)))


def dns_rule(plan: Plan) -> RuleSpec:
    dns = plan.dns
    reason = (
        f"DNS: every pod may resolve names at the cluster DNS ({dns.namespace} pods with "
        + str(dns.labels)
        + f", {dns.origin}) on 53/UDP and 53/TCP"
    )
    peer = PeerSpec((dns.namespace,), dns.labels, comment="the cluster DNS")
    return RuleSpec([peer], DNS_PORTS, port_items(DNS_PORTS, {}), [reason])


def _workload_policy(
    plan: Plan, collapse: _Peers, target: Target, peers: dict[Peer, Allow], direction: str
) -> PolicySpec:
    rules = _rules(plan, collapse, target, peers, direction)
    what = (
        f"ingress to {target.label}: who may connect to it"
        if direction == "ingress"
        else (f"egress from {target.label}: what it may connect to")
    )
    ingress, egress = (rules, []) if direction == "ingress" else ([], rules)
    return PolicySpec(
        target.namespace,
        f"{direction}-{target.name}",
        target.selector,
        (direction,),
        ingress,
        egress,
        [f"{what}, and on which ports"],
        target,
    )


def policy_specs(plan: Plan) -> list[PolicySpec]:
    """Every policy of the plan, in output order: per namespace its default deny, then per workload
    (by name) its ingress policy and its egress policy."""
    collapse = _Peers(plan)
    specs: list[PolicySpec] = []
    dns_sources = {key: Allow() for key in plan.targets}
    for key in dns_sources:
        dns_sources[key].add(DNS_PORTS, "DNS: the cluster DNS answers every pod on 53/UDP and 53/TCP")
    by_namespace: dict[str, list[Target]] = defaultdict(list)
    for target in plan.targets.values():
        by_namespace[target.namespace].append(target)
    for namespace in plan.namespaces:
        specs.append(
            PolicySpec(
                namespace,
                "default-deny",
                None,
                ("ingress", "egress"),
                [],
                [dns_rule(plan)],
                [
                    f"default deny for namespace {namespace}: no pod accepts or opens a connection that a",
                    "policy below does not allow; DNS to the cluster DNS stays open",
                ],
            )
        )
        for target in by_namespace.get(namespace, []):
            ingress = dict(plan.ingress.get(target.key, {}))
            if target.key in plan.dns.targets:
                for src, allow in dns_sources.items():
                    if src != target.key:
                        before = ingress.get(src)
                        merged = Allow(before.ports, list(before.reasons)) if before else Allow()
                        merged.add(allow.ports, allow.reasons[0])
                        ingress[src] = merged
            for direction, peers in (("ingress", ingress), ("egress", plan.egress.get(target.key, {}))):
                if peers:
                    specs.append(_workload_policy(plan, collapse, target, peers, direction))
    return specs
