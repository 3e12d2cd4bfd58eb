"""Redundancy: which NetworkPolicy rules and policies allow nothing the others do not already allow (the
analysis behind NPS601 and NPS602).

NPS6xx: rules and policies that allow nothing the others do not already allow.

Both rules compare, for every workload a policy selects, what a rule allows (peers of the input, external
address segments, on the ports it allows there, named ports resolved) with the union of what the other
rules applying to that workload allow, using the engine's per-rule grants. They stay conservative:

* a covering rule must come from a policy whose podSelector selects every pod the compared policy
  selects, whatever its labels (same selector, or a subset of its terms), so pods deployed later are
  covered too; a default-deny is never "redundant" because today's pods happen to be covered otherwise;
* what the input cannot show (namespaces absent from the input, IPv6 ipBlocks, every peer of a rule
  without ``from``/``to``) is only covered by a peer that says at least as much in the manifest itself;
* a rule that allows nothing at all is left to NPS503/NPS504.

Removals are decided one at a time (last first), each against the rules still kept, so deleting every
reported rule and policy together keeps exactly the same allowed connections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from netpolscan.analysis.addresses import iter_bits
from netpolscan.analysis.connectivity import Connectivity, Grant, PodClass, connectivity, rule_ports
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.analysis.selection import Selection
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import ContainerPort, NetworkPolicy, Peer, PolicyRule
from netpolscan.model.selectors import LabelSelector

OpenPeer = Callable[[NetworkPolicy, Peer], bool]
"""Whether a selector peer of a policy may stand for pods the input lacks (decided by the caller)."""

DIRECTIONS = ("ingress", "egress")


def selects_superset(wide: LabelSelector, narrow: LabelSelector) -> bool:
    """Whether every pod ``narrow`` matches is matched by ``wide`` (decided on the selectors' terms)."""
    if wide.is_empty:
        return True
    return set(wide.match_labels) <= set(narrow.match_labels) and set(wide.match_expressions) <= set(
        narrow.match_expressions
    )


def _peer_covers(wide: Peer, narrow: Peer) -> bool:
    """Whether peer ``wide`` stands for everything peer ``narrow`` may stand for, on the manifests alone."""
    if narrow.ip_block is not None:
        outer, inner = wide.ip_block, narrow.ip_block
        if outer is None or outer.cidr.version != inner.cidr.version:
            return False
        if not inner.cidr.subnet_of(outer.cidr):  # type: ignore[arg-type]
            return False
        return all(
            not hole.overlaps(inner.cidr) or any(hole.subnet_of(own) for own in inner.excepts)  # type: ignore[arg-type]
            for hole in outer.excepts
        )
    if wide.ip_block is not None:
        return False
    if narrow.namespace_selector is None:  # the own namespace (both policies live in the same one)
        if wide.namespace_selector is not None and not wide.namespace_selector.is_empty:
            return False
    elif wide.namespace_selector is None or not (
        wide.namespace_selector.is_empty or wide.namespace_selector == narrow.namespace_selector
    ):
        return False
    if wide.pod_selector is None or wide.pod_selector.is_empty:
        return True
    return narrow.pod_selector is not None and selects_superset(wide.pod_selector, narrow.pod_selector)


def _unknown_peers(is_open: OpenPeer, policy: NetworkPolicy, rule: PolicyRule) -> list[Peer | None]:
    """Peers of ``rule`` that stand for endpoints the input cannot show (None: the rule has no from/to)."""
    if rule.all_peers:
        return [None]
    found: list[Peer | None] = []
    for peer in rule.peers:
        if peer.ip_block is not None:
            if peer.ip_block.cidr.version == 6:
                found.append(peer)
        elif is_open(policy, peer):
            found.append(peer)
    return found


def _named(rule: PolicyRule) -> set[tuple[str, str]]:
    return {(spec.protocol, spec.port) for spec in rule.ports if isinstance(spec.port, str)}


def _ports_cover_unknown(rule: PolicyRule, others: Sequence[PolicyRule]) -> bool:
    """Whether ``others`` allow every port ``rule`` allows towards a destination whose ports are unknown."""
    have = NO_PORTS
    names: set[tuple[str, str]] = set()
    for other in others:
        have = have | rule_ports(other, None)
        names |= _named(other)
    if rule_ports(rule, None) - have:
        return False
    return all(name in names or have.intervals(name[0]) == ((1, 65535),) for name in _named(rule))


class _Terms(dict[LabelSelector, frozenset[object]]):
    """The terms of selectors, shared by equal selectors: ``wide`` selects a superset of what ``narrow``
    selects when its terms are a subset of ``narrow``'s (a matchLabels pair never equals a Requirement)."""

    def __missing__(self, selector: LabelSelector) -> frozenset[object]:
        found = self[selector] = frozenset((*selector.match_labels, *selector.match_expressions))
        return found


_MAX_SUBSET_TERMS = 10  # above this many terms, a selector's wider selectors are found by a scan


class _WiderIndex:
    """Items (policies or grants) of one namespace by their policy's selector terms, in their given order.

    ``wider(selector)`` lists, in order, the items whose policy selects a superset of what ``selector``
    selects (the :func:`selects_superset` relation), found by looking up the subsets of the selector's
    terms instead of comparing with every item.
    """

    def __init__(self, items: list[tuple[LabelSelector, object]], terms: _Terms):
        self._items = items
        self._terms = terms
        self._by_terms: dict[frozenset[object], list[int]] = {}
        for position, (selector, _) in enumerate(items):
            self._by_terms.setdefault(terms[selector], []).append(position)
        self._cache: dict[frozenset[object], list[object]] = {}

    def wider(self, selector: LabelSelector) -> list[object]:
        terms = self._terms[selector]
        found = self._cache.get(terms)
        if found is None:
            if len(terms) > _MAX_SUBSET_TERMS:
                found = [item for wide, item in self._items if selects_superset(wide, selector)]
            else:
                positions: list[int] = []
                listed = list(terms)
                by_terms = self._by_terms
                for size in range(len(listed) + 1):
                    for subset in combinations(listed, size):
                        hit = by_terms.get(frozenset(subset))
                        if hit is not None:
                            positions.extend(hit)
                positions.sort()
                items = self._items
                found = [items[position][1] for position in positions]
            self._cache[terms] = found
        return found


@dataclass
class _Check:
    """The outcome of comparing one rule with the others on one pod class."""

    allows: bool = False  # the rule allows something there
    covered: bool = True
    helpers: set[int] = field(default_factory=set)  # grant indexes that cover it


def _partition(bits: int, others: Sequence[Grant], attr: str) -> list[tuple[int, list[Grant]]]:
    """Split ``bits`` into parts whose members the same grants of ``others`` cover (their ``attr`` bitset).

    Every member of a part is decided alike, so the comparison runs once per part instead of once per
    peer; the parts' cover lists keep the order of ``others``.
    """
    parts: list[tuple[int, list[Grant]]] = [(bits, [])]
    for other in others:
        common = getattr(other, attr) & bits
        if not common:
            continue
        split: list[tuple[int, list[Grant]]] = []
        for part, covering in parts:
            inside = part & common
            if not inside:
                split.append((part, covering))
                continue
            if inside != part:
                split.append((part ^ inside, covering))
            split.append((inside, [*covering, other]))
        parts = split
    return parts


class Redundancy:
    """Which policies (NPS602) and then which rules (NPS601) can go without changing what is allowed.

    The decisions are those of the rules' definition (module docstring); the work is indexed so that it
    follows the number of policies and distinct peer groups, not of policy pairs or peers:

    * covering candidates come from an index of each namespace's policies and grants by selector terms
      (``_WiderIndex``), computed once per distinct selector;
    * a rule's peers (and external segments) are split into parts covered by the same other grants
      (``_partition``), and further by the container ports named ports resolve on, and each part is
      compared once;
    * per (rule, destination ports) port sets, unknown peers and selected classes are cached.
    """

    def __init__(
        self,
        inventory: Inventory,
        selection: Selection,
        is_open: OpenPeer,
        incomplete_namespaces: frozenset[str],
    ) -> None:
        self.inventory = inventory
        self.selection = selection
        self.is_open = is_open
        self.incomplete_namespaces = incomplete_namespaces
        self.conn: Connectivity = connectivity(inventory)
        self.removed_policies: set[int] = set()
        self.removed_grants: set[tuple[str, int]] = set()
        self.policy_findings: list[tuple[NetworkPolicy, str, list[Grant | NetworkPolicy]]] = []
        self.rule_findings: list[tuple[Grant, list[Grant]]] = []
        self._by_policy: dict[tuple[str, int], list[Grant]] = {}
        ns_grants: dict[tuple[str, str], list[tuple[LabelSelector, object]]] = {}
        for direction in DIRECTIONS:
            for grant in self.conn.grants[direction]:
                self._by_policy.setdefault((direction, id(grant.policy)), []).append(grant)
                ns_grants.setdefault((direction, grant.policy.namespace), []).append(
                    (grant.policy.pod_selector, grant)
                )
        self._terms = _Terms()
        self._grant_index = {key: _WiderIndex(items, self._terms) for key, items in ns_grants.items()}
        self._policy_index: dict[str, _WiderIndex] = {}
        self._types: dict[int, frozenset[str]] = {
            id(policy): frozenset(t.lower() for t in policy.policy_types) for policy in inventory.policies
        }
        self._named_rule: dict[int, bool] = {}
        self._ports_cache: dict[tuple[int, object], PortSet] = {}
        self._unknown_cache: dict[tuple[int, int], list[Peer | None]] = {}
        self._classes_cache: dict[int, list[PodClass]] = {}
        self._port_groups: list[tuple[tuple[ContainerPort, ...], int]] | None = None
        self._group_of: list[int] = []
        self._decide_policies()
        self._decide_rules()
        # the result is kept on the inventory for both rules; the working indexes are not
        self._grant_index.clear()
        self._policy_index.clear()
        self._terms.clear()
        self._ports_cache.clear()
        self._unknown_cache.clear()
        self._classes_cache.clear()
        self._named_rule.clear()
        self._by_policy.clear()
        self._types.clear()

    # --- indexes and caches ------------------------------------------------------------------------

    def _wider_grants(self, direction: str, policy: NetworkPolicy) -> list[Grant]:
        """Grants of ``direction`` from policies of ``policy``'s namespace selecting every pod it does."""
        index = self._grant_index.get((direction, policy.namespace))
        return index.wider(policy.pod_selector) if index is not None else []  # type: ignore[return-value]

    def _wider_policies(self, policy: NetworkPolicy) -> list[NetworkPolicy]:
        """Policies of ``policy``'s namespace (inventory order) selecting every pod it does."""
        index = self._policy_index.get(policy.namespace)
        if index is None:
            index = self._policy_index[policy.namespace] = _WiderIndex(
                [
                    (q.pod_selector, q)
                    for q in self.inventory.policies_in(policy.namespace)
                    if q.namespace == policy.namespace
                ],
                self._terms,
            )
        return index.wider(policy.pod_selector)  # type: ignore[return-value]

    def _kept_grants(self, direction: str, cls: PodClass, policy: NetworkPolicy) -> list[Grant]:
        """Grants still kept that apply to ``cls`` and come from policies selecting every pod ``policy`` does."""
        removed_policies, removed_grants, index = self.removed_policies, self.removed_grants, cls.index
        return [
            g
            for g in self._wider_grants(direction, policy)
            if g.selected >> index & 1
            and id(g.policy) not in removed_policies
            and (direction, g.index) not in removed_grants
        ]

    def _is_named(self, rule: PolicyRule) -> bool:
        found = self._named_rule.get(id(rule))
        if found is None:
            found = self._named_rule[id(rule)] = any(spec.is_named for spec in rule.ports)
        return found

    def _rule_ports(self, rule: PolicyRule, destination_ports: tuple[ContainerPort, ...] | None) -> PortSet:
        """``rule_ports``, cached per rule and (when the rule names ports) destination ports."""
        key: tuple[int, object] = (id(rule), destination_ports if self._is_named(rule) else ())
        found = self._ports_cache.get(key)
        if found is None:
            found = self._ports_cache[key] = rule_ports(rule, destination_ports)
        return found

    def _destination_groups(self, bits: int) -> list[tuple[ContainerPort, ...]]:
        """The distinct container ports of the classes in ``bits``."""
        if self._port_groups is None:
            masks: dict[tuple[ContainerPort, ...], int] = {}
            positions: dict[tuple[ContainerPort, ...], int] = {}
            for cls in self.conn.classes:
                masks[cls.ports] = masks.get(cls.ports, 0) | 1 << cls.index
                self._group_of.append(positions.setdefault(cls.ports, len(positions)))
            self._port_groups = list(masks.items())
        groups = self._port_groups
        if bits.bit_count() <= len(groups):
            group_of = self._group_of
            return [groups[g][0] for g in dict.fromkeys(group_of[i] for i in iter_bits(bits))]
        return [ports for ports, mask in groups if mask & bits]

    def _unknown(self, policy: NetworkPolicy, rule: PolicyRule) -> list[Peer | None]:
        key = (id(policy), id(rule))
        found = self._unknown_cache.get(key)
        if found is None:
            found = self._unknown_cache[key] = _unknown_peers(self.is_open, policy, rule)
        return found

    # --- comparison --------------------------------------------------------------------------------

    @staticmethod
    def _need_met(result: _Check, need: PortSet, covering: list[tuple[Grant, PortSet]]) -> bool:
        """Record whether ``covering`` allows every port of ``need``; False when it does not."""
        if not need:
            return True
        result.allows = True
        have = NO_PORTS
        for other, ports in covering:
            if ports & need:
                result.helpers.add(other.index)
                have = have | ports
        if need - have:
            result.covered = False
            return False
        return True

    def _compare(self, grant: Grant, cls: PodClass, others: Sequence[Grant]) -> _Check:
        conn, rule, direction = self.conn, grant.rule, grant.direction
        result = _Check()
        if (
            direction == "ingress"
            and grant.policy.namespace in self.incomplete_namespaces
            and any(spec.is_named for r in (rule, *(o.rule for o in others)) for spec in r.ports)
        ):
            result.covered = False  # named ports may resolve otherwise on the pods the input lacks
            return result
        rule_ports_, need_met = self._rule_ports, self._need_met

        if grant.peers:
            for bits, covering in _partition(grant.peers, others, "peers"):
                if direction == "ingress":
                    destinations: list[tuple[ContainerPort, ...]] = [cls.ports]
                elif self._is_named(rule) or any(self._is_named(o.rule) for o in covering):
                    destinations = self._destination_groups(bits)
                else:
                    destinations = [conn.classes[(bits & -bits).bit_length() - 1].ports]
                for ports in destinations:
                    need = rule_ports_(rule, ports)
                    if need and not need_met(
                        result, need, [(o, rule_ports_(o.rule, ports)) for o in covering]
                    ):
                        return result
        if grant.external:
            ext_ports = cls.ports if direction == "ingress" else None
            need = rule_ports_(rule, ext_ports)
            if need:
                for _, covering in _partition(grant.external, others, "external"):
                    if not need_met(result, need, [(o, rule_ports_(o.rule, ext_ports)) for o in covering]):
                        return result
        for peer in self._unknown(grant.policy, rule):
            result.allows = True
            covering_grants = [
                o
                for o in others
                if o.rule.all_peers or (peer is not None and any(_peer_covers(q, peer) for q in o.rule.peers))
            ]
            if direction == "ingress":
                need = rule_ports_(rule, cls.ports)
                have = NO_PORTS
                for o in covering_grants:
                    have = have | rule_ports_(o.rule, cls.ports)
                ok = not (need - have)
            else:
                ok = _ports_cover_unknown(rule, [o.rule for o in covering_grants])
            if not ok:
                result.covered = False
                return result
            result.helpers.update(o.index for o in covering_grants)
        return result

    def _classes(self, policy: NetworkPolicy) -> list[PodClass]:
        found = self._classes_cache.get(id(policy))
        if found is None:
            seen: dict[int, PodClass] = {}
            for workload in self.selection.selected(policy):
                cls = self.conn.class_of(workload)
                seen.setdefault(cls.index, cls)
            found = self._classes_cache[id(policy)] = list(seen.values())
        return found

    def _grants_of(self, policy: NetworkPolicy, direction: str) -> list[Grant]:
        return self._by_policy.get((direction, id(policy)), [])

    # --- decisions ---------------------------------------------------------------------------------

    def _decide_policies(self) -> None:
        policies = self.inventory.policies
        types = self._types
        for policy in reversed(policies):
            classes = self._classes(policy)
            if not classes:
                continue  # NPS502's business
            helpers: list[Grant | NetworkPolicy] = []
            redundant = True
            for direction in DIRECTIONS:
                if direction not in types[id(policy)]:
                    continue
                isolating = next(
                    (
                        q
                        for q in self._wider_policies(policy)
                        if q is not policy
                        and id(q) not in self.removed_policies
                        and direction in types[id(q)]
                    ),
                    None,
                )
                if isolating is None:
                    redundant = False
                    break
                helpers.append(isolating)
                for grant in self._grants_of(policy, direction):
                    allows = False
                    for cls in classes:
                        others = [
                            g for g in self._kept_grants(direction, cls, policy) if g.policy is not policy
                        ]
                        check_ = self._compare(grant, cls, others)
                        if not check_.covered:
                            redundant = False
                            break
                        allows = allows or check_.allows
                        helpers.extend(g for g in others if g.index in check_.helpers)
                    if not allows:
                        redundant = False  # a rule allowing nothing at all: NPS503/NPS504 speak
                    if not redundant:
                        break
                if not redundant:
                    break
            if redundant:
                self.removed_policies.add(id(policy))
                self.policy_findings.append((policy, "", helpers))
        self.policy_findings.reverse()

    def _decide_rules(self) -> None:
        order = [
            (direction, grant)
            for policy in self.inventory.policies
            if id(policy) not in self.removed_policies
            for direction in DIRECTIONS
            for grant in self._grants_of(policy, direction)
        ]
        for direction, grant in reversed(order):
            classes = self._classes(grant.policy)
            if not classes:
                continue
            allows = False
            covered = True
            helpers: list[Grant] = []
            listed: set[int] = set()
            for cls in classes:
                others = [g for g in self._kept_grants(direction, cls, grant.policy) if g is not grant]
                check_ = self._compare(grant, cls, others)
                if not check_.covered:
                    covered = False
                    break
                allows = allows or check_.allows
                for g in others:
                    if g.index in check_.helpers and g.index not in listed:
                        listed.add(g.index)
                        helpers.append(g)
            if covered and allows:
                self.removed_grants.add((direction, grant.index))
                self.rule_findings.append((grant, helpers))
        self.rule_findings.reverse()
