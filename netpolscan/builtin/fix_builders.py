"""The fixes of built-in rules whose remedy is a local edit of a NetworkPolicy (README, "Fixing findings").

Each builder returns a :class:`Fix` or None when the remedy is not evident or not local; a fix must make
its finding go away without bringing a new one, so the builders are conservative.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from netpolscan.context import ScanContext
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule, Workload
from netpolscan.plugin_api import Edit, Fix
from netpolscan.sources.document import Document, Pointer, value_at

DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _raw(document: Document, pointer: Pointer) -> Any:
    return value_at(document.data, pointer)


def _add_to_list(document: Document, owner: Pointer, key: str, item: Any) -> Edit | None:
    """Append ``item`` to the list ``owner[key]``, creating ``key: [item]`` when the key is absent."""
    mapping = _raw(document, owner)
    if not isinstance(mapping, dict):
        return None
    if key not in mapping:
        return Edit(document, owner, {key: [item]})
    if isinstance(mapping[key], list):
        return Edit(document, (*owner, key), item)
    return None  # a null or a scalar where the list should be: not a local edit


def metadata_except(
    policy: NetworkPolicy, peer: Peer, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> Fix | None:
    """NPS303: add the metadata address to the ipBlock's ``except`` (when it is a strict subset of the
    cidr, as the API requires)."""
    block = peer.ip_block
    bits = 32 if address.version == 4 else 128
    if block is None or block.cidr.prefixlen >= bits:
        return None
    hole = f"{address}/{bits}"
    edit = _add_to_list(policy.document, (*peer.pointer, "ipBlock"), "except", hole)
    return Fix(f"add {hole} to the ipBlock's `except`", (edit,)) if edit else None


def missing_policy_type(policy: NetworkPolicy, policy_type: str) -> Fix | None:
    """NPS505: add the omitted direction to ``policyTypes``."""
    if not isinstance(_raw(policy.document, ("spec", "policyTypes")), list):
        return None
    return Fix(
        f"add {policy_type} to policyTypes", (Edit(policy.document, ("spec", "policyTypes"), policy_type),)
    )


def dns_egress_rule(inventory: Inventory, policies: Sequence[NetworkPolicy]) -> Fix | None:
    """NPS501: add an egress rule to the cluster DNS (kube-system, k8s-app=kube-dns, 53/UDP and 53/TCP)
    to one of the policies isolating the workload (an empty podSelector first: it covers its neighbours).

    When the input holds kube-system without kube-dns pods, the peer would select nothing (NPS503) and
    allow nothing: the rule then allows port 53 to any destination instead.
    """
    if not policies:
        return None
    policy = min(
        policies, key=lambda p: (not p.pod_selector.is_empty, p.document.path, p.document.line, p.name)
    )
    rule: dict[str, Any] = {"ports": [dict(p) for p in DNS_PORTS]}
    where = "to any destination"
    dns_pods = [w for w in inventory.workloads_in(DNS_NAMESPACE) if _has_labels(w, DNS_LABELS)]
    if not inventory.in_scope(DNS_NAMESPACE) or dns_pods:
        peer = {
            "namespaceSelector": {"matchLabels": {NAME_LABEL: DNS_NAMESPACE}},
            "podSelector": {"matchLabels": dict(DNS_LABELS)},
        }
        rule = {"to": [peer], **rule}
        where = "to kube-system/k8s-app=kube-dns"
    edit = _add_to_list(policy.document, ("spec",), "egress", rule)
    if edit is None:
        return None
    return Fix(f"add an egress rule {where} on 53/UDP and 53/TCP to NetworkPolicy {policy.name}", (edit,))


def _has_labels(workload: Workload, labels: dict[str, str]) -> bool:
    return all(workload.labels.get(key) == value for key, value in labels.items())


def narrowed_namespace(
    inventory: Inventory, policy: NetworkPolicy, rule: PolicyRule, peer: Peer
) -> Fix | None:
    """NPS304: ``namespaceSelector: {}`` narrowed to the one namespace evidently meant: the rule names
    numbered ports and the pods of exactly one namespace of the input listen on them."""
    if rule.all_ports or any(spec.is_named for spec in rule.ports):
        return None
    cached = inventory.cache.get("fix-listening")
    by_port: dict[tuple[str, int], set[str]] = cached if isinstance(cached, dict) else {}
    if not isinstance(cached, dict):
        for workload in inventory.workloads:  # once per scan: namespaces by container port
            for port in workload.ports:
                by_port.setdefault((port.protocol, port.port), set()).add(workload.namespace)
        inventory.cache["fix-listening"] = by_port
    listening = {
        ns for (protocol, number), found in by_port.items() if _opens(rule, protocol, number) for ns in found
    }
    return _narrowed(policy, peer, listening, "whose pods listen on these ports")


def narrowed_source_namespace(ctx: ScanContext, policy: NetworkPolicy, peer: Peer) -> Fix | None:
    """NPS202: ``namespaceSelector: {}`` narrowed to the one namespace evidently meant: the only one
    whose egress policies name the selected pods (by a namespaceSelector or a podSelector)."""
    named_by = _egress_namers(ctx)
    clients = {ns for w in ctx.selection.selected(policy) for ns in named_by.get(id(w), ())}
    return _narrowed(policy, peer, clients, "the only one whose egress policies name these pods")


def _egress_namers(ctx: ScanContext) -> dict[int, set[str]]:
    """By workload (id): the namespaces of the policies whose egress peers name its pods explicitly (not
    by ``namespaceSelector: {}`` or an ipBlock), computed once per scan."""
    cached = ctx.inventory.cache.get("fix-egress-namers")
    if isinstance(cached, dict):
        return cached
    selection = ctx.selection
    found: dict[int, set[str]] = {}
    for other in ctx.inventory.policies:
        if not selection.selected(other):
            continue
        for rule in other.rules("egress"):
            for to in rule.peers:
                if to.ip_block is not None or (
                    to.namespace_selector is not None and to.namespace_selector.is_empty
                ):
                    continue
                for workload in selection.peer_scope(other, to).workloads:
                    found.setdefault(id(workload), set()).add(other.namespace)
    ctx.inventory.cache["fix-egress-namers"] = found
    return found


def _narrowed(policy: NetworkPolicy, peer: Peer, candidates: set[str], why: str) -> Fix | None:
    """``namespaceSelector: {}`` of ``peer`` narrowed to the one candidate namespace (never kube-system:
    egress there beyond DNS is NPS402's)."""
    if len(candidates) != 1 or DNS_NAMESPACE in candidates:
        return None
    if _raw(policy.document, (*peer.pointer, "namespaceSelector")) != {}:
        return None
    [namespace] = candidates
    edit = Edit(
        policy.document, (*peer.pointer, "namespaceSelector"), {"matchLabels": {NAME_LABEL: namespace}}
    )
    return Fix(f"narrow `namespaceSelector: {{}}` to namespace {namespace}, {why}", (edit,))


def _opens(rule: PolicyRule, protocol: str, number: int) -> bool:
    for spec in rule.ports:
        if spec.protocol != protocol or not isinstance(spec.port, int):
            continue
        if spec.port <= number <= (spec.end_port or spec.port):
            return True
    return False
