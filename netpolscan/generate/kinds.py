"""Policy specs as manifests of one kind, each in its own idiom.

- ``networkpolicy``: NetworkPolicy v1. Default deny: ``podSelector: {}`` with both policyTypes.
- ``cilium``: CiliumNetworkPolicy (``cilium.io/v2``). Default deny: ``endpointSelector: {}`` with an
  empty ingress rule (``ingress: [{}]``, which isolates and allows nothing) and the DNS egress rule.
- ``calico``: Calico NetworkPolicy (``projectcalico.org/v3``) in the default tier. Default deny:
  ``selector: all()`` with both types (a tier whose policies select a pod and allow nothing denies).
  Rules carry one protocol each.
- ``cluster``: ClusterNetworkPolicy (``policy.networking.k8s.io/v1alpha2``) in the Baseline tier, so
  that namespace owners' NetworkPolicies still decide first. Default deny per namespace: priority 1000,
  ingress Deny from every namespace, egress Deny to every namespace and every address; allows at
  priority 100, at most 25 rules per direction and 25 peers per rule (the CRD's limits), further
  policies numbered ``-2``, ``-3``. Ports by number (a named port matches any protocol there). The API
  has no ingress peer for addresses outside the cluster: that traffic is not denied by this kind.

Objects carry ``app.kubernetes.io/managed-by: netpolscan``; names are ``netpolscan-`` + the spec name
(cluster-scoped names also carry the namespace), shortened with a hash past 253 characters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netpolscan.generate.plan import Sel
from netpolscan.generate.specs import PeerSpec, PolicySpec, PortItem, RuleSpec
from netpolscan.generate.yamltext import Note
from netpolscan.model.parse import NAME_LABEL

KINDS = ("networkpolicy", "cilium", "calico", "cluster")
MANAGED = {"app.kubernetes.io/managed-by": "netpolscan"}
PREFIX = "netpolscan-"
CILIUM_NAMESPACE = "k8s:io.kubernetes.pod.namespace"
CLUSTER_LIMIT = 25  # rules per direction, peers per rule
CLUSTER_ALLOW_PRIORITY = 100
CLUSTER_DENY_PRIORITY = 1000
MAX_NAME = 253

Obj = dict[str, object]


@dataclass(frozen=True)
class Manifest:
    """One generated object, the namespace it belongs with (for files per namespace), its comments."""

    namespace: str
    name: str
    body: Obj
    comments: tuple[str, ...]


def object_name(*parts: str) -> str:
    name = PREFIX + "-".join(parts)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - 11]}-{digest}"


def _metadata(name: str, namespace: str | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(MANAGED)
    return meta


def _rule_note(rule: RuleSpec, body: Obj) -> Note:
    return Note(body, tuple(rule.reasons))


def _peer_note(peer: PeerSpec, body: object) -> object:
    return Note(body, (peer.comment,)) if peer.comment else body


def _namespaced(api_version: str, kind: str, spec: PolicySpec, body: Obj) -> list[Manifest]:
    name = object_name(spec.name)
    obj: Obj = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": _metadata(name, spec.namespace),
        "spec": body,
    }
    return [Manifest(spec.namespace, name, obj, tuple(spec.comment))]


# --- NetworkPolicy v1 --------------------------------------------------------------------------------


def _expressions(selector: Sel) -> list[object]:
    return [
        {"key": k, "operator": "DoesNotExist"}
        if v is None
        else {"key": k, "operator": "NotIn", "values": [v]}
        for k, v in selector.exclude
    ]


def _match(selector: Sel) -> Obj:
    out: Obj = {}
    if selector.labels:
        out["matchLabels"] = dict(selector.labels)
    if selector.exclude:
        out["matchExpressions"] = _expressions(selector)
    return out


def _namespace_selector(namespaces: Sequence[str]) -> Obj:
    if len(namespaces) == 1:
        return {"matchLabels": {NAME_LABEL: namespaces[0]}}
    return {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": list(namespaces)}]}


def _v1_peer(peer: PeerSpec, namespace: str) -> Obj:
    if peer.cidr is not None:
        return {"ipBlock": {"cidr": str(peer.cidr)}}
    out: Obj = {}
    if peer.namespaces is None:
        out["namespaceSelector"] = {}
    elif peer.namespaces != (namespace,):
        out["namespaceSelector"] = _namespace_selector(peer.namespaces)
    if peer.labels is not None:
        out["podSelector"] = _match(peer.labels)
    elif not out:
        out["podSelector"] = {}
    return out


def _v1_port(item: PortItem) -> Obj:
    out: Obj = {"protocol": item.protocol}
    if item.name is not None:
        out["port"] = item.name
    elif item.low is not None:
        out["port"] = item.low
        if item.high != item.low:
            out["endPort"] = item.high
    return out


def _v1_rule(rule: RuleSpec, direction: str, namespace: str) -> Note:
    key = "from" if direction == "ingress" else "to"
    body: Obj = {key: [_peer_note(p, _v1_peer(p, namespace)) for p in rule.peers]}
    if rule.items:
        body["ports"] = [_v1_port(item) for item in rule.items]
    return _rule_note(rule, body)


def networkpolicy(spec: PolicySpec) -> list[Manifest]:
    body: Obj = {"podSelector": _match(spec.subject or Sel())}
    body["policyTypes"] = [d.capitalize() for d in spec.directions]
    for direction, rules in (("ingress", spec.ingress), ("egress", spec.egress)):
        if rules:
            body[direction] = [_v1_rule(rule, direction, spec.namespace) for rule in rules]
    return _namespaced("networking.k8s.io/v1", "NetworkPolicy", spec, body)


# --- Cilium ------------------------------------------------------------------------------------------


def _cilium_endpoint(peer: PeerSpec) -> Obj:
    selector = peer.labels or Sel()
    labels = dict(selector.labels)
    out: Obj = {}
    if peer.namespaces is not None and len(peer.namespaces) == 1:
        labels[CILIUM_NAMESPACE] = peer.namespaces[0]
    if labels:
        out["matchLabels"] = labels
    expressions = _expressions(selector)
    if peer.namespaces is None:  # the namespace must be named, or the peer stays in the policy's own
        expressions.append({"key": CILIUM_NAMESPACE, "operator": "Exists"})
    elif len(peer.namespaces) > 1:
        expressions.append({"key": CILIUM_NAMESPACE, "operator": "In", "values": list(peer.namespaces)})
    if expressions:
        out["matchExpressions"] = expressions
    return out


def _cilium_port(item: PortItem) -> Obj:
    out: Obj = {}
    if item.name is not None:
        out["port"] = item.name
    elif item.low is not None:
        out["port"] = str(item.low)
        if item.high != item.low:
            out["endPort"] = item.high
    else:
        out["port"] = "0"
    out["protocol"] = item.protocol
    return out


def _cilium_rule(rule: RuleSpec, direction: str) -> Note:
    pods = [p for p in rule.peers if p.cidr is None]
    cidrs = [p for p in rule.peers if p.cidr is not None]
    body: Obj = {}
    if pods:
        key = "fromEndpoints" if direction == "ingress" else "toEndpoints"
        body[key] = [_peer_note(p, _cilium_endpoint(p)) for p in pods]
    if cidrs:
        key = "fromCIDRSet" if direction == "ingress" else "toCIDRSet"
        body[key] = [{"cidr": str(p.cidr)} for p in cidrs]
    if rule.items:
        body["toPorts"] = [
            {"ports": [_cilium_port(item) for item in rule.items[i : i + 40]]}
            for i in range(0, len(rule.items), 40)
        ]
    return _rule_note(rule, body)


def cilium(spec: PolicySpec) -> list[Manifest]:
    body: Obj = {"endpointSelector": _match(spec.subject or Sel())}
    if spec.is_default_deny:
        body["ingress"] = [Note({}, ("an empty rule: ingress is isolated and nothing is allowed here",))]
    for direction, rules in (("ingress", spec.ingress), ("egress", spec.egress)):
        if rules:
            body[direction] = [_cilium_rule(rule, direction) for rule in rules]
    return _namespaced("cilium.io/v2", "CiliumNetworkPolicy", spec, body)


# --- Calico ------------------------------------------------------------------------------------------


def _calico_labels(selector: Sel) -> str:
    parts = [f"{k} == '{v}'" for k, v in selector.labels]
    parts += [f"!has({k})" if v is None else f"{k} != '{v}'" for k, v in selector.exclude]
    return " && ".join(parts) if parts else "all()"


def _calico_namespaces(namespaces: tuple[str, ...] | None) -> str:
    if namespaces is None:
        return "all()"
    if len(namespaces) == 1:
        return f"{NAME_LABEL} == '{namespaces[0]}'"
    return f"{NAME_LABEL} in {{" + ", ".join(f"'{n}'" for n in namespaces) + "}"


def _calico_entity(peer: PeerSpec, namespace: str) -> Obj:
    if peer.cidr is not None:
        return {"nets": [str(peer.cidr)]}
    out: Obj = {"selector": _calico_labels(peer.labels or Sel())}
    if peer.namespaces != (namespace,):
        out["namespaceSelector"] = _calico_namespaces(peer.namespaces)
    return out


def _calico_ports(items: Sequence[PortItem], protocol: str) -> list[object] | None:
    ports: list[object] = []
    for item in items:
        if item.protocol != protocol:
            continue
        if item.low is None:
            return None  # every port of the protocol
        if item.name is not None:
            ports.append(item.name)
        else:
            ports.append(item.low if item.high == item.low else f"{item.low}:{item.high}")
    return ports


def _calico_rules(rule: RuleSpec, direction: str, namespace: str) -> list[object]:
    other = "source" if direction == "ingress" else "destination"
    rules: list[object] = []
    for peer in rule.peers:
        entity = _calico_entity(peer, namespace)
        protocols: list[str | None] = sorted(
            {item.protocol for item in rule.items}, key=("TCP", "UDP", "SCTP").index
        )
        for protocol in protocols or [None]:
            body: Obj = {"action": "Allow"}
            if protocol is not None:
                body["protocol"] = protocol
            body[other] = entity
            ports = _calico_ports(rule.items, protocol) if protocol is not None else None
            if ports:
                body["destination"] = {**(entity if other == "destination" else {}), "ports": ports}
            reasons = tuple(rule.reasons) if not rules else ()
            rules.append(Note(body, (*reasons, *([peer.comment] if peer.comment else []))))
    return rules


def calico(spec: PolicySpec) -> list[Manifest]:
    body: Obj = {"selector": _calico_labels(spec.subject or Sel())}
    body["types"] = [d.capitalize() for d in spec.directions]
    for direction, rules in (("ingress", spec.ingress), ("egress", spec.egress)):
        if rules:
            body[direction] = [r for rule in rules for r in _calico_rules(rule, direction, spec.namespace)]
    return _namespaced("projectcalico.org/v3", "NetworkPolicy", spec, body)


# --- ClusterNetworkPolicy ----------------------------------------------------------------------------


def _cluster_pods(peer: PeerSpec) -> Obj:
    namespaces: Obj = {} if peer.namespaces is None else _namespace_selector(peer.namespaces)
    if peer.labels is None:
        return {"namespaces": namespaces}
    return {"pods": {"namespaceSelector": namespaces, "podSelector": _match(peer.labels)}}


def _cluster_protocols(items: Sequence[PortItem]) -> list[object]:
    out: list[object] = []
    for item in items:
        low, high = (item.low, item.high) if item.low is not None else (1, 65535)
        port: Obj = {"number": low} if low == high else {"range": {"start": low, "end": high}}
        out.append({item.protocol.lower(): {"destinationPort": port}})
    return out


def _cluster_rules(rule: RuleSpec, direction: str, index: int) -> list[Note]:
    key = "from" if direction == "ingress" else "to"
    pods = [p for p in rule.peers if p.cidr is None]
    # ingress rules have no peer for addresses outside the cluster, which this kind leaves open anyway
    cidrs = [str(p.cidr) for p in rule.peers if p.cidr is not None and direction == "egress"]
    peers: list[object] = [_peer_note(p, _cluster_pods(p)) for p in pods]
    for i in range(0, len(cidrs), CLUSTER_LIMIT):
        peers.append({"networks": cidrs[i : i + CLUSTER_LIMIT]})
    out = []
    for part, i in enumerate(range(0, len(peers), CLUSTER_LIMIT)):
        body: Obj = {"name": f"allow-{index + 1}" + (f"-{part + 1}" if part else ""), "action": "Accept"}
        body[key] = peers[i : i + CLUSTER_LIMIT]
        if rule.items:
            body["protocols"] = _cluster_protocols(rule.items)
        out.append(Note(body, tuple(rule.reasons) if not part else ()))
    return out


def _cluster_object(name: str, priority: int, subject: Obj, rules: dict[str, list[object]]) -> Obj:
    body: Obj = {"tier": "Baseline", "priority": priority, "subject": subject}
    body.update({direction: items for direction, items in rules.items() if items})
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": _metadata(name, None),
        "spec": body,
    }


DENY_OTHERS = "everything else is denied"


def _cluster_default_deny(spec: PolicySpec, subject: Obj) -> list[Manifest]:
    no_outside = " (ingress from outside the cluster cannot be named here)"
    deny_in = {"name": "default-deny", "action": "Deny", "from": [{"namespaces": {}}]}
    deny_out = {
        "name": "default-deny",
        "action": "Deny",
        "to": [{"namespaces": {}}, {"networks": ["0.0.0.0/0", "::/0"]}],
    }
    egress: list[object] = [
        r for i, rule in enumerate(spec.egress) for r in _cluster_rules(rule, "egress", i)
    ]
    rules: dict[str, list[object]] = {
        "ingress": [Note(deny_in, (DENY_OTHERS + no_outside,))],
        "egress": [*egress, Note(deny_out, (DENY_OTHERS,))],
    }
    name = object_name(spec.namespace, spec.name)
    body = _cluster_object(name, CLUSTER_DENY_PRIORITY, {"namespaces": subject}, rules)
    return [Manifest(spec.namespace, name, body, tuple(spec.comment))]


def cluster(spec: PolicySpec) -> list[Manifest]:
    namespace_subject = _namespace_selector((spec.namespace,))
    if spec.is_default_deny:
        return _cluster_default_deny(spec, namespace_subject)
    direction = spec.directions[0]
    rules = spec.ingress if direction == "ingress" else spec.egress
    items: list[object] = [r for i, rule in enumerate(rules) for r in _cluster_rules(rule, direction, i)]
    selector = _match(spec.subject or Sel())
    subject: Obj = {"pods": {"namespaceSelector": namespace_subject, "podSelector": selector}}
    out = []  # none when every rule only admitted addresses outside the cluster
    for part, i in enumerate(range(0, len(items), CLUSTER_LIMIT)):
        name = object_name(spec.namespace, spec.name) + (f"-{part + 1}" if part else "")
        body = _cluster_object(
            name, CLUSTER_ALLOW_PRIORITY, subject, {direction: items[i : i + CLUSTER_LIMIT]}
        )
        out.append(Manifest(spec.namespace, name, body, tuple(spec.comment)))
    return out


RENDERERS: dict[str, Callable[[PolicySpec], list[Manifest]]] = {
    "networkpolicy": networkpolicy,
    "cilium": cilium,
    "calico": calico,
    "cluster": cluster,
}
