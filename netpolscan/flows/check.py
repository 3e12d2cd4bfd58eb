"""Observed flows against the policies of an input: which would be dropped, by what, and which allow
rules no observed flow used.

Each side of a flow is resolved to an endpoint of the engine:

- a pod (namespace + labels) -> the workload of that namespace whose pod-template labels are all among
  the pod's labels (the one naming the controller Hubble gives, then the one with the most labels);
- an address outside the cluster -> that IP address, which the engine places in its address space
  like any ipBlock peer (``reserved:world``, a remote node, the API server...);
- a pod that no workload matches is *unmatched*. It is still evaluated as observed: the input is
  analysed again with one extra Pod per unmatched pod (its namespace and labels, and its namespace's
  labels when the log carries them), so the policies of the side the input knows (say, the egress of
  a workload towards ``kube-system/{k8s-app=kube-dns}``) decide as they would in the cluster.

The verdict is the engine's (as ``explain`` gives it): a flow is allowed when egress at the source and
ingress at the destination both allow its port. A dropped flow names, per denying direction, the
policies or the tier decision that deny it, with file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netpolscan.analysis.connectivity import Endpoint, Verdict, connectivity
from netpolscan.analysis.endpoints import owner_of, workload_label
from netpolscan.analysis.explain import explain
from netpolscan.analysis.tiers import AnyPolicy, AnyRule
from netpolscan.flows.records import Flow, FlowEndpoint, FlowLog
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import NetworkPolicy, PolicyRule, Workload
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.tiers import ALLOW, NAMESPACE, Tier, TierRule
from netpolscan.sources.document import Document

_SAID = {"egress": "egress from", "ingress": "ingress to"}


@dataclass(frozen=True)
class RuleRef:
    """An allow rule of some policy, where it is written."""

    kind: str
    policy: str  # NS/NAME, or NAME for a cluster-scoped policy
    direction: str
    number: int
    name: str
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def title(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"{self.kind} {self.policy} {self.direction} rule {self.number}{label}"

    def __str__(self) -> str:
        return f"{self.where}: {self.title}"


@dataclass(frozen=True)
class Side:
    """A resolved flow endpoint: the engine's endpoint, its display name, whether the input has it."""

    endpoint: Endpoint
    label: str
    matched: bool


@dataclass(frozen=True)
class Checked:
    """One observed flow with the engine's verdict.

    ``reasons``: for a dropped flow, each denying direction with what decides it; ``rules``: the allow
    rules that let its port through (both directions); ``blocking``: dropped by a side the input knows
    (always, for a flow whose both sides are matched).
    """

    flow: Flow
    src: Side
    dst: Side
    allowed: bool
    reasons: tuple[str, ...]
    rules: tuple[RuleRef, ...]
    blocking: bool
    also: tuple[Flow, ...] = ()  # the same flow with other external addresses the policies do not tell apart
    address_range: str = ""  # the range of those addresses (a segment of the engine's address space)

    @property
    def count(self) -> int:
        """How often the flow (and the flows in ``also``) was seen."""
        return self.flow.count + sum(flow.count for flow in self.also)

    @property
    def matched(self) -> bool:
        return self.src.matched and self.dst.matched

    @property
    def status(self) -> str:
        if not self.matched:
            return "unmatched"
        return "allowed" if self.allowed else "dropped"

    @property
    def unmatched(self) -> list[Side]:
        return [side for side in (self.src, self.dst) if not side.matched]


@dataclass(frozen=True)
class FlowCheck:
    """Every observed flow of a log, checked; ``unused``: the allow rules no allowed flow used (when
    asked for)."""

    log: FlowLog
    results: tuple[Checked, ...]
    unused: tuple[RuleRef, ...] | None = None

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def blocking(self) -> bool:
        return any(result.blocking for result in self.results)


# --- matching -----------------------------------------------------------------------------------------


def match_workload(
    inventory: Inventory, endpoint: FlowEndpoint, observed: frozenset[int] = frozenset()
) -> Workload | None:
    """The workload of the input that an observed pod belongs to (None: unmatched).

    ``observed``: ids of the documents added for unmatched pods, never a match. A workload without pod
    labels matches only a pod without (stable) labels.
    """
    stable = endpoint.stable_labels
    candidates = [
        workload
        for workload in sorted(inventory.workloads_in(endpoint.namespace), key=lambda w: (w.name, w.kind))
        if id(workload.document) not in observed
        and (workload.labels or not stable)
        and all(endpoint.labels.get(key) == value for key, value in workload.labels.items())
    ]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda w: (w.name in endpoint.workloads or owner_of(w)[1] in endpoint.workloads, len(w.labels)),
    )


def _observed_documents(
    inventory: Inventory, pods: Sequence[tuple[FlowEndpoint, Flow]]
) -> tuple[list[Document], list[Document]]:
    """A Pod manifest per unmatched observed pod (and a Namespace where the log knows labels the input
    does not), placed at the flow's line: (every document, the Pods in the order of ``pods``)."""
    documents: list[Document] = []
    pod_documents: list[Document] = []
    namespaces: set[str] = set()
    for index, (endpoint, flow) in enumerate(pods):
        namespace = endpoint.namespace
        if (
            endpoint.namespace_labels
            and namespace not in namespaces
            and not inventory.has_manifest(namespace)
        ):
            namespaces.add(namespace)
            labels = {**endpoint.namespace_labels, NAME_LABEL: namespace}
            data: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": labels},
            }
            documents.append(Document(flow.path, -1, flow.line, data))
        data = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"netpolscan-observed-{index + 1}",
                "namespace": namespace,
                "labels": dict(endpoint.labels),
            },
            "spec": {"containers": [{"name": "observed"}]},
        }
        pod_documents.append(Document(flow.path, -1, flow.line, data))
    return [*documents, *pod_documents], pod_documents


class _Resolver:
    """Flow endpoints -> engine endpoints, on the input extended with the unmatched pods."""

    def __init__(self, inventory: Inventory, flows: Sequence[Flow]):
        unmatched: dict[tuple[object, ...], tuple[FlowEndpoint, Flow]] = {}
        seen: set[tuple[object, ...]] = set()
        for flow in flows:
            for endpoint in (flow.src, flow.dst):
                if endpoint.is_pod and endpoint.key not in seen:
                    seen.add(endpoint.key)
                    if match_workload(inventory, endpoint) is None:
                        unmatched[endpoint.key] = (endpoint, flow)
        self.observed: dict[tuple[object, ...], Workload] = {}
        self.observed_documents: frozenset[int] = frozenset()
        if unmatched:
            documents, pod_documents = _observed_documents(inventory, list(unmatched.values()))
            inventory = Inventory.from_documents(
                [*inventory.documents, *documents], inventory.default_namespace, inventory.kinds
            )
            self.observed_documents = frozenset(id(doc) for doc in documents)
            pods = {
                id(w.document): w for w in inventory.workloads if id(w.document) in self.observed_documents
            }
            for key, doc in zip(unmatched, pod_documents, strict=True):
                if id(doc) in pods:
                    self.observed[key] = pods[id(doc)]
        self.inventory = inventory
        self._sides: dict[tuple[object, ...], Side] = {}

    def side(self, endpoint: FlowEndpoint) -> Side:
        found = self._sides.get(endpoint.key)
        if found is None:
            found = self._sides[endpoint.key] = self._resolve(endpoint)
        return found

    def _resolve(self, endpoint: FlowEndpoint) -> Side:
        if not endpoint.is_pod:
            assert endpoint.ip is not None
            return Side(endpoint.ip, str(endpoint), True)
        workload = self.observed.get(endpoint.key)
        if workload is not None:
            return Side(workload, f"{endpoint}[observed]", False)
        found = match_workload(self.inventory, endpoint, self.observed_documents)
        assert found is not None  # matched on the input, so on the input with the observed pods added
        return Side(found, workload_label(found), True)


# --- rules and reasons ---------------------------------------------------------------------------------


def allow_rules(inventory: Inventory) -> dict[int, RuleRef]:
    """Every allow rule of the input's policies (every kind), by ``id`` of the rule object."""
    found: dict[int, RuleRef] = {}
    policies: list[AnyPolicy] = [*inventory.policies, *inventory.tier_policies]
    for policy in policies:
        kind = "NetworkPolicy" if isinstance(policy, NetworkPolicy) else policy.kind
        name = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
        for direction in ("ingress", "egress"):
            rules: Sequence[AnyRule] = policy.rules(direction)
            for rule in rules:
                if isinstance(rule, TierRule) and rule.action != ALLOW:
                    continue
                number = rule.number if isinstance(rule, TierRule) else rule.index + 1
                label = rule.name if isinstance(rule, TierRule) else ""
                line = policy.document.position(rule.pointer)[0]
                found[id(rule)] = RuleRef(kind, name, direction, number, label, policy.document.path, line)
    return found


def _passing(verdict: Verdict, protocol: str, port: int) -> list[PolicyRule | TierRule]:
    """The allow rules of one direction that let ``protocol``/``port`` through."""
    if verdict.decisions:
        return [
            d.step.rule
            for d in verdict.decisions
            if d.action == ALLOW and d.step is not None and d.ports.contains(protocol, port)
        ]
    return [grant.rule for grant, ports in verdict.allowing if ports.contains(protocol, port)]


def _where(document: Document, pointer: tuple[str | int, ...]) -> str:
    return f"{document.path}:{document.position(pointer)[0]}"


def _isolating(inventory: Inventory, tier: Tier, verdict: Verdict, owner: Endpoint) -> list[str]:
    """The policies of ``tier`` that select ``owner`` and isolate its direction (why the tier ends in
    deny for it), with file and line."""
    conn = connectivity(inventory)
    if conn.tiered is None or not isinstance(owner, Workload):
        return []
    index = conn.class_of(owner).index
    found = [
        f"{p.kind} {p.namespace + '/' if p.namespace else ''}{p.name} ({_where(p.document, p.subject_pointer)})"
        for p in inventory.tier_policies
        if p.tier.name == tier.name
        and verdict.direction in p.isolates
        and conn.tiered.bits(p.subject, "ingress")[0] >> index & 1
    ]
    if tier.name == NAMESPACE.name:
        found[:0] = [
            f"NetworkPolicy {p.namespace}/{p.name} ({_where(p.document, ('metadata', 'name'))})"
            for p in verdict.policies
        ]
    return found


def denial(inventory: Inventory, verdict: Verdict, owner: Side, protocol: str, port: int) -> str:
    """Why one direction denies ``protocol``/``port``: the tier decision (for a tier that ends in deny,
    the policies selecting the owner), or the isolating policies and what their rules allow instead."""
    head = f"{_SAID[verdict.direction]} {owner.label}"
    if verdict.decisions:
        parts = []
        for decision in verdict.decisions:
            if decision.ports.contains(protocol, port):
                step = decision.step
                where = ""
                if step is not None:
                    where = f" ({_where(step.policy.document, step.rule.pointer)})"
                elif decision.tier is not None:
                    selecting = _isolating(inventory, decision.tier, verdict, owner.endpoint)
                    where = f" (selected by {', '.join(selecting)})" if selecting else ""
                parts.append(f"{decision.describe()}{where}")
        return f"{head}: {'; '.join(parts) or 'denied'}"
    policies = ", ".join(
        f"NetworkPolicy {p.namespace}/{p.name} ({_where(p.document, ('metadata', 'name'))})"
        for p in verdict.policies
    )
    others = [
        f"{g.policy.namespace}/{g.policy.name} {g.direction} rule {g.rule.index + 1} "
        f"({_where(g.policy.document, g.rule.pointer)}) allows only {ports}"
        for g, ports in verdict.allowing
        if ports
    ]
    tail = "; ".join(others) if others else f"no rule allows {protocol} {port} with this peer"
    return f"{head} is isolated by {policies}; {tail}"


# --- the check -----------------------------------------------------------------------------------------


def _groups(resolver: _Resolver, flows: Sequence[Flow]) -> dict[tuple[object, ...], list[Flow]]:
    """Flows the policies cannot tell apart: between the same engine endpoints, with an external address
    only known by the segment of the address space that holds it (the ipBlocks' boundaries split it)."""
    conn = connectivity(resolver.inventory)
    groups: dict[tuple[object, ...], list[Flow]] = {}
    for flow in flows:
        places: list[object] = []
        for endpoint, space in ((flow.src, conn.ingress_space), (flow.dst, conn.egress_space)):
            engine = resolver.side(endpoint).endpoint
            if isinstance(engine, Workload):
                places.append(id(engine))
            else:
                index = space.index_of(engine)
                places.append(("segment", index) if index is not None else str(engine))
        groups.setdefault((*places, flow.protocol, flow.port), []).append(flow)
    return groups


def _range(resolver: _Resolver, flow: Flow) -> str:
    conn = connectivity(resolver.inventory)
    for endpoint, space in ((flow.src, conn.ingress_space), (flow.dst, conn.egress_space)):
        if endpoint.ip is not None:
            index = space.index_of(endpoint.ip)
            if index is not None:
                return str(space.segments[index])
    return ""


def check_flows(inventory: Inventory, log: FlowLog, unused: bool = False) -> FlowCheck:
    """Check every flow of ``log`` against ``inventory``'s policies (and list unused allow rules).

    Flows to (or from) several external addresses that the policies treat alike are checked, and
    reported, once: the first one seen, with the others in ``also``."""
    resolver = _Resolver(inventory, log.flows)
    inventory = resolver.inventory
    rules = allow_rules(inventory)
    used: set[int] = set()
    results: list[Checked] = []
    for flow, *also in _groups(resolver, log.flows).values():
        src, dst = resolver.side(flow.src), resolver.side(flow.dst)
        result = explain(inventory, src.endpoint, dst.endpoint, (flow.protocol, flow.port))
        allowed = bool(result.port_allowed)
        reasons: list[str] = []
        blocking = False
        passing: list[PolicyRule | TierRule] = []
        if allowed:
            passing = [
                *_passing(result.egress, flow.protocol, flow.port),
                *_passing(result.ingress, flow.protocol, flow.port),
            ]
            used.update(id(rule) for rule in passing)
        else:
            for verdict, owner in ((result.egress, src), (result.ingress, dst)):
                if not verdict.ports.contains(flow.protocol, flow.port):
                    reasons.append(denial(inventory, verdict, owner, flow.protocol, flow.port))
                    blocking = blocking or (owner.matched and isinstance(owner.endpoint, Workload))
        refs = tuple(rules[id(rule)] for rule in passing if id(rule) in rules)
        span = _range(resolver, flow) if also else ""
        results.append(Checked(flow, src, dst, allowed, tuple(reasons), refs, blocking, tuple(also), span))
    left = None
    if unused:
        left = tuple(sorted((ref for key, ref in rules.items() if key not in used), key=_rule_order))
    return FlowCheck(log, tuple(results), left)


def _rule_order(ref: RuleRef) -> tuple[str, int, str]:
    return ref.path, ref.line, ref.title
