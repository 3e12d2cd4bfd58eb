"""Generate a large, deterministic cluster written with Cilium policies instead of NetworkPolicies.

Usage::

    python benchmarks/generate_cilium.py --namespaces 1000 > cilium-1000.yaml

N namespaces, each a three-tier application (frontend, api, db: three Deployments and three Services,
the building blocks of ``generate.py``) isolated by four CiliumNetworkPolicies: a namespace default deny
with DNS egress through the DNS proxy (``rules: dns``), the frontend open to ``world`` on 8080, the api
from the frontend with egress to the db and to a partner by domain name (``toFQDNs``), the db from the
api with an ``ingressDeny`` of ``world``. One CiliumClusterwideNetworkPolicy without default deny lets a
monitoring namespace scrape every pod; three Nodes. About 3.7 KB per namespace.

Measure a scan against the CSafeLoader load of the same file with ``bench_tiers.py`` (the issue's
target: within 2.0x; the README's table has the numbers).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence

import generate
from generate import Doc, Node

DNS_PEER = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}


def _tcp(port: int) -> dict[str, Node]:
    return {"ports": [{"port": str(port), "protocol": "TCP"}]}


def cnp(name: str, ns: str, app: str | None, **sections: Node) -> dict[str, Node]:
    selector: dict[str, Node] = {"matchLabels": {"app": app}} if app else {}
    spec: dict[str, Node] = {"endpointSelector": selector, **sections}
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}  # fmt: skip


def three_tier_app(index: int) -> Iterator[Doc]:
    """Namespace ``team-<index>`` with its frontend, api and db (Deployment and Service each), no policy."""
    ns = f"team-{index:04d}"
    yield ("namespace.yaml", generate.namespace(ns, {"team": generate.TEAMS[index % len(generate.TEAMS)]}))
    for app, port in (("frontend", 8080), ("api", 9000), ("db", 5432)):
        container: dict[str, Node] = {"name": app, "image": f"example/{app}:1.0",
                                      "ports": [{"name": "main", "containerPort": port}]}  # fmt: skip
        yield (f"{app}.yaml", generate.deployment(app, ns, {"app": app}, [container], replicas=2))
        yield (f"{app}-svc.yaml", generate.service(app, ns, app, [{"port": port, "targetPort": "main"}]))


def cilium_namespace(index: int) -> Iterator[Doc]:
    ns = f"team-{index:04d}"
    yield from three_tier_app(index)
    dns: dict[str, Node] = {"toEndpoints": [DNS_PEER],
           "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]}  # fmt: skip
    yield ("policies.yaml", cnp("default-deny", ns, None, ingress=[{}], egress=[dns]))
    yield ("policies.yaml", cnp("frontend", ns, "frontend",
                                ingress=[{"fromEntities": ["world"], "toPorts": [_tcp(8080)]}],
                                egress=[{"toEndpoints": [{"matchLabels": {"app": "api"}}], "toPorts": [_tcp(9000)]}]))  # fmt: skip
    yield ("policies.yaml", cnp("api", ns, "api",
                                ingress=[{"fromEndpoints": [{"matchLabels": {"app": "frontend"}}], "toPorts": [_tcp(9000)]}],
                                egress=[{"toEndpoints": [{"matchLabels": {"app": "db"}}], "toPorts": [_tcp(5432)]},
                                        {"toFQDNs": [{"matchName": f"api.partner{index % 50}.example"}],
                                         "toPorts": [_tcp(443)]}]))  # fmt: skip
    yield ("policies.yaml", cnp("db", ns, "db",
                                ingress=[{"fromEndpoints": [{"matchLabels": {"app": "api"}}], "toPorts": [_tcp(5432)]}],
                                ingressDeny=[{"fromEntities": ["world"]}]))  # fmt: skip


def cluster_documents(namespaces: int) -> Iterator[Doc]:
    for index in range(namespaces):
        yield from cilium_namespace(index)
    monitoring: dict[str, Node] = {"endpointSelector": {}, "enableDefaultDeny": {"ingress": False, "egress": False},
                  "ingress": [{"fromEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": "monitoring"}}],
                               "toPorts": [_tcp(9090)]}]}  # fmt: skip
    yield ("cluster/monitoring.yaml", {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                                       "metadata": {"name": "monitoring"}, "spec": monitoring})  # fmt: skip
    for n in range(3):
        node: dict[str, Node] = {"apiVersion": "v1", "kind": "Node",
                                 "metadata": {"name": f"node-{n}", "labels": {"kubernetes.io/hostname": f"node-{n}"}},
                                 "status": {"addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + n}"}]}}  # fmt: skip
        yield ("cluster/nodes.yaml", node)


def main(
    argv: Sequence[str] | None = None,
    documents: Callable[[int], Iterator[Doc]] = cluster_documents,
    description: str = __doc__.splitlines()[0],
) -> int:
    """Write the documents of ``--namespaces`` namespaces to stdout (``generate_calico.py`` reuses this)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--namespaces", type=int, default=1000)
    args = parser.parse_args(argv)
    for source, document in documents(args.namespaces):
        sys.stdout.write(generate.render(source, document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
