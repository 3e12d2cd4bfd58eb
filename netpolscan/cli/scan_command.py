"""`netpolscan scan`: run the rules on the input and write the reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from netpolscan.cli.cluster_input import cluster_options, file_namespace, scan_cluster
from netpolscan.cli.group import (
    FAIL_ON,
    cli,
    parse_outputs,
    split_values,
    write_stream,
    write_text,
)
from netpolscan.engine import count_failing
from netpolscan.errors import NetpolscanError
from netpolscan.plugin_api import Formatter, Report, Severity
from netpolscan.plugins import collect_formatters, plugin_manager
from netpolscan.report import text as text_report

if TYPE_CHECKING:
    pass


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="NAME[:FILE]",
    help="Output format: text (default), json, sarif, github, gitlab, junit, markdown, html, or a plugin's; "
    "repeat as NAME:FILE to write several outputs in one run.",
)
@click.option(
    "-o", "--output", type=str, default=None, help="Write the (first) report to FILE instead of stdout."
)
@click.option(
    "--select",
    multiple=True,
    help="Only these rules (ids, id prefixes or names; comma-separated or repeated).",
)
@click.option("--ignore", multiple=True, help="Skip these rules (ids, id prefixes or names).")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=None,
    help="Lowest level that makes the exit code 1 [default: warning].",
)
@cluster_options
@click.option(
    "--config",
    "config_path",
    default=None,
    help="Configuration file (default: .netpolscan.yaml found upward).",
)
@click.option(
    "--baseline",
    "baseline_path",
    default=None,
    help="Fail only on findings not recorded in this baseline file.",
)
@click.option(
    "--write-baseline",
    "write_baseline_path",
    default=None,
    help="Record today's findings in this baseline file.",
)
@click.option(
    "--expectations",
    "expectations_path",
    default=None,
    help="Connectivity expectations file to check (NPS701/NPS702).",
)
@click.option(
    "--sarif-category", default=None, help="SARIF automationDetails.id (GitHub code-scanning category)."
)
@click.option(
    "--show-suppressed", is_flag=True, help="Also list suppressed and baseline findings in text output."
)
@click.option("--color/--no-color", default=None, help="Colour text output (default: only on a terminal).")
@click.option(
    "--group-by",
    type=click.Choice(sorted(text_report.GROUPS)),
    default=None,
    help="Text output: group the findings by rule, object or file, each group headed by its count.",
)
@click.option("--disable-plugin", multiple=True, help="Do not load this plugin (by entry-point name).")
@click.option(
    "--kustomize", "kustomize_dir", default=None, metavar="DIR", help="Render DIR with kustomize and scan it."
)
@click.option(
    "--helm", "helm_chart", default=None, metavar="CHART", help="Render the chart with helm and scan it."
)
@click.option("--values", "helm_values", multiple=True, metavar="FILE", help="Helm values file (repeatable).")
@click.option("--set", "helm_set", multiple=True, metavar="KEY=VALUE", help="Helm --set value (repeatable).")
@click.option("--release", default=None, help="Helm release name [default: release-name].")
@click.option(
    "--values-matrix",
    multiple=True,
    metavar="FILE",
    help="Render and scan the chart once per values file; findings are labelled with it (repeatable).",
)
@click.option(
    "--chart-root",
    "chart_roots",
    multiple=True,
    metavar="DIR",
    help="Where Helm charts live, to map findings to template lines (repeatable; default: search here).",
)
def scan(
    paths: tuple[str, ...],
    formats: tuple[str, ...],
    output: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str | None,
    namespaces: tuple[str, ...],
    from_cluster: bool,
    context: str | None,
    config_path: str | None,
    baseline_path: str | None,
    write_baseline_path: str | None,
    expectations_path: str | None,
    sarif_category: str | None,
    show_suppressed: bool,
    color: bool | None,
    group_by: str | None,
    disable_plugin: tuple[str, ...],
    kustomize_dir: str | None,
    helm_chart: str | None,
    helm_values: tuple[str, ...],
    helm_set: tuple[str, ...],
    release: str | None,
    values_matrix: tuple[str, ...],
    chart_roots: tuple[str, ...],
) -> int:
    """Scan manifests (files, directories, or - for stdin), a kustomization or a Helm chart."""
    from netpolscan.config import load_config
    from netpolscan.scan import RenderOptions, ScanOptions
    from netpolscan.scan import scan as run_scan
    from netpolscan.suppression import read_baseline, write_baseline

    namespace = file_namespace(namespaces, from_cluster, context)
    if from_cluster and (paths or kustomize_dir or helm_chart):
        raise NetpolscanError("--from-cluster reads the cluster instead of PATH..., --kustomize or --helm")
    if not paths and not kustomize_dir and not helm_chart and not from_cluster:
        raise NetpolscanError(
            "nothing to scan: give PATH... (or - for stdin), --kustomize DIR, --helm CHART or --from-cluster"
        )
    if not helm_chart and (helm_values or helm_set or release or values_matrix):
        raise NetpolscanError("--values, --set, --release and --values-matrix need --helm CHART")

    config = load_config(config_path)
    blocked = tuple(split_values(disable_plugin))
    formatters = collect_formatters(plugin_manager(blocked))
    outputs = parse_outputs(formats, output, list(formatters))
    if group_by and all(name != "text" for name, _ in outputs):
        raise NetpolscanError("--group-by applies to the text format: add --format text")
    options = ScanOptions(
        paths=paths,
        namespace=namespace or config.namespace or "default",
        select=split_values(select),
        ignore=split_values(ignore),
        category=sarif_category,
        show_suppressed=show_suppressed,
        blocked_plugins=blocked,
        config=config,
        baseline=read_baseline(baseline_path) if baseline_path else None,
    )
    if kustomize_dir or helm_chart:
        options.render = RenderOptions(
            kustomize=kustomize_dir,
            helm=helm_chart,
            values=helm_values,
            set_values=helm_set,
            release=release,
            namespace=namespace,
            values_matrix=values_matrix,
        )
    options.chart_roots = chart_roots
    if expectations_path is not None:
        if not Path(expectations_path).is_file():
            raise NetpolscanError(f"{expectations_path}: expectations file not found")
        from netpolscan.expectations import load_expectations

        load_expectations(expectations_path)  # a bad file stops the run here (exit 2), not inside a rule
        options.expectations = (expectations_path,)
    from netpolscan.sources.gc_pause import paused_gc

    with paused_gc(freeze=True):  # the report keeps the inventory: later collections would re-walk it
        report = scan_cluster(options, context, namespaces) if from_cluster else run_scan(options)
    if write_baseline_path:
        write_baseline(write_baseline_path, report.findings)
    for name, target in outputs:
        _write_output(report, name, formatters[name], target, color, group_by)
    for note in report.notifications:
        click.echo(f"netpolscan: {note.level.value}: {note.message}", err=True)
    level = fail_on or config.fail_on or "warning"
    threshold = None if level == "never" else Severity.parse(level)
    return 1 if count_failing(report.findings, threshold) else 0


def _write_output(
    report: Report,
    name: str,
    formatter: Formatter,
    target: str | None,
    color: bool | None,
    group_by: str | None,
) -> None:
    """Write one ``--format``: streamed when the formatter can (the built-in ones), else as its text."""
    if name == "text":
        to_terminal = target is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        colour = color if color is not None else to_terminal
        write_stream(target, lambda out: text_report.write(report, out, colour=colour, group_by=group_by))
        return
    writer = getattr(formatter, "write", None)
    if writer is None:
        write_text(target, formatter(report))
        return
    if name != "sarif":
        write_stream(target, lambda out: writer(report, out))
        return
    from netpolscan.report.stream import GzipCounter

    sizes: list[int] = []

    def write_sarif(out: TextIO) -> None:
        counter = GzipCounter(out)
        writer(report, counter)
        sizes.append(counter.gzip_size())

    write_stream(target, write_sarif)
    for warning in sarif_limit_warnings(report, sizes[0]):
        click.echo(f"netpolscan: warning: {warning}", err=True)


def sarif_limit_warnings(report: Report, gzip_size: int) -> list[str]:
    """GitHub code scanning's upload limits, checked on what was written (one line each).

    The counts GitHub limits (results, rules, tags, locations) are kept within bounds when the log is
    built; what is left to check is the size, measured while the log was written.
    """
    from netpolscan.report.sarif import MAX_RESULTS_PER_RUN, gzip_size_warnings

    warnings = gzip_size_warnings(gzip_size)
    if len(report.findings) > MAX_RESULTS_PER_RUN:
        warnings.append(
            f"{len(report.findings)} findings: the SARIF keeps the first {MAX_RESULTS_PER_RUN}, "
            "the most GitHub code scanning accepts in one run"
        )
    return warnings
