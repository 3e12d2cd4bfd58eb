"""Bootstrapping (`connectivity --format expectations`): valid, short, and it round-trips (no NPS701)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.analysis.ports import PortSet
from netpolscan.expectations import load_expectations
from netpolscan.expectations.bootstrap import bootstrap, bootstrap_text, port_texts
from netpolscan.model.loading import load_inventory
from netpolscan.scan import ScanOptions, scan_documents
from netpolscan.sources import load_documents
from tests.conftest import REPO, CliResult, corpus_path

DEMO = REPO / "examples" / "demo"


def _corpus_inputs() -> list[object]:
    root = corpus_path()
    if root is None:
        return [
            pytest.param(None, marks=pytest.mark.skip(reason="peer corpus not found (NETPOLSCAN_CORPUS)"))
        ]
    found = sorted((root / "np-recipes" / "scenarios").glob("*/manifests.yaml"))
    found += sorted((root / "k8s-e2e" / "cases").glob("*/manifests.yaml"))
    return [pytest.param(path, id=f"{path.parent.parent.parent.name}-{path.parent.name}") for path in found]


def round_trip(inputs: Path, tmp_path: Path) -> tuple[str, list[str]]:
    text = bootstrap_text(load_inventory([str(inputs)]))
    path = tmp_path / "expectations.yaml"
    path.write_text(text, encoding="utf-8")
    load_expectations(str(path))  # valid against the schema
    options = ScanOptions(paths=(str(inputs),), select=["NPS7"], expectations=(str(path),))
    report = scan_documents(load_documents([str(inputs)]), options)
    assert report.notifications == ()
    return text, [f"{f.rule_id} {f.message}" for f in report.findings]


def test_demo_bootstrap(tmp_path: Path) -> None:
    text, findings = round_trip(DEMO, tmp_path)
    assert findings == []
    assert (
        "- from:\n  - {namespace: default, workload: frontend}\n"
        '  to: {namespace: default, workload: backend}\n  ports: ["8080/TCP"]\n  expect: allow\n'
    ) in text
    assert (
        "- from:\n  - {namespace: default}\n  to: {namespace: default, workload: frontend}\n  expect: allow\n"
        in text
    )


@pytest.mark.parametrize("inputs", _corpus_inputs())
def test_round_trip_on_corpus(inputs: Path, tmp_path: Path) -> None:
    text, findings = round_trip(inputs, tmp_path)
    assert not [f for f in findings if f.startswith("NPS701")], findings[:3]
    # grouped per destination: at most one deny entry per destination
    entries = bootstrap(load_inventory([str(inputs)]))
    denies = [str(e["to"]) for e in entries if e["expect"] == "deny"]
    assert len(denies) == len(set(denies))


def test_bootstrap_changes_show_as_a_failing_scan(tmp_path: Path) -> None:
    """Commit today's state; a later policy change that opens the backend to every pod is caught."""
    text, _ = round_trip(DEMO, tmp_path)
    path = tmp_path / "expectations.yaml"
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "app.yaml").write_text((DEMO / "app.yaml").read_text())
    original = (DEMO / "policies.yaml").read_text()
    policies = original.replace(
        "  - from:\n    - podSelector:\n        matchLabels:\n          role: frontend\n",
        "  - from:\n    - podSelector: {}\n",
    )
    assert policies != original
    (changed / "policies.yaml").write_text(policies)
    options = ScanOptions(paths=(str(changed),), select=["NPS7"], expectations=(str(path),))
    report = scan_documents(load_documents([str(changed)]), options)
    messages = [f.message for f in report.findings if f.rule_id == "NPS701"]
    assert (
        messages
        and "default/payments-db[Deployment] -> default/backend[Deployment] is allowed on TCP 8080"
        in messages[0]
    )


def test_port_texts() -> None:
    ports = PortSet({"TCP": [(80, 80), (8000, 8100)], "UDP": [(1, 65535)]})
    assert port_texts(ports) == ["80/TCP", "8000-8100/TCP", "1-65535/UDP"]


def test_cli_format_expectations(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "e.yaml"
    result = run_cli("connectivity", str(DEMO), "--format", "expectations", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines()[4:7] == [
        "apiVersion: netpolscan.io/v1",
        "kind: ConnectivityExpectations",
        "expectations:",
    ]
    scanned = run_cli("scan", str(DEMO), "--expectations", str(out), "--select", "NPS7")
    assert scanned.exit_code == 0, scanned.stdout
    focused = run_cli("connectivity", str(DEMO), "--format", "expectations", "--focus-workload", "frontend")
    assert (
        "workload: frontend" in focused.stdout
        and "{namespace: default, workload: backend}\n  to: {namespace: default, workload: payments-db}"
        not in focused.stdout
    )
