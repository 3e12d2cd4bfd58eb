"""The scan pipeline: inputs -> documents -> inventory -> rules -> config/baseline -> Report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netpolscan import __version__
from netpolscan.analysis.inputs import paused_gc
from netpolscan.config import Config
from netpolscan.context import ScanContext
from netpolscan.engine import run_rules, select_rules
from netpolscan.findings import Report, Rule
from netpolscan.model.inventory import Inventory
from netpolscan.plugins import collect_rules, plugin_manager
from netpolscan.sources import load_documents
from netpolscan.sources.document import Document
from netpolscan.sources.mapping import SourceMapper
from netpolscan.sources.yamlparse import parse_text
from netpolscan.suppression import apply_baseline


@dataclass
class ScanOptions:
    paths: Sequence[str] = ("-",)
    namespace: str = "default"
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    category: str | None = None
    show_suppressed: bool = False
    blocked_plugins: tuple[str, ...] = ()
    config: Config = field(default_factory=Config)
    baseline: set[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # for rules; merged over the config's
    today: dt.date | None = None
    render: RenderOptions | None = None  # a chart / kustomization to render and scan besides ``paths``
    chart_roots: Sequence[str] = ()  # where Helm charts live, for mapping findings to templates


@dataclass
class RenderOptions:
    """What ``--kustomize`` / ``--helm`` ask to render."""

    kustomize: str | None = None
    helm: str | None = None
    values: Sequence[str] = ()
    set_values: Sequence[str] = ()
    release: str | None = None
    namespace: str | None = None
    values_matrix: Sequence[str] = ()


def render_documents(render: RenderOptions) -> list[Document]:
    """Render the requested kustomization and chart (once per matrix values file) into documents."""
    from netpolscan.sources.files import display_path
    from netpolscan.sources.render import render_helm, render_helm_matrix, render_kustomize

    documents: list[Document] = []
    if render.kustomize:
        shown = f"{display_path(Path(render.kustomize))}/(kustomize build)"
        documents.extend(parse_text(render_kustomize(render.kustomize), shown))
    if render.helm:
        chart = render.helm
        shown = f"{display_path(Path(chart))}/(helm template)"
        if render.values_matrix:
            renderings = render_helm_matrix(
                chart,
                render.values_matrix,
                render.values,
                render.set_values,
                render.release,
                render.namespace,
            )
            for label, text in renderings:
                for doc in parse_text(text, shown):
                    doc.variant = display_path(Path(label))
                    documents.append(doc)
        else:
            text = render_helm(chart, render.values, render.set_values, render.release, render.namespace)
            documents.extend(parse_text(text, shown))
    return documents


def source_mapper(options: ScanOptions) -> SourceMapper:
    kustomize_root = options.render.kustomize if options.render else None
    return SourceMapper(chart_roots=list(options.chart_roots), kustomize_root=kustomize_root)


def available_rules(blocked_plugins: tuple[str, ...] = ()) -> list[Rule]:
    return collect_rules(plugin_manager(blocked_plugins))


def chosen_rules(options: ScanOptions) -> list[Rule]:
    """Rules after config and command-line selection (the command line adds to the config's lists)."""
    config = options.config
    rules = config.apply_to_rules(available_rules(options.blocked_plugins))
    select = list(options.select) or config.select
    return select_rules(rules, select, [*config.ignore, *options.ignore])


def scan_documents(
    documents: list[Document], options: ScanOptions, rules: Sequence[Rule] | None = None
) -> Report:
    """Analyse already-loaded documents with the selected rules."""
    if rules is None:
        rules = chosen_rules(options)
    inventory = Inventory.from_documents(documents, options.namespace)
    settings: dict[str, Any] = {
        "podCIDRs": options.config.pod_cidrs,
        "serviceCIDRs": options.config.service_cidrs,
    }
    if options.today is not None:
        settings["today"] = options.today
    settings.update(options.settings)
    ctx = ScanContext(inventory, settings)
    result = run_rules(ctx, rules, options.today, source_mapper(options))
    findings = options.config.suppress(result.findings)
    if options.baseline is not None:
        findings = apply_baseline(findings, options.baseline)
    return Report(
        findings=tuple(findings),
        rules=tuple(rules),
        notifications=tuple(result.notifications),
        tool_version=__version__,
        category=options.category,
        inputs=tuple(options.paths),
        show_suppressed=options.show_suppressed,
    )


def scan(options: ScanOptions) -> Report:
    """Scan ``options.paths`` (``-`` = stdin) and return the report."""
    rules = chosen_rules(options)
    with paused_gc():  # millions of long-lived containers: collections would only re-walk them
        documents = load_documents(list(options.paths)) if options.paths else []
        if options.render is not None:
            documents.extend(render_documents(options.render))
        return scan_documents(documents, options, rules)
