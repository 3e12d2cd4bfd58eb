"""Probing Cilium verdicts: an inventory of manifests (with every policy kind), endpoints named as in the
Cilium corpus (``ns/pod``, ``external:IP``, ``host:NODE``, ``fqdn:NAME``/``entity:NAME``), and the verdict
of one connection.

``host:NODE`` is the node's host network namespace. The engine knows a node's host network through the
host-network pods that carry its address, so each Node of the input gets a probe pod: ``hostNetwork:
true``, on that node, with the node's first address as its IP and port 10250/TCP (the kubelet).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import yaml

from netpolscan.analysis.addresses import NamedEndpoint
from netpolscan.analysis.connectivity import Endpoint, connectivity
from netpolscan.analysis.ports import PortSet
from netpolscan.model import Inventory
from netpolscan.model.objects import Workload
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text

PROBE_NAMESPACE = "kube-system"


def probe_name(node: str) -> str:
    return f"host-probe-{node}"


def host_probes(documents: Iterable[Any]) -> str:
    """The probe pods of the Nodes among ``documents`` (parsed YAML)."""
    pods: list[dict[str, Any]] = []
    for data in documents:
        if not isinstance(data, dict) or data.get("kind") != "Node":
            continue
        name = data["metadata"]["name"]
        addresses = [a["address"] for a in data.get("status", {}).get("addresses", [])]
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": probe_name(name), "namespace": PROBE_NAMESPACE},
            "spec": {
                "hostNetwork": True,
                "nodeName": name,
                "containers": [{"name": "kubelet", "ports": [{"containerPort": 10250, "protocol": "TCP"}]}],
            },
            "status": {"podIP": addresses[0], "podIPs": [{"ip": a} for a in addresses]},
        }
        pods.append(pod)
    return yaml.safe_dump_all(pods, sort_keys=False)


def inventory_of(text: str, path: str = "manifests.yaml") -> Inventory:
    """The inventory of ``text`` with every built-in policy kind, plus a probe pod per Node."""
    probes = host_probes(yaml.safe_load_all(text))
    documents = list(parse_text(text, path))
    if probes.strip():
        documents += list(parse_text(probes, "host-probes.yaml"))
    return Inventory.from_documents(documents, kinds=builtin_kinds())


def endpoint(inventory: Inventory, text: str) -> Endpoint | str:
    """A probe endpoint; a named external endpoint stays its name (``fqdn:…``, ``entity:…``)."""
    if text.startswith("external:"):
        return ipaddress.ip_address(text.removeprefix("external:"))
    if text.startswith(("fqdn:", "entity:")):
        return text
    if text.startswith("host:"):
        namespace, name = PROBE_NAMESPACE, probe_name(text.removeprefix("host:"))
    else:
        namespace, name = text.split("/")
    for workload in inventory.workloads_in(namespace):
        if workload.name == name:
            return workload
    raise AssertionError(f"no endpoint {text}")


def allowed_ports(inventory: Inventory, source: str, destination: str) -> PortSet:
    """The ports on which ``source`` may open connections to ``destination``."""
    conn = connectivity(inventory)
    src, dst = endpoint(inventory, source), endpoint(inventory, destination)
    if isinstance(dst, str):  # a named external endpoint: find it among the connections of the source
        assert isinstance(src, Workload), "a named endpoint is only a destination"
        for connection in conn.pairs():
            target = connection.dst
            if connection.src is src and isinstance(target, NamedEndpoint) and target.name == dst:
                return connection.ports
        return PortSet.empty()
    assert not isinstance(src, str)
    return conn.allowed(src, dst)


def verdict(inventory: Inventory, source: str, destination: str, port: int, protocol: str) -> str:
    """``allow`` or ``deny`` for a new connection from ``source`` to ``destination`` on ``port``."""
    allowed = allowed_ports(inventory, source, destination).contains(protocol, port)
    return "allow" if allowed else "deny"
