"""Pausing Python's cyclic garbage collector while an input is loaded (see :func:`paused_gc`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
