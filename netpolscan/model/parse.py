"""Documents -> model objects, with the API server's validation of NetworkPolicies.

Problems are returned, never raised: a broken document or an invalid policy becomes a finding and the
scan goes on. A NetworkPolicy the API server would reject takes no part in the analysis.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan.model.kinds import namespace_of_object, object_namespace
from netpolscan.model.objects import (
    PROTOCOLS,
    ContainerPort,
    IPBlock,
    IPNetwork,
    Namespace,
    NetworkPolicy,
    Peer,
    PolicyRule,
    PortSpec,
    Service,
    ServicePort,
    Workload,
)
from netpolscan.model.selectors import (
    Problem,
    label_key_problem,
    label_value_problem,
    parse_selector,
    type_name,
)
from netpolscan.model.tiers import KindSink, Node, PolicyKind
from netpolscan.sources.document import Document, Pointer

NAME_LABEL = "kubernetes.io/metadata.name"

# kind -> path of the pod template inside the object
WORKLOAD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
NETWORK_POLICY_GROUP = "networking.k8s.io"
NETWORK_POLICY_API = "networking.k8s.io/v1"
DEPRECATED_NETWORK_POLICY_APIS = ("extensions/v1beta1",)
POLICY_TYPES = ("Ingress", "Egress")
_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass
class Parsed:
    """What one document contributed to the model, and what was wrong with it."""

    namespaces: list[Namespace] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    policies: list[NetworkPolicy] = field(default_factory=list)
    unparseable: list[tuple[Document, str, int, int]] = field(default_factory=list)  # NPS001
    invalid: list[tuple[Document, str, Pointer]] = field(default_factory=list)  # NPS002
    deprecated: list[tuple[Document, str]] = field(default_factory=list)  # NPS003
    namespaces_used: set[str] = field(default_factory=set)
    nodes: list[Node] = field(default_factory=list)
    deprecated_kinds: list[tuple[Document, str, Pointer]] = field(default_factory=list)  # NPS003, other kinds
    not_evaluated: list[tuple[Document, str, Pointer]] = field(default_factory=list)  # NPS006
    kind_objects: dict[str, list[object]] = field(default_factory=dict)  # PolicyKind.name -> parsed objects
    duplicates: list[tuple[Document, Document]] = field(default_factory=list)  # NPS007: (copy, first copy)


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _str_map(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): str(v) if not isinstance(v, bool) else str(v).lower() for k, v in raw.items() if v is not None
    }


def parse_document(
    doc: Document, default_namespace: str, parsed: Parsed, kinds: Sequence[PolicyKind] = ()
) -> None:
    """Add the model objects of ``doc`` (and its problems) to ``parsed``; ``kinds`` parse policy kinds
    other than NetworkPolicy v1 (see ``netpolscan.model.tiers``)."""
    if doc.error is not None:
        parsed.unparseable.append((doc, doc.error, doc.error_line or doc.line, doc.error_column or 1))
        return
    for message, line, column in doc.warnings:
        parsed.unparseable.append((doc, message, line, column))
    data = doc.data
    if not isinstance(data, dict):
        parsed.unparseable.append(
            (doc, f"document is {type_name(data)}, not a mapping (a Kubernetes object)", doc.line, 1)
        )
        return
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    missing = [
        key
        for key, value in (("apiVersion", api_version), ("kind", kind))
        if not isinstance(value, str) or not value
    ]
    if missing:
        parsed.unparseable.append(
            (doc, f"document has no {' and no '.join(missing)}: not a Kubernetes object", doc.line, 1)
        )
        return
    assert isinstance(kind, str) and isinstance(api_version, str)
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if kind == "Namespace":
        if isinstance(name, str) and name:
            labels = _str_map(_get(data, "metadata", "labels"))
            labels[NAME_LABEL] = name
            parsed.namespaces.append(Namespace(name, labels, doc))
        return
    placed = namespace_of_object(data, default_namespace)
    if placed is not None:  # any namespaced object puts its namespace in scope
        parsed.namespaces_used.add(placed)
    namespace = object_namespace(data, default_namespace)
    for policy_kind in kinds:
        if policy_kind.handles(api_version, kind):
            _parse_kind(policy_kind, data, doc, namespace, parsed)
            return
    if kind == "Node" and api_version == "v1":
        node = parse_node(data, doc)
        if node is not None:
            parsed.nodes.append(node)
        return
    if kind == "NetworkPolicy":
        if api_version in DEPRECATED_NETWORK_POLICY_APIS:
            parsed.deprecated.append((doc, api_version))
            return
        if api_version.partition("/")[0] != NETWORK_POLICY_GROUP:
            return  # another project's NetworkPolicy kind (Calico's projectcalico.org/v3): not modelled
        if api_version != NETWORK_POLICY_API:
            parsed.invalid.append(
                (
                    doc,
                    f"apiVersion {api_version} does not serve NetworkPolicy (use {NETWORK_POLICY_API})",
                    ("apiVersion",),
                )
            )
            return
        policy, problems = parse_network_policy(data, doc, namespace)
        parsed.invalid.extend((doc, message, pointer) for message, pointer in problems)
        if policy is not None:
            parsed.policies.append(policy)
    elif kind in WORKLOAD_TEMPLATES:
        workload = parse_workload(kind, data, doc, namespace)
        if workload is not None:
            parsed.workloads.append(workload)
    elif kind == "Service":
        service = parse_service(data, doc, namespace)
        if service is not None:
            parsed.services.append(service)


def _parse_kind(
    policy_kind: PolicyKind, data: dict[str, Any], doc: Document, namespace: str, parsed: Parsed
) -> None:
    sink = KindSink()
    kept = policy_kind.parse(data, doc, namespace, sink)
    if kept is not None:
        parsed.kind_objects.setdefault(policy_kind.name, []).append(kept)
    parsed.invalid.extend((doc, message, pointer) for message, pointer in sink.invalid)
    parsed.deprecated_kinds.extend((doc, message, pointer) for message, pointer in sink.deprecated)
    parsed.not_evaluated.extend((doc, message, pointer) for message, pointer in sink.not_evaluated)
    parsed.workloads.extend(sink.workloads)
    parsed.namespaces.extend(sink.namespaces)
    parsed.nodes.extend(sink.nodes)


def parse_node(data: dict[str, Any], doc: Document) -> Node | None:
    """A Node: its name, labels and status addresses (InternalIP, ExternalIP, …)."""
    name = _get(data, "metadata", "name")
    if not isinstance(name, str) or not name:
        return None
    addresses: list[str] = []
    raw = _get(data, "status", "addresses")
    for entry in raw if isinstance(raw, list) else ():
        address = entry.get("address") if isinstance(entry, dict) else None
        if isinstance(address, str) and entry.get("type") in ("InternalIP", "ExternalIP"):
            addresses.append(address)
    return Node(name, _str_map(_get(data, "metadata", "labels")), tuple(addresses), doc)


# --- workloads and services ---------------------------------------------------------------------------


def parse_workload(kind: str, data: dict[str, Any], doc: Document, namespace: str) -> Workload | None:
    name = _get(data, "metadata", "name")
    if not isinstance(name, str) or not name:
        return None
    template_path = WORKLOAD_TEMPLATES[kind]
    template = _get(data, *template_path) if template_path else data
    labels = _str_map(_get(template, "metadata", "labels"))
    spec = _get(template, "spec")
    ports: list[ContainerPort] = []
    containers = _get(spec, "containers")
    for container in containers if isinstance(containers, list) else []:
        container_ports = _get(container, "ports")
        for port in container_ports if isinstance(container_ports, list) else []:
            number = _get(port, "containerPort")
            if isinstance(number, int) and not isinstance(number, bool):
                protocol = _get(port, "protocol")
                port_name = _get(port, "name")
                ports.append(
                    ContainerPort(
                        number,
                        protocol if protocol in PROTOCOLS else "TCP",
                        port_name if isinstance(port_name, str) else None,
                    )
                )
    host_network = _get(spec, "hostNetwork") is True
    pod_ips: list[str] = []
    if kind == "Pod":
        status = data.get("status")
        ips = _get(status, "podIPs")
        for entry in ips if isinstance(ips, list) else []:
            ip = _get(entry, "ip")
            if isinstance(ip, str) and ip not in pod_ips:
                pod_ips.append(ip)
        single = _get(status, "podIP")
        if isinstance(single, str) and single not in pod_ips:
            pod_ips.insert(0, single)
    owner = None
    owners = _get(data, "metadata", "ownerReferences")
    for ref in owners if isinstance(owners, list) else []:
        if isinstance(ref, dict) and isinstance(ref.get("kind"), str) and isinstance(ref.get("name"), str):
            if ref.get("controller", True):
                owner = (ref["kind"], ref["name"])
                break
    return Workload(
        kind,
        namespace,
        name,
        labels,
        tuple(ports),
        doc,
        host_network,
        tuple(pod_ips),
        owner,
        template_path,
        node_name if isinstance(node_name := _get(spec, "nodeName"), str) else "",
    )


def parse_service(data: dict[str, Any], doc: Document, namespace: str) -> Service | None:
    name = _get(data, "metadata", "name")
    if not isinstance(name, str) or not name:
        return None
    spec = data.get("spec")
    selector = _get(spec, "selector")
    ports: list[ServicePort] = []
    raw_ports = _get(spec, "ports")
    for i, raw in enumerate(raw_ports if isinstance(raw_ports, list) else []):
        port = _get(raw, "port")
        if not isinstance(port, int) or isinstance(port, bool):
            continue
        target = _get(raw, "targetPort")
        if not (isinstance(target, str) or (isinstance(target, int) and not isinstance(target, bool))):
            target = port
        protocol = _get(raw, "protocol")
        port_name = _get(raw, "name")
        ports.append(
            ServicePort(
                port,
                target,
                protocol if protocol in PROTOCOLS else "TCP",
                port_name if isinstance(port_name, str) else None,
                i,
            )
        )
    service_type = _get(spec, "type")
    return Service(
        namespace,
        name,
        _str_map(selector) if isinstance(selector, dict) and selector else None,
        tuple(ports),
        doc,
        service_type if isinstance(service_type, str) else "ClusterIP",
    )


# --- NetworkPolicy -------------------------------------------------------------------------------------


def parse_network_policy(
    data: dict[str, Any], doc: Document, namespace: str
) -> tuple[NetworkPolicy | None, list[Problem]]:
    """Parse and validate a NetworkPolicy as the API server would; None when it would be rejected."""
    problems: list[Problem] = []
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(metadata, dict):
        problems.append(("metadata must be a mapping with a name", ("metadata",)))
    elif not isinstance(name, str) or not name:
        problems.append(
            (
                "metadata.name is required and must be a string",
                ("metadata", "name") if "name" in metadata else ("metadata",),
            )
        )
    spec = data.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        problems.append((f"spec must be a mapping, not {type_name(spec)}", ("spec",)))
        return None, problems
    for key in spec:
        if key not in ("podSelector", "policyTypes", "ingress", "egress"):
            problems.append((f"unknown field spec.{key}", ("spec", key)))
    pod_selector, selector_problems = parse_selector(spec.get("podSelector"), ("spec", "podSelector"))
    problems.extend(selector_problems)

    raw_types = spec.get("policyTypes")
    policy_types: list[str] = []
    if raw_types is not None:
        if not isinstance(raw_types, list):
            problems.append(
                (f"policyTypes must be a list, not {type_name(raw_types)}", ("spec", "policyTypes"))
            )
        else:
            for i, value in enumerate(raw_types):
                if value not in POLICY_TYPES:
                    problems.append(
                        (
                            f"unknown policyType {value!r} (expected Ingress or Egress)",
                            ("spec", "policyTypes", i),
                        )
                    )
                elif value not in policy_types:
                    policy_types.append(value)

    rules: dict[str, list[PolicyRule]] = {"ingress": [], "egress": []}
    for direction in ("ingress", "egress"):
        raw_rules = spec.get(direction)
        if raw_rules is None:
            continue
        if not isinstance(raw_rules, list):
            problems.append(
                (f"{direction} must be a list of rules, not {type_name(raw_rules)}", ("spec", direction))
            )
            continue
        for i, raw_rule in enumerate(raw_rules):
            rule = _parse_rule(direction, i, raw_rule, problems)
            if rule is not None:
                rules[direction].append(rule)

    if not raw_types:  # the API server's defaulting (an empty list is defaulted like an omitted one)
        policy_types = ["Ingress"]
        if isinstance(spec.get("egress"), list) and spec["egress"]:
            policy_types.append("Egress")
    if problems or pod_selector is None or not isinstance(name, str):
        return None, problems
    policy = NetworkPolicy(
        namespace=namespace,
        name=name,
        pod_selector=pod_selector,
        policy_types=tuple(policy_types),
        ingress=tuple(rules["ingress"]),
        egress=tuple(rules["egress"]),
        document=doc,
        api_version=str(data.get("apiVersion")),
        explicit_policy_types=bool(raw_types),
        raw_ingress_present="ingress" in spec,
        raw_egress_present="egress" in spec,
    )
    return policy, problems


def _parse_rule(direction: str, index: int, raw: Any, problems: list[Problem]) -> PolicyRule | None:
    pointer: Pointer = ("spec", direction, index)
    peers_key = "from" if direction == "ingress" else "to"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append((f"{direction} rule must be a mapping, not {type_name(raw)}", pointer))
        return None
    before = len(problems)
    for key in raw:
        if key not in (peers_key, "ports"):
            hint = f" (an {direction} rule uses '{peers_key}')" if key in ("from", "to") else ""
            problems.append((f"unknown field {key!r} in {direction} rule{hint}", (*pointer, key)))
    peers: list[Peer] = []
    raw_peers = raw.get(peers_key)
    if raw_peers is not None:
        if not isinstance(raw_peers, list):
            problems.append(
                (f"{peers_key} must be a list of peers, not {type_name(raw_peers)}", (*pointer, peers_key))
            )
        else:
            for i, raw_peer in enumerate(raw_peers):
                peer = _parse_peer(raw_peer, (*pointer, peers_key, i), i, problems)
                if peer is not None:
                    peers.append(peer)
    ports: list[PortSpec] = []
    raw_ports = raw.get("ports")
    if raw_ports is not None:
        if not isinstance(raw_ports, list):
            problems.append((f"ports must be a list, not {type_name(raw_ports)}", (*pointer, "ports")))
        else:
            for i, raw_port in enumerate(raw_ports):
                port = _parse_port(raw_port, (*pointer, "ports", i), problems)
                if port is not None:
                    ports.append(port)
    if len(problems) > before:
        return None
    return PolicyRule(direction, index, tuple(peers), tuple(ports), pointer)


def _parse_peer(raw: Any, pointer: Pointer, index: int, problems: list[Problem]) -> Peer | None:
    if not isinstance(raw, dict):
        problems.append((f"peer must be a mapping, not {type_name(raw)}", pointer))
        return None
    known = ("podSelector", "namespaceSelector", "ipBlock")
    unknown = [key for key in raw if key not in known]
    for key in unknown:
        problems.append(
            (
                f"unknown peer field {key!r} (expected podSelector, namespaceSelector or ipBlock)",
                (*pointer, key),
            )
        )
    # a field set to null is unset (a nil pointer in the API types): `namespaceSelector: null` next to a
    # podSelector means the policy's own namespace, not every namespace
    present = [key for key in known if raw.get(key) is not None]
    if not present:
        if not unknown:
            problems.append(
                (
                    "peer has no field: set podSelector, namespaceSelector or ipBlock (an empty peer is rejected)",
                    pointer,
                )
            )
        return None
    if "ipBlock" in present and len(present) > 1:
        problems.append(("a peer cannot combine ipBlock with podSelector or namespaceSelector", pointer))
        return None
    before = len(problems)
    pod_selector = namespace_selector = None
    ip_block = None
    if "podSelector" in present:
        pod_selector, found = parse_selector(raw["podSelector"], (*pointer, "podSelector"))
        problems.extend(found)
    if "namespaceSelector" in present:
        namespace_selector, found = parse_selector(raw["namespaceSelector"], (*pointer, "namespaceSelector"))
        problems.extend(found)
    if "ipBlock" in present:
        ip_block = _parse_ip_block(raw["ipBlock"], (*pointer, "ipBlock"), problems)
    if len(problems) > before:
        return None
    return Peer(pod_selector, namespace_selector, ip_block, index, pointer)


def _parse_network(value: Any) -> IPNetwork | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _parse_ip_block(raw: Any, pointer: Pointer, problems: list[Problem]) -> IPBlock | None:
    if not isinstance(raw, dict):
        problems.append((f"ipBlock must be a mapping, not {type_name(raw)}", pointer))
        return None
    for key in raw:
        if key not in ("cidr", "except"):
            problems.append((f"unknown ipBlock field {key!r}", (*pointer, key)))
    cidr = _parse_network(raw.get("cidr"))
    if cidr is None:
        where = (*pointer, "cidr") if "cidr" in raw else pointer
        problems.append((f"ipBlock.cidr {raw.get('cidr')!r} is not a valid CIDR (like 10.0.0.0/16)", where))
        return None
    excepts: list[IPNetwork] = []
    raw_except = raw.get("except")
    if raw_except is not None and not isinstance(raw_except, list):
        problems.append((f"ipBlock.except must be a list, not {type_name(raw_except)}", (*pointer, "except")))
        return None
    for i, value in enumerate(raw_except or []):
        hole = _parse_network(value)
        where = (*pointer, "except", i)
        if hole is None:
            problems.append((f"ipBlock.except entry {value!r} is not a valid CIDR", where))
        elif hole.version != cidr.version or not hole.subnet_of(cidr) or hole.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
            problems.append((f"ipBlock.except entry {value} must be a strict subset of cidr {cidr}", where))
        else:
            excepts.append(hole)
    if len(excepts) != len(raw_except or []):
        return None
    return IPBlock(cidr, tuple(excepts))


def _parse_port(raw: Any, pointer: Pointer, problems: list[Problem]) -> PortSpec | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append((f"ports entry must be a mapping, not {type_name(raw)}", pointer))
        return None
    before = len(problems)
    for key in raw:
        if key not in ("port", "protocol", "endPort"):
            problems.append((f"unknown ports field {key!r}", (*pointer, key)))
    protocol = raw.get("protocol", "TCP")
    if protocol is None:
        protocol = "TCP"
    if protocol not in PROTOCOLS:
        problems.append(
            (f"unknown protocol {protocol!r} (expected TCP, UDP or SCTP)", (*pointer, "protocol"))
        )
    port = raw.get("port")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int | str):
            problems.append(
                (f"port must be a number or a port name, not {type_name(port)}", (*pointer, "port"))
            )
        elif isinstance(port, int):
            if not 1 <= port <= 65535:
                problems.append((f"port {port} is outside 1-65535", (*pointer, "port")))
        elif len(port) > 15 or not _SVC_NAME.match(port) or "--" in port or not re.search("[a-z]", port):
            problems.append(
                (
                    f"port name {port!r} is not a valid port name (1-15 lowercase letters, digits and '-', with a letter)",
                    (*pointer, "port"),
                )
            )
    end_port = raw.get("endPort")
    if end_port is not None:
        if isinstance(end_port, bool) or not isinstance(end_port, int):
            problems.append((f"endPort must be a number, not {type_name(end_port)}", (*pointer, "endPort")))
        elif port is None:
            problems.append(("endPort requires port", (*pointer, "endPort")))
        elif isinstance(port, str):
            problems.append(("endPort cannot be used with a named port", (*pointer, "endPort")))
        elif isinstance(port, int) and not isinstance(port, bool) and end_port < port:
            problems.append((f"endPort {end_port} is less than port {port}", (*pointer, "endPort")))
        elif not 1 <= end_port <= 65535:
            problems.append((f"endPort {end_port} is outside 1-65535", (*pointer, "endPort")))
    if len(problems) > before:
        return None
    return PortSpec(str(protocol), port, end_port, pointer)


__all__ = [
    "Parsed",
    "parse_document",
    "parse_network_policy",
    "NAME_LABEL",
    "label_key_problem",
    "label_value_problem",
]
