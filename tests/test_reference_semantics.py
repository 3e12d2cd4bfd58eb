"""Differential test of the semantic engine against a deliberately simple reference evaluator.

The reference below is written straight from the Kubernetes NetworkPolicy API reference and works on the
raw manifests (plain dicts), not on the model: it shares no code with ``netpolscan.model`` or
``netpolscan.analysis``. It answers one question per (source, destination, protocol, port) probe:

* a pod is isolated for a direction iff some policy of its namespace selects it (podSelector) and has
  that direction in its policyTypes, after the API server's defaulting (policyTypes omitted or empty:
  ``Ingress``, plus ``Egress`` when ``egress`` is non-empty);
* a connection is allowed iff (the source is not egress-isolated, or some egress rule of a selecting
  policy matches the destination peer and port) and (the destination is not ingress-isolated, or some
  ingress rule of a selecting policy matches the source peer and port);
* peers: empty/absent from/to = everything (external included); podSelector alone = the policy's
  namespace; namespaceSelector and podSelector in one peer are ANDed; a namespaceSelector never matches an
  external address; ipBlock matches external addresses and pods with a known IP (status.podIP) minus the
  excepts;
* ports: omitted/empty = every port of every protocol; protocol defaults to TCP; a port entry without a
  port is every port of its protocol; endPort makes a range; a named port resolves on the destination
  pod's container port of that name and protocol (ingress: the selected pod; egress: the peer pod) and
  never matches an external address.

Random small clusters (hypothesis) go through the real pipeline (YAML text -> ``parse_text`` ->
``Inventory.from_documents`` -> ``connectivity``) and every probe of ``allowed()`` and of the whole-map
``pairs()`` must agree with the reference. CI runs a fixed (derandomized) set of examples;
``NETPOLSCAN_HYPOTHESIS_PROFILE=thorough`` runs many more with fresh randomness.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.ports import PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.sources.yamlparse import parse_text

_THOROUGH = os.environ.get("NETPOLSCAN_HYPOTHESIS_PROFILE") == "thorough"
_EXAMPLES = int(os.environ.get("NETPOLSCAN_REFERENCE_EXAMPLES", "3000" if _THOROUGH else "200"))
DIFFERENTIAL = settings(
    max_examples=_EXAMPLES,
    derandomize=not _THOROUGH,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = ("TCP", "UDP", "SCTP")
BASE_PORTS = (1, 53, 79, 80, 81, 443, 5432, 8080, 8081, 65535)
BASE_IPS = ("0.0.0.0", "255.255.255.255", "8.8.8.8", "::", "fd00::5", "2001:db8::1", "::ffff:10.0.0.5")


# --- the reference evaluator (raw manifests only) -------------------------------------------------------


class Cluster:
    """The raw manifests, indexed: namespace labels, pods, policies."""

    def __init__(self, documents: list[dict[str, Any]]):
        self.ns_labels: dict[str, dict[str, str]] = {}
        self.pods: list[dict[str, Any]] = []
        self.policies: list[dict[str, Any]] = []
        for doc in documents:
            if doc["kind"] == "Namespace":
                name = doc["metadata"]["name"]
                self.ns_labels[name] = {**(doc["metadata"].get("labels") or {}), NAME_LABEL: name}
        for doc in documents:
            ns = doc["metadata"].get("namespace")
            if ns is not None and ns not in self.ns_labels:
                self.ns_labels[ns] = {NAME_LABEL: ns}  # no Namespace manifest: only the name label
            if doc["kind"] == "Pod":
                self.pods.append(doc)
            elif doc["kind"] == "Deployment":  # its pods: the template's labels and containers, no known IP
                template = doc["spec"]["template"]
                self.pods.append(
                    {
                        "metadata": {**doc["metadata"], "labels": template["metadata"].get("labels") or {}},
                        "spec": template["spec"],
                    }
                )
            elif doc["kind"] == "NetworkPolicy":
                self.policies.append(doc)


def ref_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if key not in labels or labels[key] != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and not (key in labels and labels[key] in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def ref_policy_types(spec: dict[str, Any]) -> set[str]:
    types = spec.get("policyTypes")
    if not types:  # defaulting: omitted or empty
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    return set(types)


def pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    return pod["metadata"].get("labels") or {}


def pod_ips(pod: dict[str, Any]) -> list[Any]:
    """status.podIP and status.podIPs (dual stack): the pod is in an ipBlock when one of them is."""
    status = pod.get("status") or {}
    texts = [status.get("podIP")] + [entry["ip"] for entry in status.get("podIPs") or []]
    return [ipaddress.ip_address(ip) for ip in texts if ip]


def ref_in_block(block: dict[str, Any], address: Any) -> bool:
    if isinstance(address, list):
        return any(ref_in_block(block, a) for a in address)
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if address.version != cidr.version or address not in cidr:
        return False
    return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


def ref_peer_matches(cluster: Cluster, policy_ns: str, peer: dict[str, Any], endpoint: Any) -> bool:
    """``endpoint``: a pod manifest or an IP address."""
    is_pod = isinstance(endpoint, dict)
    # a field set to null is an unset field (a nil pointer in the API types)
    if peer.get("ipBlock") is not None:
        return ref_in_block(peer["ipBlock"], pod_ips(endpoint) if is_pod else endpoint)
    if not is_pod:
        return False
    ns = endpoint["metadata"]["namespace"]
    if peer.get("namespaceSelector") is not None:
        if not ref_selector_matches(peer["namespaceSelector"], cluster.ns_labels[ns]):
            return False
    elif ns != policy_ns:
        return False
    if peer.get("podSelector") is not None:
        return ref_selector_matches(peer["podSelector"], pod_labels(endpoint))
    return True


def ref_port_matches(rule: dict[str, Any], protocol: str, port: int, destination: Any) -> bool:
    specs = rule.get("ports")
    if not specs:
        return True
    for spec in specs:
        if (spec.get("protocol") or "TCP") != protocol:
            continue
        value = spec.get("port")
        if value is None:
            return True
        if isinstance(value, int):
            if value <= port <= spec.get("endPort", value):
                return True
        elif isinstance(destination, dict):  # a named port: only on a destination pod
            for container in destination["spec"]["containers"]:
                for cport in container.get("ports") or []:
                    if (
                        cport.get("name") == value
                        and (cport.get("protocol") or "TCP") == protocol
                        and cport["containerPort"] == port
                    ):
                        return True
    return False


def ref_direction_allows(
    cluster: Cluster, direction: str, owner: dict[str, Any], peer: Any, protocol: str, port: int, dst: Any
) -> bool:
    """Whether ``direction`` at pod ``owner`` lets the probe through (``peer``: the other end)."""
    policy_type = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    isolated = False
    for policy in cluster.policies:
        ns = policy["metadata"]["namespace"]
        spec = policy["spec"]
        if ns != owner["metadata"]["namespace"] or not ref_selector_matches(
            spec.get("podSelector"), pod_labels(owner)
        ):
            continue
        if policy_type not in ref_policy_types(spec):
            continue
        isolated = True
        for rule in spec.get(direction) or []:
            rule = rule or {}
            peers = rule.get(peers_key)
            if peers and not any(ref_peer_matches(cluster, ns, p, peer) for p in peers):
                continue
            if ref_port_matches(rule, protocol, port, dst):
                return True
    return not isolated


def ref_allowed(cluster: Cluster, src: Any, dst: Any, protocol: str, port: int) -> bool:
    if isinstance(src, dict) and not ref_direction_allows(cluster, "egress", src, dst, protocol, port, dst):
        return False
    if isinstance(dst, dict) and not ref_direction_allows(cluster, "ingress", dst, src, protocol, port, dst):
        return False
    return True


# --- probes -----------------------------------------------------------------------------------------------


def _walk(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def probe_ports(cluster: Cluster) -> list[int]:
    ports = set(BASE_PORTS)
    for key, value in _walk([cluster.policies, cluster.pods]):
        if key in ("port", "endPort", "containerPort") and isinstance(value, int):
            ports.update((value - 1, value, value + 1))
    return sorted(p for p in ports if 1 <= p <= 65535)


def probe_ips(cluster: Cluster) -> list[Any]:
    ips = {ipaddress.ip_address(a) for a in BASE_IPS}
    for key, value in _walk(cluster.policies):
        cidrs = [value] if key == "cidr" else value if key == "except" else []
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr, strict=False)
            top = (1 << (32 if net.version == 4 else 128)) - 1
            kind = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
            for base in (int(net.network_address), int(net.broadcast_address)):
                for delta in (-1, 0, 1):
                    if 0 <= base + delta <= top:
                        ips.add(kind(base + delta))
    for pod in cluster.pods:
        ips.update(pod_ips(pod))
    return sorted(ips, key=lambda a: (a.version, int(a)))


# --- the differential check -------------------------------------------------------------------------------


def build(documents: list[dict[str, Any]]) -> Inventory:
    text = "---\n".join(json.dumps(d) + "\n" for d in documents)  # strings stay strings (y, on: YAML 1.1)
    docs = list(parse_text(text, "input.yaml"))
    assert all(d.error is None for d in docs), [d.error for d in docs]
    inv = Inventory.from_documents(docs)
    expected = sum(d["kind"] == "NetworkPolicy" for d in documents)
    assert len(inv.policies) == expected, inv.parsed.invalid
    return inv


def check(documents: list[dict[str, Any]], whole_map: bool = True) -> None:
    """Assert the engine agrees with the reference on every probe (raises with the first disagreements)."""
    cluster = Cluster(documents)
    inv = build(documents)
    conn = connectivity(inv)
    workloads = {(w.namespace, w.name): w for w in inv.workloads}
    pods = [(p, workloads[(p["metadata"]["namespace"], p["metadata"]["name"])]) for p in cluster.pods]
    ports = probe_ports(cluster)
    ips = probe_ips(cluster)
    probes = [(proto, port) for proto in PROTOCOLS for port in ports]
    wrong: list[str] = []

    def compare(label: str, got: Any, src: Any, dst: Any) -> None:
        for proto, port in probes:
            expected = ref_allowed(cluster, src, dst, proto, port)
            if got.contains(proto, port) != expected:
                wrong.append(f"{label} {proto}/{port}: reference {expected}, engine {got}")

    def name(pod: dict[str, Any]) -> str:
        return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"

    pair_map: dict[tuple[int, int], Any] = {}
    ext: dict[tuple[str, int], list[tuple[Any, Any]]] = {}
    if whole_map:
        for c in conn.pairs():
            if hasattr(c.src, "first"):
                ext.setdefault(("ingress", id(c.dst)), []).append((c.src, c.ports))
            elif hasattr(c.dst, "first"):
                ext.setdefault(("egress", id(c.src)), []).append((c.dst, c.ports))
            else:
                key = (id(c.src), id(c.dst))
                assert key not in pair_map, f"pairs() yields {c.src.name}->{c.dst.name} twice"
                pair_map[key] = c.ports
    empty = PortSet.empty()
    for src, src_w in pods:
        for dst, dst_w in pods:
            compare(f"allowed({name(src)} -> {name(dst)})", conn.allowed(src_w, dst_w), src, dst)
            if whole_map and src_w is not dst_w:
                got = pair_map.get((id(src_w), id(dst_w)), empty)
                compare(f"pairs({name(src)} -> {name(dst)})", got, src, dst)
        for ip in ips:
            compare(f"allowed({ip} -> {name(src)})", conn.allowed(ip, src_w), ip, src)
            compare(f"allowed({name(src)} -> {ip})", conn.allowed(src_w, ip), src, ip)
            if whole_map and ip.version == 4:
                for direction, a, b in (("ingress", ip, src), ("egress", src, ip)):
                    found = [p for seg, p in ext.get((direction, id(src_w)), []) if seg.contains(ip)]
                    assert len(found) <= 1, f"{direction} segments overlap at {ip}"
                    got = found[0] if found else empty
                    compare(
                        f"pairs[{direction}]({name(a) if a is src else a} -> {name(b) if b is src else b})",
                        got,
                        a,
                        b,
                    )
        if len(wrong) > 40:
            break
    if wrong:
        manifests = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents)
        raise AssertionError(f"{len(wrong)} disagreements:\n" + "\n".join(wrong[:40]) + "\n" + manifests)


# --- random clusters --------------------------------------------------------------------------------------

NAMESPACES = ("ns-a", "ns-b", "ns-c")
POD_LABELS = {"app": ("a", "b", "c"), "tier": ("x", "y", "")}
NS_LABELS = {"team": ("red", "blue"), "env": ("dev", "prod", "")}
PORT_NAMES = ("http", "dns", "metrics", "web")
PORT_NUMBERS = (53, 80, 81, 443, 8080, 9090)
POD_IPS = (
    None,
    None,
    "10.0.0.5",
    "10.0.0.130",
    "10.0.1.7",
    "10.1.0.1",
    "192.168.0.10",
    "172.16.5.4",
    "fd00::5",
)
CIDRS = (
    "10.0.0.0/8",
    "10.0.0.0/16",
    "10.0.0.0/24",
    "10.0.0.4/30",
    "10.0.0.5/32",
    "10.0.0.5/24",
    "10.1.0.0/16",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "fd00::/8",
    "::/0",
)
EXCEPT_POOL = CIDRS + (
    "10.0.0.0/25",
    "10.0.0.128/25",
    "10.0.0.0/9",
    "10.128.0.0/9",
    "10.0.1.0/24",
    "192.168.0.0/24",
    "10.0.0.6/31",
    "fd00::5/128",
    "8.8.8.0/24",
)


@dataclass(frozen=True)
class Universe:
    """What random clusters draw from."""

    pod_labels: dict[str, tuple[str, ...]]
    ns_labels: dict[str, tuple[str, ...]]
    port_names: tuple[str, ...]
    port_numbers: tuple[int, ...]
    pod_ips: tuple[str | None, ...]
    cidrs: tuple[str, ...]
    max_pods: int
    max_policies: int


WIDE = Universe(POD_LABELS, NS_LABELS, PORT_NAMES, PORT_NUMBERS, POD_IPS, CIDRS, 5, 5)
DENSE = Universe(
    {"app": ("a", "b")},
    {"team": ("red",)},
    ("http", "dns"),
    (80, 81),
    (None, "10.0.0.5", "10.0.0.130", "10.0.1.7"),
    ("10.0.0.0/16", "10.0.0.0/24", "10.0.0.0/25", "0.0.0.0/0"),
    6,
    4,
)


def label_dict(values: dict[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in values.items()})


def selector(values: dict[str, tuple[str, ...]], pods: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    keys = sorted(values) + (["nokey"] if pods else [NAME_LABEL])
    vals = sorted({v for vs in values.values() for v in vs} | set(NAMESPACES) | {"zzz"})
    expression = st.one_of(
        st.builds(
            lambda k, vs, op: {"key": k, "operator": op, "values": vs},
            st.sampled_from(keys),
            st.lists(st.sampled_from(vals), min_size=1, max_size=2, unique=True),
            st.sampled_from(["In", "NotIn"]),
        ),
        st.builds(
            lambda k, op: {"key": k, "operator": op},
            st.sampled_from(keys),
            st.sampled_from(["Exists", "DoesNotExist"]),
        ),
    )
    match_labels = st.fixed_dictionaries(
        {}, optional={k: st.sampled_from(values.get(k, tuple(NAMESPACES))) for k in keys if k != "nokey"}
    )
    full = st.builds(
        lambda match, exprs: {
            **({"matchLabels": match} if match else {}),
            **({"matchExpressions": exprs} if exprs else {}),
        },
        match_labels,
        st.lists(expression, max_size=2),
    )
    return st.one_of(st.just({}), full, full)


@st.composite
def ip_block(draw: st.DrawFn, u: Universe) -> dict[str, Any]:
    cidr = draw(st.sampled_from(u.cidrs))
    net = ipaddress.ip_network(cidr, strict=False)
    holes = [
        e
        for e in EXCEPT_POOL
        if ipaddress.ip_network(e, strict=False).version == net.version
        and ipaddress.ip_network(e, strict=False).subnet_of(net)  # type: ignore[arg-type]
        and ipaddress.ip_network(e, strict=False).prefixlen > net.prefixlen
    ]
    block: dict[str, Any] = {"cidr": cidr}
    if holes and draw(st.booleans()):
        block["except"] = draw(st.lists(st.sampled_from(holes), min_size=1, max_size=3, unique=True))
    return block


@st.composite
def peer(draw: st.DrawFn, u: Universe) -> dict[str, Any]:
    form = draw(st.sampled_from(["pod", "ns", "both", "ip", "ip"]))
    if form == "ip":
        return {"ipBlock": draw(ip_block(u))}
    result: dict[str, Any] = {}
    if form in ("pod", "both"):
        result["podSelector"] = draw(selector(u.pod_labels))
    if form in ("ns", "both"):
        result["namespaceSelector"] = draw(selector(u.ns_labels, pods=False))
    if form != "both" and draw(st.integers(0, 3)) == 0:  # the other selector written as null
        result["namespaceSelector" if form == "pod" else "podSelector"] = None
    return result


@st.composite
def port_spec(draw: st.DrawFn, u: Universe) -> dict[str, Any]:
    result: dict[str, Any] = {}
    protocol = draw(st.sampled_from([None, "TCP", "UDP", "SCTP"]))
    if protocol is not None or draw(st.integers(0, 5)) == 0:
        result["protocol"] = protocol
    form = draw(st.sampled_from(["none", "number", "range", "name", "name"]))
    if form == "number":
        result["port"] = draw(st.sampled_from(u.port_numbers + (1, 65535)))
    elif form == "range":
        start = draw(st.sampled_from(u.port_numbers + (1,)))
        result["port"] = start
        result["endPort"] = draw(st.sampled_from([start, start + 1, start + 100, 65535]))
    elif form == "name":
        result["port"] = draw(st.sampled_from(u.port_names + ("nothere",)))
    return result


@st.composite
def rule(draw: st.DrawFn, u: Universe, key: str) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    peers = draw(st.sampled_from(["absent", "empty", "null", "some", "some", "some", "some", "some"]))
    if peers == "null":
        result[key] = None
    elif peers == "empty":
        result[key] = []
    elif peers == "some":
        result[key] = draw(st.lists(peer(u), min_size=1, max_size=3))
    ports = draw(st.sampled_from(["absent", "empty", "null", "some", "some", "some", "some", "some"]))
    if ports == "null":
        result["ports"] = None
    elif ports == "empty":
        result["ports"] = []
    elif ports == "some":
        result["ports"] = draw(st.lists(port_spec(u), min_size=1, max_size=3))
    return result


@st.composite
def policy(draw: st.DrawFn, u: Universe, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": draw(selector(u.pod_labels))}
    types = draw(
        st.sampled_from(["omit", [], ["Ingress"], ["Egress"], ["Ingress", "Egress"], ["Egress", "Ingress"]])
    )
    if types != "omit":
        spec["policyTypes"] = types
    elif draw(st.integers(0, 5)) == 0:
        spec["policyTypes"] = None
    for direction, key in (("ingress", "from"), ("egress", "to")):
        form = draw(st.sampled_from(["absent", "empty", "null", "some", "some", "some"]))
        if form == "null":
            spec[direction] = None
        elif form == "empty":
            spec[direction] = []
        elif form == "some":
            spec[direction] = draw(
                st.lists(
                    st.one_of(rule(u, key), rule(u, key), rule(u, key), rule(u, key), st.just(None)),
                    min_size=1,
                    max_size=3,
                )
            )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": draw(st.sampled_from(NAMESPACES))},
        "spec": spec,
    }


@st.composite
def container_ports(draw: st.DrawFn, u: Universe) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(u.port_names), max_size=3, unique=True))
    result = []
    for port_name in names + [None] * draw(st.integers(0, 1)):
        entry: dict[str, Any] = {"containerPort": draw(st.sampled_from(u.port_numbers))}
        if port_name is not None:
            entry["name"] = port_name
        protocol = draw(st.sampled_from([None, "TCP", "UDP", "SCTP"]))
        if protocol is not None:
            entry["protocol"] = protocol
        result.append(entry)
    return result


@st.composite
def cluster(draw: st.DrawFn, u: Universe) -> list[dict[str, Any]]:
    namespaces = list(NAMESPACES[: draw(st.integers(2, 3))])
    documents: list[dict[str, Any]] = []
    for ns in namespaces:
        if draw(st.integers(0, 5)) == 0:
            continue  # no Namespace manifest: only the name label is known
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": draw(label_dict(u.ns_labels))},
            }
        )
    for i in range(draw(st.integers(2, u.max_pods))):
        cports = draw(container_ports(u))
        containers = [{"name": "c0", "image": "i", "ports": cports[:2]}]
        if len(cports) > 2:
            containers.append({"name": "c1", "image": "i", "ports": cports[2:]})
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"pod{i}",
                "namespace": draw(st.sampled_from(namespaces)),
                "labels": draw(label_dict(u.pod_labels)),
            },
            "spec": {"containers": containers},
        }
        ip = draw(st.sampled_from(u.pod_ips))
        if ip is not None:
            pod["status"] = {"podIP": ip}
            if ip.count(".") == 3 and draw(st.integers(0, 3)) == 0:  # dual stack
                pod["status"]["podIPs"] = [{"ip": ip}, {"ip": "fd00::7"}]
        documents.append(pod)
        shape = draw(st.integers(0, 5))
        if shape == 0:  # a twin (same namespace, labels, ports and IP): the engine puts both in one class
            documents.append({**pod, "metadata": {**pod["metadata"], "name": f"pod{i}-twin"}})
        elif shape == 1:  # a Deployment with the same template
            meta = pod["metadata"]
            template = {"metadata": {"labels": meta["labels"]}, "spec": pod["spec"]}
            documents.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"deploy{i}", "namespace": meta["namespace"]},
                    "spec": {"selector": {"matchLabels": meta["labels"]}, "template": template},
                }
            )
    for i in range(draw(st.integers(1, u.max_policies))):
        doc = draw(policy(u, f"np{i}"))
        if doc["metadata"]["namespace"] not in namespaces:
            doc["metadata"]["namespace"] = namespaces[0]
        documents.append(doc)
    return documents


@DIFFERENTIAL
@given(cluster(WIDE))
def test_engine_matches_reference(documents: list[dict[str, Any]]) -> None:
    check(documents)


@DIFFERENTIAL
@given(cluster(DENSE))
def test_engine_matches_reference_dense(documents: list[dict[str, Any]]) -> None:
    """A small universe (few labels, names and numbers) where selectors, peers and ports collide often."""
    check(documents)


# --- hand-written cases: one per tricky point (each checked against the reference and stated explicitly) ---


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _pod(
    ns: str, name: str, ports: list[dict[str, Any]] | None = None, ip: str | None = None, **labels: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "i", "ports": ports or []}]},
    }
    if ip:
        doc["status"] = {"podIP": ip}
    return doc


def _np(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _base() -> list[dict[str, Any]]:
    """Namespaces a (team=red) and b (team=blue); pods a/x (app=x, 10.0.0.1), a/y (app=y), b/z (app=z,
    10.0.1.1); a/x serves http on TCP 8080 and dns on UDP 53, b/z serves http on TCP 9090."""
    return [
        _ns("a", team="red"),
        _ns("b", team="blue"),
        _pod(
            "a",
            "x",
            [
                {"name": "http", "containerPort": 8080},
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            ],
            "10.0.0.1",
            app="x",
        ),
        _pod("a", "y", app="y"),
        _pod("b", "z", [{"name": "http", "containerPort": 9090}], "10.0.1.1", app="z"),
    ]


def _conn(documents: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    check(documents)  # the engine agrees with the reference on every probe
    inv = build(documents)
    return connectivity(inv), {f"{w.namespace}/{w.name}": w for w in inv.workloads}


def _ip(text: str) -> Any:
    return ipaddress.ip_address(text)


def test_policy_types_defaulting() -> None:
    egress_rule = [{"to": [{"podSelector": {}}]}]
    # omitted, egress non-empty: Ingress and Egress
    conn, w = _conn(
        _base() + [_np("a", "p", {"podSelector": {"matchLabels": {"app": "x"}}, "egress": egress_rule})]
    )
    assert not conn.allowed(w["a/y"], w["a/x"]) and not conn.allowed(w["a/x"], w["b/z"])
    # an empty egress list does not add Egress; an empty policyTypes list is defaulted like an omitted one
    for spec in ({"egress": []}, {"policyTypes": [], "egress": []}, {"policyTypes": None}):
        conn, w = _conn(_base() + [_np("a", "p", {"podSelector": {"matchLabels": {"app": "x"}}, **spec})])
        assert conn.allowed(w["a/x"], w["b/z"]).is_all and not conn.allowed(w["b/z"], w["a/x"])
    conn, w = _conn(_base() + [_np("a", "p", {"podSelector": {}, "policyTypes": [], "egress": egress_rule})])
    assert not conn.allowed(w["a/x"], w["b/z"]) and not conn.allowed(w["b/z"], w["a/x"])


def test_rules_of_a_direction_not_in_policy_types_are_ignored() -> None:
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "ingress": [{}],
                    "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
                },
            )
        ]
    )
    assert conn.allowed(w["b/z"], w["a/x"]).is_all  # not ingress-isolated: the ingress rule changes nothing
    assert str(conn.allowed(w["a/x"], w["b/z"])) == "UDP 53"


def test_empty_from_includes_external_but_namespace_selector_all_does_not() -> None:
    conn, w = _conn(
        _base() + [_np("a", "p", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{}]})]
    )
    assert conn.allowed(_ip("8.8.8.8"), w["a/x"]).is_all
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [{"from": [{"namespaceSelector": {}}]}],
                },
            )
        ]
    )
    assert not conn.allowed(_ip("8.8.8.8"), w["a/x"]) and conn.allowed(w["b/z"], w["a/x"]).is_all


def test_peer_selectors_scope_and_and_or() -> None:
    own = {
        "podSelector": {"matchLabels": {"app": "x"}},
        "egress": [{"to": [{"podSelector": {}}]}],
        "policyTypes": ["Egress"],
    }
    conn, w = _conn(_base() + [_np("a", "p", own)])
    assert conn.allowed(w["a/x"], w["a/y"]) and not conn.allowed(w["a/x"], w["b/z"])  # own namespace only
    anded = [
        {"namespaceSelector": {"matchLabels": {"team": "blue"}}, "podSelector": {"matchLabels": {"app": "y"}}}
    ]
    ored = [
        {"namespaceSelector": {"matchLabels": {"team": "blue"}}},
        {"podSelector": {"matchLabels": {"app": "y"}}},
    ]
    conn, w = _conn(
        _base()
        + [_np("a", "p", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{"from": anded}]})]
    )
    assert not conn.allowed(w["b/z"], w["a/x"]) and not conn.allowed(w["a/y"], w["a/x"])
    conn, w = _conn(
        _base() + [_np("a", "p", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{"from": ored}]})]
    )
    assert conn.allowed(w["b/z"], w["a/x"]) and conn.allowed(w["a/y"], w["a/x"])


def test_null_namespace_selector_means_the_policy_namespace() -> None:
    """Regression: ``namespaceSelector: null`` beside a podSelector was read as ``{}`` (every namespace)."""
    peer = {"podSelector": {}, "namespaceSelector": None}
    conn, w = _conn(_base() + [_np("a", "p", {"podSelector": {}, "ingress": [{"from": [peer]}]})])
    assert conn.allowed(w["a/y"], w["a/x"]).is_all
    assert not conn.allowed(w["b/z"], w["a/x"])
    # a peer whose only field is null is an empty peer: the API server rejects the policy
    docs = list(
        parse_text(
            yaml.safe_dump(
                _np("a", "p", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": None}]}]})
            ),
            "in.yaml",
        )
    )
    assert not Inventory.from_documents(docs).policies


def test_named_ports_resolve_on_the_destination() -> None:
    # ingress: on the selected pod (a/x: http = TCP 8080); a named port of the wrong protocol matches nothing
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [
                        {"ports": [{"port": "http"}, {"port": "dns"}, {"port": "dns", "protocol": "UDP"}]}
                    ],
                },
            )
        ]
    )
    assert str(conn.allowed(w["b/z"], w["a/x"])) == "TCP 8080,UDP 53"
    assert str(conn.allowed(_ip("8.8.8.8"), w["a/x"])) == "TCP 8080,UDP 53"  # still the destination's port
    # egress: on the peer pod (b/z: http = TCP 9090), and never on an external address
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "policyTypes": ["Egress"],
                    "egress": [{"ports": [{"port": "http"}]}],
                },
            )
        ]
    )
    assert str(conn.allowed(w["a/x"], w["b/z"])) == "TCP 9090"
    assert not conn.allowed(w["a/x"], w["a/y"])  # a/y has no port called http
    assert not conn.allowed(w["a/x"], _ip("8.8.8.8"))


def test_ip_block_matches_pod_ips_and_excepts() -> None:
    block = {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/24"]}
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {"podSelector": {"matchLabels": {"app": "y"}}, "ingress": [{"from": [{"ipBlock": block}]}]},
            )
        ]
    )
    assert conn.allowed(w["b/z"], w["a/y"])  # 10.0.1.1 is in the block
    assert not conn.allowed(w["a/x"], w["a/y"])  # 10.0.0.1 is in the except
    assert conn.allowed(_ip("10.0.255.255"), w["a/y"]) and not conn.allowed(_ip("10.0.0.255"), w["a/y"])
    assert not conn.allowed(_ip("10.1.0.0"), w["a/y"]) and not conn.allowed(_ip("fd00::1"), w["a/y"])
    # a pod without a known IP is never in an ipBlock
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
                },
            )
        ]
    )
    assert not conn.allowed(w["a/y"], w["a/x"]) and conn.allowed(w["b/z"], w["a/x"])


def test_port_forms() -> None:
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [
                        {
                            "ports": [
                                {"port": 80, "endPort": 90},
                                {"protocol": "SCTP"},
                                {"port": 53, "protocol": "UDP"},
                                {},
                            ]
                        }
                    ],
                },
            )
        ]
    )
    assert str(conn.allowed(w["b/z"], w["a/x"])) == "SCTP 1-65535,TCP 1-65535,UDP 53"
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [
                        {
                            "ports": [
                                {"port": 80, "endPort": 90},
                                {"port": 100, "protocol": "UDP", "endPort": 100},
                            ]
                        }
                    ],
                },
            )
        ]
    )
    assert str(conn.allowed(w["b/z"], w["a/x"])) == "TCP 80-90,UDP 100"
    conn, w = _conn(
        _base()
        + [
            _np(
                "a",
                "p",
                {
                    "podSelector": {"matchLabels": {"app": "x"}},
                    "ingress": [{"ports": []}, {"ports": None, "from": [{"podSelector": {}}]}],
                },
            )
        ]
    )
    assert conn.allowed(w["b/z"], w["a/x"]).is_all


def test_namespace_without_manifest_has_only_its_name_label() -> None:
    docs = _base()[1:] + [
        _np(
            "b",
            "p",
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]
                                }
                            },
                        ]
                    }
                ],
            },
        )
    ]
    conn, w = _conn(docs)
    assert conn.allowed(w["a/x"], w["b/z"]) and not conn.allowed(w["b/z"], w["b/z"])
