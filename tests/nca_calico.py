"""Helpers for checking netpolscan's Calico evaluation against network-config-analyzer (NCA): reading NCA
scheme files and their inputs, the allowed-connection table of a config, NCA's query semantics
(equivalence, containment, vacuity, redundancy) and NCA's firewall-rule output (connectivity maps).

Only facts about NCA's file formats and query definitions are used here; nothing is copied from NCA.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload
from netpolscan.policykinds import builtin_kinds
from netpolscan.policykinds.calico.selector import parse as parse_calico_selector
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
TOPOLOGY_KINDS = {
    "Pod",
    "PodList",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "WorkloadEndpoint",
    "HostEndpoint",
    "NetworkSet",
    "GlobalNetworkSet",
    "Namespace",
}
POLICY_KINDS = {"NetworkPolicy", "GlobalNetworkPolicy", "Profile"}
OTHER_LAYER_KINDS = {"AuthorizationPolicy", "Sidecar", "Gateway", "VirtualService", "Ingress", "ServiceEntry"}


# --- reading inputs -----------------------------------------------------------------------------------


def _files(entry: Path) -> list[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    return [entry]


def read_documents(path: Path) -> list[Document]:
    """Documents of a file; a JSON array of objects or lists (as NCA accepts) is read item by item."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list):
            docs: list[Document] = []
            for item in items:
                docs.extend(parse_text(json.dumps(item), str(path), json_hint=True))
            return docs
    # NCA reads JSON with a YAML parser, which accepts what strict JSON does not (trailing commas)
    docs = list(parse_text(text, str(path)))
    broken = [d for d in docs if d.error is not None]
    assert not broken, f"{path}: {broken[0].error}"
    return docs


def _kind(doc: Document) -> str:
    return doc.kind or ""


def is_calico(doc: Document) -> bool:
    data = doc.data
    return isinstance(data, dict) and "projectcalico.org" in str(data.get("apiVersion", ""))


@dataclass
class Config:
    """One NCA network config: topology documents and policy documents."""

    name: str
    topology: list[Document]
    policies: list[Document]
    expected_error: bool = False

    @property
    def documents(self) -> list[Document]:
        return self.topology + self.policies

    @property
    def involves_calico(self) -> bool:
        return any(is_calico(d) and _kind(d) in POLICY_KINDS for d in self.policies) or any(
            is_calico(d) for d in self.topology
        )

    @property
    def other_layers(self) -> set[str]:
        return {_kind(d) for d in self.documents if _kind(d) in OTHER_LAYER_KINDS}

    @property
    def has_host_endpoints(self) -> bool:
        return any(_kind(d) == "HostEndpoint" for d in self.documents)

    def policy_documents(self) -> list[Document]:
        return [d for d in self.policies if _kind(d) in ("NetworkPolicy", "GlobalNetworkPolicy")]

    def with_policies(self, policies: list[Document], name: str | None = None) -> Config:
        return Config(name or self.name, self.topology, policies)

    @cached_property
    def table(self) -> Table:
        return Table.of(self)

    @cached_property
    def cidrs(self) -> frozenset[str]:
        return frozenset(cidrs_of(self.documents))

    def table_with(self, other: Config) -> Table:
        """The table over the external segments of both configs' CIDRs (comparable cell by cell)."""
        extra = other.cidrs - self.cidrs
        if not extra:
            return self.table
        key = tuple(sorted(extra))
        cache = self.__dict__.setdefault("_tables", {})
        if key not in cache:
            cache[key] = Table.of(self, extra)
        table: Table = cache[key]
        return table


def policy_name(doc: Document) -> tuple[str, str, str]:
    """(kind as NCA names it, namespace, name) of a policy document."""
    data = doc.data if isinstance(doc.data, dict) else {}
    metadata = data.get("metadata") or {}
    kind = _kind(doc)
    nca_kind = (
        ("CalicoNetworkPolicy" if kind == "NetworkPolicy" else f"Calico{kind}")
        if is_calico(doc)
        else "K8sNetworkPolicy"
    )
    namespace = metadata.get("namespace") or ("" if kind in ("GlobalNetworkPolicy", "Profile") else "default")
    return nca_kind, str(namespace), str(metadata.get("name", ""))


class Scheme:
    """An NCA scheme file: its configs (topology + policies) and queries."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._configs: dict[str, Config] = {}

    def _resolve(self, value: Any) -> list[Path]:
        entries = value if isinstance(value, list) else [value]
        out: list[Path] = []
        for entry in entries:
            entry = str(entry)
            if entry.endswith("/**"):
                entry = entry[:-3]
            out.extend(_files((self.path.parent / entry).resolve()))
        return out

    def _docs(self, value: Any) -> list[Document]:
        return [doc for path in self._resolve(value) for doc in read_documents(path)]

    def config(self, name: str) -> Config:
        if name not in self._configs:
            self._configs[name] = self._build(name)
        return self._configs[name]

    def _entry(self, name: str) -> dict[str, Any]:
        for entry in self.data.get("networkConfigList", []):
            if entry.get("name") == name:
                return dict(entry)
        raise KeyError(name)

    def _build(self, reference: str) -> Config:
        base, _, single = reference.partition("/")
        entry = self._entry(base)
        topology: list[Document] = []
        ns_source = entry.get("namespaceList", self.data.get("namespaceList"))
        pod_source = entry.get("podList", self.data.get("podList"))
        resources = entry.get("resourceList", self.data.get("resourceList"))
        if ns_source is not None:
            topology += [d for d in self._docs(ns_source) if _kind(d) == "Namespace"]
        if pod_source is not None:
            topology += [d for d in self._docs(pod_source) if _kind(d) in TOPOLOGY_KINDS - {"Namespace"}]
        policies: list[Document] = []
        if "networkPolicyList" in entry:
            policies = [
                d
                for d in self._docs(entry["networkPolicyList"])
                if _kind(d) in POLICY_KINDS or _kind(d) in OTHER_LAYER_KINDS
            ]
        if resources is not None:
            docs = self._docs(resources)
            if pod_source is None:
                topology += [d for d in docs if _kind(d) in TOPOLOGY_KINDS and _kind(d) != "Namespace"]
            if ns_source is None:
                topology += [d for d in docs if _kind(d) == "Namespace"]
            if "networkPolicyList" not in entry:
                policies = [d for d in docs if _kind(d) in POLICY_KINDS or _kind(d) in OTHER_LAYER_KINDS]
        config = Config(reference, topology, policies, bool(entry.get("expectedError")))
        if single:
            config = config.with_policies(_single(config.policies, single), reference)
        return config

    def queries(self) -> Iterator[tuple[int, dict[str, Any]]]:
        yield from enumerate(self.data.get("queries", []))


def _single(policies: list[Document], reference: str) -> list[Document]:
    """The policy a ``config/ns/name`` (or ``config/Kind/ns/name``, ``config/name``) reference names, and
    every Profile (their labelsToApply shape the endpoints)."""
    parts = reference.split("/")
    kind = parts[0] if len(parts) == 3 else None
    if kind is not None:
        parts = parts[1:]
    namespace, name = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    chosen = [d for d in policies if _kind(d) == "Profile"]
    for doc in policies:
        doc_kind, doc_ns, doc_name = policy_name(doc)
        if doc_name != name or (kind is not None and doc_kind != kind):
            continue
        if namespace and doc_ns != namespace:
            continue
        if not namespace and doc_ns not in ("", "default"):
            continue
        chosen.append(doc)
    return chosen


# --- the allowed-connection table ------------------------------------------------------------------------

EndpointKey = tuple[str, str] | str  # (namespace, workload name) or an IP address


def _workload_key(workload: Workload) -> tuple[str, str]:
    return (workload.namespace, workload.name)


@dataclass
class Table:
    """Allowed ports between every pair of distinct pods, and between pods and one representative address of
    every external segment that a CIDR of the input delimits."""

    pods: dict[tuple[str, str], Workload]
    cells: dict[tuple[EndpointKey, EndpointKey], PortSet] = field(default_factory=dict)
    addresses: tuple[IPAddress, ...] = ()

    @classmethod
    def of(cls, config: Config, extra_cidrs: Iterable[str] = ()) -> Table:
        docs = [_fresh(d) for d in config.documents if _kind(d) not in OTHER_LAYER_KINDS]
        inventory = Inventory.from_documents(docs, kinds=builtin_kinds())
        conn = connectivity(inventory)
        pods = {_workload_key(w): w for w in inventory.workloads}
        table = cls(pods, addresses=representatives([*cidrs_of(config.documents), *extra_cidrs]))
        for src in pods.values():
            for dst in pods.values():
                if src is not dst:
                    table.cells[(_workload_key(src), _workload_key(dst))] = conn.allowed(src, dst)
            for address in table.addresses:
                table.cells[(_workload_key(src), str(address))] = conn.allowed(src, address)
                table.cells[(str(address), _workload_key(src))] = conn.allowed(address, src)
        return table

    def contained_in(self, other: Table) -> bool:
        return all((ports - other.cells.get(key, NO_PORTS)).is_empty for key, ports in self.cells.items())

    def differences(self, other: Table, limit: int = 5) -> list[str]:
        out = []
        for key in sorted(set(self.cells) | set(other.cells), key=str):
            mine, theirs = self.cells.get(key, NO_PORTS), other.cells.get(key, NO_PORTS)
            if mine != theirs:
                out.append(f"{key}: {mine} != {theirs}")
                if len(out) >= limit:
                    break
        return out


def _fresh(doc: Document) -> Document:
    """A copy a parse may mutate freely (profiles add labels to workload endpoints)."""
    return Document(
        doc.path, doc.index, doc.line, copy.deepcopy(doc.data), doc.marks, list_item=doc.list_item
    )


def cidrs_of(docs: Iterable[Document]) -> list[str]:
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("cidr", "except", "nets", "notNets"):
            found.append(value)

    for doc in docs:
        walk(doc.data)
    return found


def representatives(cidrs: Iterable[str]) -> tuple[IPAddress, ...]:
    """One address of each segment the CIDRs (and ranges ``a-b``) cut the IPv4 space into (netpolscan's
    external address space is IPv4: IPv6 CIDRs are not compared)."""
    bounds: dict[int, set[int]] = {4: {0}, 6: set()}
    for text in cidrs:
        for low, high in _ranges(text):
            version = low.version
            bounds[version].add(int(low))
            if int(high) + 1 < (1 << (32 if version == 4 else 128)):
                bounds[version].add(int(high) + 1)
    return tuple(ipaddress.IPv4Address(v) for v in sorted(bounds[4]))


def _ranges(text: str) -> Iterator[tuple[IPAddress, IPAddress]]:
    text = text.strip()
    if "-" in text and "/" not in text:
        low, _, high = text.partition("-")
        try:
            yield ipaddress.ip_address(low.strip()), ipaddress.ip_address(high.strip())
        except ValueError:
            return
        return
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return
    yield net.network_address, net.broadcast_address


# --- NCA's query semantics -----------------------------------------------------------------------------


def equivalent(a: Config, b: Config) -> bool:
    return a.table_with(b).cells == b.table_with(a).cells


def contained(a: Config, b: Config) -> bool:
    """NCA containment: ``a``'s connections are all allowed by ``b`` (and ``b`` has every peer of ``a``)."""
    if set(a.table.pods) - set(b.table.pods):
        return False
    return a.table_with(b).contained_in(b.table_with(a))


def two_way(a: Config, b: Config) -> int:
    ab, ba = contained(a, b), contained(b, a)
    return 3 if ab and ba else 2 if ab else 1 if ba else 0


def vacuous(config: Config) -> bool:
    return equivalent(config, config.with_policies([], config.name + "-vacuous"))


def redundancies(config: Config) -> int:
    """NCA redundancy: policies whose removal keeps the connections (when there are two or more), then in
    every other policy the rules whose removal keeps them."""
    policies, rules = redundant_parts(config)
    return len(policies) + sum(len(found) for found in rules.values())


def redundant_parts(config: Config) -> tuple[set[int], dict[int, set[tuple[str, int]]]]:
    """(indexes of redundant policies, policy index -> redundant (direction, 1-based rule number))."""
    policies = config.policy_documents()
    profiles = [d for d in config.policies if _kind(d) == "Profile"]
    redundant: set[int] = set()
    if len(policies) > 1:
        for i, _ in enumerate(policies):
            rest = profiles + [p for j, p in enumerate(policies) if j != i]
            if equivalent(config, config.with_policies(rest, f"{config.name}-{i}")):
                redundant.add(i)
    rules: dict[int, set[tuple[str, int]]] = {}
    for i, doc in enumerate(policies):
        if i in redundant:
            continue
        for direction in ("ingress", "egress"):
            raw = (doc.data.get("spec") or {}).get(direction) or []
            for r, _ in enumerate(raw):
                changed = copy.deepcopy(doc.data)
                _keep_directions(changed["spec"], is_calico(doc))  # as NCA's clone keeps them
                del changed["spec"][direction][r]
                edited = Document(doc.path, doc.index, doc.line, changed)
                rest = profiles + [edited if j == i else p for j, p in enumerate(policies)]
                if equivalent(config, config.with_policies(rest, f"{config.name}-{i}-{direction}-{r}")):
                    rules.setdefault(i, set()).add((direction, r + 1))
    return redundant, rules


def _keep_directions(spec: dict[str, Any], calico: bool) -> None:
    key = "types" if calico else "policyTypes"
    if spec.get(key):
        return
    if calico and spec.get("egress") and not spec.get("ingress"):
        spec[key] = ["Egress"]
    else:
        spec[key] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


# --- NCA's sanity check ---------------------------------------------------------------------------------


@dataclass
class _PolicyFacts:
    """What NCA's sanity check reads of one policy: its order, directions, selected pods, and for each rule
    its action and whether its source and destination select anything."""

    calico: bool
    order: float | None
    directions: frozenset[str]
    selected: frozenset[tuple[str, str]]
    rules: dict[str, list[tuple[str, bool, bool]]]  # direction -> [(action, src empty, dst empty)]


def _evaluate(
    expr: Any, inventory: Inventory, addresses: tuple[IPAddress, ...]
) -> tuple[frozenset[Any], frozenset[Any]]:
    """(pods, representative addresses) that a peer expression of the tiered model covers."""
    from netpolscan.model import tiers

    pods = {(w.namespace, w.name): w for w in inventory.workloads}
    if isinstance(expr, tiers.Pods):
        chosen = set()
        for key, w in pods.items():
            namespace = inventory.namespaces.get(w.namespace)
            ns_labels = namespace.labels if namespace is not None else {}
            if expr.namespace_names is not None and w.namespace not in expr.namespace_names:
                continue
            if expr.namespace_selector is not None and not expr.namespace_selector.matches(ns_labels):
                continue
            if expr.pod_selector is not None and not expr.pod_selector.matches(w.labels):
                continue
            if w.host_network and not expr.host_network:
                continue
            chosen.add(key)
        return frozenset(chosen), frozenset()
    if isinstance(expr, tiers.Network):
        inside = frozenset(a for a in addresses if expr.block.contains(a))
        members = frozenset(
            key
            for key, w in pods.items()
            if expr.in_cluster and any(expr.block.contains(ipaddress.ip_address(ip)) for ip in w.pod_ips)
        )
        return members, inside
    if isinstance(expr, tiers.Everything):
        return frozenset(pods), frozenset(addresses)
    if isinstance(expr, tiers.World | tiers.Named):
        return frozenset(), frozenset(addresses)
    if isinstance(expr, tiers.AnyOf | tiers.AllOf):
        parts = [_evaluate(item, inventory, addresses) for item in expr.items]
        if isinstance(expr, tiers.AnyOf):
            return frozenset().union(*(p for p, _ in parts)), frozenset().union(*(a for _, a in parts))
        if not parts:
            return frozenset(pods), frozenset(addresses)
        return frozenset.intersection(*(p for p, _ in parts)), frozenset.intersection(*(a for _, a in parts))
    if isinstance(expr, tiers.Not):
        p, a = _evaluate(expr.item, inventory, addresses)
        return frozenset(pods) - p, frozenset(addresses) - a
    return frozenset(), frozenset()


def _facts(config: Config) -> dict[int, _PolicyFacts]:
    """Facts of the config's policies by their index in ``config.policy_documents()``."""
    from netpolscan.model.tiers import EVERYTHING, ClusterView
    from netpolscan.policykinds.calico import kind as calico

    docs = [_fresh(d) for d in config.documents if _kind(d) not in OTHER_LAYER_KINDS]
    inventory = Inventory.from_documents(docs, kinds=builtin_kinds())
    addresses = representatives(cidrs_of(config.documents))
    kept = inventory.parsed.kind_objects.get("calico", [])
    builder = calico._Builder(
        [o for o in kept if isinstance(o, calico.NetSet)], ClusterView(inventory.namespaces, inventory.nodes)
    )
    by_name = {(p.namespace, p.name): p for p in kept if isinstance(p, calico.Policy)}
    k8s = {(p.namespace, p.name): p for p in inventory.policies}
    out: dict[int, _PolicyFacts] = {}
    for index, doc in enumerate(config.policy_documents()):
        _, namespace, name = policy_name(doc)
        if is_calico(doc):
            policy = by_name.get(("" if _kind(doc) == "GlobalNetworkPolicy" else namespace, name))
            if policy is None:
                continue
            subject = (
                builder._pods(frozenset({policy.namespace}), policy.selector)
                if policy.namespace
                else builder._pods(policy.namespace_selector, policy.selector)
            )
            selected, _ = _evaluate(subject, inventory, addresses)
            rules: dict[str, list[tuple[str, bool, bool]]] = {}
            for direction, raw_rules in (("ingress", policy.ingress), ("egress", policy.egress)):
                for rule in raw_rules:
                    src = _evaluate(builder.entity(rule.source, policy.namespace, None), inventory, addresses)
                    dst = _evaluate(
                        builder.entity(rule.destination, policy.namespace, None), inventory, addresses
                    )
                    if direction == "ingress":
                        dst = (dst[0] & selected, frozenset())
                    else:
                        src = (src[0] & selected, frozenset())
                    action = rule.action or "log"
                    rules.setdefault(direction, []).append(
                        (action, not (src[0] or src[1]), not (dst[0] or dst[1]))
                    )
            out[index] = _PolicyFacts(True, policy.order, policy.types, selected, rules)
        else:
            np = k8s.get((namespace, name))
            if np is None:
                continue
            selected = frozenset(
                (w.namespace, w.name) for w in inventory.workloads_matching(np.namespace, np.pod_selector)
            )
            rules = {}
            for direction in ("ingress", "egress"):
                for rule in np.rules(direction):
                    peers: set[Any] = set()
                    external = not rule.peers
                    if not rule.peers:
                        peers = set(_evaluate(EVERYTHING, inventory, addresses)[0])
                    for peer in rule.peers:
                        if peer.ip_block is not None:
                            external = True
                            continue
                        namespaces = (
                            [ns.name for ns in inventory.namespaces_matching(peer.namespace_selector)]
                            if peer.namespace_selector is not None
                            else [np.namespace]
                        )
                        from netpolscan.model.selectors import LabelSelector

                        selector = peer.pod_selector or LabelSelector()
                        for ns in namespaces:
                            peers |= {
                                (w.namespace, w.name) for w in inventory.workloads_matching(ns, selector)
                            }
                    empty = not peers and not external
                    rules.setdefault(direction, []).append(("allow", empty, empty))
            directions = frozenset(d.lower() for d in np.policy_types)
            out[index] = _PolicyFacts(False, 1000.0, directions, selected, rules)
    return out


def emptiness(config: Config) -> int:
    """NCA emptiness: policies that select no pod, plus rules with a side that selects nothing."""
    count = 0
    for policy in _facts(config).values():
        count += not policy.selected
        count += sum(src or dst for rules in policy.rules.values() for _, src, dst in rules)
    return count


def _conflicting(a: _PolicyFacts, b: _PolicyFacts) -> bool:
    if a.order != b.order or not (a.selected & b.selected):
        return False

    def has(rules: list[tuple[str, bool, bool]], action: str) -> bool:
        return any(act == action and not src_empty and not dst_empty for act, src_empty, dst_empty in rules)

    for direction in ("ingress", "egress"):
        if direction in a.directions and direction in b.directions:
            ra, rb = a.rules.get(direction, []), b.rules.get(direction, [])
            if (has(ra, "allow") and has(rb, "deny")) or (has(ra, "deny") and has(rb, "allow")):
                return True
    return False


def sanity(config: Config) -> int:
    """NCA's sanity count: 1 for Calico policies of one order that conflict; else vacuity (1), then per
    policy: selecting no pod (1, and nothing else about it), each empty side of a rule, a redundant policy
    (1), each redundant rule that is not empty (only when the config is not vacuous)."""
    facts = _facts(config)
    # NCA's order: by order, policies without one last, ties in input order
    ordered = sorted(facts.values(), key=lambda f: math.inf if f.order is None else f.order)
    calico_facts = [f for f in ordered if f.calico]
    group: list[_PolicyFacts] = []
    for policy in calico_facts:
        if group and group[0].order != policy.order:
            group = []
        if any(_conflicting(policy, other) for other in group):
            return 1
        group.append(policy)
    issues = 0
    is_vacuous = vacuous(config)
    if is_vacuous:
        issues = 1
    redundant_policies, redundant_rules = redundant_parts(config) if not is_vacuous else (set(), {})
    for index, policy in facts.items():
        if not policy.selected:
            issues += 1
            continue
        empty: set[tuple[str, int]] = set()
        for direction, rules in policy.rules.items():
            for number, (_, src_empty, dst_empty) in enumerate(rules, start=1):
                issues += src_empty + dst_empty
                if src_empty or dst_empty:
                    empty.add((direction, number))
        if is_vacuous:
            continue
        if index in redundant_policies:
            issues += 1
            continue
        issues += len(redundant_rules.get(index, set()) - empty)
    return issues


# --- NCA's firewall-rule output (connectivity maps) ------------------------------------------------------

_LINE = re.compile(
    r"^(?:src_ns: \[(?P<src_ns>[^\]]*)\] src_pods: \[(?P<src_pods>.*?)\]|src: (?P<src_ip>\S+)) "
    r"(?:dst_ns: \[(?P<dst_ns>[^\]]*)\] dst_pods: \[(?P<dst_pods>.*?)\]|dst: (?P<dst_ip>\S+)) "
    r"conn: (?P<conn>.*)$"
)
_PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class FwRule:
    src_ns: tuple[str, ...] | None
    src_pods: str | None
    src_ips: tuple[str, ...] | None
    dst_ns: tuple[str, ...] | None
    dst_pods: str | None
    dst_ips: tuple[str, ...] | None
    ports: PortSet
    unmodelled: bool  # the connection names source ports, L7 attributes: not comparable at L4


def fw_sections(text: str) -> dict[str, list[FwRule]]:
    """config name -> its firewall rules, from NCA's txt connectivity output."""
    sections: dict[str, list[FwRule]] = {}
    current: list[FwRule] | None = None
    for line in text.splitlines():
        header = re.match(r"^final fw rules for query: .*?, config: (.*):\s*$", line)
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        match = _LINE.match(line.strip())
        if match is None or current is None:
            continue
        ports, unmodelled = parse_conn(match.group("conn"))
        current.append(
            FwRule(
                _split(match.group("src_ns")),
                match.group("src_pods"),
                tuple(match.group("src_ip").split(",")) if match.group("src_ip") else None,
                _split(match.group("dst_ns")),
                match.group("dst_pods"),
                tuple(match.group("dst_ip").split(",")) if match.group("dst_ip") else None,
                ports,
                unmodelled,
            )
        )
    return sections


def _split(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(","))


def parse_conn(text: str) -> tuple[PortSet, bool]:
    text = text.strip()
    if text == "All connections":
        return ALL_PORTS, False
    if text.startswith("All but "):
        ports, unmodelled = _conn_sets(text[len("All but ") :])
        return ALL_PORTS - ports, unmodelled
    return _conn_sets(text)


def _conn_sets(text: str) -> tuple[PortSet, bool]:
    total = NO_PORTS
    unmodelled = False
    for body in re.findall(r"\{([^}]*)\}", text):
        fields = dict(re.findall(r"(\w+):(.*?)(?=,\w+:|$)", body))
        if set(fields) - {"protocols", "dst_ports", "icmp_type", "icmp_code"}:
            unmodelled = True
        protocols = [p.strip() for p in fields.get("protocols", ",".join(_PROTOCOLS)).split(",")]
        ranges = [(1, 65535)]
        if "dst_ports" in fields:
            ranges = []
            for part in fields["dst_ports"].split(","):
                low, _, high = part.partition("-")
                ranges.append((int(low), int(high or low)))
        if "icmp_type" in fields:
            continue
        parts = {p: ranges for p in protocols if p in _PROTOCOLS}
        total = total | PortSet(parts)
    return total, unmodelled


_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<and>and\b)|(?P<or>or\b)"
    r"|(?P<nothas>!has\((?P<nk>[^)]*)\))|(?P<has>has\((?P<hk>[^)]*)\))"
    r"|(?P<in>(?P<ik>[\w./-]+) (?P<not>not )?in \((?P<iv>[^)]*)\))"
    r"|(?P<cmp>(?P<ck>[\w./-]+)(?P<op>!=|=)(?P<cv>[^\s,()\]]*)))"
)


def pods_matcher(text: str) -> Any:
    """A predicate on workloads for an NCA ``*_pods`` cell: ``*``, a label expression, or names."""
    text = text.strip()
    if text == "*":
        return lambda w: True
    if "=" in text or "has(" in text or " in (" in text:
        out: list[str] = []
        pos = 0
        while pos < len(text):
            match = _EXPR_TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"cannot read NCA pod expression {text!r} at {pos}")
            pos = match.end()
            if match.group("open"):
                out.append("(")
            elif match.group("close"):
                out.append(")")
            elif match.group("and"):
                out.append("&&")
            elif match.group("or"):
                out.append("||")
            elif match.group("nothas"):
                out.append(f"!has({match.group('nk')})")
            elif match.group("has"):
                out.append(f"has({match.group('hk')})")
            elif match.group("in"):
                values = ", ".join(repr(v.strip()) for v in match.group("iv").split(","))
                op = "not in" if match.group("not") else "in"
                out.append(f"{match.group('ik')} {op} {{{values}}}")
            else:
                op = "==" if match.group("op") == "=" else "!="
                out.append(f"{match.group('ck')} {op} {match.group('cv')!r}")
        selector = parse_calico_selector(" ".join(out))
        return lambda w: selector.matches(w.labels)
    names = {n.strip() for n in text.split(",")}
    return lambda w: any(_names_workload(n, w) for n in names)


def _names_workload(name: str, workload: Workload) -> bool:
    if workload.name == name or (workload.owner is not None and workload.owner[1] == name):
        return True
    rest = workload.name[len(name) + 1 :] if workload.name.startswith(name + "-") else None
    return rest is not None and "-" not in rest


def _in_ips(address: str, texts: Sequence[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(
        low <= ip <= high for text in texts for low, high in _ranges(text) if low.version == ip.version
    )


def expand(rules: list[FwRule], table: Table) -> dict[tuple[EndpointKey, EndpointKey], PortSet]:
    """The allowed ports each (src, dst) cell of ``table`` gets from NCA's rules."""
    out: dict[tuple[EndpointKey, EndpointKey], PortSet] = {key: NO_PORTS for key in table.cells}
    for rule in rules:
        src_pods = pods_matcher(rule.src_pods) if rule.src_pods is not None else None
        dst_pods = pods_matcher(rule.dst_pods) if rule.dst_pods is not None else None
        for key in out:
            src, dst = key
            if not _side(src, rule.src_ns, src_pods, rule.src_ips, table):
                continue
            if not _side(dst, rule.dst_ns, dst_pods, rule.dst_ips, table):
                continue
            out[key] = out[key] | rule.ports
    return out


def _side(
    endpoint: EndpointKey,
    namespaces: tuple[str, ...] | None,
    pods: Any,
    ips: tuple[str, ...] | None,
    table: Table,
) -> bool:
    if isinstance(endpoint, str):
        return ips is not None and _in_ips(endpoint, ips)
    if namespaces is None or endpoint[0] not in namespaces:
        return False
    return bool(pods(table.pods[endpoint]))
