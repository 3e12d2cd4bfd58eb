"""Allowed connections between every pair of workloads, and between workloads and external addresses.

The semantics are the Kubernetes API's (see DESIGN.md): a workload is isolated for a direction when a
policy of its namespace selects it for that direction; what is allowed is the union of the rules of the
selecting policies; a connection needs egress at the source AND ingress at the destination. Named ports
resolve on the destination workload. ipBlocks match external addresses and workloads with known pod IPs.

Workloads are grouped into classes (namespace, labels, container ports, pod IPs); selectors are evaluated
once per class and peer sets are bitsets (Python ints) over classes, so the cost follows the number of
classes and of allowed connections, not of workload pairs.

API::

    conn = connectivity(inventory)           # computed once, cached on inventory.cache
    conn.allowed(src, dst) -> PortSet        # src/dst: a Workload or an IP address
    conn.verdict(src, dst, "ingress")        # the isolation and the rules deciding one direction
    conn.pairs() -> Iterator[Connection]     # every non-empty connection, self pairs excluded
    conn.ingress_space / conn.egress_space   # the external segments of each direction
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from netpolscan.analysis.addresses import AddressSpace, NamedEndpoint, Segment, iter_bits
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.analysis.tiers import Decision, TieredEngine, node_addresses, spec_ports
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import ContainerPort, IPBlock, NetworkPolicy, Peer, PolicyRule, Workload
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import ALLOW, Named, Network, Nodes, walk_expression

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = Workload | IPAddress
DIRECTIONS = ("ingress", "egress")
_EMPTY_SELECTOR = LabelSelector()


@dataclass(frozen=True, eq=False)
class Grant:
    """One rule of one policy: who it applies to (``selected``) and which peers and ports it allows.

    ``selected`` and ``peers`` are bitsets over pod classes; ``external`` is a bitset over the segments of
    the direction's address space.
    """

    index: int
    policy: NetworkPolicy
    rule: PolicyRule
    selected: int
    peers: int
    external: int

    @property
    def direction(self) -> str:
        return self.rule.direction


@dataclass(frozen=True)
class Verdict:
    """What one direction of a connection decides.

    ``isolated``: some policy selects the workload for this direction (otherwise everything is allowed);
    ``policies``: the selecting policies; ``allowing``: the rules whose peers match, with the ports each
    allows here; ``ports``: their union (every port when not isolated).
    """

    direction: str
    isolated: bool
    policies: tuple[NetworkPolicy, ...]
    allowing: tuple[tuple[Grant, PortSet], ...]
    ports: PortSet
    decisions: tuple[Decision, ...] = ()  # tiered: what decided which ports, in the order of the walk


@dataclass(frozen=True)
class Connection:
    """A non-empty allowed connection between two endpoints (a workload or an external segment)."""

    src: Workload | Segment
    dst: Workload | Segment
    ports: PortSet


class PodClass:
    """Workloads that no policy can tell apart: same namespace, labels, container ports and pod IPs."""

    __slots__ = ("index", "namespace", "labels", "ports", "addresses", "members", "host_network", "node_name")

    def __init__(self, index: int, workload: Workload):
        self.index = index
        self.namespace = workload.namespace
        self.labels = workload.labels
        self.ports: tuple[ContainerPort, ...] = workload.ports
        self.addresses = tuple(_parse_ips(workload.pod_ips))
        self.host_network = workload.host_network
        self.node_name = workload.node_name
        self.members: list[Workload] = []


def _parse_ips(values: tuple[str, ...]) -> Iterator[IPAddress]:
    for value in values:
        try:
            yield ipaddress.ip_address(value)
        except ValueError:
            continue


def rule_ports(rule: PolicyRule, destination_ports: tuple[ContainerPort, ...] | None) -> PortSet:
    """The ports a rule allows towards a destination with ``destination_ports`` (None: an external one).

    Ports omitted = everything; a named port resolves on the destination's container ports (name and
    protocol) and matches nothing where it does not resolve.
    """
    return spec_ports(rule.ports, destination_ports)


class Connectivity:
    """Allowed connections of one inventory (build it through :func:`connectivity`)."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self.classes: list[PodClass] = []
        self._class_of: dict[int, PodClass] = {}
        keys: dict[tuple[object, ...], PodClass] = {}
        for workload in inventory.workloads:
            key = (
                workload.namespace,
                tuple(sorted(workload.labels.items())),
                workload.ports,
                workload.pod_ips,
                workload.host_network,
                workload.node_name if inventory.tier_policies else "",
            )
            cls = keys.get(key)
            if cls is None:
                cls = keys[key] = PodClass(len(self.classes), workload)
                self.classes.append(cls)
            cls.members.append(workload)
            self._class_of[id(workload)] = cls
        self.all_classes = (1 << len(self.classes)) - 1
        self._ns_classes: dict[str, list[PodClass]] = defaultdict(list)
        for cls in self.classes:
            self._ns_classes[cls.namespace].append(cls)
        self._select_cache: dict[tuple[str, LabelSelector], int] = {}
        self._peer_cache: dict[tuple[str, LabelSelector | None, LabelSelector | None], int] = {}
        self._block_cache: dict[tuple[IPBlock, int], tuple[int, int]] = {}
        self._addressed = [cls for cls in self.classes if cls.addresses]
        self.ingress_space = AddressSpace(self._blocks("ingress"), self._names("ingress"))
        self.egress_space = AddressSpace(self._blocks("egress"), self._names("egress"))
        self.grants: dict[str, list[Grant]] = {d: [] for d in DIRECTIONS}
        self._grants_of: dict[str, list[list[Grant]]] = {d: [[] for _ in self.classes] for d in DIRECTIONS}
        self._isolated: dict[str, int] = dict.fromkeys(DIRECTIONS, 0)
        self._policies_of: dict[str, list[list[NetworkPolicy]]] = {
            d: [[] for _ in self.classes] for d in DIRECTIONS
        }
        self._build_grants()
        self.tiered: TieredEngine | None = None
        self._tiered_bits: dict[str, int] = dict.fromkeys(DIRECTIONS, 0)
        if inventory.tier_policies:
            self.tiered = TieredEngine(self, inventory.tier_policies)
            self._tiered_bits = dict(self.tiered.selected)
        self._ports_cache: dict[tuple[int, tuple[ContainerPort, ...] | None], PortSet] = {}
        self._pair_cache: dict[tuple[int, int], PortSet] = {}
        self._pairs: dict[tuple[int, int], PortSet] | None = None
        self._or_cache: dict[tuple[PortSet, PortSet], PortSet] = {}
        self._and_cache: dict[tuple[int, int], tuple[PortSet, PortSet, PortSet]] = {}
        self._parts_cache: dict[tuple[object, ...], list[tuple[int, PortSet]]] = {}
        self._named_index: dict[tuple[str, str], dict[int, int]] | None = None
        self._owner_parts: dict[str, dict[int, list[tuple[int, PortSet]]]] = {d: {} for d in DIRECTIONS}

    # --- construction ------------------------------------------------------------------------------

    def _blocks(self, direction: str) -> Iterator[IPBlock]:
        for policy in self.inventory.policies:
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        yield peer.ip_block
        for tier_policy in self.inventory.tier_policies:
            for tier_rule in tier_policy.rules(direction):
                for expr in walk_expression(tier_rule.peers):
                    if isinstance(expr, Network):
                        yield expr.block
                    elif isinstance(expr, Nodes):  # a node's address is an endpoint of its own
                        for address in node_addresses(self.inventory.nodes, expr):
                            yield IPBlock(ipaddress.ip_network(address))

    def _names(self, direction: str) -> Iterator[str]:
        for tier_policy in self.inventory.tier_policies:
            for tier_rule in tier_policy.rules(direction):
                for expr in walk_expression(tier_rule.peers):
                    if isinstance(expr, Named):
                        yield expr.name

    def classes_in(self, namespace: str) -> list[PodClass]:
        return self._ns_classes.get(namespace, [])

    def np_isolated(self, direction: str) -> int:
        """Classes that a NetworkPolicy v1 isolates for ``direction`` (bitset)."""
        return self._isolated[direction]

    def block_classes(self, block: IPBlock) -> int:
        """Classes with a known address inside ``block``."""
        pods = 0
        for cls in self._addressed:
            if any(block.contains(address) for address in cls.addresses):
                pods |= 1 << cls.index
        return pods

    def _select(self, namespace: str, selector: LabelSelector) -> int:
        key = (namespace, selector)
        bits = self._select_cache.get(key)
        if bits is None:
            bits = 0
            for cls in self._ns_classes.get(namespace, ()):
                if selector.matches(cls.labels):
                    bits |= 1 << cls.index
            self._select_cache[key] = bits
        return bits

    def _peer_bits(self, policy: NetworkPolicy, peer: Peer, space: AddressSpace) -> tuple[int, int]:
        block = peer.ip_block
        if block is not None:
            key = (block, id(space))
            found = self._block_cache.get(key)
            if found is None:
                found = self._block_cache[key] = (self.block_classes(block), space.bits(block))
            return found
        namespace = policy.namespace if peer.namespace_selector is None else ""
        peer_key = (namespace, peer.namespace_selector, peer.pod_selector)
        bits = self._peer_cache.get(peer_key)
        if bits is None:
            pod_selector = peer.pod_selector or _EMPTY_SELECTOR
            if peer.namespace_selector is None:
                bits = self._select(policy.namespace, pod_selector)
            else:
                bits = 0
                for matched in self.inventory.namespaces_matching(peer.namespace_selector):
                    bits |= self._select(matched.name, pod_selector)
            self._peer_cache[peer_key] = bits
        return bits, 0

    def _build_grants(self) -> None:
        for policy in self.inventory.policies:
            selected = self._select(policy.namespace, policy.pod_selector)
            for direction in DIRECTIONS:
                if direction == "ingress" and not policy.isolates_ingress:
                    continue
                if direction == "egress" and not policy.isolates_egress:
                    continue
                space = self.ingress_space if direction == "ingress" else self.egress_space
                self._isolated[direction] |= selected
                for index in iter_bits(selected):
                    self._policies_of[direction][index].append(policy)
                for rule in policy.rules(direction):
                    if rule.all_peers:
                        peers, external = self.all_classes, space.all_bits
                    else:
                        peers = external = 0
                        for peer in rule.peers:
                            pod_bits, ext_bits = self._peer_bits(policy, peer, space)
                            peers |= pod_bits
                            external |= ext_bits
                    grant = Grant(len(self.grants[direction]), policy, rule, selected, peers, external)
                    self.grants[direction].append(grant)
                    for index in iter_bits(selected):
                        self._grants_of[direction][index].append(grant)

    # --- per class ---------------------------------------------------------------------------------

    def _ports(self, grant: Grant, destination: PodClass | None) -> PortSet:
        dst_ports = destination.ports if destination is not None else None
        if not any(spec.is_named for spec in grant.rule.ports):
            dst_ports = ()
        key = (id(grant.rule), dst_ports)
        found = self._ports_cache.get(key)
        if found is None:
            found = self._ports_cache[key] = rule_ports(grant.rule, dst_ports)
        return found

    def _direction_ports(self, direction: str, owner: int, peer: int) -> PortSet:
        """Ports allowed in ``direction`` for class ``owner`` (the selected side) towards class ``peer``."""
        if self._tiered_bits[direction] >> owner & 1:
            for bits, ports in self._peer_parts(direction, owner):
                if bits >> peer & 1:
                    return ports
            return NO_PORTS
        if not self._isolated[direction] >> owner & 1:
            return ALL_PORTS
        destination = self.classes[owner if direction == "ingress" else peer]
        result = NO_PORTS
        for grant in self._grants_of[direction][owner]:
            if grant.peers >> peer & 1:
                result = result | self._ports(grant, destination)
                if result is ALL_PORTS:
                    break
        return result

    def _class_ports(self, src: int, dst: int) -> PortSet:
        key = (src, dst)
        found = self._pair_cache.get(key)
        if found is None:
            ingress = self._direction_ports("ingress", dst, src)
            found = ingress & self._direction_ports("egress", src, dst) if ingress else NO_PORTS
            self._pair_cache[key] = found
        return found

    # --- whole-map computation: partitions of peer bitsets by allowed ports ----------------------------
    #
    # For one selected class and direction, the peers (classes or external segments) are split into parts
    # that get the same ports from the union of the rules; parts are bitsets, so the cost follows the
    # number of rules and distinct port sets, not of peers. PortSet unions and intersections are memoised:
    # a map has few distinct port sets and many pairs sharing them.

    def _union(self, a: PortSet, b: PortSet) -> PortSet:
        if a is b or not b:
            return a
        if not a:
            return b
        key = (a, b)
        found = self._or_cache.get(key)
        if found is None:
            found = self._or_cache[key] = a | b
        return found

    def _meet(self, a: PortSet, b: PortSet) -> PortSet:
        if a is b or b is ALL_PORTS:
            return a
        if a is ALL_PORTS:
            return b
        key = (id(a), id(b))
        cached = self._and_cache.get(key)
        if cached is None:
            found = a & b
            # the operands ride along in the value: their ids stay theirs while the cache lives
            cached = self._and_cache[key] = (found if found else NO_PORTS, a, b)
        return cached[0]

    def _refine(self, parts: list[tuple[int, PortSet]], covered: int, bits: int, ports: PortSet) -> int:
        """Add ``ports`` for the peers in ``bits`` to the partition ``parts`` (in place); returns covered."""
        if not bits or not ports:
            return covered
        count = len(parts)
        for i in range(count):
            part_bits, part_ports = parts[i]
            inter = part_bits & bits
            if not inter:
                continue
            merged = self._union(part_ports, ports)
            if merged is part_ports:
                continue
            if inter == part_bits:
                parts[i] = (part_bits, merged)
            else:
                parts[i] = (part_bits ^ inter, part_ports)
                parts.append((inter, merged))
        fresh = bits & ~covered
        if fresh:
            parts.append((fresh, ports))
        return covered | bits

    @staticmethod
    def _merged(parts: list[tuple[int, PortSet]]) -> list[tuple[int, PortSet]]:
        by_ports: dict[PortSet, int] = {}
        for bits, ports in parts:
            if ports:
                by_ports[ports] = by_ports.get(ports, 0) | bits
        return [(bits, ports) for ports, bits in by_ports.items()]

    def _named_classes(self) -> dict[tuple[str, str], dict[int, int]]:
        """(port name, protocol) -> port number -> bitset of the classes declaring it."""
        if self._named_index is None:
            index: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
            for cls in self.classes:
                for port in cls.ports:
                    if port.name:
                        numbers = index[(port.name, port.protocol)]
                        numbers[port.port] = numbers.get(port.port, 0) | 1 << cls.index
            self._named_index = dict(index)
        return self._named_index

    def _peer_parts(self, direction: str, owner: int) -> list[tuple[int, PortSet]]:
        """Partition of the peer classes of class ``owner`` by the ports ``direction`` allows them.

        Only peers with some port are in a part; not isolated: one part, every class, every port.
        """
        memo = self._owner_parts[direction]
        found = memo.get(owner)
        if found is None:
            found = memo[owner] = self._compute_peer_parts(direction, owner)
        return found

    def _compute_peer_parts(self, direction: str, owner: int) -> list[tuple[int, PortSet]]:
        if self.tiered is not None and self._tiered_bits[direction] >> owner & 1:
            return self.tiered.parts(direction, owner, external=False)
        if not self._isolated[direction] >> owner & 1:
            return [(self.all_classes, ALL_PORTS)]
        grants = self._grants_of[direction][owner]
        named = any(spec.is_named for grant in grants for spec in grant.rule.ports)
        # ingress resolves named ports on the owner itself; egress on each destination (below)
        key: tuple[object, ...] = (
            direction,
            tuple(grant.index for grant in grants),
            self.classes[owner].ports if named and direction == "ingress" else None,
        )
        found = self._parts_cache.get(key)
        if found is not None:
            return found
        parts: list[tuple[int, PortSet]] = []
        covered = 0
        for grant in grants:
            if not grant.peers:
                continue
            if direction == "ingress":
                covered = self._refine(parts, covered, grant.peers, self._ports(grant, self.classes[owner]))
                continue
            covered = self._refine(parts, covered, grant.peers, rule_ports(grant.rule, ()))
            for spec in grant.rule.ports:
                if not spec.is_named:
                    continue
                assert isinstance(spec.port, str)
                for number, bits in self._named_classes().get((spec.port, spec.protocol), {}).items():
                    single = PortSet.single(spec.protocol, number)
                    covered = self._refine(parts, covered, grant.peers & bits, single)
        found = self._parts_cache[key] = self._merged(parts)
        return found

    def class_connections(self) -> Iterator[tuple[int, int, PortSet]]:
        """Every allowed (src class, dst class, ports), self pairs of a class included, dst-major order."""
        reach_by_peers: dict[int, int] = defaultdict(int)
        for grant in self.grants["egress"]:
            reach_by_peers[grant.peers] |= grant.selected
        reach = [0] * len(self.classes)
        for peers, selected in reach_by_peers.items():
            for index in iter_bits(peers):
                reach[index] |= selected
        tiered_egress = self._tiered_bits["egress"]
        open_egress = self.all_classes & ~self._isolated["egress"] & ~tiered_egress
        egress_memo = self._owner_parts["egress"]
        peer_parts = self._peer_parts
        meet = self._meet
        for dst in range(len(self.classes)):
            candidates = open_egress | reach[dst] | tiered_egress
            for bits, ingress in peer_parts("ingress", dst):
                sources = bits & candidates
                if not sources:
                    continue
                open_sources = sources & open_egress
                for src in iter_bits(open_sources):
                    yield src, dst, ingress
                for src in iter_bits(sources ^ open_sources):
                    parts = egress_memo.get(src)
                    if parts is None:
                        parts = peer_parts("egress", src)
                    for egress_bits, egress in parts:
                        if egress_bits >> dst & 1:
                            ports = meet(ingress, egress)
                            if ports is not NO_PORTS:
                                yield src, dst, ports
                            break

    def _class_pairs(self) -> dict[tuple[int, int], PortSet]:
        if self._pairs is None:
            self._pairs = {(src, dst): ports for src, dst, ports in self.class_connections()}
        return self._pairs

    def _external_parts(self, direction: str, owner: int) -> list[tuple[int, PortSet]]:
        """Partition of the external segments of ``direction`` by the ports class ``owner`` has there."""
        space = self.ingress_space if direction == "ingress" else self.egress_space
        if self.tiered is not None and self._tiered_bits[direction] >> owner & 1:
            return self.tiered.parts(direction, owner, external=True)
        if not self._isolated[direction] >> owner & 1:
            return [(space.all_bits, ALL_PORTS)]
        grants = [grant for grant in self._grants_of[direction][owner] if grant.external]
        named = any(spec.is_named for grant in grants for spec in grant.rule.ports)
        key: tuple[object, ...] = (
            "external",
            direction,
            tuple(grant.index for grant in grants),
            self.classes[owner].ports if named and direction == "ingress" else None,
        )
        found = self._parts_cache.get(key)
        if found is None:
            destination = self.classes[owner] if direction == "ingress" else None
            parts: list[tuple[int, PortSet]] = []
            covered = 0
            for grant in grants:
                covered = self._refine(parts, covered, grant.external, self._ports(grant, destination))
            found = self._parts_cache[key] = self._merged(parts)
        return found

    def external_connections(self, direction: str, owner: int) -> Iterator[tuple[Segment, PortSet]]:
        """(segment, ports) between class ``owner`` and external segments: sources for ``ingress``."""
        space = self.ingress_space if direction == "ingress" else self.egress_space
        for bits, ports in self._external_parts(direction, owner):
            for index in iter_bits(bits):
                yield space.segments[index], ports

    def _external_ports(self, direction: str, owner: int) -> dict[int, PortSet]:
        """Segment index -> ports, for traffic between class ``owner`` and external segments."""
        found: dict[int, PortSet] = {}
        for bits, ports in self._external_parts(direction, owner):
            for index in iter_bits(bits):
                found[index] = ports
        return dict(sorted(found.items()))

    # --- public API --------------------------------------------------------------------------------

    def class_of(self, workload: Workload) -> PodClass:
        return self._class_of[id(workload)]

    def is_isolated(self, workload: Workload, direction: str) -> bool:
        return bool(self._isolated[direction] >> self.class_of(workload).index & 1)

    def verdict(
        self, src: Endpoint | NamedEndpoint, dst: Endpoint | NamedEndpoint, direction: str
    ) -> Verdict:
        """The decision of one direction: ``ingress`` at ``dst`` (a workload) or ``egress`` at ``src``.
        The peer may be an external endpoint known by name (``fqdn:…``) of the direction's space."""
        owner, peer = (dst, src) if direction == "ingress" else (src, dst)
        if not isinstance(owner, Workload):
            return Verdict(direction, False, (), (), ALL_PORTS)
        owner_cls = self.class_of(owner)
        policies = tuple(self._policies_of[direction][owner_cls.index])
        if self.tiered is not None and self._tiered_bits[direction] >> owner_cls.index & 1:
            return self._tiered_verdict(direction, owner_cls.index, peer, policies)
        if not policies:
            return Verdict(direction, False, (), (), ALL_PORTS)
        destination = self.class_of(dst) if isinstance(dst, Workload) else None
        allowing: list[tuple[Grant, PortSet]] = []
        total = NO_PORTS
        for grant in self._grants_of[direction][owner_cls.index]:
            if isinstance(peer, Workload):
                matched = bool(grant.peers >> self.class_of(peer).index & 1)
            elif isinstance(peer, NamedEndpoint):  # a whole address family holds a named endpoint
                matched = grant.rule.all_peers or any(
                    p.ip_block is not None and p.ip_block.cidr.prefixlen == 0 for p in grant.rule.peers
                )
            else:
                matched = grant.rule.all_peers or any(
                    p.ip_block is not None and p.ip_block.contains(peer) for p in grant.rule.peers
                )
            if matched:
                ports = self._ports(grant, destination)
                allowing.append((grant, ports))
                total = total | ports
        return Verdict(direction, True, policies, tuple(allowing), total)

    def _tiered_verdict(
        self, direction: str, owner: int, peer: Endpoint | NamedEndpoint, policies: tuple[NetworkPolicy, ...]
    ) -> Verdict:
        assert self.tiered is not None
        if isinstance(peer, Workload):
            decisions = self.tiered.decisions(direction, owner, self.class_of(peer).index, None)
        elif isinstance(peer, NamedEndpoint):
            space = self.ingress_space if direction == "ingress" else self.egress_space
            index = space.named_index.get(peer.name)
            decisions = [] if index is None else self.tiered.decisions(direction, owner, None, index)
        else:
            space = self.ingress_space if direction == "ingress" else self.egress_space
            decisions = self.tiered.decisions(direction, owner, None, space.index_of(peer), peer)
        grant_of = {id(grant.rule): grant for grant in self.grants[direction]}
        allowing: list[tuple[Grant, PortSet]] = []
        total = NO_PORTS
        for decision in decisions:
            if decision.action != ALLOW:
                continue
            total = total | decision.ports
            step = decision.step
            grant = grant_of.get(id(step.rule)) if step is not None else None
            if grant is not None:
                allowing.append((grant, decision.ports))
        isolated = any(d.step is not None or d.tier is not None for d in decisions)
        return Verdict(direction, isolated, policies, tuple(allowing), total, tuple(decisions))

    def decided_by_tiers(self, workload: Workload, direction: str) -> bool:
        """Whether a policy of a kind beyond NetworkPolicy v1 takes part in ``direction`` for ``workload``."""
        return bool(self._tiered_bits[direction] >> self.class_of(workload).index & 1)

    def peer_parts(self, workload: Workload, direction: str) -> list[tuple[int, PortSet]]:
        """The pod classes ``workload`` may reach (egress) or be reached by (ingress), partitioned by
        the ports allowed: ``[(bitset over self.classes, ports)]`` (peers with no port are left out)."""
        return self._peer_parts(direction, self.class_of(workload).index)

    def external_ports(self, workload: Workload, direction: str) -> PortSet:
        """The union of the ports allowed between ``workload`` and every external endpoint."""
        total = NO_PORTS
        for _bits, ports in self._external_parts(direction, self.class_of(workload).index):
            total = total | ports
        return total

    def unnamed_peer_ports(self, workload: Workload, direction: str) -> PortSet:
        """Ports allowed with a peer that no rule names (a namespace or pod absent from the input)."""
        index = self.class_of(workload).index
        if self.tiered is not None and self._tiered_bits[direction] >> index & 1:
            return self.tiered.default_ports(direction, index)
        if not self._isolated[direction] >> index & 1:
            return ALL_PORTS
        total = NO_PORTS
        for grant in self._grants_of[direction][index]:
            if grant.rule.all_peers:
                total = total | self._ports(grant, None)
        return total

    def default_denied(self, workload: Workload, direction: str) -> bool:
        """Whether ``direction`` of ``workload`` is closed to peers that no rule names (a default deny),
        after every tier: a NetworkPolicy isolation, or an Admin/Baseline/CNI policy that denies the rest."""
        index = self.class_of(workload).index
        if self.tiered is None or not self._tiered_bits[direction] >> index & 1:
            return bool(self._isolated[direction] >> index & 1)
        return self.tiered.default_ports(direction, index) != ALL_PORTS

    def allowed(self, src: Endpoint, dst: Endpoint) -> PortSet:
        """Ports on which ``src`` may open connections to ``dst`` (a workload or an IP address each)."""
        if isinstance(src, Workload) and isinstance(dst, Workload):
            return self._class_ports(self.class_of(src).index, self.class_of(dst).index)
        return self.verdict(src, dst, "egress").ports & self.verdict(src, dst, "ingress").ports

    def pairs(self) -> Iterator[Connection]:
        """Every allowed connection: workload pairs (self excluded), external<->workload."""
        for src, dst, ports in self.class_connections():
            for src_workload in self.classes[src].members:
                for dst_workload in self.classes[dst].members:
                    if src_workload is not dst_workload:
                        yield Connection(src_workload, dst_workload, ports)
        for cls in self.classes:
            for segment, ports in self.external_connections("ingress", cls.index):
                for workload in cls.members:
                    yield Connection(segment, workload, ports)
            for segment, ports in self.external_connections("egress", cls.index):
                for workload in cls.members:
                    yield Connection(workload, segment, ports)


def connectivity(inventory: Inventory) -> Connectivity:
    """The inventory's Connectivity, computed once and shared by every rule."""
    cached = inventory.cache.get("connectivity")
    if not isinstance(cached, Connectivity):
        cached = Connectivity(inventory)
        inventory.cache["connectivity"] = cached
    return cached
