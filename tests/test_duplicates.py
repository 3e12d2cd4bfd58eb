"""An object defined twice in one input is reported (NPS007) and modelled once (issue 14, item 3).

A repository scan of a project that publishes several install variants (a cluster-wide install.yaml, a
namespace-install.yaml, an ha/ variant) sees most objects two or three times. Only the first definition
in input order is analysed, so nothing is counted twice and no policy is "redundant" with its own copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netpolscan.model.inventory import Inventory
from netpolscan.sources.yamlparse import parse_text


def component(name: str, port: int, extra_ports: str = "") -> str:
    """A Deployment and the NetworkPolicy admitting its clients, as an install manifest defines them."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: deployer
spec:
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}}}
    spec:
      containers:
      - name: main
        image: registry.example/deployer:v2.9.3
        ports: [{{containerPort: {port}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}-network-policy
  namespace: deployer
spec:
  podSelector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  policyTypes: [Ingress]
  ingress:
  - ports:
    - {{port: {port}, protocol: TCP}}{extra_ports}
"""


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: deployer\n"
CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: deployer-application-controller
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: ['*']
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """install.yaml (cluster-wide), namespace-install.yaml (no ClusterRole) and ha/install.yaml (its
    server policy opens one more port: a different definition of the same object)."""
    root = tmp_path / "manifests"
    (root / "ha").mkdir(parents=True)
    server, repo_server = component("deployer-server", 8080), component("deployer-repo-server", 8081)
    (root / "install.yaml").write_text("---\n".join([NAMESPACE, CLUSTER_ROLE, server, repo_server]))
    (root / "namespace-install.yaml").write_text("---\n".join([server, repo_server]))
    ha_server = component("deployer-server", 8080, "\n    - {port: 8083, protocol: TCP}")
    (root / "ha" / "install.yaml").write_text("---\n".join([CLUSTER_ROLE, ha_server, repo_server]))
    return root


def scan(run_cli: Callable[..., Any], *args: str) -> list[dict[str, Any]]:
    result = run_cli("scan", *args, "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line of ``path`` starting with ``text``."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text)]
    return found[occurrence - 1]


def test_each_later_definition_is_nps007_pointing_at_the_first(
    run_cli: Callable[..., Any], repo: Path
) -> None:
    findings = scan(run_cli, str(repo))
    nps007 = [f for f in findings if f["ruleId"] == "NPS007"]
    # files are read in path order: ha/install.yaml first, then install.yaml (its Namespace is new, its
    # ClusterRole and 4 more are copies), then namespace-install.yaml (4 copies)
    install, namespace_install, ha = (
        repo / "install.yaml",
        repo / "namespace-install.yaml",
        repo / "ha" / "install.yaml",
    )
    assert sorted((f["location"]["path"], f["location"]["line"]) for f in nps007) == sorted(
        [(install.as_posix(), line_of(install, "apiVersion", n)) for n in range(2, 7)]
        + [(namespace_install.as_posix(), line_of(namespace_install, "apiVersion", n)) for n in range(1, 5)]
    )
    first_policy = line_of(ha, "kind: NetworkPolicy") - 1
    [server_policy] = [
        f for f in nps007
        if f["location"]["path"] == install.as_posix() and f["object"]["name"] == "deployer-server-network-policy"
    ]  # fmt: skip
    message = server_policy["message"]
    assert f"its first definition is at {ha.as_posix()}:{first_policy}" in message
    assert (
        "a different definition" in message and "only the first one (in input order) is analysed" in message
    )
    [copy] = [
        f for f in nps007
        if f["location"]["path"] == namespace_install.as_posix() and f["object"]["name"] == "deployer-server"
    ]  # fmt: skip
    assert "an identical copy" in copy["message"] and copy["level"] == "warning"
    assert copy["object"] == {"kind": "Deployment", "namespace": "deployer", "name": "deployer-server"}
    assert len({f["fingerprint"] for f in nps007}) == len(nps007)


def test_no_policy_is_redundant_with_its_own_copy(run_cli: Callable[..., Any], repo: Path) -> None:
    findings = scan(run_cli, str(repo))
    assert [f for f in findings if f["ruleId"] in ("NPS601", "NPS602")] == []
    assert len([f for f in findings if f["ruleId"] == "NPS007"]) == 9


def test_only_the_first_definition_is_modelled() -> None:
    server = component("deployer-server", 8080)
    opened = component("deployer-server", 8080, "\n    - {port: 8083, protocol: TCP}")
    text = "---\n".join([NAMESPACE, server, opened, server])  # documents 0 | 1, 2 | 3, 4 | 5, 6
    inventory = Inventory.from_documents(parse_text(text, "all.yaml"))
    assert [w.name for w in inventory.workloads] == ["deployer-server"]
    [policy] = inventory.policies
    assert policy.document is not None and policy.document.index == 2  # the first: port 8080 only
    duplicates = inventory.parsed.duplicates
    assert [(copy.index, first.index) for copy, first in duplicates] == [(3, 1), (4, 2), (5, 1), (6, 2)]
    assert not any(copy in inventory.documents for copy, _ in duplicates)


def test_the_connectivity_of_duplicated_input_is_that_of_the_first_definitions(
    run_cli: Callable[..., Any], repo: Path
) -> None:
    expected = run_cli("connectivity", str(repo / "ha" / "install.yaml"), "-f", "json").stdout
    assert "8083" in expected
    assert run_cli("connectivity", str(repo), "-f", "json").stdout == expected


def test_sarif_relates_the_copy_to_the_first_definition(run_cli: Callable[..., Any], repo: Path) -> None:
    result = run_cli(
        "scan", str(repo / "install.yaml"), str(repo / "namespace-install.yaml"), "--format", "sarif"
    )
    log = json.loads(result.stdout)
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "NPS007"]
    assert len(results) == 4
    for item in results:
        [related] = item["relatedLocations"]
        assert related["message"]["text"] == "first definition (the one analysed)"
        location = related["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("install.yaml")
        assert not location["artifactLocation"]["uri"].endswith("namespace-install.yaml")
        assert location["region"]["startLine"] >= 1


@pytest.mark.parametrize(
    ("first", "second", "duplicate"),
    [
        ("apps/v1", "apps/v1beta2", True),  # the version does not matter
        ("apps/v1", "extensions/v1beta1", False),  # another API group: another object
    ],
)
def test_identity_is_group_kind_namespace_name(first: str, second: str, duplicate: bool) -> None:
    server = component("deployer-server", 8080).split("---\n")[0]
    text = server + "---\n" + server.replace(first, second)
    inventory = Inventory.from_documents(parse_text(text, "t.yaml"))
    assert bool(inventory.parsed.duplicates) is duplicate


def test_same_name_in_another_namespace_or_default_namespace(tmp_path: Path) -> None:
    server = component("deployer-server", 8080).split("---\n")[0]
    other = server.replace("namespace: deployer", "namespace: deployer-staging")
    implicit = server.replace("  namespace: deployer\n", "")
    assert not Inventory.from_documents(parse_text(server + "---\n" + other, "t.yaml")).parsed.duplicates
    # without metadata.namespace the object is in --namespace: the same object when that is its namespace
    assert Inventory.from_documents(
        parse_text(server + "---\n" + implicit, "t.yaml"), "deployer"
    ).parsed.duplicates
    assert not Inventory.from_documents(parse_text(server + "---\n" + implicit, "t.yaml")).parsed.duplicates


def test_connectivity_names_each_later_definition_it_leaves_out(
    run_cli: Callable[..., Any], repo: Path
) -> None:
    result = run_cli("connectivity", str(repo))
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 9 and all(line.startswith("netpolscan: warning: ") for line in lines)
    ha = (repo / "ha" / "install.yaml").as_posix()
    policy = line_of(repo / "ha" / "install.yaml", "kind: NetworkPolicy") - 1
    assert (
        f"netpolscan: warning: {(repo / 'namespace-install.yaml').as_posix()}:"
        f"{line_of(repo / 'namespace-install.yaml', 'kind: NetworkPolicy') - 1}: left out of the analysis: "
        "NetworkPolicy deployer/deployer-server-network-policy is defined again (a different definition); "
        f"only its first definition ({ha}:{policy}) is analysed"
    ) in lines
    strict = run_cli("connectivity", str(repo), "--strict")
    assert strict.exit_code == 2 and strict.stderr.count("\n") == 1 and "(and 8 more)" in strict.stderr
