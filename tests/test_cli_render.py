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
    assert "relatedLocations" not in nps301  # `helm template` output is no file of the checkout


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
        labels = finding["message"].rsplit("[values: ", 1)[-1].rstrip("]")
        for label in labels.split(", "):
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


DATASTORE = REPO / "tests" / "fixtures" / "charts" / "realistic" / "datastore"


def test_values_matrix_analyses_each_rendering_alone(run_cli: Run) -> None:
    """Issue 14 item 5: two renderings of one chart are two clusters, not one with every object twice."""
    _needs_helm()
    default, sink = DATASTORE / "values.yaml", DATASTORE / "values-sink.yaml"
    single = run_cli("scan", "--helm", str(DATASTORE), "--values", str(sink), "-f", "json")
    assert "NPS501" in {f["ruleId"] for f in json.loads(single.stdout)["findings"]}
    matrix = ("scan", "--helm", str(DATASTORE), "--values-matrix", str(default), "--values-matrix", str(sink))
    result = run_cli(*matrix, "-f", "json")
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    default_label, sink_label = (p.relative_to(REPO).as_posix() for p in (default, sink))
    # the NPS501 error of the sink rendering is not hidden by the other rendering's open egress
    [dns] = [f for f in findings if f["ruleId"] == "NPS501"]
    assert dns["message"].endswith(f"[values: {sink_label}]")
    # a policy is never redundant with its own copy from the other rendering
    assert not [f for f in findings if f["ruleId"] == "NPS602"]
    # one Deployment and one StatefulSet per rendering: 2 workloads, not 4
    nps101 = [f for f in findings if f["ruleId"] == "NPS101"]
    assert nps101 and all("its 2 workload(s)" in f["message"] for f in nps101)
    # a finding both renderings share is reported once, labelled with both values files
    assert len(nps101) == 1 and nps101[0]["message"].endswith(f"[values: {default_label}, {sink_label}]")
    [open_egress] = [f for f in findings if f["ruleId"] == "NPS301" and "datastore-cache" in f["message"]]
    assert open_egress["message"].endswith(f"[values: {default_label}]")
    sarif = json.loads(run_cli(*matrix, "-f", "sarif").stdout)
    properties = [r.get("properties", {}) for r in sarif["runs"][0]["results"] if r["ruleId"] == "NPS501"]
    assert properties == [{"valuesFiles": [sink_label]}]


def _sarif_uris(sarif: dict[str, object]) -> list[str]:
    runs = sarif["runs"]
    assert isinstance(runs, list)
    uris = []
    for result in runs[0]["results"]:
        for location in [*result["locations"], *result.get("relatedLocations", [])]:
            uris.append(location["physicalLocation"]["artifactLocation"]["uri"])
    return uris


@pytest.mark.parametrize("where", ["sibling", "outside"])
def test_helm_sarif_uris_are_checkout_files_whatever_the_working_directory(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """Issue 14 item 6: `--helm ../charts/x` from another directory still maps to the templates."""
    _needs_helm()
    if where == "sibling":  # e.g. run from deploy/ with the chart in ../charts/
        monkeypatch.chdir(REPO / "tests" / "fixtures" / "kustomize")
        chart = "../charts/realistic/datastore"
    else:  # from outside the checkout, with an absolute chart path
        monkeypatch.chdir(tmp_path)
        chart = str(DATASTORE)
    result = run_cli("scan", "--helm", chart, "--values", f"{chart}/values-locked.yaml", "-f", "sarif")
    assert result.exit_code == 1, result.stderr
    sarif = json.loads(result.stdout)
    uris = _sarif_uris(sarif)
    assert uris and all((REPO / uri).is_file() for uri in uris), sorted(set(uris))
    assert "tests/fixtures/charts/realistic/datastore/templates/cache-networkpolicy.yaml" in uris
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert not [m for m in messages if "not mapped" in m]


def test_packaged_dependency_findings_point_at_its_chart_yaml_entry(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sub-chart kept as `charts/NAME-VERSION.tgz` has no template file to point at: its entry does."""
    import shutil
    import tarfile

    _needs_helm()
    (tmp_path / ".git").mkdir()  # a checkout
    chart = tmp_path / "deploy" / "charts" / "datastore"
    shutil.copytree(DATASTORE, chart)
    with (chart / "Chart.yaml").open("a", encoding="utf-8") as stream:
        stream.write(
            'dependencies:\n  - name: metrics\n    version: 0.1.0\n    repository: "oci://registry.example.com/charts"\n'
        )
    sub = tmp_path / "metrics"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: metrics\nversion: 0.1.0\n", encoding="utf-8")
    (sub / "templates" / "networkpolicy.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {{ .Release.Name }}-metrics\n"
        "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - {}\n",
        encoding="utf-8",
    )
    (chart / "charts").mkdir()
    with tarfile.open(chart / "charts" / "metrics-0.1.0.tgz", "w:gz") as archive:
        archive.add(sub, arcname="metrics")
    monkeypatch.chdir(tmp_path / "deploy")
    sarif = json.loads(run_cli("scan", "--helm", "charts/datastore", "-f", "sarif").stdout)
    uris = _sarif_uris(sarif)
    assert all((tmp_path / uri).is_file() for uri in uris), sorted(set(uris))
    results = sarif["runs"][0]["results"]
    [open_egress] = [
        r for r in results if r["message"]["text"].startswith("NetworkPolicy default/release-name-metrics ")
    ]
    location = open_egress["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "deploy/charts/datastore/Chart.yaml"
    lines = (chart / "Chart.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[location["region"]["startLine"] - 1] == "  - name: metrics"
    assert "packaged archive" in open_egress["message"]["text"]
