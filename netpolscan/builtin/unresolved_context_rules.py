"""NPS004: verdicts that depend on objects the input does not contain (namespace labels, for now)."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.analysis.selection import pinned_namespace_names
from netpolscan.builtin.helpers import policy_label
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector
from netpolscan.plugin_api import Violation

_SHOWN = 3


def _uses_other_labels(selector: LabelSelector) -> bool:
    """Whether the selector tests a label besides kubernetes.io/metadata.name (unknown without a manifest)."""
    return any(key != NAME_LABEL for key, _ in selector.match_labels) or any(
        req.key != NAME_LABEL for req in selector.match_expressions
    )


def _name_terms_hold(selector: LabelSelector, name: str) -> bool:
    """Whether the selector's kubernetes.io/metadata.name terms accept namespace ``name``."""
    labels = {NAME_LABEL: name}
    name_only = LabelSelector(
        tuple((k, v) for k, v in selector.match_labels if k == NAME_LABEL),
        tuple(r for r in selector.match_expressions if r.key == NAME_LABEL),
    )
    return name_only.matches(labels)


def _hinges_on(inventory: Inventory, peer: Peer) -> tuple[list[str], str]:
    """The namespaces without a manifest whose unknown labels decide ``peer``'s namespace side.

    Returns (names, outcome): ``outcome`` ("matches" or "does not match") is what the analysis, which knows
    only their name label, concluded for them. Pinned names may be absent from the input altogether.
    """
    selector = peer.namespace_selector
    if selector is None or selector.is_empty or not _uses_other_labels(selector):
        return [], ""
    pinned = pinned_namespace_names(peer)
    if pinned is not None:
        # only these names can match; their labels decide when they have no Namespace manifest
        names = sorted(n for n in pinned if not inventory.has_manifest(n) and _name_terms_hold(selector, n))
        if not names:
            return [], ""
        assumed = "matches" if any(selector.matches({NAME_LABEL: n}) for n in names) else "does not match"
        return names, assumed
    unknown = sorted(
        ns.name
        for ns in inventory.namespaces.values()
        if ns.document is None and _name_terms_hold(selector, ns.name)
    )
    if not unknown:
        return [], ""
    assumed_match = [n for n in unknown if selector.matches({NAME_LABEL: n})]
    if assumed_match:
        # the selector matched them only because the labels it tests were assumed absent (NotIn, DoesNotExist)
        return assumed_match, "matches"
    if not inventory.namespaces_matching(selector):
        # matches no namespace of the input: the labels it needs may well be on a namespace without manifest
        return unknown, "does not match"
    return [], ""


def _peer_label(policy: NetworkPolicy, rule: PolicyRule, peer: Peer) -> str:
    side = "from" if rule.direction == "ingress" else "to"
    return f"{policy_label(policy)} {rule.direction} rule {rule.index + 1} `{side}` peer {peer.index + 1}"


@check("NPS004")
def unresolved_context(ctx: ScanContext) -> Iterator[Violation]:
    inventory = ctx.inventory
    verdicts: dict[LabelSelector, tuple[list[str], str]] = {}  # the same selector recurs across policies
    for policy in inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    selector = peer.namespace_selector
                    if selector is None:
                        continue
                    if selector not in verdicts:
                        verdicts[selector] = _hinges_on(inventory, peer)
                    names, outcome = verdicts[selector]
                    if not names:
                        continue
                    shown = names[:_SHOWN]
                    extra = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
                    listed = ", ".join(f"`{n}`" for n in shown) + extra
                    plural = len(names) > 1
                    where = f"{'have' if plural else 'has'} no Namespace manifest in the input"
                    assumed = f"their {NAME_LABEL} label" if plural else f"{NAME_LABEL}={names[0]}"
                    them = "them" if plural else "it"
                    taken = f"to match {them}" if outcome == "matches" else f"not to match {them}"
                    s = "s" if plural else ""
                    unmatched = (
                        f"namespaceSelector {selector} matches no namespace of the input; "
                        if not inventory.namespaces_matching(selector)
                        else ""
                    )
                    subject = "the selector" if unmatched else f"namespaceSelector {selector}"
                    yield Violation(
                        f"{_peer_label(policy, rule, peer)}: {unmatched}namespace{s} {listed} {where}; "
                        f"{'their' if plural else 'its'} labels are unknown, assumed to be only {assumed}, "
                        f"so {subject} is taken {taken}; add the Namespace manifest{s} to the scan or select "
                        f"namespaces by {NAME_LABEL}",
                        policy.document,
                        peer.pointer,
                        policy.ref,
                    )
