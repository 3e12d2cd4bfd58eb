"""Which kinds of object live in a namespace, and which namespace a document's object lives in."""

from __future__ import annotations

from typing import Any

# Kinds that are never namespaced; unknown kinds count only with an explicit metadata.namespace.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "APIService", "IngressClass", "RuntimeClass", "PodSecurityPolicy", "CSIDriver", "CSINode",
    "VolumeAttachment", "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy", "ClusterIssuer", "ComponentStatus", "List", "ClusterNetworkPolicy",
    "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy", "GlobalNetworkSet", "Tier", "HostEndpoint",
    "CiliumNode", "StagedGlobalNetworkPolicy",
})  # fmt: skip
NAMESPACED = frozenset({
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
    "Service", "NetworkPolicy", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "Ingress",
    "PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Endpoints", "EndpointSlice",
    "LimitRange", "ResourceQuota", "Lease", "Event", "ControllerRevision", "PodTemplate",
    "CiliumNetworkPolicy", "NetworkSet", "WorkloadEndpoint", "Route", "StagedNetworkPolicy",
})  # fmt: skip


def object_namespace(data: dict[str, Any], default_namespace: str) -> str:
    """``metadata.namespace``, or the default for objects that have none."""
    metadata = data.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) and namespace else default_namespace


def namespace_of_object(data: Any, default_namespace: str) -> str | None:
    """The namespace an object lives in: None for cluster-scoped kinds, and for unknown kinds (custom
    resources) without an explicit ``metadata.namespace`` (they may be cluster-scoped)."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or kind in CLUSTER_SCOPED:
        return None
    metadata = data.get("metadata")
    explicit = metadata.get("namespace") if isinstance(metadata, dict) else None
    if isinstance(explicit, str) and explicit:
        return explicit
    return default_namespace if kind in NAMESPACED else None


def object_identity(data: Any, default_namespace: str) -> tuple[str, str, str, str] | None:
    """What makes two documents the same Kubernetes object: (API group, kind, namespace, name), the
    namespace empty for cluster-scoped kinds; None when the document names no object."""
    if not isinstance(data, dict):
        return None
    kind, api_version, metadata = data.get("kind"), data.get("apiVersion"), data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not (isinstance(kind, str) and isinstance(api_version, str) and isinstance(name, str) and name):
        return None
    group = api_version.rpartition("/")[0]  # the version does not matter: apps/v1 and apps/v1beta2 agree
    namespace = "" if kind in CLUSTER_SCOPED else object_namespace(data, default_namespace)
    return group, kind, namespace, name
