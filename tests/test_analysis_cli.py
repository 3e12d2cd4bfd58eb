"""The connectivity, explain and diff commands: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.cli import main
from tests.conftest import CliResult

MINIMAL = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: default}
spec: {template: {metadata: {labels: {app: frontend}}, spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: default}
spec: {template: {metadata: {labels: {app: backend}}, spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend, namespace: default}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: 8080}]}]
"""


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(MINIMAL)
    return path


def test_connectivity_formats(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectivity", str(base)]) == 0
    out = capsys.readouterr().out
    assert "default/frontend[Deployment] => default/backend[Deployment] : TCP 8080\n" in out
    assert main(["connectivity", str(base), "-f", "json", "--focus-workload", "backend"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("default/backend[Deployment]" in (r["src"], r["dst"]) for r in rows)
    assert main(["connectivity", str(base), "-f", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")


def test_explain_command(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["explain", str(base), "--src", "default/frontend", "--dst", "default/backend", "--port", "80"])
        == 0
    )
    out = capsys.readouterr().out
    assert "TCP 80: DENIED" in out and "Missing: ingress at the destination" in out
    assert main(["explain", str(base), "--src", "default/frontnd", "--dst", "default/backend"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "closest: default/frontend" in err


def test_diff_command(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = tmp_path / "head.yaml"
    head.write_text(MINIMAL.replace("ports: [{port: 8080}]", "ports: [{port: 8080}, {port: 9090}]"))
    assert main(["diff", str(base), str(head)]) == 0
    assert "ref1: TCP 8080, ref2: TCP 8080,9090" in capsys.readouterr().out
    assert main(["diff", str(base), str(head), "--fail-on-new"]) == 1
    capsys.readouterr()
    assert main(["diff", str(base), str(head), "-f", "sarif"]) == 0
    log = json.loads(capsys.readouterr().out)
    results = log["runs"][0]["results"]
    assert results and results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n")
    assert main(["diff", str(base), str(broken)]) == 0  # left out and named on stderr (issue 14 item 2)
    assert "HEAD input" in capsys.readouterr().err
    assert main(["diff", str(base), str(broken), "--strict"]) == 2
    assert "HEAD input" in capsys.readouterr().err


def test_diff_sarif_points_at_the_head_rule_that_opens_the_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo"
    head = tmp_path / "head"
    head.mkdir()
    for source in demo.glob("*.yaml"):
        (head / source.name).write_text(source.read_text())
    policies = head / "policies.yaml"
    policies.write_text(
        policies.read_text().replace(
            "          role: frontend\n    ports:",
            "          role: frontend\n    - podSelector:\n        matchLabels:\n          role: db\n    ports:",
            1,
        )
    )
    code = main(["diff", str(demo), str(head), "--format", "sarif", "--fail-on-new"])
    assert code == 1
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert (
        "default/payments-db[Deployment] => default/backend[Deployment] : TCP 8080"
        in result["message"]["text"]
    )
    assert "ingress rule 1 of NetworkPolicy default/backend-allow-frontend" in result["message"]["text"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert policies.read_text().splitlines()[region["startLine"] - 1].strip() == "- from:"


def test_explain_numbers_rules_from_one_as_scan_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 item 11: `explain` and `scan` name the same rule with the same (1-based) number."""
    path = tmp_path / "web.yaml"
    path.write_text(
        MINIMAL
        + """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-egress, namespace: default}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: backend}}}], ports: [{port: 8080}]},
           {to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]
"""
    )
    assert main(["explain", str(path), "--src", "default/frontend", "--dst", "default/backend"]) == 0
    out = capsys.readouterr().out
    assert "default/frontend-egress egress rule 1 (" in out and "default/backend ingress rule 1 (" in out
    assert "rule #0" not in out and "rule 0 " not in out
    main(["scan", str(path), "--select", "NPS302"])
    assert "NetworkPolicy default/frontend-egress egress rule 2 allows ipBlock" in capsys.readouterr().out


def test_diff_sarif_rules_are_listed_and_documented(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 item 12: every rule `diff --format sarif` emits is in `netpolscan rules` and has a doc."""
    head = tmp_path / "head.yaml"
    head.write_text(MINIMAL.replace("ports: [{port: 8080}]", "ports: [{port: 8080}, {port: 9090}]"))
    assert main(["diff", str(base), str(head), "-f", "sarif"]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][0]
    emitted = {result["ruleId"] for result in run["results"]}
    assert emitted == {"NPS790"}
    assert main(["rules", "--format", "json"]) == 0
    listed = {rule["id"]: rule for rule in json.loads(capsys.readouterr().out)}
    assert emitted <= set(listed) and listed["NPS790"]["plugin"] == "builtin"
    [descriptor] = run["tool"]["driver"]["rules"]
    assert descriptor["helpUri"].endswith("/rules/NPS790-connection-newly-allowed.md")
    repo = Path(__file__).resolve().parent.parent
    assert (repo / "rules" / "NPS790-connection-newly-allowed.md").is_file()
    assert descriptor["shortDescription"]["text"] == listed["NPS790"]["summary"]


def test_connectivity_explain_and_diff_read_the_config_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., CliResult]
) -> None:
    """Like scan, the connectivity commands place objects without a namespace where .netpolscan.yaml says."""
    (tmp_path / ".netpolscan.yaml").write_text("namespace: shop\n")
    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n"
        "spec: {containers: [{name: c, image: i}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("connectivity", str(manifests))
    assert result.exit_code == 0, result.stderr
    assert "shop/web[Pod]" in result.stdout
    result = run_cli("explain", str(manifests), "--src", "shop/web", "--dst", "8.8.8.8")
    assert result.exit_code == 0, result.stderr
    result = run_cli("connectivity", str(manifests), "--namespace", "other")
    assert "other/web[Pod]" in result.stdout
    (tmp_path / ".netpolscan.yaml").write_text("namespace: [not, a, name]\n")
    result = run_cli("connectivity", str(manifests))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_explain_says_when_an_address_is_in_the_configured_cluster_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., CliResult]
) -> None:
    """cluster.podCIDRs / serviceCIDRs of .netpolscan.yaml: an address given to explain that is a pod's or a
    cluster IP gets a note saying what policies make of it; other addresses get none."""
    (tmp_path / ".netpolscan.yaml").write_text(
        "cluster:\n  podCIDRs: [10.244.0.0/16]\n  serviceCIDRs: [10.96.0.0/12, 'fd00:10:96::/112']\n"
    )
    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n"
        "spec: {containers: [{name: c, image: i}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    pod = run_cli("explain", str(manifests), "--src", "default/web", "--dst", "10.244.3.9")
    assert pod.exit_code == 0, pod.stderr
    assert pod.stderr.strip() == (
        "netpolscan: note: --dst 10.244.3.9 is in the cluster's pod range 10.244.0.0/16 (cluster.podCIDRs): "
        "the address of a pod, which ipBlock rules match or not depending on the CNI; name the workload "
        "(NS/NAME) instead"
    )
    service = run_cli("explain", str(manifests), "--src", "fd00:10:96::a", "--dst", "default/web")
    assert "--src fd00:10:96::a is in the cluster's Service range fd00:10:96::/112" in service.stderr
    outside = run_cli("explain", str(manifests), "--src", "default/web", "--dst", "8.8.8.8")
    assert outside.exit_code == 0 and outside.stderr == ""
