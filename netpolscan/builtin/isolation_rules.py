"""NPS1xx: isolation (default-deny policies per namespace)."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.builtin.helpers import namespaces_in_scope
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.findings import ObjectRef, Violation


def _missing_default_deny(ctx: ScanContext, policy_type: str) -> Iterator[Violation]:
    inventory = ctx.inventory
    direction = policy_type.lower()
    for namespace, anchor in namespaces_in_scope(inventory).items():
        if anchor is None:
            continue
        covered = any(
            p.pod_selector.is_empty and policy_type in p.policy_types for p in inventory.policies_in(namespace)
        )
        if covered:
            continue
        workloads = inventory.workloads_in(namespace)
        exposed = f"; its {len(workloads)} workload(s) accept" if direction == "ingress" else "; its workloads may send"
        traffic = "any traffic no policy selects them for" if direction == "ingress" else "traffic anywhere unless a policy selects them"
        yield Violation(
            f"namespace {namespace} has no default-deny {direction} policy (a NetworkPolicy with an empty podSelector "
            f"and policyTypes including {policy_type}){exposed if workloads else ''}"
            f"{' ' + traffic if workloads else ''}",
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
