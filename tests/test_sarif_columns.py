"""SARIF ``columnKind``: columns are counted in UTF-16 code units, and say so (issue 14, item 13).

SARIF 2.1.0 3.14.27: a run whose results carry columns states how they are counted; GitHub and VS Code
count UTF-16 code units, where a character beyond U+FFFF (an emoji) is two units and an accented letter
one. libyaml counts characters, so a column after an emoji on the same line must be recounted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netpolscan.cli import main

# What `kubectl get networkpolicy -n payments -o json | jq -c '.items[]'` prints: one object per line,
# metadata (with a free-text annotation) before spec, so the finding's field follows the non-ASCII text.
ONE_LINE_JSON = (
    '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"annotations":'
    '{"team.example.com/owner":"équipe paiements 💳🚀","team.example.com/reviewed":"révisé ✅"},'
    '"name":"psp-egress","namespace":"payments"},"spec":{"podSelector":{"matchLabels":{"app":"psp"}},'
    '"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0"}}],'
    '"ports":[{"protocol":"TCP","port":443}]}]}}\n'
)

# The same shape as one YAML flow mapping, with accented letters only (one UTF-16 unit each: no shift).
FLOW_YAML = (
    "# payments egress, révisé\n"
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: psp-egress, namespace: "
    "payments, annotations: {team.example.com/owner: équipe paiements (Zürich)}}, spec: {podSelector: "
    "{matchLabels: {app: psp}}, policyTypes: [Egress], egress: [{ports: [{port: 443}], to: "
    "[{ipBlock: {cidr: 0.0.0.0/0}}]}]}}\n"
)


def _utf16_column(line: str, needle: str) -> int:
    """1-based column of ``needle`` in ``line``, in UTF-16 code units."""
    return len(line[: line.index(needle)].encode("utf-16-le")) // 2 + 1


def _scan(tmp_path: Path, name: str, text: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> Any:
    (tmp_path / name).write_text(text, encoding="utf-8")
    code = main(["scan", str(tmp_path / name), "--format", fmt, "--select", "NPS302"])
    out, err = capsys.readouterr()
    assert code == 1, err
    return json.loads(out)


def test_sarif_run_states_its_column_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _scan(tmp_path, "psp.json", ONE_LINE_JSON, "sarif", capsys)
    assert [run["columnKind"] for run in doc["runs"]] == ["utf16CodeUnits"]


def test_column_after_an_emoji_counts_utf16_code_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = ONE_LINE_JSON.rstrip("\n")
    expected = _utf16_column(line, '{"ipBlock"')
    assert expected == line.index('{"ipBlock"') + 1 + 2  # two emoji before it: two extra units
    doc = _scan(tmp_path, "psp.json", ONE_LINE_JSON, "sarif", capsys)
    [result] = doc["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (1, expected)
    report = _scan(tmp_path, "psp.json", ONE_LINE_JSON, "json", capsys)  # JSON output: the same unit
    [finding] = report["findings"]
    assert (finding["location"]["line"], finding["location"]["column"]) == (1, expected)


def test_accented_letters_are_one_unit_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = FLOW_YAML.splitlines()[1]
    doc = _scan(tmp_path, "psp.yaml", FLOW_YAML, "sarif", capsys)
    [result] = doc["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, _utf16_column(line, "{ipBlock"))
    assert region["startColumn"] == line.index("{ipBlock") + 1


def test_a_yaml_error_after_an_emoji_counts_utf16_code_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags, annotations: {status: "🚦🚦", x: [a: }\n'
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    main(["scan", str(tmp_path / "broken.yaml"), "--format", "sarif", "--select", "NPS001"])
    doc = json.loads(capsys.readouterr().out)
    [result] = doc["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (3, _utf16_column(text.splitlines()[2], "}"))
