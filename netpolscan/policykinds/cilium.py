"""CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (``cilium.io/v2``, and ``v2alpha1`` where a
cluster still serves it), at L3/L4, from Cilium's policy language documentation
(``Documentation/security/policy/*.rst`` of cilium/cilium).

Each rule of ``spec`` and of ``specs`` becomes one :class:`~netpolscan.model.tiers.TierPolicy` of the
namespace tier, next to NetworkPolicy v1 (Cilium enforces both on the same endpoints and their allows
add up); deny rules (``ingressDeny``/``egressDeny``) have ``precedence=-1``, so a deny wins over every
allow, of any policy. Decisions, each following the docs:

- subject: ``endpointSelector`` as :class:`~netpolscan.model.tiers.Pods` (host-network pods never: they
  are the node's ``host`` identity); in a CiliumNetworkPolicy only pods of its namespace. Label keys may
  carry a source (``k8s:``, ``any:``; ``reserved:X`` selects the entity X, not pods);
  ``io.kubernetes.pod.namespace`` is the pod's namespace; ``io.cilium.k8s.namespace.labels.KEY`` a
  label of it (CiliumClusterwideNetworkPolicy only; "ignored" in a CiliumNetworkPolicy, the docs say,
  so it is dropped and NPS006 says so); ``io.cilium.k8s.policy.*`` (service account, cluster) are not
  modelled: dropped, with NPS006. A CiliumClusterwideNetworkPolicy with ``nodeSelector`` is a host
  policy: not evaluated (NPS006).
- default deny per direction (``TierPolicy.isolates``): when the rule has a non-empty ``ingress`` or
  ``ingressDeny`` list (``egress``/``egressDeny``); an empty list means "does not apply" (the Rule
  type's field doc); ``enableDefaultDeny: {ingress: false}`` keeps the direction open (its rules only
  add). An empty rule (``egress: [{}]``) selects no peer. Pods a Cilium policy isolates for ingress
  still accept their own node (``--allow-localhost``, on by default): one more policy, of kind
  ``Cilium agent`` and named ``allow-localhost``, says so (it isolates nothing).
- peers of one rule add up (``fromEndpoints``, ``fromCIDR``, ``fromCIDRSet``, ``fromEntities``,
  ``fromNodes``, ``toServices``, ``toFQDNs``); a rule without any but with ``toPorts`` matches every
  peer; an empty list (``fromEndpoints: []``) matches none. ``fromEndpoints``/``toEndpoints`` in a
  CiliumNetworkPolicy stay in its namespace unless the selector names one; in a cluster-wide policy
  they match pods of every namespace (never entities). ``fromRequires``/``toRequires`` (deprecated in
  1.17, removed in 1.19: NPS003) narrow the allow rules of every spec with the same endpoint selector.
- entities: ``world`` -> :class:`World` (``world-ipv4``/``world-ipv6`` -> 0.0.0.0/0, ::/0 outside the
  cluster); ``cluster`` -> every pod, host-network pods and node; ``host`` -> the node the subject pod
  runs on (its host network, host-network pods included), ``remote-node`` -> every other node (a pod
  whose node is unknown may run on any); ``all`` -> everything; ``none`` -> nothing;
  ``kube-apiserver``, ``health``, ``init``, ``unmanaged``, ``ingress`` -> ``Named("entity:NAME")``.
- CIDRs (``fromCIDR``, ``toCIDRSet`` with ``except``, CiliumCIDRGroup references) -> ``Network(block,
  in_cluster=False)``: Cilium's CIDR rules never select pods or nodes. ``toFQDNs`` ->
  ``Named("fqdn:NAME")`` (``matchName`` lower-cased without the final dot, ``matchPattern`` as
  written). ``toServices``: a Service with a selector -> its pods; without one -> the addresses of its
  EndpointSlices as CIDRs; a Service the input lacks -> nothing (the rule says so in its notes).
- ports: ``toPorts`` entries add up; ``port`` a number, a name, "0" or omitted (every port);
  ``endPort``; ``protocol`` TCP/UDP/SCTP, ANY or omitted -> the three; VRRP/IGMP and ``icmps`` carry no
  transport port and are not modelled (a note; a rule with nothing else matches nothing). L7 sections
  (``rules: http|kafka|dns|l7proto``), ``serverNames`` and ``listener`` open their L4 port: checked at
  L4, with a note (NPS806).

What the CRD's schema or the agent rejects is NPS002 at the field, and the object is left out of the
analysis (Cilium applies none of it).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan.model.objects import IPBlock, IPNetwork, PortSpec, Service
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector, Requirement, type_name
from netpolscan.model.tiers import (
    ALLOW,
    DENY,
    EVERYTHING,
    NAMESPACE,
    NETWORK_POLICY_ORDER,
    NOTHING,
    AllOf,
    AnyOf,
    ClusterView,
    KindSink,
    Named,
    Network,
    Node,
    Nodes,
    Not,
    PeerExpr,
    Pods,
    TierPolicy,
    TierRule,
    World,
)
from netpolscan.sources.document import Document, Pointer

GROUP = "cilium.io"
SERVED_VERSIONS = (f"{GROUP}/v2", f"{GROUP}/v2alpha1")
CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
CIDR_GROUP = "CiliumCIDRGroup"
POLICY_KINDS = (CNP, CCNP)
DISCOVERY_VERSIONS = ("discovery.k8s.io/v1", "discovery.k8s.io/v1beta1")
ENDPOINT_SLICE = "EndpointSlice"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
HOSTNAME_LABEL = "kubernetes.io/hostname"
DIRECTIONS = ("ingress", "egress")

NAMESPACE_KEY = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
POLICY_LABELS_PREFIX = "io.cilium.k8s.policy."
POD_SOURCES = ("", "k8s", "any")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

ENTITIES = (
    "all",
    "world",
    "world-ipv4",
    "world-ipv6",
    "cluster",
    "host",
    "init",
    "ingress",
    "unmanaged",
    "remote-node",
    "health",
    "none",
    "kube-apiserver",
)
TRANSPORT = ("TCP", "UDP", "SCTP")
PORT_PROTOCOLS = (*TRANSPORT, "ANY", "VRRP", "IGMP")
L7_KINDS = ("http", "kafka", "dns", "l7proto")
MAX_PORTS = 40
# the CRD's patterns
_PORT = re.compile(
    r"^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})$"
    r"|^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_FQDN_NAME = re.compile(r"^([-a-zA-Z0-9_]+[.]?)+$")
_FQDN_PATTERN = re.compile(r"^([-a-zA-Z0-9_*]+[.]?)+$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

SPEC_FIELDS = (
    "endpointSelector",
    "nodeSelector",
    "ingress",
    "ingressDeny",
    "egress",
    "egressDeny",
    "enableDefaultDeny",
    "labels",
    "description",
    "log",
)
COMMON_INGRESS = ("fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes")
COMMON_EGRESS = ("toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toNodes", "toServices")
RULE_FIELDS = {
    "ingress": (*COMMON_INGRESS, "fromGroups", "toPorts", "icmps", "authentication"),
    "egress": (*COMMON_EGRESS, "toFQDNs", "toGroups", "toPorts", "icmps", "authentication"),
    "ingressDeny": (*COMMON_INGRESS, "fromGroups", "toPorts", "icmps"),
    "egressDeny": (*COMMON_EGRESS, "toGroups", "toPorts", "icmps"),
}
PORT_RULE_FIELDS = ("ports", "rules", "serverNames", "listener", "terminatingTLS", "originatingTLS")
AGENT_KIND = "Cilium agent"  # the kind of the policy standing for the agent's own allow-localhost
LOCALHOST = "allow-localhost"
L7_NOTE = "L7 rules"  # the start of the note of a rule whose port carries L7 rules (NPS806)


# --- what a document reads as ----------------------------------------------------------------------


@dataclass(frozen=True)
class HostEntity:
    """The node a subject pod runs on (``host``: ``local``) or every other node (``remote-node``)."""

    local: bool


@dataclass(frozen=True)
class ServiceRef:
    """``toServices.k8sService``."""

    namespace: str
    name: str


@dataclass(frozen=True)
class ServiceSelectorRef:
    """``toServices.k8sServiceSelector``: Services by their labels (not in the model: matches nothing)."""

    namespace: str


@dataclass(frozen=True)
class CIDRGroupRef:
    """``cidrGroupRef`` (``name``) or ``cidrGroupSelector`` (``selector``) of a CIDR set."""

    name: str | None
    selector: LabelSelector | None
    excepts: tuple[IPNetwork, ...] = ()


Part = PeerExpr | HostEntity | ServiceRef | ServiceSelectorRef | CIDRGroupRef


@dataclass(frozen=True)
class L7Section:
    """The ``rules`` of one ``toPorts`` entry: its kind and the ports it sits on."""

    kind: str
    pointer: Pointer
    ports: tuple[PortSpec, ...]


@dataclass
class CiliumRule:
    """One rule of one direction, as written: its peers, ports, L7 sections and domain names."""

    direction: str
    action: str
    section: str  # ingress, ingressDeny, egress, egressDeny
    number: int  # 1-based inside its section
    pointer: Pointer
    parts: list[Part] = field(default_factory=list)
    l3_given: bool = False  # some L3 field is set (an empty list of it matches nothing)
    ports: list[PortSpec] = field(default_factory=list)
    l4_given: bool = False  # toPorts or icmps
    requires: list[PeerExpr] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    l7: list[L7Section] = field(default_factory=list)
    fqdns: list[tuple[str, Pointer]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.section if self.action == DENY else ""


@dataclass
class CiliumSpec:
    """One rule of ``spec``/``specs`` (a Cilium "rule" in the docs' words): subject and sections."""

    kind: str
    api_version: str
    namespace: str  # "" for a cluster-wide policy
    name: str
    document: Document
    pointer: Pointer
    index: int
    subject: PeerExpr
    selector_key: object  # the endpoint selector as written, for fromRequires/toRequires
    isolates: frozenset[str]
    rules: list[CiliumRule] = field(default_factory=list)


@dataclass
class CiliumPolicy:
    """A valid CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: its evaluated specs."""

    kind: str
    namespace: str
    name: str
    document: Document
    specs: list[CiliumSpec]


@dataclass(frozen=True)
class EndpointAddresses:
    """The addresses of one EndpointSlice of a Service (``toServices`` of a selector-less Service)."""

    namespace: str
    service: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class CIDRGroup:
    """A CiliumCIDRGroup: its labels and ``externalCIDRs``."""

    name: str
    labels: Mapping[str, str]
    blocks: tuple[IPNetwork, ...]


# --- the kind -----------------------------------------------------------------------------------------


class CiliumPolicyKind:
    """Cilium's policies (and the objects they refer to: CiliumCIDRGroups, EndpointSlices)."""

    name = "cilium"

    def handles(self, api_version: str, kind: str) -> bool:
        if kind in POLICY_KINDS or kind == CIDR_GROUP:
            return api_version.partition("/")[0] == GROUP
        return kind == ENDPOINT_SLICE and api_version in DISCOVERY_VERSIONS

    def parse(self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink) -> object | None:
        kind = data.get("kind")
        if kind == ENDPOINT_SLICE:
            return endpoint_addresses(data, namespace)
        api_version = str(data.get("apiVersion"))
        if api_version not in SERVED_VERSIONS:
            sink.invalid.append(
                (
                    f"apiVersion {api_version} does not serve {kind} (use {SERVED_VERSIONS[0]}); "
                    "it is left out of the analysis",
                    ("apiVersion",),
                )
            )
            return None
        reader = _Reader(sink)
        if kind == CIDR_GROUP:
            return reader.cidr_group(data)
        return reader.policy(data, doc, str(kind), api_version, namespace)

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]:
        return _Builder(objects, cluster).policies()


def endpoint_addresses(data: dict[str, Any], namespace: str) -> EndpointAddresses | None:
    labels = _metadata(data, "labels")
    service = labels.get(SERVICE_NAME_LABEL) if isinstance(labels, dict) else None
    if not isinstance(service, str):
        return None
    found: list[str] = []
    endpoints = data.get("endpoints")
    for endpoint in endpoints if isinstance(endpoints, list) else ():
        addresses = endpoint.get("addresses") if isinstance(endpoint, dict) else None
        for address in addresses if isinstance(addresses, list) else ():
            if isinstance(address, str) and _address(address) is not None:
                found.append(address)
    return EndpointAddresses(namespace, service, tuple(found))


def _metadata(data: dict[str, Any], key: str) -> Any:
    metadata = data.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def parse_cidr(value: Any) -> IPNetwork | None:
    """A CIDR as Cilium reads it: a prefix, or a single address (a /32 or /128)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- reading ------------------------------------------------------------------------------------------


@dataclass
class _Selector:
    """An endpoint selector split by what its keys mean."""

    pod_labels: list[tuple[str, str]] = field(default_factory=list)
    pod_requirements: list[Requirement] = field(default_factory=list)
    namespace_names: set[str] | None = None
    namespace_requirements: list[Requirement] = field(default_factory=list)
    namespace_given: bool = False  # io.kubernetes.pod.namespace is constrained
    entities: set[str] = field(default_factory=set)  # reserved:X required
    impossible: bool = False  # a requirement no pod (nor entity) meets

    def label_selector(self) -> LabelSelector:
        """The requirements on the labels themselves (pods, nodes, CIDR groups)."""
        return LabelSelector(tuple(sorted(self.pod_labels)), tuple(self.pod_requirements))


class _Reader:
    """Reads one Cilium document, reporting into ``sink``."""

    def __init__(self, sink: KindSink) -> None:
        self.sink = sink
        self.kind = CNP
        self.namespace = ""
        self.current = CiliumRule("ingress", ALLOW, "ingress", 1, ())
        reader = Callable[[Any, Pointer], "Part | None"]
        self.peer_readers: dict[str, reader] = {
            "fromEndpoints": self.endpoints,
            "toEndpoints": self.endpoints,
            "fromCIDR": self.cidr,
            "toCIDR": self.cidr,
            "fromCIDRSet": self.cidr_set,
            "toCIDRSet": self.cidr_set,
            "fromEntities": self.entity,
            "toEntities": self.entity,
            "toServices": self.service,
            "toFQDNs": self.fqdn,
            "fromNodes": self.nodes,
            "toNodes": self.nodes,
        }

    def bad(self, message: str, pointer: Pointer) -> None:
        self.sink.invalid.append((message, pointer))

    def unknown_keys(self, raw: dict[Any, Any], known: Sequence[str], what: str, pointer: Pointer) -> None:
        for key in raw:
            if key not in known:
                self.bad(f"unknown field {key!r} in {what} (expected {', '.join(known)})", (*pointer, key))

    def mapping(self, raw: Any, what: str, pointer: Pointer) -> dict[Any, Any] | None:
        if isinstance(raw, dict):
            return raw
        self.bad(f"{what} must be a mapping, not {type_name(raw)}", pointer)
        return None

    def listing(self, raw: Any, what: str, pointer: Pointer) -> list[Any] | None:
        if isinstance(raw, list):
            return raw
        self.bad(f"{what} must be a list, not {type_name(raw)}", pointer)
        return None

    # --- objects ----------------------------------------------------------------------------------

    def name_of(self, data: dict[str, Any]) -> str | None:
        name = _metadata(data, "name")
        if isinstance(name, str) and name:
            return name
        metadata = data.get("metadata")
        where: Pointer = ("metadata", "name") if isinstance(metadata, dict) and "name" in metadata else ()
        self.bad("metadata.name is required and must be a string", where or ("metadata",))
        return None

    def cidr_group(self, data: dict[str, Any]) -> CIDRGroup | None:
        start = len(self.sink.invalid)
        name = self.name_of(data)
        blocks: list[IPNetwork] = []
        spec = self.mapping(data.get("spec", {}), "spec", ("spec",))
        if spec is not None:
            raw = spec.get("externalCIDRs", [])
            items = self.listing(raw, "externalCIDRs", ("spec", "externalCIDRs")) or []
            for i, value in enumerate(items):
                block = parse_cidr(value)
                if block is None:
                    self.bad(f"{value!r} is not a CIDR", ("spec", "externalCIDRs", i))
                else:
                    blocks.append(block)
        if name is None or len(self.sink.invalid) > start:
            return None
        labels = _metadata(data, "labels")
        label_map = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        return CIDRGroup(name, label_map, tuple(blocks))

    def policy(
        self, data: dict[str, Any], doc: Document, kind: str, api_version: str, namespace: str
    ) -> CiliumPolicy | None:
        self.kind = kind
        self.namespace = namespace if kind == CNP else ""
        start = len(self.sink.invalid)
        name = self.name_of(data)
        raws: list[tuple[Any, Pointer]] = []
        if data.get("spec") is not None:
            raws.append((data["spec"], ("spec",)))
        if data.get("specs") is not None:
            specs = self.listing(data["specs"], "specs", ("specs",))
            raws.extend((raw, ("specs", i)) for i, raw in enumerate(specs or ()))
        if data.get("spec") is None and data.get("specs") is None:
            self.bad(f"a {kind} needs spec or specs (the agent rejects an empty policy)", ())
        specs_read: list[CiliumSpec] = []
        for index, (raw, pointer) in enumerate(raws):
            spec = self.spec(raw, pointer, index, doc, name or "", api_version)
            if spec is not None:
                specs_read.append(spec)
        if name is None or len(self.sink.invalid) > start:
            self.sink.invalid[start:] = [
                (f"{message}; the {kind} is left out of the analysis", where)
                for message, where in self.sink.invalid[start:]
            ]
            return None
        return CiliumPolicy(kind, self.namespace, name, doc, specs_read)

    def spec(
        self, raw: Any, pointer: Pointer, index: int, doc: Document, name: str, api_version: str
    ) -> CiliumSpec | None:
        spec = self.mapping(raw, "a policy rule (spec)", pointer)
        if spec is None:
            return None
        self.unknown_keys(spec, SPEC_FIELDS, "spec", pointer)
        has_endpoints = spec.get("endpointSelector") is not None
        has_nodes = spec.get("nodeSelector") is not None
        if has_endpoints and has_nodes:
            self.bad("endpointSelector and nodeSelector are mutually exclusive", (*pointer, "nodeSelector"))
        elif not has_endpoints and not has_nodes:
            self.bad("a rule needs an endpointSelector (or, cluster-wide, a nodeSelector)", pointer)
        if has_nodes and self.kind == CNP:
            self.bad(
                "nodeSelector can only be used in a CiliumClusterwideNetworkPolicy",
                (*pointer, "nodeSelector"),
            )
        if not any(key in spec for key in ("ingress", "ingressDeny", "egress", "egressDeny")):
            self.bad("a rule needs ingress, ingressDeny, egress or egressDeny", pointer)
        for key in ("description",):
            if key in spec and not isinstance(spec[key], str):
                self.bad(f"{key} must be a string, not {type_name(spec[key])}", (*pointer, key))
        if "labels" in spec:
            self.listing(spec["labels"], "labels", (*pointer, "labels"))
        if "log" in spec:
            self.mapping(spec["log"], "log", (*pointer, "log"))
        enable = self.default_deny(spec.get("enableDefaultDeny"), (*pointer, "enableDefaultDeny"))
        selector_key = "nodes" if has_nodes else _freeze(spec.get("endpointSelector"))
        subject: PeerExpr = NOTHING
        if has_endpoints:
            subject = self.subject(spec["endpointSelector"], (*pointer, "endpointSelector"))
        rules: list[CiliumRule] = []
        isolates: set[str] = set()
        for section in ("ingress", "ingressDeny", "egress", "egressDeny"):
            if section not in spec or spec[section] is None:
                continue
            items = self.listing(spec[section], section, (*pointer, section))
            direction = "ingress" if section.startswith("ingress") else "egress"
            if items and enable.get(direction, True):
                isolates.add(direction)
            for i, raw_rule in enumerate(items or ()):
                rule = self.rule(raw_rule, section, i, (*pointer, section, i))
                if rule is not None:
                    rules.append(rule)
        if has_nodes and self.kind == CCNP:
            self.sink.not_evaluated.append(
                (
                    f"{CCNP} {name} has a nodeSelector: a host policy, enforced on the nodes' host network "
                    "(host-network pods included) with hostFirewall.enabled; netpolscan does not evaluate "
                    "host policies, so verdicts about traffic to and from those nodes assume it allows "
                    "everything",
                    (*pointer, "nodeSelector"),
                )
            )
            return None
        return CiliumSpec(
            self.kind,
            api_version,
            self.namespace,
            name,
            doc,
            pointer,
            index,
            subject,
            selector_key,
            frozenset(isolates),
            rules,
        )

    def default_deny(self, raw: Any, pointer: Pointer) -> dict[str, bool]:
        if raw is None:
            return {}
        found = self.mapping(raw, "enableDefaultDeny", pointer)
        result: dict[str, bool] = {}
        if found is None:
            return result
        self.unknown_keys(found, DIRECTIONS, "enableDefaultDeny", pointer)
        for direction in DIRECTIONS:
            value = found.get(direction)
            if value is None:
                continue
            if isinstance(value, bool):
                result[direction] = value
            else:
                self.bad(f"enableDefaultDeny.{direction} must be true or false", (*pointer, direction))
        return result

    # --- selectors --------------------------------------------------------------------------------

    def selector(self, raw: Any, pointer: Pointer) -> _Selector | None:
        """Read an endpoint selector (a Kubernetes LabelSelector whose keys may carry a source)."""
        if raw is None:
            raw = {}
        found = self.mapping(raw, "an endpoint selector", pointer)
        if found is None:
            return None
        start = len(self.sink.invalid)
        self.unknown_keys(found, ("matchLabels", "matchExpressions"), "an endpoint selector", pointer)
        result = _Selector()
        labels = found.get("matchLabels")
        if labels is not None:
            for key, value in (self.mapping(labels, "matchLabels", (*pointer, "matchLabels")) or {}).items():
                where = (*pointer, "matchLabels", key)
                if not isinstance(key, str) or not key:
                    self.bad(f"label key {key!r} must be a non-empty string", where)
                elif not isinstance(value, str):
                    self.bad(f"label value {value!r} must be a string (quote it)", where)
                elif len(value) > 63 or not _LABEL_VALUE.match(value):
                    self.bad(f"label value {value!r} is not a valid label value", where)
                else:
                    self.requirement(result, key, "In", (value,), where, matched=True)
        expressions = found.get("matchExpressions")
        if expressions is not None:
            items = self.listing(expressions, "matchExpressions", (*pointer, "matchExpressions")) or []
            for i, expr in enumerate(items):
                self.expression(result, expr, (*pointer, "matchExpressions", i))
        return None if len(self.sink.invalid) > start else result

    def expression(self, result: _Selector, raw: Any, pointer: Pointer) -> None:
        expr = self.mapping(raw, "a matchExpressions entry", pointer)
        if expr is None:
            return
        self.unknown_keys(expr, ("key", "operator", "values"), "a matchExpressions entry", pointer)
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values")
        ok = True
        if not isinstance(key, str) or not key:
            self.bad("a matchExpressions entry needs a key (a string)", (*pointer, "key"))
            ok = False
        if operator not in OPERATORS:
            self.bad(
                f"unknown selector operator {operator!r} (expected {', '.join(OPERATORS)}; they are case-sensitive)",
                (*pointer, "operator"),
            )
            ok = False
        if values is None:
            values = []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.bad("values must be a list of strings", (*pointer, "values"))
            return
        if operator in ("In", "NotIn") and not values:
            self.bad(f"operator {operator} needs at least one value", pointer)
            ok = False
        if operator in ("Exists", "DoesNotExist") and values:
            self.bad(f"operator {operator} takes no values", (*pointer, "values"))
            ok = False
        if ok:
            self.requirement(result, str(key), str(operator), tuple(values), pointer, matched=False)

    def requirement(
        self,
        result: _Selector,
        key: str,
        operator: str,
        values: tuple[str, ...],
        pointer: Pointer,
        matched: bool,
    ) -> None:
        source, sep, name = key.partition(":")
        if not sep:
            source, name = "", key
        positive = operator in ("In", "Exists")
        if source == "reserved":
            if positive:
                if operator == "Exists" or "" in values or not matched:
                    result.entities.add(name)
                else:
                    result.impossible = True
            return
        if source not in POD_SOURCES:
            result.impossible = result.impossible or positive  # labels of a source pods do not have
            return
        requirement = Requirement(name, operator, frozenset(values))
        if name == NAMESPACE_KEY:
            result.namespace_given = True
            if matched:
                names = set(values)
                result.namespace_names = (
                    names if result.namespace_names is None else result.namespace_names & names
                )
            else:
                result.namespace_requirements.append(Requirement(NAME_LABEL, operator, frozenset(values)))
        elif name.startswith(NAMESPACE_LABELS_PREFIX):
            label = name[len(NAMESPACE_LABELS_PREFIX) :]
            if self.kind == CNP:
                self.sink.not_evaluated.append(
                    (
                        f"{key}: namespace labels in a {CNP} are ignored by Cilium (supported only in a "
                        f"{CCNP}); netpolscan evaluates the selector without it",
                        pointer,
                    )
                )
            else:
                result.namespace_requirements.append(Requirement(label, operator, frozenset(values)))
        elif name.startswith(POLICY_LABELS_PREFIX):
            self.sink.not_evaluated.append(
                (
                    f"{key}: Cilium's derived label (service account, cluster) is not modelled; netpolscan "
                    "evaluates the selector without it, so it may match more pods than Cilium does",
                    pointer,
                )
            )
        elif matched:
            result.pod_labels.append((name, values[0]))
        else:
            result.pod_requirements.append(requirement)

    def subject(self, raw: Any, pointer: Pointer) -> PeerExpr:
        found = self.selector(raw, pointer)
        if found is None:
            return NOTHING
        if found.entities or found.impossible:
            return NOTHING  # reserved identities (health, init, ...): no pod of the model
        return self.pods(found, own_namespace=True)

    def pods(self, found: _Selector, own_namespace: bool) -> PeerExpr:
        names = found.namespace_names
        if self.kind == CNP and (own_namespace or not found.namespace_given):
            names = {self.namespace} if names is None else names & {self.namespace}
        return Pods(
            namespace_names=None if names is None else frozenset(names),
            namespace_selector=LabelSelector((), tuple(found.namespace_requirements))
            if found.namespace_requirements
            else None,
            pod_selector=found.label_selector(),
        )

    def endpoints(self, raw: Any, pointer: Pointer) -> Part | None:
        """A fromEndpoints/toEndpoints/fromRequires entry as a peer."""
        found = self.selector(raw, pointer)
        if found is None:
            return None
        if found.impossible:
            return NOTHING
        if found.entities:
            if len(found.entities) > 1 or found.pod_labels or found.pod_requirements or found.namespace_given:
                return NOTHING
            entity = next(iter(found.entities))
            return entity_expr(entity) if entity in ENTITIES else NOTHING
        return self.pods(found, own_namespace=False)

    # --- rules ------------------------------------------------------------------------------------

    def rule(self, raw: Any, section: str, index: int, pointer: Pointer) -> CiliumRule | None:
        if raw is None:
            raw = {}
        found = self.mapping(raw, f"an {section} rule", pointer)
        if found is None:
            return None
        direction = "ingress" if section.startswith("ingress") else "egress"
        action = DENY if section.endswith("Deny") else ALLOW
        rule = self.current = CiliumRule(direction, action, section, index + 1, pointer)
        self.unknown_keys(found, RULE_FIELDS[section], f"an {section} rule", pointer)
        for key in RULE_FIELDS[section]:
            if key not in found or found[key] is None:
                continue
            value, where = found[key], (*pointer, key)
            reader = self.peer_readers.get(key)
            if reader is not None:
                rule.l3_given = True
                if key in ("fromNodes", "toNodes"):
                    rule.notes.append(f"{key} takes effect only with --enable-node-selector-labels")
                for i, item in enumerate(self.listing(value, key, where) or ()):
                    part = reader(item, (*where, i))
                    if part is not None:
                        rule.parts.append(part)
            elif key in ("fromRequires", "toRequires"):
                self.sink.deprecated.append(
                    (
                        f"{key} is deprecated since Cilium 1.17 and removed in 1.19 (whose CRD rejects it); "
                        f"select the peers in {'fromEndpoints' if key == 'fromRequires' else 'toEndpoints'} instead",
                        where,
                    )
                )
                for i, item in enumerate(self.listing(value, key, where) or ()):
                    expr = self.endpoints(item, (*where, i))
                    if isinstance(expr, Pods | AnyOf):
                        rule.requires.append(expr)
                    elif expr is not None:
                        rule.requires.append(NOTHING)  # an entity carries no label that pods require
            elif key in ("fromGroups", "toGroups"):
                rule.l3_given = True
                self.listing(value, key, where)
                self.sink.not_evaluated.append(
                    (f"{key} (cloud provider groups) is not evaluated: the rule matches no peer here", where)
                )
            elif key == "toPorts":
                self.to_ports(value, where, rule)
            elif key == "icmps":
                rule.l4_given = True
                self.listing(value, key, where)
                rule.notes.append("ICMP (icmps) is not modelled: only TCP, UDP and SCTP are")
            elif key == "authentication":
                mode = value.get("mode") if isinstance(value, dict) else None
                if mode not in ("disabled", "required", "test-always-fail"):
                    self.bad(
                        f"authentication.mode {mode!r} is not disabled, required or test-always-fail", where
                    )
                elif mode != "disabled":
                    rule.notes.append(f"mutual authentication ({mode}) is not modelled")
        if found.get("toFQDNs") is not None and any(found.get(key) is not None for key in FQDN_EXCLUSIVE):
            self.bad("a toFQDNs rule cannot contain other L3 selectors (toEndpoints, toCIDR, ...)", pointer)
        return rule

    def cidr(self, raw: Any, pointer: Pointer) -> Part | None:
        block = parse_cidr(raw)
        if block is None:
            self.bad(f"{raw!r} is not a CIDR (like 10.0.0.0/8) or an IP address", pointer)
            return None
        return Network(IPBlock(block), in_cluster=False)

    def nodes(self, raw: Any, pointer: Pointer) -> Part | None:
        found = self.selector(raw, pointer)
        if found is None:
            return None
        return Nodes(found.label_selector())

    def entity(self, raw: Any, pointer: Pointer) -> Part | None:
        if raw not in ENTITIES:
            self.bad(f"unknown entity {raw!r} (expected one of {', '.join(ENTITIES)})", pointer)
            return None
        return entity_expr(str(raw))

    def cidr_set(self, raw: Any, pointer: Pointer) -> Part | None:
        item = self.mapping(raw, "a CIDR set entry", pointer)
        if item is None:
            return None
        self.unknown_keys(
            item, ("cidr", "except", "cidrGroupRef", "cidrGroupSelector"), "a CIDR set entry", pointer
        )
        given = [key for key in ("cidr", "cidrGroupRef", "cidrGroupSelector") if item.get(key) is not None]
        if len(given) != 1:
            self.bad("a CIDR set entry needs exactly one of cidr, cidrGroupRef, cidrGroupSelector", pointer)
            return None
        excepts: list[IPNetwork] = []
        for i, value in enumerate(
            self.listing(item.get("except", []) or [], "except", (*pointer, "except")) or ()
        ):
            hole = parse_cidr(value)
            if hole is None:
                self.bad(f"except entry {value!r} is not a CIDR", (*pointer, "except", i))
            else:
                excepts.append(hole)
        if given[0] == "cidr":
            block = parse_cidr(item["cidr"])
            if block is None:
                self.bad(f"cidr {item['cidr']!r} is not a CIDR (like 10.0.0.0/8)", (*pointer, "cidr"))
                return None
            for i, hole in enumerate(excepts):
                if hole.version != block.version or not hole.subnet_of(block):  # type: ignore[arg-type]
                    self.bad(f"except {hole} is not inside cidr {block}", (*pointer, "except", i))
            return Network(IPBlock(block, tuple(excepts)), in_cluster=False)
        if given[0] == "cidrGroupRef":
            ref = item["cidrGroupRef"]
            if not isinstance(ref, str) or len(ref) > 253 or not _DNS_NAME.match(ref):
                self.bad(f"cidrGroupRef {ref!r} is not a valid object name", (*pointer, "cidrGroupRef"))
                return None
            return CIDRGroupRef(ref, None, tuple(excepts))
        found = self.selector(item["cidrGroupSelector"], (*pointer, "cidrGroupSelector"))
        if found is None:
            return None
        return CIDRGroupRef(None, found.label_selector(), tuple(excepts))

    def service(self, raw: Any, pointer: Pointer) -> Part | None:
        item = self.mapping(raw, "a toServices entry", pointer)
        if item is None:
            return None
        self.unknown_keys(item, ("k8sService", "k8sServiceSelector"), "a toServices entry", pointer)
        default_namespace = self.namespace or "default"
        if item.get("k8sService") is not None:
            ref = self.mapping(item["k8sService"], "k8sService", (*pointer, "k8sService")) or {}
            self.unknown_keys(ref, ("serviceName", "namespace"), "k8sService", (*pointer, "k8sService"))
            name, namespace = ref.get("serviceName"), ref.get("namespace") or default_namespace
            if not isinstance(name, str) or not isinstance(namespace, str):
                self.bad("k8sService needs serviceName (and namespace) strings", (*pointer, "k8sService"))
                return None
            return ServiceRef(namespace if self.kind == CCNP else self.namespace, name)
        if item.get("k8sServiceSelector") is not None:
            ref = (
                self.mapping(
                    item["k8sServiceSelector"], "k8sServiceSelector", (*pointer, "k8sServiceSelector")
                )
                or {}
            )
            if self.selector(ref.get("selector"), (*pointer, "k8sServiceSelector", "selector")) is None:
                return None
            namespace = ref.get("namespace") or default_namespace
            return ServiceSelectorRef(str(namespace))
        self.bad("a toServices entry needs k8sService or k8sServiceSelector", pointer)
        return None

    def fqdn(self, raw: Any, pointer: Pointer) -> Part | None:
        item = self.mapping(raw, "a toFQDNs entry", pointer)
        if item is None:
            return None
        self.unknown_keys(item, ("matchName", "matchPattern"), "a toFQDNs entry", pointer)
        given = [key for key in ("matchName", "matchPattern") if item.get(key) is not None]
        if len(given) != 1:
            self.bad("a toFQDNs entry needs exactly one of matchName, matchPattern", pointer)
            return None
        key = given[0]
        value = item[key]
        pattern = _FQDN_NAME if key == "matchName" else _FQDN_PATTERN
        if not isinstance(value, str) or len(value) > 255 or not pattern.match(value):
            self.bad(
                f"{key} {value!r} is not a valid DNS {'name' if key == 'matchName' else 'pattern'}",
                (*pointer, key),
            )
            return None
        name = value.lower().rstrip(".")
        self.current.fqdns.append((name, (*pointer, key)))
        return Named(f"fqdn:{name}")

    def to_ports(self, raw: Any, pointer: Pointer, rule: CiliumRule) -> None:
        items = self.listing(raw, "toPorts", pointer)
        if not items:
            return
        rule.l4_given = True
        deny = rule.action == DENY
        for i, item in enumerate(items):
            where = (*pointer, i)
            entry = self.mapping(item, "a toPorts entry", where)
            if entry is None:
                continue
            self.unknown_keys(entry, ("ports",) if deny else PORT_RULE_FIELDS, "a toPorts entry", where)
            specs: list[PortSpec] = []
            raw_ports = entry.get("ports")
            if raw_ports is None:  # an entry without ports: every port
                specs.extend(PortSpec(protocol, None, None, where) for protocol in TRANSPORT)
            else:
                listed = self.listing(raw_ports, "ports", (*where, "ports")) or []
                if len(listed) > MAX_PORTS:
                    self.bad(f"at most {MAX_PORTS} ports per toPorts entry", (*where, "ports"))
                for j, port in enumerate(listed):
                    specs.extend(self.port(port, (*where, "ports", j), rule))
            rule.ports.extend(specs)
            shown = ", ".join(dict.fromkeys(str(spec) for spec in specs)) or "no TCP/UDP/SCTP port"
            if not deny and entry.get("rules") is not None:
                kind = self.l7_rules(entry["rules"], (*where, "rules"))
                if kind is not None:
                    rule.l7.append(L7Section(kind, (*where, "rules"), tuple(specs)))
                    rule.notes.append(
                        f"{L7_NOTE} ({kind}) on {shown}: checked at L4, as the port open to this rule's peers; "
                        "Cilium's proxy still filters the requests"
                    )
            for key, what in (("serverNames", "TLS server names"), ("listener", "an Envoy listener")):
                if not deny and entry.get(key) is not None:
                    rule.notes.append(
                        f"{what} ({key}) on {shown}: checked at L4, as the port open to this rule's peers"
                    )

    def port(self, raw: Any, pointer: Pointer, rule: CiliumRule) -> list[PortSpec]:
        item = self.mapping(raw, "a ports entry", pointer)
        if item is None:
            return []
        self.unknown_keys(item, ("port", "endPort", "protocol"), "a ports entry", pointer)
        protocol = item.get("protocol") or "ANY"
        if protocol not in PORT_PROTOCOLS:
            self.bad(
                f"unknown protocol {protocol!r} (expected {', '.join(PORT_PROTOCOLS)}; ICMP goes in icmps)",
                (*pointer, "protocol"),
            )
            return []
        port = item.get("port")
        number: int | str | None = None
        if port is not None:
            if not isinstance(port, str):
                self.bad(
                    f'port must be a string (quote it: "{port}"), not {type_name(port)}', (*pointer, "port")
                )
                return []
            if not _PORT.match(port):
                self.bad(f"port {port!r} is not a port number (0-65535) or a port name", (*pointer, "port"))
                return []
            number = int(port) if port.isdigit() else port.lower()
            if number == 0:
                number = None
        end = item.get("endPort")
        end_port: int | None = None
        if end is not None:
            if not _integer(end) or not 0 <= end <= 65535:
                self.bad(f"endPort {end!r} must be a number in 0-65535", (*pointer, "endPort"))
                return []
            if isinstance(number, int) and end and end < number:
                self.bad(f"endPort {end} is less than port {number}", (*pointer, "endPort"))
                return []
            if isinstance(number, int) and end > number:
                end_port = end
        if protocol in ("VRRP", "IGMP"):
            rule.notes.append(f"{protocol} carries no ports and is not modelled")
            return []
        protocols = TRANSPORT if protocol == "ANY" else (protocol,)
        return [PortSpec(p, number, end_port, pointer) for p in protocols]

    def l7_rules(self, raw: Any, pointer: Pointer) -> str | None:
        rules = self.mapping(raw, "rules", pointer)
        if rules is None:
            return None
        self.unknown_keys(rules, (*L7_KINDS, "l7"), "rules", pointer)
        given = [kind for kind in L7_KINDS if rules.get(kind) is not None]
        if len(given) != 1:
            self.bad("rules needs exactly one of http, kafka, dns, l7proto", pointer)
            return None
        kind = given[0]
        if kind == "dns":
            for i, item in enumerate(self.listing(rules["dns"], "dns", (*pointer, "dns")) or ()):
                entry = self.mapping(item, "a dns rule", (*pointer, "dns", i)) or {}
                if sum(entry.get(key) is not None for key in ("matchName", "matchPattern")) != 1:
                    self.bad("a dns rule needs exactly one of matchName, matchPattern", (*pointer, "dns", i))
        elif kind != "l7proto":
            self.listing(rules[kind], kind, (*pointer, kind))
        return kind


FQDN_EXCLUSIVE = ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toNodes", "toServices", "toGroups")


def _freeze(value: Any) -> object:
    """A hashable copy of a YAML value (the key that groups specs with the same endpoint selector)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def entity_expr(entity: str) -> Part:
    """The peers of one entity; ``host``/``remote-node`` are relative to the subject pod's node."""
    if entity == "world":
        return World()
    if entity == "world-ipv4":
        return Network(IPBlock(ipaddress.ip_network("0.0.0.0/0")), in_cluster=False)
    if entity == "world-ipv6":
        return Network(IPBlock(ipaddress.ip_network("::/0")), in_cluster=False)
    if entity == "all":
        return EVERYTHING
    if entity == "none":
        return NOTHING
    if entity == "cluster":
        return AnyOf((Pods(host_network=True), Nodes(LabelSelector())))
    if entity in ("host", "remote-node"):  # resolved per node when the policies are built
        return HostEntity(entity == "host")
    return Named(f"entity:{entity}")


# --- building -----------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, objects: Sequence[object], cluster: ClusterView) -> None:
        self.cluster = cluster
        self.policies_read = [o for o in objects if isinstance(o, CiliumPolicy)]
        self.slices: dict[tuple[str, str], list[str]] = {}
        for o in objects:
            if isinstance(o, EndpointAddresses):
                self.slices.setdefault((o.namespace, o.service), []).extend(o.addresses)
        self.groups = [o for o in objects if isinstance(o, CIDRGroup)]
        self.services: dict[tuple[str, str], Service] = {(s.namespace, s.name): s for s in cluster.services}
        self.node_names = sorted({node.name for node in cluster.nodes})
        self.requires: dict[tuple[str, object, str], list[PeerExpr]] = {}
        for policy in self.policies_read:
            for spec in policy.specs:
                for rule in spec.rules:
                    if rule.requires:
                        key = (spec.namespace, spec.selector_key, rule.direction)
                        self.requires.setdefault(key, []).extend(rule.requires)

    def policies(self) -> list[TierPolicy]:
        result: list[TierPolicy] = []
        isolated: list[CiliumSpec] = []
        for policy in self.policies_read:
            for spec in policy.specs:
                result.append(self.tier_policy(spec))
                if "ingress" in spec.isolates:
                    isolated.append(spec)
        if isolated:
            result.append(self.localhost(isolated))
        return result

    def tier_policy(self, spec: CiliumSpec) -> TierPolicy:
        rules: dict[str, list[TierRule]] = {d: [] for d in DIRECTIONS}
        for rule in spec.rules:
            requires = self.requires.get((spec.namespace, spec.selector_key, rule.direction), [])
            rules[rule.direction].extend(self.tier_rules(rule, requires))
        return TierPolicy(
            kind=spec.kind,
            api_version=spec.api_version,
            namespace=spec.namespace,
            name=spec.name,
            document=spec.document,
            tier=NAMESPACE,
            order=(NETWORK_POLICY_ORDER, spec.index),
            subject=spec.subject,
            ingress=tuple(rules["ingress"]),
            egress=tuple(rules["egress"]),
            isolates=spec.isolates,
            subject_pointer=(*spec.pointer, "endpointSelector"),
        )

    def tier_rules(self, rule: CiliumRule, requires: Sequence[PeerExpr]) -> list[TierRule]:
        notes = list(rule.notes)
        static: list[PeerExpr] = []
        local = remote = False
        for part in rule.parts:
            if isinstance(part, HostEntity):
                local, remote = local or part.local, remote or not part.local
            else:
                static.append(self.resolve(part, notes))
        ports = tuple(rule.ports)
        if not rule.l3_given:
            peers: PeerExpr = EVERYTHING if rule.l4_given else NOTHING
        else:
            peers = AnyOf(tuple(static)) if len(static) != 1 else static[0]
        if rule.l4_given and not ports:
            peers, local, remote = NOTHING, False, False  # only ICMP / VRRP / IGMP: no transport port
        if rule.action == ALLOW and requires:
            peers = AllOf((peers, *requires))
        precedence = -1 if rule.action == DENY else 0
        base = TierRule(
            action=rule.action,
            peers=peers,
            ports=ports,
            number=rule.number,
            name=rule.name,
            pointer=rule.pointer,
            precedence=precedence,
            notes=tuple(notes),
        )
        if not (local or remote):
            return [base]
        result = [base] if static else []
        for node, host_peers in self.per_node(local, remote):
            node_peers: PeerExpr = host_peers
            if rule.action == ALLOW and requires:
                node_peers = AllOf((host_peers, *requires))
            result.append(
                TierRule(
                    action=rule.action,
                    peers=node_peers,
                    ports=ports,
                    number=rule.number,
                    name=rule.name,
                    pointer=rule.pointer,
                    subject=Pods(node_names=frozenset({node})),
                    precedence=precedence,
                    notes=tuple(notes),
                )
            )
        return result

    def per_node(self, local: bool, remote: bool) -> list[tuple[str, PeerExpr]]:
        """For each node (and "" for pods whose node is unknown): the host networks the entities mean."""
        result: list[tuple[str, PeerExpr]] = []
        for name in self.node_names:
            chosen = [n for n in self.node_names if (n == name and local) or (n != name and remote)]
            result.append((name, AnyOf(tuple(self.host_of(n) for n in chosen))))
        everywhere = AnyOf(tuple(self.host_of(n) for n in self.node_names))
        result.append(("", everywhere))
        return result

    def host_of(self, name: str) -> PeerExpr:
        """The host network of node ``name``: the node's addresses and its host-network pods."""
        node = next(n for n in self.cluster.nodes if n.name == name)
        on_node = frozenset({name})
        return AnyOf(
            (
                Nodes(_node_selector(node)),
                AllOf((Pods(host_network=True, node_names=on_node), Not(Pods(node_names=on_node)))),
            )
        )

    def localhost(self, isolated: list[CiliumSpec]) -> TierPolicy:
        """Pods that Cilium isolates for ingress still accept connections from their own node
        (``--allow-localhost``, on by default): one policy of the agent's, isolating nothing."""
        first = isolated[0]
        note = "Cilium lets the local host reach its pods unless the agent runs with --allow-localhost=policy"
        rules = tuple(
            TierRule(
                action=ALLOW,
                peers=peers,
                number=number,
                name=LOCALHOST,
                subject=Pods(node_names=frozenset({node})),
                notes=(note,),
            )
            for number, (node, peers) in enumerate(self.per_node(True, False), start=1)
        )
        subjects = tuple(dict.fromkeys(spec.subject for spec in isolated))
        return TierPolicy(
            kind=AGENT_KIND,
            api_version=first.api_version,
            namespace="",
            name=LOCALHOST,
            document=first.document,
            tier=NAMESPACE,
            order=(NETWORK_POLICY_ORDER, 0),
            subject=subjects[0] if len(subjects) == 1 else AnyOf(subjects),
            ingress=rules,
        )

    def resolve(self, part: Part, notes: list[str]) -> PeerExpr:
        if isinstance(part, ServiceRef):
            service = self.services.get((part.namespace, part.name))
            if service is None:
                notes.append(f"toServices {part.namespace}/{part.name}: the Service is not in the input")
                return NOTHING
            if service.selector:
                selector = LabelSelector(tuple(sorted(service.selector.items())))
                return Pods(namespace_names=frozenset({part.namespace}), pod_selector=selector)
            addresses = self.slices.get((part.namespace, part.name), [])
            blocks = [parse_cidr(a) for a in addresses]
            return AnyOf(tuple(Network(IPBlock(b), in_cluster=False) for b in blocks if b is not None))
        if isinstance(part, ServiceSelectorRef):
            notes.append(
                "toServices by k8sServiceSelector is not modelled (Service labels): it matches nothing here"
            )
            return NOTHING
        if isinstance(part, CIDRGroupRef):
            found = [
                g
                for g in self.groups
                if (part.name is not None and g.name == part.name)
                or (part.selector is not None and part.selector.matches(g.labels))
            ]
            if not found:
                notes.append("the CiliumCIDRGroup it refers to is not in the input")
            return AnyOf(
                tuple(
                    Network(
                        IPBlock(block, tuple(h for h in part.excepts if h.version == block.version)), False
                    )
                    for group in found
                    for block in group.blocks
                )
            )
        assert not isinstance(part, HostEntity)
        return part


def _node_selector(node: Node) -> LabelSelector:
    hostname = node.labels.get(HOSTNAME_LABEL)
    if hostname is not None:
        return LabelSelector(((HOSTNAME_LABEL, hostname),))
    return LabelSelector(tuple(sorted(node.labels.items())))


__all__ = [
    "CiliumPolicyKind",
    "CiliumPolicy",
    "CiliumRule",
    "CiliumSpec",
    "L7Section",
    "L7_NOTE",
    "entity_expr",
]
