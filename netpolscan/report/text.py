"""Human output: findings grouped by file as ``file:line:col ID message``, then a summary."""

from __future__ import annotations

from collections import Counter

from netpolscan.findings import Finding, Report

_COLOURS = {"error": "\x1b[31m", "warning": "\x1b[33m", "note": "\x1b[36m"}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"


def render(report: Report, colour: bool = False) -> str:
    lines: list[str] = []
    shown = [f for f in report.findings if report.show_suppressed or f.suppression is None]
    current = None
    for finding in shown:
        if finding.location.path != current:
            if current is not None:
                lines.append("")
            current = finding.location.path
            lines.append(f"{_BOLD}{current}{_RESET}" if colour else current)
        lines.append(_line(finding, colour))
    for note in report.notifications:
        lines.append(f"netpolscan: {note.level.value}: {note.message}")
    if lines:
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _line(finding: Finding, colour: bool) -> str:
    loc = finding.location
    rule = f"{finding.rule_id}"
    level = finding.level.value
    if colour:
        rule = f"{_COLOURS[level]}{rule}{_RESET}"
    suffix = " [suppressed]" if finding.suppression is not None else ""
    mapped = f" (rendered at {loc.rendered.path}:{loc.rendered.line})" if loc.rendered is not None else ""
    return f"{loc.path}:{loc.line}:{loc.column} {rule} [{level}] {finding.message}{mapped}{suffix}"


def summary(report: Report) -> str:
    counts = Counter(f.level.value for f in report.active)
    suppressed = sum(1 for f in report.findings if f.suppression is not None)
    total = sum(counts.values())
    parts = [
        f"{counts.get(level, 0)} {level}{'s' if counts.get(level, 0) != 1 else ''}"
        for level in ("error", "warning", "note")
    ]
    text = f"Found {total} finding{'s' if total != 1 else ''} ({', '.join(parts)})"
    if suppressed:
        text += f", {suppressed} suppressed"
    return text + "."
