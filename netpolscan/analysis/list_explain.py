"""Why every pair of peers may or may not connect: netpol-analyzer's ``list --explain``, as data.

For each ordered pair of peers (workloads by endpoint name, and the external segments), each direction
splits the connection space (protocol, port) into regions that share one decision. A decision is a tuple
of :class:`Decision` items, each naming the policy kind, the policy, the rule and its action:

- a direction no policy selects: no item (the system default allows everything);
- allowed ports: one ``allow`` item per rule allowing them (NetworkPolicy: 1-based rule numbers);
- denied ports: one ``deny`` item per selecting policy, with why (``no-rules``, ``no-peer``,
  ``ports``: a rule selects the peer but not these ports, ``named-ports``: its named ports do not
  resolve on the destination), or, where a tier's policies select the workload and none of its rules
  decides the ports, one ``tier-end`` item (kind: the tier).

Cluster-policy tiers add their own items (kind ``AdminNetworkPolicy``, rule names, ``pass``/``deny``)
through :func:`direction_regions`; the formatter lays out whatever items it gets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from netpolscan.analysis.addresses import NamedEndpoint, Segment
from netpolscan.analysis.connectivity import Connectivity, Endpoint, Verdict, connectivity, rule_ports
from netpolscan.analysis.endpoints import workload_label
from netpolscan.analysis.exposure import is_entire_cluster
from netpolscan.analysis.focus import Focus
from netpolscan.analysis.ingress_controller import INGRESS_CONTROLLER, exposed_backends
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.analysis.selection import selection
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import NetworkPolicy, PolicyRule, Workload
from netpolscan.model.tiers import ALLOW, NAMESPACE, PASS, TierPolicy, TierRule


@dataclass(frozen=True, order=True)
class Decision:
    """One item deciding a direction: ``kind`` policy ``policy`` (``ns/name``) rule ``rule`` does ``action``.

    ``rule`` is a 1-based number (NetworkPolicy) or a rule name; None when no rule of the policy applies.
    ``reason`` says why a ``deny`` item denies (see the module docstring).
    """

    kind: str
    policy: str
    rule: int | str | None
    action: str  # "allow" | "deny" | "pass"
    reason: str = ""


SYSTEM_DEFAULT = Decision("(system default)", "", None, "allow")  # after items that passed the ports on
Region = tuple[PortSet, bool, tuple[Decision, ...]]  # ports, allowed, the items deciding them
Peer = Endpoint | NamedEndpoint  # an external endpoint known by name stands for itself


@dataclass(frozen=True)
class PairRegion:
    """Ports of a pair sharing one explanation: the egress and the ingress decisions."""

    ports: PortSet
    allowed: bool
    egress: tuple[bool, tuple[Decision, ...]]
    ingress: tuple[bool, tuple[Decision, ...]]


@dataclass(frozen=True)
class PairExplanation:
    src: str
    dst: str
    regions: tuple[PairRegion, ...]
    default: bool  # no policy selects either side: everything is allowed by the system default


def _policy_name(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def direction_regions(conn: Connectivity, src: Peer, dst: Peer, direction: str) -> list[Region]:
    """The regions of one direction of ``src`` -> ``dst`` (NetworkPolicy v1 decisions)."""
    verdict = conn.verdict(src, dst, direction)
    if verdict.decisions:
        return tiered_regions(verdict, direction)
    if not verdict.isolated:
        return [(ALL_PORTS, True, ())]
    matches = [(grant.policy, grant.rule, ports) for grant, ports in verdict.allowing]
    return policy_regions(verdict.policies, matches, direction)


def tiered_regions(verdict: Verdict, direction: str) -> list[Region]:
    """Regions of a direction that policy tiers decide: each port's chain of cluster-policy items (a Pass
    hands on to the next tier), the NetworkPolicy items of the namespace tier where the ports get there,
    and nothing more where the system default allows them."""
    parts: list[tuple[PortSet, list[Decision], bool | None]] = [(ALL_PORTS, [], None)]
    namespace_ports = NO_PORTS
    for step_decision in verdict.decisions:
        step = step_decision.step
        policy = step.policy if step is not None else None
        tier_end = step is None and step_decision.tier is not None
        if isinstance(policy, NetworkPolicy) or (
            tier_end and step_decision.tier is NAMESPACE and verdict.policies
        ):
            namespace_ports = namespace_ports | step_decision.ports
            continue
        item: Decision | None = None
        if step is not None and isinstance(policy, TierPolicy):
            rule = step.rule
            label = rule.name if isinstance(rule, TierRule) and rule.name else step.number
            name = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
            item = Decision(policy.kind, name, label, step_decision.action)
        elif step is not None:
            continue
        elif tier_end:  # the tier's policies (Cilium's, Calico's) select the workload, no rule decides
            item = Decision(str(step_decision.tier), "", None, step_decision.action, "tier-end")
        final = None if step_decision.action == PASS else step_decision.action == ALLOW
        updated: list[tuple[PortSet, list[Decision], bool | None]] = []
        for ports, items, decided in parts:
            inter = ports & step_decision.ports if decided is None else NO_PORTS
            if not inter:
                updated.append((ports, items, decided))
                continue
            if item is None and step_decision.tier is None and items:  # passed on to the default
                item_list = [*items, SYSTEM_DEFAULT]
            else:
                item_list = [*items, item] if item is not None else items
            updated.append((inter, item_list, final))
            rest = ports - inter
            if rest:
                updated.append((rest, items, decided))
        parts = updated
    if namespace_ports:
        matches = [(grant.policy, grant.rule, ports) for grant, ports in verdict.allowing]
        np_regions = policy_regions(verdict.policies, matches, direction) if verdict.policies else []
        updated = []
        for ports, items, decided in parts:
            inter = ports & namespace_ports if decided is None else NO_PORTS
            if not inter:
                updated.append((ports, items, decided))
                continue
            for np_ports, np_allowed, np_items in np_regions:
                piece = inter & np_ports
                if piece:
                    updated.append((piece, [*items, *np_items], np_allowed))
            rest = ports - inter
            if rest:
                updated.append((rest, items, decided))
        parts = updated
    merged: dict[tuple[tuple[Decision, ...], bool], PortSet] = {}
    for ports, items, decided in parts:
        key = (tuple(items), decided is not False)
        merged[key] = merged.get(key, NO_PORTS) | ports
    return [(ports, allowed, items) for (items, allowed), ports in merged.items()]


def policy_regions(
    policies: Sequence[NetworkPolicy],
    matches: Sequence[tuple[NetworkPolicy, PolicyRule, PortSet]],
    direction: str,
) -> list[Region]:
    """Regions of an isolated direction: ``policies`` select the workload, ``matches`` are the rules whose
    peers match the other side, with the ports each allows there."""
    allowing: list[tuple[Decision, PortSet]] = []
    matched: dict[str, list[tuple[int, bool]]] = {}  # policy -> [(rule number, named ports unresolved)]
    covered: dict[str, PortSet] = {}  # per policy, the ports its earlier rules allow: the first rule decides
    allowed = NO_PORTS
    for policy, rule, ports in sorted(matches, key=lambda item: item[1].index):
        name = _policy_name(policy.namespace, policy.name)
        number = rule.index + 1
        unresolved = not ports and any(spec.is_named for spec in rule.ports)
        matched.setdefault(name, []).append((number, unresolved))
        fresh = ports - covered.get(name, NO_PORTS)
        covered[name] = covered.get(name, NO_PORTS) | ports
        allowed = allowed | ports
        if fresh:
            allowing.append((Decision("NetworkPolicy", name, number, "allow"), fresh))
    denials: list[Decision] = []
    for policy in sorted(policies, key=lambda p: (p.namespace, p.name)):
        name = _policy_name(policy.namespace, policy.name)
        if not policy.rules(direction):
            denials.append(Decision("NetworkPolicy", name, None, "deny", "no-rules"))
        elif name in matched:
            number, unresolved = matched[name][0]
            denials.append(
                Decision("NetworkPolicy", name, number, "deny", "named-ports" if unresolved else "ports")
            )
        else:
            denials.append(Decision("NetworkPolicy", name, None, "deny", "no-peer"))
    regions: list[Region] = []
    for ports, items in _partition(allowing):
        regions.append((ports, True, tuple(sorted(items))))
    denied = ALL_PORTS - allowed
    if denied:
        regions.append((denied, False, tuple(denials)))
    return regions


def controller_regions(inventory: Inventory, workload: Workload) -> list[Region]:
    """Ingress regions of ``{ingress-controller}`` -> ``workload``: the Ingress/Route objects exposing it
    (``allow`` items on their target ports, ``deny`` elsewhere), then its NetworkPolicy decisions."""
    objects: dict[tuple[str, str, str], PortSet] = {}
    for exposed, backend, ports in exposed_backends(inventory):
        if exposed is workload:
            key = (backend.kind, f"{backend.namespace}/{backend.name}", backend.service)
            objects[key] = objects.get(key, NO_PORTS) | ports
    policies = selection(inventory).policies_for(workload, "ingress")
    if policies:
        matches = [
            (policy, rule, rule_ports(rule, workload.ports))
            for policy in policies
            for rule in policy.rules("ingress")
            if rule.all_peers or any(is_entire_cluster(peer) for peer in rule.peers)
        ]
        policy_parts = policy_regions(policies, matches, "ingress")
    else:
        policy_parts = [(ALL_PORTS, True, ())]
    targets = NO_PORTS
    for ports in objects.values():
        targets = targets | ports
    object_parts: list[tuple[PortSet, bool, tuple[Decision, ...]]] = []
    for ports, items in _partition(
        [
            (Decision(kind, name, service, "allow"), ports)
            for (kind, name, service), ports in sorted(objects.items())
        ]
    ):
        object_parts.append((ports, True, tuple(sorted(items))))
    rest = ALL_PORTS - targets
    if rest:
        denials = tuple(
            Decision(kind, name, service, "deny", "ports") for kind, name, service in sorted(objects)
        )
        object_parts.append((rest, False, denials))
    regions: list[Region] = []
    for o_ports, o_allowed, o_items in object_parts:
        for p_ports, p_allowed, p_items in policy_parts:
            ports = o_ports & p_ports
            if not ports:
                continue
            shown = p_items if (p_allowed == o_allowed or not p_allowed) else ()
            regions.append((ports, o_allowed and p_allowed, o_items + shown))
    return regions


def _partition(items: Sequence[tuple[Decision, PortSet]]) -> list[tuple[PortSet, list[Decision]]]:
    """Split the union of the items' ports into parts allowed by the same items."""
    parts: list[tuple[PortSet, list[Decision]]] = []
    for decision, ports in items:
        remaining = ports
        updated: list[tuple[PortSet, list[Decision]]] = []
        for part_ports, part_items in parts:
            inter = part_ports & ports
            if inter:
                updated.append((inter, [*part_items, decision]))
                rest = part_ports - ports
                if rest:
                    updated.append((rest, part_items))
                remaining = remaining - inter
            else:
                updated.append((part_ports, part_items))
        if remaining:
            updated.append((remaining, [decision]))
        parts = updated
    return parts


def pair_regions(
    conn: Connectivity, src: Peer, dst: Peer, ingress_regions: list[Region] | None = None
) -> tuple[list[PairRegion], bool]:
    """The regions of ``src`` -> ``dst`` (merged where both decisions agree) and whether all is default."""
    egress = (
        direction_regions(conn, src, dst, "egress") if ingress_regions is None else [(ALL_PORTS, True, ())]
    )
    ingress = direction_regions(conn, src, dst, "ingress") if ingress_regions is None else ingress_regions
    default = not egress[0][2] and not ingress[0][2] and egress[0][0].is_all and ingress[0][0].is_all
    merged: dict[
        tuple[bool, tuple[bool, tuple[Decision, ...]], tuple[bool, tuple[Decision, ...]]], PortSet
    ] = {}
    for e_ports, e_allowed, e_items in egress:
        for i_ports, i_allowed, i_items in ingress:
            ports = e_ports & i_ports
            if not ports:
                continue
            key = (e_allowed and i_allowed, (e_allowed, e_items), (i_allowed, i_items))
            merged[key] = merged.get(key, NO_PORTS) | ports
    regions = [PairRegion(ports, key[0], key[1], key[2]) for key, ports in merged.items()]
    return regions, default


def _peers(inventory: Inventory, conn: Connectivity) -> tuple[list[tuple[str, Peer]], list[tuple[str, Peer]]]:
    """(sources, destinations): workloads by endpoint name, plus the external segments of each side
    (an address range by its first address, an endpoint known by name as itself)."""
    workloads: dict[str, Workload] = {}
    for workload in inventory.workloads:
        workloads.setdefault(workload_label(workload), workload)
    named: list[tuple[str, Peer]] = list(workloads.items())

    def external(segments: Sequence[Segment]) -> list[tuple[str, Peer]]:
        return [
            (s.label, s if isinstance(s, NamedEndpoint) else ipaddress.IPv4Address(s.first)) for s in segments
        ]

    return named + external(conn.ingress_space.segments), named + external(conn.egress_space.segments)


def explain_pairs(inventory: Inventory, focus: Focus) -> Iterator[PairExplanation]:
    """Every ordered pair of distinct peers (not both external) that ``focus`` keeps, sorted by name."""
    conn = connectivity(inventory)
    sources, destinations = (sorted(peers, key=lambda item: item[0]) for peers in _peers(inventory, conn))
    pairs: Iterable[tuple[tuple[str, Peer], tuple[str, Peer]]]
    if focus.workloads:  # only the pairs with a focus workload on one side: no walk over every pair
        pairs = sorted(
            {
                *((src, dst) for src in sources if focus.is_focus(src[0]) for dst in destinations),
                *((src, dst) for dst in destinations if focus.is_focus(dst[0]) for src in sources),
            },
            key=lambda pair: (pair[0][0], pair[1][0]),
        )
    else:
        pairs = ((src, dst) for src in sources for dst in destinations)
    for (src_name, src), (dst_name, dst) in pairs:
        if src_name == dst_name or not (isinstance(src, Workload) or isinstance(dst, Workload)):
            continue
        if not focus.keeps_pair(src_name, dst_name):
            continue
        if not _isolated(conn, src, "egress") and not _isolated(conn, dst, "ingress"):
            yield PairExplanation(src_name, dst_name, (), True)
            continue
        regions, default = pair_regions(conn, src, dst)
        yield PairExplanation(src_name, dst_name, _focused(regions, focus), default)
    if not inventory.services:
        return
    exposed: dict[str, Workload] = {}
    for workload, _, _ in exposed_backends(inventory):
        exposed.setdefault(workload_label(workload), workload)
    for label, workload in sorted(exposed.items()):
        if focus.keeps_pair(INGRESS_CONTROLLER, label):
            regions, _ = pair_regions(conn, workload, workload, controller_regions(inventory, workload))
            yield PairExplanation(INGRESS_CONTROLLER, label, _focused(regions, focus), False)


def _isolated(conn: Connectivity, endpoint: Peer, direction: str) -> bool:
    return isinstance(endpoint, Workload) and (
        conn.is_isolated(endpoint, direction) or conn.decided_by_tiers(endpoint, direction)
    )


def _focused(regions: Sequence[PairRegion], focus: Focus) -> tuple[PairRegion, ...]:
    """The regions, cut down to ``--focus-conn``'s one connection when it is given."""
    if focus.conn is None:
        return tuple(regions)
    wanted = PortSet.single(*focus.conn)
    return tuple(
        PairRegion(wanted, region.allowed, region.egress, region.ingress)
        for region in regions
        if region.ports.contains(*focus.conn)
    )
