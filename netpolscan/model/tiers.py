"""The kind-neutral policy model that every policy API is translated into, and the tiers it sits in.

NetworkPolicy v1 has its own, faster types (``objects.NetworkPolicy``); every other kind
(ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, Cilium, Calico, a third party's)
is parsed by a :class:`PolicyKind` into :class:`TierPolicy` objects. The engine
(``netpolscan.analysis.connectivity``) decides each direction of a connection by walking the tiers in
rank order (see docs/design.md, "Policy kinds and tiers"):

- inside a tier, the rules of the policies that select the pod for that direction are tried in order
  (``TierRule.precedence``, then ``TierPolicy.order``, then rule number); the first whose peers and
  ports match decides: ``allow`` (allowed in this direction, lower tiers skipped), ``deny``, or
  ``pass`` (go to the next tier);
- a tier in which a policy *isolating* the pod for that direction selects it, but no rule decided,
  ends with ``Tier.end`` (``deny`` for NetworkPolicy, Cilium and Calico; ``pass`` for Admin/Baseline);
- NetworkPolicy v1 sits in the namespace tier (``NAMESPACE``) with order 1000, as Calico places it;
- after the last tier, the connection direction is allowed.

Peers are expressions over endpoints (pods, external addresses, nodes, named external endpoints such
as FQDNs or Cilium entities), so that every kind's matching (negations, intersections) is one algebra
the engine evaluates as bitsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from netpolscan.model.objects import IPBlock, Namespace, ObjectRef, PortSpec, Service, Workload
from netpolscan.sources.document import Document, Pointer

ALLOW = "allow"
DENY = "deny"
PASS = "pass"
ACTIONS = (ALLOW, DENY, PASS)


class Matcher(Protocol):
    """A predicate on a label map (``LabelSelector``, a Calico selector, …). Must be hashable."""

    def matches(self, labels: Mapping[str, str]) -> bool: ...


# --- peer expressions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pods:
    """Pods by namespace (names and/or a selector on namespace labels) and by their own labels.

    Every constraint given must hold (AND); None means "any". ``host_network``: whether pods with
    ``hostNetwork: true`` can match (cluster policies never select them; their traffic is the node's).
    ``node_names``: the nodes the pods run on (``Workload.node_name``; "" stands for pods whose node
    the input does not say), for rules relative to a pod's own node (Cilium's ``host`` entity).
    """

    namespace_names: frozenset[str] | None = None
    namespace_selector: Matcher | None = None
    pod_selector: Matcher | None = None
    host_network: bool = False
    node_names: frozenset[str] | None = None


@dataclass(frozen=True)
class Network:
    """Addresses in a CIDR (minus its excepts): external ones and, with ``in_cluster``, pods and nodes
    whose known address lies in it (NetworkPolicy ipBlock and ClusterNetworkPolicy ``networks`` do;
    Cilium's CIDR rules do not)."""

    block: IPBlock
    in_cluster: bool = True


@dataclass(frozen=True)
class Nodes:
    """The host network of the nodes (Node objects of the input) whose labels match ``selector``."""

    selector: Matcher


@dataclass(frozen=True)
class Named:
    """A named external endpoint: ``fqdn:api.github.com``, ``entity:kube-apiserver``, …

    Matched by a rule that names it, by :class:`World` and by a :class:`Network` covering the whole
    address space of a family (0.0.0.0/0, ::/0); its addresses are unknown otherwise.
    """

    name: str


@dataclass(frozen=True)
class World:
    """Every endpoint outside the cluster: every external address and every named external endpoint."""


@dataclass(frozen=True)
class Everything:
    """Every endpoint: pods, nodes, external addresses, named endpoints."""


@dataclass(frozen=True)
class AnyOf:
    items: tuple[PeerExpr, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[PeerExpr, ...]


@dataclass(frozen=True)
class Not:
    item: PeerExpr


PeerExpr = Pods | Network | Nodes | Named | World | Everything | AnyOf | AllOf | Not
NOTHING: PeerExpr = AnyOf(())
EVERYTHING: PeerExpr = Everything()


# --- rules, policies, tiers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TierRule:
    """One rule of one direction.

    ``ports`` empty: every port of every protocol; named ports resolve on the destination pod.
    ``except_ports`` are removed from ``ports`` (Calico ``notPorts``/``notProtocol``).
    ``subject``: narrows the policy's subject for this rule only (Calico's ``destination`` on ingress);
    None: the policy's subject. ``precedence``: rules of a tier are tried by precedence first (Cilium
    deny rules use -1: a deny wins over every allow of its tier). ``number`` is 1-based.
    """

    action: str
    peers: PeerExpr
    ports: tuple[PortSpec, ...] = ()
    except_ports: tuple[PortSpec, ...] = ()
    number: int = 1
    name: str = ""
    pointer: Pointer = ()
    subject: PeerExpr | None = None
    precedence: int = 0
    notes: tuple[str, ...] = ()

    @property
    def all_ports(self) -> bool:
        return not self.ports and not self.except_ports


@dataclass(frozen=True)
class Tier:
    """An ordered tier. ``rank``: lower decides first. ``end``: what a tier that selects the pod (with
    an isolating policy) but decides nothing does: ``deny`` or ``pass``."""

    name: str
    rank: float
    end: str
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.name


# Ranks follow Calico's tier orders for the Kubernetes tiers (adminnetworkpolicy 1,000,
# default 1,000,000, baselineadminnetworkpolicy 10,000,000), so a CNI's own tiers slot in between.
ADMIN = Tier("admin", 1_000.0, PASS, "Admin tier")
NAMESPACE = Tier("default", 1_000_000.0, DENY, "namespace tier")
BASELINE = Tier("baseline", 10_000_000.0, PASS, "Baseline tier")
NETWORK_POLICY_ORDER = 1000.0


@dataclass(frozen=True, eq=False)
class TierPolicy:
    """A policy of any kind but NetworkPolicy v1, as the engine evaluates it.

    ``subject``: the pods it applies to (a :class:`Pods` expression or a combination of them).
    ``isolates``: the directions in which selecting a pod makes the tier end in ``tier.end`` for it
    (NetworkPolicy-like default deny); a direction with rules but not in ``isolates`` only adds rules.
    ``order``: sort key inside the tier (priority or order, then name).
    """

    kind: str
    api_version: str
    namespace: str
    name: str
    document: Document
    tier: Tier
    order: tuple[Any, ...]
    subject: PeerExpr
    ingress: tuple[TierRule, ...] = ()
    egress: tuple[TierRule, ...] = ()
    isolates: frozenset[str] = frozenset()
    subject_pointer: Pointer = ()

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    def rules(self, direction: str) -> tuple[TierRule, ...]:
        return self.ingress if direction == "ingress" else self.egress

    def applies(self, direction: str) -> bool:
        """Whether the policy takes part in ``direction`` (isolates it or has rules for it)."""
        return direction in self.isolates or bool(self.rules(direction))


@dataclass(frozen=True, eq=False)
class Node:
    """A Node object of the input: its labels and addresses (InternalIP, ExternalIP, …)."""

    name: str
    labels: Mapping[str, str]
    addresses: tuple[str, ...]
    document: Document

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Node", "", self.name)


# --- what a policy kind implements --------------------------------------------------------------------


@dataclass
class KindSink:
    """What a :class:`PolicyKind` reports while parsing one document.

    ``invalid`` (NPS002: what the API server or the CNI rejects, at a json pointer into the document),
    ``deprecated`` (NPS003), ``not_evaluated`` (NPS006: a part the engine cannot evaluate), and model
    objects a kind may add (pods written as Calico WorkloadEndpoints, Nodes).
    """

    invalid: list[tuple[str, Pointer]] = field(default_factory=list)
    deprecated: list[tuple[str, Pointer]] = field(default_factory=list)
    not_evaluated: list[tuple[str, Pointer]] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    namespaces: list[Namespace] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterView:
    """What a kind may read when it builds its policies: every namespace, node and Service of the input."""

    namespaces: Mapping[str, Namespace]
    nodes: Sequence[Node]
    services: Sequence[Service] = ()


class PolicyKind(Protocol):
    """A policy API: parse and validate its objects, then build :class:`TierPolicy` objects.

    Register an instance through the ``netpolscan_register_policy_kinds`` hook. ``parse`` is called for
    each document whose ``(apiVersion, kind)`` it ``handles``, in input order, and returns whatever it
    wants to keep (None: nothing); ``build`` is called once with every kept object, after all documents
    were read, and returns the policies (it may resolve objects that refer to each other: tiers,
    network sets).
    """

    name: str

    def handles(self, api_version: str, kind: str) -> bool: ...

    def parse(self, data: dict[str, Any], doc: Document, namespace: str, sink: KindSink) -> object | None: ...

    def build(self, objects: Sequence[object], cluster: ClusterView) -> Iterable[TierPolicy]: ...


RegisterKind = Callable[[PolicyKind], None]


def walk_expression(expr: PeerExpr) -> Iterator[PeerExpr]:
    """``expr`` and every expression inside it."""
    yield expr
    if isinstance(expr, AnyOf | AllOf):
        for item in expr.items:
            yield from walk_expression(item)
    elif isinstance(expr, Not):
        yield from walk_expression(expr.item)
