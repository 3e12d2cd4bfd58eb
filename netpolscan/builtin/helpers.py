"""Small helpers shared by the built-in rule families (naming, scoping, port tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netpolscan.model.inventory import Inventory
from netpolscan.model.kinds import CLUSTER_SCOPED, namespace_of_object, object_namespace
from netpolscan.model.objects import NetworkPolicy, PolicyRule, PortSpec, Workload
from netpolscan.model.selectors import LabelSelector
from netpolscan.plugin_api import ObjectRef
from netpolscan.sources.document import Document


def document_ref(doc: Document, default_namespace: str) -> ObjectRef | None:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind = data["kind"]
    namespace = "" if kind in CLUSTER_SCOPED else object_namespace(data, default_namespace)
    return ObjectRef(kind, namespace, name if isinstance(name, str) else "?")


def namespace_of(doc: Document, default_namespace: str) -> str | None:
    """The namespace a document's object lives in (None for cluster-scoped and unknown unplaced kinds)."""
    return None if doc.error is not None else namespace_of_object(doc.data, default_namespace)


def namespace_anchors(inventory: Inventory) -> dict[str, Document]:
    """Namespaces the input defines or runs pods in -> the document their findings point at.

    That is the Namespace manifest, or without one the namespace's first workload reported on (see
    :func:`reported_workloads`), never a RoleBinding or ConfigMap that happens to come first. A namespace
    the input only adds other objects to (RBAC, ConfigMaps, Services, policies) is left out: nothing in the
    input defines it and no pod of the input runs there.
    """
    anchors = {ns.name: ns.document for ns in inventory.namespaces.values() if ns.document is not None}
    for workload in reported_workloads(inventory):
        anchors.setdefault(workload.namespace, workload.document)
    return anchors


def reported_workloads(inventory: Inventory) -> list[Workload]:
    """The workloads findings are reported on: those whose controlling owner is in the input are left out.

    A ``kubectl get -o yaml`` dump holds a Deployment, its ReplicaSets and their Pods; a per-workload finding
    belongs on the Deployment once, not on every level of the chain.
    """
    present = {(w.namespace, w.kind, w.name) for w in inventory.workloads}
    return [w for w in inventory.workloads if w.owner is None or (w.namespace, *w.owner) not in present]


def port_numbers(spec: PortSpec, resolve_on: Iterable[Workload] = ()) -> list[tuple[int, int]] | None:
    """The (first, last) number ranges a port spec allows; None = every port of its protocol.

    A named port is resolved on ``resolve_on``; names that resolve nowhere allow nothing.
    """
    if spec.port is None:
        return None
    if isinstance(spec.port, int):
        return [(spec.port, spec.end_port if spec.end_port is not None else spec.port)]
    numbers = {n for w in resolve_on if (n := w.resolve_port(spec.port, spec.protocol)) is not None}
    return [(n, n) for n in sorted(numbers)]


def covers(spec: PortSpec, protocol: str, number: int, resolve_on: Iterable[Workload] = ()) -> bool:
    """Whether ``spec`` allows ``number``/``protocol``."""
    if spec.protocol != protocol:
        return False
    ranges = port_numbers(spec, resolve_on)
    return ranges is None or any(lo <= number <= hi for lo, hi in ranges)


def describe_ports(rule: PolicyRule) -> str:
    if rule.all_ports:
        return "every port"
    return ", ".join(str(p) for p in rule.ports)


def policy_label(policy: NetworkPolicy) -> str:
    return f"NetworkPolicy {policy.namespace}/{policy.name}"


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance of two short strings, counted up to ``limit`` (a larger one reads as ``limit``)."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) >= limit:
            return limit
        previous = current
    return min(previous[-1], limit)


def _close(a: str, b: str) -> bool:
    """A likely typo: a few characters apart (one for short words), or the same but for case."""
    return a != b and (
        a.lower() == b.lower() or edit_distance(a, b) <= (1 if min(len(a), len(b)) <= 4 else 2)
    )


def missing_labels(selector: LabelSelector, label_sets: Iterable[Mapping[str, str]]) -> list[str]:
    """The selector's requirements (``key=value``, or an expression) that no label set satisfies."""
    sets = list(label_sets)
    missing = [f"{k}={v}" for k, v in selector.match_labels if not any(s.get(k) == v for s in sets)]
    missing += [str(r) for r in selector.match_expressions if not any(r.matches(s) for s in sets)]
    return missing


def close_label(selector: LabelSelector, label_sets: Iterable[Mapping[str, str]]) -> str | None:
    """A label that the objects carry and that a ``matchLabels`` entry of ``selector`` likely misspells."""
    present = sorted({(k, v) for labels in label_sets for k, v in labels.items()})
    for key, value in selector.match_labels:
        if any(k == key and v == value for k, v in present):
            continue
        for k, v in present:
            if (k == key and _close(v, value)) or (v == value and _close(k, key)):
                return f"{k}={v}"
    return None
