"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` annotation per finding.

Format: ``::LEVEL file=PATH,line=L,col=C,endLine=L,title=TITLE::MESSAGE``. Property values escape ``%``,
CR, LF, ``:`` and ``,``; the message escapes ``%``, CR and LF. Tool notifications become annotations
without a file, and one ``::notice::`` line closes the output with the summary.
"""

from __future__ import annotations

from netpolscan.plugin_api import Finding, Report, Severity
from netpolscan.report.text import summary

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(value: str) -> str:
    """Escape a command's message: ``%``, CR and LF."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value: the message escapes plus ``:`` and ``,``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: dict[str, str] | None = None) -> str:
    """One workflow command line (without the newline)."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in (properties or {}).items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding: Finding) -> str:
    loc = finding.location
    line = str(max(loc.line, 1))
    properties = {
        "file": loc.path,
        "line": line,
        "col": str(max(loc.column, 1)),
        "endLine": line,
        "title": f"{finding.rule_id} {finding.rule_name}",
    }
    return command(COMMANDS[finding.level], finding.message, properties)


def render(report: Report) -> str:
    lines = [annotation(finding) for finding in report.active]
    for note in report.notifications:
        prefix = f"{note.rule_id}: " if note.rule_id else ""
        lines.append(command(COMMANDS[note.level], f"netpolscan: {prefix}{note.message}"))
    lines.append(command("notice", f"netpolscan: {summary(report)}"))
    return "\n".join(lines) + "\n"
