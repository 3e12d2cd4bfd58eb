"""Connectivity expectations: the file (validation, one-line errors), NPS701/NPS702, outputs, CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.errors import NetpolscanError
from netpolscan.expectations import load_expectations
from netpolscan.plugin_api import Finding, Report
from netpolscan.report import json_report, sarif, text
from netpolscan.scan import ScanOptions, scan_documents
from netpolscan.sources import load_documents
from tests.conftest import REPO, CliResult, corpus_path

DEMO = REPO / "examples" / "demo"
DEMO_EXPECTATIONS = REPO / "examples" / "expectations" / "demo-expectations.yaml"
HEADER = "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n"


def write(tmp_path: Path, body: str, name: str = "expectations.yaml") -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def scan_demo(expectations: str, inputs: Path = DEMO) -> Report:
    options = ScanOptions(paths=(str(inputs),), select=["NPS7"], expectations=(expectations,))
    return scan_documents(load_documents([str(inputs)]), options)


def found(report: Report) -> list[tuple[str, int]]:
    return [(f.rule_id, f.location.line) for f in report.findings]


# --- holds / does not hold on the demo (frontend -> backend 8080 allowed; the database open to all) ------


def test_demo_expectations_that_hold(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: frontend}\n"
            "  to: {namespace: default, workload: backend}\n"
            '  ports: ["8080/TCP"]\n'
            "  expect: allow\n"
            "- from: {namespace: default, workload: payments-db}\n"
            "  to: {namespace: default, labels: {role: backend}}\n"
            "  expect: deny\n"
            "- from: {namespace: default, workload: backend}\n"
            "  to: {namespace: default, workload: payments-db}\n"
            "  expect: allow\n"
            "- from: {namespace: default, workload: frontend}\n"
            "  to: {cidr: 203.0.113.0/24}\n"
            '  ports: [443, "53/UDP"]\n'
            "  expect: allow\n"
            "- from: {cidr: 0.0.0.0/0}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: deny\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == []
    assert report.notifications == ()


def test_allow_that_fails_names_pair_port_and_policy_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: frontend}\n"
            "  to: {namespace: default, workload: backend}\n"
            '  ports: ["8080/TCP", "9090/TCP"]\n'
            "  expect: allow\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == [("NPS701", 4)]
    finding = report.findings[0]
    assert finding.location.path == path
    message = finding.message
    assert "default/frontend[Deployment] -> default/backend[Deployment] is denied on TCP 9090" in message
    assert (
        "ingress to default/backend[Deployment] is isolated by NetworkPolicy default/backend-allow-frontend"
        in message
    )
    assert "policies.yaml:" in message and "allows only TCP 8080" in message
    assert "egress from default/frontend" in message  # the frontend's egress lockdown misses 9090 too


def test_deny_that_fails_the_database_is_open(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: backend}\n"
            "  to: {namespace: default, labels: {role: db}}\n"
            '  ports: ["5432/TCP"]\n'
            "  expect: deny\n"
            "  reason: only the API may use the database\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == [("NPS701", 4)]
    message = report.findings[0].message
    assert "is allowed on TCP 5432" in message and "[only the API may use the database]" in message
    assert "ingress to default/payments-db[Deployment] is not isolated (no policy selects it)" in message


def test_deny_names_the_allowing_rule_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: frontend}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: deny\n"
        ),
    )
    message = scan_demo(path).findings[0].message
    assert "is allowed on TCP 8080" in message
    policies = DEMO / "policies.yaml"
    lines = policies.read_text().splitlines()
    rule_line = next(i for i, line in enumerate(lines, 1) if line.startswith("  - from:"))
    assert (
        f"default/backend-allow-frontend ingress rule 1 "
        f"({load_documents([str(policies)])[0].path}:{rule_line})" in message
    )


def test_omitted_ports_mean_every_port_for_allow(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: frontend}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: allow\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == [("NPS701", 4)]
    assert "is denied on TCP 1:" in report.findings[0].message


def test_namespace_labels_and_lists_of_endpoints(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespaceLabels: {kubernetes.io/metadata.name: default}, labels: {role: frontend}}\n"
            "  to:\n"
            "  - {namespace: default, workload: backend}\n"
            "  - {namespace: default, workload: payments-db}\n"
            '  ports: ["8080/TCP"]\n'
            "  expect: allow\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == [("NPS701", 4)]
    assert "-> default/payments-db[Deployment] is denied on TCP 8080" in report.findings[0].message


def test_self_pairs_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default}\n"
            "  to: {namespace: default, workload: backend}\n"
            '  ports: ["8080/TCP"]\n'
            "  expect: deny\n"
            "- from: {namespace: default, workload: backend}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: deny\n"
        ),
    )
    report = scan_demo(path)
    # entry 1 fails through frontend (backend -> backend is skipped); entry 2 has no pair at all
    assert found(report) == [("NPS701", 4), ("NPS702", 8)]
    assert "default/frontend[Deployment] -> default/backend[Deployment]" in report.findings[0].message
    assert "form no pair" in report.findings[1].message


def test_endpoints_matching_nothing_are_nps702(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from: {namespace: default, workload: web}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: allow\n"
            "- from: {namespace: shop}\n"
            "  to: {namespace: default, workload: backend}\n"
            "  expect: deny\n"
            "- from: {namespaceLabels: {team: payments}}\n"
            "  to: {namespace: default, labels: {app: nope}}\n"
            "  expect: deny\n"
        ),
    )
    report = scan_demo(path)
    assert found(report) == [("NPS702", 4), ("NPS702", 7), ("NPS702", 10)]
    messages = [f.message for f in report.findings]
    assert "no workload default/web in the input" in messages[0]
    assert "namespace shop is not in the input" in messages[1]
    assert "no namespace of the input has labels {team=payments}" in messages[2]
    assert "no workload matches pods with labels app=nope" in messages[2]
    assert all(f.level.value == "warning" for f in report.findings)


def test_one_dead_endpoint_of_a_list_still_checks_the_rest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "- from:\n"
            "  - {namespace: default, workload: gone}\n"
            "  - {namespace: default, workload: frontend}\n"
            "  to: {namespace: default, workload: payments-db}\n"
            "  expect: allow\n"
        ),
    )
    assert found(scan_demo(path)) == [("NPS701", 4), ("NPS702", 4)]


def test_expectations_inside_the_scanned_input(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("app.yaml", "policies.yaml"):
        (inputs / name).write_text((DEMO / name).read_text())
    (inputs / "zz-expectations.yaml").write_text(
        HEADER
        + "- from: {namespace: default}\n  to: {namespace: default, workload: payments-db}\n  expect: deny\n"
    )
    options = ScanOptions(paths=(str(inputs),), select=["NPS7"])
    report = scan_documents(load_documents([str(inputs)]), options)
    assert [(f.rule_id, Path(f.location.path).name, f.location.line) for f in report.findings] == [
        ("NPS701", "zz-expectations.yaml", 4)
    ]
    # given again with --expectations: reported once, not twice
    both = scan_demo(str(inputs / "zz-expectations.yaml"), inputs)
    assert len(both.findings) == 1


# --- every output format ------------------------------------------------------------------------------


def _demo_report() -> Report:
    options = ScanOptions(paths=(str(DEMO),), expectations=(str(DEMO_EXPECTATIONS),))
    return scan_documents(load_documents([str(DEMO)]), options)


def _nps701(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.rule_id == "NPS701"]


def test_demo_example_file() -> None:
    report = _demo_report()
    assert [f.location.line for f in _nps701(report)] == [12, 17]
    assert not [f for f in report.findings if f.rule_id == "NPS702"]


def test_text_and_json_outputs_include_nps701() -> None:
    report = _demo_report()
    rendered = text.render(report)
    assert "demo-expectations.yaml:12:1 NPS701 [error]" in rendered.replace(str(REPO) + "/", "")
    data = json.loads(json_report.render(report))
    items = data["findings"] if isinstance(data, dict) else data
    assert any("NPS701" in json.dumps(item) for item in items)


def test_sarif_includes_nps701_and_is_valid() -> None:
    from tests.sarif_validation import github_rule_errors, schema_errors, schema_path

    doc = json.loads(sarif.render(_demo_report()))
    run = doc["runs"][0]
    results = [r for r in run["results"] if r["ruleId"] == "NPS701"]
    assert len(results) == 2
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("examples/expectations/demo-expectations.yaml")
    assert location["region"]["startLine"] == 12
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["NPS701"]["name"] == "connectivity-expectation-violated"
    assert github_rule_errors(doc) == []
    if schema_path() is not None:
        assert schema_errors(doc) == []


# --- bad input: one line FILE:LINE: entry N: ..., exit 2 ----------------------------------------------

BAD = [
    (
        "- from: {namespace: a}\n  to: {namespace: b}\n  expect: allow\n  colour: red\n",
        7,
        "entry 1: unknown key 'colour'",
    ),
    (
        '- from: {namespace: a}\n  to: {namespace: b}\n  ports: ["80/TCPX"]\n  expect: allow\n',
        6,
        "entry 1: port '80/TCPX': unknown protocol 'TCPX'",
    ),
    (
        "- from: {namespace: a}\n  to: {namespace: b}\n  expect: deny\n"
        "- from: {namespace: a}\n  to: {namespace: b}\n  ports: [70000]\n  expect: allow\n",
        9,
        "entry 2: port 70000: port numbers are 1-65535",
    ),
    (
        "- from: {namespace: a}\n  to: {cidr: 10.0.0.0/33}\n  expect: deny\n",
        5,
        "entry 1: '10.0.0.0/33' is not a valid CIDR",
    ),
    (
        "- from: {namespace: a, cidr: 10.0.0.0/8}\n  to: {namespace: b}\n  expect: deny\n",
        4,
        "entry 1: from: an endpoint must be one of",
    ),
    (
        "- from: {labels: {app: web}}\n  to: {namespace: b}\n  expect: deny\n",
        4,
        "entry 1: from: an endpoint must be one of",
    ),
    (
        "- from: {namespace: a, pods: x}\n  to: {namespace: b}\n  expect: deny\n",
        4,
        "entry 1: from: unknown endpoint key 'pods'",
    ),
    (
        "- from: {namespace: a}\n  to: {namespace: b}\n  expect: maybe\n",
        6,
        "entry 1: expect must be allow or deny",
    ),
    ("- from: {namespace: a}\n  expect: deny\n", 4, "entry 1: 'to' is missing"),
    (
        "- from: [a, b]\n  to: {namespace: b}\n  expect: deny\n",
        4,
        "entry 1: from: an endpoint must be a mapping",
    ),
]


@pytest.mark.parametrize(("body", "line", "message"), BAD, ids=[m.split(": ", 1)[1][:30] for _, _, m in BAD])
def test_bad_files_give_one_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(NetpolscanError) as raised:
        load_expectations(path)
    error = str(raised.value)
    assert "\n" not in error
    assert error.startswith(f"{path}:{line}: {message}"), error


def test_bad_top_level(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("apiVersion: netpolscan.io/v2\nkind: ConnectivityExpectations\nexpectations: []\n")
    with pytest.raises(NetpolscanError, match=r"e\.yaml:1: "):
        load_expectations(str(path))
    path.write_text("")
    with pytest.raises(NetpolscanError, match="is empty"):
        load_expectations(str(path))
    with pytest.raises(NetpolscanError, match="cannot read expectations"):
        load_expectations(str(tmp_path / "missing.yaml"))


def test_probe_plan_cli_rejects_a_bad_file(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    path = write(tmp_path, BAD[0][0])
    result = run_cli("probe-plan", str(DEMO), "--expectations", path)
    assert result.exit_code == 2
    assert result.stderr == f"netpolscan: error: {path}:7: entry 1: unknown key 'colour'\n"


# --- the scan command ----------------------------------------------------------------------------------


def test_scan_cli_with_expectations(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("scan", str(DEMO), "--expectations", str(DEMO_EXPECTATIONS), "--select", "NPS7")
    assert result.exit_code == 1
    assert result.stdout.count("NPS701 [error]") == 2


def test_scan_cli_with_expectations_in_sarif(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "out.sarif"
    result = run_cli("scan", str(DEMO), "--expectations", str(DEMO_EXPECTATIONS), "-f", f"sarif:{out}")
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    assert sum(r["ruleId"] == "NPS701" for r in doc["runs"][0]["results"]) == 2


def test_scan_cli_rejects_a_bad_file(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    path = write(tmp_path, BAD[1][0])
    result = run_cli("scan", str(DEMO), "--expectations", path)
    assert result.exit_code == 2, result.stderr
    assert (
        result.stderr == f"netpolscan: error: {path}:6: entry 1: port '80/TCPX': unknown protocol 'TCPX' "
        "(expected TCP, UDP or SCTP)\n"
    )


# --- the np-recipes table as expectations: every documented outcome holds ------------------------------


def _recipe_rows() -> list[dict[str, str]]:
    root = corpus_path()
    table = root / "np-recipes" / "EXPECTATIONS.csv" if root else None
    if table is None or not table.is_file():
        pytest.skip("np-recipes corpus not found (set NETPOLSCAN_CORPUS)")
    return list(csv.DictReader(table.open()))


def _endpoint(text: str) -> str:
    if text.startswith("ip:"):
        return f"{{cidr: {text[3:]}/32}}"
    namespace, name = text.split("/")
    return f"{{namespace: {namespace}, workload: {name}}}"


def test_np_recipes_table_holds_as_expectations(tmp_path: Path) -> None:
    rows = _recipe_rows()
    root = corpus_path()
    assert root is not None
    by_scenario: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    checked = 0
    for scenario, scenario_rows in sorted(by_scenario.items()):
        body = ""
        for row in scenario_rows:
            protocol, port = row["proto_port"].split("/")
            body += (
                f"- from: {_endpoint(row['from'])}\n  to: {_endpoint(row['to'])}\n"
                f'  ports: ["{port}/{protocol}"]\n  expect: {row["expected"]}\n'
            )
        path = write(tmp_path, body, f"{scenario}.yaml")
        manifests = root / "np-recipes" / "scenarios" / scenario / "manifests.yaml"
        report = scan_demo(path, manifests)
        assert found(report) == [], f"{scenario}: {[f.message for f in report.findings]}"
        # flipping every expectation makes every entry fail
        flipped = body.replace("expect: allow", "expect: X").replace("expect: deny", "expect: allow")
        flipped = flipped.replace("expect: X", "expect: deny")
        path = write(tmp_path, flipped, f"{scenario}-flipped.yaml")
        report = scan_demo(path, manifests)
        assert [f.rule_id for f in report.findings] == ["NPS701"] * len(scenario_rows), scenario
        checked += len(scenario_rows)
    assert checked == len(rows)
