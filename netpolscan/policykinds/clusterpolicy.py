"""ClusterNetworkPolicy (``policy.networking.k8s.io/v1alpha2``) and its predecessors AdminNetworkPolicy and
BaselineAdminNetworkPolicy (``policy.networking.k8s.io/v1alpha1``), from the API of
kubernetes-sigs/network-policy-api.

Each object becomes one :class:`~netpolscan.model.tiers.TierPolicy`:

- tier: ``spec.tier`` (``Admin`` / ``Baseline``) for a ClusterNetworkPolicy, the Admin tier for an
  AdminNetworkPolicy, the Baseline tier for the BaselineAdminNetworkPolicy (the single object named
  ``default``); order inside the tier ``(priority, name)``: lower priority first, and, since the API
  leaves the order of equal priorities undefined, the name (NPS801 reports such ties);
- subject: ``namespaces`` or ``pods`` as a :class:`~netpolscan.model.tiers.Pods` expression that never
  matches host-network pods; the policy isolates nothing (a rule decides only the traffic it matches);
- rules, in the order written, each with its 1-based number, its ``name`` and a pointer to its ``- ``
  entry: ``Accept``/``Allow`` -> allow, ``Deny`` -> deny, ``Pass`` -> pass; peers ``namespaces`` and
  ``pods`` (host-network pods excluded), ``networks`` (CIDRs that match in-cluster addresses too),
  ``nodes`` (the Node objects of the input), ``domainNames`` (``Named("fqdn:NAME")``, wildcards as
  written); ports from v1alpha2 ``protocols`` or v1alpha1 ``ports``. A named port
  (``destinationNamedPort``, ``namedPort``) matches a container port of that name whatever its protocol,
  so it becomes one port spec per protocol.

What the CRD's schema and CEL rules reject is reported as NPS002 at the field (``KindSink.invalid``).
The object is still evaluated the way the API asks an implementation to treat what it cannot read
(*fail closed*): a part of an Accept rule that cannot be read matches nothing (a peer, a port entry;
the rule matches nothing when none is left), and a Deny or Pass rule with such a part, or a rule whose
action cannot be read, becomes "Deny all". A ``pods`` selector that the CRD requires but the object
omits is read as Go reads it, the empty selector (earlier v1alpha1 CRDs accepted that). A policy whose
tier, priority, subject or name cannot be read is left out. v1alpha1 objects are also reported as NPS003 (``KindSink.deprecated``) with the
changes that migrate them to ClusterNetworkPolicy.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan.model.objects import PROTOCOLS, IPBlock, PortSpec
from netpolscan.model.selectors import LabelSelector, parse_selector, type_name
from netpolscan.model.tiers import (
    ADMIN,
    ALLOW,
    BASELINE,
    DENY,
    EVERYTHING,
    NOTHING,
    PASS,
    AnyOf,
    ClusterView,
    KindSink,
    Named,
    Network,
    Nodes,
    PeerExpr,
    Pods,
    Tier,
    TierPolicy,
    TierRule,
)
from netpolscan.sources.document import Document, Pointer

GROUP = "policy.networking.k8s.io"
V1ALPHA1 = f"{GROUP}/v1alpha1"
V1ALPHA2 = f"{GROUP}/v1alpha2"
CLUSTER_NETWORK_POLICY = "ClusterNetworkPolicy"
ADMIN_NETWORK_POLICY = "AdminNetworkPolicy"
BASELINE_ADMIN_NETWORK_POLICY = "BaselineAdminNetworkPolicy"
KINDS = (CLUSTER_NETWORK_POLICY, ADMIN_NETWORK_POLICY, BASELINE_ADMIN_NETWORK_POLICY)
BANP_NAME = "default"
MAX_PRIORITY = 1000
MAX_PEER_ITEMS = 25  # networks and domainNames entries of one peer
MAX_RULE_NAME = 100
MAX_CIDR_LENGTH = 43
TIERS = {"Admin": ADMIN, "Baseline": BASELINE}
DIRECTIONS = ("ingress", "egress")
PEERS_KEY = {"ingress": "from", "egress": "to"}
INGRESS_PEERS = ("namespaces", "pods")
# the pattern of the CRD's DomainName type (its `A-z` ranges included)
_DOMAIN = re.compile(
    r"^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$"
)
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Schema:
    """What one (apiVersion, kind) of the API accepts."""

    api_version: str
    kind: str
    actions: Mapping[str, str]  # as written -> model action
    spec_keys: tuple[str, ...]
    required: tuple[str, ...]
    max_rules: int
    max_peers: int
    egress_peers: tuple[str, ...]
    ports_key: str  # "protocols" (v1alpha2) or "ports" (v1alpha1)
    pods_needs_namespace_selector: bool

    @property
    def deprecated(self) -> bool:
        return self.api_version == V1ALPHA1


_RULES = ("ingress", "egress")
SCHEMAS: dict[tuple[str, str], Schema] = {
    (V1ALPHA2, CLUSTER_NETWORK_POLICY): Schema(
        V1ALPHA2,
        CLUSTER_NETWORK_POLICY,
        {"Accept": ALLOW, "Deny": DENY, "Pass": PASS},
        ("tier", "priority", "subject", *_RULES),
        ("tier", "priority", "subject"),
        25,
        25,
        ("namespaces", "pods", "nodes", "networks", "domainNames"),
        "protocols",
        False,
    ),
    (V1ALPHA1, ADMIN_NETWORK_POLICY): Schema(
        V1ALPHA1,
        ADMIN_NETWORK_POLICY,
        {"Allow": ALLOW, "Deny": DENY, "Pass": PASS},
        ("priority", "subject", *_RULES),
        ("priority", "subject"),
        100,
        100,
        ("namespaces", "pods", "nodes", "networks", "domainNames"),
        "ports",
        True,
    ),
    (V1ALPHA1, BASELINE_ADMIN_NETWORK_POLICY): Schema(
        V1ALPHA1,
        BASELINE_ADMIN_NETWORK_POLICY,
        {"Allow": ALLOW, "Deny": DENY},
        ("subject", *_RULES),
        ("subject",),
        100,
        100,
        ("namespaces", "pods", "nodes", "networks"),
        "ports",
        True,
    ),
}
# the same action written in the other version, for a helpful message
_OTHER_VERSION_ACTION = {"Allow": "Accept", "Accept": "Allow"}


@dataclass(frozen=True)
class ClusterPolicyObject:
    """A parsed ClusterNetworkPolicy / AdminNetworkPolicy / BaselineAdminNetworkPolicy."""

    schema: Schema
    name: str
    document: Document
    tier: Tier
    priority: int
    subject: PeerExpr
    ingress: tuple[TierRule, ...]
    egress: tuple[TierRule, ...]

    def policy(self) -> TierPolicy:
        return TierPolicy(
            kind=self.schema.kind,
            api_version=self.schema.api_version,
            namespace="",
            name=self.name,
            document=self.document,
            tier=self.tier,
            order=(self.priority, self.name),
            subject=self.subject,
            ingress=self.ingress,
            egress=self.egress,
            isolates=frozenset(),
            subject_pointer=("spec", "subject"),
        )


class ClusterPolicyKind:
    """The :class:`~netpolscan.model.tiers.PolicyKind` of the network-policy-api cluster policies."""

    name = "cluster-network-policy"

    def handles(self, api_version: str, kind: str) -> bool:
        return kind in KINDS and api_version.partition("/")[0] == GROUP

    def parse(
        self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink
    ) -> ClusterPolicyObject | None:
        api_version = str(data.get("apiVersion"))
        kind = str(data.get("kind"))
        schema = SCHEMAS.get((api_version, kind))
        if schema is None:
            served = [v for v, k in SCHEMAS if k == kind]
            if api_version in (V1ALPHA1, V1ALPHA2):
                sink.invalid.append(
                    (f"apiVersion {api_version} does not serve {kind} (use {served[0]})", ("apiVersion",))
                )
            else:
                sink.not_evaluated.append(
                    (
                        f"{kind} {api_version} is not a version netpolscan knows ({', '.join(served)}): "
                        "it is not evaluated",
                        ("apiVersion",),
                    )
                )
            return None
        return _Reader(schema, sink).read(data, doc)

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]:
        return [o.policy() for o in objects if isinstance(o, ClusterPolicyObject)]


def migration_message(schema: Schema, name: str) -> str:
    """The NPS003 message of a v1alpha1 object: what changes to make it a ClusterNetworkPolicy."""
    tier = "Admin" if schema.kind == ADMIN_NETWORK_POLICY else "Baseline"
    changes = [
        f"`kind: ClusterNetworkPolicy`, `apiVersion: {V1ALPHA2}`",
        f"`tier: {tier}`",
    ]
    if schema.kind == BASELINE_ADMIN_NETWORK_POLICY:
        changes.append("a `priority` (the name `default` is no longer required)")
    changes += [
        "action `Allow` -> `Accept`",
        "`ports` -> `protocols` (`portNumber: {protocol: TCP, port: 80}` -> `tcp: {destinationPort: {number: 80}}`, "
        "`portRange` -> `destinationPort: {range: {start, end}}`, `namedPort` -> `destinationNamedPort`)",
        "at most 25 rules per direction and 25 peers per rule",
    ]
    return (
        f"{schema.kind} {name} uses {V1ALPHA1}, superseded by ClusterNetworkPolicy ({V1ALPHA2}); "
        f"migrate it with: {'; '.join(changes)}"
    )


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Rule:
    """What one rule's fields read as, before the fail-closed treatment."""

    action: str | None = None
    peers: list[PeerExpr] = field(default_factory=list)
    ports: list[PortSpec] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # why a part cannot be read
    notes: list[str] = field(default_factory=list)
    ports_given: bool = False  # the rule has ports/protocols (none of them read: it matches nothing)
    whole: bool = False  # the rule as a whole cannot be read (an Accept then matches nothing)
    named_port: Pointer | None = None  # the first named-port entry
    address_peer: bool = False  # a networks / nodes / domainNames peer
    domain_peer: Pointer | None = None


PortReader = Callable[[Any, Pointer, _Rule], "list[PortSpec] | None"]


class _Reader:
    """Reads one object of ``schema``, reporting into ``sink``."""

    def __init__(self, schema: Schema, sink: KindSink) -> None:
        self.schema = schema
        self.sink = sink

    def bad(self, message: str, pointer: Pointer) -> None:
        self.sink.invalid.append((message, pointer))

    def unknown_keys(self, raw: dict[Any, Any], known: Sequence[str], what: str, pointer: Pointer) -> None:
        for key in raw:
            if key not in known:
                expected = ", ".join(known)
                self.bad(f"unknown field {key!r} in {what} (expected {expected})", (*pointer, key))

    def selector(self, raw: Any, pointer: Pointer) -> LabelSelector | None:
        selector, problems = parse_selector(raw, pointer)
        for message, where in problems:
            self.bad(message, where)
        return selector

    # --- the object ---------------------------------------------------------------------------------

    def read(self, data: dict[str, Any], doc: Document) -> ClusterPolicyObject | None:
        start = len(self.sink.invalid)
        policy = self.read_object(data, doc)
        if policy is None:  # say so in each of its messages
            self.sink.invalid[start:] = [
                (f"{message}; the {self.schema.kind} is left out of the analysis", pointer)
                for message, pointer in self.sink.invalid[start:]
            ]
        return policy

    def read_object(self, data: dict[str, Any], doc: Document) -> ClusterPolicyObject | None:
        schema = self.schema
        name = self.name(data.get("metadata"))
        if name is not None:
            if schema.deprecated:
                self.sink.deprecated.append((migration_message(schema, name), ("apiVersion",)))
            if schema.kind == BASELINE_ADMIN_NETWORK_POLICY and name != BANP_NAME:
                self.bad(
                    f"a BaselineAdminNetworkPolicy must be named {BANP_NAME!r} (there is one per cluster), "
                    f"not {name!r}",
                    ("metadata", "name"),
                )
        spec = data.get("spec")
        if not isinstance(spec, dict):
            what = "is required" if spec is None else f"must be a mapping, not {type_name(spec)}"
            self.bad(f"spec {what}", ("spec",) if "spec" in data else ())
            return None
        self.unknown_keys(spec, schema.spec_keys, "spec", ("spec",))
        for key in schema.required:
            if spec.get(key) is None:
                self.bad(f"spec.{key} is required", ("spec", key) if key in spec else ("spec",))
        tier = self.tier(spec)
        priority = self.priority(spec)
        subject = self.subject(spec.get("subject"))
        rules = {direction: self.rules(spec, direction) for direction in DIRECTIONS}
        if name is None or tier is None or priority is None or subject is None:
            return None
        return ClusterPolicyObject(
            schema, name, doc, tier, priority, subject, rules["ingress"], rules["egress"]
        )

    def name(self, metadata: Any) -> str | None:
        if not isinstance(metadata, dict):
            self.bad("metadata must be a mapping with a name", ("metadata",))
            return None
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            where: Pointer = ("metadata", "name") if "name" in metadata else ("metadata",)
            self.bad("metadata.name is required and must be a string", where)
            return None
        if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            self.bad(
                f"metadata.name {name!r} must be a DNS subdomain (lower-case alphanumerics, '-' and '.')",
                ("metadata", "name"),
            )
        return name

    def tier(self, spec: dict[str, Any]) -> Tier | None:
        if self.schema.kind == ADMIN_NETWORK_POLICY:
            return ADMIN
        if self.schema.kind == BASELINE_ADMIN_NETWORK_POLICY:
            return BASELINE
        raw = spec.get("tier")
        if raw is None:
            return None  # reported as required
        tier = TIERS.get(raw) if isinstance(raw, str) else None
        if tier is None:
            self.bad(f"tier {raw!r} is not one of Admin, Baseline", ("spec", "tier"))
        return tier

    def priority(self, spec: dict[str, Any]) -> int | None:
        if self.schema.kind == BASELINE_ADMIN_NETWORK_POLICY:
            return 0
        raw = spec.get("priority")
        if raw is None:
            return None  # reported as required
        if not _integer(raw):
            self.bad(
                f"priority must be an integer from 0 to {MAX_PRIORITY}, not {type_name(raw)}",
                ("spec", "priority"),
            )
            return None
        if not 0 <= raw <= MAX_PRIORITY:
            self.bad(f"priority {raw} is outside 0-{MAX_PRIORITY}", ("spec", "priority"))
        return int(raw)

    def subject(self, raw: Any) -> PeerExpr | None:
        pointer: Pointer = ("spec", "subject")
        if raw is None:
            return None  # reported as required
        if not isinstance(raw, dict):
            self.bad(f"subject must be a mapping, not {type_name(raw)}", pointer)
            return None
        known = ("namespaces", "pods")
        self.unknown_keys(raw, known, "subject", pointer)
        present = [key for key in known if raw.get(key) is not None]
        if len(present) != 1:
            problem = "sets both namespaces and pods" if present else "sets neither namespaces nor pods"
            self.bad(f"subject {problem}: set exactly one of them", pointer)
            return None
        return self.pods_expr(present[0], raw[present[0]], (*pointer, present[0]))

    def pods_expr(self, key: str, raw: Any, pointer: Pointer) -> Pods | None:
        """A ``namespaces`` selector or a ``pods`` {namespaceSelector, podSelector}, as pods."""
        if key == "namespaces":
            selector = self.selector(raw, pointer)
            return None if selector is None else Pods(namespace_selector=selector)
        if not isinstance(raw, dict):
            self.bad(f"pods must be a mapping with podSelector, not {type_name(raw)}", pointer)
            return None
        known = ("namespaceSelector", "podSelector")
        self.unknown_keys(raw, known, "pods", pointer)
        required = known if self.schema.pods_needs_namespace_selector else ("podSelector",)
        missing = [k for k in required if k not in raw]
        for k in missing:  # read as Go reads it (the zero selector: everything), as earlier CRDs allowed
            self.bad(f"pods.{k} is required (write {k}: {{}} to select every one)", pointer)
        namespaces = self.selector(raw.get("namespaceSelector"), (*pointer, "namespaceSelector"))
        pods = self.selector(raw.get("podSelector"), (*pointer, "podSelector"))
        if namespaces is None or pods is None:
            return None
        return Pods(namespace_selector=namespaces, pod_selector=pods)

    # --- rules --------------------------------------------------------------------------------------

    def rules(self, spec: dict[str, Any], direction: str) -> tuple[TierRule, ...]:
        raw = spec.get(direction)
        pointer: Pointer = ("spec", direction)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.bad(f"{direction} must be a list of rules, not {type_name(raw)}", pointer)
            return (self.deny_all(1, "", pointer, (f"{direction} cannot be read",)),)
        if len(raw) > self.schema.max_rules:
            self.bad(
                f"{direction} has {len(raw)} rules; at most {self.schema.max_rules} are allowed",
                (*pointer, self.schema.max_rules),
            )
        return tuple(self.rule(item, direction, i) for i, item in enumerate(raw))

    def deny_all(self, number: int, name: str, pointer: Pointer, why: Sequence[str]) -> TierRule:
        note = f"fail closed ({'; '.join(why)}): treated as Deny all, as the API asks"
        return TierRule(DENY, EVERYTHING, (), (), number, name, pointer, notes=(note,))

    def rule(self, raw: Any, direction: str, index: int) -> TierRule:
        pointer: Pointer = ("spec", direction, index)
        number = index + 1
        if not isinstance(raw, dict):
            self.bad(f"{direction} rule must be a mapping, not {type_name(raw)}", pointer)
            return self.deny_all(number, "", pointer, ("the rule cannot be read",))
        schema = self.schema
        peers_key = PEERS_KEY[direction]
        known = ("name", "action", peers_key, schema.ports_key)
        for key in raw:
            if key not in known:
                hint = ""
                if key in ("ports", "protocols"):
                    hint = f" ({schema.api_version} uses {schema.ports_key!r})"
                elif key in PEERS_KEY.values():
                    hint = f" (an {direction} rule uses {peers_key!r})"
                self.bad(f"unknown field {key!r} in {direction} rule{hint}", (*pointer, key))
        name = self.rule_name(raw, pointer)
        found = _Rule(action=self.action(raw, pointer))
        unknown = [key for key in raw if key not in known]
        if unknown:  # it may narrow the rule (a `ports` in v1alpha2): the whole rule cannot be read
            found.unreadable.append(f"unknown field {unknown[0]!r}")
            found.whole = True
        self.peers(raw, direction, pointer, found)
        if schema.ports_key in raw:
            reader = self.protocols if schema.ports_key == "protocols" else self.v1alpha1_ports
            self.port_list(raw[schema.ports_key], (*pointer, schema.ports_key), reader, found)
        if found.named_port is not None and found.address_peer:
            self.bad(
                "a named port cannot be used with a networks, nodes or domainNames peer (they have no named ports)",
                found.named_port,
            )
        if found.domain_peer is not None and found.action not in (None, ALLOW):
            self.sink.not_evaluated.append(
                (
                    "domainNames is only supported in Accept rules: implementations may ignore this peer "
                    "(netpolscan evaluates it as written)",
                    found.domain_peer,
                )
            )
        return self.finish(found, number, name, pointer)

    def finish(self, found: _Rule, number: int, name: str, pointer: Pointer) -> TierRule:
        """The rule as evaluated: fail closed where a part cannot be read."""
        if found.action is None:
            return self.deny_all(number, name, pointer, ("its action cannot be read", *found.unreadable))
        if found.unreadable and found.action != ALLOW:
            return self.deny_all(number, name, pointer, found.unreadable)
        notes = list(found.notes)
        if found.unreadable:
            notes.append(f"fail closed ({'; '.join(found.unreadable)}): those parts match nothing")
        peers: PeerExpr = found.peers[0] if len(found.peers) == 1 else AnyOf(tuple(found.peers))
        if found.whole or (found.ports_given and not found.ports):  # nothing matches: nor does the rule
            peers = NOTHING
        return TierRule(
            found.action, peers, tuple(found.ports), (), number, name, pointer, notes=tuple(notes)
        )

    def rule_name(self, raw: dict[str, Any], pointer: Pointer) -> str:
        name = raw.get("name")
        if name is None:
            return ""
        if not isinstance(name, str):
            self.bad(f"rule name must be a string, not {type_name(name)}", (*pointer, "name"))
            return str(name)
        if len(name) > MAX_RULE_NAME:
            self.bad(f"rule name is {len(name)} characters long; at most {MAX_RULE_NAME}", (*pointer, "name"))
        return name

    def action(self, raw: dict[str, Any], pointer: Pointer) -> str | None:
        value = raw.get("action")
        actions = self.schema.actions
        if value is None:
            self.bad(f"action is required ({', '.join(actions)})", pointer)
            return None
        action = actions.get(value) if isinstance(value, str) else None
        if action is None:
            hint = ""
            other = _OTHER_VERSION_ACTION.get(value) if isinstance(value, str) else None
            if other in actions:
                hint = f" ({self.schema.api_version} writes {other!r})"
            elif value == "Pass":
                hint = " (BaselineAdminNetworkPolicy has no Pass; ClusterNetworkPolicy tier Baseline has)"
            self.bad(f"action {value!r} is not one of {', '.join(actions)}{hint}", (*pointer, "action"))
        return action

    # --- peers --------------------------------------------------------------------------------------

    def peers(self, rule: dict[str, Any], direction: str, rule_pointer: Pointer, found: _Rule) -> None:
        key = PEERS_KEY[direction]
        raw = rule.get(key)
        pointer: Pointer = (*rule_pointer, key)
        if raw is None:
            self.bad(
                f"{key} is required and must list at least one peer",
                pointer if key in rule else rule_pointer,
            )
            found.unreadable.append(f"no {key}")
            return
        if not isinstance(raw, list) or not raw:
            what = "is empty" if isinstance(raw, list) else f"is {type_name(raw)}"
            self.bad(f"{key} {what}: it must list at least one peer", pointer)
            found.unreadable.append(f"{key} cannot be read")
            return
        if len(raw) > self.schema.max_peers:
            self.bad(
                f"{key} has {len(raw)} peers; at most {self.schema.max_peers} are allowed",
                (*pointer, self.schema.max_peers),
            )
        known = INGRESS_PEERS if direction == "ingress" else self.schema.egress_peers
        for i, item in enumerate(raw):
            expr = self.peer(item, known, (*pointer, i), found)
            if expr is None:
                found.unreadable.append(f"peer {i + 1} cannot be read")
            else:
                found.peers.append(expr)

    def peer(self, raw: Any, known: tuple[str, ...], pointer: Pointer, found: _Rule) -> PeerExpr | None:
        expected = ", ".join(known)
        if not isinstance(raw, dict):
            self.bad(f"peer must be a mapping with exactly one of {expected}, not {type_name(raw)}", pointer)
            return None
        for key in raw:
            if key not in known:
                self.bad(f"unknown peer field {key!r} (expected exactly one of {expected})", (*pointer, key))
        present = [key for key in known if raw.get(key) is not None]
        if len(present) != 1:
            if not present and any(key in known for key in raw):
                self.bad(f"peer field {next(k for k in raw if k in known)!r} is empty", pointer)
            elif not present and not raw:
                self.bad(f"peer sets no field: set exactly one of {expected}", pointer)
            elif present:
                self.bad(f"peer sets {' and '.join(present)}: set exactly one of {expected}", pointer)
            return None
        key = present[0]
        value = raw[key]
        where: Pointer = (*pointer, key)
        if key in ("namespaces", "pods"):
            return self.pods_expr(key, value, where)
        found.address_peer = True
        if key == "nodes":
            selector = self.selector(value, where)
            return None if selector is None else Nodes(selector)
        items = self.string_set(value, where)
        if items is None:
            return None
        if key == "networks":
            return self.networks(items, where)
        found.domain_peer = found.domain_peer or where
        return self.domains(items, where)

    def string_set(self, raw: Any, pointer: Pointer) -> list[str] | None:
        """A list of 1-25 distinct strings (``networks``, ``domainNames``)."""
        key = pointer[-1]
        if not isinstance(raw, list) or not raw:
            what = "is empty" if isinstance(raw, list) else f"must be a list, not {type_name(raw)}"
            self.bad(f"{key} {what}", pointer)
            return None
        if len(raw) > MAX_PEER_ITEMS:
            self.bad(f"{key} has {len(raw)} entries; at most {MAX_PEER_ITEMS}", (*pointer, MAX_PEER_ITEMS))
        items: list[str] = []
        for i, value in enumerate(raw):
            if not isinstance(value, str):
                self.bad(f"{key} entry must be a string, not {type_name(value)}", (*pointer, i))
                return None
            if value in items:
                self.bad(f"{key} entry {value!r} is a duplicate (the list is a set)", (*pointer, i))
            items.append(value)
        return items

    def networks(self, items: list[str], pointer: Pointer) -> PeerExpr | None:
        blocks: list[PeerExpr] = []
        for i, value in enumerate(items):
            network = None
            if "/" in value and len(value) <= MAX_CIDR_LENGTH:
                try:
                    network = ipaddress.ip_network(value, strict=False)
                except ValueError:
                    network = None
            if network is None:
                self.bad(
                    f"networks entry {value!r} is not a CIDR (like 10.0.0.0/8 or fd00::/8)", (*pointer, i)
                )
                return None
            blocks.append(Network(IPBlock(network), in_cluster=True))
        return blocks[0] if len(blocks) == 1 else AnyOf(tuple(blocks))

    def domains(self, items: list[str], pointer: Pointer) -> PeerExpr | None:
        names: list[PeerExpr] = []
        for i, value in enumerate(items):
            if not _DOMAIN.match(value):
                self.bad(
                    f"domainNames entry {value!r} is not a domain name (`*.` is allowed only as a prefix)",
                    (*pointer, i),
                )
                return None
            names.append(Named(f"fqdn:{value}"))
        return names[0] if len(names) == 1 else AnyOf(tuple(names))

    # --- ports --------------------------------------------------------------------------------------

    def port_list(self, raw: Any, pointer: Pointer, reader: PortReader, found: _Rule) -> None:
        key = pointer[-1]
        found.ports_given = True
        if not isinstance(raw, list) or not raw:
            what = "is empty" if isinstance(raw, list) else f"must be a list, not {type_name(raw)}"
            self.bad(f"{key} {what} (omit it to match every port)", pointer)
            found.unreadable.append(f"{key} cannot be read")
            return
        if len(raw) > self.schema.max_peers:
            self.bad(
                f"{key} has {len(raw)} entries; at most {self.schema.max_peers}",
                (*pointer, self.schema.max_peers),
            )
        for i, item in enumerate(raw):
            specs = reader(item, (*pointer, i), found)
            if specs is None:
                found.unreadable.append(f"{key} entry {i + 1} cannot be read")
            else:
                found.ports.extend(specs)

    def one_of(self, raw: Any, known: tuple[str, ...], what: str, pointer: Pointer) -> str | None:
        """The one field of ``known`` that the mapping ``raw`` sets (None, reported, when not exactly one)."""
        expected = ", ".join(known)
        if not isinstance(raw, dict):
            self.bad(
                f"{what} must be a mapping with exactly one of {expected}, not {type_name(raw)}", pointer
            )
            return None
        self.unknown_keys(raw, known, what, pointer)
        present = [key for key in known if key in raw]
        if len(present) != 1:
            sets = " and ".join(present) if present else "no field"
            self.bad(f"{what} sets {sets}: set exactly one of {expected}", pointer)
            return None
        return present[0]

    def named(self, raw: Any, pointer: Pointer, found: _Rule) -> list[PortSpec] | None:
        """A named port: one spec per protocol (the container port's protocol decides)."""
        if not isinstance(raw, str):
            self.bad(f"a named port must be a string, not {type_name(raw)}", pointer)
            return None
        found.named_port = found.named_port or pointer
        return [PortSpec(protocol, raw, None, pointer) for protocol in PROTOCOLS]

    def number(self, raw: Any, what: str, pointer: Pointer) -> int | None:
        if not _integer(raw) or not 1 <= raw <= 65535:
            shown = raw if _integer(raw) else type_name(raw)
            self.bad(f"{what} must be a port number from 1 to 65535, not {shown}", pointer)
            return None
        return int(raw)

    def protocols(self, raw: Any, pointer: Pointer, found: _Rule) -> list[PortSpec] | None:
        """One v1alpha2 ``protocols`` entry."""
        key = self.one_of(raw, ("tcp", "udp", "sctp", "destinationNamedPort"), "protocols entry", pointer)
        if key is None:
            return None
        where: Pointer = (*pointer, key)
        if key == "destinationNamedPort":
            return self.named(raw[key], where, found)
        protocol = key.upper()
        if self.one_of(raw[key], ("destinationPort",), key, where) is None:
            return None
        where = (*where, "destinationPort")
        form = self.one_of(raw[key]["destinationPort"], ("number", "range"), "destinationPort", where)
        if form is None:
            return None
        value = raw[key]["destinationPort"][form]
        where = (*where, form)
        if form == "number":
            number = self.number(value, "number", where)
            return None if number is None else [PortSpec(protocol, number, None, pointer)]
        if self.one_of_all(value, ("start", "end"), "range", where) is None:
            return None
        start = self.number(value["start"], "start", (*where, "start"))
        end = self.number(value["end"], "end", (*where, "end"))
        if start is None or end is None:
            return None
        if start >= end:
            self.bad(f"range start {start} must be less than end {end}", where)
            return None
        return [PortSpec(protocol, start, end, pointer)]

    def one_of_all(
        self, raw: Any, required: tuple[str, ...], what: str, pointer: Pointer
    ) -> dict[str, Any] | None:
        """The mapping ``raw`` when it has every field of ``required`` and no other (None, reported, else)."""
        if not isinstance(raw, dict):
            self.bad(f"{what} must be a mapping with {', '.join(required)}, not {type_name(raw)}", pointer)
            return None
        self.unknown_keys(raw, required, what, pointer)
        missing = [key for key in required if raw.get(key) is None]
        for key in missing:
            self.bad(f"{what}.{key} is required", pointer)
        return None if missing or len(raw) > len(required) else raw

    def v1alpha1_ports(self, raw: Any, pointer: Pointer, found: _Rule) -> list[PortSpec] | None:
        """One v1alpha1 ``ports`` entry."""
        key = self.one_of(raw, ("portNumber", "portRange", "namedPort"), "ports entry", pointer)
        if key is None:
            return None
        where: Pointer = (*pointer, key)
        value = raw[key]
        if key == "namedPort":
            return self.named(value, where, found)
        fields = ("protocol", "port") if key == "portNumber" else ("protocol", "start", "end")
        if not isinstance(value, dict):
            self.bad(f"{key} must be a mapping, not {type_name(value)}", where)
            return None
        value = {"protocol": "TCP", **value} if value.get("protocol") is None else value  # the CRD default
        if self.one_of_all(value, fields, key, where) is None:
            return None
        protocol = value["protocol"]
        if not isinstance(protocol, str):
            self.bad(f"protocol must be a string, not {type_name(protocol)}", (*where, "protocol"))
            return None
        numbers = [self.number(value[f], f, (*where, f)) for f in fields[1:]]
        if None in numbers:
            return None
        if protocol not in PROTOCOLS:
            self.sink.not_evaluated.append(
                (
                    f"protocol {protocol!r} is not TCP, UDP or SCTP: this entry matches no traffic",
                    (*where, "protocol"),
                )
            )
            return []
        port, end = (numbers[0], None) if key == "portNumber" else (numbers[0], numbers[1])
        if end is not None and port is not None and end < port:
            found.notes.append(f"portRange {port}-{end} is empty (start above end): it matches no port")
            return []
        return [PortSpec(protocol, port, end, pointer)]
