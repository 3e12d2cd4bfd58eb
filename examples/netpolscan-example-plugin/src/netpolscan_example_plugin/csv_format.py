"""The `acme-csv` output format: one line per finding, for spreadsheets."""

from __future__ import annotations

import csv
import io

from netpolscan import Report

COLUMNS = ("rule", "name", "level", "path", "line", "column", "object", "message", "suppressed")


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for finding in report.findings:
        loc = finding.location
        writer.writerow(
            (
                finding.rule_id,
                finding.rule_name,
                finding.level.value,
                loc.path,
                loc.line,
                loc.column,
                str(finding.obj) if finding.obj else "",
                finding.message,
                "yes" if finding.suppression else "no",
            )
        )
    return out.getvalue()
