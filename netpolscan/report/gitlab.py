"""GitLab Code Quality report: a JSON list of issues (the Code Climate subset GitLab reads).

Each active finding becomes ``{description, check_name, fingerprint, severity, location: {path,
lines: {begin}}}``, plus ``categories: ["Security"]`` for rules with a security severity. Fingerprints are
the findings' own (stable across runs), made unique when two findings share one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from netpolscan.plugin_api import Finding, Report, Rule, Severity

SEVERITIES = ("info", "minor", "major", "critical", "blocker")


def _security_severity(rule: Rule | None) -> float | None:
    if rule is None or rule.security_severity is None:
        return None
    try:
        return float(rule.security_severity)
    except ValueError:
        return None


def severity(level: Severity, security_severity: float | None) -> str:
    """Map a level (and the rule's security severity) to a Code Quality severity."""
    score = security_severity or 0.0
    if level is Severity.ERROR:
        return "blocker" if score >= 9 else "critical"
    if level is Severity.WARNING:
        return "major" if score >= 7 else "minor"
    return "info"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _fingerprint(finding: Finding, seen: set[str]) -> str:
    base = finding.fingerprint or _digest(
        finding.rule_id, finding.location.path, str(finding.obj or ""), finding.message
    )
    candidate, n = base, 1
    while candidate in seen:
        candidate = _digest(base, str(n))
        n += 1
    seen.add(candidate)
    return candidate


def to_list(report: Report) -> list[dict[str, Any]]:
    rules = {rule.id: rule for rule in report.rules}
    seen: set[str] = set()
    issues: list[dict[str, Any]] = []
    for finding in report.active:
        rule = rules.get(finding.rule_id)
        score = _security_severity(rule)
        issue: dict[str, Any] = {
            "type": "issue",
            "description": f"{finding.rule_id}: {finding.message}",
            "check_name": finding.rule_id,
            "fingerprint": _fingerprint(finding, seen),
            "severity": severity(finding.level, score),
            "location": {"path": finding.location.path, "lines": {"begin": max(finding.location.line, 1)}},
        }
        if score is not None:
            issue["categories"] = ["Security"]
        issues.append(issue)
    return issues


def render(report: Report) -> str:
    return json.dumps(to_list(report), indent=2, ensure_ascii=False) + "\n"
