"""Reading input into documents with provenance: files, directories, stdin (and rendered charts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from netpolscan.sources.document import Document, Marks, Origin, Pointer
from netpolscan.sources.files import InputText, Skipped, display_path, iter_paths, read
from netpolscan.sources.yamlparse import parse_text

__all__ = ["Document", "Marks", "Origin", "Pointer", "load_documents", "documents_from_text"]


def documents_from_text(item: InputText) -> Iterator[Document]:
    """Documents of one decoded input (a single error document when it could not be decoded)."""
    if item.text is None:
        yield Document(
            path=item.path,
            index=0,
            line=item.error_line or 1,
            error=item.error,
            error_line=item.error_line or 1,
        )
        return
    yield from parse_text(item.text, item.path, json_hint=item.path.endswith(".json"))


def load_documents(arguments: list[str], skipped: list[Skipped] | None = None) -> list[Document]:
    """All documents of the given paths (``-`` = stdin), in a deterministic order.

    What directory walks leave out (Helm charts, kustomizations' own files) is appended to ``skipped``.

    Files are read in the order of their display paths, whatever the order of the arguments, so that
    everything downstream (e.g. which object of an implicit namespace a finding points at) is the same
    for the same files.
    """
    documents: list[Document] = []
    sources = sorted(
        iter_paths(arguments, skipped), key=lambda s: ("", "") if s == "-" else ("~", display_path(Path(s)))
    )
    for source in sources:
        documents.extend(documents_from_text(read(source)))
    return documents
