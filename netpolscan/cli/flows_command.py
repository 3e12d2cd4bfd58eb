"""`netpolscan flows check` and `flows expectations`: observed traffic (Hubble's JSON export or a simple
CSV) against the policies of an input (library: netpolscan.flows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from netpolscan.cli.group import cli, load_input, strict_option, write_text
from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    from netpolscan.flows.records import FlowLog

_namespace_option = click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)


@cli.group("flows")
def flows_group() -> None:
    """Check observed flows (Hubble's JSON export, or CSV) against the policies."""


def _read(flows: str) -> FlowLog:
    """The flow log at ``flows``; each bad line is one warning on stderr; nothing readable stops the run."""
    from netpolscan.flows.read import read_flow_log

    log = read_flow_log(flows)
    for bad in log.bad:
        click.echo(f"netpolscan: warning: {bad}", err=True)
    if log.bad and not log.flows and not log.skipped:
        raise NetpolscanError(f"{flows}: no line is a flow ({len(log.bad)} bad lines)")
    return log


@flows_group.command("check")
@click.argument("flows")
@click.argument("paths", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=str, default=None, help="Write the report to FILE instead of stdout.")
@click.option("--unused", is_flag=True, help="Also list the allow rules that no observed allowed flow used.")
@click.option("--all", "show_all", is_flag=True, help="Text: list the allowed flows too, with their rules.")
@_namespace_option
@strict_option
def check_command(
    flows: str,
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    unused: bool,
    show_all: bool,
    namespace: str | None,
    strict: bool,
) -> int:
    """Report the observed FLOWS that the policies of PATHS would drop, and why.

    FLOWS is Hubble's export (`hubble observe -o json`, one flow per line) or a CSV with the columns
    src_ns,src_pod_labels,dst_ns,dst_labels_or_ip,port,protocol (labels as k=v;k2=v2, or an IP address
    with an empty namespace); - reads it from stdin.

    Exit code 1 when a flow would be dropped (an unmatched flow: only when a workload of the input
    drops it), else 0.
    """
    from netpolscan.flows.check import check_flows
    from netpolscan.flows.output import format_json, format_text

    if flows == "-" and "-" in paths:
        raise NetpolscanError("FLOWS and PATHS cannot both be - (stdin)")
    log = _read(flows)
    result = check_flows(load_input(paths, namespace, strict), log, unused)
    write_text(output, format_json(result) if fmt == "json" else format_text(result, show_all))
    return 1 if result.blocking else 0


@flows_group.command("expectations")
@click.argument("flows")
@click.argument("paths", nargs=-1)
@click.option("-o", "--output", type=str, default=None, help="Write the file to FILE instead of stdout.")
@_namespace_option
@strict_option
def expectations_command(
    flows: str, paths: tuple[str, ...], output: str | None, namespace: str | None, strict: bool
) -> int:
    """Write an expectations file allowing every observed flow of FLOWS.

    With PATHS, pods are named by the workloads of PATHS (flows of pods no workload matches are left
    out); without, by namespace and labels.
    """
    from netpolscan.flows.expectations import expectations_text

    if flows == "-" and "-" in paths:
        raise NetpolscanError("FLOWS and PATHS cannot both be - (stdin)")
    log = _read(flows)
    inventory = load_input(paths, namespace, strict) if paths else None
    write_text(output, expectations_text(log, inventory, paths))
    return 0
