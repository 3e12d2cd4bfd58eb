"""Machine output: the JSON document described by ``schemas/findings.schema.json``."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any, TextIO

from netpolscan.plugin_api import Finding, Report
from netpolscan.report.stream import SLOT, split_at_slot, write_array

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
    if finding.related:
        item["related"] = [
            {"label": label, "path": place.path, "line": place.line, "column": place.column}
            for label, place in finding.related
        ]
    if finding.fix is not None:
        item["fix"] = {
            "description": finding.fix.description,
            "insertions": [
                {"path": r.path, "line": r.line, "column": r.column, "offset": r.offset, "text": r.text}
                for r in finding.fix.replacements
            ],
        }
        if finding.fix.source is not None:
            where = finding.fix.source
            item["fix"]["source"] = {"path": where.path, "line": where.line, "column": where.column}
    if finding.suppression is not None:
        item["suppressed"] = {
            "kind": finding.suppression.kind,
            "justification": finding.suppression.justification,
        }
    return item


def to_dict(report: Report, findings: Any = None) -> dict[str, Any]:
    """The whole document (``findings`` stands in for the list of findings when given)."""
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
        "findings": [finding_to_dict(f) for f in report.findings] if findings is None else findings,
        "rules": [
            {"id": r.id, "name": r.name, "level": r.level.value, "plugin": r.plugin} for r in report.rules
        ],
        "notifications": [
            {"level": n.level.value, "message": n.message, **({"ruleId": n.rule_id} if n.rule_id else {})}
            for n in report.notifications
        ],
    }


def write(report: Report, stream: TextIO) -> None:
    """Write the document to ``stream``, one finding at a time (never the whole text or list at once)."""
    head, tail = split_at_slot(to_dict(report, findings=SLOT))
    stream.write(head)
    write_array(stream, (finding_to_dict(f) for f in report.findings), 4)
    stream.write(tail + "\n")


def render(report: Report) -> str:
    buffer = io.StringIO()
    write(report, buffer)
    return buffer.getvalue()
