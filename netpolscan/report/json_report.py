"""Machine output: the JSON document described by ``schemas/findings.schema.json``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from netpolscan.findings import Finding, Report

SCHEMA_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    item: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleName": finding.rule_name,
        "level": finding.level.value,
        "message": finding.message,
        "location": {"path": loc.path, "line": loc.line, "column": loc.column},
        "fingerprint": finding.fingerprint,
    }
    if loc.rendered is not None:
        item["location"]["rendered"] = {
            "path": loc.rendered.path,
            "line": loc.rendered.line,
            "column": loc.rendered.column,
        }
    if finding.obj is not None:
        item["object"] = {
            "kind": finding.obj.kind,
            "namespace": finding.obj.namespace,
            "name": finding.obj.name,
        }
    if finding.suppression is not None:
        item["suppressed"] = {
            "kind": finding.suppression.kind,
            "justification": finding.suppression.justification,
        }
    return item


def to_dict(report: Report) -> dict[str, Any]:
    counts = Counter(f.level.value for f in report.active)
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "netpolscan", "version": report.tool_version},
        "summary": {
            "total": len(report.active),
            "error": counts.get("error", 0),
            "warning": counts.get("warning", 0),
            "note": counts.get("note", 0),
            "suppressed": len(report.findings) - len(report.active),
        },
        "findings": [finding_to_dict(f) for f in report.findings],
        "rules": [
            {"id": r.id, "name": r.name, "level": r.level.value, "plugin": r.plugin} for r in report.rules
        ],
        "notifications": [
            {"level": n.level.value, "message": n.message, **({"ruleId": n.rule_id} if n.rule_id else {})}
            for n in report.notifications
        ],
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
