"""NPS201-NPS304 for policy kinds beyond NetworkPolicy v1: the allow rules of ClusterNetworkPolicy,
AdminNetworkPolicy, BaselineAdminNetworkPolicy, Cilium and Calico policies, judged on their peer
expressions (``netpolscan.model.tiers``) the way ``ingress_rules``/``egress_rules`` judge NetworkPolicy
peers. Only rules that allow count: a Deny or Pass rule opens nothing.

Each ``@check`` of those modules calls the matching function below, so a rule id keeps one check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netpolscan.context import ScanContext
from netpolscan.model.objects import IPBlock
from netpolscan.model.tiers import (
    ALLOW,
    DENY,
    AnyOf,
    Everything,
    Network,
    PeerExpr,
    Pods,
    TierPolicy,
    TierRule,
    World,
)
from netpolscan.plugin_api import Violation

METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


def _label(policy: TierPolicy, direction: str, rule: TierRule) -> str:
    where = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
    named = f" ({rule.name})" if rule.name else ""
    return f"{policy.kind} {where} {direction} rule {rule.number}{named}"


def _ports(rule: TierRule) -> str:
    if rule.all_ports:
        return "every port"
    shown = ", ".join(str(spec) for spec in rule.ports) or "every port"
    if rule.except_ports:
        shown += " except " + ", ".join(str(spec) for spec in rule.except_ports)
    return shown


def _allow_rules(ctx: ScanContext, direction: str) -> Iterator[tuple[TierPolicy, TierRule]]:
    for policy in ctx.inventory.tier_policies:
        for rule in policy.rules(direction):
            if rule.action == ALLOW:
                yield policy, rule


def _alternatives(expr: PeerExpr) -> Iterator[PeerExpr]:
    """The ORed parts of a peer expression (an intersection or negation is judged as a whole)."""
    if isinstance(expr, AnyOf):
        for item in expr.items:
            yield from _alternatives(item)
    else:
        yield expr


def _matches_all(matcher: object | None) -> bool:
    if matcher is None:
        return True
    is_empty = getattr(matcher, "is_empty", None)
    return bool(is_empty) if not callable(is_empty) else bool(is_empty())


def _all_pods(expr: PeerExpr) -> bool:
    return (
        isinstance(expr, Pods)
        and expr.namespace_names is None
        and _matches_all(expr.namespace_selector)
        and _matches_all(expr.pod_selector)
    )


def _anywhere(expr: PeerExpr) -> bool:
    parts = list(_alternatives(expr))
    if any(isinstance(p, Everything) for p in parts):
        return True
    world = any(isinstance(p, World) for p in parts)
    return world and any(_all_pods(p) for p in parts)


def _blocks(expr: PeerExpr) -> Iterator[IPBlock]:
    for part in _alternatives(expr):
        if isinstance(part, Network):
            yield part.block


def anywhere(ctx: ScanContext, direction: str) -> Iterator[Violation]:
    """NPS201 (ingress) / NPS301 (egress, every port): an allow rule whose peers are every endpoint."""
    for policy, rule in _allow_rules(ctx, direction):
        if not _anywhere(rule.peers) or (direction == "egress" and not rule.all_ports):
            continue
        if direction == "ingress":
            text = (
                f"{_label(policy, direction, rule)} allows every source on {_ports(rule)}: every pod of every "
                "namespace and any address outside the cluster may connect to the pods it selects"
            )
        else:
            text = (
                f"{_label(policy, direction, rule)} allows every destination on every port: the pods it "
                "selects may connect to any pod, any internet address and the cloud metadata service"
            )
        yield Violation(text + "; name the peers it should allow", policy.document, rule.pointer, policy.ref)


def all_namespaces(ctx: ScanContext, direction: str) -> Iterator[Violation]:
    """NPS202 (ingress) / NPS304 (egress): an allow rule with a peer that is every pod of every namespace."""
    for policy, rule in _allow_rules(ctx, direction):
        if _anywhere(rule.peers) or not any(_all_pods(p) for p in _alternatives(rule.peers)):
            continue
        towards = "may be reached from" if direction == "ingress" else "may connect to"
        yield Violation(
            f"{_label(policy, direction, rule)} has a peer that matches every pod of every namespace: the "
            f"pods it selects {towards} all of them on {_ports(rule)}; name the namespaces and pods",
            policy.document,
            rule.pointer,
            policy.ref,
        )


def internet(ctx: ScanContext, direction: str) -> Iterator[Violation]:
    """NPS203 (ingress: public addresses) / NPS302 (egress: a whole address family or the world)."""
    from netpolscan.builtin.ingress_rules import public_ranges

    for policy, rule in _allow_rules(ctx, direction):
        if _anywhere(rule.peers):
            continue  # NPS201/NPS301 speak for it
        parts = list(_alternatives(rule.peers))
        world = any(isinstance(p, World) for p in parts)
        for block in _blocks(rule.peers):
            if direction == "ingress" and public_ranges(block):
                world = True
            elif direction == "egress" and block.cidr.prefixlen == 0:
                world = True
        if not world:
            continue
        what = "sources on the internet" if direction == "ingress" else "every internet address"
        yield Violation(
            f"{_label(policy, direction, rule)} allows {what} on {_ports(rule)}; allow only the address "
            "ranges or names it needs",
            policy.document,
            rule.pointer,
            policy.ref,
        )


def _opens_tcp_80(rule: TierRule) -> bool:
    return rule.all_ports or any(
        spec.protocol == "TCP"
        and (
            spec.port is None
            or (isinstance(spec.port, int) and spec.port <= 80 <= (spec.end_port or spec.port))
        )
        for spec in rule.ports
    )


def _holds(rule: TierRule, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the rule's peers include ``address`` (the world, everything, or a CIDR holding it)."""
    return any(isinstance(p, World | Everything) for p in _alternatives(rule.peers)) or any(
        block.contains(address) for block in _blocks(rule.peers)
    )


def _metadata_closed(
    ctx: ScanContext,
    policy: TierPolicy,
    rule: TierRule,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> bool:
    """Whether the effective verdict (every kind and tier: a Deny rule first, a Cilium ``egressDeny``)
    keeps every pod of the input that the rule applies to from TCP 80 at ``address``; when the input holds
    none of its pods, whether a deny rule of the same policy that comes first does."""
    from netpolscan.analysis.addresses import iter_bits
    from netpolscan.analysis.connectivity import connectivity

    conn = connectivity(ctx.inventory)
    engine = conn.tiered
    if engine is None:
        return False
    subject = rule.subject if rule.subject is not None else policy.subject
    classes = [conn.classes[index] for index in iter_bits(engine.bits(subject, "egress")[0])]
    pods = [cls.members[0] for cls in classes if cls.members]
    if not pods:  # judged on the policy: a deny rule of its own that comes first
        return any(
            other.action == DENY
            and (other.precedence, other.number) < (rule.precedence, rule.number)
            and _opens_tcp_80(other)
            and _holds(other, address)
            for other in policy.egress
        )
    return not any(conn.allowed(pod, address).contains("TCP", 80) for pod in pods)


def metadata(ctx: ScanContext) -> Iterator[Violation]:
    """NPS303: an egress allow rule whose peers include the cloud metadata address on TCP 80."""
    for policy, rule in _allow_rules(ctx, "egress"):
        if _anywhere(rule.peers) and rule.all_ports:
            continue  # NPS301's message names the metadata service
        if not _opens_tcp_80(rule):
            continue
        hit = next((address for address in METADATA if _holds(rule, address)), None)
        if hit is None or _metadata_closed(ctx, policy, rule, hit):
            continue
        yield Violation(
            f"{_label(policy, 'egress', rule)} allows the cloud metadata service {hit}: pods can read node "
            f"credentials; exclude {hit}/{32 if hit.version == 4 else 128} (a Deny rule first, or an except)",
            policy.document,
            rule.pointer,
            policy.ref,
            key=str(hit),
        )
