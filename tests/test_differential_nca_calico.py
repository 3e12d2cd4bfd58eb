"""Differential test: netpolscan and network-config-analyzer (NCA 2.1.0) on random clusters with random
Calico and Kubernetes policies must allow the same connections.

Each cluster has a few namespaces and pods (with named container ports), one to four Calico policies
(NetworkPolicy and GlobalNetworkPolicy; orders; Allow/Deny/Pass/Log; selectors with every operator of
Calico's language; namespaceSelector, notSelector, nets/notNets, ports/notPorts, named ports, protocol and
notProtocol) and sometimes a Kubernetes NetworkPolicy. All clusters go to NCA in one scheme file (one
process), then every (pod, pod) and (pod, address) cell is compared at TCP, UDP and SCTP.

The generator stays inside what both tools define alike (see tests/test_conformance_nca_calico.py for
the deliberate disagreements): no ICMP, no source ports, no HostEndpoints, no tiers (NCA has none), no
policy order ties except in name order (Calico sorts ties by name, NCA keeps the input order: the input is
written in name order), every pod declares every named port and none is named in ``notPorts`` (NCA 2.1.0
resolves a named port on pods that do not declare it, and does not resolve it in ``notPorts``), no ``notNets`` or namespaced ``notSelector`` without a positive part, no
``nets: [0.0.0.0/0]`` (it holds every pod's address in Calico, only external ones in NCA), and pods
without IP addresses.

NCA is an optional test dependency: ``.ci/install`` puts it in its own virtualenv (its pins conflict with
ours). The test finds it through ``$NETPOLSCAN_NCA`` (the ``nca`` executable), that virtualenv, or
``PATH``, and skips without it (fails under ``CI=true``). 300 clusters by default;
``NETPOLSCAN_DIFFERENTIAL=thorough`` runs 3000.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text
from tests.nca_calico import parse_conn, representatives

pytestmark = pytest.mark.slow  # one NCA run over 300 generated clusters (about a minute)

CLUSTERS = 3000 if os.environ.get("NETPOLSCAN_DIFFERENTIAL") == "thorough" else 300
SEED = 20261203
NCA_VENV = Path(os.environ.get("NETPOLSCAN_NCA_VENV", Path.home() / ".cache" / "netpolscan-nca" / "venv"))

APPS = ("web", "db", "api", "cache")
PORTS = (("http", 80, "TCP"), ("dns", 53, "UDP"), ("metrics", 9090, "TCP"), ("sctp", 3868, "SCTP"))
NETS = ("10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "172.16.0.0/12", "10.1.2.0/24", "128.0.0.0/1")


def nca_executable() -> str | None:
    configured = os.environ.get("NETPOLSCAN_NCA")
    if configured:
        return configured
    venv = NCA_VENV / "bin" / "nca"
    if venv.exists():
        return str(venv)
    return shutil.which("nca")


# --- random clusters -----------------------------------------------------------------------------------


def _atom(rng: random.Random) -> str:
    app = rng.choice(APPS)
    choice = rng.randrange(10)
    if choice == 0:
        return f"app == '{app}'"
    if choice == 1:
        return f"app != '{app}'"
    if choice == 2:
        return "has(tier)"
    if choice == 3:
        return "!has(tier)"
    if choice == 4:
        return f"app in {{'{app}', '{rng.choice(APPS)}'}}"
    if choice == 5:
        return f"app not in {{'{app}'}}"
    if choice == 6:
        return f"app starts with '{app[:2]}'"
    if choice == 7:
        return f"app ends with '{app[-1]}'"
    if choice == 8:
        return f"app contains '{app[1:3]}'"
    return f"tier == '{rng.choice(('front', 'back'))}'"


def selector(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 1 and roll < 0.2:
        return f"{selector(rng, depth + 1)} && {selector(rng, depth + 1)}"
    if depth < 1 and roll < 0.35:
        return f"({selector(rng, depth + 1)} || {selector(rng, depth + 1)})"
    if depth < 1 and roll < 0.42:
        return f"!({_atom(rng)})"
    if roll > 0.93:
        return "all()"
    return _atom(rng)


def namespace_selector(rng: random.Random) -> str:
    return rng.choice(("team == 'a'", "team == 'b'", "env in {'prod'}", "all()", "has(env)", "team != 'a'"))


def _ports(rng: random.Random, protocol: str, named: bool = True) -> list[Any]:
    out: list[Any] = []
    for _ in range(rng.randint(1, 2)):
        kind = rng.randrange(3 if named else 2)
        if kind == 0:
            out.append(rng.choice((80, 53, 443, 9090, 3868)))
        elif kind == 1:
            low = rng.choice((1, 50, 80, 1000))
            out.append(f"{low}:{low + rng.choice((0, 10, 100, 9000))}")
        else:
            out.append(rng.choice([name for name, _, p in PORTS if p == protocol] or ["http"]))
    return out


def _entity(rng: random.Random, namespaced: bool, peer: bool) -> dict[str, Any]:
    entity: dict[str, Any] = {}
    roll = rng.random()
    if not peer:
        if roll < 0.3:
            entity["selector"] = selector(rng)
        return entity
    if roll < 0.15:
        entity["nets"] = rng.sample(NETS, rng.randint(1, 2))
        if rng.random() < 0.4:
            entity["notNets"] = [rng.choice(NETS)]
    elif roll < 0.75:
        if rng.random() < 0.8:
            entity["selector"] = selector(rng)
        if rng.random() < 0.4:
            entity["namespaceSelector"] = namespace_selector(rng)
        if rng.random() < 0.2 and ("selector" in entity or not namespaced):
            entity["notSelector"] = selector(rng)
    return entity


def calico_rule(rng: random.Random, direction: str, namespaced: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": rng.choices(("Allow", "Deny", "Pass", "Log"), (5, 3, 2, 1))[0]}
    protocol = rng.choices((None, "TCP", "UDP", "SCTP"), (4, 4, 2, 1))[0]
    if protocol is not None:
        rule["protocol"] = protocol
    elif rng.random() < 0.15:
        rule["notProtocol"] = rng.choice(("TCP", "UDP"))
    peer_side, subject_side = (
        ("source", "destination") if direction == "ingress" else ("destination", "source")
    )
    peer = _entity(rng, namespaced, peer=True)
    subject = _entity(rng, namespaced, peer=False)
    destination = peer if peer_side == "destination" else subject
    if protocol is not None and rng.random() < 0.5:
        if rng.random() < 0.7:
            destination["ports"] = _ports(rng, protocol)
        else:
            destination["notPorts"] = _ports(rng, protocol, named=False)
    if peer:
        rule[peer_side] = peer
    if subject:
        rule[subject_side] = subject
    return rule


@dataclass
class Cluster:
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)


def random_cluster(rng: random.Random) -> Cluster:
    cluster = Cluster()
    names = [f"ns{i}" for i in range(rng.randint(1, 3))]
    for name in names:
        labels = {"team": rng.choice("ab")}
        if rng.random() < 0.6:
            labels["env"] = rng.choice(("prod", "dev"))
        cluster.namespaces.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        )
    for i in range(rng.randint(2, 6)):
        labels = {"app": rng.choice(APPS), "id": f"p{i}"}
        if rng.random() < 0.5:
            labels["tier"] = rng.choice(("front", "back"))
        ports = [
            {"name": name, "containerPort": number, "protocol": protocol} for name, number, protocol in PORTS
        ]
        cluster.pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"pod{i}", "namespace": rng.choice(names), "labels": labels},
                "spec": {"containers": [{"name": "c", "image": "x", "ports": ports}]},
            }
        )
    keyed: list[tuple[float, str, dict[str, Any]]] = []
    for i in range(rng.randint(1, 4)):
        namespaced = rng.random() < 0.6
        name = f"p{i}"
        spec: dict[str, Any] = {}
        if rng.random() < 0.8:
            spec["selector"] = selector(rng)
        order = rng.choice((None, 1, 5, 10, 100, 2000, 5))
        if order is not None:
            spec["order"] = order
        directions = rng.choice((("ingress",), ("egress",), ("ingress", "egress")))
        for direction in directions:
            spec[direction] = [calico_rule(rng, direction, namespaced) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.5 or not any(spec.get(d) for d in directions):
            spec["types"] = [d.capitalize() for d in directions]
        else:
            for direction in directions:
                if not spec[direction]:
                    del spec[direction]
        metadata: dict[str, Any] = {"name": name}
        if namespaced:
            metadata["namespace"] = rng.choice(names)
        if not namespaced and rng.random() < 0.2:
            spec["namespaceSelector"] = namespace_selector(rng)
        kind = "NetworkPolicy" if namespaced else "GlobalNetworkPolicy"
        key = f"{metadata['namespace']}/{name}" if namespaced else name
        doc = {"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": metadata, "spec": spec}
        keyed.append((float(order) if order is not None else float("inf"), key, doc))
    keyed.sort(key=lambda item: (item[0], item[1]))
    cluster.policies = [doc for _, _, doc in keyed]
    if rng.random() < 0.3:
        cluster.policies.append(_k8s_policy(rng, names))
    return cluster


def _k8s_policy(rng: random.Random, names: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if rng.random() < 0.6:
        rule["from"] = [{"podSelector": {"matchLabels": {"app": rng.choice(APPS)}}}]
    if rng.random() < 0.5:
        rule["ports"] = [{"protocol": "TCP", "port": rng.choice((80, "http", 443))}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "k8s", "namespace": rng.choice(names)},
        "spec": {
            "podSelector": {"matchLabels": {"app": rng.choice(APPS)}} if rng.random() < 0.7 else {},
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        },
    }


# --- comparing ------------------------------------------------------------------------------------------

_NCA_LINE = re.compile(r"^(\S+) => (\S+) : (.*)$")


def nca_tables(nca: str, clusters: list[Cluster], workdir: Path) -> list[dict[tuple[str, str], PortSet]]:
    """For each cluster: (src, dst) -> allowed ports as NCA reports them (``ns/pod`` or an address range)."""
    configs, queries = [], []
    for i, cluster in enumerate(clusters):
        topology = workdir / f"c{i}-topology.yaml"
        topology.write_text(yaml.safe_dump_all(cluster.namespaces + cluster.pods), encoding="utf-8")
        policies = workdir / f"c{i}-policies.yaml"
        policies.write_text(yaml.safe_dump_all(cluster.policies), encoding="utf-8")
        configs.append(
            {
                "name": f"c{i}",
                "namespaceList": topology.name,
                "podList": topology.name,
                "networkPolicyList": [policies.name],
            }
        )
        queries.append(
            {
                "name": f"q{i}",
                "connectivityMap": [f"c{i}"],
                "outputConfiguration": {"outputFormat": "txt_no_fw_rules"},
            }
        )
    scheme = workdir / "scheme.yaml"
    scheme.write_text(yaml.safe_dump({"networkConfigList": configs, "queries": queries}), encoding="utf-8")
    result = subprocess.run(
        [nca, "--scheme", str(scheme)], capture_output=True, text=True, cwd=workdir, timeout=3600
    )
    tables: list[dict[tuple[str, str], PortSet]] = [{} for _ in clusters]
    current: dict[tuple[str, str], PortSet] | None = None
    for line in result.stdout.splitlines():
        started = re.match(r"^Running query q(\d+)$", line.strip())
        if started:
            current = tables[int(started.group(1))]
            continue
        match = _NCA_LINE.match(line.strip())
        if match and current is not None:
            ports, unmodelled = parse_conn(match.group(3))
            assert not unmodelled, line
            key = (_endpoint(match.group(1)), _endpoint(match.group(2)))
            current[key] = current.get(key, NO_PORTS) | ports  # NCA prints one line per connection set
    missing = [i for i, t in enumerate(tables) if not t and clusters[i].pods]
    assert len(missing) < len(clusters), (
        f"NCA printed nothing:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    )
    return tables


def _endpoint(text: str) -> str:
    return text.split("[")[0]


def _nca_cell(table: dict[tuple[str, str], PortSet], src: str, dst: str) -> PortSet:
    direct = table.get((src, dst))
    if direct is not None:
        return direct
    found = NO_PORTS
    for (s, d), ports in table.items():
        if _covers(s, src) and _covers(d, dst):
            found = found | ports
    return found


def _covers(text: str, endpoint: str) -> bool:
    if text == endpoint:
        return True
    if "/" in endpoint and not endpoint[0].isdigit():
        return False  # a pod
    try:
        address = ipaddress.ip_address(endpoint)
    except ValueError:
        return False
    for part in text.split(","):
        if "-" in part:
            low, _, high = part.partition("-")
            try:
                if ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high):
                    return True
            except (ValueError, TypeError):
                continue
        else:
            try:
                if address in ipaddress.ip_network(part, strict=False):
                    return True
            except (ValueError, TypeError):
                continue
    return False


def netpolscan_differences(cluster: Cluster, nca: dict[tuple[str, str], PortSet]) -> list[str]:
    text = "\n---\n".join(yaml.safe_dump(d) for d in cluster.namespaces + cluster.pods + cluster.policies)
    inventory = Inventory.from_documents(list(parse_text(text, "cluster.yaml")), kinds=builtin_kinds())
    assert not inventory.parsed.invalid, inventory.parsed.invalid
    conn = connectivity(inventory)
    pods = {f"{w.namespace}/{w.name}": w for w in inventory.workloads}
    cidrs = [n for p in cluster.policies for n in _strings(p, ("nets", "notNets"))]
    addresses = representatives(cidrs)
    out = []
    for src_name, src in pods.items():
        for dst_name, dst in pods.items():
            if src is not dst:
                mine, theirs = conn.allowed(src, dst), _nca_cell(nca, src_name, dst_name)
                if mine != theirs:
                    out.append(f"{src_name} -> {dst_name}: netpolscan {mine}, NCA {theirs}")
        for address in addresses:
            for a, b, mine in (
                (src_name, str(address), conn.allowed(src, address)),
                (str(address), src_name, conn.allowed(address, src)),
            ):
                theirs = _nca_cell(nca, a, b)
                if mine != theirs:
                    out.append(f"{a} -> {b}: netpolscan {mine}, NCA {theirs}")
    return out


def _strings(value: Any, keys: tuple[str, ...], key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, keys, str(k))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, keys, key)]
    return [value] if isinstance(value, str) and key in keys else []


def test_random_clusters_match_nca(tmp_path: Path) -> None:
    nca = nca_executable()
    if nca is None:
        if os.environ.get("CI") == "true":
            pytest.fail("network-config-analyzer is not installed (run .ci/install)")
        pytest.skip("network-config-analyzer is not installed (run .ci/install, or set NETPOLSCAN_NCA)")
    rng = random.Random(SEED)
    clusters = [random_cluster(rng) for _ in range(CLUSTERS)]
    tables = nca_tables(nca, clusters, tmp_path)
    failures = []
    for i, (cluster, table) in enumerate(zip(clusters, tables, strict=True)):
        diff = netpolscan_differences(cluster, table)
        if diff:
            failures.append(
                f"cluster c{i} ({tmp_path}): {len(diff)} cells differ, e.g. " + "; ".join(diff[:3])
            )
    assert not failures, f"{len(failures)} of {len(clusters)} clusters differ:\n" + "\n".join(failures[:10])
