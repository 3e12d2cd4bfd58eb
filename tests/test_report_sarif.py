"""SARIF formatter: the JSON we emit is valid (schema, Multitool, GitHub rules) and says what we mean."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

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
from netpolscan.report import sarif

try:
    from sarif_validation import (
        github_rule_errors,
        multitool_errors,
        require_multitool,
        require_schema,
        schema_errors,
        schema_path,
        tools_dir,
    )
except ImportError:  # tests/ imported as a package
    from tests.sarif_validation import (
        github_rule_errors,
        multitool_errors,
        require_multitool,
        require_schema,
        schema_errors,
        schema_path,
        tools_dir,
    )


def _no_violations(context: Any) -> Iterable[Violation]:
    return ()


LONG_SUMMARY = "Pods accept traffic from every namespace 🚦 " * 40 + "cafe\u0301 ends here"

RULE_SECURITY = Rule(
    id="NPS101",
    name="namespace-without-default-deny",
    level=Severity.ERROR,
    check=_no_violations,
    summary="Namespace has no default-deny NetworkPolicy",
    description="Every pod of the namespace accepts all traffic until a default-deny policy selects it.",
    help_markdown=(
        "## What it does\n\nFinds namespaces **without** a `default-deny` policy.\n\n"
        "See [the docs](https://kubernetes.io/docs/concepts/services-networking/network-policies/).\n\n"
        "```yaml\nkind: NetworkPolicy\n```\n"
    ),
    remediation="Add a default-deny policy.",
    security_severity="8.1",
    tags=("isolation", "kubernetes"),
    help_uri="https://netpolscan.example/rules/NPS101",
)
RULE_WARNING = Rule(
    id="NPS301",
    name="unrestricted-egress",
    level=Severity.WARNING,
    check=_no_violations,
    summary="Egress to any destination is allowed",
    remediation="List the destinations the pods need.",
)
RULE_NOTE = Rule(
    id="NPS601",
    name="Redundant Policy",  # not kebab-case: the formatter normalizes it
    level=Severity.NOTE,
    check=_no_violations,
    summary=LONG_SUMMARY,
    precision="medium",
    tags=tuple(f"tag{i}" for i in range(25)),
    security_severity="2.0",
)
RULES = (RULE_SECURITY, RULE_WARNING, RULE_NOTE)

POD = ObjectRef("Pod", "team-a", "web")
POLICY = ObjectRef("NetworkPolicy", "team-a", "allow-web")


def make_report(base: Path | None = None, category: str | None = "k8s/netpol") -> Report:
    """A report covering every shape the formatter handles. ``base``: where absolute paths point."""
    root = base or Path("/nonexistent-checkout")
    findings = (
        Finding(
            "NPS101",
            "namespace-without-default-deny",
            Severity.ERROR,
            "Namespace team-a has no default-deny policy.",
            Location("deploy/team a/ñamespace ü.yaml", 3, 1),
            ObjectRef("Namespace", "", "team-a"),
            fingerprint="fp-ns",
        ),
        Finding(  # a level equal to SARIF's default: it must still be written
            "NPS301",
            "unrestricted-egress",
            Severity.WARNING,
            "Egress of pod web is unrestricted.",
            Location("charts/web/templates/netpol.yaml", 12, 5, rendered=Location("-", 140, 7)),
            POLICY,
            fingerprint="fp-egress",
            extra={"peers": ["0.0.0.0/0", None], "ports": (80, 443), "empty": None, "ratio": 0.5},
        ),
        Finding(
            "NPS301",
            "unrestricted-egress",
            Severity.WARNING,
            "Egress of pod api is unrestricted.",
            Location(str(root / "manifests" / "api.yaml"), 0, 0),  # absolute, and out-of-range position
            POD,
            fingerprint="fp-abs",
            suppression=Suppression("inSource", "Reviewed: the api calls external services."),
        ),
        Finding(
            "NPS601",
            "redundant-policy",
            Severity.NOTE,
            "Policy allow-web is redundant.",
            Location("../../outside/the repo/#1%.yaml", 8, 2),
            POLICY,
            fingerprint="fp-outside",
            suppression=Suppression("external"),
        ),
        Finding(  # a rule the report does not list (e.g. an input error)
            "NPS001",
            "unparsable-document",
            Severity.ERROR,
            "Document 2 is not valid YAML.",
            Location("C:\\work\\manifests\\bad.yaml", 4, 9),
            fingerprint="fp-parse",
        ),
    )
    notifications = (
        Notification("Rule NPS601 raised ZeroDivisionError; other rules still ran.", "NPS601"),
        Notification("Namespace team-b is not in the input.", level=Severity.WARNING),
    )
    return Report(
        findings=findings,
        rules=RULES,
        notifications=notifications,
        tool_version="0.1.0.dev3+g1234abc",
        category=category,
    )


@pytest.fixture
def text() -> str:
    return sarif.render(make_report())


@pytest.fixture
def doc(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def results(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = doc["runs"][0]["results"]
    return found


def driver(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["runs"][0]["tool"]["driver"]
    return found


def walk(node: Any) -> Iterable[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# ---------------------------------------------------------------------------------------------------------
# Validity


def test_valid_against_official_schema(doc: dict[str, Any]) -> None:
    assert schema_errors(doc) == []


def test_schema_file_comes_from_the_npm_package() -> None:
    path = require_schema()
    assert path == schema_path()
    assert tools_dir() in path.parents
    assert "node_modules" in path.parts


def test_valid_for_multitool(text: str, tmp_path: Path) -> None:
    path = tmp_path / "netpolscan.sarif"
    path.write_text(text, encoding="utf-8")
    assert multitool_errors(path) == []


def test_follows_github_ingestion_rules(doc: dict[str, Any]) -> None:
    assert github_rule_errors(doc) == []


def test_empty_report_is_valid(tmp_path: Path) -> None:
    text = sarif.render(Report(findings=(), rules=(), tool_version="1.2.3"))
    doc = json.loads(text)
    assert results(doc) == []  # present even when empty: GitHub requires it
    assert driver(doc)["rules"] == []  # present even when empty: GitHub requires it too
    assert "toolExecutionNotifications" not in doc["runs"][0]["invocations"][0]
    assert schema_errors(doc) == []
    assert github_rule_errors(doc) == []
    path = tmp_path / "empty.sarif"
    path.write_text(text, encoding="utf-8")
    assert multitool_errors(path) == []


def test_validators_reject_what_we_must_not_emit(doc: dict[str, Any], tmp_path: Path) -> None:
    bad = json.loads(json.dumps(doc))
    result = results(bad)[2]
    result["suppressions"][0]["state"] = "accepted"  # pre-final name, as sarif_om's Suppression has
    del result["level"]
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "/abs/api.yaml"
    result["ruleIndex"] = 99

    assert any("state" in error for error in schema_errors(bad))
    gh = github_rule_errors(bad)
    assert any("level" in error for error in gh)
    assert any("/abs/api.yaml" in error for error in gh)
    assert any("ruleIndex" in error for error in gh)
    assert any("state" in error for error in gh)

    path = tmp_path / "bad.sarif"
    path.write_text(json.dumps(bad), encoding="utf-8")
    mt = multitool_errors(path)
    assert any(error.startswith("JSON1005") and "state" in error for error in mt)
    assert any(error.startswith("SARIF1004") for error in mt)  # the leading slash
    assert any(error.startswith("SARIF1009") for error in mt)  # the bad ruleIndex


def test_multitool_reports_github_errors(doc: dict[str, Any], tmp_path: Path) -> None:
    bad = json.loads(json.dumps(doc))
    results(bad)[0]["locations"] = []
    path = tmp_path / "nolocation.sarif"
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert any(error.startswith("GH1015") for error in multitool_errors(path))


def test_multitool_reports_unreadable_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.sarif"
    path.write_text('{"version": "2.1.0", "runs": [', encoding="utf-8")
    assert any(error.startswith("JSON0001") for error in multitool_errors(path))


# ---------------------------------------------------------------------------------------------------------
# Determinism and hygiene


def test_byte_identical_for_identical_input() -> None:
    first = sarif.render(make_report())
    second = sarif.render(make_report())
    assert first == second
    assert first.endswith("}\n") and not first.endswith("\n\n")


def test_byte_identical_across_checkout_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = []
    for checkout in (tmp_path / "one", tmp_path / "elsewhere" / "two"):
        checkout.mkdir(parents=True)
        monkeypatch.chdir(checkout)
        outputs.append(sarif.render(make_report(base=checkout)))
    assert outputs[0] == outputs[1]
    assert str(tmp_path) not in outputs[0]
    assert '"uri": "manifests/api.yaml"' in outputs[0]


def test_no_nulls_no_absolute_uris(text: str, doc: dict[str, Any]) -> None:
    assert "null" not in text
    assert all(node is not None for node in walk(doc))
    assert "file:" not in text
    assert "originalUriBaseIds" not in text
    uris = [node["uri"] for node in walk(doc) if isinstance(node, dict) and "uri" in node]
    assert len(uris) == 5  # five results; the one rendered location is stdin, not a file: not related
    assert all(not uri.startswith("/") and ".." not in uri.split("/") for uri in uris)


def test_output_is_pretty_utf8_json(text: str) -> None:
    assert text.startswith(
        '{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n  "version": "2.1.0"'
    )
    assert "🚦" in text  # ensure_ascii=False
    assert "\\u" not in text


# ---------------------------------------------------------------------------------------------------------
# Run, tool and rules


def test_single_run_with_tool_and_category(doc: dict[str, Any]) -> None:
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    tool = driver(doc)
    assert tool["name"] == "netpolscan"
    assert tool["version"] == "0.1.0.dev3+g1234abc"
    assert tool["semanticVersion"] == "0.1.0-dev3+g1234abc"
    assert tool["informationUri"].startswith("https://")
    assert doc["runs"][0]["automationDetails"] == {"id": "k8s/netpol/"}


@pytest.mark.parametrize(
    ("category", "expected"),
    [(None, "netpolscan/"), ("", "netpolscan/"), ("prod", "prod/"), ("prod/cluster-1/", "prod/cluster-1/")],
)
def test_automation_id(category: str | None, expected: str) -> None:
    doc = json.loads(sarif.render(make_report(category=category)))
    assert doc["runs"][0]["automationDetails"]["id"] == expected


def test_rules_in_order_with_metadata(doc: dict[str, Any]) -> None:
    rules = driver(doc)["rules"]
    assert [r["id"] for r in rules] == ["NPS101", "NPS301", "NPS601", "NPS001"]  # given order, stand-in last
    by_id = {r["id"]: r for r in rules}

    security = by_id["NPS101"]
    assert security["name"] == "namespace-without-default-deny"
    assert security["shortDescription"] == {"text": RULE_SECURITY.summary}
    assert security["fullDescription"] == {"text": RULE_SECURITY.description}
    assert security["help"]["markdown"] == RULE_SECURITY.help_markdown.strip()
    assert "**" not in security["help"]["text"] and "```" not in security["help"]["text"]
    assert "the docs (https://kubernetes.io/" in security["help"]["text"]
    assert security["helpUri"] == "https://netpolscan.example/rules/NPS101"
    assert security["defaultConfiguration"] == {"level": "error"}
    assert security["properties"] == {
        "tags": ["security", "isolation", "kubernetes"],
        "precision": "high",
        "problem.severity": "error",
        "security-severity": "8.1",
    }

    warning = by_id["NPS301"]
    assert "helpUri" not in warning
    assert "security-severity" not in warning["properties"]
    assert warning["properties"]["tags"] == ["networkpolicy"]  # at least one tag
    assert warning["properties"]["problem.severity"] == "warning"
    assert warning["defaultConfiguration"] == {"level": "warning"}
    assert warning["fullDescription"]["text"] == RULE_WARNING.summary  # falls back to the summary
    assert "List the destinations" in warning["help"]["text"]
    assert "**" not in warning["help"]["text"]

    note = by_id["NPS601"]
    assert note["name"] == "redundant-policy"
    assert note["properties"]["problem.severity"] == "recommendation"
    assert note["properties"]["precision"] == "medium"
    assert len(note["properties"]["tags"]) == 20 and note["properties"]["tags"][0] == "security"

    stand_in = by_id["NPS001"]
    assert stand_in["name"] == "unparsable-document"
    assert stand_in["defaultConfiguration"] == {"level": "error"}


def test_long_description_truncated_safely(doc: dict[str, Any]) -> None:
    short = {r["id"]: r for r in driver(doc)["rules"]}["NPS601"]["shortDescription"]["text"]
    assert len(LONG_SUMMARY.encode("utf-16-le")) // 2 > 1024
    assert len(short.encode("utf-16-le")) // 2 <= 1024
    assert short.endswith("\u2026")
    assert LONG_SUMMARY.startswith(short[:-1])
    assert "\ud83d" not in short  # no lone surrogate


def test_truncate_keeps_combining_sequences() -> None:
    text = "x" * 1022 + "e\u0301\u0301tail"
    cut = sarif._truncate(text)
    assert cut.endswith("\u2026")
    assert not cut[:-1].endswith("e")  # the base letter does not lose its accents
    assert len(cut.encode("utf-16-le")) // 2 <= 1024


def test_rule_name_always_differs_from_id() -> None:
    rule = Rule(id="NPS101", name="NPS101", level=Severity.ERROR, check=_no_violations, summary="")
    doc = json.loads(sarif.render(Report(findings=(), rules=(rule,), tool_version="1.0.0")))
    name = driver(doc)["rules"][0]["name"]
    assert name != "NPS101" and name == name.lower()
    assert github_rule_errors(doc) == []


def test_invalid_security_severity_is_left_out_with_a_notification() -> None:
    rule = Rule(
        id="NPS102",
        name="x-y",
        level=Severity.ERROR,
        check=_no_violations,
        summary="s",
        security_severity="high",
    )
    doc = json.loads(sarif.render(Report(findings=(), rules=(rule,), tool_version="1.0.0")))
    assert "security-severity" not in driver(doc)["rules"][0]["properties"]
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("security severity" in n["message"]["text"] for n in notes)


# ---------------------------------------------------------------------------------------------------------
# Results


def test_one_result_per_finding_in_order(doc: dict[str, Any]) -> None:
    report = make_report()
    found = results(doc)
    assert [r["ruleId"] for r in found] == [f.rule_id for f in report.findings]
    assert [r["message"]["text"] for r in found] == [f.message for f in report.findings]
    rules = driver(doc)["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in found)


def test_levels_are_explicit_even_the_default(doc: dict[str, Any], text: str) -> None:
    assert [r["level"] for r in results(doc)] == ["error", "warning", "warning", "note", "error"]
    assert text.count('"level": "warning"') >= 3  # two results + the rule's defaultConfiguration


def test_locations(doc: dict[str, Any]) -> None:
    found = results(doc)
    assert all(len(r["locations"]) == 1 for r in found)
    physical = [r["locations"][0]["physicalLocation"] for r in found]
    assert [p["artifactLocation"]["uri"] for p in physical] == [
        "deploy/team%20a/%C3%B1amespace%20%C3%BC.yaml",
        "charts/web/templates/netpol.yaml",
        "nonexistent-checkout/manifests/api.yaml",  # absolute outside the working directory: root removed
        "outside/the%20repo/%231%25.yaml",  # escaping ".." dropped, "#" and "%" encoded
        "work/manifests/bad.yaml",  # a Windows path: drive removed, separators normalized
    ]
    assert all(p["artifactLocation"]["uriBaseId"] == "%SRCROOT%" for p in physical)
    assert physical[0]["region"] == {"startLine": 3, "startColumn": 1}
    assert physical[1]["region"] == {"startLine": 12, "startColumn": 5}
    assert physical[2]["region"] == {"startLine": 1, "startColumn": 1}  # clamped to >= 1


def test_rendered_location_is_related_when_it_is_a_file(
    doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stdin (or `helm template` output) is no file of the checkout: no related location points there
    assert all("relatedLocations" not in r for r in results(doc))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rendered.yaml").write_text("kind: NetworkPolicy\n", encoding="utf-8")
    rendered = Location("charts/web/templates/netpol.yaml", 12, 5, rendered=Location("rendered.yaml", 140, 7))
    finding = Finding("NPS301", "unrestricted-egress", Severity.WARNING, "Egress is open.", rendered)
    [result] = results(json.loads(sarif.render(Report(findings=(finding,), rules=RULES))))
    assert result["relatedLocations"] == [
        {
            "id": 1,
            "message": {"text": "rendered manifest"},
            "physicalLocation": {
                "artifactLocation": {"uri": "rendered.yaml", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 140, "startColumn": 7},
            },
        }
    ]


def test_logical_locations_and_fingerprints(doc: dict[str, Any]) -> None:
    found = results(doc)
    assert found[0]["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "Namespace/team-a", "kind": "resource"}
    ]
    assert found[2]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Pod/team-a/web"
    assert "logicalLocations" not in found[4]["locations"][0]  # no object
    assert [r["partialFingerprints"] for r in found] == [
        {"netpolscan/v1": fp} for fp in ("fp-ns", "fp-egress", "fp-abs", "fp-outside", "fp-parse")
    ]


def test_missing_fingerprint_gets_a_line_independent_one() -> None:
    def report(line: int) -> Report:
        finding = Finding(
            "NPS301", "unrestricted-egress", Severity.WARNING, "m", Location("a.yaml", line), POD
        )
        return Report(findings=(finding,), rules=RULES, tool_version="1.0.0")

    first = results(json.loads(sarif.render(report(3))))[0]["partialFingerprints"]["netpolscan/v1"]
    moved = results(json.loads(sarif.render(report(30))))[0]["partialFingerprints"]["netpolscan/v1"]
    assert first and first == moved


def test_suppressions_use_status(doc: dict[str, Any]) -> None:
    found = results(doc)
    assert found[2]["suppressions"] == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "Reviewed: the api calls external services.",
        }
    ]
    assert found[3]["suppressions"] == [{"kind": "external", "status": "accepted"}]
    assert all("suppressions" not in r for r in (found[0], found[1], found[4]))
    assert all("state" not in s for r in found for s in r.get("suppressions", []))


def test_properties_carry_extra(doc: dict[str, Any]) -> None:
    found = results(doc)
    assert found[1]["properties"] == {"peers": ["0.0.0.0/0"], "ports": [80, 443], "ratio": 0.5}
    assert all("properties" not in r for i, r in enumerate(found) if i != 1)


def test_notifications(doc: dict[str, Any]) -> None:
    invocations = doc["runs"][0]["invocations"]
    assert len(invocations) == 1 and invocations[0]["executionSuccessful"] is True
    notes = invocations[0]["toolExecutionNotifications"]
    assert notes[0]["level"] == "error"
    assert notes[0]["associatedRule"] == {"id": "NPS601", "index": 2}
    assert notes[0]["message"]["text"].startswith("Rule NPS601 raised")
    assert notes[1] == {"level": "warning", "message": {"text": "Namespace team-b is not in the input."}}


# ---------------------------------------------------------------------------------------------------------
# GitHub limits


def _many(count: int) -> Report:
    findings = tuple(
        Finding(
            "NPS301",
            "unrestricted-egress",
            Severity.WARNING,
            f"Finding {i}.",
            Location(f"m/{i % 100}.yaml", i % 5000 + 1),
            fingerprint=f"fp{i}",
        )
        for i in range(count)
    )
    return Report(findings=findings, rules=RULES, tool_version="1.0.0")


def test_result_cap_with_notification() -> None:
    doc = json.loads(sarif.render(_many(25_003)))
    found = results(doc)
    assert len(found) == 25_000
    assert found[0]["message"]["text"] == "Finding 0."
    assert found[-1]["message"]["text"] == "Finding 24999."
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1
    assert notes[0]["level"] == "warning"
    assert "3 result(s) were dropped" in notes[0]["message"]["text"]
    assert "25000" in notes[0]["message"]["text"]
    assert github_rule_errors(doc) == []


def test_no_cap_at_exactly_the_limit() -> None:
    doc = json.loads(sarif.render(_many(25_000)))
    assert len(results(doc)) == 25_000
    assert "toolExecutionNotifications" not in doc["runs"][0]["invocations"][0]


def test_check_limits_clean_for_normal_output(text: str) -> None:
    assert sarif.check_limits(text) == []


def test_check_limits_warns_over_10mb_gzipped() -> None:
    noise = random.Random(7).randbytes(11 * 1024 * 1024).hex()  # hex of random bytes: ~50% compressible
    doc = json.loads(sarif.render(Report(findings=(), rules=(), tool_version="1.0.0")))
    doc["runs"][0]["properties"] = {"noise": noise}
    warnings = sarif.check_limits(json.dumps(doc))
    assert len(warnings) == 1
    assert "10 MB" in warnings[0] and "gzipped" in warnings[0]


def test_check_limits_counts() -> None:
    doc = json.loads(sarif.render(make_report()))
    doc["runs"] = doc["runs"] * 21
    doc["runs"][0] = json.loads(json.dumps(doc["runs"][0]))
    doc["runs"][0]["results"] = doc["runs"][0]["results"] * 5001 + doc["runs"][0]["results"][:1]  # 25,006
    warnings = sarif.check_limits(json.dumps(doc))
    assert any("21 runs" in w for w in warnings)
    assert any("25006 results" in w for w in warnings)


# ---------------------------------------------------------------------------------------------------------
# Paths and versions


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("manifests/app.yaml", "manifests/app.yaml"),
        ("./manifests//app.yaml", "manifests/app.yaml"),
        ("-", "stdin"),
        ("dir with space/ünïcode.yaml", "dir%20with%20space/%C3%BCn%C3%AFcode.yaml"),
        ("a/b/../c.yaml", "a/c.yaml"),
        ("../../x.yaml", "x.yaml"),
        ("/srv/checkout/sub/x.yaml", "sub/x.yaml"),
        ("/srv/other/x.yaml", "srv/other/x.yaml"),
        ("file:///srv/checkout/x%20y.yaml", "x%20y.yaml"),
        ("C:\\repo\\x.yaml", "repo/x.yaml"),
        ("weird:name?.yaml", "weird%3Aname%3F.yaml"),
        ("..", "unknown"),
    ],
)
def test_artifact_uri(path: str, expected: str) -> None:
    assert sarif.artifact_uri(path, base="/srv/checkout") == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("0.1.0.dev3+g1234abc", "0.1.0-dev3+g1234abc"),
        ("2.0rc1", "2.0.0-rc1"),
        ("1.0.0.post2", "1.0.0+post2"),  # a post-release must not sort before its release
        ("garbage", None),
    ],
)
def test_semantic_version(version: str, expected: str | None) -> None:
    assert sarif._semantic_version(version) == expected


# ---------------------------------------------------------------------------------------------------------
# The validation helpers themselves


def test_require_multitool_fails_on_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETPOLSCAN_TOOLS", str(tmp_path / "empty"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-sarif-tools.sh"):
        require_multitool()


def test_require_multitool_skips_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETPOLSCAN_TOOLS", str(tmp_path / "empty"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install-sarif-tools.sh"):
        require_multitool()


def test_require_multitool_finds_the_installed_binary() -> None:
    binary = require_multitool()
    assert binary.name.startswith("Sarif.Multitool")
    assert os.access(binary, os.X_OK)
