"""Map a finding's location in rendered output back to the file the user edits.

Helm: a rendered document carries ``# Source: <chart>/templates/<file>`` (or ``<chart>/charts/<sub>/...``,
``<chart>/crds/...``). The chart directory is found among explicit chart roots, else by searching the
scanned tree for the ``Chart.yaml`` whose ``name`` matches. Templates are not YAML, so the field is found
textually: the pointer's keys and list items are walked in document order through the template's lines,
by indentation, skipping template actions; when the walk reaches an ``include``/``template`` of a named
template, it goes on inside that ``define``. When nothing matches, the template's first line is used.

Kustomize: the ``config.kubernetes.io/origin`` annotation names the source file (relative to the built
kustomization); the object is the document of that file with the same kind and name, and the field is
found through that file's own YAML marks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netpolscan.findings import Location
from netpolscan.sources.document import Document
from netpolscan.sources.files import display_path
from netpolscan.sources.yamlparse import parse_text

__all__ = ["SourceMapper", "template_position"]

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
class _Entry:
    """One structural token of a template line: a mapping key, a ``- `` list item, or an include."""

    line: int  # 1-based line in the file
    col: int  # 0-based column
    kind: str  # "key" | "dash" | "include"
    name: str = ""  # the key, or the included template's name
    value: str = ""  # the text after ``key:`` (keys only)


@dataclass
class _Template:
    path: Path
    lines: list[str]
    chunks: list[list[_Entry]]  # one entry list per ``---``-separated part


@dataclass
class _Chart:
    directory: Path
    defines: dict[str, tuple[Path, list[_Entry]]] | None = None


@dataclass
class _Walk:
    depth: int  # how many pointer parts matched
    entry: _Entry | None  # the deepest entry matched
    path: Path  # the file that entry is in
    scope: list[_Entry] = field(default_factory=list)  # where the walk stopped


# ---------------------------------------------------------------------------------------------- scanning


def _scan(lines: Sequence[str], first_line: int = 1) -> list[_Entry]:
    """The structural tokens of template lines (actions, comments and block scalar bodies skipped)."""
    entries: list[_Entry] = []
    open_action = False
    block_indent: int | None = None
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
        if stripped.startswith("{{"):
            entries.extend(_Entry(number, indent, "include", name) for name in _INCLUDE.findall(line))
            continue
        position = indent
        while position < len(line):
            rest = line[position:]
            if rest == "-" or rest.startswith(("- ", "-\t")):
                entries.append(_Entry(number, position, "dash"))
                position += 1
                while position < len(line) and line[position] in " \t":
                    position += 1
                continue
            match = _KEY.match(rest)
            if match is None:
                break
            name = next(group for group in match.groups() if group is not None)
            value = rest[match.end() :].strip()
            entries.append(_Entry(number, position, "key", name, value))
            entries.extend(_Entry(number, position + 1, "include", n) for n in _INCLUDE.findall(value))
            if value[:1] in ("|", ">"):
                block_indent = position
            break
    return entries


def _chunks(lines: Sequence[str]) -> list[list[_Entry]]:
    chunks: list[list[_Entry]] = []
    start = 0
    for number, line in enumerate([*lines, "---"]):
        if _DOC_SEPARATOR.match(line):
            chunks.append(_scan(lines[start:number], start + 1))
            start = number + 1
    return chunks


# ---------------------------------------------------------------------------------------------- walking


def _structural(entries: Iterable[_Entry]) -> list[_Entry]:
    return [e for e in entries if e.kind != "include"]


def _children(scope: list[_Entry], index: int) -> list[_Entry]:
    """The entries nested under ``scope[index]`` (a key's value or a list item's content)."""
    head = scope[index]
    out: list[_Entry] = []
    for entry in scope[index + 1 :]:
        if entry.kind != "include":
            if entry.col < head.col:
                break
            if entry.col == head.col and (head.kind == "dash" or entry.kind == "key"):
                break
        out.append(entry)
    return out


def _step(scope: list[_Entry], part: str | int) -> tuple[_Entry, list[_Entry]] | None:
    structural = _structural(scope)
    if not structural:
        return None
    level = min(e.col for e in structural)
    if isinstance(part, int):
        items = [i for i, e in enumerate(scope) if e.kind == "dash" and e.col == level]
        if not items:
            return None
        index = items[min(part, len(items) - 1)]  # a `range` renders more items than the template shows
    else:
        found = [i for i, e in enumerate(scope) if e.kind == "key" and e.col == level and e.name == part]
        if not found:
            return None
        index = found[0]
    return scope[index], _children(scope, index)


def _walk(scope: list[_Entry], pointer: Sequence[str | int], path: Path) -> _Walk:
    result = _Walk(0, None, path, scope)
    for part in pointer:
        step = _step(result.scope, part)
        if step is None:
            break
        result = _Walk(result.depth + 1, step[0], path, step[1])
    return result


def template_position(
    text: str, pointer: Sequence[str | int], kind: str = "", name: str = ""
) -> tuple[int, int]:
    """Best (line, column) of ``pointer`` in one template's text (its first line when nothing matches).

    ``kind`` and ``name`` (the rendered object's) choose among several ``---``-separated objects.
    """
    lines = text.split("\n")
    chunk = _choose_chunk(_chunks(lines), kind, name)
    walk = _walk(chunk, pointer, Path())
    if walk.entry is not None:
        return walk.entry.line, walk.entry.col + 1
    return _first_line(chunk, lines), 1


def _first_line(chunk: list[_Entry], lines: Sequence[str]) -> int:
    if chunk:
        return chunk[0].line
    for number, line in enumerate(lines, 1):
        if line.strip():
            return number
    return 1


def _top_value(chunk: list[_Entry], *path: str) -> str | None:
    scope = chunk
    entry: _Entry | None = None
    for part in path:
        step = _step(scope, part)
        if step is None:
            return None
        entry, scope = step
    return entry.value.strip("\"'") if entry is not None else None


def _name_pattern(value: str) -> re.Pattern[str]:
    pieces = [re.escape(piece) for piece in _ACTION.split(value)]
    return re.compile(".*".join(pieces), re.DOTALL)


def _choose_chunk(chunks: list[list[_Entry]], kind: str, name: str) -> list[_Entry]:
    candidates = [c for c in chunks if c] or [[]]
    if len(candidates) == 1:
        return candidates[0]
    best, best_score = candidates[0], -1
    for chunk in candidates:
        score = 0
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
                score += 3
            else:
                continue
        if score > best_score:
            best, best_score = chunk, score
    return best


# ---------------------------------------------------------------------------------------------- mapper


class SourceMapper:
    """Maps locations in rendered Helm/Kustomize output to chart templates and kustomize sources.

    ``chart_roots``: directories given with ``--chart-root`` (a chart directory or a folder holding
    charts); ``search_root``: the scanned repository, searched for ``Chart.yaml`` files when the chart
    roots do not have the chart (default: the working directory); ``kustomize_root``: the kustomization
    directory that was built (origin paths are relative to it). Mapped paths are shown relative to
    ``display_root`` (default: the working directory). File reads and chart look-ups are cached.
    """

    def __init__(
        self,
        chart_roots: Sequence[str | os.PathLike[str]] = (),
        search_root: str | os.PathLike[str] | None = None,
        kustomize_root: str | os.PathLike[str] | None = None,
        display_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.chart_roots = [Path(root) for root in chart_roots]
        self.search_root = Path(search_root) if search_root is not None else Path.cwd()
        self.kustomize_root = Path(kustomize_root) if kustomize_root is not None else None
        self.display_root = Path(display_root) if display_root is not None else Path.cwd()
        self._explicit: dict[str, list[Path]] | None = None
        self._searched: dict[str, list[Path]] | None = None
        self._charts: dict[Path, _Chart] = {}
        self._templates: dict[Path, _Template | None] = {}
        self._yaml: dict[Path, list[Document] | None] = {}

    # -- public

    def map(
        self, document: Document, pointer: Sequence[str | int], rendered: Location
    ) -> tuple[Location, str | None]:
        """The location to report for the field at ``pointer`` of ``document``, and why it was not mapped.

        Returns ``(rendered, None)`` for documents that were not rendered, ``(mapped, None)`` when the
        source was found (``mapped.rendered`` is ``rendered``), and ``(rendered, reason)`` otherwise.
        """
        pointer = _existing(document.data, pointer)  # map the same node the rendered location shows
        if document.helm_source:
            return self._map_helm(document, pointer, rendered)
        if document.origin is not None and document.origin.tool == "kustomize":
            return self._map_kustomize(document, pointer, rendered)
        return rendered, None

    # -- helm

    def _map_helm(
        self, document: Document, pointer: Sequence[str | int], rendered: Location
    ) -> tuple[Location, str | None]:
        source = (document.helm_source or "").strip()
        parts = [p for p in source.split("/") if p]
        if len(parts) < 2:
            return rendered, f"cannot read the Helm source {source!r}"
        chart_name, rest = parts[0], parts[1:]
        candidates = self._chart_dirs(chart_name)
        if not candidates:
            return rendered, f"chart {chart_name!r} not found under {self._roots_text()}; use --chart-root"
        problems: list[str] = []
        for directory in candidates:
            resolved = self._resolve_in_chart(directory, rest, problems)
            if resolved is None:
                continue
            kind, name = _kind_name(document)
            if "crds" in rest[:-1] and "templates" not in rest[:-1]:  # plain YAML, not templates
                line, column = self._yaml_position(resolved, kind, name, pointer)
                return self._located(resolved, line, column, rendered), None
            return self._map_template(directory, resolved, kind, name, pointer, rendered)
        detail = problems[0] if problems else f"{'/'.join(rest)} is not in chart {chart_name!r}"
        return rendered, detail

    def _map_template(
        self,
        chart_dir: Path,
        path: Path,
        kind: str,
        name: str,
        pointer: Sequence[str | int],
        rendered: Location,
    ) -> tuple[Location, str | None]:
        template = self._template(path)
        if template is None:
            return rendered, f"cannot read {self._display(path)}"
        chunk = _choose_chunk(template.chunks, kind, name)
        walk = _walk(chunk, pointer, path)
        if walk.depth < len(pointer):
            deeper = self._through_includes(chart_dir, walk, pointer, 0)
            if deeper is not None:
                walk = deeper
        if walk.entry is not None:
            return self._located(walk.path, walk.entry.line, walk.entry.col + 1, rendered), None
        return self._located(path, _first_line(chunk, template.lines), 1, rendered), None

    def _through_includes(
        self, chart_dir: Path, walk: _Walk, pointer: Sequence[str | int], depth: int
    ) -> _Walk | None:
        """Continue an unfinished walk inside the named templates included where it stopped."""
        if depth >= MAX_INCLUDE_DEPTH:
            return None
        defines = self._defines(chart_dir)
        best: _Walk | None = None
        remaining = pointer[walk.depth :]
        for entry in walk.scope:
            if entry.kind != "include" or entry.name not in defines:
                continue
            path, body = defines[entry.name]
            inner = _walk(body, remaining, path)
            if inner.depth < len(remaining):
                deeper = self._through_includes(chart_dir, inner, remaining, depth + 1)
                if deeper is not None:
                    inner = deeper
            if inner.entry is None or inner.depth == 0:
                continue
            candidate = _Walk(walk.depth + inner.depth, inner.entry, inner.path, inner.scope)
            if best is None or candidate.depth > best.depth:
                best = candidate
        return best

    def _resolve_in_chart(self, directory: Path, rest: list[str], problems: list[str]) -> Path | None:
        direct = directory.joinpath(*rest)
        if direct.is_file():
            return direct
        if len(rest) > 2 and rest[0] == "charts":
            sub_name = rest[1]
            charts = directory / "charts"
            packaged = False
            for child in sorted(charts.iterdir()) if charts.is_dir() else []:
                if child.is_dir() and _chart_name(child) == sub_name:
                    found = self._resolve_in_chart(child, rest[2:], problems)
                    if found is not None:
                        return found
                elif child.name.startswith(sub_name) and child.name.endswith((".tgz", ".tar.gz")):
                    packaged = True
            if packaged:
                problems.append(
                    f"sub-chart {sub_name!r} of {self._display(directory)} is a packaged archive; "
                    "unpack it or use --chart-root"
                )
                return None
        problems.append(f"{'/'.join(rest)} not found in chart directory {self._display(directory)}")
        return None

    def _chart_dirs(self, name: str) -> list[Path]:
        if self._explicit is None:
            self._explicit = {}
            for root in self.chart_roots:
                _index_charts(root, self._explicit)
        if name in self._explicit:
            return self._explicit[name]
        if self._searched is None:
            self._searched = {}
            _index_charts(self.search_root, self._searched)
        return self._searched.get(name, [])

    def _roots_text(self) -> str:
        roots = [*self.chart_roots, self.search_root]
        shown: list[str] = []
        for root in roots:
            text = self._display(root)
            text = "." if text in ("", ".") else text
            if text not in shown:
                shown.append(text)
        return ", ".join(shown)

    def _defines(self, chart_dir: Path) -> dict[str, tuple[Path, list[_Entry]]]:
        chart = self._charts.setdefault(chart_dir, _Chart(chart_dir))
        if chart.defines is None:
            chart.defines = {}
            for path in _template_files(chart_dir):
                template = self._template(path)
                if template is not None:
                    for define, body in _define_bodies(template.lines).items():
                        chart.defines.setdefault(define, (path, body))
        return chart.defines

    def _template(self, path: Path) -> _Template | None:
        if path not in self._templates:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._templates[path] = None
            else:
                lines = text.split("\n")
                self._templates[path] = _Template(path, lines, _chunks(lines))
        return self._templates[path]

    # -- kustomize

    def _map_kustomize(
        self, document: Document, pointer: Sequence[str | int], rendered: Location
    ) -> tuple[Location, str | None]:
        assert document.origin is not None
        origin = document.origin.path
        base = self.kustomize_root if self.kustomize_root is not None else self.search_root
        path = Path(os.path.normpath(base / origin))
        if not path.is_file():
            hint = "" if self.kustomize_root is not None else "; scan with --kustomize DIR"
            return rendered, f"kustomize source {origin!r} not found under {self._display(base) or '.'}{hint}"
        kind, name = _kind_name(document)
        line, column = self._yaml_position(path, kind, name, pointer)
        return self._located(path, line, column, rendered), None

    def _yaml_position(
        self, path: Path, kind: str, name: str, pointer: Sequence[str | int]
    ) -> tuple[int, int]:
        if path not in self._yaml:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._yaml[path] = None
            else:
                self._yaml[path] = [d for d in parse_text(text, path.as_posix()) if d.error is None]
        documents = self._yaml[path]
        if not documents:
            return 1, 1
        return _pick_document(documents, kind, name).position(pointer)

    # -- helpers

    def _located(self, path: Path, line: int, column: int, rendered: Location) -> Location:
        return Location(self._display(path), max(line, 1), max(column, 1), rendered=rendered)

    def _display(self, path: Path) -> str:
        return display_path(path, self.display_root)


def _existing(data: Any, pointer: Sequence[str | int]) -> tuple[str | int, ...]:
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


def _kind_name(document: Document) -> tuple[str, str]:
    data: Any = document.data
    if not isinstance(data, dict):
        return "", ""
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (kind if isinstance(kind, str) else ""), (name if isinstance(name, str) else "")


def _pick_document(documents: list[Document], kind: str, name: str) -> Document:
    """The source document of a rendered object: same kind and name, else the closest one.

    Kustomize may have added a name prefix or suffix, so a name contained in the rendered one counts.
    """
    same_kind = [d for d in documents if _kind_name(d)[0] == kind] or documents
    exact = [d for d in same_kind if _kind_name(d)[1] == name]
    if exact:
        return exact[0]
    contained = [d for d in same_kind if _kind_name(d)[1] and _kind_name(d)[1] in name]
    if contained:
        return max(contained, key=lambda d: len(_kind_name(d)[1]))
    return same_kind[0]


def _chart_name(directory: Path) -> str | None:
    try:
        data = yaml.safe_load((directory / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name is not None else None


def _index_charts(root: Path, index: dict[str, list[Path]]) -> None:
    """Add every chart under ``root`` (``root`` included) to ``index``, shallowest first."""
    found: list[tuple[int, str, Path, str]] = []
    if not root.is_dir():
        return
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "Chart.yaml" in files:
            directory = Path(current)
            name = _chart_name(directory)
            if name:
                depth = len(directory.relative_to(root).parts)
                found.append((depth, directory.as_posix(), directory, name))
    for _, _, directory, name in sorted(found):
        index.setdefault(name, []).append(directory)


def _template_files(chart_dir: Path) -> list[Path]:
    """Files under any ``templates`` folder of the chart and of its unpacked sub-charts."""
    files: list[Path] = []
    for current, dirs, names in os.walk(chart_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "templates" in Path(current).relative_to(chart_dir).parts:
            files.extend(Path(current) / n for n in sorted(names))
    return files


def _define_bodies(lines: Sequence[str]) -> dict[str, list[_Entry]]:
    """``{name: entries of its body}`` for each ``{{ define "name" }}`` of a template file."""
    bodies: dict[str, list[_Entry]] = {}
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
        bodies.setdefault(match.group(1), _scan(lines[start:end], start + 1))
        index = max(end, start)
    return bodies
