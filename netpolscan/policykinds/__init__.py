"""The built-in policy kinds beyond NetworkPolicy v1: each module parses and validates one policy API
into the kind-neutral model of ``netpolscan.model.tiers``. The built-in plugin registers them through
the ``netpolscan_register_policy_kinds`` hook, as a third party registers its own."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from netpolscan.model.tiers import ClusterView, KindSink, PolicyKind, TierPolicy
from netpolscan.sources.document import Document

if TYPE_CHECKING:
    from netpolscan.sources.cluster import ClusterResource


class LazyKind:
    """A built-in kind whose module is imported the first time the input holds an object of its API
    groups (a scan of plain NetworkPolicies never pays for Cilium's or Calico's parsers).

    ``cluster_resources``: what ``--from-cluster`` lists for this kind (``kubectl get`` names), built on
    first use (only ``--from-cluster`` needs them)."""

    def __init__(
        self,
        name: str,
        groups: frozenset[str],
        module: str,
        factory: str,
        cluster_resources: Callable[[], tuple[ClusterResource, ...]] = tuple,
    ) -> None:
        self.name = name
        self._cluster_resources = cluster_resources
        self._groups = groups
        self._module = module
        self._factory = factory
        self._kind: PolicyKind | None = None

    def _real(self) -> PolicyKind:
        if self._kind is None:
            kind = getattr(importlib.import_module(self._module), self._factory)()
            assert kind.name == self.name, (kind.name, self.name)
            self._kind = kind
        return self._kind

    @property
    def cluster_resources(self) -> tuple[ClusterResource, ...]:
        return self._cluster_resources()

    def handles(self, api_version: str, kind: str) -> bool:
        if api_version.partition("/")[0] not in self._groups:
            return False
        return self._real().handles(api_version, kind)

    def parse(self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink) -> object | None:
        return self._real().parse(data, doc, namespace, sink)

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]:
        return self._real().build(objects, cluster)


def builtin_kinds() -> list[PolicyKind]:
    """One instance of every built-in policy kind, in a fixed order (each module imported on first use)."""
    return [
        LazyKind(
            "cluster-network-policy",
            frozenset({"policy.networking.k8s.io"}),
            "netpolscan.policykinds.clusterpolicy",
            "ClusterPolicyKind",
            lambda: _cluster_scoped(
                "clusternetworkpolicies.policy.networking.k8s.io",
                "adminnetworkpolicies.policy.networking.k8s.io",
                "baselineadminnetworkpolicies.policy.networking.k8s.io",
            ),
        ),
        LazyKind(
            "calico",
            frozenset({"projectcalico.org", "crd.projectcalico.org"}),
            "netpolscan.policykinds.calico",
            "CalicoKind",
            lambda: (
                *_calico(
                    "tiers", "globalnetworkpolicies", "globalnetworksets", "hostendpoints", namespaced=False
                ),
                *_calico("networkpolicies", "networksets"),
            ),
        ),
        LazyKind(
            "cilium",
            frozenset({"cilium.io", "discovery.k8s.io"}),
            "netpolscan.policykinds.cilium",
            "CiliumPolicyKind",
            _cilium_resources,
        ),
    ]


def _cluster_scoped(*names: str) -> tuple[ClusterResource, ...]:
    from netpolscan.sources.cluster import POLICY, ClusterResource

    return tuple(ClusterResource((name,), namespaced=False, role=POLICY) for name in names)


def _cilium_resources() -> tuple[ClusterResource, ...]:
    from netpolscan.sources.cluster import OPTIONAL, POLICY, ClusterResource

    return (
        ClusterResource(("ciliumnetworkpolicies.cilium.io",), role=POLICY),
        *_cluster_scoped("ciliumclusterwidenetworkpolicies.cilium.io", "ciliumcidrgroups.cilium.io"),
        ClusterResource(("endpointslices.discovery.k8s.io",), role=OPTIONAL),
    )


def _calico(*plurals: str, namespaced: bool = True) -> tuple[ClusterResource, ...]:
    """Calico's resources: through its API server (projectcalico.org), else as the CRDs store them."""
    from netpolscan.sources.cluster import POLICY, ClusterResource

    return tuple(
        ClusterResource((f"{p}.projectcalico.org", f"{p}.crd.projectcalico.org"), namespaced, POLICY)
        for p in plurals
    )
