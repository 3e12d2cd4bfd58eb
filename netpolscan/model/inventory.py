"""The Inventory: every model object of a scan, with indexes and cached selector matching."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from netpolscan.model.kinds import object_identity
from netpolscan.model.objects import Namespace, NetworkPolicy, Service, Workload
from netpolscan.model.parse import NAME_LABEL, Parsed, parse_document
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import ClusterView, Node, PolicyKind, TierPolicy
from netpolscan.sources.document import Document


class Inventory:
    """Namespaces, workloads, services and (valid) policies of one scan.

    A namespace is *in scope* when the input has its Namespace manifest or a namespaced object in it.
    Namespaces that only appear in selectors are not in the inventory: their labels are unknown.
    """

    def __init__(
        self,
        documents: list[Document],
        parsed: Parsed,
        default_namespace: str = "default",
        kinds: Sequence[PolicyKind] = (),
    ):
        self.documents = documents
        self.parsed = parsed
        self.default_namespace = default_namespace
        self.workloads: list[Workload] = parsed.workloads
        self.services: list[Service] = parsed.services
        self.policies: list[NetworkPolicy] = parsed.policies
        self.namespaces: dict[str, Namespace] = {}
        for namespace in parsed.namespaces:
            self.namespaces.setdefault(namespace.name, namespace)
        for name in sorted(parsed.namespaces_used):
            if name not in self.namespaces:
                self.namespaces[name] = Namespace(name, {NAME_LABEL: name}, None)
        self.nodes: list[Node] = parsed.nodes
        self.kinds = tuple(kinds)
        self.tier_policies: list[TierPolicy] = self._build_tier_policies()
        self._workloads_by_ns: dict[str, list[Workload]] = defaultdict(list)
        for workload in self.workloads:
            self._workloads_by_ns[workload.namespace].append(workload)
        self._policies_by_ns: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in self.policies:
            self._policies_by_ns[policy.namespace].append(policy)
        self._ns_label_index: dict[tuple[str, str], set[str]] = defaultdict(set)
        for namespace in self.namespaces.values():
            for item in namespace.labels.items():
                self._ns_label_index[item].add(namespace.name)
        self._ns_cache: dict[LabelSelector, tuple[Namespace, ...]] = {}
        self._pod_cache: dict[tuple[str, LabelSelector], tuple[Workload, ...]] = {}
        self.cache: dict[str, object] = {}  # analysis results shared by every rule (see netpolscan.analysis)

    @classmethod
    def from_documents(
        cls,
        documents: Iterable[Document],
        default_namespace: str = "default",
        kinds: Sequence[PolicyKind] = (),
    ) -> Inventory:
        """The inventory of ``documents``; ``kinds`` evaluate policy APIs beyond NetworkPolicy v1."""
        docs: list[Document] = []
        parsed = Parsed()
        first_copies: dict[tuple[str, str, str, str], Document] = {}
        for doc in documents:
            identity = object_identity(doc.data, default_namespace) if doc.error is None else None
            if identity is not None:  # an object defined twice is modelled once: its first copy (NPS007)
                first = first_copies.setdefault(identity, doc)
                if first is not doc:
                    parsed.duplicates.append((doc, first))
                    continue
            docs.append(doc)
            parse_document(doc, default_namespace, parsed, kinds)
        return cls(docs, parsed, default_namespace, kinds)

    def _build_tier_policies(self) -> list[TierPolicy]:
        view = ClusterView(self.namespaces, self.nodes, self.services)
        policies: list[TierPolicy] = []
        for kind in self.kinds:
            objects = self.parsed.kind_objects.get(kind.name, [])
            if objects:
                policies.extend(kind.build(objects, view))
        policies.sort(key=lambda p: (p.tier.rank, p.tier.name, p.order, p.namespace, p.name))
        return policies

    # --- lookups -------------------------------------------------------------------------------------

    def in_scope(self, namespace: str) -> bool:
        return namespace in self.namespaces

    def has_manifest(self, namespace: str) -> bool:
        ns = self.namespaces.get(namespace)
        return ns is not None and ns.document is not None

    def workloads_in(self, namespace: str) -> list[Workload]:
        return self._workloads_by_ns.get(namespace, [])

    def policies_in(self, namespace: str) -> list[NetworkPolicy]:
        return self._policies_by_ns.get(namespace, [])

    def namespaces_matching(self, selector: LabelSelector) -> tuple[Namespace, ...]:
        """Namespaces of the inventory whose labels match ``selector`` (sorted by name)."""
        cached = self._ns_cache.get(selector)
        if cached is not None:
            return cached
        if selector.match_labels:
            names: set[str] | None = None
            for item in selector.match_labels:
                found = self._ns_label_index.get(item, set())
                names = set(found) if names is None else names & found
                if not names:
                    break
            candidates = [self.namespaces[n] for n in sorted(names or ())]
        else:
            candidates = [self.namespaces[n] for n in sorted(self.namespaces)]
        result = tuple(
            ns for ns in candidates if all(req.matches(ns.labels) for req in selector.match_expressions)
        )
        self._ns_cache[selector] = result
        return result

    def workloads_matching(self, namespace: str, selector: LabelSelector) -> tuple[Workload, ...]:
        """Workloads of ``namespace`` whose pod labels match ``selector``."""
        key = (namespace, selector)
        cached = self._pod_cache.get(key)
        if cached is None:
            cached = tuple(w for w in self.workloads_in(namespace) if selector.matches(w.labels))
            self._pod_cache[key] = cached
        return cached
