"""The command line end to end: exit codes, formats, errors as one line, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, CliResult

Run = Callable[..., CliResult]

OPEN_NS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
"""
DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.yaml"
    path.write_text(OPEN_NS + "---\n" + DENY_ALL)
    return path


@pytest.fixture
def weak(tmp_path: Path) -> Path:
    path = tmp_path / "weak.yaml"
    path.write_text(OPEN_NS)
    return path


def test_clean_input_exits_zero(run_cli: Run, clean: Path) -> None:
    result = run_cli("scan", str(clean))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Found 0 findings" in result.stdout


def test_findings_exit_one_and_fail_on_controls_it(run_cli: Run, weak: Path) -> None:
    result = run_cli("scan", str(weak))
    assert result.exit_code == 1
    assert f"{weak.as_posix()}:1:1 NPS101" in result.stdout or "weak.yaml:1:1 NPS101" in result.stdout
    assert run_cli("scan", str(weak), "--fail-on", "error").exit_code == 0
    assert run_cli("scan", str(weak), "--fail-on", "never").exit_code == 0
    assert run_cli("scan", str(weak), "--fail-on", "note").exit_code == 1


def test_select_and_ignore_by_id_and_name(run_cli: Run, weak: Path) -> None:
    out = json.loads(run_cli("scan", str(weak), "-f", "json", "--select", "NPS101").stdout)
    assert {f["ruleId"] for f in out["findings"]} == {"NPS101"}
    out = json.loads(
        run_cli("scan", str(weak), "-f", "json", "--ignore", "missing-default-deny-ingress").stdout
    )
    assert "NPS101" not in {f["ruleId"] for f in out["findings"]}
    bad = run_cli("scan", str(weak), "--select", "NPS999")
    assert bad.exit_code == 2 and "unknown rule" in bad.stderr


def test_json_output_matches_its_schema(run_cli: Run, weak: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    result = run_cli("scan", str(weak), "-f", "json", "-o", str(target))
    assert result.exit_code == 1 and result.stdout == ""
    data = json.loads(target.read_text())
    schema = json.loads((REPO / "schemas" / "findings.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["summary"]["total"] == len(data["findings"]) > 0


def test_json_output_names_related_places(run_cli: Run, tmp_path: Path) -> None:
    """A finding about two places (NPS007: an object defined twice) names the other one in JSON, as SARIF does."""
    policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec:\n  podSelector: {}\n"
    (tmp_path / "a.yaml").write_text(policy)
    (tmp_path / "b.yaml").write_text("# the same policy again\n" + policy)
    result = run_cli("scan", str(tmp_path), "--select", "NPS007", "-f", "json")
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, json.loads((REPO / "schemas" / "findings.schema.json").read_text()))
    [finding] = data["findings"]
    assert finding["location"]["path"].endswith("b.yaml") and finding["location"]["line"] == 2
    [related] = finding["related"]
    assert related["path"].endswith("a.yaml") and related["line"] == 1
    assert "first definition" in related["label"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("scan", "/definitely/not/here.yaml"), "no such file or directory"),
        (("scan", "--no-such-flag", "x"), "No such option"),
        (("scan", "-f", "nope", "x.yaml"), "unknown format"),
        (("scan",), "nothing to scan"),
    ],
)
def test_usage_and_input_errors_are_one_line_exit_two(
    run_cli: Run, args: tuple[str, ...], needle: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr


def test_broken_document_is_nps001_and_the_rest_is_analysed(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text("key: [unclosed\n---\n" + OPEN_NS + "---\n- just\n- a list\n")
    data = json.loads(run_cli("scan", str(path), "-f", "json").stdout)
    by_rule = {(f["ruleId"], f["location"]["line"]) for f in data["findings"]}
    assert ("NPS001", 1) in by_rule
    assert ("NPS001", 8) in by_rule  # the non-mapping document
    assert ("NPS101", 3) in by_rule  # the namespace after the broken document was still analysed


def test_stdin_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "netpolscan", "scan", "-", "-f", "json"],
        input=OPEN_NS,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["findings"][0]["location"]["path"] == "-"


def test_output_is_byte_identical_across_runs(run_cli: Run, weak: Path) -> None:
    first = run_cli("scan", str(weak), "-f", "sarif").stdout
    second = run_cli("scan", str(weak), "-f", "sarif").stdout
    assert first == second and first


def test_rules_command_formats(run_cli: Run) -> None:
    text = run_cli("rules")
    assert text.exit_code == 0 and "NPS101" in text.stdout and "builtin" in text.stdout
    data = json.loads(run_cli("rules", "-f", "json").stdout)
    assert {"id", "name", "level", "plugin"} <= set(data[0])
    assert run_cli("rules", "-f", "markdown").stdout.startswith("| id | name |")


def test_version(run_cli: Run) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and "netpolscan" in result.stdout


def test_console_script_runs_demo() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "netpolscan", "scan", str(REPO / "examples" / "demo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "NPS101" in proc.stdout and "Traceback" not in proc.stderr


def test_every_sarif_in_the_suite_is_validated() -> None:
    from netpolscan.report import sarif

    assert sarif.render.__name__ == "checked"  # the autouse fixture in conftest.py wraps the formatter


def test_sarif_over_github_limits_warns_on_stderr(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "".join(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{i}\n" for i in range(12600))
    )
    result = run_cli("scan", str(path), "-f", f"sarif:{tmp_path / 'out.sarif'}", "--select", "NPS101,NPS102")
    assert result.exit_code == 1
    assert "the SARIF keeps the first 25000" in result.stderr
    data = json.loads((tmp_path / "out.sarif").read_text())
    assert len(data["runs"][0]["results"]) == 25000
