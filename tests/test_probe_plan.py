"""The probe plan: Kubernetes-valid Jobs carrying the source's labels, and a script that reports PASS/FAIL."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.expectations import load_expectations
from netpolscan.expectations.probe import render_plan, resource_name
from netpolscan.model.loading import load_inventory
from tests.conftest import REPO, CliResult, corpus_path

DEMO = REPO / "examples" / "demo"
DEMO_EXPECTATIONS = REPO / "examples" / "expectations" / "demo-expectations.yaml"
KUBERNETES_VERSION = "1.30"


def demo_plan(image: str = "busybox:1.36") -> list[dict[str, Any]]:
    text = render_plan(load_inventory([str(DEMO)]), load_expectations(str(DEMO_EXPECTATIONS)), image)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def validate_all(docs: list[dict[str, Any]]) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate not installed (pip install -e .[test])"
    )
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)  # raises on any error


def test_demo_plan_validates_against_the_kubernetes_schemas() -> None:
    docs = demo_plan()
    assert sorted({d["kind"] for d in docs}) == ["ConfigMap", "Job"]
    validate_all(docs)


def test_invalid_manifest_is_caught_by_the_validator() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    job = by_kind(demo_plan(), "Job")["netpolscan-probe-frontend"]
    job["spec"]["template"]["spec"]["restartPolicy"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_jobs_carry_the_source_pod_labels_in_its_namespace() -> None:
    jobs = by_kind(demo_plan(), "Job")
    assert set(jobs) == {"netpolscan-probe-frontend", "netpolscan-probe-backend"}
    frontend = jobs["netpolscan-probe-frontend"]
    assert frontend["metadata"]["namespace"] == "default"
    assert frontend["spec"]["template"]["metadata"]["labels"] == {"role": "frontend"}
    assert frontend["spec"]["backoffLimit"] == 0
    container = frontend["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "busybox:1.36"
    assert (
        frontend["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "netpolscan-probe-frontend"
    )


def test_script_probes_services_ports_and_placeholders() -> None:
    maps = by_kind(demo_plan(), "ConfigMap")
    script = maps["netpolscan-probe-frontend"]["data"]["probe.sh"]
    # the backend has a Service: its DNS name on the Service port that targets pod port 8080
    assert "check 1 allow TCP 'backend.default.svc' 8080 " in script
    # no Service selects the database: a variable holding a placeholder for its pod IP
    assert 'check 2 deny TCP "${ADDR_DEFAULT_PAYMENTS_DB}" 5432 ' in script
    # a cidr destination: one address of the range, overridable
    assert 'check 4 allow TCP "${ADDR_CIDR_0_0_0_0_0}" 443 ' in script
    assert 'nc $flags -w "$TIMEOUT"' in script
    env = by_kind(demo_plan(), "Job")["netpolscan-probe-frontend"]["spec"]["template"]["spec"]["containers"][
        0
    ]["env"]
    assert {"name": "ADDR_CIDR_0_0_0_0_0", "value": "1.1.1.1"} in env
    assert {"name": "ADDR_DEFAULT_PAYMENTS_DB", "value": "<pod IP of default/payments-db>"} in env
    # ports omitted in entry 3: the destination's declared container ports
    assert (
        'check 3 deny TCP "${ADDR_DEFAULT_FRONTEND}" 80 '
        in maps["netpolscan-probe-backend"]["data"]["probe.sh"]
    )


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh")
def test_script_reports_pass_fail_and_exit_code(tmp_path: Path) -> None:
    """Run the generated script with a stub `nc` that connects only to port 8080."""
    script = by_kind(demo_plan(), "ConfigMap")["netpolscan-probe-frontend"]["data"]["probe.sh"]
    (tmp_path / "probe.sh").write_text(script)
    stub = tmp_path / "bin" / "nc"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nfor last; do :; done\n[ "$last" = 8080 ]\n')
    stub.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{stub.parent}{os.pathsep}{os.environ['PATH']}",
        "ADDR_DEFAULT_PAYMENTS_DB": "10.0.0.9",
        "ADDR_CIDR_0_0_0_0_0": "1.1.1.1",
    }
    run = subprocess.run(
        ["sh", str(tmp_path / "probe.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    lines = run.stdout.splitlines()
    assert lines[0].startswith("PASS entry 1 allow TCP backend.default.svc:8080")
    assert lines[1].startswith("PASS entry 2 deny TCP 10.0.0.9:5432")
    assert lines[2].startswith("FAIL entry 4 expected allow, got deny: TCP 1.1.1.1:443")
    assert lines[-1] == "netpolscan probe plan: 1 failed"
    assert run.returncode != 0
    # with the placeholder left in place, the probe is skipped (not a pass, not a failure)
    env.pop("ADDR_DEFAULT_PAYMENTS_DB")
    env["ADDR_DEFAULT_PAYMENTS_DB"] = "<pod IP of default/payments-db>"
    stub.write_text("#!/bin/sh\nexit 0\n")
    run = subprocess.run(
        ["sh", str(tmp_path / "probe.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert "SKIP entry 2 deny TCP 5432" in run.stdout
    assert run.returncode == 0


def test_resource_names_are_dns_labels() -> None:
    assert resource_name("default", "Web_App") == "netpolscan-probe-web-app"
    long = resource_name("default", "x" * 80)
    assert len(long) <= 63 and long != resource_name("other", "x" * 80)


def test_cli_probe_plan(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "plan.yaml"
    result = run_cli(
        "probe-plan",
        str(DEMO),
        "--expectations",
        str(DEMO_EXPECTATIONS),
        "--image",
        "nicolaka/netshoot:v0.13",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in docs if d["kind"] == "Job"}
    assert images == {"nicolaka/netshoot:v0.13"}
    assert out.read_text().startswith("# netpolscan probe plan for ")
    validate_all(docs)


def test_plan_for_a_bootstrapped_corpus_scenario_validates(tmp_path: Path) -> None:
    root = corpus_path()
    manifests = root / "np-recipes" / "scenarios" / "r10" / "manifests.yaml" if root else None
    if manifests is None or not manifests.is_file():
        pytest.skip("np-recipes corpus not found (set NETPOLSCAN_CORPUS)")
    from netpolscan.expectations.bootstrap import bootstrap_text

    inventory = load_inventory([str(manifests)])
    path = tmp_path / "e.yaml"
    path.write_text(bootstrap_text(inventory))
    docs = [d for d in yaml.safe_load_all(render_plan(inventory, load_expectations(str(path)))) if d]
    assert docs
    validate_all(docs)
