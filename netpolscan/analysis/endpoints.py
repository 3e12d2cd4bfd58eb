"""How connection endpoints are named: ``namespace/name[Kind]`` for workloads, ``first-last[External]``.

A pod is named after its controlling owner (``ownerReferences``), so the pods of one ReplicaSet or
DaemonSet are one endpoint, as netpol-analyzer reports them. An owner reference without a kind keeps the
pod's own kind; a Pod owned by a Node (static pod) is named after itself.
"""

from __future__ import annotations

from typing import Any

from netpolscan.analysis.addresses import Segment
from netpolscan.model.objects import Workload


def _raw_owner(workload: Workload) -> tuple[str, str] | None:
    data: Any = workload.document.data
    metadata = data.get("metadata") if isinstance(data, dict) else None
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref.get("controller", True):
            kind = ref.get("kind")
            return (kind if isinstance(kind, str) and kind else workload.kind), ref["name"]
    return None


def owner_of(workload: Workload) -> tuple[str, str]:
    """(kind, name) of the top owner known from the input (the workload itself when it has none).

    A Pod owned by a Node (a static pod's mirror) is its own workload: the node runs no pod template.
    """
    owner = workload.owner or _raw_owner(workload)
    return owner if owner is not None and owner[0] != "Node" else (workload.kind, workload.name)


def workload_label(workload: Workload) -> str:
    kind, name = owner_of(workload)
    return f"{workload.namespace}/{name}[{kind}]"


def endpoint_label(endpoint: Workload | Segment) -> str:
    """The netpol-analyzer name of a connection endpoint."""
    if isinstance(endpoint, Segment):
        return endpoint.label
    return workload_label(endpoint)


def endpoint_namespace(endpoint: Workload | Segment) -> str | None:
    return None if isinstance(endpoint, Segment) else endpoint.namespace
