"""The command line: click commands that parse options, call the library and choose the exit code.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings; 2 usage or input error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

import click

from netpolscan import __version__
from netpolscan.engine import count_failing
from netpolscan.errors import NetpolscanError
from netpolscan.findings import Formatter, Report, Rule, Severity
from netpolscan.plugins import collect_formatters, plugin_manager
from netpolscan.report import text as text_report

if TYPE_CHECKING:
    from netpolscan.model.inventory import Inventory

FAIL_ON = ("error", "warning", "note", "never")


def _write(output: str | None, content: str) -> None:
    if output is None or output == "-":
        click.echo(content, nl=False)
        return
    try:
        Path(output).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise NetpolscanError(f"{output}: cannot write output: {exc.strerror or exc}") from None


class _Echo:
    """Standard output as a text stream for the formatters, handed to ``click.echo`` in ~64 KiB pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            click.echo("".join(self.parts), nl=False)
            self.parts, self.size = [], 0


def _write_stream(output: str | None, write: Callable[[TextIO], None]) -> None:
    """Let ``write`` stream a report to FILE (or stdout): the report is never one string in memory."""
    if output is None or output == "-":
        echo = _Echo()
        write(cast(TextIO, echo))
        echo.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as stream:
            write(stream)
    except OSError as exc:
        raise NetpolscanError(f"{output}: cannot write output: {exc.strerror or exc}") from None


def _split(values: Sequence[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="netpolscan")
def cli() -> None:
    """Static analysis of Kubernetes NetworkPolicies: find what your policies really allow."""


def parse_outputs(
    formats: Sequence[str], output: str | None, known: Sequence[str]
) -> list[tuple[str, str | None]]:
    """``--format NAME[:FILE]`` values -> (name, file or None = stdout).

    ``--output`` gives the file of the first format named without one.
    """
    outputs: list[tuple[str, str | None]] = []
    for value in formats or ("text",):
        name, sep, target = value.partition(":")
        if name not in known:
            raise NetpolscanError(f"unknown format {name!r} (choose from {', '.join(sorted(known))})")
        if sep and not target:
            raise NetpolscanError(f"--format {value}: missing file name after ':'")
        outputs.append((name, target or None))
    if output is not None:
        bare = [i for i, (_, target) in enumerate(outputs) if target is None]
        if not bare:
            raise NetpolscanError("--output needs a --format without a file name")
        outputs[bare[0]] = (outputs[bare[0]][0], output)
    return outputs


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
@click.option(
    "-n", "--namespace", default=None, help="Namespace of objects that have none [default: default]."
)
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
    namespace: str | None,
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

    if not paths and not kustomize_dir and not helm_chart:
        raise NetpolscanError(
            "nothing to scan: give PATH... (or - for stdin), --kustomize DIR or --helm CHART"
        )
    if not helm_chart and (helm_values or helm_set or release or values_matrix):
        raise NetpolscanError("--values, --set, --release and --values-matrix need --helm CHART")

    config = load_config(config_path)
    blocked = tuple(_split(disable_plugin))
    formatters = collect_formatters(plugin_manager(blocked))
    outputs = parse_outputs(formats, output, list(formatters))
    if group_by and all(name != "text" for name, _ in outputs):
        raise NetpolscanError("--group-by applies to the text format: add --format text")
    options = ScanOptions(
        paths=paths,
        namespace=namespace or config.namespace or "default",
        select=_split(select),
        ignore=_split(ignore),
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
    from netpolscan.analysis.inputs import paused_gc

    with paused_gc(freeze=True):  # the report keeps the inventory: later collections would re-walk it
        report = run_scan(options)
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
        _write_stream(target, lambda out: text_report.write(report, out, colour=colour, group_by=group_by))
        return
    writer = getattr(formatter, "write", None)
    if writer is None:
        _write(target, formatter(report))
        return
    if name != "sarif":
        _write_stream(target, lambda out: writer(report, out))
        return
    from netpolscan.report.stream import GzipCounter

    sizes: list[int] = []

    def write_sarif(out: TextIO) -> None:
        counter = GzipCounter(out)
        writer(report, counter)
        sizes.append(counter.gzip_size())

    _write_stream(target, write_sarif)
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


@cli.command("plugins")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--disable-plugin", multiple=True, help="Do not load this plugin (by entry-point name).")
def plugins_command(fmt: str, disable_plugin: tuple[str, ...]) -> int:
    """List the loaded plugins: name, distribution, version, rules and formats."""
    from netpolscan.plugins import describe_plugins

    rows = describe_plugins(plugin_manager(tuple(_split(disable_plugin))))
    if fmt == "json":
        click.echo(json.dumps([dataclasses.asdict(row) for row in rows], indent=2))
    else:
        for row in rows:
            rules = ", ".join(row.rules) or "-"
            formats = ", ".join(row.formats) or "-"
            click.echo(f"{row.name}  {row.distribution} {row.version}  rules: {rules}  formats: {formats}")
    return 0


@cli.command("rules")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--disable-plugin", multiple=True, help="Do not load this plugin.")
def rules_command(fmt: str, disable_plugin: tuple[str, ...]) -> int:
    """List every available rule: id, name, level and plugin."""
    from netpolscan.scan import available_rules

    rules = available_rules(tuple(_split(disable_plugin)))
    if fmt == "json":
        data = [
            {
                "id": r.id,
                "name": r.name,
                "level": r.level.value,
                "plugin": r.plugin,
                "summary": r.summary,
                "securitySeverity": r.security_severity,
                "tags": list(r.tags),
            }
            for r in rules
        ]
        click.echo(json.dumps(data, indent=2))
    elif fmt == "markdown":
        click.echo(rules_markdown(rules), nl=False)
    else:
        width = max((len(r.name) for r in rules), default=10)
        for r in rules:
            click.echo(f"{r.id}  {r.name:<{width}}  {r.level.value:<7}  {r.plugin:<8}  {r.summary}")
    return 0


def rules_markdown(rules: Sequence[Rule]) -> str:
    lines = ["| id | name | level | security-severity | plugin | summary |", "|---|---|---|---|---|---|"]
    for r in rules:
        severity = r.security_severity or "-"
        lines.append(f"| {r.id} | {r.name} | {r.level.value} | {severity} | {r.plugin} | {r.summary} |")
    return "\n".join(lines) + "\n"


def one_line(message: str) -> str:
    """Error messages are one line: the first line of a multi-line message."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (console script and ``python -m netpolscan``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="netpolscan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("netpolscan: error: aborted", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"netpolscan: error: {one_line(exc.format_message())}", err=True)
        return 2
    except NetpolscanError as exc:
        click.echo(f"netpolscan: error: {one_line(str(exc))}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        click.echo("netpolscan: interrupted", err=True)
        return 2
    except Exception as exc:  # never a traceback for users; NETPOLSCAN_DEBUG=1 shows it
        if os.environ.get("NETPOLSCAN_DEBUG"):
            raise
        click.echo(
            f"netpolscan: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(set NETPOLSCAN_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return int(result or 0) if isinstance(result, int) else 0


def console_main() -> None:
    sys.exit(main())


# --- connectivity, explain, diff (library: netpolscan.analysis, views: netpolscan.report.connectivity) ---

_strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Exit 2 when a document of the input cannot be analysed (default: leave it out, name it on "
    "stderr and analyse the rest).",
)


def _inventory(paths: Sequence[str], namespace: str | None, strict: bool, side: str = "") -> Inventory:
    """The inventory of ``paths``; each document it leaves out is named on stderr (an error with --strict)."""
    from netpolscan.analysis.inputs import left_out, load_inventory
    from netpolscan.scan import available_kinds

    if namespace is None:  # like scan: the .netpolscan.yaml found upward from here says it, else default
        from netpolscan.config import load_config

        namespace = load_config(None).namespace or "default"
    inventory = load_inventory(paths, namespace, side, strict, available_kinds())
    for missing in left_out(inventory, side):
        click.echo(f"netpolscan: warning: {missing}", err=True)
    return inventory


@cli.command("connectivity")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["txt", "csv", "md", "json", "dot", "mermaid", "html", "expectations"]),
    default="txt",
    show_default=True,
    help="Output format (txt/csv/md/json/dot as netpol-analyzer; html: one self-contained page with the "
    "isolation matrix and the graph; expectations: an expectations file stating today's connectivity, "
    "for scan --expectations).",
)
@click.option("-o", "--output", type=str, default=None, help="Write the list to FILE instead of stdout.")
@click.option(
    "--focus-workload",
    default=None,
    help="Only connections of these workloads (comma-separated, each NAME or NS/NAME).",
)
@click.option(
    "--focus-workload-peer",
    default=None,
    help="With --focus-workload: only its connections with these peers (comma-separated NAME or NS/NAME).",
)
@click.option(
    "--focus-direction",
    type=click.Choice(["ingress", "egress"], case_sensitive=False),
    default=None,
    help="With --focus-workload: only connections into (ingress) or out of (egress) the focus workloads.",
)
@click.option(
    "--focus-conn",
    default=None,
    metavar="PROTOCOL-PORT",
    help="Only connections allowing this one, e.g. tcp-8080.",
)
@click.option(
    "--exposure",
    is_flag=True,
    help="Add the potential connections to pods and namespaces the input lacks (netpol-analyzer's exposure).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Explain every pair of peers: the policies and rules allowing or denying each direction.",
)
@click.option(
    "--explain-only",
    type=click.Choice(["allow", "deny"]),
    default=None,
    help="With --explain: only the allowed, or only the denied, connections.",
)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)
@_strict_option
def connectivity_command(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    focus_workload: str | None,
    focus_workload_peer: str | None,
    focus_direction: str | None,
    focus_conn: str | None,
    exposure: bool,
    explain: bool,
    explain_only: str | None,
    namespace: str | None,
    strict: bool,
) -> int:
    """List the allowed connections between workloads and external addresses."""
    from netpolscan.analysis.connlist import connection_rows
    from netpolscan.analysis.focus import focused, parse_focus, workload_nodes
    from netpolscan.report.connectivity import iter_connlist

    if fmt == "expectations":
        from netpolscan.expectations.bootstrap import bootstrap_text

        inventory = _inventory(paths, namespace, strict)
        _write(output, bootstrap_text(inventory, focus_workload, " ".join(paths)))
        return 0
    focus = parse_focus(focus_workload, focus_workload_peer, focus_direction, focus_conn)
    if explain_only and not explain:
        raise NetpolscanError("--explain-only applies only with --explain")
    if explain and fmt != "txt":
        raise NetpolscanError(f"--explain writes txt only, not {fmt}")
    if (exposure or focus.conn is not None) and fmt in ("mermaid", "html"):
        raise NetpolscanError(f"--exposure and --focus-conn write txt, csv, md, json or dot, not {fmt}")
    inventory = _inventory(paths, namespace, strict)
    if explain:
        from netpolscan.report.list_explain import format_list_explanation

        _write(output, format_list_explanation(inventory, focus, explain_only, exposure))
        return 0
    rows = focused(connection_rows(inventory), focus)
    if fmt == "html":
        from netpolscan.report.html import connectivity_page

        _write(output, connectivity_page(inventory, rows, workload_nodes(inventory, focus), paths))
        return 0
    if exposure or focus.conn is not None:
        from netpolscan.analysis.exposure import exposure as exposure_of
        from netpolscan.report.exposure import format_connlist_view

        found = exposure_of(inventory, rows, focus) if exposure else None
        _write(output, format_connlist_view(rows, fmt, found, focus, workload_nodes(inventory, focus)))
        return 0
    chunks = iter_connlist(rows, fmt, workload_nodes(inventory, focus) if fmt == "dot" else ())
    if output is None or output == "-":
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return 0
    try:
        with open(output, "w", encoding="utf-8") as stream:
            for chunk in chunks:
                stream.write(chunk)
    except OSError as exc:
        raise NetpolscanError(f"{output}: cannot write output: {exc.strerror or exc}") from None
    return 0


@cli.command("explain")
@click.argument("paths", nargs=-1, required=True)
@click.option("--src", required=True, help="Source: NS/NAME of a workload, or an IP address.")
@click.option("--dst", required=True, help="Destination: NS/NAME of a workload, or an IP address.")
@click.option("--port", default=None, help="One port to decide, PORT or PORT/PROTOCOL (e.g. 8080/TCP).")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)
@_strict_option
def explain_command(
    paths: tuple[str, ...], src: str, dst: str, port: str | None, namespace: str | None, strict: bool
) -> int:
    """Explain why SRC may or may not connect to DST: the deciding policies and rules, with file and line."""
    from netpolscan.analysis.explain import explain, find_endpoint, parse_port
    from netpolscan.report.connectivity import format_explanation

    inventory = _inventory(paths, namespace, strict)
    wanted = parse_port(port) if port else None
    result = explain(inventory, find_endpoint(inventory, src), find_endpoint(inventory, dst), wanted)
    click.echo(format_explanation(result), nl=False)
    return 0


@cli.command("diff")
@click.argument("base")
@click.argument("head")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["txt", "csv", "md", "json", "dot", "sarif", "html"]),
    default="txt",
    show_default=True,
    help="Output format (txt as netpol-analyzer's diff; html: a page with the changes and their graph).",
)
@click.option("-o", "--output", type=str, default=None, help="Write the diff to FILE instead of stdout.")
@click.option("--fail-on-new", is_flag=True, help="Exit 1 when HEAD allows a connection BASE did not.")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)
@_strict_option
def diff_command(
    base: str, head: str, fmt: str, output: str | None, fail_on_new: bool, namespace: str | None, strict: bool
) -> int:
    """Compare the connections BASE and HEAD allow (each a file, a directory or -)."""
    from netpolscan.analysis.diff import diff_rows
    from netpolscan.builtin.diff_findings import diff_report
    from netpolscan.report import sarif
    from netpolscan.report.connectivity import format_diff

    base_inventory = _inventory([base], namespace, strict, "BASE")
    head_inventory = _inventory([head], namespace, strict, "HEAD")
    rows = diff_rows(base_inventory, head_inventory)
    if fmt == "sarif":
        _write(output, sarif.render(diff_report(head_inventory, rows, __version__, (base, head))))
    elif fmt == "html":
        from netpolscan.report.html import diff_page

        _write(output, diff_page(rows, base, head))
    else:
        _write(output, format_diff(rows, fmt))
    return 1 if fail_on_new and any(row.newly_allowed for row in rows) else 0


@cli.command("probe-plan")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--expectations", "expectations_path", required=True, help="The connectivity expectations file."
)
@click.option("--image", default=None, help="Probe image with `sh` and `nc` [default: busybox:1.36].")
@click.option(
    "--timeout", type=click.IntRange(1, 60), default=2, show_default=True, help="Seconds per probe."
)
@click.option("-o", "--output", type=str, default=None, help="Write the manifests to FILE instead of stdout.")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)
@_strict_option
def probe_plan_command(
    paths: tuple[str, ...],
    expectations_path: str,
    image: str | None,
    timeout: int,
    output: str | None,
    namespace: str | None,
    strict: bool,
) -> int:
    """Write Kubernetes Jobs that test the expectations from inside a cluster (PASS/FAIL per probe)."""
    from netpolscan.expectations import load_expectations
    from netpolscan.expectations.probe import DEFAULT_IMAGE, render_plan

    expectations = load_expectations(expectations_path)
    inventory = _inventory(paths, namespace, strict)
    _write(output, render_plan(inventory, expectations, image or DEFAULT_IMAGE, timeout))
    return 0
