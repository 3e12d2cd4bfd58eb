"""NPS1xx: isolation (default-deny policies per namespace)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from netpolscan.analysis.connectivity import connectivity
from netpolscan.builtin.helpers import namespace_anchors, reported_workloads
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import Workload
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import DENY, AnyOf, PeerExpr, Pods
from netpolscan.plugin_api import ObjectRef, Violation


def _tiers_isolate(ctx: ScanContext, workload: Workload, direction: str) -> bool:
    """Whether a policy beyond NetworkPolicy v1 (Admin/Baseline tier, Cilium, Calico) gives ``workload``
    its default deny for ``direction`` (the effective verdict closes it to peers no rule names)."""
    if not ctx.inventory.tier_policies:
        return False
    conn = connectivity(ctx.inventory)
    return conn.decided_by_tiers(workload, direction) and conn.default_denied(workload, direction)


def _every_pod_of(expr: PeerExpr, namespace: str, labels: Mapping[str, str]) -> bool:
    """Whether a subject expression holds every pod of ``namespace`` (labels of the namespace given)."""
    if isinstance(expr, AnyOf):
        return any(_every_pod_of(item, namespace, labels) for item in expr.items)
    if not isinstance(expr, Pods) or expr.node_names is not None:
        return False
    if expr.pod_selector is not None and not (
        isinstance(expr.pod_selector, LabelSelector) and expr.pod_selector.is_empty
    ):
        return False
    if expr.namespace_names is not None and namespace not in expr.namespace_names:
        return False
    return expr.namespace_selector is None or expr.namespace_selector.matches(labels)


def _tier_policy_closes(ctx: ScanContext, namespace: str, direction: str) -> bool:
    """For a namespace without workloads: whether a policy of another kind gives every pod of it a
    default deny for ``direction`` (it selects them all, and its tier ends in deny for what it selects)."""
    known = ctx.inventory.namespaces.get(namespace)
    labels = dict(known.labels) if known is not None else {}
    labels.setdefault(NAME_LABEL, namespace)
    return any(
        direction in policy.isolates
        and policy.tier.end == DENY
        and _every_pod_of(policy.subject, namespace, labels)
        for policy in ctx.inventory.tier_policies
    )


def _tiered_kinds(ctx: ScanContext, workloads: list[Workload], direction: str) -> str:
    """The policy kinds beyond NetworkPolicy v1 that take part for ``workloads`` (for messages)."""
    if not ctx.inventory.tier_policies:
        return ""
    conn = connectivity(ctx.inventory)
    kinds: set[str] = set()
    for workload in workloads:
        if conn.tiered is not None and conn.decided_by_tiers(workload, direction):
            index = conn.class_of(workload).index
            kinds.update(p.kind for p in conn.tiered.isolating_policies(direction, index))
    if not kinds:
        return ""
    return f" ({', '.join(sorted(kinds))} select{'s' if len(kinds) == 1 else ''} them without a default deny)"


def _missing_default_deny(ctx: ScanContext, policy_type: str) -> Iterator[Violation]:
    inventory = ctx.inventory
    direction = policy_type.lower()
    for namespace, anchor in namespace_anchors(inventory).items():
        policies = inventory.policies_in(namespace)
        if any(p.pod_selector.is_empty and policy_type in p.policy_types for p in policies):
            continue
        workloads = inventory.workloads_in(namespace)
        if workloads and all(_tiers_isolate(ctx, w, direction) for w in workloads):
            continue  # a cluster-wide or CNI policy gives every workload of it a default deny
        if not workloads and inventory.tier_policies and _tier_policy_closes(ctx, namespace, direction):
            continue  # no pod to judge by: a policy of another kind closes every pod of the namespace
        consequence = ""
        if workloads:
            does = "accept connections from anywhere" if direction == "ingress" else "may connect anywhere"
            consequence = (
                f"; its {len(workloads)} workload(s) {does} unless a policy selects them for {direction}"
                f"{_tiered_kinds(ctx, workloads, direction)}"
            )
        yield Violation(
            f"namespace {namespace} has no default-deny {direction} policy (a NetworkPolicy with an empty "
            f"podSelector and policyTypes including {policy_type}){consequence}",
            anchor,
            (),
            ObjectRef("Namespace", "", namespace),
        )


@check("NPS101")
def missing_default_deny_ingress(ctx: ScanContext) -> Iterator[Violation]:
    yield from _missing_default_deny(ctx, "Ingress")


@check("NPS102")
def missing_default_deny_egress(ctx: ScanContext) -> Iterator[Violation]:
    yield from _missing_default_deny(ctx, "Egress")


def _not_isolated(ctx: ScanContext, direction: str) -> Iterator[Violation]:
    """Workloads no policy selects for ``direction``; a workload whose owner is in the input is left to it."""
    inventory = ctx.inventory
    selection = ctx.selection
    for workload in reported_workloads(inventory):
        if selection.is_isolated(workload, direction) or _tiers_isolate(ctx, workload, direction):
            continue
        name = f"{workload.kind} {workload.namespace}/{workload.name}"
        if direction == "ingress":
            what = (
                "any pod of any namespace and any address outside the cluster may connect to it on every port"
            )
        else:
            what = "its pods may connect to any pod and any address outside the cluster on every port"
        other_direction = "egress" if direction == "ingress" else "ingress"
        partial = sorted(p.name for p in selection.policies_for(workload, other_direction))
        count = len(inventory.policies_in(workload.namespace))
        if partial:
            which = "NetworkPolicy " if len(partial) == 1 else "NetworkPolicies "
            verb = " selects" if len(partial) == 1 else " select"
            known = f" ({which}{', '.join(partial[:3])}{verb} it for {other_direction} only)"
        elif count:
            known = f" ({count} polic{'ies' if count != 1 else 'y'} in the namespace, none selects it)"
        else:
            known = ""
        yield Violation(
            f"{name} is not selected by any NetworkPolicy for {direction}{known}: {what}; "
            f"add a default-deny {direction} policy "
            f"(podSelector: {{}}, policyTypes: [{direction.capitalize()}]) to namespace {workload.namespace} "
            "or a policy selecting its pods",
            workload.document,
            (),
            workload.ref,
        )


@check("NPS103")
def workload_not_isolated_ingress(ctx: ScanContext) -> Iterator[Violation]:
    yield from _not_isolated(ctx, "ingress")


@check("NPS104")
def workload_not_isolated_egress(ctx: ScanContext) -> Iterator[Violation]:
    yield from _not_isolated(ctx, "egress")


@check("NPS105")
def namespace_without_network_policy(ctx: ScanContext) -> Iterator[Violation]:
    inventory = ctx.inventory
    for namespace, anchor in namespace_anchors(inventory).items():
        workloads = inventory.workloads_in(namespace)
        if not workloads or inventory.policies_in(namespace):
            continue
        if inventory.tier_policies and any(
            connectivity(inventory).decided_by_tiers(w, d) for w in workloads for d in ("ingress", "egress")
        ):
            continue  # policies of another kind (cluster-wide, Cilium, Calico) govern its workloads
        names = ", ".join(sorted(f"{w.kind} {w.name}" for w in workloads)[:3])
        more = f" and {len(workloads) - 3} more" if len(workloads) > 3 else ""
        yield Violation(
            f"namespace {namespace} has {len(workloads)} workload(s) ({names}{more}) and no NetworkPolicy "
            "at all: every pod may accept connections from anywhere and connect anywhere; add default-deny "
            "ingress and egress policies to it, then allow the traffic its workloads need",
            anchor,
            (),
            ObjectRef("Namespace", "", namespace),
        )
