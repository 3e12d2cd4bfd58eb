"""Plain YAML sources (Kustomize origins, a chart's ``crds/``): which document of a file a rendered object came
from, and which part of a pointer the rendered object has.

Kustomize: the ``config.kubernetes.io/origin`` annotation names the source file (relative to the built
kustomization); the object is the document of that file with the same kind and name, and the field is
found through that file's own YAML marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netpolscan.sources.document import Document


def existing_prefix(data: Any, pointer: Sequence[str | int]) -> tuple[str | int, ...]:
    """The longest prefix of ``pointer`` present in ``data``."""
    kept: list[str | int] = []
    for part in pointer:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            break
        kept.append(part)
    return tuple(kept)


def kind_name(document: Document) -> tuple[str, str]:
    return kind_name_of(document.data)


def kind_name_of(data: Any) -> tuple[str, str]:
    if not isinstance(data, dict):
        return "", ""
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (kind if isinstance(kind, str) else ""), (name if isinstance(name, str) else "")


def pick_document(documents: list[Document], kind: str, name: str) -> Document:
    """The source document of a rendered object: same kind and name, else the closest one.

    Kustomize may have added a name prefix or suffix, so a name contained in the rendered one counts.
    """
    same_kind = [d for d in documents if kind_name(d)[0] == kind] or documents
    exact = [d for d in same_kind if kind_name(d)[1] == name]
    if exact:
        return exact[0]
    contained = [d for d in same_kind if kind_name(d)[1] and kind_name(d)[1] in name]
    if contained:
        return max(contained, key=lambda d: len(kind_name(d)[1]))
    return same_kind[0]
