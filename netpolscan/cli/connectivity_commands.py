"""`netpolscan connectivity`, `explain` and `probe-plan`: what the policies allow (library:
netpolscan.analysis; views: netpolscan.report). `diff` is in :mod:`netpolscan.cli.diff_command`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from netpolscan.cli.cluster_input import cluster_options, command_input
from netpolscan.cli.group import (
    cli,
    load_input,
    strict_option,
    write_text,
)
from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    pass


@cli.command("connectivity")
@click.argument("paths", nargs=-1)
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
@cluster_options
@strict_option
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
    namespaces: tuple[str, ...],
    from_cluster: bool,
    context: str | None,
    strict: bool,
) -> int:
    """List the allowed connections between workloads and external addresses."""
    from netpolscan.analysis.connlist import connection_rows
    from netpolscan.analysis.focus import focused, parse_focus, workload_nodes
    from netpolscan.report.connectivity_formats import iter_connlist

    if fmt == "expectations":
        from netpolscan.expectations.bootstrap import bootstrap_text

        inventory, shown = command_input(paths, namespaces, from_cluster, context, strict)
        write_text(output, bootstrap_text(inventory, focus_workload, " ".join(shown)))
        return 0
    focus = parse_focus(focus_workload, focus_workload_peer, focus_direction, focus_conn)
    if explain_only and not explain:
        raise NetpolscanError("--explain-only applies only with --explain")
    if explain and fmt != "txt":
        raise NetpolscanError(f"--explain writes txt only, not {fmt}")
    if (exposure or focus.conn is not None) and fmt in ("mermaid", "html"):
        raise NetpolscanError(f"--exposure and --focus-conn write txt, csv, md, json or dot, not {fmt}")
    inventory, shown = command_input(paths, namespaces, from_cluster, context, strict)
    if explain:
        from netpolscan.report.list_explain import format_list_explanation

        write_text(output, format_list_explanation(inventory, focus, explain_only, exposure))
        return 0
    rows = focused(connection_rows(inventory), focus)
    if fmt == "html":
        from netpolscan.report.html import connectivity_page

        write_text(output, connectivity_page(inventory, rows, workload_nodes(inventory, focus), shown))
        return 0
    if exposure or focus.conn is not None:
        from netpolscan.analysis.exposure import exposure as exposure_of
        from netpolscan.report.exposure import format_connlist_view

        found = exposure_of(inventory, rows, focus) if exposure else None
        write_text(output, format_connlist_view(rows, fmt, found, focus, workload_nodes(inventory, focus)))
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
@click.argument("paths", nargs=-1)
@click.option(
    "--src", required=True, help="Source: NS/NAME of a workload, an IP address, or fqdn:NAME / entity:NAME."
)
@click.option(
    "--dst",
    required=True,
    help="Destination: NS/NAME of a workload, an IP address, or fqdn:NAME / entity:NAME.",
)
@click.option("--port", default=None, help="One port to decide, PORT or PORT/PROTOCOL (e.g. 8080/TCP).")
@cluster_options
@strict_option
def explain_command(
    paths: tuple[str, ...],
    src: str,
    dst: str,
    port: str | None,
    namespaces: tuple[str, ...],
    from_cluster: bool,
    context: str | None,
    strict: bool,
) -> int:
    """Explain why SRC may or may not connect to DST: the deciding policies and rules, with file and line."""
    from netpolscan.analysis.explain import explain, find_endpoint, parse_port
    from netpolscan.report.connectivity_formats import format_explanation

    inventory, _ = command_input(paths, namespaces, from_cluster, context, strict)
    wanted = parse_port(port) if port else None
    result = explain(inventory, find_endpoint(inventory, src), find_endpoint(inventory, dst), wanted)
    click.echo(format_explanation(result), nl=False)
    for option, value in (("--src", src), ("--dst", dst)):
        note = cluster_range_note(value)
        if note:
            click.echo(f"netpolscan: note: {option} {note}", err=True)
    return 0


def cluster_range_note(endpoint: str) -> str | None:
    """What the configuration's cluster ranges say of an address given as an endpoint (None: nothing).

    An address in ``cluster.podCIDRs`` is a pod, which ipBlock rules match or not depending on the CNI;
    one in ``cluster.serviceCIDRs`` is a Service's cluster IP, which policies never see (they see the pod
    behind it, after the address translation)."""
    import ipaddress

    from netpolscan.config import load_config

    try:
        address = ipaddress.ip_address(endpoint)
    except ValueError:
        return None
    config = load_config(None)
    for network in config.pod_cidrs:
        if address.version == network.version and address in network:
            return (
                f"{address} is in the cluster's pod range {network} (cluster.podCIDRs): the address of a pod, "
                "which ipBlock rules match or not depending on the CNI; name the workload (NS/NAME) instead"
            )
    for network in config.service_cidrs:
        if address.version == network.version and address in network:
            return (
                f"{address} is in the cluster's Service range {network} (cluster.serviceCIDRs): a cluster "
                "IP, which policies never see (they see the pod behind it); name the backend workload instead"
            )
    return None


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
@strict_option
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
    inventory = load_input(paths, namespace, strict)
    write_text(output, render_plan(inventory, expectations, image or DEFAULT_IMAGE, timeout))
    return 0
