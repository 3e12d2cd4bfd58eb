"""`scan --helm` / `--kustomize` end to end: rendering, values matrix, findings on the template line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult
from tests.sarif_validation import github_rule_errors

Run = Callable[..., CliResult]
CHART = REPO / "tests" / "fixtures" / "charts" / "shop"
KUSTOMIZE = REPO / "tests" / "fixtures" / "kustomize" / "overlays" / "prod"


def _needs_helm() -> None:
    from netpolscan.errors import NetpolscanError
    from netpolscan.sources.render import helm_backend

    try:
        helm_backend()
    except NetpolscanError as exc:
        import os

        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have a Helm renderer: {exc}")
        pytest.skip(f"no Helm renderer here (pip install 'netpolscan[helm]'): {exc}")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_helm_findings_land_on_the_template_line(run_cli: Run) -> None:
    _needs_helm()
    result = run_cli("scan", "--helm", str(CHART), "-f", "sarif")
    assert result.exit_code == 1, result.stderr
    sarif = json.loads(result.stdout)
    assert github_rule_errors(sarif) == []
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    nps301 = results["NPS301"]
    location = nps301["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "tests/fixtures/charts/shop/templates/netpol.yaml"
    template = (CHART / "templates" / "netpol.yaml").read_text().splitlines()
    assert template[location["region"]["startLine"] - 1].strip() == "- {}"  # the egress rule's "- " line
    related = nps301["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "tests/fixtures/charts/shop/(helm%20template)"


def test_values_matrix_labels_findings_with_the_values_file(run_cli: Run) -> None:
    _needs_helm()
    strict, open_ = CHART / "values-strict.yaml", CHART / "values-open.yaml"
    result = run_cli(
        "scan",
        "--helm",
        str(CHART),
        "--values-matrix",
        str(strict),
        "--values-matrix",
        str(open_),
        "-f",
        "json",
    )
    findings = json.loads(result.stdout)["findings"]
    by_file: dict[str, set[str]] = {}
    for finding in findings:
        label = finding["message"].rsplit("[values: ", 1)[-1].rstrip("]")
        by_file.setdefault(label, set()).add(finding["ruleId"])
    strict_label, open_label = (p.relative_to(REPO).as_posix() for p in (strict, open_))
    assert set(by_file) == {strict_label, open_label}
    assert "NPS301" not in by_file[strict_label]  # egress.open is false there
    assert "NPS301" in by_file[open_label]


def test_kustomize_findings_map_to_source_files(run_cli: Run) -> None:
    result = run_cli("scan", "--kustomize", str(KUSTOMIZE), "-f", "json")
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    paths = {f["location"]["path"] for f in findings}
    assert "tests/fixtures/kustomize/overlays/prod/netpol.yaml" in paths
    [f301] = [f for f in findings if f["ruleId"] == "NPS301"]
    source = Path(REPO / f301["location"]["path"]).read_text().splitlines()
    assert source[f301["location"]["line"] - 1].lstrip().startswith("- ")
    assert "(kustomize build)" in f301["location"]["rendered"]["path"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("scan",), "nothing to scan"),
        (("scan", "x.yaml", "--values", "v.yaml"), "need --helm"),
        (("scan", "--helm", "no/such/chart"), "no such chart directory"),
        (("scan", "--kustomize", "no/such/dir"), ""),
    ],
)
def test_rendering_errors_are_one_line_exit_two(run_cli: Run, args: tuple[str, ...], needle: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
