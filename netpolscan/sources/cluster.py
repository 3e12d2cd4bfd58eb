"""Reading what a cluster runs: ``kubectl get RESOURCE -o json``, one call per resource, into documents.

The user's kubeconfig and RBAC decide what can be read. Each resource is listed on its own, so a kind the
user may not list (``Forbidden``) or that the cluster does not serve (a CRD that is not installed) costs
that kind only: :class:`Unreadable` says which, and how much it matters (a policy kind that cannot be read
makes the verdicts wrong; a Cilium CRD missing from a Calico cluster does not). What stops the run (no
``kubectl``, a bad context, an unreachable cluster, output that is not JSON) is a :class:`NetpolscanError`.

Each object becomes one document whose path says where it is in the cluster
(``cluster://CONTEXT/NAMESPACE/KIND/NAME``, cluster-scoped objects without the namespace) and whose
marks put each field at its line in ``kubectl get KIND NAME -o yaml`` (keys sorted, no ``managedFields``),
laid out without writing that text. Pods, ReplicaSets and Jobs controlled by a workload that was
read too are left out: the workload stands for them, as a manifest directory has it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netpolscan.errors import NetpolscanError
from netpolscan.sources.document import Document, Marks

if TYPE_CHECKING:
    import subprocess

POLICY = "policy"  # a policy kind: unreadable means the verdicts may be wrong
OBJECT = "object"  # namespaces, workloads, services: unreadable means the analysis misses them
OPTIONAL = "optional"  # nodes, ingresses, routes, endpoint slices: refinements


@dataclass(frozen=True)
class ClusterResource:
    """A resource to list: its fully qualified names (``networkpolicies.networking.k8s.io``) in order of
    preference (the next is tried when the cluster does not serve one), whether it is namespaced, and its
    role (:data:`POLICY`, :data:`OBJECT` or :data:`OPTIONAL`)."""

    names: tuple[str, ...]
    namespaced: bool = True
    role: str = OBJECT


# What every analysis reads besides the policy kinds (which declare their own resources).
BASE_RESOURCES = (
    ClusterResource(("namespaces",), namespaced=False),
    ClusterResource(("pods",)),
    ClusterResource(("deployments.apps",)),
    ClusterResource(("statefulsets.apps",)),
    ClusterResource(("daemonsets.apps",)),
    ClusterResource(("replicasets.apps",)),
    ClusterResource(("replicationcontrollers",)),
    ClusterResource(("jobs.batch",)),
    ClusterResource(("cronjobs.batch",)),
    ClusterResource(("services",)),
    ClusterResource(("networkpolicies.networking.k8s.io",), role=POLICY),
    ClusterResource(("nodes",), namespaced=False, role=OPTIONAL),
    ClusterResource(("ingresses.networking.k8s.io",), role=OPTIONAL),
    ClusterResource(("routes.route.openshift.io",), role=OPTIONAL),
)
_WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
)
_KLOG = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d")
_FINISHED = ("Succeeded", "Failed")  # pods that have ended take no traffic
_WORKERS = 8


@dataclass(frozen=True)
class Unreadable:
    """A resource the run could not read: ``forbidden`` (RBAC) or ``not-installed`` (not served)."""

    resource: str
    reason: str
    detail: str
    role: str

    def __str__(self) -> str:
        """The line for a resource the user may not list (those not served share one, see ClusterInput)."""
        effect = {
            POLICY: "these policies are left out, so the verdicts may be wrong",
            OBJECT: "the analysis does not see these objects",
            OPTIONAL: "the analysis goes on without them",
        }[self.role]
        return f"cannot list {self.resource} (forbidden: {self.detail}); {effect}"

    @property
    def level(self) -> str:
        """``warning`` when what is missing changes the results, else ``note``."""
        return "warning" if self.reason == "forbidden" and self.role != OPTIONAL else "note"


@dataclass
class ClusterInput:
    """The documents read from one cluster, and the resources that could not be read."""

    context: str
    documents: list[Document] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

    def messages(self) -> list[tuple[str, str]]:
        """(level, one line) for each resource that could not be read; the resources the cluster does
        not serve share one note (a Cilium CRD is absent from every other cluster: not worth a line each)."""
        where = f"cluster {self.context}"
        lines = [(u.level, f"{where}: {u}") for u in self.unreadable if u.reason == "forbidden"]
        absent = [u.resource for u in self.unreadable if u.reason == "not-installed"]
        if absent:
            lines.append(("note", f"{where}: not served, nothing to read: {', '.join(absent)}"))
        return lines


Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    import subprocess

    try:
        return subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:  # not executable, or gone since it was found
        raise NetpolscanError(f"--from-cluster: cannot run {args[0]}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class _Call:
    resource: ClusterResource
    namespace: str | None  # None: every namespace (or a cluster-scoped resource)


@dataclass
class _Reader:
    kubectl: str
    context: str | None
    namespaces: tuple[str, ...]
    run: Runner
    served: frozenset[str] | None = None  # what the cluster serves (None: unknown, try every name)

    def discover(self) -> None:
        """What the cluster serves (``kubectl api-resources -o name``): a resource it does not serve is not
        asked for. When discovery fails, even partly (an aggregated API down), every name is tried."""
        result = self.run(self.command("api-resources", "-o", "name"))
        if result.returncode == 0:
            self.served = frozenset(line.strip() for line in result.stdout.splitlines() if line.strip())

    def command(self, *args: str) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [self.kubectl, *context, *args]

    def get(self, call: _Call) -> tuple[list[dict[str, Any]], Unreadable | None]:
        """The items of one resource (trying its names in turn while the cluster does not serve them)."""
        missing: Unreadable | None = None
        served = self.served
        for name in call.resource.names:
            if served is not None and name not in served and name != "namespaces":
                missing = missing or Unreadable(name, "not-installed", "not served", call.resource.role)
                continue
            args = ["get", name, "-o", "json"]
            if name == "namespaces" and self.namespaces:
                args[2:2] = list(self.namespaces)
            elif call.namespace is not None:
                args += ["-n", call.namespace]
            elif call.resource.namespaced:
                args.append("--all-namespaces")
            result = self.run(self.command(*args))
            if result.returncode == 0:
                return _items(result.stdout, self.describe(args)), None
            problem = self.classify(name, result.stderr, call.resource, args)
            if problem.reason != "not-installed":
                return [], problem
            missing = missing or problem
        if missing is not None and len(call.resource.names) > 1:
            missing = Unreadable(call.resource.names[0], missing.reason, missing.detail, missing.role)
        return [], missing

    def classify(self, name: str, stderr: str, resource: ClusterResource, args: list[str]) -> Unreadable:
        """Forbidden or not served (one resource is lost); anything else stops the run."""
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        for line in lines:
            if "(Forbidden)" in line or " is forbidden: " in line:
                return Unreadable(
                    name, "forbidden", line.partition(" is forbidden: ")[2] or line, resource.role
                )
            if "doesn't have a resource type" in line:
                return Unreadable(name, "not-installed", line, resource.role)
        # the last line is kubectl's own error; klog lines (E1203 10:00:00.000 ... memcache.go:265] ...) and
        # deprecation warnings come before it
        errors = [line for line in lines if not _KLOG.match(line) and not line.startswith("Warning:")]
        reason = (errors or lines or ["failed without a message"])[-1]
        raise NetpolscanError(f"--from-cluster: {self.describe(args)}: {reason.removeprefix('error: ')}")

    def describe(self, args: Sequence[str]) -> str:
        return " ".join(["kubectl", *self.command(*args)[1:]])


def _items(stdout: str, command: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise NetpolscanError(f"--from-cluster: {command}: output is not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise NetpolscanError(f"--from-cluster: {command}: output is not a Kubernetes object")
    kind = data.get("kind")
    items = data.get("items") if isinstance(kind, str) and kind.endswith("List") else [data]
    return [item for item in items or () if isinstance(item, dict)]


def current_context(kubectl: str, run: Runner = _run) -> str | None:
    """The kubeconfig's current context (None when it has none, e.g. inside a pod)."""
    result = run([kubectl, "config", "current-context"])
    name = result.stdout.strip() if result.returncode == 0 else ""
    return name or None


def read_cluster(
    resources: Iterable[ClusterResource],
    context: str | None = None,
    namespaces: Sequence[str] = (),
    run: Runner = _run,
    without: Iterable[str] = (),
) -> ClusterInput:
    """Read ``resources`` (besides :data:`BASE_RESOURCES`, less those named in ``without``) from the
    cluster of ``context`` (default: the kubeconfig's current one), limited to ``namespaces`` when given
    (cluster-scoped objects are read whatever the namespaces)."""
    from concurrent.futures import ThreadPoolExecutor

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise NetpolscanError("--from-cluster needs kubectl on PATH (not found)")
    reader = _Reader(kubectl, context, tuple(dict.fromkeys(namespaces)), run)
    shown = context or current_context(kubectl, run) or "in-cluster"
    reader.discover()
    skipped = set(without)
    wanted = [r for r in dict.fromkeys((*BASE_RESOURCES, *resources)) if r.names[0] not in skipped]
    # the first call says whether the cluster can be reached at all (a bad context stops the run here)
    first = reader.get(_Call(wanted[0], None))
    calls = [
        _Call(resource, namespace)
        for resource in wanted[1:]
        for namespace in (reader.namespaces if resource.namespaced and reader.namespaces else (None,))
    ]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        results = [first, *pool.map(reader.get, calls)]
    found = ClusterInput(shown)
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for items, problem in results:
        if problem is not None and problem not in found.unreadable:  # once per resource and reason
            found.unreadable.append(problem)
        for item in items:
            objects.setdefault(_identity(item), item)  # a cluster-scoped object listed once per namespace
    for item in _without_owned(list(objects.values())):
        found.documents.append(_document(item, shown))
    return found


def _metadata(item: dict[str, Any]) -> dict[str, Any]:
    metadata = item.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _identity(item: dict[str, Any]) -> tuple[str, str, str, str]:
    metadata = _metadata(item)
    group = str(item.get("apiVersion", "")).rpartition("/")[0]
    return group, str(item.get("kind")), str(metadata.get("namespace", "")), str(metadata.get("name", ""))


def _controller(item: dict[str, Any]) -> tuple[str, str] | None:
    refs = _metadata(item).get("ownerReferences")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("kind")), str(ref.get("name"))
    return None


def _without_owned(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` less the workloads whose controller was read too, and the pods that have ended."""
    read = {(ns, kind, name) for _, kind, ns, name in map(_identity, items) if kind in _WORKLOAD_KINDS}
    kept = []
    for item in items:
        _, kind, namespace, _ = _identity(item)
        if kind in _WORKLOAD_KINDS:
            owner = _controller(item)
            if owner is not None and (namespace, *owner) in read:
                continue
            status = item.get("status")
            if kind == "Pod" and isinstance(status, dict) and status.get("phase") in _FINISHED:
                continue
        kept.append(item)
    return kept


def cluster_path(context: str, item: dict[str, Any]) -> str:
    """Where an object is in the cluster: ``cluster://CONTEXT/NAMESPACE/KIND/NAME``."""
    _, kind, namespace, name = _identity(item)
    return "/".join(part for part in (f"cluster://{context}", namespace, kind, name) if part)


def _document(item: dict[str, Any], context: str) -> Document:
    """The object as a document, its marks laid out as ``kubectl get -o yaml`` writes it."""
    _metadata(item).pop("managedFields", None)  # hidden by kubectl get -o yaml too
    children, _ = _layout(item, 1, 0)
    return Document(cluster_path(context, item), 0, 1, item, Marks(1, 1, children))


def _layout(value: Any, line: int, indent: int) -> tuple[dict[Any, Marks] | list[Marks] | None, int]:
    """Marks of the children of ``value`` written in block style from ``line`` at ``indent`` (0-based),
    and the line after it: keys sorted, two spaces per level, a list under a key not indented, the first
    key of a mapping in a list on the ``- `` line, a string of several lines as a literal block, an empty
    mapping or list inline. Writing no text, it costs a walk of the object instead of a dump and a parse."""
    if isinstance(value, dict) and value:
        keys: dict[Any, Marks] = {}
        for key in sorted(value, key=str):
            child = value[key]
            if isinstance(child, dict) and child:
                grandchildren, after = _layout(child, line + 1, indent + 2)
            elif isinstance(child, list) and child:
                grandchildren, after = _layout(child, line + 1, indent)
            else:
                grandchildren, after = None, line + _scalar_lines(child)
            keys[key] = Marks(line, indent + 1, grandchildren)
            line = after
        return keys, line
    if isinstance(value, list) and value:
        entries: list[Marks] = []
        for child in value:
            if (isinstance(child, dict | list)) and child:
                grandchildren, after = _layout(child, line, indent + 2)
            else:
                grandchildren, after = None, line + _scalar_lines(child)
            entries.append(Marks(line, indent + 1, grandchildren))
            line = after
        return entries, line
    return None, line + _scalar_lines(value)


def _scalar_lines(value: Any) -> int:
    if isinstance(value, str) and "\n" in value:  # `|` then one line per line of text
        return 1 + value.count("\n") + (0 if value.endswith("\n") else 1)
    return 1
