"""NPS0xx: input problems (unparseable documents, invalid or deprecated NetworkPolicies)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from netpolscan.builtin.helpers import document_ref
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.not_evaluated import not_evaluated_effect
from netpolscan.model.tiers import PolicyKind
from netpolscan.plugin_api import Severity, Violation
from netpolscan.policykinds.clusterpolicy import GROUP as CLUSTER_POLICY_GROUP
from netpolscan.sources.document import Document


@check("NPS001")
def unparseable_manifest(ctx: ScanContext) -> Iterator[Violation]:
    for doc, message, line, column in ctx.inventory.parsed.unparseable:
        where = f"document {doc.index + 1}" + (f", item {doc.list_item}" if doc.list_item is not None else "")
        if (
            doc.error is None and doc.data is not None and doc.warnings
        ):  # parsed (duplicate keys): still analysed
            text = f"{where} has a {message}; kubectl rejects such documents"
        else:
            text = f"{where} cannot be analysed: {message}"
        yield Violation(text, doc, line=line, column=column, key=f"{doc.index}:{message}")


@check("NPS007")
def duplicate_object(ctx: ScanContext) -> Iterator[Violation]:
    default_ns = ctx.inventory.default_namespace
    copies: dict[tuple[int, str], int] = {}  # (first copy, file) -> copies seen: stable fingerprints
    for doc, first in ctx.inventory.parsed.duplicates:
        ref = document_ref(doc, default_ns)
        assert ref is not None  # only documents naming an object (kind, name) can be duplicates
        name = f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
        line, _ = first.position(())
        same = "an identical copy" if doc.data == first.data else "a different definition"
        number = copies[id(first), doc.path] = copies.get((id(first), doc.path), 0) + 1
        yield Violation(
            f"{name} is defined more than once in the input; its first definition is at {first.path}:{line}, "
            f"and this is {same}: only the first one (in input order) is analysed, this one is left out",
            doc,
            (),
            ref,
            key=f"{doc.path}#{number}",
            related=(("first definition (the one analysed)", first, ()),),
        )


NETWORK_POLICY_GROUP = "networking.k8s.io"


def _api_group(doc: Document) -> str | None:
    data = doc.data
    api_version = data.get("apiVersion") if isinstance(data, dict) else None
    return api_version.split("/", 1)[0] if isinstance(api_version, str) else None


def _is_kubernetes_network_policy(doc: Document) -> bool:
    """Whether a document's apiVersion is in the Kubernetes networking group (any version)."""
    return _api_group(doc) == NETWORK_POLICY_GROUP


def _policy_kind(doc: Document, kinds: Sequence[PolicyKind]) -> str | None:
    """The kind of a document that a policy kind (``netpolscan.model.tiers``) parses, else None."""
    data = doc.data
    if not isinstance(data, dict):
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return kind if any(k.handles(api_version, kind) for k in kinds) else None


@check("NPS002")
def invalid_network_policy(ctx: ScanContext) -> Iterator[Violation]:
    default_ns = ctx.inventory.default_namespace
    for doc, message, pointer in ctx.inventory.parsed.invalid:
        kind = _policy_kind(doc, ctx.inventory.kinds)
        if kind is None and not _is_kubernetes_network_policy(doc):
            continue  # another project's NetworkPolicy kind that no policy kind models: not ours
        ref = document_ref(doc, default_ns)
        field = ".".join(str(p) for p in pointer)
        if kind is not None:  # the policy kind's message says how the rest of the object is evaluated
            name = (f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name) if ref else "?"
            text = f"{kind} {name} would be rejected by the API server: {message} (at {field})"
        else:
            name = f"{ref.namespace}/{ref.name}" if ref else "?"
            text = (
                f"NetworkPolicy {name} would be rejected by the API server: {message} (at {field}); "
                "it is left out of the analysis"
            )
        yield Violation(text, doc, pointer, ref, key=message)


@check("NPS003")
def deprecated_network_policy_api(ctx: ScanContext) -> Iterator[Violation]:
    default_ns = ctx.inventory.default_namespace
    for doc, api_version in ctx.inventory.parsed.deprecated:
        ref = document_ref(doc, default_ns)
        name = f"{ref.namespace}/{ref.name}" if ref else "?"
        served = (
            "which current clusters no longer serve"
            if api_version == "extensions/v1beta1"
            else "which no Kubernetes version serves for NetworkPolicy"
        )
        yield Violation(
            f"NetworkPolicy {name} uses apiVersion {api_version}, {served}: "
            "use networking.k8s.io/v1 (it is left out of the analysis)",
            doc,
            (),
            ref,
        )
    for doc, message, pointer in ctx.inventory.parsed.deprecated_kinds:
        # v1alpha1 AdminNetworkPolicy/BaselineAdminNetworkPolicy: superseded, but several CNIs still serve it
        level = Severity.WARNING if _api_group(doc) == CLUSTER_POLICY_GROUP else None
        yield Violation(message, doc, pointer, document_ref(doc, default_ns), key=message, level=level)


@check("NPS006")
def policy_kind_not_evaluated(ctx: ScanContext) -> Iterator[Violation]:
    default_ns = ctx.inventory.default_namespace
    for doc in ctx.inventory.documents:
        effect = not_evaluated_effect(doc.data) if doc.error is None else None
        if effect is None:
            continue
        ref = document_ref(doc, default_ns)
        name = (f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name) if ref else "?"
        kind = ref.kind if ref else "object"
        yield Violation(
            f"{kind} {name} is not evaluated by netpolscan: {effect}; every verdict about the pods it "
            "may concern assumes it changes nothing",
            doc,
            ("kind",),
            ref,
        )
    for doc, message, pointer in ctx.inventory.parsed.not_evaluated:
        yield Violation(message, doc, pointer, document_ref(doc, default_ns), key=message)
