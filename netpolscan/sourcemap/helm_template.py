"""Where a field of a rendered Helm object is written in its chart template.

Map a finding's location in rendered output back to the file the user edits.

Helm: a rendered document carries ``# Source: <chart>/templates/<file>`` (or ``<chart>/charts/<sub>/...``,
``<chart>/crds/...``). The chart directory is found among explicit chart roots, else by searching the
scanned tree for the ``Chart.yaml`` whose ``name`` matches. Templates are not YAML, so the field is found
textually: the pointer's keys and list items are walked in document order through the template's lines,
by indentation, skipping template actions; when the walk reaches an ``include``/``template`` of a named
template, it goes on inside that ``define``. A rendered list item is matched to the template's list item
(or ``toYaml``/``include`` splice) that made it by content, in order, so items of a false ``{{ if }}``,
items repeated by a ``{{ range }}`` and items spliced from values do not shift the others. A field the
template text does not hold maps to the line of the splice (``{{- toYaml .Values.x | nindent 4 }}``) that
produced it. A key or list item written in several arms of one block (``if``/``else if``/``else``,
``with``/``else``, ``range``/``else``) is taken from the arm that rendered: the one whose content fits the
rendered object best, arms of one block never mixed. Of several ``---``-separated objects, the one whose kind, name pattern (``printf`` formats
included) and content fit the rendered object is used. When nothing matches, the object's first line.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
MAX_INCLUDE_DEPTH = 4

_INCLUDE = re.compile(r"\b(?:include|template)\s+\"([^\"]+)\"")
_DEFINE = re.compile(r"\{\{-?\s*define\s+\"([^\"]+)\"")
_OPENER = re.compile(r"\{\{-?\s*(?:if|range|with|define|block)\b")
_END = re.compile(r"\{\{-?\s*end\b")
_KEY = re.compile(
    r"(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^']|'')*)'|([^\s\"'{#\-:][^:#]*?|-[^\s:#][^:#]*?))[ \t]*:(?:[ \t]|$)"
)
_DOC_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")
_ACTION = re.compile(r"\{\{.*?\}\}")


@dataclass(frozen=True)
class Entry:
    """One structural token of a template line.

    ``key`` (a mapping key; ``templated`` when the key text holds actions), ``dash`` (a ``- `` list item;
    ``value`` is its scalar text, if any), ``include`` (an ``include``/``template`` of a named template), or
    ``splice`` (an output action on a line of its own, such as ``{{- toYaml . | nindent 4 }}``, whose
    rendered text becomes YAML; ``col`` is the column it renders at).
    """

    line: int  # 1-based line in the file
    col: int  # 0-based column
    kind: str  # "key" | "dash" | "include" | "splice"
    name: str = ""  # the key, the included template's name, or the splice's action text
    value: str = ""  # the text after ``key:`` or ``- ``
    repeated: bool = False  # inside a ``range``: may render any number of times
    templated: bool = False  # a key whose text holds template actions
    arms: tuple[tuple[int, int], ...] = ()  # (block, arm) of each enclosing if/with/range, outermost first


@dataclass
class Template:
    path: Path
    lines: list[str]
    chunks: list[list[Entry]]  # one entry list per ``---``-separated part


@dataclass
class Walk:
    depth: int  # how many pointer parts matched
    entry: Entry | None  # the deepest entry matched
    path: Path  # the file that entry is in
    scope: list[Entry] = field(default_factory=list)  # where the walk stopped


# ---------------------------------------------------------------------------------------------- scanning

_CONTROL_WORDS = frozenset({"if", "else", "end", "range", "with", "define", "block", "break", "continue"})
_ACTION_BODY = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_INDENT_ARG = re.compile(r"\bn?indent\s+(\d+)")
_ASSIGNMENT = re.compile(r"^\$[\w.]*\s*:?=")
_PRINTF = re.compile(r"\bprintf\s+\"((?:[^\"\\]|\\.)*)\"")
_VERB = re.compile(r"%[-+# 0-9.]*[a-zA-Z%]")


def _action_words(line: str) -> list[str]:
    """The first word of every action on a line (``""`` for comments and assignments)."""
    words = []
    for body in _ACTION_BODY.findall(line):
        if body.startswith("/*") or _ASSIGNMENT.match(body):
            words.append("")
            continue
        words.append(body.split(None, 1)[0] if body.split() else "")
    return words


def _is_output(body: str) -> bool:
    if not body or body.startswith("/*") or _ASSIGNMENT.match(body):
        return False
    return body.split(None, 1)[0] not in _CONTROL_WORDS


# an open block: its opening word, its number in the file part, its arm (0, then +1 at each ``else``)
_Frame = tuple[str, int, int]


def _update_stack(line: str, stack: list[_Frame], blocks: Iterator[int]) -> None:
    for word in _action_words(line):
        if word in ("if", "range", "with", "define", "block"):
            stack.append((word, next(blocks), 0))
        elif word == "else" and stack:  # `else`, `else if`, `else with`: the block's next arm
            opener, block, arm = stack[-1]
            stack[-1] = (opener, block, arm + 1)
        elif word == "end" and stack:
            stack.pop()


def _arms(stack: list[_Frame]) -> tuple[tuple[int, int], ...]:
    """Which arm of which ``if``/``with``/``range`` block a line is in (arms of one block exclude each other)."""
    return tuple((block, arm) for opener, block, arm in stack if opener in ("if", "with", "range"))


def _splice_col(action: str, indent: int) -> int:
    match = _INDENT_ARG.search(action)
    return int(match.group(1)) if match else indent


def scan_lines(lines: Sequence[str], first_line: int = 1) -> list[Entry]:
    """The structural tokens of template lines (comments and block scalar bodies skipped)."""
    entries: list[Entry] = []
    open_action = False
    block_indent: int | None = None
    stack: list[_Frame] = []
    blocks = itertools.count()
    for offset, raw in enumerate(lines):
        number = first_line + offset
        line = raw.rstrip()
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if open_action:  # inside an action spanning lines ({{/* ... */}} comments mostly)
            if "}}" in line:
                open_action = False
            continue
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if not stripped or stripped.startswith("#"):
            continue
        if line.rfind("{{") > line.rfind("}}"):
            open_action = True
        repeated = any(opener == "range" and arm == 0 for opener, _, arm in stack)  # not range's `else`
        arms = _arms(stack)
        if stripped.startswith("{{"):
            outside = _ACTION.sub("", stripped).strip()
            if outside.startswith("- ") or outside == "-" or not outside or ":" not in outside:
                entries.extend(
                    Entry(number, indent, "include", name, repeated=repeated, arms=arms)
                    for name in _INCLUDE.findall(line)
                )
                outputs = [b for b in _ACTION_BODY.findall(stripped) if _is_output(b)]
                if outputs and not outside:
                    column = _splice_col(outputs[0], indent)
                    entries.append(Entry(number, column, "splice", outputs[0], repeated=True, arms=arms))
                _update_stack(line, stack, blocks)
                continue
            # a key whose name is made by actions: {{ $key }}: value, {{ include "x" . }}-client: "true"
            templated = _templated_key(stripped)
            if templated is not None:
                key, value = templated
                entries.append(Entry(number, indent, "key", key, value, repeated, True, arms))
                if value[:1] in ("|", ">"):
                    block_indent = indent
            _update_stack(line, stack, blocks)
            continue
        position = indent
        while position < len(line):
            rest = line[position:]
            if rest == "-" or rest.startswith(("- ", "-\t")):
                after = rest[1:].strip()
                value = "" if _KEY.match(after) else after
                entries.append(Entry(number, position, "dash", value=value, repeated=repeated, arms=arms))
                position += 1
                while position < len(line) and line[position] in " \t":
                    position += 1
                continue
            match = _KEY.match(rest)
            if match is None:
                break
            name = next(group for group in match.groups() if group is not None)
            value = rest[match.end() :].strip()
            entries.append(Entry(number, position, "key", name, value, repeated, arms=arms))
            entries.extend(
                Entry(number, position + 1, "include", n, repeated=repeated, arms=arms)
                for n in _INCLUDE.findall(value)
            )
            if value.startswith("{{") and _ACTION.sub("", value).strip() == "":
                outputs = [b for b in _ACTION_BODY.findall(value) if _is_output(b)]
                if outputs:  # key: {{- include "x.labels" . | nindent 4 }}
                    col = _splice_col(outputs[0], position + 1)
                    entries.append(
                        Entry(number, max(col, position + 1), "splice", outputs[0], repeated=True, arms=arms)
                    )
            if value[:1] in ("|", ">"):
                block_indent = position
            break
        _update_stack(line, stack, blocks)
    return entries


def _templated_key(stripped: str) -> tuple[str, str] | None:
    """``(key text, value)`` of a line whose key is made by actions, else None."""
    depth = 0
    index = 0
    while index < len(stripped):
        if stripped.startswith("{{", index):
            depth += 1
            index += 2
            continue
        if stripped.startswith("}}", index):
            depth -= 1
            index += 2
            continue
        char = stripped[index]
        if depth == 0 and char == ":" and (index + 1 == len(stripped) or stripped[index + 1] in " \t"):
            key = stripped[:index].strip()
            if key.startswith(('"', "'")) and key.endswith(key[0]) and len(key) > 1:
                key = key[1:-1]
            return key, stripped[index + 1 :].strip()
        if depth == 0 and char == "#":
            return None
        index += 1
    return None


def split_chunks(lines: Sequence[str]) -> list[list[Entry]]:
    chunks: list[list[Entry]] = []
    start = 0
    for number, line in enumerate([*lines, "---"]):
        if _DOC_SEPARATOR.match(line):
            chunks.append(scan_lines(lines[start:number], start + 1))
            start = number + 1
    return chunks


# ---------------------------------------------------------------------------------------------- walking


_MISSING = object()


def _structural(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if e.kind in ("key", "dash")]


def _children(scope: list[Entry], index: int) -> list[Entry]:
    """The entries nested under ``scope[index]`` (a key's value or a list item's content)."""
    head = scope[index]
    out: list[Entry] = []
    if head.kind not in ("key", "dash"):
        return out
    list_at_key_column = False
    for entry in scope[index + 1 :]:
        if entry.kind in ("key", "dash"):
            if entry.col < head.col:
                break
            if entry.col == head.col:
                if head.kind == "dash" or entry.kind == "key":
                    break
                list_at_key_column = True  # key:\n- item (a list at the key's own column)
        elif entry.kind == "splice" and entry.line != head.line:
            if entry.col < head.col:
                break
            if entry.col == head.col and not (
                head.kind == "key" and (list_at_key_column or (not head.value and not out))
            ):
                break
        out.append(entry)
    return out


def _top(scope: list[Entry]) -> list[int]:
    """Indices of the entries of ``scope`` at its outermost level (not nested in another entry)."""
    structural = _structural(scope)
    level = min((e.col for e in structural), default=0)
    indices: list[int] = []
    index = 0
    while index < len(scope):
        entry = scope[index]
        if entry.kind in ("key", "dash") and entry.col > level:
            index += 1  # deeper than the level without a parent here: skip it
            continue
        indices.append(index)
        index += 1 + (len(_children(scope, index)) if entry.kind in ("key", "dash") else 0)
    return indices


def _key_matches(entry: Entry, part: str) -> bool:
    if entry.name == part:
        return True
    return entry.templated and _name_pattern(entry.name).fullmatch(part) is not None


def _similarity(data: Any, scope: list[Entry], value: str) -> float:
    """How well rendered ``data`` fits the template part ``scope`` (with inline ``value``), in [0, 1]."""
    top = [scope[i] for i in _top(scope)]
    keys = [e for e in top if e.kind == "key"]
    dashes = [e for e in top if e.kind == "dash"]
    opaque = any(e.kind in ("splice", "include") for e in top) or "{{" in value
    if not keys and not dashes:
        if opaque:
            return 0.5
        text = value.strip()
        if text in ("{}", "[]", ""):
            empty = data in ({}, []) or data is None
            return 1.0 if empty else 0.0
        if isinstance(data, (dict, list)):
            return 0.1 if text[:1] in ("{", "[") else 0.0
        plain = text.strip("\"'")
        return 1.0 if str(data) == plain or str(data).lower() == plain.lower() else 0.0
    if isinstance(data, dict):
        if not keys:
            return 0.4 if opaque else 0.0
        if not data:
            return 0.2
        total = 0.0
        for name, child in data.items():
            matched = [i for i, e in enumerate(scope) if e in keys and _key_matches(e, str(name))]
            if not matched:
                total += 0.3 if opaque else 0.0
                continue
            inner = max(_similarity(child, _children(scope, i), scope[i].value) for i in matched)
            total += 0.2 + 0.8 * inner
        unmatched = sum(1 for e in keys if not e.templated and e.name not in data)
        return total / (len(data) + 0.5 * unmatched)
    if isinstance(data, list):
        if not dashes:
            return 0.4 if opaque else 0.0
        if not data:
            return 0.2
        total = 0.0
        for item in data:
            best = 0.4 if opaque else 0.0
            for i, entry in enumerate(scope):
                if entry in dashes:
                    best = max(best, _similarity(item, _children(scope, i), entry.value))
            total += best
        return total / len(data)
    return 0.0


def _align(items: list[Any], candidates: list[tuple[Entry, list[Entry]]], wanted: int) -> int:
    """The candidate that rendered ``items[wanted]``: the best in-order assignment of items to candidates.

    Candidates are the template's list items and splices, in order; a ``range`` item or a splice may
    render several items, a plain item one (conditional ones none).
    """
    last = _assignments(items[: wanted + 1], candidates)
    return max(range(len(candidates)), key=lambda j: (last[j], -j))


def _assignments(items: list[Any], candidates: list[tuple[Entry, list[Entry]]]) -> list[float]:
    """For each candidate, the best total score of an in-order assignment of ``items`` ending on it."""
    count = len(candidates)
    repeatable = [entry.repeated or entry.kind == "splice" for entry, _ in candidates]
    previous: list[float] = []
    for i, item in enumerate(items):
        row = [
            0.4 if entry.kind == "splice" else _similarity(item, body, entry.value)
            for entry, body in candidates
        ]
        current = [0.0] * count
        earlier = float("-inf")  # the best total of the previous items ending before candidate j
        for j in range(count):
            if i == 0:
                current[j] = row[j] - 0.001 * j
                continue
            again = previous[j] - (0.0 if repeatable[j] else 1.0)  # one item made twice: unlikely
            current[j] = row[j] + max(again, earlier) - 0.001 * j
            earlier = max(earlier, previous[j])
        previous = current
    return previous


MAX_ARM_CHOICES = 64


def _rendered_arms(scope: list[Entry], indices: list[int], items: list[Any]) -> list[int]:
    """``indices`` without the entries of ``if``/``else`` arms that did not render ``items``.

    Arms of one block exclude each other: of each block whose arms hold several of the candidates, the
    arm (combined with the other blocks' arms) that best renders all the items is kept.
    """
    arms: dict[int, set[int]] = {}
    for index in indices:
        for block, arm in scope[index].arms:
            arms.setdefault(block, set()).add(arm)
    split = {block: sorted(found) for block, found in arms.items() if len(found) > 1}
    choices = list(itertools.product(*split.values()))
    if not split or len(choices) > MAX_ARM_CHOICES:
        return indices
    best, best_score = indices, float("-inf")
    for choice in choices:
        chosen = dict(zip(split, choice, strict=True))
        kept = [i for i in indices if all(chosen.get(b, a) == a for b, a in scope[i].arms)]
        if not kept:
            continue
        score = max(_assignments(items, [(scope[i], _children(scope, i)) for i in kept]))
        if score > best_score:
            best, best_score = kept, score
    return best


def _step(scope: list[Entry], part: str | int, node: Any = _MISSING) -> tuple[Entry, list[Entry]] | None:
    top = _top(scope)
    structural = [scope[i] for i in top if scope[i].kind in ("key", "dash")]
    level = min((e.col for e in structural), default=0)
    if isinstance(part, int):
        dashes = [i for i in top if scope[i].kind == "dash" and scope[i].col == level]
        splices = [i for i in top if scope[i].kind == "splice"]
        if isinstance(node, list) and 0 <= part < len(node) and (dashes or splices):
            candidates = _rendered_arms(scope, sorted(dashes + splices), node)
            kept = [i for i in candidates if scope[i].kind == "dash"]
            plain = len(kept) == len(candidates) and not any(scope[i].repeated for i in kept)
            if plain and len(kept) == len(node):  # then every item rendered once, in order
                return scope[kept[part]], _children(scope, kept[part])
            chosen = candidates[_align(node, [(scope[i], _children(scope, i)) for i in candidates], part)]
            return scope[chosen], _children(scope, chosen)
        if not dashes:
            return None
        index = dashes[min(part, len(dashes) - 1)]  # a `range` renders more items than the template shows
    else:
        keys = [i for i in top if scope[i].kind == "key" and scope[i].col == level]
        found = [i for i in keys if scope[i].name == part] or [
            i for i in keys if _key_matches(scope[i], part)
        ]
        if not found:
            return None
        index = found[0]
        if len(found) > 1 and isinstance(node, dict) and part in node:  # in several arms of an `if`
            value = node[part]
            index = max(found, key=lambda i: (_similarity(value, _children(scope, i), scope[i].value), -i))
    return scope[index], _children(scope, index)


def _child_node(node: Any, part: str | int) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def node_at(data: Any, pointer: Sequence[str | int]) -> Any:
    for part in pointer:
        data = _child_node(data, part)
    return data


def walk_pointer(scope: list[Entry], pointer: Sequence[str | int], path: Path, node: Any = _MISSING) -> Walk:
    result = Walk(0, None, path, scope)
    for part in pointer:
        step = _step(result.scope, part, node)
        if step is None:
            break
        result = Walk(result.depth + 1, step[0], path, step[1])
        node = _child_node(node, part)
    return result


def splice_for(walk: Walk, pointer: Sequence[str | int]) -> Walk:
    """A walk that stopped short ends on the splice its scope holds (the field comes from that action)."""
    if walk.depth >= len(pointer):
        return walk
    splices = [walk.scope[i] for i in _top(walk.scope) if walk.scope[i].kind == "splice"]
    if not splices:
        return walk
    part = pointer[walk.depth]
    named = [s for s in splices if isinstance(part, str) and re.search(rf"\b{re.escape(part)}\b", s.name)]
    return Walk(walk.depth + 1, (named or splices)[0], walk.path, [])


def template_position(
    text: str, pointer: Sequence[str | int], kind: str = "", name: str = "", data: Any = _MISSING
) -> tuple[int, int]:
    """Best (line, column) of ``pointer`` in one template's text (its first line when nothing matches).

    ``kind`` and ``name`` (the rendered object's) choose among several ``---``-separated objects; the
    rendered object's ``data``, when given, chooses which template list item rendered an item.
    """
    lines = text.split("\n")
    chunk = choose_chunk(split_chunks(lines), kind, name, data)
    walk = splice_for(walk_pointer(chunk, pointer, Path(), data), pointer)
    if walk.entry is not None:
        return walk.entry.line, walk.entry.col + 1
    return chunk_first_line(chunk, lines), 1


def chunk_first_line(chunk: list[Entry], lines: Sequence[str]) -> int:
    structural = _structural(chunk)
    if structural:
        return structural[0].line
    if chunk:
        return chunk[0].line
    for number, line in enumerate(lines, 1):
        if line.strip():
            return number
    return 1


def _top_value(chunk: list[Entry], *path: str) -> str | None:
    scope = chunk
    entry: Entry | None = None
    for part in path:
        step = _step(scope, part)
        if step is None:
            return None
        entry, scope = step
    return entry.value.strip("\"'") if entry is not None else None


def _name_pattern(value: str) -> re.Pattern[str]:
    pieces: list[str] = []
    position = 0
    for match in _ACTION.finditer(value):
        pieces.append(re.escape(value[position : match.start()]))
        printf = _PRINTF.search(match.group(0))
        if printf is not None:  # {{ printf "%s-dns" (include "x.fullname" .) }}
            fmt = printf.group(1)
            parts = _VERB.split(fmt)
            pieces.append(".*" + ".*".join(re.escape(p) for p in parts) + ".*")
        else:
            pieces.append(".*")
        position = match.end()
    pieces.append(re.escape(value[position:]))
    return re.compile("".join(pieces), re.DOTALL)


def _literal_length(value: str) -> int:
    literal = _ACTION.sub("", value)
    return len(literal) + sum(len(_VERB.sub("", m)) for m in _PRINTF.findall(value))


def choose_chunk(chunks: list[list[Entry]], kind: str, name: str, data: Any = _MISSING) -> list[Entry]:
    candidates = [c for c in chunks if _structural(c)] or [c for c in chunks if c] or [[]]
    if len(candidates) == 1:
        return candidates[0]
    best, best_score = candidates[0], -1.0
    for chunk in candidates:
        score = 0.0
        chunk_kind = _top_value(chunk, "kind")
        if chunk_kind is not None and kind:
            if chunk_kind == kind:
                score += 2
            elif "{{" not in chunk_kind:
                continue
        chunk_name = _top_value(chunk, "metadata", "name")
        if chunk_name is not None and name:
            if chunk_name == name:
                score += 4
            elif _name_pattern(chunk_name).fullmatch(name):
                score += 3 + min(_literal_length(chunk_name), 100) / 101
            else:
                continue
        if data is not _MISSING:
            score += 0.5 * _similarity(data, chunk, "")
        if score > best_score:
            best, best_score = chunk, score
    return best


# ---------------------------------------------------------------------------------------------- mapper


def define_bodies(lines: Sequence[str]) -> dict[str, list[Entry]]:
    """``{name: entries of its body}`` for each ``{{ define "name" }}`` of a template file."""
    bodies: dict[str, list[Entry]] = {}
    index = 0
    while index < len(lines):
        match = _DEFINE.search(lines[index])
        if match is None:
            index += 1
            continue
        depth = len(_OPENER.findall(lines[index])) - len(_END.findall(lines[index]))
        start = index + 1
        end = start
        while end < len(lines) and depth > 0:
            depth += len(_OPENER.findall(lines[end])) - len(_END.findall(lines[end]))
            if depth <= 0:
                break
            end += 1
        bodies.setdefault(match.group(1), scan_lines(lines[start:end], start + 1))
        index = max(end, start)
    return bodies
