"""Reading input into documents with provenance: files, directories, stdin (and rendered charts)."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.sources.document import Document, Marks, Origin, Pointer
from netpolscan.sources.files import InputText, iter_paths, read
from netpolscan.sources.yamlparse import parse_text

__all__ = ["Document", "Marks", "Origin", "Pointer", "load_documents", "documents_from_text"]


def documents_from_text(item: InputText) -> Iterator[Document]:
    """Documents of one decoded input (a single error document when it could not be decoded)."""
    if item.text is None:
        yield Document(path=item.path, index=0, line=item.error_line or 1, error=item.error, error_line=item.error_line or 1)
        return
    yield from parse_text(item.text, item.path, json_hint=item.path.endswith(".json"))


def load_documents(arguments: list[str]) -> list[Document]:
    """All documents of the given paths (``-`` = stdin), in a deterministic order."""
    documents: list[Document] = []
    for source in iter_paths(arguments):
        documents.extend(documents_from_text(read(source)))
    return documents
