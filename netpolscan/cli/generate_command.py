"""`netpolscan generate`: policies that make expectations hold exactly, or that freeze today's
connectivity, verified by the engine (library: netpolscan.generate).

Exit codes: 0 written and verified; 1 written, but the verification failed (the diff is on stderr);
2 usage or input error.
"""

from __future__ import annotations

import click

from netpolscan.cli.group import cli, load_input, namespace_option, strict_option, write_text
from netpolscan.errors import NetpolscanError

MAX_LINES = 200  # differences listed on stderr
KIND_CHOICES = ("networkpolicy", "cilium", "calico", "cluster")  # netpolscan.generate.KINDS, kept lazy


@cli.command("generate")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--from-expectations",
    "expectations_path",
    default=None,
    metavar="FILE",
    help="Write the policies that make this expectations file hold exactly.",
)
@click.option(
    "--from-connectivity",
    is_flag=True,
    help="Freeze today's workload-to-workload connections (limited to the ports Services expose, else "
    "the declared container ports).",
)
@click.option(
    "--kind",
    type=click.Choice(KIND_CHOICES),
    default="networkpolicy",
    show_default=True,
    help="Policy kind to write: NetworkPolicy v1, CiliumNetworkPolicy, Calico NetworkPolicy, or "
    "ClusterNetworkPolicy (Baseline tier).",
)
@click.option("-o", "--output", default=None, help="Write one stream to FILE instead of stdout.")
@click.option("--output-dir", default=None, metavar="DIR", help="Write DIR/NAMESPACE.yaml per namespace.")
@click.option(
    "--kustomize-component",
    default=None,
    metavar="DIR",
    help="Write the files per namespace and a kustomization.yaml of kind Component to DIR.",
)
@click.option("--no-verify", is_flag=True, help="Skip the verification (analysing input + generated).")
@namespace_option
@strict_option
def generate_command(
    paths: tuple[str, ...],
    expectations_path: str | None,
    from_connectivity: bool,
    kind: str,
    output: str | None,
    output_dir: str | None,
    kustomize_component: str | None,
    no_verify: bool,
    namespace: str | None,
    strict: bool,
) -> int:
    """Write default-deny and least-privilege policies, then check them with the engine."""
    if (expectations_path is None) == (not from_connectivity):
        raise NetpolscanError("give exactly one of --from-expectations FILE and --from-connectivity")
    targets = [
        name
        for name, value in (
            ("-o", output),
            ("--output-dir", output_dir),
            ("--kustomize-component", kustomize_component),
        )
        if value
    ]
    if len(targets) > 1:
        raise NetpolscanError(
            f"give at most one of -o, --output-dir and --kustomize-component (got {', '.join(targets)})"
        )
    from netpolscan.expectations import load_expectations
    from netpolscan.generate import generate
    from netpolscan.generate.output import write_component, write_per_namespace
    from netpolscan.sources.gc_pause import paused_gc

    expectations = load_expectations(expectations_path) if expectations_path else None
    inventory = load_input(paths, namespace, strict)
    with paused_gc(freeze=True):  # plans, manifests and the combined model: large, long-lived, acyclic
        generated = generate(inventory, kind, expectations, expectations_path or ", ".join(paths))
    for note in generated.plan.notes:
        click.echo(f"netpolscan: warning: {note}", err=True)
    if kustomize_component:
        written = write_component(generated, kustomize_component)
        click.echo(f"netpolscan: wrote {len(written)} files to {kustomize_component}", err=True)
    elif output_dir:
        written = write_per_namespace(generated, output_dir)
        click.echo(f"netpolscan: wrote {len(written)} files to {output_dir}", err=True)
    else:
        write_text(output, generated.stream())
    if no_verify:
        click.echo("netpolscan: not verified (--no-verify)", err=True)
        return 0
    with paused_gc():
        result = generated.verify(inventory, (expectations_path,) if expectations_path else ())
    if result.limits:
        click.echo(
            f"netpolscan: note: {kind} cannot deny ingress from outside the cluster (the API has no such "
            f"peer): {len(result.limits)} such connections stay open, e.g. {result.limits[0]}",
            err=True,
        )
    count = len(generated.manifests)
    if result.ok:
        what = "the expectations hold exactly" if expectations else "no connection beyond today's is allowed"
        click.echo(f"netpolscan: verified {count} policies with the input: {what}", err=True)
        return 0
    click.echo(
        f"netpolscan: verification failed for the {count} generated policies with the input:", err=True
    )
    lines = result.lines()
    for line in lines[:MAX_LINES]:
        click.echo(f"  {line}", err=True)
    if len(lines) > MAX_LINES:
        click.echo(f"  ... and {len(lines) - MAX_LINES} more", err=True)
    return 1
