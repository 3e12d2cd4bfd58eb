"""CI formats: GitHub workflow commands, GitLab Code Quality, JUnit XML, Markdown step summary.

Each format is checked against its own rules (escaping, required keys, counts, size limit), against a
golden file (``NETPOLSCAN_UPDATE_GOLDEN=1`` rewrites them) and end to end through ``netpolscan scan``.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from netpolscan.cli import main
from netpolscan.plugin_api import (
    Finding,
    Location,
    Notification,
    ObjectRef,
    Report,
    Rule,
    Severity,
    Suppression,
    Violation,
)
from netpolscan.plugins import collect_formatters, plugin_manager
from netpolscan.report import github, gitlab, junit, markdown

GOLDEN = Path(__file__).parent / "golden"
FORMATS: dict[str, Callable[[Report], str]] = {
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
    "markdown": markdown.render,
}


def _nothing(context: Any) -> Iterable[Violation]:
    return ()


def _rule(rule_id: str, name: str, level: Severity, security: str | None = None) -> Rule:
    return Rule(
        id=rule_id,
        name=name,
        level=level,
        check=_nothing,
        summary=f"{name} summary",
        security_severity=security,
        tags=("security",) if security else (),
    )


R_BLOCKER = _rule("NPS401", "kube-system-ingress-exposed", Severity.ERROR, "9.3")
R_CRITICAL = _rule("NPS002", "invalid-network-policy", Severity.ERROR)
R_MAJOR = _rule("NPS301", "egress-to-anywhere", Severity.WARNING, "7.5")
R_MINOR = _rule("NPS101", "missing-default-deny-ingress", Severity.WARNING, "5.0")
R_INFO = _rule("NPS601", "redundant-policy", Severity.NOTE)
R_CLEAN = _rule("NPS303", "egress-to-cloud-metadata", Severity.ERROR, "8.0")
R_ONLY_SUPPRESSED = _rule("NPS102", "missing-default-deny-egress", Severity.WARNING, "5.0")
R_RAISED = _rule("NPS402", "egress-to-kube-system-beyond-dns", Severity.WARNING, "6.0")
RULES = (R_CRITICAL, R_MINOR, R_ONLY_SUPPRESSED, R_MAJOR, R_CLEAN, R_BLOCKER, R_RAISED, R_INFO)

TRICKY_PATH = "charts/we,ird:dir/100%/tëmplates/np.yaml"
TRICKY_MESSAGE = "policy a,b: allows 100% of\r\ntraffic | from `*` ::error::injected\nnext — ünïcödé 🚦"


def _finding(
    rule: Rule,
    message: str,
    path: str,
    line: int,
    column: int = 1,
    obj: ObjectRef | None = None,
    fingerprint: str = "",
    suppression: Suppression | None = None,
) -> Finding:
    return Finding(
        rule_id=rule.id,
        rule_name=rule.name,
        level=rule.level,
        message=message,
        location=Location(path, line, column),
        obj=obj,
        fingerprint=fingerprint or f"fp-{rule.id}-{path}-{line}",
        suppression=suppression,
    )


SHOP = ObjectRef("Namespace", "", "shop")
WEB = ObjectRef("NetworkPolicy", "shop", "web")
DNS = ObjectRef("Deployment", "kube-system", "coredns")


def tricky_report() -> Report:
    findings = (
        _finding(R_CRITICAL, "broken\x00policy <b>&amp;</b>", "bad.yaml", 3, 5, None),
        _finding(R_MINOR, "namespace shop has no default-deny ingress policy", "ns.yaml", 1, 1, SHOP, "dup"),
        _finding(R_MINOR, "namespace shop: second finding, same object", "ns.yaml", 9, 1, SHOP, "dup"),
        _finding(R_MAJOR, TRICKY_MESSAGE, TRICKY_PATH, 12, 7, WEB),
        _finding(R_BLOCKER, "coredns accepts connections from everywhere", "system.yaml", 20, 3, DNS),
        _finding(R_INFO, "policy web is redundant | shadowed", "a|b.yaml", 2, 1, WEB),
        _finding(
            R_ONLY_SUPPRESSED,
            "suppressed egress",
            "ns.yaml",
            1,
            1,
            SHOP,
            suppression=Suppression("inSource", "accepted risk"),
        ),
    )
    return Report(
        findings=findings,
        rules=RULES,
        notifications=(
            Notification("rule NPS402 raised ValueError: bad, very bad: 100%\ndetails", "NPS402"),
            Notification("plugin x: slow", None, Severity.WARNING),
        ),
        tool_version="0.0.0-test",
        inputs=("ns.yaml",),
    )


def clean_report() -> Report:
    return Report(findings=(), rules=(R_MINOR, R_CLEAN), tool_version="0.0.0-test")


def golden_report() -> Report:
    findings = (
        _finding(
            R_MINOR, "namespace shop has no default-deny ingress policy", "deploy/ns.yaml", 1, 1, SHOP, "f1"
        ),
        _finding(
            R_MAJOR,
            "policy web, egress rule 1: allows 100% of destinations",
            "deploy/web.yaml",
            8,
            3,
            WEB,
            "f2",
        ),
        _finding(R_INFO, "policy web is redundant | shadowed by\nweb-2", "deploy/web.yaml", 1, 1, WEB, "f3"),
        _finding(
            R_ONLY_SUPPRESSED,
            "suppressed",
            "deploy/ns.yaml",
            1,
            1,
            SHOP,
            "f4",
            Suppression("inSource", "accepted"),
        ),
    )
    return Report(
        findings=findings,
        rules=(R_MINOR, R_ONLY_SUPPRESSED, R_MAJOR, R_CLEAN, R_INFO),
        tool_version="0.0.0-test",
    )


# --- GitHub workflow commands ------------------------------------------------------------------------

COMMAND = re.compile(r"^::(?P<command>[a-z]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def _unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(value: str) -> str:
    return _unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def parse_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    assert output.endswith("\n")
    parsed = []
    for line in output[:-1].split("\n"):
        assert "\r" not in line
        match = COMMAND.match(line)
        assert match, f"not a workflow command: {line!r}"
        props: dict[str, str] = {}
        if match["props"]:
            for item in match["props"].split(","):
                key, sep, value = item.partition("=")
                assert sep and key and key not in props, item
                props[key] = _unescape_property(value)
        parsed.append((match["command"], props, _unescape_data(match["message"])))
    return parsed


def test_github_every_line_is_a_command_and_values_round_trip() -> None:
    report = tricky_report()
    commands = parse_commands(github.render(report))
    annotations = [c for c in commands if "file" in c[1]]
    assert len(annotations) == len(report.active)
    for (command, props, message), finding in zip(annotations, report.active, strict=True):
        assert command == {"error": "error", "warning": "warning", "note": "notice"}[finding.level.value]
        assert set(props) == {"file", "line", "col", "endLine", "title"}
        assert props["file"] == finding.location.path
        assert props["line"] == props["endLine"] == str(finding.location.line)
        assert props["col"] == str(finding.location.column)
        assert props["title"] == f"{finding.rule_id} {finding.rule_name}"
        assert message == finding.message
    tricky = next(c for c in annotations if c[1]["file"] == TRICKY_PATH)
    assert tricky[2] == TRICKY_MESSAGE


def test_github_escapes_exactly_as_specified() -> None:
    assert github.escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert github.escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"
    assert github.escape_property("%3A") == "%253A"  # % first: no double meaning
    line = github.render(tricky_report()).splitlines()[3]
    assert line.startswith(
        "::warning file=charts/we%2Cird%3Adir/100%25/tëmplates/np.yaml,line=12,col=7,endLine=12,"
    )
    assert line.endswith(
        "::policy a,b: allows 100%25 of%0D%0Atraffic | from `*` ::error::injected%0Anext — ünïcödé 🚦"
    )


def test_github_skips_suppressed_reports_notifications_and_ends_with_summary() -> None:
    report = tricky_report()
    commands = parse_commands(github.render(report))
    assert all(c[2] != "suppressed egress" for c in commands)
    plain = [c for c in commands if not c[1]]
    assert [c[0] for c in plain] == ["error", "warning", "notice"]
    assert plain[0][2] == "netpolscan: NPS402: rule NPS402 raised ValueError: bad, very bad: 100%\ndetails"
    assert (
        commands[-1][0] == "notice" and "6 findings" in commands[-1][2] and "1 suppressed" in commands[-1][2]
    )


def test_github_clean_report_is_one_notice() -> None:
    assert parse_commands(github.render(clean_report())) == [
        ("notice", {}, "netpolscan: Found 0 findings (0 errors, 0 warnings, 0 notes).")
    ]


# --- GitLab Code Quality ------------------------------------------------------------------------------

CODE_QUALITY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "type": {"const": "issue"},
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "pattern": "^[A-Z]{2,4}[0-9]{3}$"},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "categories": {"type": "array", "items": {"const": "Security"}, "minItems": 1},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "additionalProperties": False,
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
        "additionalProperties": False,
    },
}


def test_gitlab_matches_code_quality_rules() -> None:
    report = tricky_report()
    output = gitlab.render(report)
    issues = json.loads(output)
    jsonschema.validate(issues, CODE_QUALITY_SCHEMA)
    assert len(issues) == len(report.active)
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    assert fingerprints[1] == "dup" and fingerprints[2] != "dup"  # shared fingerprint made unique
    assert output == gitlab.render(tricky_report())  # deterministic and stable
    assert output.startswith("[\n  {\n")  # indent=2
    by_check = {issue["check_name"]: issue for issue in issues}
    assert {k: v["severity"] for k, v in by_check.items()} == {
        "NPS002": "critical",
        "NPS101": "minor",
        "NPS301": "major",
        "NPS401": "blocker",
        "NPS601": "info",
    }
    assert "categories" not in by_check["NPS002"] and by_check["NPS401"]["categories"] == ["Security"]
    assert "NPS102" not in by_check  # suppressed
    assert by_check["NPS301"]["location"] == {"path": TRICKY_PATH, "lines": {"begin": 12}}
    assert TRICKY_MESSAGE in by_check["NPS301"]["description"]


@pytest.mark.parametrize(
    ("level", "score", "expected"),
    [
        (Severity.NOTE, 9.9, "info"),
        (Severity.WARNING, None, "minor"),
        (Severity.WARNING, 6.9, "minor"),
        (Severity.WARNING, 7.0, "major"),
        (Severity.ERROR, None, "critical"),
        (Severity.ERROR, 8.9, "critical"),
        (Severity.ERROR, 9.0, "blocker"),
    ],
)
def test_gitlab_severity_mapping(level: Severity, score: float | None, expected: str) -> None:
    assert gitlab.severity(level, score) == expected


def test_gitlab_empty_and_unfingerprinted() -> None:
    assert json.loads(gitlab.render(clean_report())) == []
    finding = Finding(
        "NPS101", "missing-default-deny-ingress", Severity.WARNING, "m", Location("x.yaml", 0, 0)
    )
    twice = Report(findings=(finding, finding), rules=(R_MINOR,))
    issues = json.loads(gitlab.render(twice))
    jsonschema.validate(issues, CODE_QUALITY_SCHEMA)  # line 0 clamped to 1, empty fingerprint derived
    assert len({i["fingerprint"] for i in issues}) == 2


# --- JUnit XML ---------------------------------------------------------------------------------------


def _suite(output: str) -> ET.Element:
    assert output.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(output.encode("utf-8"))
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 1 and suites[0].get("name") == "netpolscan"
    suite = suites[0]
    cases = suite.findall("testcase")
    for element in (root, suite):
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
        assert element.get("errors") == str(sum(1 for c in cases if c.find("error") is not None))
    return suite


def test_junit_one_testcase_per_rule_and_object() -> None:
    report = tricky_report()
    suite = _suite(junit.render(report))
    cases = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    assert len(cases) == len(set(cases))
    failing = {
        (c.get("classname"), c.get("name")): c
        for c in suite.findall("testcase")
        if c.find("failure") is not None
    }
    assert set(failing) == {
        ("NPS002 invalid-network-policy", "bad.yaml"),
        ("NPS101 missing-default-deny-ingress", "Namespace/shop"),
        ("NPS301 egress-to-anywhere", "NetworkPolicy/shop/web"),
        ("NPS401 kube-system-ingress-exposed", "Deployment/kube-system/coredns"),
        ("NPS601 redundant-policy", "NetworkPolicy/shop/web"),
    }
    passing = {c for c in cases if c[1] == "no findings"}
    assert passing == {
        ("NPS102 missing-default-deny-egress", "no findings"),
        ("NPS303 egress-to-cloud-metadata", "no findings"),
    }
    # the rule that raised is an error, not a pass
    errors = [c for c in suite.findall("testcase") if c.find("error") is not None]
    assert [(c.get("classname"), c.get("name")) for c in errors] == [
        ("NPS402 egress-to-kube-system-beyond-dns", "tool notification"),
        ("netpolscan", "tool notification"),
    ]
    shop = failing[("NPS101 missing-default-deny-ingress", "Namespace/shop")].find("failure")
    assert shop is not None and shop.get("type") == "warning"
    assert shop.text == (
        "ns.yaml:1:1 NPS101 namespace shop has no default-deny ingress policy\n"
        "ns.yaml:9:1 NPS101 namespace shop: second finding, same object"
    )
    web = failing[("NPS301 egress-to-anywhere", "NetworkPolicy/shop/web")].find("failure")
    assert web is not None and web.get("message") == TRICKY_MESSAGE  # CR/LF kept as &#13;/&#10;
    assert web.text is not None and web.text.startswith(f"{TRICKY_PATH}:12:7 NPS301 policy a,b")
    bad = failing[("NPS002 invalid-network-policy", "bad.yaml")].find("failure")
    assert (
        bad is not None
        and bad.get("type") == "error"
        and bad.get("message") == "broken\ufffdpolicy <b>&amp;</b>"
    )


def test_junit_clean_report_and_determinism() -> None:
    suite = _suite(junit.render(clean_report()))
    assert [c.get("name") for c in suite.findall("testcase")] == ["no findings", "no findings"]
    assert suite.get("failures") == "0"
    assert junit.render(tricky_report()) == junit.render(tricky_report())


# --- Markdown step summary ---------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    assert row.startswith("|") and row.endswith("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", row[1:-1])]


def _table(output: str, heading: str) -> list[list[str]]:
    lines = output.split("\n")
    start = lines.index(heading) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    header, separator, *body = rows
    assert len(separator) == len(header) and all(len(r) == len(header) for r in body)
    return body


def test_markdown_summary_tables_and_escaping() -> None:
    output = markdown.render(tricky_report())
    assert output.startswith("## netpolscan\n")
    assert "**6 findings**: 2 errors, 3 warnings, 1 note; 1 suppressed." in output
    by_rule = _table(output, "### By rule")
    assert [r[0] for r in by_rule] == ["NPS002", "NPS401", "NPS101", "NPS301", "NPS601"]
    assert ["NPS101", "missing-default-deny-ingress", "warning", "2"] in by_rule
    by_file = _table(output, "### By file")
    assert ["a\\|b.yaml", "0", "0", "1"] in by_file
    assert ["ns.yaml", "0", "2", "0"] in by_file
    assert [TRICKY_PATH, "0", "1", "0"] in by_file
    findings = output.split("### Findings\n\n")[1].splitlines()
    assert len(findings) == 6 and all(line.startswith("- **") for line in findings)
    assert "suppressed egress" not in output
    assert (
        "### Tool notifications" in output
        and "rule NPS402 raised ValueError: bad, very bad: 100% details" in output
    )


def test_markdown_cell_escaping() -> None:
    assert markdown.cell("a|b\nc\r\nd\\") == "a\\|b<br>c<br>d\\\\"
    assert _cells(f"| {markdown.cell('x | y')} | z |") == ["x \\| y", "z"]


def test_markdown_no_findings() -> None:
    output = markdown.render(clean_report())
    assert "No findings (2 rules ran)." in output and "### Findings" not in output and "|" not in output


def test_markdown_stays_under_one_mebibyte() -> None:
    findings = tuple(
        _finding(
            R_MAJOR if i % 3 else R_BLOCKER,
            f"finding {i} " + "ü" * 60,
            f"dir/file-{i % 5000}.yaml",
            i + 1,
            obj=WEB,
        )
        for i in range(30_000)
    )
    output = markdown.render(Report(findings=findings, rules=RULES))
    assert len(output.encode("utf-8")) < 1024 * 1024
    match = re.search(r"\*(\d+) findings left out to keep this summary under 1 MiB\.\*", output)
    assert match
    listed = output.split("### Findings\n\n")[1].count("\n- **")
    assert listed + int(match.group(1)) == 30_000 - 1  # the first item has no leading newline
    assert "**30000 findings**" in output


def test_markdown_caps_one_huge_message() -> None:
    big = _finding(R_MINOR, "x" * 2_000_000, "big.yaml", 1)
    output = markdown.render(Report(findings=(big,), rules=(R_MINOR,)))
    assert len(output.encode("utf-8")) < 10_000


# --- golden files, registration and end to end --------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(fmt: str) -> None:
    path = GOLDEN / f"{fmt}.txt"
    output = FORMATS[fmt](golden_report())
    if os.environ.get("NETPOLSCAN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(output, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: run with NETPOLSCAN_UPDATE_GOLDEN=1"
    assert output == path.read_bytes().decode("utf-8")


def test_builtin_plugin_registers_the_formats() -> None:
    """The built-in formats are registered lazily (imported on first use) and render like their module."""
    formatters = collect_formatters(plugin_manager())
    report = golden_report()
    for name, render in FORMATS.items():
        assert formatters[name](report) == render(report)


NAMESPACE_YAML = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_scan_end_to_end(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ns.yaml").write_text(NAMESPACE_YAML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "ns.yaml", "--format", fmt, "--select", "NPS101"])
    out, err = capsys.readouterr()
    assert code == 1, err
    if fmt == "github":
        commands = parse_commands(out)
        assert commands[0][0] == "warning" and commands[0][1]["file"] == "ns.yaml"
        assert commands[0][1]["line"] == "1" and commands[0][1]["title"].startswith("NPS101 ")
        assert commands[-1][0] == "notice"
    elif fmt == "gitlab":
        issues = json.loads(out)
        jsonschema.validate(issues, CODE_QUALITY_SCHEMA)
        assert [
            (i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues
        ] == [("NPS101", "ns.yaml", 1)]
    elif fmt == "junit":
        suite = _suite(out)
        failing = [c for c in suite.findall("testcase") if c.find("failure") is not None]
        assert [(c.get("classname", "").split()[0], c.get("name")) for c in failing] == [
            ("NPS101", "Namespace/shop")
        ]
    else:
        assert "| NPS101 |" in out and "| ns.yaml | 0 | 1 | 0 |" in out
