"""Writing reports as streams: JSON arrays one item at a time, and the gzipped size of what was written.

A report of 200,000 findings is about 100 MB of JSON; built whole (the dicts, then one string) it needs many
times that. The formatters write their fixed parts whole and their long arrays item by item instead, with
exactly the bytes ``json.dumps(..., indent=2)`` would give.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import Any, TextIO

SLOT = "\x00netpolscan-stream-slot\x00"
"""A placeholder value: the document is dumped with it where the long array goes, then split around it."""


def split_at_slot(document: Any) -> tuple[str, str]:
    """``json.dumps(document, indent=2)`` cut where :data:`SLOT` stands (its one occurrence)."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    head, tail = text.split(json.dumps(SLOT), 1)
    return head, tail


def write_array(stream: TextIO, items: Iterable[Any], depth: int) -> None:
    """Write ``items`` as a JSON array whose items stand ``depth`` spaces deep (as ``indent=2`` puts them)."""
    pad = "\n" + " " * depth
    opened = False
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", pad)
        stream.write(("," if opened else "[") + pad + text)
        opened = True
    stream.write("\n" + " " * (depth - 2) + "]" if opened else "[]")


class GzipCounter:
    """A text stream that passes everything on and counts its UTF-8, gzip-compressed size (level 6)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._size = 0

    def write(self, text: str) -> int:
        self._size += len(self._compressor.compress(text.encode("utf-8")))
        return self.target.write(text)

    def gzip_size(self) -> int:
        """The compressed size so far, as if the stream ended now."""
        return self._size + len(self._compressor.copy().flush())
