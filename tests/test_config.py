"""Configuration file, suppressions (annotation and config), baseline, several outputs in one run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Run = Callable[..., CliResult]

WEAK = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: open-egress
  namespace: shop
{annotations}spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
  egress:
  - {{}}
  - to:
    - ipBlock: {{cidr: 169.254.0.0/16}}
"""


def write(tmp_path: Path, annotations: str = "") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(WEAK.format(annotations=annotations))
    return path


def findings(result: CliResult) -> list[dict[str, object]]:
    data = json.loads(result.stdout)
    return data["findings"]  # type: ignore[no-any-return]


def test_config_level_override_disable_and_fail_on(run_cli: Run, tmp_path: Path) -> None:
    manifest = write(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("rules:\n  NPS301: error\n  egress-to-cloud-metadata: off\nfail-on: error\n")
    result = run_cli("scan", str(manifest), "-f", "json", "--config", str(config))
    levels = {f["ruleId"]: f["level"] for f in findings(result)}
    assert levels.get("NPS301") == "error" and "NPS303" not in levels
    assert result.exit_code == 1
    config.write_text("rules:\n  NPS301: note\n  NPS303: {enabled: false}\nfail-on: error\n")
    assert run_cli("scan", str(manifest), "--config", str(config)).exit_code == 0


def test_config_is_found_upward(run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = write(tmp_path)
    (tmp_path / ".netpolscan.yaml").write_text("ignore: [NPS301]\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    ids = {f["ruleId"] for f in findings(run_cli("scan", str(manifest), "-f", "json"))}
    assert "NPS301" not in ids and "NPS303" in ids


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("selct: [NPS1]\n", "unknown key 'selct'"),
        ("rules:\n  NPS301: loud\n", "rules.NPS301"),
        ("ignores:\n- kind: NetworkPolicy\n", "'rules' is a required property"),
        ("cluster:\n  podCIDRs: [10.0.0.0/33]\n", "not a valid CIDR"),
        ("fail-on: [x\n", "invalid YAML"),
    ],
)
def test_bad_config_is_one_line_exit_two(run_cli: Run, tmp_path: Path, text: str, needle: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = run_cli("scan", str(write(tmp_path)), "--config", str(config))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(config.as_posix()) in lines[0], lines


def test_config_ignores_by_object_pattern_and_path(run_cli: Run, tmp_path: Path) -> None:
    manifest = write(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("ignores:\n- rules: [egress-to-anywhere]\n  kind: NetworkPolicy\n  namespace: sh*\n  reason: proxy\n"
                      "- rules: [NPS303]\n  path: '*m.yaml'\n")
    data = findings(run_cli("scan", str(manifest), "-f", "json", "--config", str(config)))
    suppressed = {f["ruleId"]: f.get("suppressed") for f in data}
    assert suppressed["NPS301"] == {"kind": "external", "justification": "proxy"}
    assert suppressed["NPS303"] is not None


def test_annotation_suppression_reason_and_expiry(run_cli: Run, tmp_path: Path) -> None:
    ann = ('  annotations:\n    netpolscan.io/ignore: "NPS301"\n    netpolscan.io/ignore-reason: "egress proxy"\n'
           '    netpolscan.io/ignore-until: "{until}"\n')
    live = write(tmp_path, ann.format(until="2999-01-01"))
    data = findings(run_cli("scan", str(live), "-f", "json"))
    [f301] = [f for f in data if f["ruleId"] == "NPS301"]
    assert f301["suppressed"] == {"kind": "inSource", "justification": "egress proxy"}
    text = run_cli("scan", str(live))
    assert "NPS301" not in text.stdout and "1 suppressed" in text.stdout
    assert "NPS301" in run_cli("scan", str(live), "--show-suppressed").stdout
    expired = write(tmp_path, ann.format(until="2001-01-01"))
    [f301] = [f for f in findings(run_cli("scan", str(expired), "-f", "json")) if f["ruleId"] == "NPS301"]
    assert "suppressed" not in f301


def test_baseline_reports_only_new_findings(run_cli: Run, tmp_path: Path) -> None:
    manifest = write(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert run_cli("scan", str(manifest), "--write-baseline", str(baseline)).exit_code == 1
    assert run_cli("scan", str(manifest), "--baseline", str(baseline)).exit_code == 0
    # moving lines and reordering documents keeps old findings old
    docs = manifest.read_text().split("---\n")
    manifest.write_text("# moved\n\n" + docs[1] + "---\n" + docs[0])
    assert run_cli("scan", str(manifest), "--baseline", str(baseline)).exit_code == 0
    # a new problem is new
    manifest.write_text(manifest.read_text() + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n")
    result = run_cli("scan", str(manifest), "--baseline", str(baseline), "-f", "json")
    assert result.exit_code == 1
    new = [f for f in findings(result) if "other" in str(f["message"])]
    assert new
    missing = run_cli("scan", str(manifest), "--baseline", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "baseline file not found" in missing.stderr


def test_several_outputs_in_one_run(run_cli: Run, tmp_path: Path) -> None:
    manifest = write(tmp_path)
    sarif, js = tmp_path / "out.sarif", tmp_path / "out.json"
    result = run_cli("scan", str(manifest), "-f", "text", "-f", f"sarif:{sarif}", "-f", f"json:{js}")
    assert result.exit_code == 1 and "NPS301" in result.stdout
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert json.loads(js.read_text())["summary"]["total"] >= 1
    bad = run_cli("scan", str(manifest), "-f", "nope:x")
    assert bad.exit_code == 2 and "unknown format" in bad.stderr


def test_plugins_command_lists_builtin(run_cli: Run) -> None:
    result = run_cli("plugins", "-f", "json")
    rows = json.loads(result.stdout)
    assert rows[0]["name"] == "builtin" and "NPS101" in rows[0]["rules"] and "sarif" in rows[0]["formats"]


def test_sarif_carries_baseline_state(run_cli: Run, tmp_path: Path) -> None:
    manifest = write(tmp_path)
    baseline = tmp_path / "baseline.json"
    run_cli("scan", str(manifest), "--write-baseline", str(baseline), "--select", "NPS301")
    manifest.write_text(manifest.read_text() + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n")
    sarif = json.loads(run_cli("scan", str(manifest), "--baseline", str(baseline), "-f", "sarif").stdout)
    states = {r["ruleId"]: r["baselineState"] for r in sarif["runs"][0]["results"]}
    assert states["NPS301"] == "unchanged" and states["NPS101"] == "new"


def test_ignore_until_accepts_only_yyyy_mm_dd() -> None:
    from netpolscan.suppression import parse_until

    assert str(parse_until(" 2099-06-01 ")) == "2099-06-01"
    assert [parse_until(v) for v in ("20990601", "2099-W22-1", "2099-02-30", "June 1")] == [None] * 4


@pytest.mark.parametrize(
    ("token", "prefixes", "expected"),
    [
        ("NPS302", False, True),
        ("egress-to-internet-cidr", False, True),
        ("all", False, True),
        ("ALL", True, True),
        (" NPS302 ", False, True),
        ("NPS3", False, False),  # annotations name rules whole
        ("NPS3", True, True),  # --select, --ignore and the configuration also take id prefixes
        ("nps30", True, True),
        ("NPS4", True, False),
        ("", True, False),
        ("Egress-To-Internet-Cidr", True, False),
    ],
)
def test_one_matcher_names_rules_for_select_ignores_and_annotations(
    token: str, prefixes: bool, expected: bool
) -> None:
    from netpolscan.suppression import names_rule

    assert names_rule(token, "NPS302", "egress-to-internet-cidr", prefixes=prefixes) is expected
