"""Policy and network kinds that change connectivity but that netpolscan does not evaluate (NPS006).

One table: (API group, kind) -> what the object may change that the analysis leaves out. Kinds that a
policy kind module evaluates (NetworkPolicy, ClusterNetworkPolicy, AdminNetworkPolicy,
BaselineAdminNetworkPolicy, Cilium's and Calico's policies) are not here; neither are kinds that only
name backends (Ingress, Route). An object of a kind listed here is never ignored silently.
"""

from __future__ import annotations

from typing import Any

NOT_EVALUATED: dict[tuple[str, str], str] = {
    ("k8s.ovn.org", "UserDefinedNetwork"): (
        "it puts the pods of its namespace on their own network, cut off from other networks, "
        "so connections the policies allow across networks may not exist"
    ),
    ("k8s.ovn.org", "ClusterUserDefinedNetwork"): (
        "it puts the pods of the namespaces it selects on their own network, cut off from other networks, "
        "so connections the policies allow across networks may not exist"
    ),
    ("k8s.ovn.org", "EgressFirewall"): (
        "it can deny egress to external addresses that the network policies allow"
    ),
    ("k8s.cni.cncf.io", "NetworkAttachmentDefinition"): (
        "it attaches pods to a secondary network, whose traffic NetworkPolicies do not govern"
    ),
    ("k8s.cni.cncf.io", "MultiNetworkPolicy"): (
        "it allows or denies traffic on secondary networks, which the analysis does not model"
    ),
    ("kubevirt.io", "VirtualMachine"): (
        "its virtual machine runs in a pod the analysis does not see, so its connections are missing"
    ),
    ("kubevirt.io", "VirtualMachineInstance"): (
        "its virtual machine runs in a pod the analysis does not see, so its connections are missing"
    ),
    ("security.istio.io", "AuthorizationPolicy"): (
        "it can deny requests between workloads that the network policies allow"
    ),
    ("crd.antrea.io", "NetworkPolicy"): (
        "Antrea evaluates it in its own tiers, so it can allow or deny connections ahead of NetworkPolicies"
    ),
    ("crd.antrea.io", "ClusterNetworkPolicy"): (
        "Antrea evaluates it in its own tiers, so it can allow or deny connections ahead of NetworkPolicies"
    ),
    ("security.antrea.tanzu.vmware.com", "NetworkPolicy"): (
        "Antrea evaluates it in its own tiers, so it can allow or deny connections ahead of NetworkPolicies"
    ),
    ("security.antrea.tanzu.vmware.com", "ClusterNetworkPolicy"): (
        "Antrea evaluates it in its own tiers, so it can allow or deny connections ahead of NetworkPolicies"
    ),
}


def not_evaluated_effect(data: Any) -> str | None:
    """What an object of a not-evaluated kind may change (None for any other object)."""
    if not isinstance(data, dict):
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return NOT_EVALUATED.get((api_version.partition("/")[0], kind))
