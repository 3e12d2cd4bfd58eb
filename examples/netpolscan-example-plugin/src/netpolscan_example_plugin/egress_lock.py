"""A custom policy kind: ACME's ``EgressLock`` (``acme.example.com/v1``), evaluated by netpolscan's engine.

An ``EgressLock`` in a namespace limits what the pods it selects may reach outside the cluster::

    apiVersion: acme.example.com/v1
    kind: EgressLock
    metadata: {name: lock, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: web}}    # omitted: every pod of the namespace
      allowCIDRs: [10.20.0.0/16]                # the only external addresses they may reach

ACME's firewall enforces it before every Kubernetes policy, so the kind puts its policies in a tier of
their own ranked before the Admin tier: a rule allows the listed CIDRs, the next denies every other
address outside the cluster, and traffic inside the cluster goes on to the lower tiers (the tier ends
in ``pass``). Problems are reported through the ``KindSink`` (NPS002 at the field).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from netpolscan import (
    ALLOW,
    DENY,
    PASS,
    AnyOf,
    ClusterView,
    Document,
    IPBlock,
    KindSink,
    LabelSelector,
    Network,
    PeerExpr,
    Pods,
    Tier,
    TierPolicy,
    TierRule,
    World,
    parse_selector,
)

API_VERSION = "acme.example.com/v1"
ACME_FIREWALL = Tier("acme-firewall", 500.0, PASS, "ACME firewall tier")


@dataclass(frozen=True)
class EgressLock:
    namespace: str
    name: str
    selector: LabelSelector
    allowed: tuple[IPBlock, ...]
    document: Document


class EgressLockKind:
    """The ``PolicyKind`` of ``EgressLock`` objects."""

    name = "acme-egress-lock"

    def handles(self, api_version: str, kind: str) -> bool:
        return api_version == API_VERSION and kind == "EgressLock"

    def parse(self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink) -> object | None:
        metadata = data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        spec = data.get("spec")
        if not isinstance(name, str) or not isinstance(spec, dict):
            sink.invalid.append(("an EgressLock needs metadata.name and a spec mapping", ()))
            return None
        selector, problems = parse_selector(spec.get("podSelector") or {}, ("spec", "podSelector"))
        for message, pointer in problems:
            sink.invalid.append((message, pointer))
        cidrs = spec.get("allowCIDRs") or []
        if not isinstance(cidrs, list):
            sink.invalid.append(("allowCIDRs must be a list of CIDRs", ("spec", "allowCIDRs")))
            return None
        allowed: list[IPBlock] = []
        for index, cidr in enumerate(cidrs):
            try:
                allowed.append(IPBlock(ipaddress.ip_network(str(cidr), strict=False)))
            except ValueError:
                sink.invalid.append(
                    (f"allowCIDRs entry {cidr!r} is not a CIDR", ("spec", "allowCIDRs", index))
                )
        if selector is None:
            return None
        return EgressLock(namespace, name, selector, tuple(allowed), doc)

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]:
        for lock in objects:
            assert isinstance(lock, EgressLock)
            allowed: PeerExpr = AnyOf(tuple(Network(block, in_cluster=False) for block in lock.allowed))
            yield TierPolicy(
                kind="EgressLock",
                api_version=API_VERSION,
                namespace=lock.namespace,
                name=lock.name,
                document=lock.document,
                tier=ACME_FIREWALL,
                order=(0, lock.namespace, lock.name),
                subject=Pods(namespace_names=frozenset({lock.namespace}), pod_selector=lock.selector),
                egress=(
                    TierRule(ALLOW, allowed, number=1, name="allowed-cidrs", pointer=("spec", "allowCIDRs")),
                    TierRule(DENY, World(), number=2, name="rest-of-the-world", pointer=("spec",)),
                ),
            )
