"""NPS8xx: cluster-wide policy tiers (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy).

NPS801 is decided on the policies alone: whether two selectors *can* select a common pod is a question
about label constraints (``a=1`` and ``a=2`` cannot both hold; ``a in (1,2)`` and ``a notin (1)`` can), so
it holds for pods deployed later too, not only for those of the input.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from netpolscan.analysis.addresses import iter_bits
from netpolscan.analysis.connectivity import Connectivity, Grant, connectivity, rule_ports
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.analysis.tiers import Decision, Step, TieredEngine
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import PortSpec
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import (
    ALLOW,
    DENY,
    NAMESPACE,
    PASS,
    AllOf,
    AnyOf,
    Everything,
    Matcher,
    Named,
    Network,
    Nodes,
    Not,
    PeerExpr,
    Pods,
    Tier,
    TierPolicy,
    TierRule,
    World,
)
from netpolscan.plugin_api import Violation

# as in netpolscan.policykinds.clusterpolicy (not imported here: that module loads on first use)
GROUP = "policy.networking.k8s.io"
CLUSTER_NETWORK_POLICY = "ClusterNetworkPolicy"
ADMIN_NETWORK_POLICY = "AdminNetworkPolicy"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
DIRECTIONS = ("ingress", "egress")
PRIORITIZED_KINDS = (CLUSTER_NETWORK_POLICY, ADMIN_NETWORK_POLICY)
ACTION_WORDS = {ALLOW: "Accept", DENY: "Deny"}
# policies whose rules are tried in order (first match decides): cluster policies and Calico's
ORDERED_GROUPS = (GROUP, "projectcalico.org", "crd.projectcalico.org")


# --- can two selections meet? ---------------------------------------------------------------------------


def selectors_can_meet(first: Matcher | None, second: Matcher | None) -> bool:
    """Whether some label set can match both selectors (None: any labels). Not a LabelSelector: yes."""
    if first is None or second is None:
        return True
    if not isinstance(first, LabelSelector) or not isinstance(second, LabelSelector):
        return True
    allowed: dict[str, set[str] | None] = {}  # key -> the values it may take (None: any)
    excluded: dict[str, set[str]] = defaultdict(set)
    absent: set[str] = set()
    present: set[str] = set()
    terms = [(k, "In", frozenset((v,))) for k, v in (*first.match_labels, *second.match_labels)]
    terms += [(r.key, r.operator, r.values) for r in (*first.match_expressions, *second.match_expressions)]
    for key, operator, values in terms:
        if operator == "In":
            present.add(key)
            previous = allowed.get(key)
            allowed[key] = set(values) if previous is None else previous & values
        elif operator == "NotIn":
            excluded[key] |= values
        elif operator == "Exists":
            present.add(key)
        else:
            absent.add(key)
    if present & absent:
        return False
    return all(values is None or values - excluded[key] for key, values in allowed.items())


def _pods_meet(first: Pods, second: Pods) -> bool:
    if first.namespace_names is not None and second.namespace_names is not None:
        if not first.namespace_names & second.namespace_names:
            return False
    return selectors_can_meet(first.namespace_selector, second.namespace_selector) and selectors_can_meet(
        first.pod_selector, second.pod_selector
    )


def _domain_meets(first: str, second: str) -> bool:
    """Whether two domain names (``*.`` wildcards as prefix) can name a common host."""
    a, b = first.lower().rstrip("."), second.lower().rstrip(".")
    if a == b:
        return True
    for wild, other in ((a, b), (b, a)):
        if wild.startswith("*."):
            suffix = wild[1:]
            if other.endswith(suffix) or (other.startswith("*.") and (other[1:].endswith(suffix))):
                return True
    return False


def _whole_family(expr: Network) -> bool:
    return expr.block.cidr.prefixlen == 0


def exprs_can_meet(first: PeerExpr, second: PeerExpr, addresses: Sequence[Address]) -> bool:
    """Whether two peer expressions can match a common endpoint. ``addresses``: the known pod and node
    addresses, through which a CIDR meets pods and nodes. Negations are assumed to meet."""
    for one, other in ((first, second), (second, first)):
        if isinstance(one, AnyOf):
            return any(exprs_can_meet(item, other, addresses) for item in one.items)
        if isinstance(one, AllOf):
            return all(exprs_can_meet(item, other, addresses) for item in one.items)
        if isinstance(one, Everything | Not):
            return True
    if isinstance(first, World) or isinstance(second, World):
        other = second if isinstance(first, World) else first
        return not isinstance(other, Pods | Nodes)
    if isinstance(first, Pods) and isinstance(second, Pods):
        return _pods_meet(first, second)
    if isinstance(first, Nodes) and isinstance(second, Nodes):
        return selectors_can_meet(first.selector, second.selector)
    if isinstance(first, Named) and isinstance(second, Named):
        a, b = first.name.partition(":"), second.name.partition(":")
        return a[0] == b[0] and (a[2] == b[2] or (a[0] == "fqdn" and _domain_meets(a[2], b[2])))
    if isinstance(first, Network) and isinstance(second, Network):
        return first.block.cidr.overlaps(second.block.cidr)
    if isinstance(first, Network) or isinstance(second, Network):
        network = first if isinstance(first, Network) else second
        other = second if network is first else first
        assert isinstance(network, Network)
        if _whole_family(network) and isinstance(other, Named):
            return True
        if not network.in_cluster or isinstance(other, Named):
            return False
        return _whole_family(network) or any(network.block.contains(a) for a in addresses)
    return False  # pods vs nodes, named vs cluster endpoints


def _port_range(spec: PortSpec) -> tuple[int, int] | None:
    if spec.port is None:
        return (1, 65535)
    if isinstance(spec.port, int):
        return (spec.port, spec.end_port if spec.end_port is not None else spec.port)
    return None  # a named port: it may resolve to any number


def ports_can_meet(first: Sequence[PortSpec], second: Sequence[PortSpec]) -> bool:
    """Whether two rules' ports (empty: every port) can match a common port."""
    if not first or not second:
        return True
    for a in first:
        for b in second:
            if a.protocol != b.protocol:
                continue
            ra, rb = _port_range(a), _port_range(b)
            if ra is None or rb is None or (ra[0] <= rb[1] and rb[0] <= ra[1]):
                return True
    return False


def rules_can_meet(first: TierRule, second: TierRule, addresses: Sequence[Address]) -> bool:
    return ports_can_meet(first.ports, second.ports) and exprs_can_meet(first.peers, second.peers, addresses)


def known_addresses(ctx: ScanContext) -> list[Address]:
    """Pod and node addresses of the input (through them a CIDR can match cluster endpoints)."""
    found: list[Address] = []
    texts = [ip for w in ctx.inventory.workloads for ip in w.pod_ips]
    texts += [a for node in ctx.inventory.nodes for a in node.addresses]
    for text in texts:
        try:
            found.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    return found


def rule_label(policy: TierPolicy, direction: str, rule: TierRule) -> str:
    word = ACTION_WORDS.get(rule.action, rule.action.capitalize())
    if policy.api_version.partition("/")[0] != GROUP or policy.kind != CLUSTER_NETWORK_POLICY:
        word = {ALLOW: "Allow"}.get(rule.action, word)  # v1alpha1 and Calico write Allow
    name = f"{rule.name}, " if rule.name else ""
    return f"{policy.kind} {policy.name} {direction} rule {rule.number} ({name}{word})"


# --- NPS801 ---------------------------------------------------------------------------------------------


def _conflict(
    first: TierPolicy, second: TierPolicy, addresses: Sequence[Address]
) -> tuple[str, TierRule, TierRule] | None:
    """The first pair of rules (same direction) that can match common traffic with different actions."""
    for direction in DIRECTIONS:
        for a in first.rules(direction):
            for b in second.rules(direction):
                if a.action != b.action and rules_can_meet(a, b, addresses):
                    return direction, a, b
    return None


@check("NPS801")
def cluster_policy_priority_tie(ctx: ScanContext) -> Iterator[Violation]:
    groups: dict[tuple[str, object], list[TierPolicy]] = defaultdict(list)
    for policy in ctx.inventory.tier_policies:
        if policy.kind in PRIORITIZED_KINDS:
            groups[(policy.tier.name, policy.order[0])].append(policy)
    addresses = known_addresses(ctx)
    for (_, priority), policies in groups.items():
        for i, later in enumerate(policies):
            for earlier in policies[:i]:
                if not exprs_can_meet(earlier.subject, later.subject, addresses):
                    continue
                conflict = _conflict(earlier, later, addresses)
                if conflict is None:
                    continue
                direction, a, b = conflict
                yield Violation(
                    f"{later.kind} {later.name} and {earlier.kind} {earlier.name} are both {later.tier} "
                    f"priority {priority} and their subjects can select the same pods, but "
                    f"{rule_label(earlier, direction, a)} and {rule_label(later, direction, b)} decide "
                    "some connection differently: the API leaves the order of equal priorities undefined, "
                    "so which one wins depends on the implementation; give them different priorities",
                    later.document,
                    ("spec", "priority"),
                    later.ref,
                    key=f"{earlier.kind}/{earlier.name}",
                    related=((f"{earlier.kind} {earlier.name}", earlier.document, ("spec", "priority")),),
                )


# --- NPS802-804: read from the engine's tiered walk ------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """The decisions of the tiered walk in ``direction`` for the classes ``owners`` (which the same rules,
    tier ends and ports treat alike), towards pod classes or, when ``external``, the segments of the
    direction's address space: (decision, the peers it holds for).

    ``upper_only``: the owners are NetworkPolicy-isolated for ``direction``, and only the decisions of the
    tiers before the namespace tier are kept (after it, their NetworkPolicies decide everything; walks
    that differ only there are shared)."""

    direction: str
    external: bool
    owners: tuple[int, ...]
    decisions: tuple[tuple[Decision, int], ...]
    upper_only: bool = False


def _upper(tier: Tier | None) -> bool:
    return tier is not None and tier.rank < NAMESPACE.rank


def tier_walks(ctx: ScanContext) -> list[Walk]:
    """Every distinct walk over the classes a tiered policy selects (computed once a scan)."""
    cached = ctx.inventory.cache.get("cluster_policy_walks")
    if isinstance(cached, list):
        return cached
    conn = connectivity(ctx.inventory)
    tiered = conn.tiered
    walks: list[Walk] = []
    if tiered is not None:
        for direction in DIRECTIONS:
            isolated = conn.np_isolated(direction)
            for external in (False, True):
                groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
                for owner in iter_bits(tiered.selected[direction]):
                    upper_only = bool(isolated >> owner & 1)
                    groups[_walk_key(tiered, direction, owner, external, upper_only)].append(owner)
                for key, owners in groups.items():
                    upper_only = bool(key[0])
                    found: list[tuple[Decision, int]] = []
                    tiered.walk(direction, owners[0], external, record=_appender(found))
                    if upper_only:
                        found = [(d, bits) for d, bits in found if _upper(d.tier)]
                    walks.append(Walk(direction, external, tuple(owners), tuple(found), upper_only))
    ctx.inventory.cache["cluster_policy_walks"] = walks
    return walks


def _appender(found: list[tuple[Decision, int]]) -> Callable[[Decision, int], None]:
    def record(decision: Decision, bits: int) -> None:
        found.append((decision, bits))

    return record


def _walk_key(
    tiered: TieredEngine, direction: str, owner: int, external: bool, upper_only: bool
) -> tuple[object, ...]:
    """What a walk depends on besides the peers: the tiers (only those before the namespace tier when
    ``upper_only``), their steps and ends, and (ingress towards pods) the owner's container ports, where
    named ports resolve."""
    plan = tuple(
        (t.name, tuple(id(s) for s in steps), end)
        for t, steps, end in tiered._tier_plan(direction, owner)
        if not upper_only or _upper(t)
    )
    ports = tiered.conn.classes[owner].ports if direction == "ingress" and not external else None
    return (upper_only, plan, ports)


def endpoint(conn: Connectivity, direction: str, index: int, external: bool) -> str:
    """A peer (class or external segment) by its first workload or its address range."""
    if external:
        space = conn.ingress_space if direction == "ingress" else conn.egress_space
        return str(space.segments[index])
    workload = conn.classes[index].members[0]
    return f"{workload.namespace}/{workload.name}"


def connection(conn: Connectivity, walk: Walk, owner: int, bits: int) -> str:
    """``source -> destination`` between ``owner`` and a peer of ``bits`` (another class than the owner
    when there is one: a pod talking to itself is not subject to cluster policies)."""
    if not walk.external and bits & ~(1 << owner):
        bits &= ~(1 << owner)
    peer = (bits & -bits).bit_length() - 1
    own = endpoint(conn, walk.direction, owner, False)
    other = endpoint(conn, walk.direction, peer, walk.external)
    return f"{other} -> {own}" if walk.direction == "ingress" else f"{own} -> {other}"


def _tier_step(decision: Decision) -> tuple[Step, TierPolicy, TierRule] | None:
    step = decision.step
    if step is None or not isinstance(step.policy, TierPolicy) or not isinstance(step.rule, TierRule):
        return None
    return step, step.policy, step.rule


def grants_by_owner(conn: Connectivity, direction: str) -> dict[int, list[Grant]]:
    """The NetworkPolicy rules that apply to each class, for ``direction``."""
    index: dict[int, list[Grant]] = defaultdict(list)
    for grant in conn.grants[direction]:
        for owner in iter_bits(grant.selected):
            index[owner].append(grant)
    return index


def _overridden(
    conn: Connectivity, walk: Walk, grants: list[Grant], owner: int, bits: int, ports: PortSet
) -> tuple[int, PortSet]:
    """A peer of ``bits`` and the ``ports`` towards it that the NetworkPolicies alone (``grants``, those
    of ``owner``) deny (-1: none)."""
    covered = 0
    for grant in grants:
        covered |= grant.external if walk.external else grant.peers
    if bits & ~covered:  # a peer that no NetworkPolicy rule of the owner names
        return ((bits & ~covered) & -(bits & ~covered)).bit_length() - 1, ports
    for peer in iter_bits(bits):
        allowed = NO_PORTS
        for grant in grants:
            if (grant.external if walk.external else grant.peers) >> peer & 1:
                destination = None
                if not walk.external:
                    destination = conn.classes[owner if walk.direction == "ingress" else peer].ports
                allowed = allowed | rule_ports(grant.rule, destination)
        if ports - allowed:
            return peer, ports - allowed
    return -1, NO_PORTS


@check("NPS802")
def admin_accept_overrides_namespace_policy(ctx: ScanContext) -> Iterator[Violation]:
    if not any(p.tier.rank < NAMESPACE.rank for p in ctx.inventory.tier_policies):
        return  # no tier above the namespace tier: nothing can override it
    conn = connectivity(ctx.inventory)
    reported: set[int] = set()
    grants = {direction: grants_by_owner(conn, direction) for direction in DIRECTIONS}
    for walk in tier_walks(ctx):
        isolated = [o for o in walk.owners if conn.np_isolated(walk.direction) >> o & 1]
        if not isolated:
            continue  # no NetworkPolicy selects these owners: their namespaces deny nothing
        for decision, bits in walk.decisions:
            found = _tier_step(decision)
            if found is None or decision.action != ALLOW or decision.tier is None:
                continue
            step, policy, rule = found
            if id(step) in reported or decision.tier.rank >= NAMESPACE.rank:
                continue
            for owner in isolated:
                owner_grants = grants[walk.direction].get(owner, [])
                peer, overridden = _overridden(conn, walk, owner_grants, owner, bits, decision.ports)
                if peer < 0:
                    continue
                reported.add(id(step))
                namespace = conn.classes[owner].namespace
                yield Violation(
                    f"{rule_label(policy, walk.direction, rule)} allows {connection(conn, walk, owner, 1 << peer)} "
                    f"on {overridden}, which the NetworkPolicies of namespace {namespace} deny: an "
                    f"{decision.tier} Accept is final, so the namespace's owners cannot close it",
                    policy.document,
                    rule.pointer,
                    policy.ref,
                    key=f"{walk.direction}:{rule.number}",
                )
                break


def _first_match_kind(policy: TierPolicy) -> bool:
    """Policies whose rules decide in order (cluster policies, Calico), where one can shadow another."""
    return policy.tier is not NAMESPACE or not policy.kind.startswith("Cilium")


@check("NPS803")
def cluster_rule_shadowed(ctx: ScanContext) -> Iterator[Violation]:
    if not any(_first_match_kind(p) for p in ctx.inventory.tier_policies):
        return  # only policies whose rules add up (Cilium): none is shadowed by order
    conn = connectivity(ctx.inventory)
    tiered = conn.tiered
    if tiered is None:
        return
    walks = tier_walks(ctx)
    decided = {id(d.step) for walk in walks for d, _ in walk.decisions if d.step is not None}
    walk_of = {(w.direction, w.external, owner): w for w in walks for owner in w.owners}
    for direction in DIRECTIONS:
        for step in tiered.steps[direction]:
            policy, rule = step.policy, step.rule
            if id(step) in decided or not isinstance(policy, TierPolicy) or not isinstance(rule, TierRule):
                continue
            if policy.api_version.partition("/")[0] not in ORDERED_GROUPS:
                continue
            owners = step.selected
            if not _upper(step.tier):  # where NetworkPolicies select the pod they decide first, by design
                owners &= ~conn.np_isolated(direction)
            shadow = _shadowing(tiered, walk_of, step, owners)
            if shadow is None:
                continue  # it matches nothing at all (no pod, peer or port of the input): not shadowed
            yield Violation(
                f"{rule_label(policy, direction, rule)} decides no connection: everything it matches "
                f"({shadow}) is decided first, by rules that come before it (tier, priority or order, "
                "rule order); remove it, or move it before the rules that take its traffic",
                policy.document,
                rule.pointer,
                policy.ref,
                key=f"{direction}:{rule.number}",
            )


def _shadowing(
    tiered: TieredEngine, walk_of: dict[tuple[str, bool, int], Walk], step: Step, owners: int
) -> str | None:
    """What took the traffic of ``step`` for the first of ``owners`` and peer it matches (None: it matches
    none)."""
    conn = tiered.conn
    for owner in iter_bits(owners):
        for external in (False, True):
            walk = walk_of.get((step.direction, external, owner))
            for bits, ports in tiered._pieces(step, step.direction, owner, external):
                if not bits or not ports or walk is None:
                    continue
                for decision, decided in walk.decisions:
                    common = decided & bits
                    if not common or not decision.ports & ports:
                        continue
                    where = connection(conn, walk, owner, common)
                    found = _tier_step(decision)
                    if found is None:
                        return f"e.g. {where}: {decision.describe()}"
                    return f"e.g. {where}: {rule_label(found[1], step.direction, found[2])}"
    return None


@check("NPS804")
def pass_falls_through_to_allow(ctx: ScanContext) -> Iterator[Violation]:
    if not any(r.action == PASS for p in ctx.inventory.tier_policies for d in DIRECTIONS for r in p.rules(d)):
        return
    conn = connectivity(ctx.inventory)
    reported: set[int] = set()
    for walk in tier_walks(ctx):
        if walk.upper_only:
            continue  # NetworkPolicy-isolated: the namespace tier decides whatever is passed to it
        defaults = [(d, bits) for d, bits in walk.decisions if d.tier is None and d.step is None]
        for decision, bits in walk.decisions:
            found = _tier_step(decision)
            if found is None or decision.action != PASS or id(found[0]) in reported:
                continue
            for default, default_bits in defaults:
                common = bits & default_bits
                ports = decision.ports & default.ports
                if not common or not ports:
                    continue
                step, policy, rule = found
                reported.add(id(step))
                yield Violation(
                    f"{rule_label(policy, walk.direction, rule)} passes "
                    f"{connection(conn, walk, walk.owners[0], common)} on {ports} to the lower tiers, "
                    "but none of them decides it (no NetworkPolicy selects the pod for "
                    f"{walk.direction}, no lower rule matches), so it ends in the default allow: "
                    "write Accept if that is meant, or add the policy that should decide it",
                    policy.document,
                    rule.pointer,
                    policy.ref,
                    key=f"{walk.direction}:{rule.number}",
                )
                break
