"""Loading an input for the commands: paths -> Inventory, and the documents it had to leave out.

As in ``scan``, a document that cannot be parsed (or that the API server would reject) does not stop the
analysis of the others: :func:`left_out` lists them so the commands can say so, and ``strict`` makes
them an error that stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netpolscan.errors import NetpolscanError
from netpolscan.model.inventory import Inventory
from netpolscan.model.kinds import object_identity
from netpolscan.model.not_evaluated import not_evaluated_effect
from netpolscan.model.tiers import PolicyKind
from netpolscan.sources import load_documents
from netpolscan.sources.document import Document
from netpolscan.sources.gc_pause import paused_gc


@dataclass(frozen=True)
class LeftOut:
    """A document of the input that takes no part in the analysis, and why."""

    path: str
    line: int
    reason: str
    side: str = ""  # "BASE" / "HEAD" for diff

    def __str__(self) -> str:
        where = f"{self.side} input " if self.side else ""
        return f"{where}{self.path}:{self.line}: left out of the analysis: {self.reason}"


def load_inventory(
    paths: Sequence[str],
    namespace: str = "default",
    side: str = "",
    strict: bool = False,
    kinds: Sequence[PolicyKind] = (),
) -> Inventory:
    """The Inventory of ``paths``; with ``strict``, a document it leaves out stops the run (naming
    ``side``), else the other documents are analysed and :func:`left_out` says which were not.
    ``kinds``: the policy kinds beyond NetworkPolicy v1 to evaluate (from the plugins)."""
    with paused_gc(freeze=True):
        inventory = Inventory.from_documents(load_documents(list(paths)), namespace, kinds)
    if strict:
        missing = left_out(inventory, side)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise NetpolscanError(f"{missing[0]}{more}; --strict stops here")
    return inventory


def left_out(inventory: Inventory, side: str = "") -> list[LeftOut]:
    """The documents of ``inventory``'s input that the analysis leaves out, in input order, one each:
    unparseable documents and non-objects (NPS001), NetworkPolicies the API server would reject
    (NPS002) or no longer serves (NPS003), then later definitions of an object defined more than once
    (NPS007), then objects of kinds nothing evaluates (NPS006). A document with a duplicate key is
    analysed (last value)."""
    parsed = inventory.parsed
    reasons: dict[int, tuple[int, str]] = {}
    for doc, message, line, column in parsed.unparseable:
        if (message, line, column) not in doc.warnings:
            reasons.setdefault(id(doc), (line, message))
    for doc, message, pointer in parsed.invalid:
        if _is_network_policy_v1_group(doc):
            reasons.setdefault(
                id(doc), (doc.position(pointer)[0], f"the API server would reject it: {message}")
            )
    for doc, api_version in parsed.deprecated:
        reasons.setdefault(id(doc), (doc.line, f"NetworkPolicy under {api_version}, which is not served"))
    found = []
    for doc in inventory.documents:
        reason = reasons.pop(id(doc), None)
        if reason is not None:
            found.append(LeftOut(doc.path, reason[0], reason[1], side))
    for doc, first in parsed.duplicates:  # NPS007: the first definition is analysed, the others not
        identity = object_identity(doc.data, inventory.default_namespace)
        _, kind, namespace, name = identity or ("", "object", "", "?")
        same = "an identical copy" if doc.data == first.data else "a different definition"
        where = f"{first.path}:{first.position(())[0]}"
        what = f"{kind} {namespace + '/' if namespace else ''}{name}"
        why = f"{what} is defined again ({same}); only its first definition ({where}) is analysed"
        found.append(LeftOut(doc.path, doc.position(())[0], why, side))
    for doc in inventory.documents:  # NPS006: kinds that change connectivity but nothing evaluates
        effect = not_evaluated_effect(doc.data) if doc.error is None else None
        if effect is not None:
            metadata = doc.data.get("metadata")
            named = metadata.get("name") if isinstance(metadata, dict) else None
            why = f"{doc.kind} {named or '?'} is not evaluated: {effect}"
            found.append(LeftOut(doc.path, doc.position(("kind",))[0], why, side))
    return found


def _is_network_policy_v1_group(doc: Document) -> bool:
    """A NetworkPolicy of the Kubernetes networking group (another project's NetworkPolicy kind, e.g.
    Calico's, is judged by its own policy kind)."""
    data = doc.data
    api_version = data.get("apiVersion") if isinstance(data, dict) else None
    return (
        doc.kind == "NetworkPolicy"
        and isinstance(api_version, str)
        and api_version.startswith("networking.k8s.io/")
    )
