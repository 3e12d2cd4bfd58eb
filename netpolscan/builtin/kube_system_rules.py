"""NPS4xx: exposure of, and access to, kube-system."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.ports import PortSet
from netpolscan.builtin.helpers import policy_label, port_numbers, reported_workloads
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule, PortSpec, Workload
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector
from netpolscan.plugin_api import Violation

KUBE_SYSTEM = "kube-system"
DNS_PORT = 53


def _is_dns(spec: PortSpec, resolve_on: tuple[Workload, ...], unresolved_is_dns: bool) -> bool:
    """A port spec limited to 53 (UDP/TCP); named ports count as the number they resolve to."""
    if spec.protocol not in ("UDP", "TCP"):
        return False
    ranges = port_numbers(spec, resolve_on)
    if ranges is None:
        return False
    if not ranges:  # a name that resolves nowhere allows nothing (or, unknown pods: not judged)
        return unresolved_is_dns
    return all(lo == hi == DNS_PORT for lo, hi in ranges)


def _show_port(spec: PortSpec, resolve_on: tuple[Workload, ...]) -> str:
    """A port spec for messages; a named port with the numbers it resolves to."""
    if not spec.is_named:
        return str(spec)
    numbers = port_numbers(spec, resolve_on) or []
    resolved = ", ".join(str(lo) for lo, _ in numbers)
    return f"{spec} ({resolved})" if resolved else str(spec)


def _foreign_sources(ctx: ScanContext, policy: NetworkPolicy, rule: PolicyRule) -> str | None:
    """What in ``rule`` admits sources outside kube-system (None when nothing does)."""
    if rule.all_peers:
        return "every source (no `from`)"
    for peer in rule.peers:
        if peer.ip_block is not None:
            return f"ipBlock {peer.ip_block}"
        if peer.namespace_selector is None:
            continue  # pods of the policy's own namespace (kube-system)
        scope = ctx.selection.peer_scope(policy, peer)
        others = [ns.name for ns in scope.namespaces if ns.name != KUBE_SYSTEM]
        if others or scope.unknown_namespaces:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            target = f"namespaces {shown}" if others else "namespaces outside the input"
            return f"namespaceSelector {peer.namespace_selector} ({target})"
    return None


_DNS_PORTS = PortSet({"UDP": [(53, 53)], "TCP": [(53, 53)]})


def _tiered_exposure(ctx: ScanContext, workload: Workload, name: str) -> Iterator[Violation]:
    """NPS401 where cluster-wide or CNI policies take part: read the effective verdict."""
    conn = connectivity(ctx.inventory)
    foreign = 0
    for cls in conn.classes:
        if cls.namespace != KUBE_SYSTEM:
            foreign |= 1 << cls.index
    exposed = conn.unnamed_peer_ports(workload, "ingress")
    for bits, ports in conn.peer_parts(workload, "ingress"):
        if bits & foreign:
            exposed = exposed | ports
    beyond = exposed - _DNS_PORTS
    if beyond:
        yield Violation(
            f"{name} is exposed beyond DNS to other namespaces: after every policy tier, connections from "
            f"other namespaces are allowed on {beyond}",
            workload.document,
            (),
            workload.ref,
        )


@check("NPS401")
def kube_system_ingress_exposed(ctx: ScanContext) -> Iterator[Violation]:
    selection = ctx.selection
    for workload in reported_workloads(ctx.inventory):
        if workload.namespace != KUBE_SYSTEM:
            continue
        policies = selection.policies_for(workload, "ingress")
        name = f"{workload.kind} {KUBE_SYSTEM}/{workload.name}"
        if ctx.inventory.tier_policies and connectivity(ctx.inventory).decided_by_tiers(workload, "ingress"):
            yield from _tiered_exposure(ctx, workload, name)
            continue
        if not policies:
            yield Violation(
                f"{name} accepts connections from every namespace and from outside the cluster on every "
                "port: no NetworkPolicy isolates it for ingress",
                workload.document,
                (),
                workload.ref,
            )
            continue
        for policy in policies:
            reason = None
            for rule in policy.rules("ingress"):
                sources = _foreign_sources(ctx, policy, rule)
                if sources is None:
                    continue
                if rule.all_ports or not all(_is_dns(s, (workload,), True) for s in rule.ports):
                    ports = (
                        "every port"
                        if rule.all_ports
                        else ", ".join(
                            _show_port(s, (workload,))
                            for s in rule.ports
                            if not _is_dns(s, (workload,), True)
                        )
                    )
                    reason = (
                        f"{policy_label(policy)} ingress rule {rule.index + 1} admits {sources} on {ports}"
                    )
                    break
            if reason:
                yield Violation(
                    f"{name} is exposed beyond DNS to other namespaces or outside the cluster: {reason}",
                    workload.document,
                    (),
                    workload.ref,
                    key=f"{policy.name}",
                )
                break


def _selects_kube_system(ctx: ScanContext, selector: LabelSelector) -> bool:
    """Whether a namespaceSelector explicitly selects kube-system (not `{}` nor only negative terms)."""
    # `Exists` on the name label holds for every namespace: as unspecific as `{}`
    positive = bool(selector.match_labels) or any(
        r.operator == "In" or (r.operator == "Exists" and r.key != NAME_LABEL)
        for r in selector.match_expressions
    )
    if not positive:
        return False
    namespace = ctx.inventory.namespaces.get(KUBE_SYSTEM)
    labels = namespace.labels if namespace is not None else {NAME_LABEL: KUBE_SYSTEM}
    return selector.matches(labels)


@check("NPS402")
def egress_to_kube_system_beyond_dns(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        for rule in policy.rules("egress"):
            peer: Peer | None = next(
                (
                    p
                    for p in rule.peers
                    if p.namespace_selector is not None and _selects_kube_system(ctx, p.namespace_selector)
                ),
                None,
            )
            if peer is None:
                continue
            targets = ctx.selection.peer_scope(policy, peer).workloads
            kube_targets = tuple(w for w in targets if w.namespace == KUBE_SYSTEM)
            if rule.all_ports:
                ports = "every port"
            else:
                wide = [s for s in rule.ports if not _is_dns(s, kube_targets, True)]
                if not wide:
                    continue
                ports = ", ".join(_show_port(s, kube_targets) for s in wide)
            narrowed = peer.pod_selector is not None and not peer.pod_selector.is_empty
            pods = f" pods {peer.pod_selector}" if narrowed else ""
            yield Violation(
                f"{policy_label(policy)} egress rule {rule.index + 1} allows kube-system{pods} on {ports}, "
                "not only DNS (53/UDP, 53/TCP): limit the rule's ports to 53",
                policy.document,
                rule.pointer,
                policy.ref,
            )
