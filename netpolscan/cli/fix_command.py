"""`netpolscan fix`: make the local edits that findings carry as fixes (library: :mod:`netpolscan.fixes`).

Exit codes: without a flag, 1 when fixes are available (listed), else 0; ``--apply`` 0 when every fix was
written or there was nothing to fix, 1 when some must be made by hand (a Helm template or Kustomize
source: printed); ``--diff`` 1 when it prints changes (or changes to make by hand), else 0 (as ``ruff
--diff``); 2 for a usage or input error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from netpolscan.cli.group import cli, split_values
from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    from netpolscan.fixes.run import FixResult
    from netpolscan.plugin_api import Finding


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--apply", "apply_", is_flag=True, help="Write the fixed files.")
@click.option(
    "--diff", "diff", is_flag=True, help="Print the fixes as a unified diff (git apply, patch -p1)."
)
@click.option("--select", multiple=True, help="Only the fixes of these rules (ids, id prefixes or names).")
@click.option("--ignore", multiple=True, help="Not the fixes of these rules (ids, id prefixes or names).")
@click.option(
    "-n", "--namespace", default=None, help="Namespace of objects that have none [default: default]."
)
@click.option(
    "--config",
    "config_path",
    default=None,
    help="Configuration file (default: .netpolscan.yaml found upward).",
)
@click.option("--disable-plugin", multiple=True, help="Do not load this plugin (by entry-point name).")
@click.option(
    "--chart-root",
    "chart_roots",
    multiple=True,
    metavar="DIR",
    help="Where Helm charts live, to name the template line of a rendered document's fix (repeatable).",
)
def fix(
    paths: tuple[str, ...],
    apply_: bool,
    diff: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    namespace: str | None,
    config_path: str | None,
    disable_plugin: tuple[str, ...],
    chart_roots: tuple[str, ...],
) -> int:
    """Fix findings whose remedy is a local edit of the scanned files (list, --diff or --apply)."""
    from netpolscan.config import load_config
    from netpolscan.fixes.run import run_fixes
    from netpolscan.scan import ScanOptions

    if apply_ and diff:
        raise NetpolscanError("--apply and --diff exclude each other")
    if not paths:
        raise NetpolscanError("nothing to fix: give PATH... (files or directories)")
    config = load_config(config_path)
    options = ScanOptions(
        paths=paths,
        namespace=namespace or config.namespace or "default",
        select=split_values(select),
        ignore=split_values(ignore),
        blocked_plugins=tuple(split_values(disable_plugin)),
        config=config,
        chart_roots=chart_roots,
    )
    result = run_fixes(options)
    for note in result.notes:
        click.echo(f"netpolscan: {note}", err=True)
    if diff:
        return _diff(result)
    if apply_:
        return _apply(result)
    for finding in result.applied:
        click.echo(_line(finding))
    _manual(result, err=False)
    _stale(result)
    if result.applied:
        them = "them" if len(result.applied) > 1 else "it"
        click.echo(
            f"{_count(result.applied, 'fix')} available: netpolscan fix --apply (or --diff) makes {them}."
        )
    return 1 if result.applied or result.manual else 0


def _line(finding: Finding) -> str:
    where = finding.location
    description = finding.fix.description if finding.fix else ""
    return f"{where.path}:{where.line}:{where.column} {finding.rule_id} {description}"


def _count(items: list[Finding], noun: str) -> str:
    return f"{len(items)} {noun}{'es' if len(items) != 1 and noun.endswith('x') else ''}"


def _manual(result: FixResult, err: bool) -> None:
    for item in result.manual:
        fix = item.finding.fix
        assert fix is not None and fix.replacements
        rendered = fix.replacements[0].path
        where = f"{fix.source.path}:{fix.source.line}" if fix.source is not None else rendered
        click.echo(
            f"{where}: {item.finding.rule_id} {fix.description}: make this change there by hand "
            f"({rendered} is rendered from it and was not changed):",
            err=err,
        )
        click.echo(item.diff, nl=False, err=err)


def _stale(result: FixResult) -> None:
    for finding in result.stale:
        click.echo(
            f"netpolscan: warning: {_line(finding)}: the fix was made but the finding remains; not repeated",
            err=True,
        )


def _diff(result: FixResult) -> int:
    for item in result.changed:
        click.echo(item.diff(), nl=False)
    _manual(result, err=True)
    _stale(result)
    return 1 if result.changed or result.manual else 0


def _apply(result: FixResult) -> int:
    for item in result.changed:
        try:
            item.path.write_bytes(item.encoded())
        except OSError as exc:
            raise NetpolscanError(f"{item.shown}: cannot write file: {exc.strerror or exc}") from None
    for finding in result.applied:
        click.echo(f"{_line(finding)} (fixed)")
    _manual(result, err=False)
    _stale(result)
    if result.applied:
        files = len(result.changed)
        click.echo(f"Applied {_count(result.applied, 'fix')} to {files} file{'s' if files != 1 else ''}.")
    elif not result.manual:
        click.echo("Nothing to fix.")
    return 1 if result.manual else 0
