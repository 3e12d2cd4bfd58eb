"""Documents: one parsed manifest with its provenance and the position of each of its fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Pointer = tuple[str | int, ...]
"""A path into a document: mapping keys and list indexes, e.g. ("spec", "ingress", 0, "from", 1)."""


def value_at(data: Any, pointer: Sequence[str | int]) -> Any:
    """The parsed value at ``pointer`` of ``data`` (None when some step of it is absent)."""
    for part in pointer:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


@dataclass(frozen=True)
class Location:
    """A place in an input file (display path, POSIX), 1-based line and column: where a finding points.

    ``rendered`` keeps the location in the scanned (rendered) file when ``path`` was mapped back to a
    Helm template or Kustomize source.
    """

    path: str
    line: int
    column: int = 1
    rendered: Location | None = None


def utf16_column(line_text: str, column: int) -> int:
    """A 1-based column counted in characters, counted in UTF-16 code units instead (SARIF's
    ``utf16CodeUnits``, the unit of GitHub and VS Code): a character beyond U+FFFF before it counts twice."""
    if line_text.isascii():
        return column
    return column + sum(1 for char in line_text[: column - 1] if ord(char) > 0xFFFF)


class Marks:
    """Line/column positions of a document's nodes, addressed by pointer.

    Stored as a parallel tree (mapping -> dict of key -> Marks, sequence -> list of Marks) so a lookup
    costs one step per path element and no node tree has to stay alive. Lines and columns are 1-based
    and absolute in the file; columns count UTF-16 code units (see :func:`utf16_column`). For a mapping
    key the position is the key's; for a list entry it is the entry's ``- `` indicator when there is one.
    """

    __slots__ = ("line", "column", "children")

    def __init__(self, line: int, column: int, children: dict[Any, Marks] | list[Marks] | None = None):
        self.line = line
        self.column = column
        self.children = children

    def find(self, pointer: Sequence[str | int]) -> tuple[int, int]:
        """Position of the deepest node of ``pointer`` that exists (the document start when none does)."""
        node: Marks = self
        for part in pointer:
            children = node.children
            if isinstance(children, dict):
                child = children.get(part)
            elif isinstance(children, list) and isinstance(part, int) and 0 <= part < len(children):
                child = children[part]
            else:
                child = None
            if child is None:
                break
            node = child
        return node.line, node.column


@dataclass(frozen=True)
class Origin:
    """Where a rendered document came from before rendering (Helm template or Kustomize source)."""

    tool: str  # "helm" | "kustomize"
    path: str  # e.g. "mychart/templates/netpol.yaml" or "base/netpol.yaml"
    line: int | None = None


@dataclass(eq=False)
class Document:
    """One YAML/JSON document of an input file.

    ``data`` is the parsed mapping (``None`` when the document could not be parsed; ``error`` says why).
    ``path`` is the display path of the file (``-`` for stdin), ``line`` the first content line of the
    document (after ``---`` and comments), ``index`` its position in the file.
    """

    path: str
    index: int
    line: int
    data: Any = None
    marks: Marks | None = None
    error: str | None = None
    error_line: int | None = None
    error_column: int | None = None
    helm_source: str | None = None
    origin: Origin | None = None
    list_item: int | None = None  # index within a `kind: List` document
    warnings: list[tuple[str, int, int]] = field(default_factory=list)
    # the document's own text (its ``---`` part of the file), where it starts in the file (character
    # offset, 0-based line): what fixes edit; None when the text is not kept (e.g. read as JSON only)
    source: str | None = field(default=None, repr=False)
    source_offset: int = 0
    source_line: int = 0

    def position(self, pointer: Sequence[str | int] = ()) -> tuple[int, int]:
        """1-based (line, column) of the field at ``pointer`` (falls back to its closest ancestor)."""
        if self.marks is None:
            return self.line, 1
        return self.marks.find(pointer)

    @property
    def kind(self) -> str | None:
        data = self.data
        if isinstance(data, dict):
            kind = data.get("kind")
            return kind if isinstance(kind, str) else None
        return None
