"""Labels that Kubernetes controllers put on each pod they create, beyond the pod template's.

They change with every rollout or name a single pod (``pod-template-hash``, ``statefulset.kubernetes.io/
pod-name``...), so they say nothing about *which* workload a pod belongs to: leave them out when
matching observed pods to workloads or when writing selectors and expectations from them.
"""

from __future__ import annotations

CONTROLLER_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "controller-uid",
        "batch.kubernetes.io/controller-uid",
        "job-name",
        "batch.kubernetes.io/job-name",
    }
)
