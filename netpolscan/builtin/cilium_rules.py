"""NPS805-806: what netpolscan cannot see of a rule at L3/L4 (domain names, Cilium's L7 sections).

The Cilium checks read the Cilium policies as the kind parsed them (``netpolscan.policykinds.cilium``), so
they point at the ``toFQDNs`` entry or the ``rules`` section itself; NPS805 also reads the
``domainNames`` peers of ClusterNetworkPolicies (and v1alpha1 AdminNetworkPolicies) from the tier model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from netpolscan.analysis.addresses import iter_bits
from netpolscan.analysis.connectivity import Connectivity, connectivity
from netpolscan.builtin.correctness_rules import UDP_DNS, may_reach_dns
from netpolscan.builtin.helpers import document_ref
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import Workload
from netpolscan.model.tiers import ALLOW, Named, PeerExpr, Pods, TierPolicy, TierRule, walk_expression
from netpolscan.plugin_api import Violation
from netpolscan.sources.document import Pointer, value_at

if TYPE_CHECKING:  # the kind's module is imported when a scan holds Cilium policies, not at start-up
    from netpolscan.policykinds.cilium import CiliumRule, CiliumSpec

CILIUM_KIND = "cilium"  # CiliumPolicyKind.name

DNS_PROXY_HINT = (
    "add an egress rule to the cluster DNS on 53 (protocol ANY) with `rules: {dns: [{matchPattern: '*'}]}` "
    "to a Cilium policy selecting these pods"
)


def cilium_specs(ctx: ScanContext) -> list[CiliumSpec]:
    """Every evaluated rule (``spec``/``specs`` entry) of the Cilium policies of the input."""
    found = ctx.inventory.parsed.kind_objects.get(CILIUM_KIND, [])
    if not found:
        return []
    from netpolscan.policykinds.cilium import CiliumPolicy

    return [spec for policy in found if isinstance(policy, CiliumPolicy) for spec in policy.specs]


def _where(spec: CiliumSpec) -> str:
    return f"{spec.kind} {spec.namespace}/{spec.name}" if spec.namespace else f"{spec.kind} {spec.name}"


def _has_dns_proxy(spec: CiliumSpec) -> bool:
    return any(
        section.kind == "dns" for rule in spec.rules if rule.direction == "egress" for section in rule.l7
    )


def _covers(wider: PeerExpr, subject: PeerExpr) -> bool:
    """Whether ``wider`` selects every pod that ``subject`` may select, on the policies alone."""
    if wider == subject:
        return True
    if not isinstance(wider, Pods) or not isinstance(subject, Pods) or wider.namespace_selector is not None:
        return False
    if wider.pod_selector is not None and not getattr(wider.pod_selector, "is_empty", False):
        return False
    if wider.namespace_names is None:
        return True
    return subject.namespace_names is not None and subject.namespace_names <= wider.namespace_names


def _names_unseen(rule: CiliumRule, known: Mapping[str, object]) -> bool:
    """Whether a rule names pods of a namespace the input does not hold (their DNS pods are real)."""
    return any(
        isinstance(part, Pods) and (part.namespace_names is None or not part.namespace_names <= set(known))
        for part in rule.parts
    )


def _reaches_dns(conn: Connectivity, workload: Workload) -> bool:
    """Whether the effective egress of ``workload`` allows 53/UDP to some address or pod (a destination
    known only by name does not count: its addresses come from DNS)."""
    index = conn.class_of(workload).index
    if conn.tiered is not None and conn.decided_by_tiers(workload, "egress"):
        return bool(conn.tiered.reaches("egress", index, UDP_DNS, named=False))
    reachable = conn.external_ports(workload, "egress") | conn.unnamed_peer_ports(workload, "egress")
    for _bits, ports in conn.peer_parts(workload, "egress"):
        reachable = reachable | ports
    return reachable.contains("UDP", 53)


def _names(conn: Connectivity, bits: int) -> str:
    workloads = [w for index in iter_bits(bits) for w in conn.classes[index].members]
    shown = [f"{w.kind} {w.namespace}/{w.name}" for w in workloads[:3]]
    more = f" and {len(workloads) - 3} more" if len(workloads) > 3 else ""
    return ", ".join(shown) + more


class _DnsView:
    """Which pod classes a DNS proxy rule selects, and which may reach DNS at all (computed once)."""

    def __init__(self, conn: Connectivity, proxies: list[CiliumSpec]) -> None:
        self.conn = conn
        self.proxies = proxies
        self.proxied = 0
        self.unseen = 0  # pods whose DNS proxy rule names pods the input lacks (kube-system unscanned)
        known = conn.inventory.namespaces
        for spec in proxies:
            bits = self.subject_bits(spec)
            self.proxied |= bits
            if any(
                _names_unseen(rule, known) for rule in spec.rules if any(s.kind == "dns" for s in rule.l7)
            ):
                self.unseen |= bits
        self._reach: dict[int, bool] = {}

    def subject_bits(self, spec: CiliumSpec) -> int:
        engine = self.conn.tiered
        return engine.bits(spec.subject, "egress")[0] if engine is not None else 0

    def blocked(self, bits: int) -> int:
        """The classes of ``bits`` that may reach 53/UDP nowhere (DNS the input lacks given the benefit)."""
        found = 0
        for index in iter_bits(bits & ~self.unseen):
            members = self.conn.classes[index].members
            reach = self._reach.get(index)
            if reach is None:
                reach = self._reach[index] = not members or _reaches_dns(self.conn, members[0])
            if not reach:
                found |= 1 << index
        return found

    def problem(self, spec: CiliumSpec) -> str | None:
        """Why the domain names of ``spec`` cannot resolve (None: they can, as far as the input shows)."""
        bits = self.subject_bits(spec)
        if not bits:  # no pod of the input: judge by the policies alone
            if any(_covers(other.subject, spec.subject) for other in self.proxies):
                return None
            return "no Cilium egress rule with `rules: dns` (the DNS proxy) selects its pods"
        without_proxy = bits & ~self.proxied
        if without_proxy:
            names = _names(self.conn, without_proxy)
            return f"no Cilium egress rule with `rules: dns` (the DNS proxy) selects {names}"
        blocked = self.blocked(bits)
        if blocked:
            return f"{_names(self.conn, blocked)} may not reach DNS (53/UDP) at all"
        return None


CLUSTER_POLICY_KINDS = ("ClusterNetworkPolicy", "AdminNetworkPolicy")  # the kinds with ``domainNames``


def _domain_rules(ctx: ScanContext) -> list[tuple[TierPolicy, TierRule, list[str]]]:
    """Egress Accept rules of cluster policies with ``domainNames`` peers, and the names."""
    found = []
    for policy in ctx.inventory.tier_policies:
        if policy.kind not in CLUSTER_POLICY_KINDS:
            continue
        for rule in policy.egress:
            names = [
                part.name.removeprefix("fqdn:")
                for part in walk_expression(rule.peers)
                if isinstance(part, Named) and part.name.startswith("fqdn:")
            ]
            if names and rule.action == ALLOW:
                found.append((policy, rule, names))
    return found


def _domain_peer(policy: TierPolicy, rule: TierRule) -> Pointer:
    """The pointer of the rule's first ``to`` peer with ``domainNames`` (the rule itself if not found)."""
    peers = value_at(policy.document.data, (*rule.pointer, "to"))
    for index, peer in enumerate(peers if isinstance(peers, list) else []):
        if isinstance(peer, dict) and "domainNames" in peer:
            return (*rule.pointer, "to", index, "domainNames")
    return rule.pointer


def _domain_names_without_dns(ctx: ScanContext, conn: Connectivity) -> Iterator[Violation]:
    """NPS805 for ``domainNames``: the implementation resolves the names from the pods' own DNS traffic, so
    pods that may reach DNS nowhere (as NPS501 decides it) never match the rule. Judged on the pods of the
    input only."""
    engine = conn.tiered
    if engine is None:
        return
    for policy, rule, names in _domain_rules(ctx):
        subject = rule.subject if rule.subject is not None else policy.subject
        blocked = sum(
            1 << index
            for index in iter_bits(engine.bits(subject, "egress")[0])
            if conn.classes[index].members and not may_reach_dns(ctx, conn, index)
        )
        if not blocked:
            continue
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        label = rule.name or f"egress rule {rule.number}"
        yield Violation(
            f"{policy.kind} {policy.name} {label} allows domain names ({shown}) but {_names(conn, blocked)} "
            "may not reach DNS (53/UDP) at all: a domain name matches only the addresses the pods' own DNS "
            "answers returned, so the rule never matches; allow egress to the cluster DNS on 53/UDP and 53/TCP",
            policy.document,
            _domain_peer(policy, rule),
            policy.ref,
            key=f"{rule.number}",
        )


@check("NPS805")
def fqdn_rule_without_dns(ctx: ScanContext) -> Iterator[Violation]:
    specs = cilium_specs(ctx)
    with_fqdns = [(spec, rule) for spec in specs for rule in spec.rules if rule.fqdns]
    domain_rules = any(p.kind in CLUSTER_POLICY_KINDS for p in ctx.inventory.tier_policies)
    if not with_fqdns and not domain_rules:
        return
    conn = connectivity(ctx.inventory)
    if domain_rules:
        yield from _domain_names_without_dns(ctx, conn)
    view = _DnsView(conn, [spec for spec in specs if _has_dns_proxy(spec)])
    for spec, rule in with_fqdns:
        problem = view.problem(spec)
        if problem is None:
            continue
        names = ", ".join(name for name, _ in rule.fqdns[:3]) + (" ..." if len(rule.fqdns) > 3 else "")
        yield Violation(
            f"{_where(spec)} egress rule {rule.number} allows domain names ({names}) but {problem}: Cilium "
            "learns the addresses of a name only from the DNS answers its proxy sees, so the rule never "
            "matches; " + DNS_PROXY_HINT,
            spec.document,
            (*rule.pointer, "toFQDNs"),
            document_ref(spec.document, ctx.inventory.default_namespace),
            key=f"{spec.index}:{rule.number}",
        )


@check("NPS806")
def l7_rules_checked_at_l4(ctx: ScanContext) -> Iterator[Violation]:
    for spec in cilium_specs(ctx):
        for rule in spec.rules:
            yield from _l7_findings(ctx, spec, rule)


def _l7_findings(ctx: ScanContext, spec: CiliumSpec, rule: CiliumRule) -> Iterator[Violation]:
    for section in rule.l7:
        ports = ", ".join(dict.fromkeys(str(port) for port in section.ports)) or "every port"
        answer = "DNS REFUSED" if section.kind == "dns" else "an access-denied answer (HTTP 403)"
        yield Violation(
            f"{_where(spec)} {rule.direction} rule {rule.number} carries L7 {section.kind} rules on {ports}: "
            f"netpolscan checks it at L4, as these ports open to the rule's peers; Cilium's proxy also "
            f"filters each request and answers a refused one with {answer}",
            spec.document,
            section.pointer,
            document_ref(spec.document, ctx.inventory.default_namespace),
            key=f"{spec.index}:{rule.direction}:{rule.number}:{section.pointer}",
        )
