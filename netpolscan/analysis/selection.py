"""Who a policy selects, and who each of its peers stands for: the base every analysis builds on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Namespace, NetworkPolicy, Peer, Workload
from netpolscan.model.parse import NAME_LABEL

DIRECTIONS = ("ingress", "egress")


@dataclass(frozen=True)
class PeerScope:
    """What a from/to peer can stand for.

    ``namespaces``: the namespaces of the input it matches; ``unknown_namespaces``: True when it may also
    match namespaces absent from the input (a namespaceSelector, whose labels there are unknown, or a
    podSelector-only peer never does); ``workloads``: matching workloads of the input; ``external``: the
    peer admits addresses outside the cluster (an ipBlock).
    """

    namespaces: tuple[Namespace, ...]
    unknown_namespaces: bool
    workloads: tuple[Workload, ...]
    external: bool


class Selection:
    """Policy -> selected workloads and workload -> selecting policies, per direction (computed once)."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self._selected: dict[int, tuple[Workload, ...]] = {}
        self._by_workload: dict[str, dict[int, list[NetworkPolicy]]] = {
            d: defaultdict(list) for d in DIRECTIONS
        }
        for policy in inventory.policies:
            selected = inventory.workloads_matching(policy.namespace, policy.pod_selector)
            self._selected[id(policy)] = selected
            for workload in selected:
                if policy.isolates_ingress:
                    self._by_workload["ingress"][id(workload)].append(policy)
                if policy.isolates_egress:
                    self._by_workload["egress"][id(workload)].append(policy)
        self._peer_cache: dict[tuple[str, Peer], PeerScope] = {}

    def selected(self, policy: NetworkPolicy) -> tuple[Workload, ...]:
        """Workloads of the input that ``policy``'s podSelector selects."""
        found = self._selected.get(id(policy))
        if found is None:
            found = self.inventory.workloads_matching(policy.namespace, policy.pod_selector)
        return found

    def policies_for(self, workload: Workload, direction: str) -> list[NetworkPolicy]:
        """Policies that select ``workload`` and isolate it for ``direction``."""
        return self._by_workload[direction].get(id(workload), [])

    def is_isolated(self, workload: Workload, direction: str) -> bool:
        return bool(self._by_workload[direction].get(id(workload)))

    def peer_scope(self, policy: NetworkPolicy, peer: Peer) -> PeerScope:
        """Namespaces and workloads of the input a peer of ``policy`` matches."""
        key = (policy.namespace, peer)
        cached = self._peer_cache.get(key)
        if cached is not None:
            return cached
        inventory = self.inventory
        if peer.ip_block is not None:
            scope = PeerScope((), False, self._workloads_with_ip(peer), True)
        else:
            if peer.namespace_selector is None:
                own = inventory.namespaces.get(policy.namespace)
                namespaces: tuple[Namespace, ...] = (own,) if own is not None else ()
                unknown = False
            else:
                namespaces = inventory.namespaces_matching(peer.namespace_selector)
                unknown = namespace_selector_may_match_unknown(inventory, peer)
            pod_selector = peer.pod_selector
            workloads: list[Workload] = []
            for namespace in namespaces:
                if pod_selector is None:
                    workloads.extend(inventory.workloads_in(namespace.name))
                else:
                    workloads.extend(inventory.workloads_matching(namespace.name, pod_selector))
            scope = PeerScope(namespaces, unknown, tuple(workloads), False)
        self._peer_cache[key] = scope
        return scope

    def _workloads_with_ip(self, peer: Peer) -> tuple[Workload, ...]:
        import ipaddress

        block = peer.ip_block
        assert block is not None
        found = []
        for workload in self.inventory.workloads:
            for ip in workload.pod_ips:
                try:
                    if block.contains(ipaddress.ip_address(ip)):
                        found.append(workload)
                        break
                except ValueError:
                    continue
        return tuple(found)


def namespace_selector_may_match_unknown(inventory: Inventory, peer: Peer) -> bool:
    """Whether a peer's namespaceSelector could match a namespace that the input does not contain.

    A selector pinned to namespace names by ``kubernetes.io/metadata.name`` only reaches those names;
    any other selector may match namespaces whose manifests (and so labels) are absent.
    """
    selector = peer.namespace_selector
    if selector is None:
        return False
    names = pinned_namespace_names(peer)
    if names is None:
        return True
    return any(not inventory.in_scope(name) for name in names)


def pinned_namespace_names(peer: Peer) -> frozenset[str] | None:
    """The namespace names a namespaceSelector is limited to by its name label (None: not limited)."""
    selector = peer.namespace_selector
    if selector is None:
        return None
    names: frozenset[str] | None = None
    for key, value in selector.match_labels:
        if key == NAME_LABEL:
            names = frozenset({value}) if names is None else names & {value}
    for req in selector.match_expressions:
        if req.key == NAME_LABEL and req.operator == "In":
            names = req.values if names is None else names & req.values
    return names


def selection(inventory: Inventory) -> Selection:
    """The inventory's Selection, computed once and shared by every rule."""
    cached = inventory.cache.get("selection")
    if not isinstance(cached, Selection):
        cached = Selection(inventory)
        inventory.cache["selection"] = cached
    return cached
