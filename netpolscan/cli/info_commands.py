"""`netpolscan plugins` and `netpolscan rules`: what is installed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from netpolscan.cli.group import (
    cli,
    split_values,
)
from netpolscan.plugin_api import Rule
from netpolscan.plugins import plugin_manager

if TYPE_CHECKING:
    pass


@cli.command("plugins")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--disable-plugin", multiple=True, help="Do not load this plugin (by entry-point name).")
def plugins_command(fmt: str, disable_plugin: tuple[str, ...]) -> int:
    """List the loaded plugins: name, distribution, version, rules and formats."""
    from netpolscan.plugins import describe_plugins

    rows = describe_plugins(plugin_manager(tuple(split_values(disable_plugin))))
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

    rules = available_rules(tuple(split_values(disable_plugin)))
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
