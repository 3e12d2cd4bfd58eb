"""NPS0xx: input problems (unparseable documents, invalid or deprecated NetworkPolicies)."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.builtin.helpers import document_ref
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.findings import Violation
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


NETWORK_POLICY_GROUP = "networking.k8s.io"


def _is_kubernetes_network_policy(doc: Document) -> bool:
    """Whether a document's apiVersion is in the Kubernetes networking group (any version)."""
    data = doc.data
    api_version = data.get("apiVersion") if isinstance(data, dict) else None
    return isinstance(api_version, str) and api_version.split("/", 1)[0] == NETWORK_POLICY_GROUP


@check("NPS002")
def invalid_network_policy(ctx: ScanContext) -> Iterator[Violation]:
    default_ns = ctx.inventory.default_namespace
    for doc, message, pointer in ctx.inventory.parsed.invalid:
        if not _is_kubernetes_network_policy(doc):
            continue  # another project's NetworkPolicy kind (Calico's projectcalico.org/v3): not ours
        ref = document_ref(doc, default_ns)
        name = f"{ref.namespace}/{ref.name}" if ref else "?"
        field = ".".join(str(p) for p in pointer)
        yield Violation(
            f"NetworkPolicy {name} would be rejected by the API server: {message} (at {field}); "
            "it is left out of the analysis",
            doc,
            pointer,
            ref,
            key=message,
        )


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
        yield Violation(message, doc, pointer, document_ref(doc, default_ns), key=message)
