"""Exposure: connections the policies allow to pods and namespaces the input does not hold.

A policy peer selects by labels, so it may match pods the input lacks. Every such peer stands for a
*representative* peer (``backend/[all pods]``, ``[namespace with {env=prod}]/[pod with {app=web}]``,
``[all namespaces]/[pod with {k8s-app=kube-dns}]``); a peer that matches every pod of every namespace is
``entire-cluster``. Equivalent peers (the same sets of labels) are one representative, named as first
met. For each workload and direction, the exposure is:

- not selected by any policy for the direction: ``entire-cluster`` on every connection (and the
  workload is "not protected");
- otherwise ``entire-cluster`` on the ports of the rules whose peer matches every pod, and each
  representative on the ports of the rules whose peer contains it, when that adds to ``entire-cluster``.

Only the workload's own policies decide (the policies of a pod the input lacks are unknown). Named ports
resolve on the destination: on ingress they become the workload's port numbers; on egress towards a
representative they stay names (``TCP http``). The external connections of the connectivity list are
repeated in the exposure, as netpol-analyzer prints them. This reads the model and
:mod:`netpolscan.analysis.selection`; it never changes the engine's verdicts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan.analysis.connectivity import connectivity, rule_ports
from netpolscan.analysis.connlist import Row
from netpolscan.analysis.endpoints import workload_label
from netpolscan.analysis.focus import NO_FOCUS, Focus
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PROTOCOL_ORDER, PortSet
from netpolscan.analysis.selection import DIRECTIONS, selection
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import NetworkPolicy, Peer, PolicyRule, Workload
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector, Requirement
from netpolscan.sources.document import value_at

ENTIRE_CLUSTER = "entire-cluster"
_EMPTY = LabelSelector()


@dataclass(frozen=True)
class Conn:
    """Allowed connections: port numbers, plus port names no destination resolves (egress exposure)."""

    ports: PortSet = NO_PORTS
    named: frozenset[tuple[str, str]] = frozenset()

    def __or__(self, other: Conn) -> Conn:
        return Conn(self.ports | other.ports, self.named | other.named)

    def __bool__(self) -> bool:
        return bool(self.ports) or bool(self.named)

    def within(self, other: Conn) -> bool:
        """Whether every connection of ``self`` is in ``other``."""
        if other.ports.is_all:
            return True
        return not (self.ports - other.ports) and self.named <= other.named

    def contains(self, protocol: str, port: int) -> bool:
        return self.ports.contains(protocol, port)

    def __str__(self) -> str:
        if not self.named or self.ports.is_all:
            return str(self.ports)
        chunks = []
        for protocol in ("", *PROTOCOL_ORDER):  # "": a named port of any protocol (cluster policies)
            intervals = self.ports.intervals(protocol) if protocol else ()
            items = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in intervals]
            items += sorted(name for proto, name in self.named if proto == protocol)
            if items:
                chunks.append(f"{protocol} {','.join(items)}")
        return ",".join(chunks)


ALL_CONN = Conn(ALL_PORTS)


@dataclass(frozen=True)
class Representative:
    """Pods the input may lack that a policy peer stands for.

    ``namespace``: a namespace name (the peer is pinned to it), else ``namespace_selector`` (None: every
    namespace); ``pod_selector``: the pods' labels (empty: every pod). ``namespace_text``/``pod_text``
    are the netpol-analyzer names, e.g. ``[namespace with {env=prod}]`` and ``[all pods]``.
    """

    namespace: str | None
    namespace_selector: LabelSelector | None
    pod_selector: LabelSelector
    namespace_text: str
    pod_text: str

    @property
    def label(self) -> str:
        return f"{self.namespace_text}/{self.pod_text}"

    @property
    def namespace_name(self) -> str:
        """The namespace part without brackets (``backend``, ``namespace with {env=prod}``)."""
        return self.namespace_text.strip("[]")

    @property
    def pod_name(self) -> str:
        return self.pod_text.strip("[]")


@dataclass(frozen=True, order=True)
class ExposureLine:
    """One exposure: ``workload`` exposed in ``direction`` to ``peer`` (a label) on ``conn``."""

    workload: str
    peer: str
    direction: str
    conn: Conn = field(compare=False)
    namespace: str | None = field(default=None, compare=False)
    representative: Representative | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Exposure:
    """The exposure of an input: lines per direction (sorted) and the workloads not protected."""

    egress: tuple[ExposureLine, ...]
    ingress: tuple[ExposureLine, ...]
    unprotected: tuple[tuple[str, str], ...]  # (workload label, "Egress"|"Ingress"), sorted


# --- label selectors as sets of label maps -----------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _requirements(selector: LabelSelector) -> frozenset[Requirement]:
    found = {Requirement(key, "In", frozenset({value})) for key, value in selector.match_labels}
    return frozenset(found | set(selector.match_expressions))


def selector_contains(outer: LabelSelector, inner: LabelSelector) -> bool:
    """Whether ``outer`` holds every pod ``inner`` stands for, as netpol-analyzer decides it.

    Each requirement of ``outer`` must be one of ``inner`` (``app=x`` and ``app In [x]`` are the same);
    a looser requirement (``app Exists`` for ``app In [x]``) does not count.
    """
    return _requirements(outer) <= _requirements(inner)


# --- representatives --------------------------------------------------------------------------------


def selector_text(raw: Any) -> str:
    """netpol-analyzer's text of a raw label selector: ``{k=v,{Key:k,Operator:In,Values:[a b],}}``."""
    parts: list[str] = []
    labels = raw.get("matchLabels") if isinstance(raw, dict) else None
    if isinstance(labels, Mapping):
        parts += [f"{key}={labels[key]}" for key in sorted(labels, key=str)]
    expressions = raw.get("matchExpressions") if isinstance(raw, dict) else None
    items = [item for item in expressions if isinstance(item, dict)] if isinstance(expressions, list) else []
    for item in sorted(items, key=lambda entry: str(entry.get("key", ""))):
        values = item.get("values") if isinstance(item.get("values"), list) else []
        parts.append(
            f"{{Key:{item.get('key', '')},Operator:{item.get('operator', '')},"
            f"Values:[{' '.join(str(v) for v in values or [])}],}}"
        )
    return "{" + ",".join(parts) + "}"


def is_entire_cluster(peer: Peer) -> bool:
    """A peer matching every pod of every namespace (``namespaceSelector: {}``, no pod selector)."""
    return (
        peer.ip_block is None
        and peer.namespace_selector is not None
        and peer.namespace_selector.is_empty
        and (peer.pod_selector is None or peer.pod_selector.is_empty)
    )


def _pinned(selector: LabelSelector) -> str | None:
    if len(selector.match_labels) == 1 and not selector.match_expressions:
        key, value = selector.match_labels[0]
        if key == NAME_LABEL:
            return value
    return None


def representative(policy: NetworkPolicy, peer: Peer) -> Representative:
    """The representative peer a (pod/namespace selector) peer of ``policy`` stands for."""
    raw = value_at(policy.document.data, peer.pointer)
    raw_peer = raw if isinstance(raw, dict) else {}
    pods = peer.pod_selector or _EMPTY
    pod_text = "[all pods]" if pods.is_empty else f"[pod with {selector_text(raw_peer.get('podSelector'))}]"
    ns_selector = peer.namespace_selector
    if ns_selector is None:
        return Representative(policy.namespace, None, pods, policy.namespace, pod_text)
    pinned = _pinned(ns_selector)
    if pinned is not None:
        return Representative(pinned, None, pods, pinned, pod_text)
    if ns_selector.is_empty:
        return Representative(None, None, pods, "[all namespaces]", pod_text)
    text = f"[namespace with {selector_text(raw_peer.get('namespaceSelector'))}]"
    return Representative(None, ns_selector, pods, text, pod_text)


def _same(a: Representative, b: Representative) -> bool:
    if a.namespace != b.namespace:
        return False
    if a.namespace is None:
        first, second = a.namespace_selector or _EMPTY, b.namespace_selector or _EMPTY
        if not (selector_contains(first, second) and selector_contains(second, first)):
            return False
    return selector_contains(a.pod_selector, b.pod_selector) and selector_contains(
        b.pod_selector, a.pod_selector
    )


def representatives(inventory: Inventory) -> list[Representative]:
    """Every representative peer of the effective rules of the input's policies, first met first."""
    found: list[Representative] = _tier_representatives(inventory)
    for policy in inventory.policies:
        for direction in DIRECTIONS:
            for rule in policy.rules(direction):
                for peer in rule.peers:
                    if (
                        peer.ip_block is not None
                        or is_entire_cluster(peer)
                        or _matched(inventory, policy, peer)
                    ):
                        continue
                    candidate = representative(policy, peer)
                    if not any(_same(candidate, known) for known in found):
                        found.append(candidate)
    return found


def _tier_representatives(inventory: Inventory) -> list[Representative]:
    """The representative peers of the cluster policies' ``namespaces``/``pods`` peers."""
    from netpolscan.analysis.tiered_exposure import raw_peers

    found: list[Representative] = []
    for policy in inventory.tier_policies:
        for direction in DIRECTIONS:
            for rule in policy.rules(direction):
                for ns, pods, raw_ns, raw_pods in raw_peers(policy, rule, direction):
                    if ns.is_empty and pods.is_empty:
                        continue  # entire-cluster
                    if pods.match_labels and not pods.match_expressions and not ns.is_empty:
                        if any(
                            pods.matches(w.labels) and ns.matches(inventory.namespaces[w.namespace].labels)
                            for w in inventory.workloads
                            if w.namespace in inventory.namespaces
                        ):
                            continue  # a real workload stands for it
                    pod_text = "[all pods]" if pods.is_empty else f"[pod with {selector_text(raw_pods)}]"
                    pinned = _pinned(ns)
                    if pinned is not None:
                        candidate = Representative(pinned, None, pods, pinned, pod_text)
                    elif ns.is_empty:
                        candidate = Representative(None, None, pods, "[all namespaces]", pod_text)
                    else:
                        text = f"[namespace with {selector_text(raw_ns)}]"
                        candidate = Representative(None, ns, pods, text, pod_text)
                    if not any(_same(candidate, known) for known in found):
                        found.append(candidate)
    return found


def _matched(inventory: Inventory, policy: NetworkPolicy, peer: Peer) -> bool:
    """Whether a real workload stands for the peer: labels only (no expressions), and one matches."""
    pods, namespaces = peer.pod_selector, peer.namespace_selector
    if pods is None or pods.is_empty or pods.match_expressions:
        return False
    if namespaces is not None and (namespaces.is_empty or namespaces.match_expressions):
        return False
    return bool(selection(inventory).peer_scope(policy, peer).workloads)


def peer_contains(policy: NetworkPolicy, peer: Peer, rep: Representative) -> bool:
    """Whether the peer of ``policy`` matches every pod ``rep`` stands for."""
    if peer.ip_block is not None:
        return False
    if not selector_contains(peer.pod_selector or _EMPTY, rep.pod_selector):
        return False
    selector = peer.namespace_selector
    if selector is None:
        return rep.namespace == policy.namespace
    if rep.namespace is not None:  # by the name alone: the labels of a namespace may change
        return selector_contains(selector, LabelSelector(((NAME_LABEL, rep.namespace),)))
    return selector_contains(selector, rep.namespace_selector or _EMPTY)


# --- the exposure of each workload ------------------------------------------------------------------


def rule_conn(rule: PolicyRule, workload: Workload) -> Conn:
    """What ``rule`` of a policy selecting ``workload`` allows towards pods the input lacks."""
    if rule.direction == "ingress":
        return Conn(rule_ports(rule, workload.ports))
    named = frozenset((spec.protocol, str(spec.port)) for spec in rule.ports if spec.is_named)
    return Conn(rule_ports(rule, ()), named)  # numbers only: no destination resolves the names


def _rule_reps(
    policy: NetworkPolicy, rule: PolicyRule, reps: Sequence[Representative], memo: dict[int, tuple[int, ...]]
) -> tuple[int, ...]:
    """Indexes of the representatives a rule's peers contain (``memo``: by rule, for one ``reps``)."""
    found = memo.get(id(rule))
    if found is None:
        found = memo[id(rule)] = tuple(
            index
            for index, rep in enumerate(reps)
            if rule.all_peers or any(peer_contains(policy, peer, rep) for peer in rule.peers)
        )
    return found


def entire_cluster_conn(inventory: Inventory, workload: Workload, direction: str) -> Conn:
    """What ``workload`` allows in ``direction`` with a pod of any namespace and any labels."""
    found = _workload_exposure(inventory, workload, direction, (), {})
    return ALL_CONN if found is None else found[0]


def _workload_exposure(
    inventory: Inventory,
    workload: Workload,
    direction: str,
    reps: Sequence[Representative],
    memo: dict[int, tuple[int, ...]],
    focus_conn: tuple[str, int] | None = None,
) -> tuple[Conn, list[tuple[Representative, Conn]]] | None:
    """(entire-cluster conn, [(representative, conn)]) of an isolated workload; None when not isolated."""
    policies = selection(inventory).policies_for(workload, direction)
    if inventory.tier_policies and connectivity(inventory).decided_by_tiers(workload, direction):
        return _tiered_exposure(inventory, workload, direction, reps, memo, bool(policies), focus_conn)
    if not policies:
        return None
    entire, per_rep = _np_exposure(inventory, workload, direction, reps, memo)
    return entire, [(rep, conn) for rep, conn in per_rep if conn and not conn.within(entire)]


def _tiered_exposure(
    inventory: Inventory,
    workload: Workload,
    direction: str,
    reps: Sequence[Representative],
    memo: dict[int, tuple[int, ...]],
    np_isolated: bool,
    focus_conn: tuple[str, int] | None,
) -> tuple[Conn, list[tuple[Representative, Conn]]]:
    """The exposure of a workload that cluster policies decide (see :mod:`tiered_exposure`)."""
    from netpolscan.analysis.tiered_exposure import tiered_conn

    conn = connectivity(inventory)
    np_entire, np_reps = Conn(), {id(rep): Conn() for rep in reps}
    if np_isolated:
        np_found = _np_exposure(inventory, workload, direction, reps, memo)
        np_entire = np_found[0]
        for rep, found in np_found[1]:
            np_reps[id(rep)] = found
    entire_ports, entire_named = tiered_conn(
        conn, workload, direction, None, None, _EMPTY, np_entire.ports if np_isolated else None
    )
    entire = Conn(entire_ports, entire_named)
    seen = PortSet.single(*focus_conn) if focus_conn is not None else ALL_PORTS
    exposed = []
    for rep in reps:
        np_ports = (np_entire | np_reps[id(rep)]).ports if np_isolated else None
        ports, named = tiered_conn(
            conn, workload, direction, rep.namespace, rep.namespace_selector, rep.pod_selector, np_ports
        )
        # a Deny of the cluster tiers can take from entire-cluster too: any difference is shown
        if ports & seen != entire.ports & seen or (focus_conn is None and named != entire.named):
            exposed.append((rep, Conn(ports, named)))
    return entire, exposed


def _np_exposure(
    inventory: Inventory,
    workload: Workload,
    direction: str,
    reps: Sequence[Representative],
    memo: dict[int, tuple[int, ...]],
) -> tuple[Conn, list[tuple[Representative, Conn]]]:
    """The NetworkPolicy part of an exposure: (entire-cluster conn, every representative's conn)."""
    entire = Conn()
    per_rep = [Conn() for _ in reps]
    for policy in selection(inventory).policies_for(workload, direction):
        for rule in policy.rules(direction):
            conn = rule_conn(rule, workload)
            if not conn:
                continue
            if rule.all_peers or any(is_entire_cluster(peer) for peer in rule.peers):
                entire = entire | conn
            for index in _rule_reps(policy, rule, reps, memo):
                per_rep[index] = per_rep[index] | conn
    return entire, list(zip(reps, per_rep, strict=True))


def exposure(inventory: Inventory, rows: Iterable[Row], focus: Focus = NO_FOCUS) -> Exposure:
    """The exposure of ``inventory``; ``rows`` (the focused connectivity list) give the external lines."""
    reps = representatives(inventory)
    lines: dict[str, dict[tuple[str, str], ExposureLine]] = {d: {} for d in DIRECTIONS}
    unprotected: set[tuple[str, str]] = set()
    memo: dict[tuple[object, ...], tuple[Conn, list[tuple[Representative, Conn]]] | None] = {}
    rule_memo: dict[int, tuple[int, ...]] = {}
    for workload in inventory.workloads:
        label = workload_label(workload)
        if not focus.is_focus(label):
            continue
        for direction in DIRECTIONS:
            if not focus.keeps_direction(direction):
                continue
            # workloads no selector tells apart (namespace, labels, ports) have one exposure
            key = (direction, workload.namespace, tuple(sorted(workload.labels.items())), workload.ports)
            if key not in memo:
                memo[key] = _workload_exposure(inventory, workload, direction, reps, rule_memo, focus.conn)
            found = memo[key]
            if found is None:
                unprotected.add((label, direction.capitalize()))
                found = (ALL_CONN, [])
            entire, exposed = found
            if focus.peers:
                continue
            target = lines[direction]
            if entire:
                _add(target, ExposureLine(label, ENTIRE_CLUSTER, direction, entire, workload.namespace))
            for rep, conn in exposed:
                _add(target, ExposureLine(label, rep.label, direction, conn, workload.namespace, rep))
    for row in rows:
        if row.dst.endswith("[External]") and focus.keeps_direction("egress"):
            line = ExposureLine(row.src, row.dst, "egress", Conn(row.ports), row.src_namespace)
            _add(lines["egress"], line)
        elif row.src.endswith("[External]") and focus.keeps_direction("ingress"):
            line = ExposureLine(row.dst, row.src, "ingress", Conn(row.ports), row.dst_namespace)
            _add(lines["ingress"], line)
    egress, ingress = (tuple(_kept(lines[d].values(), focus)) for d in ("egress", "ingress"))
    return Exposure(egress, ingress, tuple(sorted(unprotected)))


def _add(target: dict[tuple[str, str], ExposureLine], line: ExposureLine) -> None:
    key = (line.workload, line.peer)
    found = target.get(key)
    if found is not None:
        line = ExposureLine(
            line.workload,
            line.peer,
            line.direction,
            found.conn | line.conn,
            line.namespace,
            line.representative,
        )
    target[key] = line


def _kept(lines: Iterable[ExposureLine], focus: Focus) -> Iterator[ExposureLine]:
    for line in sorted(lines):
        if focus.conn is None or line.conn.contains(*focus.conn):
            yield line
