"""Human output: findings grouped by file as ``file:line:col ID message``, then a summary.

``group_by`` (``--group-by rule|object|file``) heads each group with its finding count instead: the
view for a large scan, where one pattern repeated in every namespace should read as one line of counts.
The text is produced line by line (:func:`iter_text`), so :func:`write` never holds it whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import TextIO

from netpolscan.plugin_api import Finding, Report

_COLOURS = {"error": "\x1b[31m", "warning": "\x1b[33m", "note": "\x1b[36m"}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"

GROUPS: dict[str, Callable[[Finding], str]] = {
    "rule": lambda f: f"{f.rule_id} {f.rule_name}".strip(),
    "object": lambda f: str(f.obj) if f.obj is not None else f"(no object) {f.location.path}",
    "file": lambda f: f.location.path,
}


def render(report: Report, colour: bool = False, group_by: str | None = None) -> str:
    return "".join(iter_text(report, colour, group_by))


def write(report: Report, stream: TextIO, colour: bool = False, group_by: str | None = None) -> None:
    """Write the text to ``stream`` as it is produced."""
    for chunk in iter_text(report, colour, group_by):
        stream.write(chunk)


def iter_text(report: Report, colour: bool = False, group_by: str | None = None) -> Iterator[str]:
    """The text report, one line (with its newline) at a time."""
    shown = [f for f in report.findings if report.show_suppressed or f.suppression is None]
    any_line = False
    if group_by is None:
        current = None
        for finding in shown:
            if finding.location.path != current:
                if current is not None:
                    yield "\n"
                current = finding.location.path
                yield (f"{_BOLD}{current}{_RESET}" if colour else current) + "\n"
            yield _line(finding, colour) + "\n"
            any_line = True
    else:
        key = GROUPS[group_by]
        groups: dict[str, list[Finding]] = {}
        for finding in shown:
            groups.setdefault(key(finding), []).append(finding)
        for number, title in enumerate(sorted(groups)):
            members = groups[title]
            count = f"{len(members)} finding{'s' if len(members) != 1 else ''}"
            heading = f"{title} ({count})"
            yield ("\n" if number else "") + (f"{_BOLD}{heading}{_RESET}" if colour else heading) + "\n"
            for finding in members:
                yield _line(finding, colour) + "\n"
            any_line = True
    for note in report.notifications:
        yield f"netpolscan: {note.level.value}: {note.message}\n"
        any_line = True
    if any_line:
        yield "\n"
    yield summary(report) + "\n"


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
