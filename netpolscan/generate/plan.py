"""The plan of the policies to write: which workload may reach which, on which ports, and why.

A plan is kind-neutral. It is built from an expectations file (every ``allow`` entry, resolved to the
workloads of the input) or from today's connectivity (every connection the input's policies allow between
workloads, limited to the ports the destination's Services expose, else the ports its containers
declare). The emitters (:mod:`.emit`) turn it into policies of one kind; :mod:`.verify` checks them.

Workloads are grouped as expectations name them: ``(namespace, name of the controlling owner)``; such a
group is a :class:`Target`, selected by the smallest set of its pod labels that no other workload of its
namespace carries.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from netpolscan.analysis.connectivity import Connectivity, connectivity
from netpolscan.analysis.endpoints import owner_of, workload_label
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.expectations.evaluate import resolve_workloads
from netpolscan.expectations.spec import Expectation, ExpectationsFile, IPNetwork
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Service, Workload
from netpolscan.model.pod_labels import CONTROLLER_LABELS

Key = tuple[str, str]  # (namespace, workload or owner name)
Labels = tuple[tuple[str, str], ...]
Exclude = tuple[tuple[str, str | None], ...]  # (key, None): the key is absent; (key, value): not that value
Peer = Key | IPNetwork  # a target, or external addresses
DNS_PORTS = PortSet({"UDP": [(53, 53)], "TCP": [(53, 53)]})
DNS_NAMESPACE = "kube-system"
DNS_LABELS: Labels = (("k8s-app", "kube-dns"),)


@dataclass(frozen=True, order=True)
class Sel:
    """A pod selector: these labels, and none of the ``exclude`` labels (for a workload whose labels
    are a subset of another's)."""

    labels: Labels = ()
    exclude: Exclude = ()

    def matches(self, labels: dict[str, str] | Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.labels):
            return False
        return not any((k in labels) if v is None else labels.get(k) == v for k, v in self.exclude)

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.labels]
        parts += [f"!{k}" if v is None else f"{k}!={v}" for k, v in self.exclude]
        return ",".join(parts) or "every pod"


# labels that name what a pod is, tried first; labels that change with every rollout, tried last
PREFERRED: tuple[str, ...] = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app",
    "k8s-app",
    "name",
    "component",
    "role",
    "tier",
)
MAX_SELECTOR_SIZE = 3  # beyond this, the target is selected by all its labels


@dataclass(frozen=True, eq=False)
class Target:
    """The workloads one endpoint ``{namespace, workload}`` names, and the labels that select them."""

    namespace: str
    name: str
    selector: Sel
    workloads: tuple[Workload, ...]
    distinct: bool  # whether ``selector`` selects no other workload of the namespace

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def label(self) -> str:
        return workload_label(self.workloads[0])


@dataclass
class Allow:
    """Ports allowed between an owner target and a peer, with the reasons (comments) for them."""

    ports: PortSet = NO_PORTS
    reasons: list[str] = field(default_factory=list)

    def add(self, ports: PortSet, reason: str) -> None:
        self.ports = self.ports | ports
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass(frozen=True)
class Dns:
    """The cluster DNS: its namespace and pod labels, and the targets of the input it selects."""

    namespace: str
    labels: Sel
    targets: tuple[Key, ...]
    origin: str  # why these labels: the input's Service, or the standard ones


@dataclass
class Plan:
    origin: str  # "expectations" | "connectivity"
    source: str  # the expectations file or the input, for the header
    namespaces: tuple[str, ...]
    targets: dict[Key, Target]
    dns: Dns
    ingress: dict[Key, dict[Peer, Allow]] = field(default_factory=dict)  # destination -> sources
    egress: dict[Key, dict[Peer, Allow]] = field(default_factory=dict)  # source -> destinations
    notes: list[str] = field(default_factory=list)  # what could not be planned (stderr warnings)
    today: dict[tuple[Key, Key], PortSet] | None = None  # from connectivity: today's connections

    def allow(self, src: Peer, dst: Peer, ports: PortSet, reason: str, egress_reason: str = "") -> None:
        """Allow ``src`` -> ``dst`` on ``ports``: ingress at a target destination, egress at a target
        source (``egress_reason``, when given, says why on the egress side)."""
        if isinstance(dst, tuple):
            self.ingress.setdefault(dst, {}).setdefault(src, Allow()).add(ports, reason)
        if isinstance(src, tuple):
            self.egress.setdefault(src, {}).setdefault(dst, Allow()).add(ports, egress_reason or reason)

    def pairs(self) -> dict[tuple[Key, Key], PortSet]:
        """Every (source target, destination target) the plan allows, DNS included."""
        found: dict[tuple[Key, Key], PortSet] = {}
        for dst, peers in self.ingress.items():
            for src, allow in peers.items():
                if isinstance(src, tuple):
                    found[(src, dst)] = found.get((src, dst), NO_PORTS) | allow.ports
        for dns in self.dns.targets:
            for src in self.targets:
                if src != dns:
                    found[(src, dns)] = found.get((src, dns), NO_PORTS) | DNS_PORTS
        return found


def peer_sort_key(peer: Peer) -> tuple[int, str, str, int, int]:
    if isinstance(peer, tuple):
        return (0, peer[0], peer[1], 0, 0)
    return (1, "", "", peer.version, int(peer.network_address) * 256 + peer.prefixlen)


# --- targets -----------------------------------------------------------------------------------------


def target_key(workload: Workload) -> Key:
    return (workload.namespace, owner_of(workload)[1])


def build_targets(inventory: Inventory) -> dict[Key, Target]:
    """Every workload group of the input with its selector, sorted by key."""
    groups: dict[Key, list[Workload]] = defaultdict(list)
    for workload in inventory.workloads:
        groups[target_key(workload)].append(workload)
    targets: dict[Key, Target] = {}
    for key in sorted(groups):
        members = groups[key]
        others = [w for w in inventory.workloads_in(key[0]) if target_key(w) != key]
        selector, distinct = choose_selector(members, others)
        targets[key] = Target(key[0], key[1], selector, tuple(members), distinct)
    return targets


def _rank(item: tuple[str, str]) -> tuple[int, int, str, str]:
    key = item[0]
    preferred = PREFERRED.index(key) if key in PREFERRED else len(PREFERRED)
    return (key in CONTROLLER_LABELS, preferred, key, item[1])


def choose_selector(members: Sequence[Workload], others: Sequence[Workload]) -> tuple[Sel, bool]:
    """The smallest set of the labels every member carries that no workload of ``others`` carries (by
    preference: identity labels first, rollout hashes last). When every such set is also carried by
    another workload, all the common labels, excluding a label of each such other workload."""
    common = set(members[0].labels.items())
    for member in members[1:]:
        common &= set(member.labels.items())
    items = sorted(common, key=_rank)
    other_labels = [set(w.labels.items()) for w in others]
    for size in range(1, min(len(items), MAX_SELECTOR_SIZE) + 1):
        for subset in combinations(items, size):
            if not any(set(subset) <= labels for labels in other_labels):
                return Sel(tuple(sorted(subset))), True
    full = set(items)
    exclude: set[tuple[str, str | None]] = set()
    distinct = True
    for labels in other_labels:
        if not full <= labels:
            continue
        extra = sorted(labels - full, key=_rank)
        if not extra:
            distinct = False  # the same labels: nothing tells them apart
            continue
        key, value = extra[0]
        carried = any(key in member.labels for member in members)
        exclude.add((key, value) if carried else (key, None))
    return Sel(tuple(sorted(items)), tuple(sorted(exclude, key=lambda e: (e[0], e[1] or "")))), distinct


# --- the cluster DNS ---------------------------------------------------------------------------------


def find_dns(inventory: Inventory, targets: dict[Key, Target]) -> Dns:
    """The DNS pods: the selector of the input's ``kube-system/kube-dns`` Service, else the standard
    labels (``k8s-app: kube-dns``) in kube-system, or in the one namespace of the input whose workloads
    carry them when kube-system has none."""
    service = next(
        (
            s
            for s in inventory.services
            if s.namespace == DNS_NAMESPACE and s.name == "kube-dns" and s.selector
        ),
        None,
    )
    labels, origin = DNS_LABELS, "the standard labels of the cluster DNS"
    if isinstance(service, Service) and service.selector:
        labels = tuple(sorted(service.selector.items()))
        origin = "the selector of Service kube-system/kube-dns"
    selector = Sel(labels)

    def dns_targets(namespace: str | None) -> tuple[Key, ...]:
        return tuple(
            key
            for key, target in targets.items()
            if namespace in (None, key[0]) and all(selector.matches(w.labels) for w in target.workloads)
        )

    found = dns_targets(DNS_NAMESPACE)
    namespace = DNS_NAMESPACE
    elsewhere = {key[0] for key in dns_targets(None)}
    if not found and service is None and len(elsewhere) == 1:
        namespace = elsewhere.pop()
        found = dns_targets(namespace)
        origin = f"the workloads of namespace {namespace} with the standard labels of the cluster DNS"
    return Dns(namespace, selector, found, origin)


def _plan(inventory: Inventory, origin: str, source: str) -> Plan:
    targets = build_targets(inventory)
    plan = Plan(origin, source, tuple(sorted(inventory.namespaces)), targets, find_dns(inventory, targets))
    if not plan.dns.targets and inventory.in_scope(plan.dns.namespace):
        plan.notes.append(
            f"namespace {plan.dns.namespace} is in the input but no workload of it has the labels of the "
            f"cluster DNS ({plan.dns.labels}): the DNS rules name pods the input lacks"
        )
    for target in targets.values():
        if not target.distinct:
            plan.notes.append(
                f"{target.label}: no set of its pod labels tells it apart from the other workloads of "
                f"namespace {target.namespace}; its policies also select them"
            )
    return plan


# --- from expectations -------------------------------------------------------------------------------


def plan_from_expectations(inventory: Inventory, expectations: ExpectationsFile) -> Plan:
    """The allows that make every ``allow`` entry hold, and nothing else (``deny`` entries need none)."""
    plan = _plan(inventory, "expectations", expectations.path)
    for expectation in expectations.expectations:
        if expectation.expect != "allow":
            continue
        sources = _peers(inventory, plan, expectation, "from")
        destinations = _peers(inventory, plan, expectation, "to")
        ports = expectation.ports if expectation.ports is not None else ALL_PORTS
        reason = f"expectation {expectation.number} (line {expectation.line}): {_summary(expectation)}"
        for src in sources:
            for dst in destinations:
                if src == dst or not (isinstance(src, tuple) or isinstance(dst, tuple)):
                    continue
                plan.allow(src, dst, ports, reason)
    return plan


def _summary(expectation: Expectation) -> str:
    text = expectation.summary()
    return f"{text} ({expectation.reason})" if expectation.reason else text


def _peers(inventory: Inventory, plan: Plan, expectation: Expectation, side: str) -> list[Peer]:
    specs = expectation.sources if side == "from" else expectation.destinations
    found: list[Peer] = []
    for spec in specs:
        if spec.cidr is not None:
            found.append(spec.cidr)
            continue
        workloads = resolve_workloads(inventory, spec)
        if not workloads:
            plan.notes.append(
                f"{expectation.document.path}:{expectation.line}: expectation {expectation.number}: "
                f"`{side}` {spec} matches no workload of the input; no rule is written for it"
            )
        found.extend(dict.fromkeys(target_key(w) for w in workloads))
    return list(dict.fromkeys(found))


# --- from today's connectivity -------------------------------------------------------------------------


def port_limit(services_in: Sequence[Service], target: Target) -> tuple[PortSet, str]:
    """The ports a destination serves: the target ports of the Services of its namespace
    (``services_in``) that select it, else its declared container ports (none: it serves nothing, and
    no connection to it is kept)."""
    served = NO_PORTS
    services: list[str] = []
    for service in services_in:
        if not service.selector:
            continue
        selector = service.selector
        if not all(all(w.labels.get(k) == v for k, v in selector.items()) for w in target.workloads):
            continue
        services.append(service.name)
        for port in service.ports:
            for workload in target.workloads:
                number = (
                    workload.resolve_port(port.target_port, port.protocol)
                    if isinstance(port.target_port, str)
                    else port.target_port
                )
                if number is not None:
                    served = served | PortSet.single(port.protocol, number)
    if not served.is_empty:
        return served, f"the ports of Service {', '.join(sorted(services))}"
    declared = NO_PORTS
    for workload in target.workloads:
        for declared_port in workload.ports:
            declared = declared | PortSet.single(declared_port.protocol, declared_port.port)
    return declared, "its declared container ports"


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


def plan_from_connectivity(inventory: Inventory, source: str) -> Plan:
    """Today's workload-to-workload connections, limited to the ports the destinations serve."""
    plan = _plan(inventory, "connectivity", source)
    conn = connectivity(inventory)
    dns = set(plan.dns.targets)
    found = plan.today = key_pairs(conn)
    limits: dict[Key, tuple[PortSet, str]] = {}
    services: dict[str, list[Service]] = defaultdict(list)
    for service in inventory.services:
        services[service.namespace].append(service)
    why: dict[tuple[Key, str], str] = {}
    unserved: set[Key] = set()
    for pair in sorted(found):
        dst_key = pair[1]
        limit = limits.get(dst_key)
        if limit is None:
            limit = limits[dst_key] = port_limit(services.get(dst_key[0], ()), plan.targets[dst_key])
        frozen = found[pair] & limit[0]
        if limit[0].is_empty and dst_key not in unserved:
            unserved.add(dst_key)
            plan.notes.append(
                f"{plan.targets[dst_key].label} declares no container port and no Service selects it: "
                "no connection to it is kept"
            )
        if dst_key in dns:
            frozen = frozen - DNS_PORTS  # the DNS rules allow those
        if frozen.is_empty:
            continue
        reasons = []
        for key, direction in ((dst_key, "ingress"), (pair[0], "egress")):
            text = why.get((key, direction))
            if text is None:
                text = why[(key, direction)] = _observed(conn, plan.targets[key], direction)
            reasons.append(f"observed: {text}; limited to {limit[1]} of {plan.targets[dst_key].label}")
        plan.allow(pair[0], dst_key, frozen, reasons[0], reasons[1])
    return plan


def _observed(conn: Connectivity, target: Target, direction: str) -> str:
    """Which policies decide ``direction`` of ``target`` today."""
    workload = target.workloads[0]
    verdict = conn.verdict(workload, workload, direction)
    if not verdict.isolated:
        return f"allowed today ({direction} not isolated)"
    names = sorted({f"{p.namespace}/{p.name}" for p in verdict.policies})
    by = f"NetworkPolicy {', '.join(names)}" if names else "the policy tiers"
    return f"allowed today ({direction} decided by {by})"


def external_cidrs(plan: Plan) -> Iterable[IPNetwork]:
    """The external address ranges the plan names."""
    seen: set[IPNetwork] = set()
    for table in (plan.ingress, plan.egress):
        for peers in table.values():
            for peer in peers:
                if isinstance(peer, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and peer not in seen:
                    seen.add(peer)
                    yield peer
