"""Split a YAML/JSON text into documents and parse each one with line/column marks.

Every document is parsed on its own (libyaml's ``CSafeLoader`` composes it, we convert the node tree to
plain Python values while recording marks, then drop the tree), so a broken document never hides the
ones after it. Alias expansion and nesting depth are bounded.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from netpolscan.sources import goyaml
from netpolscan.sources.document import Document, Marks, Origin, utf16_column

_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode

try:  # libyaml is the fast path; the pure-Python loader is the fallback
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - only without libyaml
    _Loader = yaml.SafeLoader


class _KubernetesLoader(_Loader):  # type: ignore[misc]
    """Composes nodes whose scalars are tagged as Kubernetes's YAML reader resolves them (see goyaml)."""

    def resolve(self, kind: Any, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is _ScalarNode:
            return goyaml.resolve(value, implicit[0])
        return _SEQ if kind is _SequenceNode else _MAP


MAX_NODES = 1_000_000  # expanded nodes allowed per document beyond its own length (alias bombs stop here)
MAX_DEPTH = 200  # nesting depth allowed per document (real manifests stay far below)

_DOC_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_CONTENT_START = re.compile(r"^[ \t]*[^#\s-]", re.MULTILINE)
_SOURCE_COMMENT = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$", re.MULTILINE)
# libyaml composes recursively in C: a few tens of thousands of levels overflow the C stack (a crash, not
# an exception). A cheap, sound screen bounds the depth before composing: flow depth <= the number of
# "[" and "{", block depth <= 2 * the longest run of indentation and "-", "?", ":" indicators starting a
# line (+2). Only documents the screen cannot clear get the exact (iterative) depth check on events.
_SCREEN_BRACKETS = 1000
_SCREEN_PREFIX = 500
_LONG_PREFIX = re.compile(r"^[ \t?:-]{" + str(_SCREEN_PREFIX) + ",}", re.MULTILINE)
_COLLECTION_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)

_STR = goyaml.STR_TAG
_PLAIN = goyaml.PLAIN_TAG
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = goyaml.MERGE_TAG
Children = dict[Any, Marks] | list[Marks] | None
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


class _TooBig(Exception):
    """A document Kubernetes would not read: too big or deep, or a value its YAML reader rejects."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.line = line
        self.column = column


class _Converter:
    """Turns one composed node tree into Python values and a parallel :class:`Marks` tree."""

    __slots__ = ("loader", "text", "line_offset", "memo", "count", "limit", "warnings")

    def __init__(self, loader: Any, text: str, line_offset: int):
        self.loader = loader
        self.text = text
        self.line_offset = line_offset
        self.memo: dict[int, tuple[Any, Children, int]] = {}
        self.count = 0
        # a document written out without aliases has fewer nodes than characters: only aliases can exceed this
        self.limit = MAX_NODES + len(text)
        self.warnings: list[tuple[str, int, int]] = []

    def _pos(self, node: Any) -> tuple[int, int]:
        mark = node.start_mark
        return mark.line + 1 + self.line_offset, mark.column + 1

    def root(self, node: Any) -> tuple[Any, Marks]:
        """Convert a document's root node: (value, marks of the whole document)."""
        value, children = self.convert(node)
        line, column = self._pos(node)
        return value, _object_marks(Marks(line, column, children))

    def convert(self, node: Any, depth: int = 0) -> tuple[Any, Children]:
        """(Python value, marks of its children) of one node; this is the hot loop of reading input."""
        cls = node.__class__
        if cls is _ScalarNode:
            self.count += 1
            tag = node.tag
            if tag == _STR:
                return node.value, None
            try:
                if tag == _PLAIN:
                    return goyaml.plain_value(node.value), None
                return goyaml.tagged_value(tag, node.value), None
            except goyaml.ScalarError as exc:
                raise _TooBig(str(exc), *self._pos(node)) from None
        key = id(node)
        cached = self.memo.get(key)
        if cached is not None:  # an alias: shared value, but its size still counts
            self.count += cached[2]
            if self.count > self.limit:
                raise _TooBig(f"YAML aliases expand to more than {self.limit:,} nodes", *self._pos(node))
            return cached[0], cached[1]
        if depth > MAX_DEPTH:
            raise _TooBig(f"document is nested more than {MAX_DEPTH} levels deep", *self._pos(node))
        before = self.count
        self.count += 1
        offset = self.line_offset + 1
        convert = self.convert
        value: Any
        children: Children
        if cls is _SequenceNode:
            value = []
            items: list[Marks] = []
            children = items
            self.memo[key] = (value, children, 1)
            text = self.text
            for item in node.value:
                if item.__class__ is _ScalarNode and item.tag == _STR:  # convert's first case, inlined
                    self.count += 1
                    item_value, item_children = item.value, None
                else:
                    item_value, item_children = convert(item, depth + 1)
                mark = item.start_mark
                column = mark.column + 1
                index = mark.index
                if index >= 2 and text[index - 2] == "-":  # point list entries at their "- " indicator
                    column -= 2
                value.append(item_value)
                items.append(Marks(mark.line + offset, column, item_children))
        elif cls is _MappingNode:
            value = {}
            kids: dict[Any, Marks] = {}
            children = kids
            self.memo[key] = (value, children, 1)
            merged: set[str] = set()  # keys whose value a merge key (<<) set last
            for key_node, value_node in node.value:
                key_tag = key_node.tag
                if key_tag == _STR and key_node.__class__ is _ScalarNode:
                    k = key_node.value
                    self.count += 1
                elif key_tag == _MERGE and key_node.value == "<<":
                    merged.update(self._merge(value, kids, value_node, depth + 1))
                    continue
                else:
                    k = self._key(key_node)
                if value_node.__class__ is _ScalarNode and value_node.tag == _STR:  # as in convert, inlined
                    self.count += 1
                    v, v_children = value_node.value, None
                else:
                    v, v_children = convert(value_node, depth + 1)
                mark = key_node.start_mark
                if k in value:
                    if k not in merged:
                        message = f"duplicate key {k!r} (the last value is used)"
                        self.warnings.append((message, mark.line + offset, mark.column + 1))
                    else:
                        merged.discard(k)  # a merged value overridden: the usual use of <<
                value[k] = v
                kids[k] = Marks(mark.line + offset, mark.column + 1, v_children)
        else:  # pragma: no cover - libyaml yields only the three node kinds
            raise _TooBig(f"unsupported YAML node {type(node).__name__}", *self._pos(node))
        size = self.count - before
        self.memo[key] = (value, children, size)
        if self.count > self.limit:
            raise _TooBig(f"document expands to more than {self.limit:,} nodes", *self._pos(node))
        return value, children

    def _key(self, node: Any) -> str:
        """The JSON key of a mapping key node other than a plain string (``on:`` is "true", ``1:`` is "1")."""
        self.count += 1
        if node.__class__ is not _ScalarNode:
            raise _TooBig("a mapping key is not a scalar", *self._pos(node))
        try:
            return goyaml.key_string(node.tag, node.value)
        except goyaml.ScalarError as exc:
            raise _TooBig(str(exc), *self._pos(node)) from None

    def _merge(self, value: dict[Any, Any], kids: dict[Any, Marks], node: Any, depth: int) -> list[Any]:
        """A merge key (``<<: *base``) as go-yaml v2 applies it: the merged mapping's keys are set in
        place, over keys set before it (keys after it override them); of a list of mappings the
        first wins. Returns the keys it set."""
        if node.__class__ is _MappingNode:
            sources = [node]
        elif node.__class__ is _SequenceNode and all(item.__class__ is _MappingNode for item in node.value):
            sources = node.value[::-1]
        else:
            raise _TooBig(
                "a merge key (<<) needs a mapping or a list of mappings as its value", *self._pos(node)
            )
        keys: list[Any] = []
        for source in sources:
            source_value, source_kids = self.convert(source, depth)
            assert isinstance(source_kids, dict)
            for k, v in source_value.items():
                value[k] = v
                kids[k] = source_kids[k]
                keys.append(k)
        return keys


def _object_marks(marks: Marks) -> Marks:
    """An object is located at its first key (a JSON object's ``{`` may stand on a line of its own)."""
    children = marks.children
    if isinstance(children, dict) and children:
        first = next(iter(children.values()))
        return Marks(first.line, first.column, children)
    return marks


def _first_content_line(chunk: str, line_offset: int) -> int:
    for number, raw in enumerate(chunk.split("\n")):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped == "---" or stripped == "...":
            continue
        if stripped.startswith("--- "):
            return line_offset + number + 1
        return line_offset + number + 1
    return line_offset + 1


def _last_content_line(chunk: str, line_offset: int) -> int:
    lines = chunk.split("\n")
    for number in range(len(lines) - 1, -1, -1):
        if lines[number].strip():
            return line_offset + number + 1
    return line_offset + 1


def _problem_position(exc: yaml.YAMLError, line_offset: int) -> tuple[int | None, int | None]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return None, None
    return mark.line + 1 + line_offset, mark.column + 1


def _error_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        text = f"{context}, {problem}" if context else str(problem)
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"invalid YAML: {text}"


def _chunks(text: str) -> Iterator[tuple[str, int]]:
    """(chunk text, 0-based line offset) for each ``---``-separated part of ``text`` (the chunks follow
    each other: each starts where the one before ends)."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 0
    previous = 0
    for i, start in enumerate(starts):
        line += text.count("\n", previous, start)
        previous = start
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield text[start:end], line


def _helm_source(chunk: str) -> str | None:
    # only comments before the document content count (helm puts "# Source:" right after "---")
    content = _CONTENT_START.search(chunk)
    head_end = content.start() if content else len(chunk)
    match = _SOURCE_COMMENT.search(chunk, 0, head_end)
    return match.group(1) if match else None


def _origin(data: Any) -> Origin | None:
    if not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    raw = annotations.get(ORIGIN_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        parsed = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("path"), str):
        return Origin(tool="kustomize", path=parsed["path"])
    return None


def _parse_chunk(chunk: str, line_offset: int, path: str, index: int) -> Document | None:
    helm_source = _helm_source(chunk)
    first_line = _first_content_line(chunk, line_offset)
    too_deep = _too_deep(chunk, line_offset)
    if too_deep is not None:
        return Document(
            path=path,
            index=index,
            line=first_line,
            error=f"document is nested more than {MAX_DEPTH} levels deep",
            error_line=too_deep[0],
            error_column=too_deep[1],
            helm_source=helm_source,
        )
    loader = _KubernetesLoader(chunk)
    collecting = gc.isenabled()
    if collecting:  # the node tree has no cycles; collecting while it grows makes big documents quadratic
        gc.disable()
    try:
        node = loader.get_single_node()
        if node is None:
            return None  # empty or comment-only document
        converter = _Converter(loader, chunk, line_offset)
        data, marks = converter.root(node)
    except yaml.YAMLError as exc:
        line, column = _problem_position(exc, line_offset)
        last = _last_content_line(chunk, line_offset)
        if line is not None and line > last:  # errors found at the end point at the last content line
            line, column = last, None
        if line is not None and column is not None and not chunk.isascii():
            column = utf16_column(chunk.split("\n")[line - line_offset - 1], column)
        return Document(
            path=path,
            index=index,
            line=first_line,
            error=_error_message(exc),
            error_line=line or first_line,
            error_column=column,
            helm_source=helm_source,
        )
    except _TooBig as exc:
        return Document(
            path=path,
            index=index,
            line=first_line,
            error=str(exc),
            error_line=exc.line,
            error_column=exc.column,
            helm_source=helm_source,
        )
    except RecursionError:
        return Document(
            path=path,
            index=index,
            line=first_line,
            error="document is nested too deeply",
            error_line=first_line,
            error_column=1,
            helm_source=helm_source,
        )
    finally:
        loader.dispose()
        if collecting:
            gc.enable()
    if data is None:
        return None  # "---" followed by nothing (helm emits these)
    if not chunk.isascii():
        _count_utf16(chunk, line_offset, marks, converter.warnings)
    doc = Document(
        path=path,
        index=index,
        line=marks.line,
        data=data,
        marks=marks,
        helm_source=helm_source,
        warnings=converter.warnings,
    )
    doc.origin = _origin(data)
    return doc


def parse_chunk(text: str) -> Document | None:
    """One document's text read as a scan reads it (None when it is empty): what fixes check their
    edits against."""
    return _parse_chunk(text, 0, "-", 0)


def _count_utf16(chunk: str, line_offset: int, marks: Marks, warnings: list[tuple[str, int, int]]) -> None:
    """Recount the columns of lines holding characters beyond U+FFFF (an emoji) in UTF-16 code units.

    libyaml counts characters; SARIF (``columnKind: utf16CodeUnits``), GitHub and VS Code count UTF-16
    code units, where such a character is two. Other lines, the vast majority, are left alone.
    """
    wide = {
        line_offset + number + 1: text
        for number, text in enumerate(chunk.split("\n"))
        if not text.isascii() and any(ord(char) > 0xFFFF for char in text)
    }
    if not wide:
        return
    seen: set[int] = set()
    stack = [marks]
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases share marks
            continue
        seen.add(id(node))
        text = wide.get(node.line)
        if text is not None:
            node.column = utf16_column(text, node.column)
        children = node.children
        if isinstance(children, dict):
            stack.extend(children.values())
        elif isinstance(children, list):
            stack.extend(children)
    for i, (message, line, column) in enumerate(warnings):
        if line in wide:
            warnings[i] = (message, line, utf16_column(wide[line], column))


def _too_deep(chunk: str, line_offset: int) -> tuple[int, int | None] | None:
    """(line, column) where ``chunk`` nests deeper than MAX_DEPTH, or None; never composes a node."""
    if chunk.count("[") + chunk.count("{") <= _SCREEN_BRACKETS and not _LONG_PREFIX.search(chunk):
        return None  # depth <= _SCREEN_BRACKETS + 2 * _SCREEN_PREFIX + 2: safe to compose
    loader = _Loader(chunk)
    depth = 0
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return None
            if isinstance(event, _COLLECTION_START):
                depth += 1
                if depth > MAX_DEPTH:
                    mark: Any = event.start_mark
                    return mark.line + 1 + line_offset, mark.column + 1
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
    except yaml.YAMLError:
        return None  # composing reports the syntax error (before reaching a dangerous depth)
    finally:
        loader.dispose()


def _expand_lists(doc: Document) -> Iterator[Document]:
    """A ``kind: List`` document becomes one document per item (items keep their own marks)."""
    data = doc.data
    kind = data.get("kind") if isinstance(data, dict) else None
    if not (isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)):
        yield doc
        return
    items = data["items"]
    item_kind = kind[: -len("List")] if kind != "List" else None  # typed lists (PodList) omit the items' kind
    api_version = data.get("apiVersion")
    item_marks = (
        doc.marks.children.get("items") if doc.marks and isinstance(doc.marks.children, dict) else None
    )
    children = item_marks.children if item_marks is not None and isinstance(item_marks.children, list) else []
    for i, item in enumerate(items):
        marks = children[i] if i < len(children) else None
        if item_kind and isinstance(item, dict):
            item.setdefault("kind", item_kind)
            if isinstance(api_version, str):
                item.setdefault("apiVersion", api_version)
        if marks is not None:
            marks = _object_marks(marks)
        line = marks.line if marks else doc.line
        yield Document(
            path=doc.path,
            index=doc.index,
            line=line,
            data=item,
            marks=marks,
            helm_source=doc.helm_source,
            origin=_origin(item),
            list_item=i,
            source=doc.source,
            source_offset=doc.source_offset,
            source_line=doc.source_line,
        )


def parse_text(text: str, path: str, json_hint: bool = False) -> Iterator[Document]:
    """Yield the documents of ``text`` (empty ones skipped), broken ones with ``error`` set."""
    index = 0
    char_offset = 0
    for chunk, line_offset in _chunks(text):
        doc = _parse_chunk(chunk, line_offset, path, index)
        chunk_start, char_offset = char_offset, char_offset + len(chunk)
        if doc is None:
            continue
        if doc.marks is not None:  # kept for fixes: the text of a document that parsed
            doc.source, doc.source_offset, doc.source_line = chunk, chunk_start, line_offset
        if json_hint and chunk.lstrip().startswith(("{", "[")):
            doc = _json_checked(chunk, line_offset, doc)
        elif (
            doc.error is not None and doc.error.startswith(_SYNTAX) and chunk.lstrip().startswith(("{", "["))
        ):
            doc = _json_checked(chunk, line_offset, doc)  # JSON that YAML cannot read (tabs)
        index += 1
        yield from _expand_lists(doc)


_SYNTAX = "invalid YAML"  # only syntax errors get a second chance as JSON (never the size bounds)


def _json_checked(chunk: str, line_offset: int, parsed: Document) -> Document:
    """JSON input is held to JSON's rules (YAML would accept trailing commas); JSON that YAML cannot
    read (tabs) is parsed as JSON, without field marks."""
    if parsed.error is not None and not parsed.error.startswith(_SYNTAX):
        return parsed  # a size bound (nesting, aliases) stays an error whatever JSON thinks
    try:
        data = json.loads(chunk)
    except json.JSONDecodeError as exc:
        parsed.error = f"invalid JSON: {exc.msg}"
        parsed.error_line = exc.lineno + line_offset
        parsed.error_column = exc.colno
        parsed.data = parsed.marks = None
        return parsed
    except RecursionError:
        parsed.error = "document is nested too deeply"
        parsed.data = parsed.marks = None
        return parsed
    if parsed.error is None:
        return parsed
    failed = parsed
    doc = Document(
        path=failed.path, index=failed.index, line=failed.line, data=data, helm_source=failed.helm_source
    )
    doc.origin = _origin(data)
    return doc
