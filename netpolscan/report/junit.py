"""JUnit XML: one testsuite ``netpolscan``; one testcase per rule and object, failing with its findings.

A rule that ran and found nothing (or only suppressed findings) is one passing testcase named
``no findings``, so CI dashboards list the rules that passed. A tool notification (a rule that raised)
is a testcase with an ``<error>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from netpolscan.plugin_api import Finding, Notification, Report, Rule

SUITE = "netpolscan"
PASSED = "no findings"

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def subject(finding: Finding) -> str:
    """The testcase name of a finding: its object (``Kind/ns/name``), else its file."""
    return str(finding.obj) if finding.obj is not None else finding.location.path


def finding_line(finding: Finding) -> str:
    loc = finding.location
    return f"{loc.path}:{loc.line}:{loc.column} {finding.rule_id} {finding.message}"


def _classname(rule_id: str, rule_name: str) -> str:
    return _clean(f"{rule_id} {rule_name}" if rule_name else rule_id)


def _failing_case(classname: str, name: str, findings: list[Finding]) -> ET.Element:
    attributes = {"classname": classname, "name": _clean(name), "file": _clean(findings[0].location.path)}
    case = ET.Element("testcase", attributes)
    worst = max(findings, key=lambda f: f.level.rank).level
    failure = ET.SubElement(
        case,
        "failure",
        {"message": _clean("; ".join(f.message for f in findings)), "type": worst.value},
    )
    failure.text = _clean("\n".join(finding_line(f) for f in findings))
    return case


def _error_case(note: Notification, rules: dict[str, Rule]) -> ET.Element:
    rule = rules.get(note.rule_id or "")
    classname = _classname(note.rule_id, rule.name if rule else "") if note.rule_id else SUITE
    case = ET.Element("testcase", {"classname": classname, "name": "tool notification"})
    error = ET.SubElement(case, "error", {"message": _clean(note.message), "type": note.level.value})
    error.text = _clean(note.message)
    return case


def testcases(report: Report) -> Iterable[ET.Element]:
    """The testcases in a stable order: rules as they ran, objects by name, then notifications."""
    rules = {rule.id: rule for rule in report.rules}
    grouped: dict[str, dict[str, list[Finding]]] = {}
    names: dict[str, str] = {}
    for finding in report.active:
        grouped.setdefault(finding.rule_id, {}).setdefault(subject(finding), []).append(finding)
        names.setdefault(finding.rule_id, finding.rule_name)
    failed_by_notification = {note.rule_id for note in report.notifications if note.rule_id}
    order = [rule.id for rule in report.rules] + sorted(set(grouped) - set(rules))
    for rule_id in order:
        rule = rules.get(rule_id)
        classname = _classname(rule_id, rule.name if rule else names.get(rule_id, ""))
        by_object = grouped.get(rule_id)
        if by_object:
            for name in sorted(by_object):
                yield _failing_case(classname, name, by_object[name])
        elif rule_id not in failed_by_notification:
            yield ET.Element("testcase", {"classname": classname, "name": PASSED})
    for note in report.notifications:
        yield _error_case(note, rules)


def to_element(report: Report) -> ET.Element:
    cases = list(testcases(report))
    failures = sum(1 for case in cases if case.find("failure") is not None)
    errors = sum(1 for case in cases if case.find("error") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors), "skipped": "0"}
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(cases)
    return root


def render(report: Report) -> str:
    root = to_element(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
