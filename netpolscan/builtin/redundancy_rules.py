"""NPS6xx: rules and policies that allow nothing the others do not already allow.

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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from netpolscan.analysis.addresses import iter_bits
from netpolscan.analysis.connectivity import Connectivity, Grant, PodClass, connectivity, rule_ports
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.builtin.correctness_rules import incomplete_namespaces, peer_is_open
from netpolscan.builtin.helpers import policy_label
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.findings import Violation
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule
from netpolscan.model.selectors import LabelSelector

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


def _unknown_peers(ctx: ScanContext, policy: NetworkPolicy, rule: PolicyRule) -> list[Peer | None]:
    """Peers of ``rule`` that stand for endpoints the input cannot show (None: the rule has no from/to)."""
    if rule.all_peers:
        return [None]
    found: list[Peer | None] = []
    for peer in rule.peers:
        if peer.ip_block is not None:
            if peer.ip_block.cidr.version == 6:
                found.append(peer)
        elif (
            peer_is_open(ctx, policy, peer)
        ):
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


@dataclass
class _Check:
    """The outcome of comparing one rule with the others on one pod class."""

    allows: bool = False  # the rule allows something there
    covered: bool = True
    helpers: set[int] = field(default_factory=set)  # grant indexes that cover it


class Redundancy:
    """Which policies (NPS602) and then which rules (NPS601) can go without changing what is allowed."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.conn: Connectivity = connectivity(ctx.inventory)
        self.removed_policies: set[int] = set()
        self.removed_grants: set[tuple[str, int]] = set()
        self.policy_findings: list[tuple[NetworkPolicy, str, list[Grant | NetworkPolicy]]] = []
        self.rule_findings: list[tuple[Grant, list[Grant]]] = []
        self._by_class: dict[str, list[list[Grant]]] = {
            d: [[] for _ in self.conn.classes] for d in DIRECTIONS
        }
        self._by_policy: dict[tuple[str, int], list[Grant]] = {}
        for direction in DIRECTIONS:
            for grant in self.conn.grants[direction]:
                self._by_policy.setdefault((direction, id(grant.policy)), []).append(grant)
                for index in iter_bits(grant.selected):
                    self._by_class[direction][index].append(grant)
        self._decide_policies()
        self._decide_rules()

    # --- comparison --------------------------------------------------------------------------------

    def _kept_grants(self, direction: str, cls: PodClass, policy: NetworkPolicy) -> list[Grant]:
        """Grants still kept that apply to ``cls`` and come from policies selecting every pod ``policy`` does."""
        return [
            g
            for g in self._by_class[direction][cls.index]
            if id(g.policy) not in self.removed_policies
            and (direction, g.index) not in self.removed_grants
            and g.policy.namespace == policy.namespace
            and selects_superset(g.policy.pod_selector, policy.pod_selector)
        ]

    def _compare(self, grant: Grant, cls: PodClass, others: Sequence[Grant]) -> _Check:
        conn, rule, direction = self.conn, grant.rule, grant.direction
        result = _Check()
        if (
            direction == "ingress"
            and grant.policy.namespace in incomplete_namespaces(self.ctx)
            and any(spec.is_named for r in (rule, *(o.rule for o in others)) for spec in r.ports)
        ):
            result.covered = False  # named ports may resolve otherwise on the pods the input lacks
            return result

        def need_met(need: PortSet, covering: list[tuple[Grant, PortSet]]) -> None:
            if not need:
                return
            result.allows = True
            have = NO_PORTS
            for other, ports in covering:
                if ports & need:
                    result.helpers.add(other.index)
                    have = have | ports
            if need - have:
                result.covered = False

        for peer_index in iter_bits(grant.peers):
            destination = cls if direction == "ingress" else conn.classes[peer_index]
            need = rule_ports(rule, destination.ports)
            need_met(
                need,
                [(o, rule_ports(o.rule, destination.ports)) for o in others if o.peers >> peer_index & 1],
            )
            if not result.covered:
                return result
        if grant.external:
            ext_ports = cls.ports if direction == "ingress" else None
            need = rule_ports(rule, ext_ports)
            for segment in iter_bits(grant.external):
                need_met(
                    need, [(o, rule_ports(o.rule, ext_ports)) for o in others if o.external >> segment & 1]
                )
                if not result.covered:
                    return result
        for peer in _unknown_peers(self.ctx, grant.policy, rule):
            result.allows = True
            covering = [
                o
                for o in others
                if o.rule.all_peers or (peer is not None and any(_peer_covers(q, peer) for q in o.rule.peers))
            ]
            if direction == "ingress":
                need = rule_ports(rule, cls.ports)
                have = NO_PORTS
                for o in covering:
                    have = have | rule_ports(o.rule, cls.ports)
                ok = not (need - have)
            else:
                ok = _ports_cover_unknown(rule, [o.rule for o in covering])
            if not ok:
                result.covered = False
                return result
            result.helpers.update(o.index for o in covering)
        return result

    def _classes(self, policy: NetworkPolicy) -> list[PodClass]:
        seen: dict[int, PodClass] = {}
        for workload in self.ctx.selection.selected(policy):
            cls = self.conn.class_of(workload)
            seen.setdefault(cls.index, cls)
        return list(seen.values())

    def _grants_of(self, policy: NetworkPolicy, direction: str) -> list[Grant]:
        return self._by_policy.get((direction, id(policy)), [])

    # --- decisions ---------------------------------------------------------------------------------

    def _decide_policies(self) -> None:
        policies = self.ctx.inventory.policies
        for policy in reversed(policies):
            classes = self._classes(policy)
            if not classes:
                continue  # NPS502's business
            helpers: list[Grant | NetworkPolicy] = []
            redundant = True
            for direction in DIRECTIONS:
                if direction not in (t.lower() for t in policy.policy_types):
                    continue
                isolating = [
                    q
                    for q in self.ctx.inventory.policies_in(policy.namespace)
                    if q is not policy
                    and id(q) not in self.removed_policies
                    and q.namespace == policy.namespace
                    and direction in (t.lower() for t in q.policy_types)
                    and selects_superset(q.pod_selector, policy.pod_selector)
                ]
                if not isolating:
                    redundant = False
                    break
                helpers.append(isolating[0])
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
            for policy in self.ctx.inventory.policies
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
            for cls in classes:
                others = [g for g in self._kept_grants(direction, cls, grant.policy) if g is not grant]
                check_ = self._compare(grant, cls, others)
                if not check_.covered:
                    covered = False
                    break
                allows = allows or check_.allows
                helpers.extend(g for g in others if g.index in check_.helpers and g not in helpers)
            if covered and allows:
                self.removed_grants.add((direction, grant.index))
                self.rule_findings.append((grant, helpers))
        self.rule_findings.reverse()


def redundancy(ctx: ScanContext) -> Redundancy:
    """The scan's redundancy analysis, computed once for NPS601 and NPS602."""
    cached = ctx.inventory.cache.get("redundancy")
    if not isinstance(cached, Redundancy):
        cached = Redundancy(ctx)
        ctx.inventory.cache["redundancy"] = cached
    return cached


def _rule_label(grant: Grant) -> str:
    return f"{policy_label(grant.policy)} {grant.direction} rule {grant.rule.index + 1}"


def _shown(items: list[str], limit: int = 3) -> str:
    unique = list(dict.fromkeys(items))
    return ", ".join(unique[:limit]) + (f" and {len(unique) - limit} more" if len(unique) > limit else "")


@check("NPS601")
def redundant_rule(ctx: ScanContext) -> Iterator[Violation]:
    for grant, helpers in redundancy(ctx).rule_findings:
        policy = grant.policy
        by = (
            _shown([f"rule {h.rule.index + 1}" if h.policy is policy else _rule_label(h) for h in helpers])
            or "the other rules"
        )
        yield Violation(
            f"{_rule_label(grant)} allows nothing that other rules for the same pods do not already allow "
            f"(covered by {by}): delete it, or fix it if it was meant to allow something else",
            policy.document,
            grant.rule.pointer,
            policy.ref,
            key=f"{grant.direction}/{grant.rule.index}",
        )


@check("NPS602")
def redundant_policy(ctx: ScanContext) -> Iterator[Violation]:
    for policy, _, helpers in redundancy(ctx).policy_findings:
        names = _shown(
            [
                f"NetworkPolicy {h.namespace}/{h.name}"
                if isinstance(h, NetworkPolicy)
                else policy_label(h.policy)
                for h in helpers
            ]
        )
        types = " and ".join(t.lower() for t in policy.policy_types)
        yield Violation(
            f"{policy_label(policy)} adds nothing: {names} already isolate(s) its pods for {types} and allow(s) "
            "everything its rules allow; delete it, or fix it if it was meant to do more",
            policy.document,
            (),
            policy.ref,
        )
