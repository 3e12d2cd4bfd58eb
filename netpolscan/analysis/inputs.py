"""Inputs of the connectivity commands: paths -> Inventory, refusing input that could not be parsed."""

from __future__ import annotations

from collections.abc import Sequence

from netpolscan.errors import NetpolscanError
from netpolscan.model.inventory import Inventory
from netpolscan.sources import load_documents


def load_inventory(paths: Sequence[str], namespace: str = "default", side: str = "") -> Inventory:
    """The Inventory of ``paths``; a document that cannot be parsed stops the run (naming ``side``)."""
    documents = load_documents(list(paths))
    broken = [doc for doc in documents if doc.error is not None]
    if broken:
        doc = broken[0]
        where = f"{side} input " if side else ""
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise NetpolscanError(
            f"{where}{doc.path}:{doc.error_line or doc.line}: cannot parse: {doc.error}{more}"
        )
    return Inventory.from_documents(documents, namespace)
