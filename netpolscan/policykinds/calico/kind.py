"""Calico's policy API (``projectcalico.org/v3``, and ``crd.projectcalico.org/v1`` as the CRDs store it).

Parsed and validated here (problems are NPS002 at the field, never exceptions):

- NetworkPolicy and GlobalNetworkPolicy -> :class:`TierPolicy` objects in their tier (``spec.tier``,
  ``default`` when omitted: the namespace tier, where NetworkPolicy v1 sits at order 1000), ordered by
  ``order`` (omitted: last) then name. Rules are tried in order; ``Allow``/``Deny``/``Pass`` decide,
  ``Log`` does not. ``types`` defaults as Calico does: Ingress, plus Egress when there are egress rules
  (Egress alone when there are only egress rules).
- Tier -> a tier ranked by its ``order`` (omitted: after every ordered tier), ending in its
  ``defaultAction`` (Deny unless it says Pass).
- NetworkSet and GlobalNetworkSet -> the addresses that rule selectors pick by label.
- ``destination.domains`` (Calico Enterprise and Cloud) -> ``Named("fqdn:NAME")`` peers, as Cilium's ``toFQDNs``.
- WorkloadEndpoint -> a pod (what ``calicoctl get workloadendpoints`` prints), in its namespace, with its
  labels, named ports and addresses; Profile ``labelsToApply`` add labels to the endpoints that list the
  profile.
- HostEndpoint, Profile rules and host-only policies (``applyOnForward``, ``preDNAT``, ``doNotTrack``)
  are NPS006: they govern host traffic, which the analysis does not model.

A rule's ``source`` and ``destination`` follow Calico: in a namespaced policy a selector (and a
``notSelector`` or ``namespaceSelector`` given alone) picks endpoints of the policy's namespace, a
``namespaceSelector`` widens that to the namespaces it selects, and ``notSelector`` excludes endpoints of
every namespace. On ingress the ``destination`` narrows the policy's subject for that rule (and gives the
ports); on egress the ``source`` does.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan.model.objects import ContainerPort, IPBlock, IPNetwork, PortSpec, Workload
from netpolscan.model.tiers import (
    ADMIN,
    ALLOW,
    BASELINE,
    DENY,
    EVERYTHING,
    NAMESPACE,
    NOTHING,
    PASS,
    AllOf,
    AnyOf,
    ClusterView,
    KindSink,
    Named,
    Network,
    Not,
    PeerExpr,
    Pods,
    Tier,
    TierPolicy,
    TierRule,
)
from netpolscan.policykinds.calico.selector import (
    NamespaceSelector,
    Selector,
    SelectorError,
)
from netpolscan.policykinds.calico.selector import (
    parse as parse_selector,
)
from netpolscan.sources.document import Document, Pointer

API_VERSIONS = ("projectcalico.org/v3", "crd.projectcalico.org/v1")
POLICY_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy")
KINDS = frozenset(
    {
        *POLICY_KINDS,
        "NetworkSet",
        "GlobalNetworkSet",
        "Tier",
        "WorkloadEndpoint",
        "HostEndpoint",
        "Profile",
    }
)
ACTIONS = {"Allow": ALLOW, "Deny": DENY, "Pass": PASS, "Log": None}
PROTOCOL_NAMES = ("TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite")
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP", "UDPLite")
MODELLED = {"TCP": "TCP", "UDP": "UDP", "SCTP": "SCTP", 6: "TCP", 17: "UDP", 132: "SCTP"}
NAMESPACE_LABEL = "projectcalico.org/namespace"
ORCHESTRATOR_LABEL = "projectcalico.org/orchestrator"
SERVICE_ACCOUNT_LABEL = "projectcalico.org/serviceaccount"
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", re.IGNORECASE)
_RANGE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")
_DOMAIN = re.compile(
    r"^(\*|[a-z0-9_*]([a-z0-9_*-]*[a-z0-9_*])?)(\.[a-z0-9_*]([a-z0-9_*-]*[a-z0-9_*])?)*\.?$", re.I
)
HOST_ONLY = ("applyOnForward", "preDNAT", "doNotTrack")
INF = math.inf


# --- what parse() keeps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """The ``source`` or ``destination`` of a rule, validated."""

    selector: Selector | None = None
    not_selector: Selector | None = None
    namespace_selector: NamespaceSelector | None = None
    nets: tuple[IPNetwork, ...] = ()
    not_nets: tuple[IPNetwork, ...] = ()
    ports: tuple[PortSpec, ...] = ()  # protocol filled in from the rule
    not_ports: tuple[PortSpec, ...] = ()
    service_accounts: frozenset[str] | None = None
    domains: tuple[str, ...] = ()  # egress destinations by DNS name (Calico Enterprise and Cloud)

    @property
    def labels_given(self) -> bool:
        return (
            self.selector is not None
            or self.not_selector is not None
            or self.namespace_selector is not None
            or self.service_accounts is not None
        )

    @property
    def endpoint_given(self) -> bool:
        return self.labels_given or bool(self.nets) or bool(self.not_nets) or bool(self.domains)


@dataclass(frozen=True)
class Rule:
    action: str | None  # None: Log
    number: int
    pointer: Pointer
    protocols: tuple[str, ...] | None  # modelled protocols the rule can match; None: every protocol
    not_protocol: str | None
    source: Entity
    destination: Entity
    ip_version: int | None
    matches_nothing: bool = False  # a protocol the analysis does not model (ICMP, UDPLite, numbers)


@dataclass(frozen=True, eq=False)
class Policy:
    kind: str
    api_version: str
    namespace: str  # "" for GlobalNetworkPolicy
    name: str
    document: Document
    tier: str
    order: float | None
    selector: Selector
    namespace_selector: NamespaceSelector | None
    types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]


@dataclass(frozen=True, eq=False)
class NetSet:
    namespace: str | None  # None: a GlobalNetworkSet
    name: str
    labels: Mapping[str, str]
    nets: tuple[IPNetwork, ...]


@dataclass(frozen=True, eq=False)
class TierDef:
    name: str
    order: float | None
    default_action: str
    document: Document


@dataclass(frozen=True, eq=False)
class ProfileDef:
    name: str
    labels_to_apply: Mapping[str, str]


@dataclass(frozen=True, eq=False)
class Endpoint:
    """A WorkloadEndpoint made a pod; ``labels`` is the workload's own (mutable) label map, so that
    profiles' ``labelsToApply`` can be merged in when every object is known."""

    workload: Workload
    labels: dict[str, str]
    profiles: tuple[str, ...]


# --- validation helpers ---------------------------------------------------------------------------------


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass
class _Checker:
    sink: KindSink
    failed: bool = False
    notes: list[tuple[str, Pointer]] = field(default_factory=list)

    def invalid(self, message: str, pointer: Pointer) -> None:
        self.sink.invalid.append((message, pointer))
        self.failed = True

    def not_evaluated(self, message: str, pointer: Pointer) -> None:
        self.sink.not_evaluated.append((message, pointer))

    def mapping(self, value: Any, pointer: Pointer, what: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.invalid(f"{what} must be a mapping, not {_type(value)}", pointer)
            return None
        return value

    def sequence(self, value: Any, pointer: Pointer, what: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.invalid(f"{what} must be a list, not {_type(value)}", pointer)
            return []
        return value

    def string(self, value: Any, pointer: Pointer, what: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.invalid(f"{what} must be a string, not {_type(value)}", pointer)
            return None
        return value

    def selector(self, value: Any, pointer: Pointer, what: str) -> Selector | None:
        text = self.string(value, pointer, what)
        if text is None:
            return None
        try:
            return parse_selector(text)
        except SelectorError as exc:
            self.invalid(
                f"{what} {text!r} does not parse: {exc.message} (at character {exc.position + 1})", pointer
            )
            return None

    def labels(self, value: Any, pointer: Pointer) -> dict[str, str]:
        raw = self.mapping(value, pointer, "labels")
        out: dict[str, str] = {}
        for key, item in (raw or {}).items():
            if not isinstance(key, str) or not isinstance(item, str):
                self.invalid(
                    f"label {key!r} must map a string to a string, not {_type(item)}", (*pointer, key)
                )
                continue
            out[key] = item
        return out

    def cidrs(self, value: Any, pointer: Pointer, what: str) -> tuple[IPNetwork, ...]:
        out: list[IPNetwork] = []
        for i, item in enumerate(self.sequence(value, pointer, what)):
            if not isinstance(item, str):
                self.invalid(f"{what} entries must be CIDR strings, not {_type(item)}", (*pointer, i))
                continue
            try:
                out.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                self.invalid(f"{what} entry {item!r} is not an IP address or CIDR", (*pointer, i))
        return tuple(out)

    def order(self, value: Any, pointer: Pointer) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.invalid(f"order must be a number, not {_type(value)}", pointer)
            return None
        if math.isnan(value):
            self.invalid("order must be a number, not NaN", pointer)
            return None
        return float(value)


def _metadata(data: dict[str, Any], check: _Checker) -> tuple[str | None, dict[str, Any]]:
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        check.invalid(f"metadata must be a mapping with a name, not {_type(metadata)}", ("metadata",))
        return None, {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        check.invalid(
            "metadata.name is required and must be a string",
            ("metadata", "name") if "name" in metadata else ("metadata",),
        )
        return None, metadata
    return name, metadata


# --- the kind -------------------------------------------------------------------------------------------


class CalicoKind:
    """Calico's policies, tiers, network sets and workload endpoints (see the module docstring)."""

    name = "calico"

    def handles(self, api_version: str, kind: str) -> bool:
        return kind in KINDS and api_version in API_VERSIONS

    def parse(self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink) -> object | None:
        kind = data.get("kind")
        api_version = str(data.get("apiVersion"))
        check = _Checker(sink)
        if kind in POLICY_KINDS:
            return _parse_policy(str(kind), api_version, data, doc, namespace, check)
        if kind in ("NetworkSet", "GlobalNetworkSet"):
            return _parse_netset(kind == "GlobalNetworkSet", data, namespace, check)
        if kind == "Tier":
            return _parse_tier(data, doc, check)
        if kind == "WorkloadEndpoint":
            return _parse_endpoint(data, doc, namespace, check)
        if kind == "Profile":
            return _parse_profile(data, check)
        if kind == "HostEndpoint":
            check.not_evaluated(
                "HostEndpoint: host traffic is not modelled; verdicts about the pods of its node assume it "
                "does not exist",
                ("kind",),
            )
        return None

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]:
        tiers = {t.name: t for t in objects if isinstance(t, TierDef)}
        netsets = [n for n in objects if isinstance(n, NetSet)]
        profiles = {p.name: p for p in objects if isinstance(p, ProfileDef)}
        for endpoint in (e for e in objects if isinstance(e, Endpoint)):
            _apply_profiles(endpoint, profiles)
        builder = _Builder(netsets, cluster)
        out: list[TierPolicy] = []
        for policy in (p for p in objects if isinstance(p, Policy)):
            out.append(builder.policy(policy, _tier(policy.tier, tiers)))
        return out


def _tier(name: str, tiers: Mapping[str, TierDef]) -> Tier:
    if name == "default":
        return NAMESPACE
    if name == "adminnetworkpolicy":
        return ADMIN
    if name == "baselineadminnetworkpolicy":
        return BASELINE
    found = tiers.get(name)
    order = found.order if found is not None and found.order is not None else INF
    end = found.default_action if found is not None else DENY
    return Tier(f"calico:{name}", order, end, f"Calico tier {name}")


def _apply_profiles(endpoint: Endpoint, profiles: Mapping[str, ProfileDef]) -> None:
    extra: dict[str, str] = {}
    for name in endpoint.profiles:
        profile = profiles.get(name)
        if profile is not None:
            extra.update(profile.labels_to_apply)
    for key, value in extra.items():
        endpoint.labels.setdefault(key, value)  # the endpoint's own labels win


# --- parsing --------------------------------------------------------------------------------------------


def _parse_policy(
    kind: str, api_version: str, data: dict[str, Any], doc: Document, namespace: str, check: _Checker
) -> Policy | None:
    name, _ = _metadata(data, check)
    is_global = kind == "GlobalNetworkPolicy"
    spec = check.mapping(data.get("spec"), ("spec",), "spec")
    if spec is None:
        spec = {}
    for key in HOST_ONLY:
        if spec.get(key) is True:
            check.not_evaluated(
                f"{kind} with {key}: true applies to host endpoints only; host traffic is not modelled, so "
                "this policy takes no part in the verdicts",
                ("spec", key),
            )
            return None
        if key in spec and not isinstance(spec[key], bool):
            check.invalid(f"{key} must be a boolean, not {_type(spec[key])}", ("spec", key))
    tier = check.string(spec.get("tier"), ("spec", "tier"), "tier") or "default"
    order = check.order(spec.get("order"), ("spec", "order"))
    selector = check.selector(spec.get("selector"), ("spec", "selector"), "selector")
    ns_selector = None
    if "namespaceSelector" in spec:
        if not is_global:
            check.invalid(
                "namespaceSelector is only valid in a GlobalNetworkPolicy", ("spec", "namespaceSelector")
            )
        parsed = check.selector(
            spec.get("namespaceSelector"), ("spec", "namespaceSelector"), "namespaceSelector"
        )
        ns_selector = NamespaceSelector(parsed) if parsed is not None and not parsed.is_all else None
    if spec.get("serviceAccountSelector") not in (None, "", "all()"):
        check.not_evaluated(
            "serviceAccountSelector: pods are not matched by service account labels; the policy is not evaluated",
            ("spec", "serviceAccountSelector"),
        )
        return None
    raw_ingress = check.sequence(spec.get("ingress"), ("spec", "ingress"), "ingress")
    raw_egress = check.sequence(spec.get("egress"), ("spec", "egress"), "egress")
    types = _types(spec, bool(raw_ingress), bool(raw_egress), check)
    ingress = tuple(
        r
        for i, raw in enumerate(raw_ingress)
        if (r := _parse_rule_memo(raw, ("spec", "ingress", i), i + 1, check)) is not None
    )
    egress = tuple(
        r
        for i, raw in enumerate(raw_egress)
        if (r := _parse_rule_memo(raw, ("spec", "egress", i), i + 1, check)) is not None
    )
    if check.failed or name is None:
        return None
    return Policy(
        kind,
        api_version,
        "" if is_global else namespace,
        name,
        doc,
        tier,
        order,
        selector or parse_selector(""),
        ns_selector,
        types,
        ingress,
        egress,
    )


def _types(spec: dict[str, Any], has_ingress: bool, has_egress: bool, check: _Checker) -> frozenset[str]:
    raw = check.sequence(spec.get("types"), ("spec", "types"), "types")
    types: set[str] = set()
    for i, item in enumerate(raw):
        if item not in ("Ingress", "Egress"):
            check.invalid(f"types entries must be Ingress or Egress, not {item!r}", ("spec", "types", i))
        elif item in types:
            check.invalid(f"type {item} is listed twice", ("spec", "types", i))
        else:
            types.add(item)
    if raw:
        for direction, present in (("Ingress", has_ingress), ("Egress", has_egress)):
            if present and direction not in types:
                check.invalid(
                    f"{direction.lower()} rules are given but types does not list {direction}",
                    ("spec", "types"),
                )
        return frozenset(t.lower() for t in types)
    if has_egress and not has_ingress:
        return frozenset({"egress"})
    return frozenset({"ingress", "egress"} if has_egress else {"ingress"})


def _protocol(value: Any, pointer: Pointer, check: _Checker) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        check.invalid("protocol must be a name or a number 1-255, not a boolean", pointer)
        return None
    if isinstance(value, int):
        if not 1 <= value <= 255:
            check.invalid(f"protocol number {value} is outside 1-255", pointer)
            return None
        return value
    if isinstance(value, str):
        if value.isdigit():
            return _protocol(int(value), pointer, check)
        for name in PROTOCOL_NAMES:
            if value.lower() == name.lower():
                return name
        check.invalid(f"protocol {value!r} is not one of {', '.join(PROTOCOL_NAMES)} or 1-255", pointer)
        return None
    check.invalid(f"protocol must be a name or a number, not {_type(value)}", pointer)
    return None


_RULES: dict[
    tuple[Pointer, str], tuple[Rule | None, list[tuple[str, Pointer]], list[tuple[str, Pointer]]]
] = {}


def _parse_rule_memo(raw: Any, pointer: Pointer, number: int, check: _Checker) -> Rule | None:
    """``_parse_rule``, once per (position, content): policies written from one template (the same rule at
    the same place in every namespace) are parsed once, their problems reported for each."""
    key = (pointer, repr(raw))
    found = _RULES.get(key)
    if found is None:
        sub = _Checker(KindSink())
        rule = _parse_rule(raw, pointer, number, sub)
        found = (rule, sub.sink.invalid, sub.sink.not_evaluated)
        if len(_RULES) > 50_000:
            _RULES.clear()
        _RULES[key] = found
    rule, invalid, not_evaluated = found
    if invalid:
        check.failed = True
        check.sink.invalid.extend(invalid)
    check.sink.not_evaluated.extend(not_evaluated)
    return rule


def _parse_rule(raw: Any, pointer: Pointer, number: int, check: _Checker) -> Rule | None:
    rule = check.mapping(raw, pointer, "a rule")
    if rule is None:
        if raw is None:
            check.invalid("a rule must be a mapping, not null", pointer)
        return None
    action_text = rule.get("action")
    if action_text not in ACTIONS:
        check.invalid(f"action must be Allow, Deny, Pass or Log, not {action_text!r}", (*pointer, "action"))
        return None
    action = ACTIONS[str(action_text)]
    protocol = _protocol(rule.get("protocol"), (*pointer, "protocol"), check)
    not_protocol = _protocol(rule.get("notProtocol"), (*pointer, "notProtocol"), check)
    ip_version = rule.get("ipVersion")
    if ip_version is not None and ip_version not in (4, 6):
        check.invalid(f"ipVersion must be 4 or 6, not {ip_version!r}", (*pointer, "ipVersion"))
        ip_version = None
    for key in ("icmp", "notICMP"):
        if key in rule:
            icmp = check.mapping(rule[key], (*pointer, key), key)
            if protocol not in ("ICMP", "ICMPv6", 1, 58):
                check.invalid(f"{key} needs protocol ICMP or ICMPv6", (*pointer, key))
            for field_name, value in (icmp or {}).items():
                if (
                    field_name not in ("type", "code")
                    or isinstance(value, bool)
                    or not isinstance(value, int)
                ):
                    check.invalid(
                        f"{key}.{field_name} must be type or code, a number", (*pointer, key, field_name)
                    )
                elif not 0 <= value <= 255:
                    check.invalid(f"{key}.{field_name} {value} is outside 0-255", (*pointer, key, field_name))
    if "http" in rule:
        check.not_evaluated(
            "http match (application layer policy) is checked as the L4 rule it is part of",
            (*pointer, "http"),
        )
    ports_allowed = protocol in PORT_PROTOCOLS or protocol in (6, 17, 132)
    source = _parse_entity(rule.get("source"), (*pointer, "source"), ports_allowed, check)
    destination = _parse_entity(rule.get("destination"), (*pointer, "destination"), ports_allowed, check)
    if source is None or destination is None:
        return None
    if source.ports or source.not_ports:
        check.not_evaluated(
            "source ports (the client's port) are not modelled: the rule is checked as if it matched every "
            "source port",
            (*pointer, "source", "ports" if source.ports else "notPorts"),
        )
    modelled = MODELLED.get(protocol) if protocol is not None else None
    matches_nothing = protocol is not None and modelled is None
    if protocol is not None and protocol == not_protocol:
        matches_nothing = True
    not_modelled = MODELLED.get(not_protocol) if not_protocol is not None else None
    return Rule(
        action,
        number,
        pointer,
        (modelled,) if modelled is not None else None,
        not_modelled if protocol is None else None,
        _with_protocol(source, modelled),
        _with_protocol(destination, modelled),
        ip_version if isinstance(ip_version, int) else None,
        matches_nothing,
    )


def _with_protocol(entity: Entity, protocol: str | None) -> Entity:
    if protocol is None or not (entity.ports or entity.not_ports):
        return entity

    def fill(specs: tuple[PortSpec, ...]) -> tuple[PortSpec, ...]:
        return tuple(PortSpec(protocol, s.port, s.end_port, s.pointer) for s in specs)

    return Entity(
        entity.selector,
        entity.not_selector,
        entity.namespace_selector,
        entity.nets,
        entity.not_nets,
        fill(entity.ports),
        fill(entity.not_ports),
        entity.service_accounts,
    )


def _parse_entity(raw: Any, pointer: Pointer, ports_allowed: bool, check: _Checker) -> Entity | None:
    entity = check.mapping(raw, pointer, "source/destination")
    if entity is None:
        return Entity() if raw is None else None
    selector = check.selector(entity.get("selector"), (*pointer, "selector"), "selector")
    not_selector = check.selector(entity.get("notSelector"), (*pointer, "notSelector"), "notSelector")
    ns_raw = check.selector(
        entity.get("namespaceSelector"), (*pointer, "namespaceSelector"), "namespaceSelector"
    )
    if entity.get("selector") == "":
        selector = None  # an empty string is an omitted field in Calico's API
    if entity.get("notSelector") == "":
        not_selector = None
    ns_selector = (
        NamespaceSelector(ns_raw) if ns_raw is not None and entity.get("namespaceSelector") != "" else None
    )
    nets = check.cidrs(entity.get("nets"), (*pointer, "nets"), "nets")
    not_nets = check.cidrs(entity.get("notNets"), (*pointer, "notNets"), "notNets")
    ports = _ports(entity.get("ports"), (*pointer, "ports"), ports_allowed, check)
    not_ports = _ports(entity.get("notPorts"), (*pointer, "notPorts"), ports_allowed, check)
    accounts: frozenset[str] | None = None
    sa = check.mapping(entity.get("serviceAccounts"), (*pointer, "serviceAccounts"), "serviceAccounts")
    if sa is not None:
        names: set[str] = set()
        for i, item in enumerate(
            check.sequence(sa.get("names"), (*pointer, "serviceAccounts", "names"), "names")
        ):
            if isinstance(item, str):
                names.add(item)
            else:
                check.invalid(
                    f"service account names must be strings, not {_type(item)}",
                    (*pointer, "serviceAccounts", "names", i),
                )
        if sa.get("selector") not in (None, ""):
            check.selector(sa.get("selector"), (*pointer, "serviceAccounts", "selector"), "selector")
            check.not_evaluated(
                "serviceAccounts.selector: service account labels are not known; the rule is not evaluated",
                (*pointer, "serviceAccounts", "selector"),
            )
            return None
        if names:
            accounts = frozenset(names)
            check.not_evaluated(
                "serviceAccounts.names match the projectcalico.org/serviceaccount label, which only "
                "WorkloadEndpoints carry",
                (*pointer, "serviceAccounts"),
            )
    if entity.get("services") is not None:
        check.mapping(entity.get("services"), (*pointer, "services"), "services")
        check.not_evaluated(
            "services match: a Service's endpoints are not resolved; the rule is not evaluated",
            (*pointer, "services"),
        )
        return None
    domains: list[str] = []
    for i, item in enumerate(check.sequence(entity.get("domains"), (*pointer, "domains"), "domains")):
        if isinstance(item, str) and _DOMAIN.match(item) and len(item) <= 253:
            domains.append(item.lower().rstrip("."))
        else:
            check.invalid(
                f"domain {item!r} is not a DNS name (a '*' may stand for labels)", (*pointer, "domains", i)
            )
    return Entity(
        selector, not_selector, ns_selector, nets, not_nets, ports, not_ports, accounts, tuple(domains)
    )


def _ports(raw: Any, pointer: Pointer, allowed: bool, check: _Checker) -> tuple[PortSpec, ...]:
    items = check.sequence(raw, pointer, "ports")
    if items and not allowed:
        check.invalid("ports need protocol TCP, UDP, SCTP or UDPLite in the rule", pointer)
        return ()
    out: list[PortSpec] = []
    for i, item in enumerate(items):
        where = (*pointer, i)
        if isinstance(item, bool) or not isinstance(item, int | str):
            check.invalid(f"a port must be a number, a range 'min:max' or a name, not {_type(item)}", where)
            continue
        if isinstance(item, int):
            if not 0 <= item <= 65535:
                check.invalid(f"port {item} is outside 0-65535", where)
                continue
            out.append(PortSpec("TCP", max(item, 1), None, where))
            continue
        text = item.strip()
        match = _RANGE.match(text)
        if text.isdigit():
            number = int(text)
            if not 0 <= number <= 65535:
                check.invalid(f"port {number} is outside 0-65535", where)
                continue
            out.append(PortSpec("TCP", max(number, 1), None, where))
        elif match:
            low, high = int(match.group(1)), int(match.group(2))
            if high > 65535 or low > high:
                check.invalid(f"port range {item!r} must be min:max within 0-65535 with min <= max", where)
                continue
            out.append(PortSpec("TCP", max(low, 1), high, where))
        elif _PORT_NAME.match(text) and len(text) <= 128:
            out.append(PortSpec("TCP", text, None, where))
        else:
            check.invalid(f"port {item!r} is not a number, a range 'min:max' or a port name", where)
    return tuple(out)


def _parse_netset(is_global: bool, data: dict[str, Any], namespace: str, check: _Checker) -> NetSet | None:
    name, metadata = _metadata(data, check)
    labels = check.labels(metadata.get("labels"), ("metadata", "labels"))
    spec = check.mapping(data.get("spec"), ("spec",), "spec") or {}
    nets = check.cidrs(spec.get("nets"), ("spec", "nets"), "nets")
    if check.failed or name is None:
        return None
    return NetSet(None if is_global else namespace, name, labels, nets)


def _parse_tier(data: dict[str, Any], doc: Document, check: _Checker) -> TierDef | None:
    name, _ = _metadata(data, check)
    spec = check.mapping(data.get("spec"), ("spec",), "spec") or {}
    order = check.order(spec.get("order"), ("spec", "order"))
    action = spec.get("defaultAction", "Deny")
    if action not in ("Deny", "Pass"):
        check.invalid(f"defaultAction must be Deny or Pass, not {action!r}", ("spec", "defaultAction"))
    if check.failed or name is None:
        return None
    return TierDef(name, order, PASS if action == "Pass" else DENY, doc)


def _parse_profile(data: dict[str, Any], check: _Checker) -> ProfileDef | None:
    name, _ = _metadata(data, check)
    spec = check.mapping(data.get("spec"), ("spec",), "spec") or {}
    labels = check.labels(spec.get("labelsToApply"), ("spec", "labelsToApply"))
    for key in ("ingress", "egress"):
        rules = spec.get(key)
        if rules and rules != [{"action": "Allow"}]:  # allow-all (Kubernetes' kns.* profiles) is assumed
            check.not_evaluated(
                f"Profile {key} rules are not evaluated: an endpoint that no policy decides is assumed "
                "allowed, as Kubernetes' default profiles do",
                ("spec", key),
            )
    if name is None:
        return None
    return ProfileDef(name, labels)


def _parse_endpoint(data: dict[str, Any], doc: Document, namespace: str, check: _Checker) -> Endpoint | None:
    name, metadata = _metadata(data, check)
    labels = check.labels(metadata.get("labels"), ("metadata", "labels"))
    spec = check.mapping(data.get("spec"), ("spec",), "spec") or {}
    pod = spec.get("pod")
    ports: list[ContainerPort] = []
    for i, raw in enumerate(check.sequence(spec.get("ports"), ("spec", "ports"), "ports")):
        port = raw if isinstance(raw, dict) else {}
        number, port_name, protocol = port.get("port"), port.get("name"), port.get("protocol", "TCP")
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(port_name, str):
            check.invalid("an endpoint port needs a name and a port number", ("spec", "ports", i))
            continue
        if protocol in ("TCP", "UDP", "SCTP"):
            ports.append(ContainerPort(number, protocol, port_name))
    addresses: list[str] = []
    for i, raw in enumerate(check.sequence(spec.get("ipNetworks"), ("spec", "ipNetworks"), "ipNetworks")):
        if isinstance(raw, str):
            addresses.append(raw.split("/")[0])
        else:
            check.invalid(f"ipNetworks entries must be strings, not {_type(raw)}", ("spec", "ipNetworks", i))
    profiles = tuple(
        p
        for p in check.sequence(spec.get("profiles"), ("spec", "profiles"), "profiles")
        if isinstance(p, str)
    )
    if name is None:
        return None
    workload = Workload(
        "WorkloadEndpoint",
        namespace,
        pod if isinstance(pod, str) and pod else name,
        labels,
        tuple(ports),
        doc,
        pod_ips=tuple(addresses),
    )
    check.sink.workloads.append(workload)
    return Endpoint(workload, labels, profiles)


# --- building -------------------------------------------------------------------------------------------


_SPECIAL_KEYS = frozenset({NAMESPACE_LABEL, ORCHESTRATOR_LABEL})


@dataclass(frozen=True)
class BoundSelector:
    """A selector evaluated on a pod of a known namespace: Calico's own labels of workload endpoints
    (namespace, orchestrator) are added to the pod's labels first."""

    selector: Selector
    namespace: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        extra = {NAMESPACE_LABEL: self.namespace, ORCHESTRATOR_LABEL: "k8s"}
        return self.selector.matches({**extra, **labels})


NamespaceScope = frozenset[str] | NamespaceSelector | None  # None: every namespace


class _Builder:
    def __init__(self, netsets: list[NetSet], cluster: ClusterView):
        self.netsets = netsets
        self.cluster = cluster

    def _namespace_labels(self, name: str) -> Mapping[str, str]:
        found = self.cluster.namespaces.get(name)
        return found.labels if found is not None else {"kubernetes.io/metadata.name": name}

    def _pods(self, scope: NamespaceScope, selector: Selector | None) -> PeerExpr:
        if selector is not None and selector.is_all:
            selector = None
        if selector is not None and selector.keys() & _SPECIAL_KEYS:
            names = (
                sorted(scope)
                if isinstance(scope, frozenset)
                else [
                    n
                    for n in sorted(self.cluster.namespaces)
                    if scope is None or scope.matches(self._namespace_labels(n))
                ]
            )
            return AnyOf(tuple(Pods(frozenset({n}), None, BoundSelector(selector, n)) for n in names))
        if isinstance(scope, frozenset):
            return Pods(namespace_names=scope, pod_selector=selector)
        return Pods(namespace_selector=scope, pod_selector=selector)

    def _netsets(self, scope: NamespaceScope, selector: Selector | None) -> list[PeerExpr]:
        out: list[PeerExpr] = []
        for netset in self.netsets:
            if netset.namespace is None:
                in_scope = scope is None or (isinstance(scope, NamespaceSelector) and scope.selects_global)
                chosen = in_scope and (selector is None or selector.matches_global(netset.labels))
            else:
                if isinstance(scope, frozenset):
                    in_scope = netset.namespace in scope
                elif isinstance(scope, NamespaceSelector):
                    in_scope = scope.matches(self._namespace_labels(netset.namespace))
                else:
                    in_scope = True
                labels = {NAMESPACE_LABEL: netset.namespace, **netset.labels}
                chosen = in_scope and (selector is None or selector.matches(labels))
            if chosen:
                out.extend(Network(IPBlock(net)) for net in netset.nets)
        return out

    def endpoints(self, scope: NamespaceScope, selector: Selector | None) -> PeerExpr:
        """Pods and network-set addresses of ``scope`` that ``selector`` (None: any) picks."""
        parts = [self._pods(scope, selector), *self._netsets(scope, selector)]
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def entity(self, entity: Entity, namespace: str, ip_version: int | None) -> PeerExpr:
        parts: list[PeerExpr] = []
        scope: NamespaceScope = None
        if entity.namespace_selector is not None:
            scope = entity.namespace_selector
        elif namespace:
            scope = frozenset({namespace})
        positive = entity.selector
        if entity.service_accounts is not None:
            accounts = parse_selector(
                f"{SERVICE_ACCOUNT_LABEL} in {{{', '.join(repr(a) for a in sorted(entity.service_accounts))}}}"
            )
            positive = accounts if positive is None else parse_selector(f"({accounts}) && ({positive})")
        if scope is not None and entity.labels_given:
            parts.append(self.endpoints(scope, positive))
        elif positive is not None:
            parts.append(self.endpoints(None, positive))
        if entity.not_selector is not None:
            parts.append(Not(self.endpoints(None, entity.not_selector)))
        if entity.nets:
            parts.append(AnyOf(tuple(Network(IPBlock(net)) for net in entity.nets)))
        if entity.not_nets:
            parts.append(Not(AnyOf(tuple(Network(IPBlock(net)) for net in entity.not_nets))))
        if entity.domains:  # the addresses the pods' DNS answers give, as Cilium's toFQDNs
            parts.append(AnyOf(tuple(Named(f"fqdn:{domain}") for domain in entity.domains)))
        if ip_version is not None:
            other = "::/0" if ip_version == 4 else "0.0.0.0/0"
            parts.append(Not(Network(IPBlock(ipaddress.ip_network(other)), in_cluster=False)))
        if not parts:
            return EVERYTHING
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def rule(self, rule: Rule, direction: str, namespace: str) -> TierRule | None:
        if rule.action is None or rule.matches_nothing:
            return None  # Log decides nothing; a protocol outside TCP/UDP/SCTP matches no modelled port
        peer_side, subject_side = (
            (rule.source, rule.destination) if direction == "ingress" else (rule.destination, rule.source)
        )
        peers = self.entity(peer_side, namespace, rule.ip_version)
        subject = self.entity(subject_side, namespace, None) if subject_side.endpoint_given else None
        dst = rule.destination
        if rule.protocols is not None:
            protocol = rule.protocols[0]
            ports = dst.ports or (PortSpec(protocol),)
            except_ports = dst.not_ports
        else:
            ports = ()
            except_ports = (PortSpec(rule.not_protocol),) if rule.not_protocol is not None else ()
        notes = ("source ports are not modelled",) if (rule.source.ports or rule.source.not_ports) else ()
        return TierRule(
            rule.action,
            peers,
            tuple(ports),
            tuple(except_ports),
            rule.number,
            "",
            rule.pointer,
            subject,
            0,
            notes,
        )

    def policy(self, policy: Policy, tier: Tier) -> TierPolicy:
        if policy.namespace:
            subject = self._pods(frozenset({policy.namespace}), policy.selector)
        else:
            subject = self._pods(policy.namespace_selector, policy.selector)
        if isinstance(subject, AnyOf) and not subject.items:
            subject = NOTHING
        ingress = (
            tuple(
                r
                for rule in policy.ingress
                if (r := self.rule(rule, "ingress", policy.namespace)) is not None
            )
            if "ingress" in policy.types
            else ()
        )
        egress = (
            tuple(
                r for rule in policy.egress if (r := self.rule(rule, "egress", policy.namespace)) is not None
            )
            if "egress" in policy.types
            else ()
        )
        return TierPolicy(
            policy.kind,
            policy.api_version,
            policy.namespace,
            policy.name,
            policy.document,
            tier,
            # Calico sorts by order (none: last), then by the policy's key: "namespace/name" or "name"
            (
                policy.order if policy.order is not None else INF,
                f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name,
            ),
            subject,
            ingress,
            egress,
            frozenset(policy.types),
            ("spec", "selector"),
        )
