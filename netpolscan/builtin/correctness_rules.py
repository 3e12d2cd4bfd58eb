"""NPS5xx: policies that do not do what their author meant (wrong selectors, ports, types, networks)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence

from netpolscan.analysis.connectivity import Connectivity, connectivity, rule_ports
from netpolscan.analysis.ports import PortSet
from netpolscan.analysis.tiers import Step, spec_ports
from netpolscan.builtin.fix_builders import dns_egress_rule, missing_policy_type
from netpolscan.builtin.helpers import close_label, missing_labels, policy_label, reported_workloads
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule, Service, ServicePort, Workload
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import ALLOW, Pods, TierRule, walk_expression
from netpolscan.plugin_api import Violation

DNS_PORT = 53
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _workload_name(workload: Workload) -> str:
    return f"{workload.kind} {workload.namespace}/{workload.name}"


def _names(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _peer_text(peer: Peer) -> str:
    if peer.ip_block is not None:
        return f"ipBlock {peer.ip_block}"
    parts = []
    if peer.namespace_selector is not None:
        parts.append(f"namespaceSelector {peer.namespace_selector}")
    if peer.pod_selector is not None:
        parts.append(f"podSelector {peer.pod_selector}")
    return " + ".join(parts)


def incomplete_namespaces(ctx: ScanContext) -> frozenset[str]:
    """Namespaces whose pods the input evidently lacks: a Service there selects no workload of the input.

    An operator (prometheus-operator, for one) creates such pods from custom resources; claims that a
    selector there matches nothing would be guesses, so the rules make none.
    """
    cached = ctx.inventory.cache.get("incomplete-namespaces")
    if isinstance(cached, frozenset):
        return cached
    found = frozenset(
        service.namespace
        for service in ctx.inventory.services
        if service.selector and not _backends(ctx, service)
    )
    ctx.inventory.cache["incomplete-namespaces"] = found
    return found


def peer_is_open(ctx: ScanContext, policy: NetworkPolicy, peer: Peer) -> bool:
    """Whether a selector peer may stand for pods the input lacks (unscanned or incomplete namespaces)."""
    if peer.ip_block is not None:
        return False
    scope = ctx.selection.peer_scope(policy, peer)
    if scope.unknown_namespaces:
        return True
    incomplete = incomplete_namespaces(ctx)
    if not incomplete:
        return False
    return any(ns.name in incomplete for ns in scope.namespaces)


def _peer_may_match(ctx: ScanContext, policy: NetworkPolicy, peer: Peer) -> bool:
    """Whether a peer can stand for any endpoint: pods of the input, unscanned namespaces, addresses."""
    scope = ctx.selection.peer_scope(policy, peer)
    return scope.external or bool(scope.workloads) or peer_is_open(ctx, policy, peer)


# --- NPS501 ---------------------------------------------------------------------------------------


def _rule_may_allow_dns(ctx: ScanContext, policy: NetworkPolicy, rule: PolicyRule) -> bool:
    """Whether an egress rule may allow UDP 53 to some destination (named ports resolved there)."""
    if not rule.all_ports and not any(spec.protocol == "UDP" for spec in rule.ports):
        return False
    if rule.all_peers:
        if rule.all_ports:
            return True
        # every destination: resolve names on the input's pods; pods outside the input may carry the name
        if any(spec.is_named and spec.protocol == "UDP" for spec in rule.ports):
            return True
        return rule_ports(rule, None).contains("UDP", DNS_PORT)
    for peer in rule.peers:
        scope = ctx.selection.peer_scope(policy, peer)
        open_ = peer_is_open(ctx, policy, peer)
        if not (scope.external or open_ or scope.workloads):
            continue
        if rule.all_ports:
            return True
        if rule_ports(rule, None).contains("UDP", DNS_PORT):  # numbers, any destination
            return True
        named = [spec for spec in rule.ports if spec.is_named and spec.protocol == "UDP"]
        if named and open_:
            return True  # the name may resolve to 53 on pods the input lacks
        for workload in scope.workloads:
            if rule_ports(rule, workload.ports).contains("UDP", DNS_PORT):
                return True
    return False


@check("NPS501")
def egress_isolation_blocks_dns(ctx: ScanContext) -> Iterator[Violation]:
    selection = ctx.selection
    may_allow: dict[int, bool] = {}  # by policy: the answer depends on the policy, not on the workload

    def allows_dns(policy: NetworkPolicy) -> bool:
        found = may_allow.get(id(policy))
        if found is None:
            found = may_allow[id(policy)] = any(
                _rule_may_allow_dns(ctx, policy, r) for r in policy.rules("egress")
            )
        return found

    tiered = connectivity(ctx.inventory) if ctx.inventory.tier_policies else None
    for workload in reported_workloads(ctx.inventory):  # once per owner chain (Deployment, not its Pods)
        if tiered is not None and tiered.decided_by_tiers(workload, "egress"):
            yield from _tiered_dns(ctx, tiered, workload)
            continue
        policies = selection.policies_for(workload, "egress")
        if not policies:
            continue
        if any(allows_dns(p) for p in policies):
            continue
        names = _names([p.name for p in policies])
        yield Violation(
            f"{_workload_name(workload)} is isolated for egress by NetworkPolicy {names} in namespace "
            f"{workload.namespace}, but no egress rule allows port 53/UDP to any destination: its pods cannot "
            "resolve names; add an egress rule to the cluster DNS (namespace kube-system, pods k8s-app=kube-dns) "
            "on 53/UDP and 53/TCP",
            workload.document,
            (),
            workload.ref,
            fix=dns_egress_rule(ctx.inventory, policies) if tiered is None else None,
        )


UDP_DNS = PortSet.single("UDP", 53)


def _may_reach_absent_dns(ctx: ScanContext, step: Step) -> bool:
    """An allow rule open on 53/UDP whose peers may hold pods the input lacks: a rule of a cluster or CNI
    policy that names pods by labels, or a NetworkPolicy peer whose namespaces the input does not hold."""
    rule = step.rule
    if step.action != ALLOW:
        return False
    if isinstance(rule, TierRule):
        if not spec_ports(rule.ports, None).contains("UDP", 53):
            return False
        return any(isinstance(expr, Pods) for expr in walk_expression(rule.peers))
    policy = step.policy
    if not isinstance(policy, NetworkPolicy) or rule.all_peers:
        return False
    udp_53 = rule.all_ports or rule_ports(rule, None).contains("UDP", DNS_PORT)
    named = any(spec.is_named and spec.protocol == "UDP" for spec in rule.ports)
    return (udp_53 or named) and any(peer_is_open(ctx, policy, peer) for peer in rule.peers)


def may_reach_dns(ctx: ScanContext, conn: Connectivity, index: int) -> bool:
    """Whether pod class ``index``, whose egress a cluster or CNI policy takes part in, may reach 53/UDP
    somewhere after every tier: an address (``fqdn:…`` needs DNS first), or pods the input may lack through
    an allow rule that names pods (the cluster DNS is often not in the input)."""
    assert conn.tiered is not None
    if conn.tiered.reaches("egress", index, UDP_DNS, named=False):
        return True
    return any(_may_reach_absent_dns(ctx, step) for step in conn.tiered.owner_steps("egress", index))


def _tiered_dns(ctx: ScanContext, conn: Connectivity, workload: Workload) -> Iterator[Violation]:
    """NPS501 where cluster-wide or CNI policies take part: can the pods reach 53/UDP anywhere?"""
    if not conn.default_denied(workload, "egress"):
        return
    assert conn.tiered is not None
    index = conn.class_of(workload).index
    if may_reach_dns(ctx, conn, index):
        return
    kinds = sorted({f"{p.kind} {p.name}" for p in conn.tiered.isolating_policies("egress", index)})
    yield Violation(
        f"{_workload_name(workload)} may not reach port 53/UDP anywhere after every policy tier "
        f"({', '.join(kinds[:3]) or 'NetworkPolicy'}): its pods cannot resolve names; allow egress to the "
        "cluster DNS (namespace kube-system, pods k8s-app=kube-dns) on 53/UDP and 53/TCP",
        workload.document,
        (),
        workload.ref,
    )


# --- NPS502 ---------------------------------------------------------------------------------------


@check("NPS502")
def policy_selects_no_pods(ctx: ScanContext) -> Iterator[Violation]:
    inventory = ctx.inventory
    for policy in inventory.policies:
        workloads = inventory.workloads_in(policy.namespace)
        if not workloads or ctx.selection.selected(policy) or policy.namespace in incomplete_namespaces(ctx):
            continue
        yield Violation(
            f"{policy_label(policy)} has podSelector {policy.pod_selector}, which matches none of the "
            f"{len(workloads)} workload(s) of namespace {policy.namespace} "
            f"(e.g. {_names([w.name for w in workloads])}): the policy has no effect; fix the selector's labels "
            "or delete the policy",
            policy.document,
            (),
            policy.ref,
        )


# --- NPS503 ---------------------------------------------------------------------------------------


def _selects_nothing(ctx: ScanContext, policy: NetworkPolicy, peer: Peer) -> str | None:
    """Why a selector peer selects nothing in scope (None when it selects something or may)."""
    if peer.ip_block is not None:
        return None
    scope = ctx.selection.peer_scope(policy, peer)
    if scope.workloads or peer_is_open(ctx, policy, peer):
        return None
    if not scope.namespaces:
        if peer.namespace_selector is None:
            return None  # the policy's own namespace is always in scope
        labels = [ns.labels for ns in ctx.inventory.namespaces.values()]
        hint = _label_hint(peer.namespace_selector, labels, labels, "namespace", "the input")
        return f"namespaceSelector {peer.namespace_selector} matches no namespace of the input{hint}"
    pod_selector = peer.pod_selector
    if pod_selector is None or pod_selector.is_empty:
        return None  # it selects namespaces; that they run no pods in the input is not a slip
    with_pods = [ns.name for ns in scope.namespaces if ctx.inventory.workloads_in(ns.name)]
    if not with_pods:
        return None  # the input has no pods there to judge the podSelector against
    where = f"namespace {_names(with_pods)}"
    here = [w.labels for ns in with_pods for w in ctx.inventory.workloads_in(ns)]
    hint = _label_hint(pod_selector, here, [w.labels for w in ctx.inventory.workloads], "pod", where)
    return f"podSelector {pod_selector} matches no workload of {where}{hint}"


def _label_hint(
    selector: LabelSelector,
    here: Sequence[Mapping[str, str]],
    everywhere: Sequence[Mapping[str, str]],
    what: str,
    where: str,
) -> str:
    """Which label no object carries, and a close label (a likely typo) when one exists."""
    missing = missing_labels(selector, here)
    if not missing:
        text = f"; no {what} of {where} carries all of {selector} together"
    else:
        labels = f"label{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        nowhere = where == "the input" or missing_labels(selector, everywhere) == missing
        text = (
            f"; no {what} in the input carries {labels}"
            if nowhere
            else f"; no {what} of {where} carries {labels}"
        )
    close = close_label(selector, here) or close_label(selector, everywhere)
    return text + (f" (did you mean {close}? a typo is likely)" if close else "")


@check("NPS503")
def peer_selects_nothing(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    reason = _selects_nothing(ctx, policy, peer)
                    if reason is None:
                        continue
                    side = "from" if direction == "ingress" else "to"
                    yield Violation(
                        f"{policy_label(policy)} {direction} rule {rule.index + 1} `{side}` peer {peer.index + 1} "
                        f"selects nothing: {reason}",
                        policy.document,
                        peer.pointer,
                        policy.ref,
                        key=f"{direction}/{rule.index}/{peer.index}",
                    )


# --- NPS504 ---------------------------------------------------------------------------------------


def _named_port_targets(
    ctx: ScanContext, policy: NetworkPolicy, rule: PolicyRule
) -> tuple[Workload, ...] | None:
    """The pods a rule's named ports resolve on (None when pods outside the input may be among them)."""
    if rule.direction == "ingress":
        return None if policy.namespace in incomplete_namespaces(ctx) else ctx.selection.selected(policy)
    if rule.all_peers:
        return None
    found: dict[int, Workload] = {}  # by identity, in order of first appearance
    for peer in rule.peers:
        scope = ctx.selection.peer_scope(policy, peer)
        if peer_is_open(ctx, policy, peer):
            return None
        for w in scope.workloads:
            found.setdefault(id(w), w)
    return tuple(found.values())


@check("NPS504")
def named_port_unresolved(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                named = [spec for spec in rule.ports if spec.is_named]
                if not named:
                    continue
                targets = _named_port_targets(ctx, policy, rule)
                if not targets:
                    continue
                for spec in named:
                    name, protocol = spec.port, spec.protocol
                    if any(w.resolve_port(name, protocol) is not None for w in targets):  # type: ignore[arg-type]
                        continue
                    whose = "selected pods" if direction == "ingress" else "destination pods"
                    yield Violation(
                        f"{policy_label(policy)} {direction} rule {rule.index + 1} names port {spec.port!r} "
                        f"({spec.protocol}), but no container port of that name and protocol exists on its {whose} "
                        f"({_names([_workload_name(w) for w in targets])}): the port matches nothing; use the "
                        "container port's name or number",
                        policy.document,
                        (*spec.pointer, "port"),
                        policy.ref,
                        key=f"{direction}/{rule.index}/{spec.port}",
                    )


# --- NPS505 ---------------------------------------------------------------------------------------


@check("NPS505")
def rules_ignored_by_policy_types(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        if not policy.explicit_policy_types:
            continue
        for key, rules, isolates, policy_type in (
            ("ingress", policy.ingress, policy.isolates_ingress, "Ingress"),
            ("egress", policy.egress, policy.isolates_egress, "Egress"),
        ):
            if not rules or isolates:
                continue
            present = policy.raw_ingress_present if key == "ingress" else policy.raw_egress_present
            if not present:
                continue
            types = ", ".join(policy.policy_types) or "nothing"
            yield Violation(
                f"{policy_label(policy)} has {len(rules)} `{key}` rule(s), but its policyTypes ({types}) omit "
                f"{policy_type}, so the API ignores them: add {policy_type} to policyTypes or delete the rules",
                policy.document,
                ("spec", key),
                policy.ref,
                key=key,
                fix=missing_policy_type(policy, policy_type),
            )


# --- NPS506 ---------------------------------------------------------------------------------------


@check("NPS506")
def namespace_or_pod_selector_split(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                ns_only = [
                    p
                    for p in rule.peers
                    if p.ip_block is None and p.namespace_selector is not None and p.pod_selector is None
                ]
                pod_only = [
                    p
                    for p in rule.peers
                    if p.ip_block is None
                    and p.namespace_selector is None
                    and p.pod_selector is not None
                    and not p.pod_selector.is_empty
                ]
                if not ns_only or not pod_only:
                    continue
                side = "from" if direction == "ingress" else "to"
                ns_peer, pod_peer = ns_only[0], pod_only[0]
                yield Violation(
                    f"{policy_label(policy)} {direction} rule {rule.index + 1} lists `namespaceSelector "
                    f"{ns_peer.namespace_selector}` and `podSelector {pod_peer.pod_selector}` as two `{side}` peers, "
                    f"which are ORed: it allows every pod of those namespaces, and pods {pod_peer.pod_selector} of "
                    f"namespace {policy.namespace}; to allow only those pods in those namespaces, put both selectors "
                    "in one peer",
                    policy.document,
                    rule.pointer,
                    policy.ref,
                    key=direction,
                )


# --- NPS507 ---------------------------------------------------------------------------------------


def _overlap_left(cidr: IPNetwork, excepts: Iterable[IPNetwork], network: IPNetwork) -> bool:
    """Whether ``cidr`` minus ``excepts`` still shares an address with ``network``."""
    if cidr.version != network.version or not cidr.overlaps(network):
        return False
    part = network if network.prefixlen >= cidr.prefixlen else cidr  # CIDRs nest: the smaller one
    first, last = int(part.network_address), int(part.broadcast_address)
    holes = sorted(
        (int(h.network_address), int(h.broadcast_address)) for h in excepts if h.version == part.version
    )
    position = first
    for lo, hi in holes:
        if hi < position:
            continue
        if lo > position:
            return True
        position = hi + 1
        if position > last:
            return False
    return position <= last


@check("NPS507")
def ipblock_overlaps_cluster_network(ctx: ScanContext) -> Iterator[Violation]:
    configured = [
        (kind, network)
        for kind, networks in (("pod", ctx.pod_cidrs), ("service", ctx.service_cidrs))
        for network in networks
    ]
    if not configured:
        return
    for policy in ctx.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    block = peer.ip_block
                    if block is None:
                        continue
                    hits = [
                        f"{kind} CIDR {network}"
                        for kind, network in configured
                        if _overlap_left(block.cidr, block.excepts, network)
                    ]
                    if not hits:
                        continue
                    yield Violation(
                        f"{policy_label(policy)} {direction} rule {rule.index + 1} ipBlock {block} overlaps the "
                        f"cluster's {', '.join(hits)}: whether ipBlocks match pod or Service addresses depends on the "
                        "CNI; select pods with podSelector/namespaceSelector and add the cluster ranges to `except`",
                        policy.document,
                        peer.pointer,
                        policy.ref,
                        key=f"{direction}/{rule.index}/{peer.index}",
                    )


# --- NPS508 ---------------------------------------------------------------------------------------


@check("NPS508")
def host_network_pod_selected(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        hosts = [w for w in ctx.selection.selected(policy) if w.host_network]
        if not hosts:
            continue
        yield Violation(
            f"{policy_label(policy)} selects {_names([_workload_name(w) for w in hosts])}, which run(s) with "
            "hostNetwork: true: most CNIs do not enforce NetworkPolicies on host-network pods, so this policy "
            "likely does not protect them; restrict their traffic on the nodes (host firewall) instead",
            policy.document,
            (),
            policy.ref,
        )


# --- NPS509 ---------------------------------------------------------------------------------------


def _target_number(service_port: ServicePort, workload: Workload) -> int | None:
    target = service_port.target_port
    if isinstance(target, int):
        return target
    return workload.resolve_port(target, service_port.protocol)


def _admitted(ctx: ScanContext, workload: Workload, protocol: str, number: int) -> bool:
    """Whether some ingress rule selecting ``workload`` admits ``number``/``protocol`` from some source."""
    for policy in ctx.selection.policies_for(workload, "ingress"):
        for rule in policy.rules("ingress"):
            if not rule_ports(rule, workload.ports).contains(protocol, number):
                continue
            if rule.all_peers or any(_peer_may_match(ctx, policy, peer) for peer in rule.peers):
                return True
    return False


def _backends(ctx: ScanContext, service: Service) -> tuple[Workload, ...]:
    if not service.selector:
        return ()
    selector = LabelSelector(tuple(sorted(service.selector.items())))
    return ctx.inventory.workloads_matching(service.namespace, selector)


def _closed_by_tiers(conn: Connectivity, workload: Workload, protocol: str, number: int) -> bool:
    """For a workload whose ingress a policy of another kind decides: whether the effective verdict (every
    kind and tier) admits ``number``/``protocol`` from no source at all: pods, addresses, unnamed peers."""
    engine = conn.tiered
    if engine is None or not conn.default_denied(workload, "ingress"):
        return False
    port, index = PortSet.single(protocol, number), conn.class_of(workload).index
    if engine.default_ports("ingress", index) & port:
        return False
    # pods first: the common answer (a client pod admitted) spares the walk over external sources
    return not any(
        allowed
        for external in (False, True)
        for _, allowed in engine.walk("ingress", index, external, ports=port)
    )


def _closing_policies(
    ctx: ScanContext, conn: Connectivity | None, workloads: Iterable[Workload]
) -> list[str]:
    """The policies that close the workloads' ingress: NetworkPolicies by name, other kinds as KIND NAME."""
    names: set[str] = set()
    for workload in workloads:
        names.update(p.name for p in ctx.selection.policies_for(workload, "ingress"))
        if conn is not None and conn.tiered is not None and conn.decided_by_tiers(workload, "ingress"):
            index = conn.class_of(workload).index
            names.update(f"{p.kind} {p.name}" for p in conn.tiered.isolating_policies("ingress", index))
    return sorted(names)


@check("NPS509")
def service_port_blocked(ctx: ScanContext) -> Iterator[Violation]:
    selection = ctx.selection
    conn = connectivity(ctx.inventory) if ctx.inventory.tier_policies else None

    def closed(workload: Workload, protocol: str, number: int) -> bool:
        if conn is not None and conn.decided_by_tiers(workload, "ingress"):
            return _closed_by_tiers(conn, workload, protocol, number)
        return selection.is_isolated(workload, "ingress") and not _admitted(ctx, workload, protocol, number)

    for service in ctx.inventory.services:
        backends = _backends(ctx, service)
        if not backends:
            continue
        for service_port in service.ports:
            serving = [(w, n) for w in backends if (n := _target_number(service_port, w)) is not None]
            if not serving:
                continue
            if not all(closed(w, service_port.protocol, n) for w, n in serving):
                continue
            targets = sorted({f"{n}/{service_port.protocol}" for _, n in serving})
            policies = _closing_policies(ctx, conn, (w for w, _ in serving))
            named = _names(policies) if policies else "the policies of its tiers"
            kind = "NetworkPolicy " if policies and all(" " not in name for name in policies) else ""
            shown = f" ({service_port.name})" if service_port.name else ""
            yield Violation(
                f"Service {service.namespace}/{service.name} port {service_port.port}{shown} targets "
                f"{', '.join(targets)} on {_names([_workload_name(w) for w, _ in serving])}, which {kind}"
                f"{named} isolate(s) for ingress without admitting that port from any source: the "
                "Service is unreachable; add an ingress rule allowing its clients on that port",
                service.document,
                ("spec", "ports", service_port.index),
                service.ref,
                key=str(service_port.index),
            )
