"""Exposure (``connectivity --exposure``) where cluster policies decide: ClusterNetworkPolicy, ANP, BANP.

For a workload that a tiered policy selects in a direction, the connection to a representative peer
(pods the input may lack, see :mod:`netpolscan.analysis.exposure`) or to ``entire-cluster`` is decided
the way the engine decides a real peer, tier by tier: a rule counts for a representative when its peer
contains every pod the representative stands for; the first such rule of the walk decides its ports
(allow, deny, or pass to the next tier); NetworkPolicy v1 decides what reaches the namespace tier for
the pods it isolates (its rules' ports towards the representative, the rest denied); what no tier
decides is allowed by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netpolscan.analysis.connectivity import Connectivity
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.analysis.tiers import spec_ports
from netpolscan.model.objects import NetworkPolicy, Workload
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector, parse_selector
from netpolscan.model.tiers import ALLOW, DENY, PASS, AnyOf, Everything, PeerExpr, Pods, TierPolicy, TierRule

_EMPTY = LabelSelector()


def _selector(raw: Any) -> LabelSelector | None:
    found, problems = parse_selector(raw if raw is not None else {}, ())
    return None if problems else found


def raw_peers(
    policy: TierPolicy, rule: TierRule, direction: str
) -> Iterator[tuple[LabelSelector, LabelSelector, Any, Any]]:
    """(namespace selector, pod selector, raw namespace selector, raw pod selector) of each
    ``namespaces``/``pods`` peer of a cluster policy rule, read from its manifest."""
    raw: Any = policy.document.data
    for part in rule.pointer:
        if isinstance(raw, dict) and isinstance(part, str):
            raw = raw.get(part)
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            return
    peers = raw.get("from" if direction == "ingress" else "to") if isinstance(raw, dict) else None
    for peer in peers if isinstance(peers, list) else ():
        if not isinstance(peer, dict):
            continue
        if "namespaces" in peer:
            ns = _selector(peer["namespaces"])
            if ns is not None:
                yield ns, _EMPTY, peer["namespaces"], None
        elif isinstance(peer.get("pods"), dict):
            ns = _selector(peer["pods"].get("namespaceSelector"))
            pods = _selector(peer["pods"].get("podSelector"))
            if ns is not None and pods is not None:
                yield ns, pods, peer["pods"].get("namespaceSelector"), peer["pods"].get("podSelector")


def _contains_selector(outer: object | None, inner: LabelSelector) -> bool:
    from netpolscan.analysis.exposure import selector_contains

    if outer is None:
        return True
    if not isinstance(outer, LabelSelector):
        return False
    return selector_contains(outer, inner)


def expr_contains(
    expr: PeerExpr, namespace: str | None, ns_selector: LabelSelector | None, pods: LabelSelector
) -> bool:
    """Whether every pod of the representative (a namespace name or a namespace selector, and a pod
    selector) matches the peer expression of a tiered rule."""
    if isinstance(expr, Everything):
        return True
    if isinstance(expr, AnyOf):
        return any(expr_contains(item, namespace, ns_selector, pods) for item in expr.items)
    if not isinstance(expr, Pods):
        return False
    if not _contains_selector(expr.pod_selector, pods):
        return False
    if expr.namespace_names is not None and (namespace is None or namespace not in expr.namespace_names):
        return False
    if expr.namespace_selector is None:
        return True
    if namespace is not None:
        return _contains_selector(expr.namespace_selector, LabelSelector(((NAME_LABEL, namespace),)))
    return _contains_selector(expr.namespace_selector, ns_selector or _EMPTY)


def tiered_conn(
    conn: Connectivity,
    workload: Workload,
    direction: str,
    namespace: str | None,
    ns_selector: LabelSelector | None,
    pods: LabelSelector,
    np_ports: PortSet | None,
) -> tuple[PortSet, frozenset[tuple[str, str]]]:
    """Ports allowed between ``workload`` and the representative in ``direction`` after every tier, and
    the named ports (egress) that allow rules open on pods the input lacks, which no pod resolves here.

    ``np_ports``: what the workload's NetworkPolicies allow towards the representative when they isolate
    it for ``direction`` (None: they do not)."""
    assert conn.tiered is not None
    owner = conn.class_of(workload).index
    undecided, allowed = ALL_PORTS, NO_PORTS
    named: set[tuple[str, str]] = set()
    destination = workload.ports if direction == "ingress" else None
    for _tier, steps, end in conn.tiered._tier_plan(direction, owner):
        passed = NO_PORTS
        namespace_tier = False
        for step in steps:
            if isinstance(step.policy, NetworkPolicy):
                namespace_tier = True
                continue
            rule = step.rule
            assert isinstance(rule, TierRule)
            if not expr_contains(rule.peers, namespace, ns_selector, pods):
                continue
            ports = spec_ports(rule.ports, destination)
            if rule.except_ports:
                ports = ports - spec_ports(rule.except_ports, destination)
            matched = undecided & ports
            undecided = undecided - matched
            if step.action == ALLOW:
                allowed = allowed | matched
                if direction == "egress" and undecided:
                    named.update(_named_ports(rule))
            elif step.action == PASS:
                passed = passed | matched
        if (namespace_tier or end == DENY) and np_ports is not None:
            allowed = allowed | (undecided & np_ports)
            undecided = NO_PORTS
        elif end == DENY:
            undecided = NO_PORTS
        undecided = undecided | passed
    return allowed | undecided, frozenset(named)


def _named_ports(rule: TierRule) -> set[tuple[str, str]]:
    """(protocol, name) of a rule's named ports; a name given for every protocol (a cluster policy's
    ``namedPort``, which does not say one) has the protocol ``""``."""
    by_name: dict[str, set[str]] = {}
    for spec in rule.ports:
        if spec.is_named:
            by_name.setdefault(str(spec.port), set()).add(spec.protocol)
    found: set[tuple[str, str]] = set()
    for name, protocols in by_name.items():
        if protocols >= {"TCP", "UDP", "SCTP"}:
            found.add(("", name))
        else:
            found.update((protocol, name) for protocol in protocols)
    return found
