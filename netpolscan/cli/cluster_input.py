"""``--from-cluster``: the options that read a live cluster through ``kubectl`` instead of files, and the
inventory they give (library: :mod:`netpolscan.sources.cluster`).

``--namespace`` keeps its meaning for files (the namespace of objects that have none, given once); with
``--from-cluster`` it names the namespaces to read and may be repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    from netpolscan.model.inventory import Inventory
    from netpolscan.plugin_api import Report
    from netpolscan.scan import ScanOptions
    from netpolscan.sources.cluster import ClusterInput

F = TypeVar("F", bound=Callable[..., Any])
CLUSTER_SIDE = (
    "cluster:"  # a diff side naming a cluster: `cluster:` (the current context) or `cluster:CONTEXT`
)


def cluster_options(function: F) -> F:
    """``--from-cluster``, ``--context`` and a repeatable ``-n/--namespace``."""
    options = [
        click.option(
            "--from-cluster",
            is_flag=True,
            help="Read the cluster through kubectl get -o json (your kubeconfig and RBAC) instead of files.",
        ),
        click.option("--context", default=None, help="With --from-cluster: the kubeconfig context to read."),
        click.option(
            "-n",
            "--namespace",
            "namespaces",
            multiple=True,
            help="Namespace of objects that have none [default: the config file's namespace, else default]; "
            "with --from-cluster: a namespace to read (repeatable; default: every namespace).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def file_namespace(namespaces: Sequence[str], from_cluster: bool, context: str | None) -> str | None:
    """The namespace of objects that have none, for an input of files (``--namespace`` given once)."""
    if context is not None and not from_cluster:
        raise NetpolscanError("--context applies only with --from-cluster")
    if len(namespaces) > 1 and not from_cluster:
        raise NetpolscanError(
            "--namespace is given once for files (the namespace of objects that have none); "
            "repeat it with --from-cluster to read several namespaces"
        )
    return namespaces[0] if namespaces and not from_cluster else None


def check_source(paths: Sequence[str], from_cluster: bool) -> None:
    """Either files or the cluster."""
    if from_cluster and paths:
        raise NetpolscanError("--from-cluster reads the cluster instead of PATH...: give one or the other")
    if not from_cluster and not paths:
        raise NetpolscanError("nothing to read: give PATH... (or - for stdin), or --from-cluster")


def read_cluster_input(
    context: str | None,
    namespaces: Sequence[str],
    blocked_plugins: tuple[str, ...] = (),
    without: Sequence[str] = (),
) -> ClusterInput:
    """Everything the analysis reads, from the cluster: the base resources and every resource the
    registered policy kinds declare (``cluster_resources``), less the resources named in ``without``."""
    from netpolscan.scan import available_kinds
    from netpolscan.sources.cluster import POLICY, ClusterResource, read_cluster

    kinds = available_kinds(blocked_plugins)
    resources = [  # a plugin's kind may name its resources as plain strings (`kubectl get` names)
        ClusterResource((resource,), role=POLICY) if isinstance(resource, str) else resource
        for kind in kinds
        for resource in getattr(kind, "cluster_resources", ())
    ]
    return read_cluster(resources, context, namespaces, without=without)


def tell(cluster: ClusterInput, strict: bool, side: str = "") -> None:
    """Each resource the cluster did not let us read, one line on stderr; with ``strict`` a missing
    permission that changes the results stops the run."""
    for level, line in cluster.messages():
        where = f"{side} input " if side else ""
        if strict and level == "warning":
            raise NetpolscanError(f"{where}{line}; --strict stops here")
        click.echo(f"netpolscan: {level}: {where}{line}", err=True)


def cluster_inventory(
    context: str | None, namespaces: Sequence[str], strict: bool, side: str = "", without: Sequence[str] = ()
) -> tuple[Inventory, str]:
    """The inventory of the cluster of ``context`` and its name; what it could not read or had to leave
    out is named on stderr (an error with ``strict``)."""
    from netpolscan.model.inventory import Inventory
    from netpolscan.model.loading import left_out
    from netpolscan.scan import available_kinds
    from netpolscan.sources.gc_pause import paused_gc

    cluster = read_cluster_input(context, namespaces, without=without)
    tell(cluster, strict, side)
    with paused_gc(freeze=True):
        inventory = Inventory.from_documents(cluster.documents, "default", available_kinds())
    missing = left_out(inventory, side)
    if strict and missing:
        raise NetpolscanError(f"{missing[0]}; --strict stops here")
    for each in missing:
        click.echo(f"netpolscan: warning: {each}", err=True)
    return inventory, cluster.context


def scan_cluster(options: ScanOptions, context: str | None, namespaces: Sequence[str]) -> Report:
    """``scan --from-cluster``: the report of the cluster's objects; what could not be read is a tool
    notification (stderr, SARIF ``toolExecutionNotifications``) at the level of its effect."""
    import dataclasses

    from netpolscan.plugin_api import Notification, Severity
    from netpolscan.scan import scan_documents

    cluster = read_cluster_input(context, namespaces, options.blocked_plugins)
    notes = [Notification(line, level=Severity.parse(level)) for level, line in cluster.messages()]
    options.paths = (f"cluster://{cluster.context}",)
    report = scan_documents(cluster.documents, options)
    return dataclasses.replace(report, notifications=(*notes, *report.notifications))


def command_input(
    paths: Sequence[str], namespaces: Sequence[str], from_cluster: bool, context: str | None, strict: bool
) -> tuple[Inventory, tuple[str, ...]]:
    """The inventory of PATH... or of the cluster, and how to name the input in a report."""
    from netpolscan.cli.group import load_input

    namespace = file_namespace(namespaces, from_cluster, context)
    check_source(paths, from_cluster)
    if not from_cluster:
        return load_input(paths, namespace, strict), tuple(paths)
    inventory, name = cluster_inventory(context, namespaces, strict)
    return inventory, (f"cluster://{name}",)


def diff_sides(
    base: str, head: str | None, from_cluster: bool, context: str | None
) -> tuple[str, str, list[str | None]]:
    """BASE and HEAD of ``diff``, with the context each side names (None: a side of files).

    ``cluster:`` is the cluster of ``--context`` (else the current context), ``cluster:NAME`` the one of
    context NAME; ``--from-cluster`` makes HEAD ``cluster:``.
    """
    if from_cluster:
        if head is not None:
            raise NetpolscanError("--from-cluster is HEAD: give BASE only (or name the sides, e.g. cluster:)")
        head = CLUSTER_SIDE
    if head is None:
        raise NetpolscanError(
            "missing HEAD: give BASE HEAD, or BASE --from-cluster to compare it with the cluster"
        )
    sides = (base, head)
    contexts = [
        side.removeprefix(CLUSTER_SIDE) or context or "" if side.startswith(CLUSTER_SIDE) else None
        for side in sides
    ]
    if context is not None and CLUSTER_SIDE not in sides:
        raise NetpolscanError("--context applies to a cluster side: use it with --from-cluster or cluster:")
    return base, head, contexts


def drift_inventories(
    sides: tuple[str, str], contexts: Sequence[str | None], namespaces: Sequence[str], strict: bool
) -> tuple[Inventory, Inventory, tuple[str, str]]:
    """The inventories of BASE and HEAD when one of them (or both) is a cluster, and their names in the
    drift report: ``git (PATH)`` for files, ``cluster CONTEXT`` for a cluster. Compared with files, a
    cluster is read without its Nodes (git holds none; their addresses would split the external ranges)."""
    from netpolscan.cli.group import load_input

    found: list[tuple[Inventory, str]] = []
    for label, side, context in zip(("BASE", "HEAD"), sides, contexts, strict=True):
        if context is None:
            found.append((load_input([side], None, strict, label), f"git ({side})"))
            continue
        without = () if None not in contexts else ("nodes",)
        inventory, name = cluster_inventory(context or None, namespaces, strict, label, without)
        found.append((inventory, f"cluster {name}"))
    (base, base_name), (head, head_name) = found
    return base, head, (base_name, head_name)
