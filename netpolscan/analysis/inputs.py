"""Inputs of the connectivity commands: paths -> Inventory, refusing input that could not be parsed."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from netpolscan.errors import NetpolscanError
from netpolscan.model.inventory import Inventory
from netpolscan.sources import load_documents


def load_inventory(paths: Sequence[str], namespace: str = "default", side: str = "") -> Inventory:
    """The Inventory of ``paths``; a document that cannot be parsed stops the run (naming ``side``)."""
    with paused_gc(freeze=True):
        return _load_inventory(paths, namespace, side)


def _load_inventory(paths: Sequence[str], namespace: str, side: str) -> Inventory:
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


@contextmanager
def paused_gc(freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while building large, acyclic, long-lived structures.

    Loading an input allocates millions of containers that all survive; every collection would walk
    them again for nothing (seconds on big inputs). Reference counting still frees everything.
    ``freeze``: afterwards, move every object alive to the collector's permanent generation, so later
    collections skip the loaded input altogether (for the commands, whose inventory lives to the end).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
