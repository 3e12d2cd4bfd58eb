"""Generate large, deterministic Kubernetes manifests for benchmarking netpolscan.

Usage::

    python benchmarks/generate.py --namespaces 1000 > app-1000.yaml
    python benchmarks/generate.py --namespaces 2000 --shape dense --seed 7 --output dense.yaml

The output looks like ``helm template``: every document starts with ``---`` and a
``# Source: benchapp/templates/<file>.yaml`` comment.

Shapes:

``app`` (default)
    N namespaces, each holding a small three-tier application (frontend, api, db): a Namespace, three
    Deployments, three Services and five NetworkPolicies (12 documents, about 4.6 KB per namespace;
    N=1000 gives 11,977 documents and 4.6 MB).
    Every 7th namespace is deliberately weak (missing default deny, egress anywhere, ingress from
    anywhere, egress to the cloud metadata address, or a selector typo). A ``kube-system`` namespace with
    kube-dns and an ``ingress-nginx`` namespace with its controller are emitted once.
``dense``
    max(1, N // 100) namespaces holding N workloads in total and about two NetworkPolicies per workload,
    with overlapping ``matchExpressions`` selectors, ipBlocks with ``except``, port ranges (``endPort``)
    and named ports: a stress test for the semantic engine rather than for parsing.

Only the standard library is used; the YAML is written by a small emitter below so that the output is
byte-for-byte stable and cheap to produce.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO, TypeAlias, TypeGuard

CHART = "benchapp"
SHAPES = ("app", "dense")
WEAKNESSES = ("no-default-deny", "egress-anywhere", "ingress-anywhere", "metadata-egress", "selector-typo")
WEAK_EVERY = 7  # namespace i is weak when i % WEAK_EVERY == WEAK_EVERY - 1

Scalar: TypeAlias = str | int | bool | None
Node: TypeAlias = "Scalar | Mapping[str, Node] | Sequence[Node]"

Doc: TypeAlias = "tuple[str, dict[str, Node]]"  # (template file under templates/, manifest)

FLOW_WIDTH = 100  # a nested collection of scalars is written in flow style when its line fits this width


# --------------------------------------------------------------------------------------------------
# A minimal YAML emitter: block style, kubectl-like sequence indentation, short leaf collections in flow
# --------------------------------------------------------------------------------------------------

_PLAIN_CHARS = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*(?::[A-Za-z0-9_./-]+)*")
_NOT_STR = re.compile(
    r"""(?x)
    (?:[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?)  # ints and floats (over-approximated)
    |(?:[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))
    |(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)  # sexagesimal
    |(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)  # timestamps
    |(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)
    |(?:null|Null|NULL|~|=|<<)
    """
)


@lru_cache(maxsize=4096)
def _scalar_str(value: str) -> str:
    """A string as a YAML scalar: plain when it cannot be read back as anything else, else quoted."""
    if _PLAIN_CHARS.fullmatch(value) and not _NOT_STR.fullmatch(value):
        return value
    return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar


def _scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _scalar_str(value)


def _is_scalar(value: Node) -> TypeGuard[Scalar]:
    return isinstance(value, str) or not isinstance(value, Mapping | Sequence)


def _flow(value: Mapping[str, Node] | Sequence[Node], room: int) -> str | None:
    """A collection of scalars in flow style (``{a: 1}``, ``[x, y]``) if it fits in ``room`` columns."""
    parts: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not _is_scalar(item):
                return None
            parts.append(f"{_scalar_str(key)}: {_scalar(item)}")
        text = "{" + ", ".join(parts) + "}"
    else:
        for item in value:
            if not _is_scalar(item):
                return None
            parts.append(_scalar(item))
        text = "[" + ", ".join(parts) + "]"
    return text if len(text) <= room or not parts else None


def _emit_mapping(mapping: Mapping[str, Node], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        head = f"{pad}{_scalar_str(key)}:"
        if _is_scalar(value):
            out.append(f"{head} {_scalar(value)}")
            continue
        assert isinstance(value, Mapping | Sequence)
        # The document's top-level fields (metadata, spec) stay in block style unless empty.
        one_line = _flow(value, FLOW_WIDTH - len(head) - 1) if indent or not value else None
        if one_line is not None:
            out.append(f"{head} {one_line}")
        elif isinstance(value, Mapping):
            out.append(head)
            _emit_mapping(value, indent + 2, out)
        else:
            out.append(head)
            _emit_sequence(value, indent, out)


def _emit_sequence(items: Sequence[Node], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if _is_scalar(item):
            out.append(f"{pad}- {_scalar(item)}")
            continue
        assert isinstance(item, Mapping | Sequence)
        one_line = _flow(item, FLOW_WIDTH - indent - 2)
        if one_line is not None:
            out.append(f"{pad}- {one_line}")
        elif isinstance(item, Mapping):
            start = len(out)
            _emit_mapping(item, indent + 2, out)
            out[start] = f"{pad}- {out[start][indent + 2 :]}"
        else:
            raise ValueError("nested sequences of collections are not supported")


def render(source: str, document: Mapping[str, Node]) -> str:
    """One helm-like document: separator, ``# Source:`` comment and the YAML body."""
    lines = ["---", f"# Source: {CHART}/templates/{source}"]
    _emit_mapping(document, 0, lines)
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Building blocks shared by both shapes
# --------------------------------------------------------------------------------------------------

NS_NAME_LABEL = "kubernetes.io/metadata.name"
TEAMS = ("payments", "search", "identity", "catalog", "checkout", "growth", "platform", "data", "ml", "web")
ENVS = ("prod", "staging", "dev")


def namespace(name: str, labels: Mapping[str, str]) -> dict[str, Node]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}


def deployment(
    name: str,
    ns: str,
    labels: Mapping[str, str],
    containers: Sequence[Mapping[str, Node]],
    replicas: int | None = None,
    selector_key: str = "app",
) -> dict[str, Node]:
    spec: dict[str, Node] = {}
    if replicas is not None:
        spec["replicas"] = replicas
    spec["selector"] = {"matchLabels": {selector_key: labels[selector_key]}}
    spec["template"] = {"metadata": {"labels": dict(labels)}, "spec": {"containers": list(containers)}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": spec,
    }


def service(name: str, ns: str, app: str, ports: Sequence[Node]) -> dict[str, Node]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": app}, "ports": list(ports)},
    }


def network_policy(name: str, ns: str, spec: Mapping[str, Node]) -> dict[str, Node]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": dict(spec),
    }


def resources(cpu: str, memory: str, memory_limit: str | None = None) -> dict[str, Node]:
    """Requests plus a memory limit (the usual advice: no CPU limit)."""
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


def dns_egress_rule() -> dict[str, Node]:
    return {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {NS_NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def cluster_services() -> Iterator[Doc]:
    """``kube-system`` with kube-dns and ``ingress-nginx`` with its controller, emitted once."""
    yield ("cluster/namespaces.yaml", namespace("kube-system", {NS_NAME_LABEL: "kube-system"}))
    dns_labels = {"k8s-app": "kube-dns"}
    dns_container: dict[str, Node] = {
        "name": "coredns",
        "image": "registry.k8s.io/coredns/coredns:v1.11.1",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        ],
        "resources": resources("100m", "70Mi", memory_limit="170Mi"),
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "initialDelaySeconds": 60},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
    }
    yield (
        "cluster/coredns.yaml",
        deployment("coredns", "kube-system", dns_labels, [dns_container], replicas=2, selector_key="k8s-app"),
    )
    yield (
        "cluster/coredns.yaml",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system"},
            "spec": {
                "selector": dict(dns_labels),
                "clusterIP": "10.96.0.10",
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                ],
            },
        },
    )
    yield ("cluster/namespaces.yaml", namespace("ingress-nginx", {NS_NAME_LABEL: "ingress-nginx"}))
    nginx_labels = {
        "app": "ingress-nginx",
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/component": "controller",
    }
    nginx_container: dict[str, Node] = {
        "name": "controller",
        "image": "registry.k8s.io/ingress-nginx/controller:v1.10.0",
        "args": ["/nginx-ingress-controller", "--ingress-class=nginx"],
        "ports": [
            {"name": "http", "containerPort": 80, "protocol": "TCP"},
            {"name": "https", "containerPort": 443, "protocol": "TCP"},
            {"name": "webhook", "containerPort": 8443, "protocol": "TCP"},
        ],
        "resources": resources("100m", "90Mi"),
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 10254}},
    }
    yield (
        "cluster/ingress-nginx.yaml",
        deployment("ingress-nginx-controller", "ingress-nginx", nginx_labels, [nginx_container], replicas=2),
    )
    yield (
        "cluster/ingress-nginx.yaml",
        service(
            "ingress-nginx-controller",
            "ingress-nginx",
            "ingress-nginx",
            [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "https", "port": 443, "targetPort": "https"},
            ],
        ),
    )


# --------------------------------------------------------------------------------------------------
# Shape "app": many small, realistic three-tier namespaces
# --------------------------------------------------------------------------------------------------

APP_WORDS = ("shop", "billing", "search", "auth", "catalog", "orders", "ledger", "media", "notify", "reports")


def weakness_of(index: int) -> str | None:
    """The weakness planted in namespace ``index`` (rotating through :data:`WEAKNESSES`), if any."""
    if index % WEAK_EVERY != WEAK_EVERY - 1:
        return None
    return WEAKNESSES[(index // WEAK_EVERY) % len(WEAKNESSES)]


def app_namespace(index: int, rng: random.Random) -> Iterator[Doc]:
    ns = f"{rng.choice(APP_WORDS)}-{index:04d}"
    team = rng.choice(TEAMS)
    env = rng.choice(ENVS)
    weak = weakness_of(index)
    version = f"{rng.randint(1, 3)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}"
    registry = f"ghcr.io/{team}"

    yield ("namespace.yaml", namespace(ns, {"team": team, "env": env}))

    # -- workloads: realistic but lean (resources, env and probes only where a chart would have them) --
    frontend: dict[str, Node] = {
        "name": "frontend",
        "image": f"{registry}/frontend:{version}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
    }
    api: dict[str, Node] = {
        "name": "api",
        "image": f"{registry}/api:{version}",
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
        "env": [
            {"name": "DB_HOST", "value": "db"},
            {"name": "LOG_LEVEL", "value": rng.choice(("info", "debug"))},
        ],
        "resources": resources(f"{rng.choice((100, 200, 250))}m", f"{rng.choice((256, 512))}Mi"),
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
    }
    db: dict[str, Node] = {
        "name": "postgres",
        "image": "postgres:16.2",
        "ports": [{"name": "postgres", "containerPort": 5432}],
        "env": [{"name": "POSTGRES_DB", "value": "app"}],
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}},
    }
    replicas = rng.choice((2, 3)) if env == "prod" else None
    yield (
        "frontend.yaml",
        deployment("frontend", ns, {"app": "frontend", "tier": "web"}, [frontend], replicas),
    )
    yield (
        "frontend.yaml",
        service("frontend", ns, "frontend", [{"name": "http", "port": 80, "targetPort": "http"}]),
    )
    yield ("api.yaml", deployment("api", ns, {"app": "api", "tier": "backend"}, [api], replicas))
    yield ("api.yaml", service("api", ns, "api", [{"name": "http", "port": 80, "targetPort": "http"}]))
    yield ("db.yaml", deployment("db", ns, {"app": "db", "tier": "data"}, [db], 1))
    yield ("db.yaml", service("db", ns, "db", [{"name": "postgres", "port": 5432, "targetPort": 5432}]))

    # -- policies ---------------------------------------------------------------------------------
    src = "networkpolicies.yaml"
    if weak != "no-default-deny":
        deny: dict[str, Node] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        yield (src, network_policy("default-deny", ns, deny))
    yield (
        src,
        network_policy(
            "allow-dns-egress",
            ns,
            {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns_egress_rule()]},
        ),
    )

    frontend_ingress: list[Node] = [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {NS_NAME_LABEL: "ingress-nginx"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
                }
            ],
            "ports": [{"port": "http"}],
        }
    ]
    if weak == "ingress-anywhere":
        frontend_ingress.append({})
    yield (
        src,
        network_policy(
            "frontend",
            ns,
            {
                "podSelector": {"matchLabels": {"app": "frontend"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": frontend_ingress,
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": "http"}]}
                ],
            },
        ),
    )

    api_egress: list[Node] = [
        {
            "to": [{"podSelector": {"matchLabels": {"app": "db"}}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    ]
    if weak == "egress-anywhere":
        api_egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
    elif weak == "metadata-egress":
        api_egress.append({"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"port": 80}]})
    from_app = "fronted" if weak == "selector-typo" else "frontend"
    yield (
        src,
        network_policy(
            "api",
            ns,
            {
                "podSelector": {"matchLabels": {"app": "api"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app": from_app}}}],
                        "ports": [{"port": "http"}],
                    }
                ],
                "egress": api_egress,
            },
        ),
    )
    yield (
        src,
        network_policy(
            "db",
            ns,
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                        "ports": [{"protocol": "TCP", "port": 5432}],
                    }
                ],
            },
        ),
    )


def app_documents(namespaces: int, rng: random.Random) -> Iterator[Doc]:
    yield from cluster_services()
    for index in range(namespaces):
        yield from app_namespace(index, rng)


# --------------------------------------------------------------------------------------------------
# Shape "dense": few namespaces, many workloads, many overlapping policies
# --------------------------------------------------------------------------------------------------

TIERS = ("web", "api", "worker", "data", "cache")
TRACKS = ("stable", "canary")
PORT_NAMES = {
    "web": (("http", 8080), ("https", 8443)),
    "api": (("http", 8080), ("grpc", 9000)),
    "worker": (("metrics", 9102),),
    "data": (("postgres", 5432), ("metrics", 9187)),
    "cache": (("redis", 6379), ("metrics", 9121)),
}


def _expr(key: str, operator: str, values: Sequence[str] = ()) -> dict[str, Node]:
    expr: dict[str, Node] = {"key": key, "operator": operator}
    if values:
        expr["values"] = list(values)
    return expr


def _selector_exprs(rng: random.Random) -> list[Node]:
    tiers = sorted(rng.sample(TIERS, rng.randint(1, 3)))
    exprs: list[Node] = [_expr("tier", "In", tiers)]
    roll = rng.random()
    if roll < 0.3:
        exprs.append(_expr("track", "NotIn", ["canary"]))
    elif roll < 0.45:
        exprs.append(_expr("team", "Exists"))
    elif roll < 0.55:
        exprs.append(_expr("legacy", "DoesNotExist"))
    return exprs


def _port_entries(rng: random.Random, tier: str) -> list[Node]:
    ports: list[Node] = [{"port": PORT_NAMES[tier][0][0]}]  # a named port
    roll = rng.random()
    if roll < 0.4:
        start = rng.choice((8000, 8080, 9000, 9100))
        ports.append({"protocol": "TCP", "port": start, "endPort": start + rng.choice((10, 99, 500))})
    elif roll < 0.6:
        ports.append({"protocol": "UDP", "port": rng.choice((53, 5353, 8125))})
    elif roll < 0.8:
        ports.append({"protocol": "SCTP", "port": rng.choice((2905, 3868))})
    return ports


def dense_documents(workloads: int, rng: random.Random) -> Iterator[Doc]:
    yield from cluster_services()
    n_ns = max(1, workloads // 100)
    names = [f"dense-{k:03d}" for k in range(n_ns)]
    for k, name in enumerate(names):
        labels = {"team": TEAMS[k % len(TEAMS)], "env": ENVS[k % len(ENVS)], "zone": f"z{k % 4}"}
        yield ("namespace.yaml", namespace(name, labels))
        if k % 2 == 0:
            deny: dict[str, Node] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
            yield ("networkpolicies.yaml", network_policy("default-deny", name, deny))
            dns: dict[str, Node] = {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [dns_egress_rule()],
            }
            yield ("networkpolicies.yaml", network_policy("allow-dns", name, dns))

    for i in range(workloads):
        ns = names[i % n_ns]
        app = f"w-{i:05d}"
        tier = TIERS[i % len(TIERS)]
        labels = {"app": app, "tier": tier, "team": rng.choice(TEAMS), "track": rng.choice(TRACKS)}
        if rng.random() < 0.1:
            labels["legacy"] = "v1"
        container: dict[str, Node] = {
            "name": "main",
            "image": f"registry.example.com/dense/{tier}:{rng.randint(1, 40)}",
            "ports": [{"name": pname, "containerPort": port} for pname, port in PORT_NAMES[tier]],
            "resources": resources("100m", "128Mi"),
        }
        yield (f"{tier}.yaml", deployment(app, ns, labels, [container], rng.choice((1, 2, 3))))

        # Ingress: overlapping expression selectors, peers from other namespaces and ipBlocks.
        own: Node = (
            {"matchLabels": {"app": app}}
            if rng.random() < 0.5
            else {"matchExpressions": _selector_exprs(rng)}
        )
        peers: list[Node] = [{"podSelector": {"matchExpressions": _selector_exprs(rng)}}]
        if rng.random() < 0.6:
            peers.append(
                {
                    "namespaceSelector": {
                        "matchExpressions": [_expr("env", "In", sorted(rng.sample(ENVS, 2)))]
                    },
                    "podSelector": {"matchLabels": {"tier": rng.choice(TIERS)}},
                }
            )
        if rng.random() < 0.4:
            a, b = rng.randint(0, 255), rng.randint(0, 255)
            peers.append(
                {
                    "ipBlock": {
                        "cidr": f"10.{a}.0.0/16",
                        "except": [f"10.{a}.{b}.0/24", f"10.{a}.{(b + 1) % 256}.0/25"],
                    }
                }
            )
        ingress: list[Node] = [{"from": peers, "ports": _port_entries(rng, tier)}]
        if rng.random() < 0.2:
            ingress.append(
                {"from": [{"namespaceSelector": {"matchLabels": {"zone": f"z{rng.randint(0, 3)}"}}}]}
            )
        yield (
            "networkpolicies.yaml",
            network_policy(
                f"{app}-ingress", ns, {"podSelector": own, "policyTypes": ["Ingress"], "ingress": ingress}
            ),
        )

        # Egress: to other tiers (named ports resolve per destination), the internet minus private ranges.
        target = rng.choice(TIERS)
        egress: list[Node] = [
            {
                "to": [{"podSelector": {"matchExpressions": [_expr("tier", "In", [target])]}}],
                "ports": _port_entries(rng, target),
            },
            {
                "to": [
                    {
                        "ipBlock": {
                            "cidr": "0.0.0.0/0",
                            "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"],
                        }
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 443}],
            },
        ]
        if rng.random() < 0.15:
            egress.append({"to": [{"namespaceSelector": {}}]})
        yield (
            "networkpolicies.yaml",
            network_policy(
                f"{app}-egress",
                ns,
                {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Egress"], "egress": egress},
            ),
        )


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    documents: int
    bytes: int


# --------------------------------------------------------------------------------------------------
# Cluster policies (--cluster-policies): a platform team's Admin and Baseline ClusterNetworkPolicies
# --------------------------------------------------------------------------------------------------


def _cnp(name: str, tier: str, priority: int, subject: Node, **rules: Node) -> dict[str, Node]:
    spec: dict[str, Node] = {"tier": tier, "priority": priority, "subject": subject, **rules}
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def _tcp(port: int) -> dict[str, Node]:
    return {"tcp": {"destinationPort": {"number": port}}}


def cluster_policy_documents() -> Iterator[Doc]:
    """Four Admin policies (several rules each, Accept/Deny/Pass) and a Baseline default deny."""
    every_ns: Node = {"namespaces": {}}
    by_name = "kubernetes.io/metadata.name"
    system: Node = {"namespaces": {"matchLabels": {by_name: "kube-system"}}}
    monitoring: Node = {"namespaces": {"matchLabels": {"team": "platform"}}}
    dns_pods: Node = {"pods": {"namespaceSelector": {"matchLabels": {by_name: "kube-system"}},
                               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}}  # fmt: skip
    yield ("cluster/admin-system.yaml", _cnp("protect-kube-system", "Admin", 10, system, ingress=[
        {"name": "dns-from-everyone", "action": "Accept", "from": [every_ns],
         "protocols": [{"udp": {"destinationPort": {"number": 53}}}, _tcp(53)]},
        {"name": "no-other-ingress", "action": "Deny", "from": [every_ns]},
    ]))  # fmt: skip
    yield ("cluster/admin-dns.yaml", _cnp("allow-dns", "Admin", 20, every_ns, egress=[
        {"name": "dns", "action": "Accept", "to": [dns_pods],
         "protocols": [{"udp": {"destinationPort": {"number": 53}}}, _tcp(53)]},
    ]))  # fmt: skip
    yield ("cluster/admin-metadata.yaml", _cnp("deny-metadata", "Admin", 30, every_ns, egress=[
        {"name": "cloud-metadata", "action": "Deny", "to": [{"networks": ["169.254.169.254/32"]}]},
        {"name": "link-local", "action": "Deny", "to": [{"networks": ["169.254.0.0/16"]}]},
    ]))  # fmt: skip
    yield ("cluster/admin-monitoring.yaml", _cnp("monitoring", "Admin", 40, every_ns, ingress=[
        {"name": "scrape", "action": "Accept", "from": [monitoring], "protocols": [_tcp(9090), _tcp(8080)]},
        {"name": "rest-to-namespaces", "action": "Pass", "from": [every_ns]},
    ]))  # fmt: skip
    yield ("cluster/baseline.yaml", _cnp("baseline-default-deny", "Baseline", 0, every_ns, ingress=[
        {"name": "deny-all-ingress", "action": "Deny", "from": [every_ns]},
    ], egress=[
        {"name": "deny-internet", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]},
    ]))  # fmt: skip


def objects(
    namespaces: int, shape: str = "app", seed: int = 0, cluster_policies: bool = False
) -> Iterator[Doc]:
    """``(template file, manifest)`` pairs for ``namespaces`` and ``shape``, deterministic for ``seed``."""
    rng = random.Random(seed)
    if shape == "app":
        found = app_documents(namespaces, rng)
    elif shape == "dense":
        found = dense_documents(namespaces, rng)
    else:
        raise ValueError(f"unknown shape {shape!r} (expected one of {', '.join(SHAPES)})")
    if cluster_policies:
        return itertools.chain(found, cluster_policy_documents())
    return found


def documents(
    namespaces: int, shape: str = "app", seed: int = 0, cluster_policies: bool = False
) -> Iterator[str]:
    """The rendered documents, each starting with ``---`` and ending with a newline."""
    for source, manifest in objects(namespaces, shape, seed, cluster_policies):
        yield render(source, manifest)


def write(
    stream: TextIO, namespaces: int, shape: str = "app", seed: int = 0, cluster_policies: bool = False
) -> Stats:
    """Write the manifests to ``stream``; returns how many documents and bytes (ASCII) were written."""
    count = size = 0
    chunk: list[str] = []
    for text in documents(namespaces, shape, seed, cluster_policies):
        chunk.append(text)
        count += 1
        size += len(text)
        if len(chunk) >= 1024:
            stream.write("".join(chunk))
            chunk.clear()
    stream.write("".join(chunk))
    return Stats(count, size)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--namespaces",
        type=int,
        required=True,
        metavar="N",
        help="namespaces (shape app) or workloads (shape dense)",
    )
    parser.add_argument("--shape", choices=SHAPES, default="app", help="input shape (default: app)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--cluster-policies",
        action="store_true",
        help="add Admin and Baseline ClusterNetworkPolicies (a platform team's cluster-wide rules)",
    )
    args = parser.parse_args(argv)
    if args.namespaces < 0:
        parser.error("--namespaces must be >= 0")
    if args.output:
        with open(args.output, "w", encoding="ascii", newline="\n") as stream:
            stats = write(stream, args.namespaces, args.shape, args.seed, args.cluster_policies)
    else:
        try:
            stats = write(sys.stdout, args.namespaces, args.shape, args.seed, args.cluster_policies)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `| head`: stop quietly, like other Unix tools
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    print(f"{stats.documents} documents, {stats.bytes} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
