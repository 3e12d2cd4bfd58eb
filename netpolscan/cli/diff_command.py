"""`netpolscan diff`: the connections two inputs allow, compared (library: netpolscan.analysis.diff).

BASE and HEAD are two inputs (a file, a directory or -), or, with ``--path``, ``--helm`` or ``--kustomize``,
two checkouts of one repository (e.g. a git worktree of the base commit and the working tree): each is
read at the same relative paths, and its chart and kustomization rendered with the same values. A path
only one checkout has counts as empty in the other (the change adds or deletes it). Findings (SARIF,
GitLab Code Quality) point at HEAD's sources: the policy rule that allows each new connection, mapped
through the chart's templates and the kustomization's origins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from netpolscan import __version__
from netpolscan.cli.cluster_input import cluster_options, diff_sides, drift_inventories, file_namespace
from netpolscan.cli.group import cli, load_input, parse_outputs, strict_option, write_text
from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    from netpolscan.model.inventory import Inventory
    from netpolscan.sourcemap import SourceMapper
    from netpolscan.sources.document import Document

DIFF_FORMATS = ["txt", "csv", "md", "json", "dot", "mermaid", "sarif", "gitlab", "html"]


@dataclass(frozen=True)
class CheckoutInputs:
    """What to read in each checkout, relative to it."""

    paths: tuple[str, ...] = ()
    helm: str | None = None
    values: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    release: str | None = None
    kustomize: str | None = None

    def __bool__(self) -> bool:
        return bool(self.paths or self.helm or self.kustomize)


def _under(root: str, path: str) -> str:
    """``path`` of the checkout ``root`` (as given when the checkout is the working directory)."""
    if os.path.isabs(path):
        raise NetpolscanError(f"{path}: with two checkouts, give paths relative to them")
    if os.path.realpath(root) == os.path.realpath("."):
        return path
    return os.path.join(root, path)


def _present(root: str, path: str | None) -> str | None:
    if path is None:
        return None
    found = _under(root, path)
    return found if os.path.exists(found) else None


def _check_inputs(base: str, head: str, inputs: CheckoutInputs) -> None:
    for side, root in (("BASE", base), ("HEAD", head)):
        if not os.path.isdir(root):
            raise NetpolscanError(
                f"{side} {root}: with --path, --helm or --kustomize, BASE and HEAD are directories"
            )
    wanted = [*inputs.paths, *(p for p in (inputs.helm, inputs.kustomize) if p)]
    for path in wanted:
        if _present(base, path) is None and _present(head, path) is None:
            raise NetpolscanError(f"{path}: not found in BASE ({base}) or HEAD ({head})")
    if inputs.helm and _present(head, inputs.helm):
        for values in inputs.values:
            if _present(head, values) is None:
                raise NetpolscanError(f"{values}: values file not found in HEAD ({head})")


def _checkout_documents(root: str, inputs: CheckoutInputs, namespace: str | None) -> list[Document]:
    from netpolscan.scan import RenderOptions, render_documents
    from netpolscan.sources import load_documents

    paths = [found for found in (_present(root, p) for p in inputs.paths) if found is not None]
    documents = load_documents(paths) if paths else []
    helm, kustomize = _present(root, inputs.helm), _present(root, inputs.kustomize)
    if helm or kustomize:
        values = tuple(found for found in (_present(root, v) for v in inputs.values) if found is not None)
        render = RenderOptions(
            kustomize=kustomize,
            helm=helm,
            values=values,
            set_values=inputs.set_values,
            release=inputs.release,
            namespace=namespace,
        )
        documents.extend(render_documents(render))
    return documents


def _checkout_inventory(
    root: str, inputs: CheckoutInputs, namespace: str | None, strict: bool, side: str
) -> Inventory:
    from netpolscan.model.inventory import Inventory
    from netpolscan.model.loading import left_out
    from netpolscan.scan import available_kinds
    from netpolscan.sources.gc_pause import paused_gc

    namespace = _namespace(namespace)
    with paused_gc(freeze=True):
        inventory = Inventory.from_documents(
            _checkout_documents(root, inputs, namespace), namespace, available_kinds()
        )
    missing = left_out(inventory, side)
    if strict and missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NetpolscanError(f"{missing[0]}{more}; --strict stops here")
    for each in missing:
        click.echo(f"netpolscan: warning: {each}", err=True)
    return inventory


def _namespace(namespace: str | None) -> str:
    if namespace is not None:
        return namespace
    from netpolscan.config import load_config

    return load_config(None).namespace or "default"


def _head_mapper(head: str, inputs: CheckoutInputs) -> SourceMapper:
    """Maps HEAD's rendered objects to its chart templates and kustomize sources."""
    from netpolscan.sourcemap import SourceMapper

    chart = _present(head, inputs.helm)
    return SourceMapper(
        chart_roots=[chart] if chart else [],
        search_root=head,
        kustomize_root=_present(head, inputs.kustomize),
    )


@cli.command("diff")
@click.argument("base")
@click.argument("head", required=False)
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT[:FILE]",
    help=f"Output format, to stdout or FILE (repeatable): {', '.join(DIFF_FORMATS)} [default: txt]. txt as "
    "netpol-analyzer's diff; mermaid: a graph of the changes; sarif and gitlab (Code Quality): the newly "
    "allowed connections at HEAD's policy rules; html: a page with the changes and their graph.",
)
@click.option(
    "-o",
    "--output",
    type=str,
    default=None,
    metavar="FILE",
    help="Write the first format named without a FILE to FILE.",
)
@click.option("--fail-on-new", is_flag=True, help="Exit 1 when HEAD allows a connection BASE did not.")
@click.option(
    "--path",
    "paths",
    multiple=True,
    metavar="PATH",
    help="BASE and HEAD are two checkouts: compare the manifests at PATH in each (repeatable).",
)
@click.option(
    "--helm",
    "helm_chart",
    default=None,
    metavar="CHART",
    help="BASE and HEAD are two checkouts: render CHART in each.",
)
@click.option("--values", "helm_values", multiple=True, metavar="FILE", help="Helm values file (repeatable).")
@click.option("--set", "helm_set", multiple=True, metavar="KEY=VALUE", help="Helm --set value (repeatable).")
@click.option("--release", default=None, help="Helm release name [default: release-name].")
@click.option(
    "--kustomize",
    "kustomize_dir",
    default=None,
    metavar="DIR",
    help="BASE and HEAD are two checkouts: render the kustomization DIR in each.",
)
@cluster_options
@strict_option
def diff_command(
    base: str,
    head: str | None,
    formats: tuple[str, ...],
    output: str | None,
    fail_on_new: bool,
    paths: tuple[str, ...],
    helm_chart: str | None,
    helm_values: tuple[str, ...],
    helm_set: tuple[str, ...],
    release: str | None,
    kustomize_dir: str | None,
    namespaces: tuple[str, ...],
    from_cluster: bool,
    context: str | None,
    strict: bool,
) -> int:
    """Compare the connections BASE and HEAD allow: each a file, a directory or -; or, with --path, --helm or
    --kustomize, two checkouts of a repository read at the same paths; or a cluster (cluster:, cluster:CONTEXT,
    or BASE --from-cluster: what the cluster allows that BASE does not, and the reverse)."""
    from netpolscan.analysis.diff import diff_rows

    outputs = parse_outputs(formats or ("txt",), output, DIFF_FORMATS)
    inputs = CheckoutInputs(paths, helm_chart, helm_values, helm_set, release, kustomize_dir)
    if not helm_chart and (helm_values or helm_set or release):
        raise NetpolscanError("--values, --set and --release need --helm CHART")
    base, head, contexts = diff_sides(base, head, from_cluster, context)
    drift = any(c is not None for c in contexts)
    namespace = file_namespace(namespaces, drift, None)
    mapper = None
    if drift:
        if inputs:
            raise NetpolscanError("--path, --helm and --kustomize compare two checkouts, not a cluster")
        base_inventory, head_inventory, names = drift_inventories((base, head), contexts, namespaces, strict)
    elif inputs:
        _check_inputs(base, head, inputs)
        base_inventory = _checkout_inventory(base, inputs, namespace, strict, "BASE")
        head_inventory = _checkout_inventory(head, inputs, namespace, strict, "HEAD")
        mapper = _head_mapper(head, inputs)
    else:
        base_inventory = load_input([base], namespace, strict, "BASE")
        head_inventory = load_input([head], namespace, strict, "HEAD")
    rows = diff_rows(base_inventory, head_inventory)

    def render(fmt: str) -> str:
        if fmt in ("sarif", "gitlab"):
            from netpolscan.builtin.diff_findings import diff_report
            from netpolscan.report import gitlab, sarif

            report = diff_report(head_inventory, rows, __version__, (base, head), mapper)
            return sarif.render(report) if fmt == "sarif" else gitlab.render(report)
        if fmt == "txt" and drift:
            from netpolscan.report.drift import format_drift

            return format_drift(rows, names[0], names[1])
        if fmt == "html":
            from netpolscan.report.html import diff_page

            return diff_page(rows, base, head)
        from netpolscan.report.connectivity_formats import format_diff

        return format_diff(rows, fmt)

    for fmt, target in outputs:
        write_text(target, render(fmt))
    return 1 if fail_on_new and any(row.newly_allowed for row in rows) else 0
