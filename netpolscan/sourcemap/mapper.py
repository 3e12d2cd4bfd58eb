"""The source mapper: a finding's location in rendered output -> the file the user edits (a Helm chart's
template, a Kustomize source), with the reason when it cannot be mapped."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netpolscan.sourcemap.charts import Chart, chart_name, index_charts, template_files
from netpolscan.sourcemap.helm_template import (
    MAX_INCLUDE_DEPTH,
    Entry,
    Template,
    Walk,
    choose_chunk,
    chunk_first_line,
    define_bodies,
    node_at,
    splice_for,
    split_chunks,
    walk_pointer,
)
from netpolscan.sourcemap.yaml_sources import existing_prefix, kind_name, kind_name_of, pick_document
from netpolscan.sources.document import Document, Location
from netpolscan.sources.files import display_path
from netpolscan.sources.yamlparse import parse_text


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
        self._charts: dict[Path, Chart] = {}
        self._templates: dict[Path, Template | None] = {}
        self._yaml: dict[Path, list[Document] | None] = {}

    # -- public

    def map(
        self, document: Document, pointer: Sequence[str | int], rendered: Location
    ) -> tuple[Location, str | None]:
        """The location to report for the field at ``pointer`` of ``document``, and why it was not mapped.

        Returns ``(rendered, None)`` for documents that were not rendered, ``(mapped, None)`` when the
        source was found (``mapped.rendered`` is ``rendered``), and ``(rendered, reason)`` otherwise;
        then, when ``rendered`` is no file (``--helm`` output) and the chart is one of ``chart_roots``,
        the location is its ``Chart.yaml`` (at the dependency's entry for a sub-chart's object).
        """
        pointer = existing_prefix(document.data, pointer)  # map the same node the rendered location shows
        if document.helm_source:
            location, reason = self._map_helm(document, pointer, rendered)
            if reason is not None and not os.path.isfile(rendered.path):
                location = self._chart_file(document.helm_source, rendered) or location
            return location, reason
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
            kind, name = kind_name(document)
            if "crds" in rest[:-1] and "templates" not in rest[:-1]:  # plain YAML, not templates
                line, column = self._yaml_position(resolved, kind, name, pointer)
                return self._located(resolved, line, column, rendered), None
            return self._map_template(directory, resolved, document.data, pointer, rendered)
        detail = problems[0] if problems else f"{'/'.join(rest)} is not in chart {chart_name!r}"
        return rendered, detail

    def _chart_file(self, source: str, rendered: Location) -> Location | None:
        """The ``Chart.yaml`` of the explicit chart root (or of its dependency) ``source`` comes from."""
        parts = [p for p in source.strip().split("/") if p]
        self._chart_dirs(parts[0] if parts else "")
        for directory in (self._explicit or {}).get(parts[0], []) if parts else []:
            chart_yaml = directory / "Chart.yaml"
            try:
                lines = chart_yaml.read_text(encoding="utf-8", errors="replace").split("\n")
            except OSError:
                continue
            line = 1
            if len(parts) > 2 and parts[1] == "charts":
                entry = re.compile(rf"^\s*(?:-\s+)?name:\s*[\"']?{re.escape(parts[2])}[\"']?\s*(?:#.*)?$")
                line = next((n for n, text in enumerate(lines, 1) if entry.match(text)), 1)
            return self._located(chart_yaml, line, 1, rendered)
        return None

    def _map_template(
        self,
        chart_dir: Path,
        path: Path,
        data: Any,
        pointer: Sequence[str | int],
        rendered: Location,
    ) -> tuple[Location, str | None]:
        template = self._template(path)
        if template is None:
            return rendered, f"cannot read {self._display(path)}"
        kind, name = kind_name_of(data)
        chunk = choose_chunk(template.chunks, kind, name, data)
        walk = walk_pointer(chunk, pointer, path, data)
        if walk.depth < len(pointer):
            deeper = self._through_includes(chart_dir, walk, pointer, data, 0)
            if deeper is not None:
                walk = deeper
            walk = splice_for(walk, pointer)
        if walk.entry is not None:
            return self._located(walk.path, walk.entry.line, walk.entry.col + 1, rendered), None
        return self._located(path, chunk_first_line(chunk, template.lines), 1, rendered), None

    def _through_includes(
        self, chart_dir: Path, walk: Walk, pointer: Sequence[str | int], data: Any, depth: int
    ) -> Walk | None:
        """Continue an unfinished walk inside the named templates included where it stopped."""
        if depth >= MAX_INCLUDE_DEPTH:
            return None
        defines = self._defines(chart_dir)
        best: Walk | None = None
        remaining = pointer[walk.depth :]
        node = node_at(data, pointer[: walk.depth])
        for entry in walk.scope:
            if entry.kind != "include" or entry.name not in defines:
                continue
            path, body = defines[entry.name]
            inner = walk_pointer(body, remaining, path, node)
            if inner.depth < len(remaining):
                deeper = self._through_includes(chart_dir, inner, remaining, node, depth + 1)
                if deeper is not None:
                    inner = deeper
            if inner.entry is None or inner.depth == 0:
                continue
            candidate = Walk(walk.depth + inner.depth, inner.entry, inner.path, inner.scope)
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
                if child.is_dir() and chart_name(child) == sub_name:
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
                index_charts(root, self._explicit)
        if name in self._explicit:
            return self._explicit[name]
        if self._searched is None:
            self._searched = {}
            index_charts(self.search_root, self._searched)
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

    def _defines(self, chart_dir: Path) -> dict[str, tuple[Path, list[Entry]]]:
        chart = self._charts.setdefault(chart_dir, Chart(chart_dir))
        if chart.defines is None:
            chart.defines = {}
            for path in template_files(chart_dir):
                template = self._template(path)
                if template is not None:
                    for define, body in define_bodies(template.lines).items():
                        chart.defines.setdefault(define, (path, body))
        return chart.defines

    def _template(self, path: Path) -> Template | None:
        if path not in self._templates:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._templates[path] = None
            else:
                lines = text.split("\n")
                self._templates[path] = Template(path, lines, split_chunks(lines))
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
        kind, name = kind_name(document)
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
        return pick_document(documents, kind, name).position(pointer)

    # -- helpers

    def _located(self, path: Path, line: int, column: int, rendered: Location) -> Location:
        return Location(self._display(path), max(line, 1), max(column, 1), rendered=rendered)

    def _display(self, path: Path) -> str:
        return display_path(path, self.display_root)


