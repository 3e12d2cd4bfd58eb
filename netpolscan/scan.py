"""The scan pipeline: inputs -> documents -> inventory -> rules -> config/baseline -> Report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from netpolscan import __version__
from netpolscan.config import Config
from netpolscan.context import ScanContext
from netpolscan.engine import run_rules, select_rules
from netpolscan.model.inventory import Inventory
from netpolscan.model.tiers import PolicyKind
from netpolscan.plugin_api import Finding, Notification, Report, Rule, Severity
from netpolscan.plugins import (
    collect_config_schemas,
    collect_policy_kinds,
    collect_rules,
    plugin_manager,
    plugin_names,
)
from netpolscan.sourcemap import SourceMapper
from netpolscan.sources import load_documents
from netpolscan.sources.document import Document
from netpolscan.sources.files import Skipped, skipped_note
from netpolscan.sources.gc_pause import paused_gc
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
    expectations: Sequence[str] = ()  # connectivity expectations files (--expectations)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # over the config's `plugins`
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
    """Render the requested kustomization and chart (without ``values_matrix``) into documents."""
    from netpolscan.sources.files import display_path
    from netpolscan.sources.render import render_helm, render_kustomize

    documents: list[Document] = []
    if render.kustomize:
        shown = f"{display_path(Path(render.kustomize))}/(kustomize build)"
        documents.extend(parse_text(render_kustomize(render.kustomize), shown))
    if render.helm and not render.values_matrix:
        text = render_helm(render.helm, render.values, render.set_values, render.release, render.namespace)
        documents.extend(parse_text(text, _helm_shown(render.helm)))
    return documents


def render_matrix(render: RenderOptions) -> list[tuple[str, list[Document]]]:
    """The chart rendered once per ``values_matrix`` file: ``[(values file as shown, documents)]``."""
    from netpolscan.sources.files import display_path
    from netpolscan.sources.render import render_helm_matrix

    if not render.helm or not render.values_matrix:
        return []
    renderings = render_helm_matrix(
        render.helm, render.values_matrix, render.values, render.set_values, render.release, render.namespace
    )
    shown = _helm_shown(render.helm)
    return [(display_path(Path(label)), list(parse_text(text, shown))) for label, text in renderings]


def _helm_shown(chart: str) -> str:
    from netpolscan.sources.files import display_path

    return f"{display_path(Path(chart))}/(helm template)"


def source_mapper(options: ScanOptions) -> SourceMapper:
    kustomize_root = options.render.kustomize if options.render else None
    chart_roots = list(options.chart_roots)
    if options.render is not None and options.render.helm:  # wherever it is, the rendered chart is known
        chart_roots.append(options.render.helm)
    return SourceMapper(chart_roots=chart_roots, kustomize_root=kustomize_root)


_KINDS: dict[tuple[str, ...], list[PolicyKind]] = {}


def available_kinds(blocked_plugins: tuple[str, ...] = ()) -> list[PolicyKind]:
    """The policy kinds beyond NetworkPolicy v1 that the plugins register (the built-in plugin's first);
    loaded once per set of blocked plugins."""
    found = _KINDS.get(blocked_plugins)
    if found is None:
        found = _KINDS[blocked_plugins] = list(collect_policy_kinds(plugin_manager(blocked_plugins)).values())
    return found


def available_rules(blocked_plugins: tuple[str, ...] = ()) -> list[Rule]:
    return collect_rules(plugin_manager(blocked_plugins))


def check_plugin_settings(pm: pluggy.PluginManager, options: ScanOptions) -> None:
    """The ``plugins:`` settings (of the config file, then of the options) against the plugins' schemas."""
    schemas, loaded = collect_config_schemas(pm), plugin_names(pm)
    for config in (options.config, Config(plugin_settings=dict(options.plugin_settings))):
        config.check_plugin_settings(schemas, loaded, options.blocked_plugins)


def chosen_rules(options: ScanOptions) -> list[Rule]:
    """Rules after config and command-line selection (the command line adds to the config's lists)."""
    config = options.config
    pm = plugin_manager(options.blocked_plugins)
    check_plugin_settings(pm, options)
    rules = config.apply_to_rules(collect_rules(pm))
    select = list(options.select) or config.select
    return select_rules(rules, select, [*config.ignore, *options.ignore])


def scan_documents(
    documents: list[Document], options: ScanOptions, rules: Sequence[Rule] | None = None
) -> Report:
    """Analyse already-loaded documents with the selected rules."""
    return scan_inventory(_inventory(documents, options), options, rules)


def scan_inventory(inventory: Inventory, options: ScanOptions, rules: Sequence[Rule] | None = None) -> Report:
    """Analyse an already-built inventory with the selected rules (``options.paths`` is not read)."""
    if rules is None:
        rules = chosen_rules(options)
    findings, notifications = _check(inventory, options, rules)
    return dataclasses.replace(_report(findings, notifications, options, rules), inventory=inventory)


def _inventory(documents: list[Document], options: ScanOptions) -> Inventory:
    return Inventory.from_documents(documents, options.namespace, available_kinds(options.blocked_plugins))


def _analyse(
    documents: list[Document], options: ScanOptions, rules: Sequence[Rule]
) -> tuple[list[Finding], list[Notification]]:
    """The findings (config suppressions applied) and tool notifications of one input."""
    return _check(_inventory(documents, options), options, rules)


def _check(
    inventory: Inventory, options: ScanOptions, rules: Sequence[Rule]
) -> tuple[list[Finding], list[Notification]]:
    """The findings (config suppressions applied) and tool notifications of one inventory."""
    ctx = ScanContext(
        inventory,
        today=options.today or dt.date.today(),
        pod_cidrs=tuple(options.config.pod_cidrs),
        service_cidrs=tuple(options.config.service_cidrs),
        expectations=tuple(options.expectations),
        plugins={**options.config.plugin_settings, **options.plugin_settings},
    )
    result = run_rules(ctx, rules, options.today, source_mapper(options))
    return options.config.suppress(result.findings), result.notifications


def _report(
    findings: list[Finding],
    notifications: Sequence[Notification],
    options: ScanOptions,
    rules: Sequence[Rule],
) -> Report:
    if options.baseline is not None:
        findings = apply_baseline(findings, options.baseline)
    return Report(
        findings=tuple(findings),
        rules=tuple(rules),
        notifications=tuple(notifications),
        tool_version=__version__,
        category=options.category,
        inputs=tuple(options.paths),
        show_suppressed=options.show_suppressed,
    )


def scan(options: ScanOptions) -> Report:
    """Scan ``options.paths`` (``-`` = stdin) and return the report."""
    rules = chosen_rules(options)
    skipped: list[Skipped] = []
    with paused_gc():  # millions of long-lived containers: collections would only re-walk them
        documents = load_documents(list(options.paths), skipped) if options.paths else []
        note = skipped_note(skipped)  # charts and kustomizations met by a walk: say how to render them
        notes = [Notification(note, level=Severity.NOTE)] if note else []
        if options.render is not None:
            documents.extend(render_documents(options.render))
            matrix = render_matrix(options.render)
            if matrix:  # each rendering is a cluster of its own: analysed alone, findings labelled
                results = [
                    (label, _analyse([*documents, *rendered], options, rules)) for label, rendered in matrix
                ]
                findings = merge_renderings([(label, found) for label, (found, _) in results])
                notes += dict.fromkeys(n for _, (_, found_notes) in results for n in found_notes)
                return _report(findings, notes, options, rules)
        report = scan_documents(documents, options, rules)
    return dataclasses.replace(report, notifications=(*notes, *report.notifications)) if notes else report


def merge_renderings(renderings: Sequence[tuple[str, Sequence[Finding]]]) -> list[Finding]:
    """The labelled union of the findings of several renderings (``[(values file, findings)]``).

    A finding that several renderings share (same rule, object, field, message and location) is reported
    once, labelled with each of their values files: `` [values: a.yaml, b.yaml]`` ends its message and
    the SARIF/JSON property ``valuesFiles`` lists them. Its fingerprint is the unlabelled one when every
    rendering has it, else it also depends on the labels (so a baseline tells the renderings apart).
    """
    labels: dict[tuple[str, str, str, str, int, int], list[str]] = {}
    first: dict[tuple[str, str, str, str, int, int], Finding] = {}
    for label, findings in renderings:
        for finding in findings:
            where = finding.location
            key = (
                finding.rule_id,
                finding.fingerprint,
                finding.message,
                where.path,
                where.line,
                where.column,
            )
            first.setdefault(key, finding)
            if label not in labels.setdefault(key, []):
                labels[key].append(label)
    merged: list[Finding] = []
    for key, finding in first.items():
        found_in = labels[key]
        fingerprint = finding.fingerprint
        if len(found_in) < len(renderings):
            raw = "\x1f".join((fingerprint, *found_in))
            fingerprint = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]
        merged.append(
            dataclasses.replace(
                finding,
                message=f"{finding.message} [values: {', '.join(found_in)}]",
                extra={**finding.extra, "valuesFiles": list(found_in)},
                fingerprint=fingerprint,
            )
        )
    return sorted(merged, key=Finding.sort_key)
