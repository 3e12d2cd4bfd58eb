"""A small YAML writer for generated manifests: block style as kubectl writes it, comments where asked.

Values are dicts, lists, strings, ints and bools; a :class:`Note` wraps a value to put comment lines
before its key (in a mapping) or its ``- `` (in a sequence). Strings are written plain when they read
back as the same string under YAML 1.1 (as Kubernetes reads it), else double-quoted (JSON escapes).
The output depends only on the values: byte-identical for the same input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netpolscan.sources.goyaml import is_plain_string

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:-]*$")


@dataclass(frozen=True)
class Note:
    """``value`` written after the comment ``lines``."""

    value: object
    lines: tuple[str, ...]


_SCALARS: dict[str, str] = {}


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    found = _SCALARS.get(text)
    if found is None:
        plain = _PLAIN.match(text) and not text.endswith(":") and is_plain_string(text)
        found = text if plain else json.dumps(text, ensure_ascii=False)
        if len(_SCALARS) < 100_000:
            _SCALARS[text] = found
    return found


def plain(value: object) -> object:
    """``value`` without its notes: what a YAML reader gets back from :func:`dump`."""
    if isinstance(value, Note):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _comments(lines: Sequence[str], pad: str) -> list[str]:
    return [f"{pad}# {line}".rstrip() for text in lines for line in text.splitlines() or [""]]


def _is_leaf(value: object) -> bool:
    return not isinstance(value, (Mapping, list, tuple)) or not value


def _leaf(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    return scalar(value)


def _mapping(value: Mapping[str, object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, Note):
            lines += _comments(item.lines, pad)
            item = item.value
        if _is_leaf(item):
            lines.append(f"{pad}{scalar(key)}: {_leaf(item)}")
        elif isinstance(item, Mapping):
            lines.append(f"{pad}{scalar(key)}:")
            lines += _mapping(item, indent + 2)
        else:
            assert isinstance(item, (list, tuple))
            lines.append(f"{pad}{scalar(key)}:")
            lines += _sequence(item, indent)
    return lines


def _sequence(items: Sequence[object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Note):
            lines += _comments(item.lines, pad)
            item = item.value
        if _is_leaf(item):
            lines.append(f"{pad}- {_leaf(item)}")
            continue
        block = _mapping(item, indent + 2) if isinstance(item, Mapping) else _sequence(item, indent + 2)  # type: ignore[arg-type]
        first = next(i for i, line in enumerate(block) if not line.lstrip().startswith("#"))
        block[first] = f"{pad}- {block[first][indent + 2 :]}"
        lines += block
    return lines


def dump(value: Mapping[str, object], comments: Sequence[str] = ()) -> str:
    """One YAML document (without ``---``), after the comment lines ``comments``."""
    return "\n".join([*_comments(comments, ""), *_mapping(value, 0)]) + "\n"
