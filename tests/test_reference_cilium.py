"""Differential test of the engine on Cilium policies mixed with NetworkPolicies, against a literal reading of
Cilium's policy documentation (``Documentation/security/policy/*.rst``), one probe at a time.

The reference works on raw manifests and on Cilium's own view of a pod: its labels are the Kubernetes
labels plus ``io.kubernetes.pod.namespace`` (and, for cluster-wide policies, the namespace's labels as
``io.cilium.k8s.namespace.labels.KEY``); a selector key may carry the ``k8s:`` source. Per direction:

* a rule of a policy applies to the pods its ``endpointSelector`` selects (a CiliumNetworkPolicy: only in
  its namespace; host-network pods never: they are the host);
* any matching ``ingressDeny``/``egressDeny`` rule denies; otherwise a pod is open unless a NetworkPolicy
  isolates it or a Cilium policy selecting it has rules in that direction (``enableDefaultDeny`` not
  false); an isolated pod needs a matching NetworkPolicy rule or Cilium allow rule;
* peers of a rule add up: ``fromEndpoints`` (pods, not host-network ones; in a CiliumNetworkPolicy only
  its namespace unless the selector names one), ``fromEntities`` (``world``: addresses outside the
  cluster, ``cluster``: every pod, ``all``), ``fromCIDR``/``fromCIDRSet`` (addresses only, never pods); no
  peer field but ``toPorts``: every peer; an empty rule: none;
* ``toPorts``: ``protocol`` omitted or ANY is every protocol, ``port`` "0" or omitted every port,
  ``endPort`` a range, a name the destination pod's container port of that name.

No Node objects: the agent's allow-localhost adds nothing. CI runs a fixed set of examples;
``NETPOLSCAN_HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any

import test_reference_semantics as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reference_semantics import Cluster, Universe
from test_reference_tiers import TIERED, ref_np

from netpolscan.analysis.connectivity import connectivity
from netpolscan.model.inventory import Inventory
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text

# a slower reference than the tiers': fewer examples in CI, as many in the thorough profile
CILIUM = (
    TIERED
    if ref._THOROUGH or "NETPOLSCAN_REFERENCE_EXAMPLES" in os.environ
    else settings(TIERED, max_examples=10)
)
CNP, CCNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"
NAMESPACE_KEY = "io.kubernetes.pod.namespace"
NS_LABEL_PREFIX = "io.cilium.k8s.namespace.labels."
HOST_IP = "10.0.0.5"


# --- the reference ---------------------------------------------------------------------------------------


def cilium_labels(cluster: Cluster, pod: dict[str, Any], clusterwide: bool) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    labels = {**ref.pod_labels(pod), NAMESPACE_KEY: namespace}
    if clusterwide:
        labels.update({NS_LABEL_PREFIX + k: v for k, v in cluster.ns_labels[namespace].items()})
    return labels


def _unprefixed(selector: dict[str, Any]) -> dict[str, Any]:
    def key(k: str) -> str:
        return k.removeprefix("k8s:")

    return {
        "matchLabels": {key(k): v for k, v in (selector.get("matchLabels") or {}).items()},
        "matchExpressions": [{**e, "key": key(e["key"])} for e in selector.get("matchExpressions") or []],
    }


def _names_namespace(selector: dict[str, Any]) -> bool:
    plain = _unprefixed(selector)
    return NAMESPACE_KEY in plain["matchLabels"] or any(
        e["key"] == NAMESPACE_KEY for e in plain["matchExpressions"]
    )


def ref_endpoint(
    cluster: Cluster, policy: dict[str, Any], selector: dict[str, Any], pod: Any, subject: bool
) -> bool:
    """Whether ``pod`` (a manifest or an address) is an endpoint ``selector`` selects in ``policy``."""
    if not isinstance(pod, dict) or pod["spec"].get("hostNetwork"):
        return False
    clusterwide = policy["kind"] == CCNP
    if not clusterwide and (subject or not _names_namespace(selector)):
        if pod["metadata"]["namespace"] != policy["metadata"]["namespace"]:
            return False
    return ref.ref_selector_matches(_unprefixed(selector), cilium_labels(cluster, pod, clusterwide))


def _in_cidr(cidr: str, excepts: list[str], endpoint: Any) -> bool:
    if isinstance(endpoint, dict):  # CIDR rules never select Cilium-managed pods (nor host-network ones)
        return False
    network = ipaddress.ip_network(cidr, strict=False)
    if endpoint.version != network.version or endpoint not in network:
        return False
    return not any(endpoint in ipaddress.ip_network(e, strict=False) for e in excepts)


def ref_peer(
    cluster: Cluster, policy: dict[str, Any], rule: dict[str, Any], direction: str, peer: Any
) -> bool:
    prefix = "from" if direction == "ingress" else "to"
    fields = [
        k
        for k in rule
        if k in (f"{prefix}Endpoints", f"{prefix}Entities", f"{prefix}CIDR", f"{prefix}CIDRSet")
    ]
    if not fields:
        return bool(rule.get("toPorts"))
    for endpoints in rule.get(f"{prefix}Endpoints") or []:
        if ref_endpoint(cluster, policy, endpoints, peer, subject=False):
            return True
    for entity in rule.get(f"{prefix}Entities") or []:
        if entity == "all" or (entity == "world") != isinstance(peer, dict):
            return True
    for cidr in rule.get(f"{prefix}CIDR") or []:
        if _in_cidr(cidr, [], peer):
            return True
    return any(_in_cidr(s["cidr"], s.get("except") or [], peer) for s in rule.get(f"{prefix}CIDRSet") or [])


def ref_ports(rule: dict[str, Any], protocol: str, port: int, dst: Any) -> bool:
    entries = [p for entry in rule.get("toPorts") or [] for p in entry.get("ports") or []]
    if not rule.get("toPorts"):
        return True
    for entry in entries:
        if entry.get("protocol", "ANY") not in ("ANY", protocol):
            continue
        value = entry.get("port", "0")
        if value.isdigit():
            low = int(value)
            if low == 0 or low <= port <= max(low, entry.get("endPort", low)):
                return True
        elif isinstance(dst, dict):
            for container in dst["spec"]["containers"]:
                for cport in container.get("ports") or []:
                    if cport.get("name") == value and cport["containerPort"] == port:
                        if (cport.get("protocol") or "TCP") == protocol:
                            return True
    return False


def ref_direction(documents: list[dict[str, Any]], cluster: Cluster, direction: str, owner: dict[str, Any], peer: Any, protocol: str, port: int, dst: Any) -> bool:  # fmt: skip
    isolated = allowed = False
    for policy in (d for d in documents if d["kind"] in (CNP, CCNP)):
        spec = policy["spec"]
        if not ref_endpoint(cluster, policy, spec["endpointSelector"], owner, subject=True):
            continue
        for rule in spec.get(f"{direction}Deny") or []:
            if ref_peer(cluster, policy, rule, direction, peer) and ref_ports(rule, protocol, port, dst):
                return False
        if (spec.get(direction) or spec.get(f"{direction}Deny")) and (
            spec.get("enableDefaultDeny") or {}
        ).get(direction, True):
            isolated = True
        for rule in spec.get(direction) or []:
            if ref_peer(cluster, policy, rule, direction, peer) and ref_ports(rule, protocol, port, dst):
                allowed = True
    np_verdict = ref_np(cluster, direction, owner, peer, protocol, port, dst)
    if np_verdict is None and not isolated:
        return True
    return allowed or np_verdict is True


def ref_allowed(documents: list[dict[str, Any]], cluster: Cluster, src: Any, dst: Any, protocol: str, port: int) -> bool:  # fmt: skip
    if isinstance(src, dict) and not ref_direction(
        documents, cluster, "egress", src, dst, protocol, port, dst
    ):
        return False
    return not isinstance(dst, dict) or ref_direction(
        documents, cluster, "ingress", dst, src, protocol, port, dst
    )


# --- random Cilium policies ------------------------------------------------------------------------------


@st.composite
def endpoint_selector(draw: st.DrawFn, u: Universe) -> dict[str, Any]:
    chosen = draw(ref.selector(u.pod_labels))
    if draw(st.booleans()):  # the k8s: source on some keys
        chosen = {
            "matchLabels": {f"k8s:{k}": v for k, v in (chosen.get("matchLabels") or {}).items()},
            "matchExpressions": chosen.get("matchExpressions") or [],
        }
    form = draw(st.integers(0, 5))
    if form == 0:
        chosen.setdefault("matchLabels", {})["k8s:" + NAMESPACE_KEY] = draw(st.sampled_from(ref.NAMESPACES))
    elif form == 1:
        values = draw(st.lists(st.sampled_from(ref.NAMESPACES), min_size=1, max_size=2, unique=True))
        op = draw(st.sampled_from(["In", "NotIn"]))
        chosen.setdefault("matchExpressions", []).append(
            {"key": NAMESPACE_KEY, "operator": op, "values": values}
        )
    return chosen


@st.composite
def cilium_rule(
    draw: st.DrawFn, u: Universe, direction: str, deny: bool, clusterwide: bool
) -> dict[str, Any]:
    prefix = "from" if direction == "ingress" else "to"
    rule: dict[str, Any] = {}
    for field in draw(
        st.lists(st.sampled_from(["Endpoints", "Entities", "CIDR", "CIDRSet"]), max_size=2, unique=True)
    ):
        if field == "Endpoints":
            items = draw(st.lists(endpoint_selector(u), max_size=2))
            if clusterwide and items and draw(st.booleans()):
                items[0].setdefault("matchLabels", {})[NS_LABEL_PREFIX + "team"] = draw(
                    st.sampled_from(["red", "blue"])
                )
            rule[prefix + field] = items
        elif field == "Entities":
            rule[prefix + field] = draw(
                st.lists(st.sampled_from(["world", "cluster", "all"]), min_size=1, max_size=2)
            )
        elif field == "CIDR":
            rule[prefix + field] = draw(st.lists(st.sampled_from(u.cidrs), min_size=1, max_size=2))
        else:
            rule[prefix + field] = [{"cidr": draw(st.sampled_from(u.cidrs))}]
    if draw(st.booleans()):
        ports = []
        for _ in range(draw(st.integers(1, 2))):
            entry: dict[str, Any] = {}
            form = draw(st.sampled_from(["number", "range", "name", "any"]))
            if form in ("number", "range"):
                number = draw(st.sampled_from(u.port_numbers))
                entry["port"] = str(number)
                if form == "range":
                    entry["endPort"] = min(number + 100, 65535)
            elif form == "name":
                entry["port"] = draw(st.sampled_from(u.port_names))
            protocol = draw(st.sampled_from([None, "ANY", *ref.PROTOCOLS]))
            if protocol is not None:
                entry["protocol"] = protocol
            ports.append(entry)
        rule["toPorts"] = [{"ports": ports}]
    return rule


@st.composite
def cilium_policy(draw: st.DrawFn, u: Universe, name: str) -> dict[str, Any]:
    clusterwide = draw(st.booleans())
    spec: dict[str, Any] = {"endpointSelector": draw(endpoint_selector(u))}
    for direction in ("ingress", "egress"):
        for section, deny in ((direction, False), (f"{direction}Deny", True)):
            count = draw(st.integers(0, 2 if not deny else 1))
            if count or draw(st.integers(0, 5)) == 0:
                spec[section] = [draw(cilium_rule(u, direction, deny, clusterwide)) for _ in range(count)]
    if not any(k in spec for k in ("ingress", "egress", "ingressDeny", "egressDeny")):
        spec["ingress"] = [{}]
    if draw(st.integers(0, 4)) == 0:
        spec["enableDefaultDeny"] = {draw(st.sampled_from(["ingress", "egress"])): False}
    metadata: dict[str, Any] = {"name": name}
    if not clusterwide:
        metadata["namespace"] = draw(st.sampled_from(ref.NAMESPACES[:2]))
    return {
        "apiVersion": "cilium.io/v2",
        "kind": CCNP if clusterwide else CNP,
        "metadata": metadata,
        "spec": spec,
    }


@st.composite
def cilium_cluster(draw: st.DrawFn, u: Universe) -> list[dict[str, Any]]:
    documents = draw(ref.cluster(u))
    if draw(st.booleans()):  # a host-network pod: the host, never a Cilium endpoint
        documents.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "hostpod", "namespace": ref.NAMESPACES[0], "labels": {"app": "a"}},
                          "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "i"}]},
                          "status": {"podIP": HOST_IP}})  # fmt: skip
    documents += [draw(cilium_policy(u, f"cilium{i}")) for i in range(draw(st.integers(1, 4)))]
    return documents


# --- the differential check -----------------------------------------------------------------------------


def check(documents: list[dict[str, Any]]) -> None:
    cluster_data = Cluster(documents)
    text = "---\n".join(json.dumps(d) + "\n" for d in documents)
    inventory = Inventory.from_documents(parse_text(text, "input.yaml"), kinds=builtin_kinds())
    assert not inventory.parsed.invalid, inventory.parsed.invalid
    conn = connectivity(inventory)
    workloads = {(w.namespace, w.name): w for w in inventory.workloads}
    pods = [(p, workloads[(p["metadata"]["namespace"], p["metadata"]["name"])]) for p in cluster_data.pods]
    cilium = [d for d in documents if d["kind"] in (CNP, CCNP)]
    probes_of = Cluster(documents)  # the probe ports and addresses of the Cilium rules too
    probes_of.policies = [*probes_of.policies, *_probe_hints(cilium)]
    probes = [(proto, port) for proto in ref.PROTOCOLS for port in ref.probe_ports(probes_of)]
    addresses = ref.probe_ips(probes_of)
    wrong: list[str] = []
    for src_pod, src in pods:
        pairs = [(src_pod, src, dst_pod, dst) for dst_pod, dst in pods]
        pairs += [(src_pod, src, a, a) for a in addresses] + [(a, a, src_pod, src) for a in addresses]
        for first_end, first, second_end, second in pairs:
            got = conn.allowed(first, second)
            for proto, port in probes:
                expected = ref_allowed(documents, cluster_data, first_end, second_end, proto, port)
                if got.contains(proto, port) != expected:
                    wrong.append(f"{first} -> {second} {proto}/{port}: reference {expected}, engine {got}")
        if len(wrong) > 20:
            break
    assert not wrong, "\n".join(wrong[:20])


def _probe_hints(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hints: list[dict[str, Any]] = []
    for policy in policies:
        for section in ("ingress", "egress", "ingressDeny", "egressDeny"):
            for rule in policy["spec"].get(section) or []:
                for key, value in rule.items():
                    if key.endswith("CIDR"):
                        hints += [{"cidr": c} for c in value]
                    elif key.endswith("CIDRSet"):
                        hints += value
                for entry in rule.get("toPorts") or []:
                    for port in entry["ports"]:
                        if port.get("port", "").isdigit():
                            hints.append({"port": int(port["port"]), "endPort": port.get("endPort", 1)})
    return hints


@CILIUM
@given(cilium_cluster(ref.WIDE))
def test_engine_matches_cilium_reference(documents: list[dict[str, Any]]) -> None:
    check(documents)


@CILIUM
@given(cilium_cluster(ref.DENSE))
def test_engine_matches_cilium_reference_dense(documents: list[dict[str, Any]]) -> None:
    check(documents)
