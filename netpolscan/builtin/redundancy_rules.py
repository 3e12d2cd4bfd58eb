"""NPS601 and NPS602: rules and policies that allow nothing the others do not already allow.

The analysis (and the conservative decisions it makes) is :mod:`netpolscan.analysis.redundancy`; this
module builds it once per scan and words the findings.
"""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.analysis.connectivity import Grant
from netpolscan.analysis.redundancy import Redundancy
from netpolscan.builtin.correctness_rules import incomplete_namespaces, peer_is_open
from netpolscan.builtin.helpers import policy_label
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import NetworkPolicy
from netpolscan.plugin_api import Violation


def analyse(ctx: ScanContext) -> Redundancy:
    """A new redundancy analysis of the scan's input."""
    return Redundancy(
        ctx.inventory,
        ctx.selection,
        lambda policy, peer: peer_is_open(ctx, policy, peer),
        incomplete_namespaces(ctx),
    )


def redundancy(ctx: ScanContext) -> Redundancy:
    """The scan's redundancy analysis, computed once for NPS601 and NPS602."""
    cached = ctx.inventory.cache.get("redundancy")
    if not isinstance(cached, Redundancy):
        cached = analyse(ctx)
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
