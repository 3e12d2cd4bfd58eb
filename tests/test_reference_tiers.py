"""Differential test of the tiered engine against a direct, slow reading of the ClusterNetworkPolicy API.

The reference below works on raw manifests (plain dicts) and follows the API text of
kubernetes-sigs/network-policy-api (v1alpha2 ``ClusterNetworkPolicy``) literally, one probe at a time:

* each direction is decided by the Admin tier, then NetworkPolicy v1, then the Baseline tier, then the
  default allow; a connection needs egress at the source and ingress at the destination;
* inside a tier, policies by priority (lower first; ties by name, which the API leaves undefined), rules
  in the order written; the first rule whose peers and protocols match decides: ``Accept`` allows,
  ``Deny`` denies, ``Pass`` skips the rest of the tier;
* NetworkPolicy v1 decides for every pod it isolates (allowed iff some rule matches), so the Baseline
  tier is only reached by pods no NetworkPolicy selects in that direction;
* subjects and ``namespaces``/``pods`` peers never match host-network pods; ``networks`` match external
  addresses and every pod (host-network ones included) whose IP lies in a CIDR; ``nodes`` match the
  addresses of matching Node objects (so host-network pods on them);
* ``protocols`` absent: every port; ``destinationPort`` (required) a number or a range; ``destinationNamedPort``
  resolves on the destination pod's container ports.

Random clusters mix NetworkPolicies (the generator of ``test_reference_semantics``) with random Admin and
Baseline policies (Accept/Deny/Pass at random priorities). CI runs a fixed set of examples;
``NETPOLSCAN_HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_reference_semantics import (
    _THOROUGH,
    DENSE,
    DIFFERENTIAL,
    NAMESPACES,
    PROTOCOLS,
    WIDE,
    Cluster,
    Universe,
    cluster,
    pod_ips,
    pod_labels,
    probe_ips,
    probe_ports,
    ref_peer_matches,
    ref_policy_types,
    ref_port_matches,
    ref_selector_matches,
    selector,
)

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.ports import NO_PORTS
from netpolscan.model.inventory import Inventory
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text

# every example probes every pod pair and address on ~100 ports in a slow, literal reference: fewer
# examples than the NetworkPolicy-only reference in CI, many more in the thorough profile
TIERED = (
    DIFFERENTIAL
    if "NETPOLSCAN_REFERENCE_EXAMPLES" in os.environ
    else settings(DIFFERENTIAL, max_examples=1500 if _THOROUGH else 40)
)
NODE_IP = "10.0.9.9"  # no generated pod has it: only host-network pods carry a node's address
CNP_CIDRS = ("0.0.0.0/0", "10.0.0.0/24", "10.0.0.5/32", "10.0.9.9/32", "8.8.8.0/24", "::/0", "fd00::/64")


# --- the reference ---------------------------------------------------------------------------------------


def _host(pod: dict[str, Any]) -> bool:
    return bool(pod["spec"].get("hostNetwork"))


def _ns_labels(cluster: Cluster, pod: dict[str, Any]) -> dict[str, str]:
    return cluster.ns_labels[pod["metadata"]["namespace"]]


def ref_cnp_subject(cluster: Cluster, subject: dict[str, Any], pod: dict[str, Any]) -> bool:
    if _host(pod):
        return False
    if "namespaces" in subject:
        return ref_selector_matches(subject["namespaces"], _ns_labels(cluster, pod))
    pods = subject["pods"]
    return ref_selector_matches(pods["namespaceSelector"], _ns_labels(cluster, pod)) and ref_selector_matches(
        pods["podSelector"], pod_labels(pod)
    )


def _addresses(endpoint: Any) -> list[Any]:
    return pod_ips(endpoint) if isinstance(endpoint, dict) else [endpoint]


def ref_cnp_peer(cluster: Cluster, peer: dict[str, Any], endpoint: Any, nodes: list[dict[str, Any]]) -> bool:
    if "namespaces" in peer or "pods" in peer:
        return isinstance(endpoint, dict) and ref_cnp_subject(cluster, peer, endpoint)
    if "networks" in peer:
        nets = [ipaddress.ip_network(c) for c in peer["networks"]]
        if isinstance(endpoint, dict) and any(n.prefixlen == 0 for n in nets):
            return True  # a whole address family holds every pod's address, known or not
        return any(a.version == n.version and a in n for a in _addresses(endpoint) for n in nets)
    if "nodes" in peer:
        ips = {
            ipaddress.ip_address(a["address"])
            for node in nodes
            if ref_selector_matches(peer["nodes"], node["metadata"].get("labels") or {})
            for a in node["status"]["addresses"]
        }
        return any(a in ips for a in _addresses(endpoint))
    raise AssertionError(peer)


def ref_cnp_ports(rule: dict[str, Any], protocol: str, port: int, dst: Any) -> bool:
    protocols = rule.get("protocols")
    if not protocols:
        return True
    for entry in protocols:
        if "destinationNamedPort" in entry:
            if isinstance(dst, dict):
                for container in dst["spec"]["containers"]:
                    for cport in container.get("ports") or []:
                        if (
                            cport.get("name") == entry["destinationNamedPort"]
                            and cport["containerPort"] == port
                            and (cport.get("protocol") or "TCP") == protocol
                        ):
                            return True
            continue
        ((key, value),) = entry.items()
        if key.upper() != protocol:
            continue
        target = (value or {}).get("destinationPort")
        if target is None:
            return True
        if "number" in target and target["number"] == port:
            return True
        if "range" in target and target["range"]["start"] <= port <= target["range"]["end"]:
            return True
    return False


def ref_tier(
    documents: list[dict[str, Any]], cluster: Cluster, tier: str, direction: str, owner: dict[str, Any],
    peer: Any, protocol: str, port: int, dst: Any,
) -> str | None:  # fmt: skip
    nodes = [d for d in documents if d["kind"] == "Node"]
    policies = [d for d in documents if d["kind"] == "ClusterNetworkPolicy" and d["spec"]["tier"] == tier]
    key = "from" if direction == "ingress" else "to"
    for policy in sorted(policies, key=lambda p: (p["spec"]["priority"], p["metadata"]["name"])):
        if not ref_cnp_subject(cluster, policy["spec"]["subject"], owner):
            continue
        for rule in policy["spec"].get(direction) or []:
            if any(ref_cnp_peer(cluster, p, peer, nodes) for p in rule[key]) and ref_cnp_ports(
                rule, protocol, port, dst
            ):
                return str(rule["action"])
    return None


def ref_np(cluster: Cluster, direction: str, owner: dict[str, Any], peer: Any, protocol: str, port: int, dst: Any) -> bool | None:  # fmt: skip
    """NetworkPolicy v1: None when no policy isolates ``owner`` for ``direction``, else the verdict."""
    policy_type = direction.capitalize()
    isolated = False
    for policy in cluster.policies:
        spec = policy["spec"]
        ns = policy["metadata"]["namespace"]
        if ns != owner["metadata"]["namespace"] or policy_type not in ref_policy_types(spec):
            continue
        if not ref_selector_matches(spec.get("podSelector"), pod_labels(owner)):
            continue
        isolated = True
        for rule in spec.get(direction) or []:
            rule = rule or {}
            peers = rule.get("from" if direction == "ingress" else "to")
            if peers and not any(ref_peer_matches(cluster, ns, p, peer) for p in peers):
                continue
            if ref_port_matches(rule, protocol, port, dst):
                return True
    return False if isolated else None


def ref_direction(documents: list[dict[str, Any]], cluster: Cluster, direction: str, owner: dict[str, Any], peer: Any, protocol: str, port: int, dst: Any) -> bool:  # fmt: skip
    admin = ref_tier(documents, cluster, "Admin", direction, owner, peer, protocol, port, dst)
    if admin in ("Accept", "Deny"):
        return admin == "Accept"
    namespace_tier = ref_np(cluster, direction, owner, peer, protocol, port, dst)
    if namespace_tier is not None:
        return namespace_tier
    return ref_tier(documents, cluster, "Baseline", direction, owner, peer, protocol, port, dst) != "Deny"


def ref_allowed(documents: list[dict[str, Any]], cluster: Cluster, src: Any, dst: Any, protocol: str, port: int) -> bool:  # fmt: skip
    if isinstance(src, dict) and not ref_direction(
        documents, cluster, "egress", src, dst, protocol, port, dst
    ):
        return False
    if isinstance(dst, dict) and not ref_direction(
        documents, cluster, "ingress", dst, src, protocol, port, dst
    ):
        return False
    return True


# --- random cluster policies ----------------------------------------------------------------------------


@st.composite
def cnp_peer(draw: st.DrawFn, u: Universe, direction: str) -> dict[str, Any]:
    forms = ["namespaces", "pods"] + (["networks", "networks", "nodes"] if direction == "egress" else [])
    form = draw(st.sampled_from(forms))
    if form == "namespaces":
        return {"namespaces": draw(selector(u.ns_labels, pods=False))}
    if form == "pods":
        return {"pods": {"namespaceSelector": draw(selector(u.ns_labels, pods=False)),
                         "podSelector": draw(selector(u.pod_labels))}}  # fmt: skip
    if form == "nodes":
        return {
            "nodes": draw(
                st.sampled_from([{}, {"matchLabels": {"zone": "a"}}, {"matchLabels": {"zone": "b"}}])
            )
        }
    return {"networks": draw(st.lists(st.sampled_from(CNP_CIDRS), min_size=1, max_size=2, unique=True))}


@st.composite
def cnp_protocols(draw: st.DrawFn, u: Universe, named: bool) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 2))):
        form = draw(st.sampled_from(["number", "range", "named"] if named else ["number", "range"]))
        if form == "named":
            entries.append({"destinationNamedPort": draw(st.sampled_from(u.port_names))})
            continue
        protocol = draw(st.sampled_from(["tcp", "udp", "sctp"]))  # the CRD requires destinationPort
        if form == "number":
            entries.append({protocol: {"destinationPort": {"number": draw(st.sampled_from(u.port_numbers))}}})
        else:
            start = draw(st.sampled_from(u.port_numbers))
            entries.append({protocol: {"destinationPort": {"range": {"start": start, "end": start + 100}}}})
    return entries


@st.composite
def cluster_policy(draw: st.DrawFn, u: Universe, name: str) -> dict[str, Any]:
    tier = draw(st.sampled_from(["Admin", "Admin", "Baseline"]))
    if draw(st.booleans()):
        subject: dict[str, Any] = {"namespaces": draw(selector(u.ns_labels, pods=False))}
    else:
        subject = {"pods": {"namespaceSelector": draw(selector(u.ns_labels, pods=False)),
                            "podSelector": draw(selector(u.pod_labels))}}  # fmt: skip
    spec: dict[str, Any] = {"tier": tier, "priority": draw(st.integers(0, 3)), "subject": subject}
    for direction, key in (("ingress", "from"), ("egress", "to")):
        rules = []
        for i in range(draw(st.integers(0, 3))):
            peers = draw(st.lists(cnp_peer(u, direction), min_size=1, max_size=2))
            rule: dict[str, Any] = {"name": f"r{i}", "action": draw(st.sampled_from(["Accept", "Deny", "Pass"])),
                                    key: peers}  # fmt: skip
            named_ok = not any("networks" in p or "nodes" in p for p in peers)
            if draw(st.booleans()):
                rule["protocols"] = draw(cnp_protocols(u, named_ok))
            rules.append(rule)
        if rules:
            spec[direction] = rules
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}  # fmt: skip


@st.composite
def tiered_cluster(draw: st.DrawFn, u: Universe) -> list[dict[str, Any]]:
    documents = draw(cluster(u))
    documents.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"zone": "a"}},
                      "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}})  # fmt: skip
    if draw(st.booleans()):  # a host-network pod on n1: its IP is the node's
        documents.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "hostpod", "namespace": NAMESPACES[0], "labels": {"app": "a"}},
                          "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "i"}]},
                          "status": {"podIP": NODE_IP}})  # fmt: skip
    for i in range(draw(st.integers(1, 4))):
        documents.append(draw(cluster_policy(u, f"cnp{i}")))
    return documents


# --- the differential check -----------------------------------------------------------------------------


def check(documents: list[dict[str, Any]]) -> None:
    cluster_data = Cluster([d for d in documents if d["kind"] != "Node"])
    text = "---\n".join(json.dumps(d) + "\n" for d in documents)  # strings stay strings (y, on: YAML 1.1)
    inventory = Inventory.from_documents(parse_text(text, "input.yaml"), kinds=builtin_kinds())
    assert not inventory.parsed.invalid, inventory.parsed.invalid
    assert len(inventory.tier_policies) == sum(d["kind"] == "ClusterNetworkPolicy" for d in documents)
    conn = connectivity(inventory)
    workloads = {(w.namespace, w.name): w for w in inventory.workloads}
    pods = [(p, workloads[(p["metadata"]["namespace"], p["metadata"]["name"])]) for p in cluster_data.pods]
    ports = probe_ports(cluster_data)
    ips = probe_ips(cluster_data)
    probes = [(proto, port) for proto in PROTOCOLS for port in ports]
    pair_map = {(id(c.src), id(c.dst)): c.ports for c in conn.pairs() if not hasattr(c.src, "first")
                and not hasattr(c.dst, "first")}  # fmt: skip
    wrong: list[str] = []

    def compare(label: str, got: Any, src: Any, dst: Any) -> None:
        for proto, port in probes:
            expected = ref_allowed(documents, cluster_data, src, dst, proto, port)
            if got.contains(proto, port) != expected:
                wrong.append(f"{label} {proto}/{port}: reference {expected}, engine {got}")

    for src_pod, src_w in pods:
        for dst_pod, dst_w in pods:
            label = f"{src_w.namespace}/{src_w.name} -> {dst_w.namespace}/{dst_w.name}"
            compare(label, conn.allowed(src_w, dst_w), src_pod, dst_pod)
            if src_w is not dst_w:
                compare(label + " (map)", pair_map.get((id(src_w), id(dst_w)), NO_PORTS), src_pod, dst_pod)
        for address in ips:
            compare(f"{src_w.name} -> {address}", conn.allowed(src_w, address), src_pod, address)
            compare(f"{address} -> {src_w.name}", conn.allowed(address, src_w), address, src_pod)
        if len(wrong) > 20:
            break
    assert not wrong, "\n".join(wrong[:20])


@TIERED
@given(tiered_cluster(WIDE))
def test_tiered_engine_matches_reference(documents: list[dict[str, Any]]) -> None:
    check(documents)


@TIERED
@given(tiered_cluster(DENSE))
def test_tiered_engine_matches_reference_dense(documents: list[dict[str, Any]]) -> None:
    check(documents)
