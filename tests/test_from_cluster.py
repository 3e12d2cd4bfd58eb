"""--from-cluster: scan, connectivity, explain and diff read a cluster through `kubectl get -o json`.

A stand-in `kubectl` (first on PATH) replays the recordings of tests/fixtures/cluster/recording/ (one
`kubectl get RESOURCE -o json` List per resource; errors.json holds a forbidden kind and the CRDs the
cluster does not serve) and logs every call, so the tests see the context and namespace flags it got.
tests/fixtures/cluster/rendered/ holds the same shop and payments namespaces as manifests in git.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult
from tests.test_kind_cilium import _paths as every_pointer

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
RECORDING = FIXTURES / "recording"
RENDERED = FIXTURES / "rendered"

# The stand-in: `kubectl [--context C] config current-context` and
# `kubectl [--context C] get RESOURCE [NAME...] -o json [-n NS | --all-namespaces]`, nothing else.
STAND_IN = r"""
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
log = os.environ.get("FAKE_KUBECTL_LOG")
if log:
    with open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps(args) + "\n")
contexts = os.environ.get("FAKE_KUBECTL_CONTEXTS", "kind-shop").split(",")
context = contexts[0]
if "--context" in args:
    at = args.index("--context")
    context = args[at + 1]
    del args[at : at + 2]
if args == ["config", "current-context"]:
    print(contexts[0])
    sys.exit(0)
if context not in contexts:
    sys.exit(print(f'error: context "{context}" does not exist', file=sys.stderr) or 1)
if os.environ.get("FAKE_KUBECTL_UNREACHABLE"):
    for _ in range(3):  # as kubectl 1.28+ logs each try of its discovery client
        print('E1203 10:00:00.123456   4242 memcache.go:265] couldn\'t get current server API group list: Get '
              '"https://127.0.0.1:6443/api?timeout=32s": dial tcp 127.0.0.1:6443: connect: connection refused',
              file=sys.stderr)
    sys.exit(print("The connection to the server 127.0.0.1:6443 was refused - did you specify the right "
                   "host or port?", file=sys.stderr) or 1)
recording = Path(os.environ["FAKE_KUBECTL_DIR"])
forbidden = [r for r in os.environ.get("FAKE_KUBECTL_FORBID", "").split(",") if r]
errors = json.loads((recording / "errors.json").read_text())
if args == ["api-resources", "-o", "name"]:
    served = [p.name[: -len(".json")] for p in recording.glob("*.json") if p.name != "errors.json"]
    served += [r for r, e in errors.items() if "(Forbidden)" in e["stderr"]]
    print("\n".join(sorted(served)))
    if os.environ.get("FAKE_KUBECTL_DISCOVERY") == "partial":
        sys.exit(print("error: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: "
                       "the server is currently unable to handle the request", file=sys.stderr) or 1)
    sys.exit(0)
if args[:1] != ["get"] or "-o" not in args:
    sys.exit(print(f"stand-in: unexpected call {args}", file=sys.stderr) or 99)
rest = args[1:]
namespace = None
all_namespaces = "--all-namespaces" in rest
if all_namespaces:
    rest.remove("--all-namespaces")
if "-n" in rest:
    at = rest.index("-n")
    namespace = rest[at + 1]
    del rest[at : at + 2]
at = rest.index("-o")
if rest[at + 1] != "json":
    sys.exit(print(f"stand-in: expected -o json, got {args}", file=sys.stderr) or 99)
del rest[at : at + 2]
resource, names = rest[0], rest[1:]
if resource in forbidden:
    plural, _, group = resource.partition(".")
    sys.exit(print(f'Error from server (Forbidden): {resource} is forbidden: User "ci" cannot list resource '
                   f'"{plural}" in API group "{group}" at the cluster scope', file=sys.stderr) or 1)
if resource in errors:
    sys.stderr.write(errors[resource]["stderr"])
    sys.exit(errors[resource]["exit"])
path = recording / f"{resource}.json"
if not path.is_file():
    sys.exit(print(f"stand-in: no recording for {resource}", file=sys.stderr) or 99)
listed = json.loads(path.read_text())
items = listed["items"]
namespaced = any("namespace" in item["metadata"] for item in items)
if namespaced and namespace is None and not all_namespaces:
    sys.exit(print(f"stand-in: {resource} listed without -n or --all-namespaces", file=sys.stderr) or 99)
if namespace is not None and namespaced:
    items = [item for item in items if item["metadata"]["namespace"] == namespace]
code = 0
if names:
    found = [item for item in items if item["metadata"]["name"] in names]
    for name in names:
        if name not in [item["metadata"]["name"] for item in found]:
            print(f'Error from server (NotFound): {resource} "{name}" not found', file=sys.stderr)
            code = 1
    items = found
print(json.dumps({**listed, "items": items}, indent=4))
sys.exit(code)
"""

NOT_SERVED = (
    "netpolscan: note: cluster kind-shop: not served, nothing to read: routes.route.openshift.io, "
    "clusternetworkpolicies.policy.networking.k8s.io, adminnetworkpolicies.policy.networking.k8s.io, "
    "baselineadminnetworkpolicies.policy.networking.k8s.io, tiers.projectcalico.org, "
    "globalnetworkpolicies.projectcalico.org, globalnetworksets.projectcalico.org, "
    "hostendpoints.projectcalico.org, networkpolicies.projectcalico.org, networksets.projectcalico.org, "
    "ciliumcidrgroups.cilium.io"
)
CCNP_FORBIDDEN = (
    "netpolscan: warning: cluster kind-shop: cannot list ciliumclusterwidenetworkpolicies.cilium.io "
    '(forbidden: User "system:serviceaccount:ci:netpolscan" cannot list resource '
    '"ciliumclusterwidenetworkpolicies" in API group "cilium.io" at the cluster scope); these policies are '
    "left out, so the verdicts may be wrong"
)


class Kubectl:
    """The stand-in's settings and the calls it received."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = directory / "calls.jsonl"
        self.monkeypatch = monkeypatch
        self.recording = RECORDING

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return calls

    def set(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(f"FAKE_KUBECTL_{name}", value)

    def record_in(self, directory: Path) -> None:
        """Replay a copy of the recordings (that a test may change) from ``directory``."""
        shutil.copytree(RECORDING, directory)
        self.recording = directory
        self.set("DIR", str(directory))


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(f"#!{sys.executable} -S\n{STAND_IN}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    stand_in = Kubectl(tmp_path, monkeypatch)
    stand_in.set("DIR", str(RECORDING))
    stand_in.set("LOG", str(stand_in.log))
    stand_in.set("CONTEXTS", "kind-shop,kind-staging")
    for name in ("FORBID", "UNREACHABLE", "DISCOVERY"):
        monkeypatch.delenv(f"FAKE_KUBECTL_{name}", raising=False)
    return stand_in


Run = Callable[..., CliResult]


def gets(calls: list[list[str]]) -> dict[str, list[list[str]]]:
    """The `get` calls by resource (the flags after the resource name)."""
    found: dict[str, list[list[str]]] = {}
    for call in calls:
        args = call[2:] if call[:1] == ["--context"] else call
        if args[:1] == ["get"]:
            found.setdefault(args[1], []).append(args[2:])
    return found


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- scan -------------------------------------------------------------------------------------------------


def test_scan_reads_every_kind_once_and_points_into_the_cluster(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("scan", "--from-cluster", "--format", "json")
    assert result.exit_code == 1
    assert lines(result.stderr) == [CCNP_FORBIDDEN, NOT_SERVED]
    calls = kubectl.calls()
    assert calls[0] == ["config", "current-context"]  # the name the findings' paths carry
    assert calls[1] == ["api-resources", "-o", "name"]  # what is not served is not asked for
    by_resource = gets(calls)
    # one call per resource; namespaced ones across every namespace, cluster-scoped ones without a flag
    assert all(len(flags) == 1 for flags in by_resource.values())
    assert by_resource["pods"] == [["-o", "json", "--all-namespaces"]]
    assert by_resource["networkpolicies.networking.k8s.io"] == [["-o", "json", "--all-namespaces"]]
    assert by_resource["ciliumnetworkpolicies.cilium.io"] == [["-o", "json", "--all-namespaces"]]
    assert by_resource["namespaces"] == [["-o", "json"]]
    assert by_resource["ciliumclusterwidenetworkpolicies.cilium.io"] == [["-o", "json"]]
    assert not any("calico" in resource for resource in by_resource)
    assert "clusternetworkpolicies.policy.networking.k8s.io" not in by_resource
    report = json.loads(result.stdout)
    where = {(f["ruleId"], f["location"]["path"], f["location"]["line"]) for f in report["findings"]}
    assert ("NPS201", "cluster://kind-shop/shop/NetworkPolicy/web-ingress", 15) in where
    assert ("NPS401", "cluster://kind-shop/kube-system/Deployment/coredns", 1) in where
    # the workloads stand for their ReplicaSets and pods: nothing is reported twice
    paths = {f["location"]["path"] for f in report["findings"]}
    assert not any("/Pod/" in path or "/ReplicaSet/" in path for path in paths)
    notes = [(n["level"], n["message"]) for n in report["notifications"]]
    assert notes == [
        ("warning", CCNP_FORBIDDEN.removeprefix("netpolscan: warning: ")),
        ("note", NOT_SERVED.removeprefix("netpolscan: note: ")),
    ]


def test_when_discovery_fails_every_kind_is_asked_for(kubectl: Kubectl, run_cli: Run) -> None:
    """An aggregated API that is down makes `kubectl api-resources` fail: each resource is then listed,
    and the ones the cluster does not serve answer `the server doesn't have a resource type`."""
    kubectl.set("DISCOVERY", "partial")
    result = run_cli("scan", "--from-cluster", "-n", "shop")
    assert result.exit_code == 1
    assert lines(result.stderr) == [CCNP_FORBIDDEN, NOT_SERVED]
    by_resource = gets(kubectl.calls())
    # Calico through its API server first, then as its CRDs store it
    assert by_resource["networkpolicies.projectcalico.org"] == [["-o", "json", "-n", "shop"]]
    assert by_resource["networkpolicies.crd.projectcalico.org"] == [["-o", "json", "-n", "shop"]]
    assert by_resource["clusternetworkpolicies.policy.networking.k8s.io"] == [["-o", "json"]]


class _KubectlYaml(yaml.SafeDumper):
    """YAML as kubectl writes it: keys sorted, a string of several lines as a literal block."""


_KubectlYaml.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def test_every_field_is_at_its_line_of_kubectl_get_o_yaml() -> None:
    """The marks laid out for a cluster object are those of reading the object written as YAML."""
    from netpolscan.sources.cluster import _document
    from netpolscan.sources.yamlparse import parse_text

    objects = [
        item
        for path in sorted(RECORDING.glob("*.json"))
        for item in json.loads(path.read_text()).get("items", ())
    ]
    objects.append({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shapes", "namespace": "shop"},
        "data": {"block": "one\ntwo", "ends": "one\n", "empty": "", "list": [], "map": {}, "none": None,
                 "nested": [[1, 2], [{"a": 1, "b": [3]}], "x\ny", {}], "yes": True},
    })  # fmt: skip
    assert len(objects) > 30
    for item in objects:
        document = _document(json.loads(json.dumps(item)), "kind-shop")
        assert "managedFields" not in document.data["metadata"]
        written = yaml.dump(document.data, Dumper=_KubectlYaml, sort_keys=True, width=1 << 30)
        (read,) = parse_text(written, "kubectl-get.yaml")
        for pointer in every_pointer(document.data):
            assert document.position(pointer) == read.position(pointer), (item["metadata"]["name"], pointer)


def test_namespaces_and_context_reach_kubectl(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("scan", "--from-cluster", "--context", "kind-shop", "-n", "shop", "-n", "payments")
    assert result.exit_code == 1
    calls = kubectl.calls()
    assert all(call[:2] == ["--context", "kind-shop"] for call in calls)
    assert ["config", "current-context"] not in [call[2:] for call in calls]
    by_resource = gets(calls)
    assert by_resource["namespaces"] == [["shop", "payments", "-o", "json"]]
    assert sorted(by_resource["pods"]) == [["-o", "json", "-n", "payments"], ["-o", "json", "-n", "shop"]]
    assert by_resource["nodes"] == [["-o", "json"]]  # cluster-scoped: read once whatever the namespaces
    assert not any("--all-namespaces" in flags for each in by_resource.values() for flags in each)
    assert "kube-system" not in result.stdout and "cluster://kind-shop/shop/" in result.stdout
    # not NPS509 for payments/db: the CiliumNetworkPolicy admits shop/api on the database's port
    assert "NPS509" not in result.stdout
    assert result.stdout.endswith("Found 3 findings (0 errors, 2 warnings, 1 note).\n")


def test_scan_sarif_names_the_cluster_objects(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("scan", "--from-cluster", "--format", "sarif", "--select", "NPS201")
    assert result.exit_code == 1
    run = json.loads(result.stdout)["runs"][0]
    (found,) = run["results"]
    physical = found["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "cluster%3A/kind-shop/shop/NetworkPolicy/web-ingress"
    assert physical["region"]["startLine"] == 15
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notifications] == ["warning", "note"]


# --- what cannot be read --------------------------------------------------------------------------------


def test_a_forbidden_network_policy_list_is_loud_and_the_rest_is_analysed(
    kubectl: Kubectl, run_cli: Run
) -> None:
    kubectl.set("FORBID", "networkpolicies.networking.k8s.io")
    forbidden = (
        'cluster kind-shop: cannot list networkpolicies.networking.k8s.io (forbidden: User "ci" cannot '
        'list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope); these '
        "policies are left out, so the verdicts may be wrong"
    )
    result = run_cli("connectivity", "--from-cluster", "-n", "shop")
    assert result.exit_code == 0
    assert lines(result.stderr)[0] == f"netpolscan: warning: {forbidden}"
    # without its NetworkPolicies shop is open: the verdicts say so, they are not silently empty
    assert "0.0.0.0-255.255.255.255[External] => shop/api[Deployment] : All Connections" in result.stdout
    strict = run_cli("connectivity", "--from-cluster", "-n", "shop", "--strict")
    assert strict.exit_code == 2
    assert lines(strict.stderr) == [f"netpolscan: error: {forbidden}; --strict stops here"]
    assert strict.stdout == ""


def test_only_missing_permissions_that_change_verdicts_are_warnings(kubectl: Kubectl, run_cli: Run) -> None:
    kubectl.set("FORBID", "nodes,pods")
    result = run_cli("connectivity", "--from-cluster", "-n", "payments")
    assert result.exit_code == 0
    assert lines(result.stderr)[:2] == [
        'netpolscan: warning: cluster kind-shop: cannot list pods (forbidden: User "ci" cannot list '
        'resource "pods" in API group "" at the cluster scope); the analysis does not see these objects',
        'netpolscan: note: cluster kind-shop: cannot list nodes (forbidden: User "ci" cannot list '
        'resource "nodes" in API group "" at the cluster scope); the analysis goes on without them',
    ]


@pytest.mark.parametrize(
    ("setting", "arguments", "message"),
    [
        (
            None,
            ["--context", "kind-prod"],
            'kubectl --context kind-prod get namespaces -o json: context "kind-prod" does not exist',
        ),
        (
            "UNREACHABLE",
            [],
            "kubectl get namespaces -o json: The connection to the server 127.0.0.1:6443 was refused - did you "
            "specify the right host or port?",
        ),
        (
            None,
            ["-n", "shop", "-n", "shops"],
            'kubectl get namespaces shop shops -o json: Error from server (NotFound): namespaces "shops" not found',
        ),
    ],
)
def test_a_cluster_that_cannot_be_read_stops_the_run(
    kubectl: Kubectl, run_cli: Run, setting: str | None, arguments: list[str], message: str
) -> None:
    if setting:
        kubectl.set(setting, "1")
    for command in (["scan"], ["connectivity"], ["explain", "--src", "shop/web", "--dst", "shop/api"]):
        result = run_cli(*command, "--from-cluster", *arguments)
        assert (result.exit_code, result.stdout) == (2, "")
        assert lines(result.stderr) == [f"netpolscan: error: --from-cluster: {message}"]


def test_without_kubectl_on_path(kubectl: Kubectl, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(RENDERED))
    result = run_cli("scan", "--from-cluster")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "netpolscan: error: --from-cluster needs kubectl on PATH (not found)\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["scan", str(RENDERED), "--from-cluster"],
            "--from-cluster reads the cluster instead of PATH..., --kustomize or --helm",
        ),
        (
            ["connectivity", str(RENDERED), "--from-cluster"],
            "--from-cluster reads the cluster instead of PATH...: give one or the other",
        ),
        (["connectivity"], "nothing to read: give PATH... (or - for stdin), or --from-cluster"),
        (
            ["connectivity", str(RENDERED), "--context", "kind-shop"],
            "--context applies only with --from-cluster",
        ),
        (
            ["scan", str(RENDERED), "-n", "shop", "-n", "payments"],
            "--namespace is given once for files (the namespace of objects that have none); repeat it with "
            "--from-cluster to read several namespaces",
        ),
        (
            ["diff", str(RENDERED), str(RENDERED), "--from-cluster"],
            "--from-cluster is HEAD: give BASE only (or name the sides, e.g. cluster:)",
        ),
        (
            ["diff", str(RENDERED)],
            "missing HEAD: give BASE HEAD, or BASE --from-cluster to compare it with the cluster",
        ),
        (
            ["diff", str(RENDERED), str(RENDERED), "--context", "kind-shop"],
            "--context applies to a cluster side: use it with --from-cluster or cluster:",
        ),
    ],
)
def test_usage_errors(kubectl: Kubectl, run_cli: Run, arguments: list[str], message: str) -> None:
    result = run_cli(*arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"netpolscan: error: {message}\n")
    assert kubectl.calls() == []


# --- connectivity and explain ---------------------------------------------------------------------------


def test_connectivity_of_the_cluster(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("connectivity", "--from-cluster", "-n", "shop", "-n", "payments")
    assert result.exit_code == 0
    # the Node's address is known in the cluster: Cilium lets a node reach the endpoints it runs
    assert lines(result.stdout) == [
        "0.0.0.0-172.18.0.2[External] => shop/web[Deployment] : TCP 8080",
        "172.18.0.3-172.18.0.3[External] => payments/db[Deployment] : All Connections",
        "172.18.0.3-172.18.0.3[External] => shop/web[Deployment] : TCP 8080",
        "172.18.0.4-255.255.255.255[External] => shop/web[Deployment] : TCP 8080",
        "payments/db[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections",
        "payments/db[Deployment] => shop/web[Deployment] : TCP 8080",
        "shop/api[Deployment] => payments/db[Deployment] : TCP 5432",
        "shop/web[Deployment] => shop/api[Deployment] : TCP 8080",
    ]
    bootstrap = run_cli("connectivity", "--from-cluster", "-n", "shop", "--format", "expectations")
    assert bootstrap.exit_code == 0 and "cluster://kind-shop" in bootstrap.stdout


def test_explain_names_the_cluster_objects_that_decide(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli(
        "explain", "--from-cluster", "--context", "kind-shop", "--src", "shop/api", "--dst", "payments/db",
        "--port", "5432/TCP",
    )  # fmt: skip
    assert result.exit_code == 0
    out = lines(result.stdout)
    assert out[:2] == ["Connection shop/api[Deployment] => payments/db[Deployment]", "TCP 5432: ALLOWED"]
    assert (
        "  - shop/api-egress-db egress rule 1 (cluster://kind-shop/shop/NetworkPolicy/api-egress-db:15): TCP 5432"
        in out
    )
    assert (
        "  - namespace tier: CiliumNetworkPolicy payments/db-from-shop-api ingress rule 1: allow "
        "(cluster://kind-shop/payments/CiliumNetworkPolicy/db-from-shop-api:15): TCP 5432" in out
    )


# --- diff: the drift report -----------------------------------------------------------------------------


def test_a_rendered_directory_equal_to_the_cluster_has_no_drift(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("diff", str(RENDERED), "--from-cluster", "-n", "shop", "-n", "payments", "--fail-on-new")
    assert result.exit_code == 0
    assert result.stdout == (
        f"No drift: cluster kind-shop allows exactly the connections git ({RENDERED}) allows.\n"
    )
    assert "nodes" not in gets(kubectl.calls())  # git holds no Node: the cluster's are not compared


def test_drift_both_ways(kubectl: Kubectl, run_cli: Run, tmp_path: Path) -> None:
    git = tmp_path / "git"
    shutil.copytree(RENDERED, git)
    policies = git / "shop" / "policies.yaml"
    documents = [d for d in yaml.safe_load_all(policies.read_text()) if d["metadata"]["name"] != "web-to-api"]
    documents.append({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "metrics", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [{"ports": [{"port": 9100}]}]},
    })  # fmt: skip
    policies.write_text(yaml.safe_dump_all(documents))
    result = run_cli("diff", str(git), "--from-cluster", "-n", "shop", "-n", "payments")
    assert result.exit_code == 0
    assert lines(result.stdout) == [
        f"Allowed by cluster kind-shop, not by git ({git}):",
        "  shop/web[Deployment] => shop/api[Deployment] : TCP 8080",
        f"Allowed by git ({git}), not by cluster kind-shop:",
        "  0.0.0.0-255.255.255.255[External] => shop/api[Deployment] : TCP 9100",
        "  payments/db[Deployment] => shop/api[Deployment] : TCP 9100",
    ]
    assert (
        run_cli("diff", str(git), "--from-cluster", "-n", "shop", "-n", "payments", "--fail-on-new").exit_code
        == 1
    )
    # the cluster as BASE: the same drift, the sides named the other way round
    reverse = run_cli("diff", "cluster:kind-shop", str(git), "-n", "shop", "-n", "payments")
    assert lines(reverse.stdout)[0] == f"Allowed by git ({git}), not by cluster kind-shop:"
    assert sorted(map(tuple, gets(kubectl.calls())["pods"])) == [  # three runs, calls in parallel
        *[("-o", "json", "-n", "payments")] * 3,
        *[("-o", "json", "-n", "shop")] * 3,
    ]


def test_two_clusters(kubectl: Kubectl, run_cli: Run) -> None:
    result = run_cli("diff", "cluster:kind-staging", "cluster:", "--context", "kind-shop", "-n", "shop")
    assert result.exit_code == 0
    assert (
        result.stdout
        == "No drift: cluster kind-shop allows exactly the connections cluster kind-staging allows.\n"
    )
    contexts = {call[1] for call in kubectl.calls() if call[0] == "--context"}
    assert contexts == {"kind-staging", "kind-shop"}


# --- reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("discovery", ["complete", "partial"])
def test_calico_is_read_as_its_crds_store_it_when_it_has_no_api_server(
    kubectl: Kubectl, run_cli: Run, tmp_path: Path, discovery: str
) -> None:
    kubectl.set("DISCOVERY", discovery)
    kubectl.record_in(tmp_path / "recording")
    errors = json.loads((kubectl.recording / "errors.json").read_text())
    del errors["globalnetworkpolicies.crd.projectcalico.org"]
    (kubectl.recording / "errors.json").write_text(json.dumps(errors))
    policy = {
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "default.deny-web", "uid": "6f1c", "resourceVersion": "881", "managedFields": []},
        "spec": {
            "tier": "default", "order": 100, "selector": "app == 'web'", "types": ["Ingress"],
            "ingress": [{"action": "Deny", "protocol": "TCP", "destination": {"ports": [8080]}}],
        },
    }  # fmt: skip
    listed = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [policy]}
    (kubectl.recording / "globalnetworkpolicies.crd.projectcalico.org.json").write_text(json.dumps(listed))
    result = run_cli("connectivity", "--from-cluster", "-n", "shop", "-n", "payments")
    assert result.exit_code == 0
    assert "=> shop/web" not in result.stdout  # the Calico policy denies every way in
    assert "shop/web[Deployment] => shop/api[Deployment] : TCP 8080" in result.stdout
    tried = [resource for resource in gets(kubectl.calls()) if resource.startswith("globalnetworkpolicies")]
    crd = "globalnetworkpolicies.crd.projectcalico.org"
    assert tried == ([crd] if discovery == "complete" else ["globalnetworkpolicies.projectcalico.org", crd])
    assert "globalnetworkpolicies" not in result.stderr


def test_owned_workloads_and_ended_pods_are_left_out(kubectl: Kubectl, tmp_path: Path) -> None:
    from netpolscan.sources.cluster import read_cluster

    kubectl.record_in(tmp_path / "recording")
    pods = json.loads((kubectl.recording / "pods.json").read_text())
    owned = pods["items"][0]
    debug = {
        **owned,
        "metadata": {"name": "debug", "namespace": "shop", "uid": "1", "labels": {"run": "debug"}},
    }
    done = {**debug, "metadata": {**debug["metadata"], "name": "migrate"}, "status": {"phase": "Succeeded"}}
    static = {**owned, "metadata": {**owned["metadata"], "namespace": "shop", "name": "etcd-kind", "ownerReferences": [
        {"apiVersion": "v1", "controller": True, "kind": "Node", "name": "kind-worker", "uid": "2"}]}}  # fmt: skip
    pods["items"] += [debug, done, static]
    (kubectl.recording / "pods.json").write_text(json.dumps(pods))
    found = read_cluster((), "kind-shop", ["shop"])
    paths = [doc.path for doc in found.documents if "/Pod/" in doc.path or "/ReplicaSet/" in doc.path]
    assert paths == ["cluster://kind-shop/shop/Pod/debug", "cluster://kind-shop/shop/Pod/etcd-kind"]
    assert all("managedFields" not in doc.data["metadata"] for doc in found.documents)


def test_a_plugin_kind_names_its_resources(
    kubectl: Kubectl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third party's kind lists plain `kubectl get` names in `cluster_resources`."""
    import netpolscan.scan
    from netpolscan.cli.cluster_input import read_cluster_input

    class Firewalls:
        name = "acme-firewall"
        cluster_resources = ("firewalls.firewall.acme.example",)

    monkeypatch.setattr(netpolscan.scan, "available_kinds", lambda blocked=(): [Firewalls()])
    kubectl.record_in(tmp_path / "recording")
    firewall = {
        "apiVersion": "firewall.acme.example/v1",
        "kind": "Firewall",
        "metadata": {"name": "edge", "namespace": "shop", "uid": "9", "managedFields": []},
        "spec": {"deny": ["0.0.0.0/0"]},
    }
    listed = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [firewall]}
    (kubectl.recording / "firewalls.firewall.acme.example.json").write_text(json.dumps(listed))
    found = read_cluster_input(None, ["shop"])
    assert "cluster://kind-shop/shop/Firewall/edge" in [doc.path for doc in found.documents]
    assert gets(kubectl.calls())["firewalls.firewall.acme.example"] == [["-o", "json", "-n", "shop"]]
