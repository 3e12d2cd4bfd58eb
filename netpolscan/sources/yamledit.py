"""Minimal text insertions into a YAML/JSON document: add an item to a list or keys to a mapping.

A fix is stated as "add this value to the collection at this pointer"; this module finds that collection
in the document's own text (composed again, with the positions libyaml records) and returns the one
insertion that makes the change, in the style of its surroundings: block collections get new lines at the
indentation of their siblings (sequences indented or not, as the document writes them), flow collections
(``[a, b]``, ``{}``, JSON) get ``, value`` before their closing bracket. Everything else in the file stays
byte-identical: comments, key order, quoting, line endings.

When the change cannot be made safely (anchors and aliases, merge keys, duplicate keys, a collection
ending in a block scalar, a null where a collection should be), there is no insertion: no fix rather than
a wrong one. Every insertion is checked by parsing the edited text and comparing it with the intended
value.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from netpolscan.sources import goyaml
from netpolscan.sources.document import utf16_column

try:  # only the structure, positions and styles are read: no tag resolution needed (libyaml when present)
    _Loader: type[Any] = yaml.CBaseLoader
except AttributeError:  # pragma: no cover - only without libyaml
    _Loader = yaml.BaseLoader

_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break
_WIDTH = 1 << 30  # never fold a line of inserted text


@dataclass(frozen=True)
class Insertion:
    """``text`` inserted at character ``offset`` of the document's text; ``line`` and ``column`` are
    1-based within that text, the column in UTF-16 code units (as locations count them)."""

    offset: int
    line: int
    column: int
    text: str


class _Unsafe(Exception):
    """The change cannot be made safely; no insertion."""


class _Dumper(yaml.SafeDumper):
    """Writes YAML that Kubernetes reads back as written: a string its YAML 1.1 reader would take for
    something else (``y``, ``on``, ``0777``) is quoted."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = None if goyaml.is_plain_string(data) else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


class _IndentedDumper(_Dumper):
    """Writes a sequence inside a mapping indented under its key (``key:\\n  - item``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def insertion(text: str, pointer: Sequence[str | int], value: Any, current: Any = None) -> Insertion | None:
    """The insertion into ``text`` (one YAML/JSON document) that adds ``value`` to the collection at
    ``pointer``: appended as one item to a list, or, ``value`` being a mapping, its keys added to a mapping
    (none may exist there yet). None when it cannot be done safely. ``current`` is the document as read,
    when the caller has it (else it is read again)."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            return None
        if "&" in text or "<<" in text:  # no anchor, no alias; no merge key
            _check_plain_tree(root)
        node, ancestors = _find(root, pointer)
        if node.flow_style:
            offset, inserted = _flow_insertion(
                text, node, value, json_style=bool(getattr(root, "flow_style", False))
            )
        else:
            offset, inserted = _block_insertion(text, node, ancestors, value)
        expected = _read(text) if current is None else copy.deepcopy(current)
        _apply_structurally(expected, pointer, value)
        if _read(text[:offset] + inserted + text[offset:]) != expected:
            return None
    except (_Unsafe, yaml.YAMLError, RecursionError, ValueError, TypeError, KeyError, IndexError):
        return None
    line = 1 + sum(1 for _ in _BREAK.finditer(text, 0, offset))
    line_start = max((m.end() for m in _BREAK.finditer(text, 0, offset)), default=0)
    column = utf16_column(text[line_start : offset + 1], offset - line_start + 1)
    return Insertion(offset, line, column, inserted)


def _read(text: str) -> Any:
    """The document as netpolscan (and Kubernetes) reads it; an error or nothing is unsafe."""
    from netpolscan.sources.yamlparse import parse_chunk

    doc = parse_chunk(text)
    if doc is None or doc.error is not None:
        raise _Unsafe("does not read back")
    return doc.data


def _check_plain_tree(root: yaml.Node) -> None:
    """No anchors/aliases (a node reached twice) and no merge keys: an edit would change other places."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise _Unsafe("alias")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, item in node.value:
                if key.tag == "tag:yaml.org,2002:merge" or (
                    isinstance(key, yaml.ScalarNode) and key.value == "<<"
                ):
                    raise _Unsafe("merge key")
                stack.extend((key, item))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _find(root: yaml.Node, pointer: Sequence[str | int]) -> tuple[yaml.CollectionNode, list[yaml.Node]]:
    node: yaml.Node = root
    ancestors: list[yaml.Node] = []
    for part in pointer:
        ancestors.append(node)
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = [
                item for key, item in node.value if isinstance(key, yaml.ScalarNode) and key.value == part
            ]
            if len(found) != 1:
                raise _Unsafe("missing or duplicate key")
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            raise _Unsafe("no such node")
    if not isinstance(node, yaml.CollectionNode):
        raise _Unsafe("not a collection")
    return node, ancestors


def _apply_structurally(data: Any, pointer: Sequence[str | int], value: Any) -> None:
    for part in pointer:
        data = data[part]
    if isinstance(data, list):
        data.append(copy.deepcopy(value))
    elif isinstance(data, dict) and isinstance(value, dict) and not set(value) & set(data):
        data.update(copy.deepcopy(value))
    else:
        raise _Unsafe("value does not fit the collection")


def _entry(node: yaml.CollectionNode, value: Any) -> Any:
    """What is written for ``value`` added to ``node``: ``[value]`` for a list, the mapping itself else."""
    if isinstance(node, yaml.SequenceNode):
        return [value]
    if not isinstance(value, dict) or not value:
        raise _Unsafe("keys must be added as a mapping")
    return value


# --- flow collections ------------------------------------------------------------------------------


def _flow_insertion(text: str, node: yaml.CollectionNode, value: Any, json_style: bool) -> tuple[int, str]:
    entry = json.dumps(_entry(node, value), ensure_ascii=False)
    written = entry if json_style else _dumped(entry, flow=True)
    inner = written[1:-1].strip()  # without the brackets of the one-entry list or mapping
    start, end = node.start_mark.index, node.end_mark.index
    if text[start] not in "[{" or text[end - 1] not in "]}":
        raise _Unsafe("unexpected flow collection text")
    if not node.value:
        return start + 1, inner
    last = node.value[-1]
    last_node = last[1] if isinstance(node, yaml.MappingNode) else last
    return _end_of(last_node), ", " + inner


def _end_of(node: yaml.Node) -> int:
    """Character offset just after the text of ``node``."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        raise _Unsafe("block scalar")
    if isinstance(node, yaml.CollectionNode) and not node.flow_style:
        if not node.value:
            raise _Unsafe("empty block collection")
        last = node.value[-1]
        return _end_of(last[1] if isinstance(node, yaml.MappingNode) else last)
    return int(node.end_mark.index)


# --- block collections -----------------------------------------------------------------------------


def _block_insertion(
    text: str, node: yaml.CollectionNode, ancestors: list[yaml.Node], value: Any
) -> tuple[int, str]:
    if not node.value:
        raise _Unsafe("empty block collection")
    if isinstance(node, yaml.SequenceNode):
        column = node.start_mark.column  # the "-" of the first item
        if text[node.start_mark.index] != "-":
            raise _Unsafe("sequence without dash")
    else:
        column = node.value[0][0].start_mark.column  # the first key
    end = _end_of(node)
    line_end = _BREAK.search(text, end)
    offset = line_end.start() if line_end else len(text)
    newline = line_end.group() if line_end else _first_break(text)
    indented, step = _style([node, *reversed(ancestors)])
    written = _dumped(json.dumps(_entry(node, value), ensure_ascii=False), indented=indented, step=step)
    lines = written.rstrip("\n").split("\n")
    pad = " " * column
    return offset, "".join(newline + pad + line for line in lines)


@functools.lru_cache(maxsize=256)
def _dumped(entry: str, flow: bool = False, indented: bool = False, step: int = 2) -> str:
    """The YAML text of the JSON value ``entry`` (many findings share one remedy: written once)."""
    written: str = yaml.dump(
        json.loads(entry),
        Dumper=_IndentedDumper if indented else _Dumper,
        default_flow_style=flow,
        sort_keys=False,
        allow_unicode=True,
        width=_WIDTH,
        indent=step,
    )
    return written.strip() if flow else written


def _first_break(text: str) -> str:
    found = _BREAK.search(text)
    return found.group() if found else "\n"


def _style(scopes: Sequence[yaml.Node]) -> tuple[bool, int]:
    """(sequences indented under their key?, mapping indentation step) as the document writes them,
    looked for in the changed collection first, then in each enclosing one."""
    indented: bool | None = None
    step: int | None = None
    stack: list[yaml.Node] = []
    for scope in scopes:
        stack.append(scope)
        indented, step = _style_in(stack, indented, step)
        if indented is not None and step is not None:
            break
    return bool(indented), step or 2


def _style_in(
    stack: list[yaml.Node], indented: bool | None, step: int | None
) -> tuple[bool | None, int | None]:
    while stack and (indented is None or step is None):
        node = stack.pop()
        if isinstance(node, yaml.MappingNode) and not node.flow_style:
            for key, item in node.value:
                if isinstance(item, yaml.CollectionNode) and not item.flow_style and item.value:
                    if item.start_mark.line > key.start_mark.line:
                        offset = item.start_mark.column - key.start_mark.column
                        if isinstance(item, yaml.SequenceNode) and indented is None:
                            indented = offset > 0
                        elif isinstance(item, yaml.MappingNode) and step is None and 2 <= offset <= 9:
                            step = offset
                stack.append(item)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return indented, step
