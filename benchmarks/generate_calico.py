"""Generate a large, deterministic cluster written with Calico policies instead of NetworkPolicies.

Usage::

    python benchmarks/generate_calico.py --namespaces 1000 > calico-1000.yaml

N namespaces, each a three-tier application (frontend, api, db: three Deployments and three Services,
the building blocks of ``generate.py``) isolated by four Calico NetworkPolicies
(``projectcalico.org/v3``): a namespace default deny (``selector: all()``, ingress and egress) with DNS
egress to kube-dns, the frontend open on 8080 from the ingress-nginx namespace
(``namespaceSelector``) with egress to ``app == 'api'``, the api from ``app == 'frontend'`` with egress
to ``app == 'db'`` on 5432, the db from ``app == 'api'``. Cluster-wide: a Tier ``security`` (order
100) holding two GlobalNetworkPolicies (deny ingress from the cloud metadata range to every workload,
pass everything else to the next tier), and a GlobalNetworkPolicy in the default tier letting a
monitoring namespace scrape every pod on 9090.

Measure a scan against the CSafeLoader load of the same file with ``bench_tiers.py`` (the issue's
target: within 2.0x).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import generate_cilium
from generate import Doc, Node

API_VERSION = "projectcalico.org/v3"


def _tcp(*ports: int) -> dict[str, Node]:
    return {"ports": list(ports)}


def calico_policy(name: str, ns: str, selector: str, types: list[str], **sections: Node) -> dict[str, Node]:
    spec: dict[str, Node] = {"selector": selector, "types": types, **sections}
    return {"apiVersion": API_VERSION, "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}  # fmt: skip


def calico_namespace(index: int) -> Iterator[Doc]:
    ns = f"team-{index:04d}"
    yield from generate_cilium.three_tier_app(index)
    dns: list[Node] = [
        {
            "action": "Allow",
            "protocol": proto,
            "destination": {
                "namespaceSelector": "kubernetes.io/metadata.name == 'kube-system'",
                "selector": "k8s-app == 'kube-dns'",
                "ports": [53],
            },
        }  # fmt: skip
        for proto in ("UDP", "TCP")
    ]
    yield ("policies.yaml", calico_policy("default-deny", ns, "all()", ["Ingress", "Egress"], egress=dns))
    yield ("policies.yaml", calico_policy("frontend", ns, "app == 'web' || app == 'frontend'", ["Ingress", "Egress"],
        ingress=[{"action": "Allow", "protocol": "TCP",
                  "source": {"namespaceSelector": "kubernetes.io/metadata.name == 'ingress-nginx'"},
                  "destination": _tcp(8080)}],
        egress=[{"action": "Allow", "protocol": "TCP", "destination": {"selector": "app == 'api'", **_tcp(9000)}}]))  # fmt: skip
    yield ("policies.yaml", calico_policy("api", ns, "app == 'api'", ["Ingress", "Egress"],
        ingress=[{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'frontend'"},
                  "destination": _tcp(9000)}],
        egress=[{"action": "Allow", "protocol": "TCP", "destination": {"selector": "app == 'db'", **_tcp(5432)}}]))  # fmt: skip
    yield ("policies.yaml", calico_policy("db", ns, "app == 'db'", ["Ingress"],
        ingress=[{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'api'"},
                  "destination": _tcp(5432)}]))  # fmt: skip


def cluster_documents(namespaces: int) -> Iterator[Doc]:
    for index in range(namespaces):
        yield from calico_namespace(index)
    yield ("cluster/tier.yaml", {"apiVersion": API_VERSION, "kind": "Tier",
                                 "metadata": {"name": "security"}, "spec": {"order": 100}})  # fmt: skip
    metadata: dict[str, Node] = {"selector": "all()", "order": 10, "tier": "security", "types": ["Ingress"],
                "ingress": [{"action": "Deny", "source": {"nets": ["169.254.0.0/16"]}}]}  # fmt: skip
    yield ("cluster/security.yaml", {"apiVersion": API_VERSION, "kind": "GlobalNetworkPolicy",
                                     "metadata": {"name": "security.deny-link-local"}, "spec": metadata})  # fmt: skip
    passing: dict[str, Node] = {"selector": "all()", "order": 1000, "tier": "security", "types": ["Ingress", "Egress"],
               "ingress": [{"action": "Pass"}], "egress": [{"action": "Pass"}]}  # fmt: skip
    yield ("cluster/security.yaml", {"apiVersion": API_VERSION, "kind": "GlobalNetworkPolicy",
                                     "metadata": {"name": "security.pass"}, "spec": passing})  # fmt: skip
    monitoring: dict[str, Node] = {"selector": "all()", "order": 100, "types": ["Ingress"],
                  "ingress": [{"action": "Allow", "protocol": "TCP",
                               "source": {"namespaceSelector": "kubernetes.io/metadata.name == 'monitoring'"},
                               "destination": _tcp(9090)}]}  # fmt: skip
    yield ("cluster/monitoring.yaml", {"apiVersion": API_VERSION, "kind": "GlobalNetworkPolicy",
                                       "metadata": {"name": "monitoring"}, "spec": monitoring})  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return generate_cilium.main(argv, cluster_documents, __doc__.splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
