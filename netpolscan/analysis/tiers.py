"""The tiered part of the engine: policies of every kind beyond NetworkPolicy v1, walked tier by tier.

``netpolscan.model.tiers`` says what a tier, a policy and a rule are. Here they are compiled once into
bitsets over the pod classes and external segments of a :class:`~netpolscan.analysis.connectivity.
Connectivity`, and each (pod class, direction) that some tiered policy selects gets its verdict by an
ordered walk over partitions of its peers (peers that the rules so far treat alike share a part), so the
cost follows the number of rules and distinct port sets, not of peers:

- a part holds the ports still *undecided*, those *allowed*, and those *passed* to the next tier;
- a rule takes the undecided ports it matches: ``allow`` adds them to allowed, ``deny`` drops them,
  ``pass`` sets them aside until the tier ends;
- a tier ends with its ``end`` action for a pod that one of its isolating policies selects (``deny``
  drops what is undecided), then the passed ports are undecided again;
- after the last tier, what is still undecided is allowed.

NetworkPolicy v1 takes part as the allow rules of the namespace tier (its isolation makes that tier end
in deny), so a cluster with only NetworkPolicies never comes here.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netpolscan.analysis.addresses import AddressSpace, iter_bits
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.model.objects import ContainerPort, IPBlock, NetworkPolicy, PolicyRule, PortSpec
from netpolscan.model.tiers import (
    ALLOW,
    DENY,
    NAMESPACE,
    NETWORK_POLICY_ORDER,
    PASS,
    AllOf,
    AnyOf,
    Everything,
    Named,
    Network,
    Node,
    Nodes,
    Not,
    PeerExpr,
    Pods,
    Tier,
    TierPolicy,
    TierRule,
    World,
)

if TYPE_CHECKING:
    from netpolscan.analysis.connectivity import Connectivity

DIRECTIONS = ("ingress", "egress")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AnyPolicy = NetworkPolicy | TierPolicy
AnyRule = PolicyRule | TierRule


@dataclass(frozen=True, eq=False)
class Step:
    """One compiled rule: the classes it applies to, the peers it matches, its action and position."""

    tier: Tier
    direction: str
    policy: AnyPolicy
    rule: AnyRule
    action: str
    selected: int  # owner classes
    peers: int  # peer classes
    external: int  # external segments (and named endpoints) of the direction's space
    sort_key: tuple[object, ...]

    @property
    def number(self) -> int:
        return self.rule.number if isinstance(self.rule, TierRule) else self.rule.index + 1


@dataclass(frozen=True)
class Decision:
    """What decided some ports of one direction: a rule (``step``), or a tier's end / the default."""

    tier: Tier | None  # None: after every tier (the default allow)
    step: Step | None  # None: the tier's end (``action`` deny) or the default (``action`` allow)
    action: str
    ports: PortSet

    def describe(self) -> str:
        if self.step is None:
            if self.tier is None:
                return "no policy of any tier decides: allowed by default"
            return f"{self.tier}: selected but no rule matches: denied"
        policy = self.step.policy
        rule = self.step.rule
        label = f" ({rule.name})" if isinstance(rule, TierRule) and rule.name else ""
        where = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
        kind = "NetworkPolicy" if isinstance(policy, NetworkPolicy) else policy.kind
        return (
            f"{self.step.tier}: {kind} {where} {self.step.direction} rule {self.step.number}{label}: "
            f"{self.action}"
        )


def spec_ports(specs: tuple[PortSpec, ...], destination: tuple[ContainerPort, ...] | None) -> PortSet:
    """The ports of some PortSpecs towards a destination with ``destination`` container ports (None: an
    external one, where a named port matches nothing). No specs: every port."""
    if not specs:
        return ALL_PORTS
    parts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for spec in specs:
        if spec.port is None:
            parts[spec.protocol].append((1, 65535))
        elif isinstance(spec.port, int):
            parts[spec.protocol].append(
                (spec.port, spec.end_port if spec.end_port is not None else spec.port)
            )
        else:
            for port in destination or ():
                if port.name == spec.port and port.protocol == spec.protocol:
                    parts[spec.protocol].append((port.port, port.port))
    return PortSet(parts) if parts else NO_PORTS


def _has_named(specs: tuple[PortSpec, ...]) -> bool:
    return any(spec.is_named for spec in specs)


class TieredEngine:
    """Compiled tiered policies of one Connectivity, and the walk that decides a (class, direction)."""

    def __init__(self, conn: Connectivity, policies: list[TierPolicy]):
        self.conn = conn
        self.policies = policies
        self._expr_cache: dict[tuple[PeerExpr, int], tuple[int, int]] = {}
        self.steps: dict[str, list[Step]] = {d: [] for d in DIRECTIONS}
        self.selected: dict[str, int] = dict.fromkeys(DIRECTIONS, 0)  # classes some tiered policy selects
        self._isolating: dict[tuple[str, str], int] = defaultdict(int)  # (tier name, direction) -> classes
        self._isolators: dict[str, list[tuple[TierPolicy, int]]] = defaultdict(
            list
        )  # direction -> (policy, classes)
        self._tiers: dict[str, Tier] = {NAMESPACE.name: NAMESPACE}
        self._parts: dict[tuple[object, ...], list[tuple[int, PortSet]]] = {}
        self._memo: dict[tuple[str, int, bool], list[tuple[int, PortSet]]] = {}
        self._port_cache: dict[object, PortSet] = {}
        self._default_cache: dict[tuple[str, int], PortSet] = {}
        self._plans: dict[tuple[str, int], list[tuple[Tier, list[Step], str]]] = {}
        self._owner_index: dict[str, dict[int, list[Step]]] = {}
        self._compile()

    # --- compilation -------------------------------------------------------------------------------

    def space(self, direction: str) -> AddressSpace:
        return self.conn.ingress_space if direction == "ingress" else self.conn.egress_space

    def bits(self, expr: PeerExpr, direction: str) -> tuple[int, int]:
        """(pod classes, external segments of ``direction``) that a peer expression stands for."""
        key = (expr, id(self.space(direction)))
        found = self._expr_cache.get(key)
        if found is None:
            found = self._expr_cache[key] = self._bits(expr, direction)
        return found

    def _bits(self, expr: PeerExpr, direction: str) -> tuple[int, int]:
        conn = self.conn
        space = self.space(direction)
        if isinstance(expr, Pods):
            return self._pod_bits(expr), 0
        if isinstance(expr, Network):
            pods = 0
            if expr.in_cluster and expr.block.cidr.prefixlen == 0 and not expr.block.excepts:
                pods = conn.all_classes  # every pod has an address of the family, known or not
            elif expr.in_cluster:
                pods = conn.block_classes(expr.block)
            return pods, space.bits(expr.block)
        if isinstance(expr, Nodes):
            ext = 0
            for address in self.node_addresses(expr):
                network = ipaddress.ip_network(address)
                ext |= space.bits(IPBlock(network))
            return self._node_bits(expr), ext
        if isinstance(expr, Named):
            return 0, space.name_bits(expr.name)
        if isinstance(expr, World):
            return 0, space.all_bits
        if isinstance(expr, Everything):
            return conn.all_classes, space.all_bits
        if isinstance(expr, AnyOf):
            pods = ext = 0
            for item in expr.items:
                p, e = self.bits(item, direction)
                pods |= p
                ext |= e
            return pods, ext
        if isinstance(expr, AllOf):
            pods, ext = conn.all_classes, space.all_bits
            for item in expr.items:
                p, e = self.bits(item, direction)
                pods &= p
                ext &= e
            return pods, ext
        if isinstance(expr, Not):
            p, e = self.bits(expr.item, direction)
            return conn.all_classes & ~p, space.all_bits & ~e
        raise TypeError(f"unknown peer expression {expr!r}")

    def _pod_bits(self, expr: Pods) -> int:
        conn = self.conn
        inventory = conn.inventory
        if expr.namespace_names is not None:
            namespaces = [
                inventory.namespaces[n] for n in sorted(expr.namespace_names) if n in inventory.namespaces
            ]
        else:
            namespaces = list(inventory.namespaces.values())
        bits = 0
        for namespace in namespaces:
            if expr.namespace_selector is not None and not expr.namespace_selector.matches(namespace.labels):
                continue
            for cls in conn.classes_in(namespace.name):
                if cls.host_network and not expr.host_network:
                    continue
                if expr.node_names is not None and cls.node_name not in expr.node_names:
                    continue
                if expr.pod_selector is None or expr.pod_selector.matches(cls.labels):
                    bits |= 1 << cls.index
        return bits

    def node_addresses(self, expr: Nodes) -> set[str]:
        """The addresses of the Nodes of the input that ``expr`` selects."""
        return node_addresses(self.conn.inventory.nodes, expr)

    def _node_bits(self, expr: Nodes) -> int:
        addresses = self.node_addresses(expr)
        bits = 0
        for cls in self.conn.classes:
            if cls.host_network and any(str(address) in addresses for address in cls.addresses):
                bits |= 1 << cls.index
        return bits

    def _compile(self) -> None:
        conn = self.conn
        for policy in self.policies:
            self._tiers.setdefault(policy.tier.name, policy.tier)
            subject, _ = self.bits(policy.subject, "ingress")
            for direction in DIRECTIONS:
                if not policy.applies(direction):
                    continue
                self.selected[direction] |= subject
                if direction in policy.isolates:
                    self._isolating[(policy.tier.name, direction)] |= subject
                    self._isolators[direction].append((policy, subject))
                for rule in policy.rules(direction):
                    selected = subject
                    if rule.subject is not None:
                        selected &= self.bits(rule.subject, "ingress")[0]
                    peers, external = self.bits(rule.peers, direction)
                    key: tuple[Any, ...] = (
                        policy.tier.rank,
                        policy.tier.name,
                        rule.precedence,
                        policy.order,
                        policy.namespace,
                    )
                    key += (policy.name, rule.number)
                    self.steps[direction].append(
                        Step(
                            policy.tier, direction, policy, rule, rule.action, selected, peers, external, key
                        )
                    )
        # NetworkPolicy v1: allow rules of the namespace tier, which its isolation ends in deny
        for direction in DIRECTIONS:
            for grant in conn.grants[direction]:
                np = grant.policy
                key = (NAMESPACE.rank, NAMESPACE.name, 0, (NETWORK_POLICY_ORDER,), np.namespace)
                key += (np.name, grant.rule.index + 1)
                step = Step(
                    NAMESPACE,
                    direction,
                    np,
                    grant.rule,
                    ALLOW,
                    grant.selected,
                    grant.peers,
                    grant.external,
                    key,
                )
                self.steps[direction].append(step)
            self._isolating[(NAMESPACE.name, direction)] |= conn.np_isolated(direction)
            self.steps[direction].sort(key=lambda s: s.sort_key)

    # --- the walk ----------------------------------------------------------------------------------

    def owner_steps(self, direction: str, owner: int) -> list[Step]:
        """The steps that apply to class ``owner``, in order (indexed once: a walk per class stays linear)."""
        index = self._owner_index.get(direction)
        if index is None:
            index = self._owner_index[direction] = defaultdict(list)
            for step in self.steps[direction]:
                for selected in iter_bits(step.selected):
                    index[selected].append(step)
        return index.get(owner, [])

    def _tier_plan(self, direction: str, owner: int) -> list[tuple[Tier, list[Step], str]]:
        """The tiers that take part for ``owner``: (tier, its steps in order, its end action)."""
        key = (direction, owner)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self._compute_plan(direction, owner)
        return found

    def _compute_plan(self, direction: str, owner: int) -> list[tuple[Tier, list[Step], str]]:
        by_tier: dict[str, list[Step]] = defaultdict(list)
        for step in self.owner_steps(direction, owner):
            by_tier[step.tier.name].append(step)
        names = set(by_tier)
        for (tier_name, tier_direction), bits in self._isolating.items():
            if tier_direction == direction and bits >> owner & 1:
                names.add(tier_name)
        plan = []
        for name in sorted(names, key=lambda n: (self._tiers[n].rank, n)):
            tier = self._tiers[name]
            isolating = self._isolating.get((name, direction), 0) >> owner & 1
            plan.append((tier, by_tier.get(name, []), tier.end if isolating else PASS))
        return plan

    def _pieces(
        self, step: Step, direction: str, owner: int, external: bool, ip: IPAddress | None = None
    ) -> Iterator[tuple[int, PortSet]]:
        """(peer bits, ports) that ``step`` matches for ``owner``, named ports resolved per destination.

        With ``ip`` (an address outside the segment space, e.g. IPv6), the one peer is that address."""
        rule = step.rule
        specs = rule.ports
        excepts = rule.except_ports if isinstance(rule, TierRule) else ()
        conn = self.conn
        # ingress: named ports resolve on the owner (the destination); egress to an external peer: nowhere
        owner_ports = conn.classes[owner].ports if direction == "ingress" else None
        if ip is not None:
            if _rule_matches_address(rule, ip, self.conn.inventory.nodes):
                yield 1, self._ports(specs, excepts, owner_ports)
            return
        if external:
            if step.external:
                yield step.external, self._ports(specs, excepts, owner_ports)
            return
        if not step.peers:
            return
        if direction == "ingress" or not (_has_named(specs) or _has_named(excepts)):
            destination = conn.classes[owner].ports if direction == "ingress" else None
            yield step.peers, self._ports(specs, excepts, destination)
            return
        # egress with named ports: they resolve on each destination class
        by_ports: dict[tuple[ContainerPort, ...], int] = defaultdict(int)
        for index in iter_bits(step.peers):
            by_ports[conn.classes[index].ports] |= 1 << index
        for ports, bits in by_ports.items():
            yield bits, self._ports(specs, excepts, ports)

    def _ports(
        self,
        specs: tuple[PortSpec, ...],
        excepts: tuple[PortSpec, ...],
        destination: tuple[ContainerPort, ...] | None,
    ) -> PortSet:
        key = (specs, excepts, destination)
        found = self._port_cache.get(key)
        if found is None:
            found = spec_ports(specs, destination)
            if excepts:
                found = found - spec_ports(excepts, destination)
            self._port_cache[key] = found
        return found

    def walk(
        self,
        direction: str,
        owner: int,
        external: bool,
        universe: int | None = None,
        record: Callable[[Decision, int], None] | None = None,
        ip: IPAddress | None = None,
        ports: PortSet = ALL_PORTS,
    ) -> list[tuple[int, PortSet]]:
        """Partition of the peers of class ``owner`` (classes, or external segments) by allowed ports;
        ``ports``: only these ports are decided (a question about a few ports walks small port sets)."""
        if universe is None:
            universe = self.space(direction).all_bits if external else self.conn.all_classes
        parts = [_Part(universe, ports, NO_PORTS, NO_PORTS)]
        for tier, steps, end in self._tier_plan(direction, owner):
            for step in steps:
                for bits, ports in self._pieces(step, direction, owner, external, ip):
                    if ports:
                        parts = _apply(parts, bits, ports, step, record)
            for part in parts:
                if end == DENY:
                    if record is not None and part.undecided:
                        record(Decision(tier, None, DENY, part.undecided), part.bits)
                    part.undecided = part.passed
                else:
                    part.undecided = part.undecided | part.passed
                part.passed = NO_PORTS
            parts = _merge(parts)
        result: dict[PortSet, int] = {}
        for part in parts:
            if record is not None and part.undecided:
                record(Decision(None, None, ALLOW, part.undecided), part.bits)
            total = part.allowed | part.undecided
            if total:
                result[total] = result.get(total, 0) | part.bits
        return [(bits, ports) for ports, bits in result.items()]

    def parts(self, direction: str, owner: int, external: bool) -> list[tuple[int, PortSet]]:
        """Memoised :meth:`walk` over every peer."""
        key = (direction, owner, external)
        found = self._memo.get(key)
        if found is None:
            steps = tuple(id(step) for step in self.owner_steps(direction, owner))
            plan_key: tuple[object, ...] = (
                direction,
                external,
                steps,
                tuple((t.name, end) for t, _, end in self._tier_plan(direction, owner)),
                # ingress: named ports resolve on the owner, for an external peer too
                self.conn.classes[owner].ports if direction == "ingress" else None,
            )
            found = self._parts.get(plan_key)
            if found is None:
                found = self._parts[plan_key] = self.walk(direction, owner, external)
            self._memo[key] = found
        return found

    def reaches(self, direction: str, owner: int, ports: PortSet, named: bool = True) -> PortSet:
        """Which of ``ports`` class ``owner`` has with some peer in ``direction`` (a pod class, an
        external endpoint, or a peer no rule names). ``named``: whether the external endpoints known by
        name only (``fqdn:…``, ``entity:…``) count; a name server, for one, is reached by its address."""
        found = self.default_ports(direction, owner) & ports
        for external in (False, True):
            universe = self.space(direction).ip_bits if external and not named else None
            for _bits, allowed in self.walk(direction, owner, external, universe=universe, ports=ports):
                found = found | allowed
        return found

    def default_ports(self, direction: str, owner: int) -> PortSet:
        """Ports allowed between class ``owner`` and a peer that no rule names: only catch-all rules
        match it (every pod; for egress every external address too, as ingress rules of cluster policies
        cannot name external sources). Not every port: a default deny holds."""
        key = (direction, owner)
        found = self._default_cache.get(key)
        if found is not None:
            return found
        world = self.space(direction).all_bits if direction == "egress" else 0
        undecided, allowed = ALL_PORTS, NO_PORTS
        for _tier, steps, end in self._tier_plan(direction, owner):
            passed = NO_PORTS
            for step in steps:
                if not _matches_unnamed_pod(step.rule) or step.external & world != world:
                    continue
                rule = step.rule
                excepts = rule.except_ports if isinstance(rule, TierRule) else ()
                destination = self.conn.classes[owner].ports if direction == "ingress" else None
                matched = undecided & self._ports(rule.ports, excepts, destination)
                undecided = undecided - matched
                if step.action == ALLOW:
                    allowed = allowed | matched
                elif step.action == PASS:
                    passed = passed | matched
            undecided = passed if end == DENY else undecided | passed
        found = self._default_cache[key] = allowed | undecided
        return found

    def isolating_policies(self, direction: str, owner: int) -> list[TierPolicy]:
        """The tiered policies that take part in ``direction`` for class ``owner``: those whose rules apply
        to it, in walk order, then those that isolate it without a rule (a default deny), by tier."""
        seen: dict[int, TierPolicy] = {}
        for step in self.owner_steps(direction, owner):
            if isinstance(step.policy, TierPolicy):
                seen.setdefault(id(step.policy), step.policy)
        ruleless = [policy for policy, bits in self._isolators[direction] if bits >> owner & 1]
        for policy in sorted(ruleless, key=lambda p: (p.tier.rank, p.order)):
            seen.setdefault(id(policy), policy)
        return list(seen.values())

    def decisions(
        self, direction: str, owner: int, peer: int | None, address: int | None, ip: IPAddress | None = None
    ) -> list[Decision]:
        """What decided each port between class ``owner`` and one peer: a class (``peer``), an external
        segment (``address``), or an external address outside the segments (``ip``, e.g. IPv6)."""
        found: list[Decision] = []
        external = peer is None
        if external and address is None:
            universe = 1
        else:
            universe = 1 << (address if external and address is not None else (peer or 0))
            ip = None

        def record(decision: Decision, bits: int) -> None:
            if bits & universe:
                found.append(decision)

        self.walk(direction, owner, external, universe, record, ip)
        return found


class _Part:
    """Peers (bits) that the walk so far treats alike: ports undecided, allowed, and passed on."""

    __slots__ = ("bits", "undecided", "allowed", "passed")

    def __init__(self, bits: int, undecided: PortSet, allowed: PortSet, passed: PortSet):
        self.bits = bits
        self.undecided = undecided
        self.allowed = allowed
        self.passed = passed


def _merge(parts: list[_Part]) -> list[_Part]:
    grouped: dict[tuple[PortSet, PortSet, PortSet], int] = {}
    for part in parts:
        key = (part.undecided, part.allowed, part.passed)
        grouped[key] = grouped.get(key, 0) | part.bits
    return [_Part(bits, *key) for key, bits in grouped.items()]


def _apply(
    parts: list[_Part], bits: int, ports: PortSet, step: Step, record: Callable[[Decision, int], None] | None
) -> list[_Part]:
    """Let ``step`` take the undecided ``ports`` of the peers in ``bits``."""
    out: list[_Part] = []
    action = step.action
    for part in parts:
        inter = part.bits & bits
        matched = part.undecided & ports if inter else NO_PORTS
        if not matched:
            out.append(part)
            continue
        rest = part.bits ^ inter
        if rest:
            out.append(_Part(rest, part.undecided, part.allowed, part.passed))
        out.append(
            _Part(
                inter,
                part.undecided - matched,
                part.allowed | matched if action == ALLOW else part.allowed,
                part.passed | matched if action == PASS else part.passed,
            )
        )
        if record is not None:
            record(Decision(step.tier, step, action, matched), inter)
    return out


# A pod the input lacks, in a namespace the input lacks: what a "peer that no rule names" stands for. Its
# namespace has only its name label (a name no namespace can have) and the pod has no labels.
_UNNAMED_NAMESPACE = {"kubernetes.io/metadata.name": "netpolscan.unnamed"}


def _matches_unnamed_pod(rule: AnyRule) -> bool:
    """Whether ``rule``'s peers hold a pod of a namespace absent from the input. Matching every pod class
    of the input is not enough: ``fromEndpoints: [{}]`` or ``podSelector: {}`` names the policy's own
    namespace, which may hold every pod of the input (a chart rendered alone)."""
    if isinstance(rule, TierRule):
        return _expr_matches_unnamed_pod(rule.peers)
    return rule.all_peers or any(
        peer.namespace_selector is not None
        and peer.namespace_selector.matches(_UNNAMED_NAMESPACE)
        and (peer.pod_selector is None or peer.pod_selector.matches({}))
        for peer in rule.peers
    )


def _expr_matches_unnamed_pod(expr: PeerExpr) -> bool:
    if isinstance(expr, Everything):
        return True
    if isinstance(expr, Pods):
        return (
            expr.namespace_names is None
            and expr.node_names is None
            and (expr.namespace_selector is None or expr.namespace_selector.matches(_UNNAMED_NAMESPACE))
            and (expr.pod_selector is None or expr.pod_selector.matches({}))
        )
    if isinstance(expr, Network):  # every pod has an address of the family, known or not
        return expr.in_cluster and expr.block.cidr.prefixlen == 0 and not expr.block.excepts
    if isinstance(expr, AnyOf):
        return any(_expr_matches_unnamed_pod(item) for item in expr.items)
    if isinstance(expr, AllOf):
        return all(_expr_matches_unnamed_pod(item) for item in expr.items)
    if isinstance(expr, Not):
        return not _expr_matches_unnamed_pod(expr.item)
    return False  # nodes, external addresses, named endpoints


def node_addresses(nodes: Sequence[Node], expr: Nodes) -> set[str]:
    """The valid addresses of the ``nodes`` that ``expr`` selects."""
    found: set[str] = set()
    for node in nodes:
        if expr.selector.matches(node.labels):
            for address in node.addresses:
                try:
                    found.add(str(ipaddress.ip_address(address)))
                except ValueError:
                    continue
    return found


def _rule_matches_address(rule: AnyRule, ip: IPAddress, nodes: Sequence[Node]) -> bool:
    """Whether a rule's peers hold the external address ``ip``."""
    if isinstance(rule, PolicyRule):
        return rule.all_peers or any(p.ip_block is not None and p.ip_block.contains(ip) for p in rule.peers)
    return _expr_matches_address(rule.peers, ip, nodes)


def _expr_matches_address(expr: PeerExpr, ip: IPAddress, nodes: Sequence[Node]) -> bool:
    if isinstance(expr, Network):
        return expr.block.contains(ip)
    if isinstance(expr, Nodes):
        return str(ip) in node_addresses(nodes, expr)
    if isinstance(expr, World | Everything):
        return True
    if isinstance(expr, AnyOf):
        return any(_expr_matches_address(item, ip, nodes) for item in expr.items)
    if isinstance(expr, AllOf):
        return all(_expr_matches_address(item, ip, nodes) for item in expr.items)
    if isinstance(expr, Not):
        return not _expr_matches_address(expr.item, ip, nodes)
    return False  # pods, nodes and named endpoints are not external addresses
