"""A Markdown summary for ``$GITHUB_STEP_SUMMARY``: counts, a table by rule, a table by file, findings.

GitHub accepts at most 1 MiB per step summary, so the output is kept under ``MAX_BYTES`` (UTF-8): the
findings list, and the file table for huge scans, stop early with a line saying how many were left out.
"""

from __future__ import annotations

from collections import Counter

from netpolscan.plugin_api import Finding, Report, Severity

MAX_BYTES = 1_000_000  # below GitHub's 1 MiB step-summary limit, with room to spare
MAX_MESSAGE = 1_000  # characters of one finding's message in the list
_RESERVED = 2_000  # bytes kept for the lines that close the output
_LEVELS = (Severity.ERROR, Severity.WARNING, Severity.NOTE)


def cell(text: str) -> str:
    """Table-cell text: ``|`` escaped, line breaks as ``<br>``."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(part for part in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def inline(text: str, limit: int = MAX_MESSAGE) -> str:
    """List-item text: one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _finding_item(finding: Finding) -> str:
    loc = finding.location
    where = inline(f"{loc.path}:{loc.line}:{loc.column}", 500).replace("`", "'")
    return f"- **{finding.level.value}** `{finding.rule_id}` `{where}`: {inline(finding.message)}"


class _Budget:
    """Appends lines while the UTF-8 size stays within the limit (minus what the ending needs)."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.limit = limit

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line.encode("utf-8")) + 1

    def fits(self, line: str, limit: int) -> bool:
        return self.size + len(line.encode("utf-8")) + 1 + _RESERVED <= limit

    def add_capped(self, lines: list[str], what: str, share: float = 1.0) -> None:
        """Add ``lines`` while they fit in ``share`` of the space left; then say how many were left out."""
        limit = self.size + int((self.limit - self.size) * share)
        for index, line in enumerate(lines):
            if not self.fits(line, limit):
                self.add("")
                self.add(f"*{_plural(len(lines) - index, what)} left out to keep this summary under 1 MiB.*")
                return
            self.add(line)


def render(report: Report) -> str:
    active = report.active
    suppressed = len(report.findings) - len(active)
    out = _Budget(MAX_BYTES)
    out.add("## netpolscan")
    out.add("")
    if not active:
        text = f"No findings ({_plural(len(report.rules), 'rule')} ran"
        out.add(text + (f", {suppressed} suppressed)." if suppressed else ")."))
    else:
        levels = Counter(f.level for f in active)
        counts = ", ".join(_plural(levels.get(level, 0), level.value) for level in _LEVELS)
        line = f"**{_plural(len(active), 'finding')}**: {counts}"
        out.add(line + (f"; {suppressed} suppressed." if suppressed else "."))
        _rule_table(out, report)
        _file_table(out, active)
    _notifications(out, report)
    if active:
        out.add("")
        out.add("### Findings")
        out.add("")
        out.add_capped([_finding_item(f) for f in active], "finding")
    return "\n".join(out.lines) + "\n"


def _rule_table(out: _Budget, report: Report) -> None:
    by_rule: dict[str, list[Finding]] = {}
    for finding in report.active:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    names = {rule.id: rule.name for rule in report.rules}
    rows = sorted(by_rule.items(), key=lambda item: (-max(f.level.rank for f in item[1]), item[0]))
    out.add("")
    out.add("### By rule")
    out.add("")
    out.add("| Rule | Name | Level | Findings |")
    out.add("|---|---|---|---:|")
    out.add_capped(
        [
            f"| {cell(rule_id)} | {cell(names.get(rule_id, found[0].rule_name))} | "
            f"{max(found, key=lambda f: f.level.rank).level.value} | {len(found)} |"
            for rule_id, found in rows
        ],
        "rule",
        share=0.25,
    )


def _file_table(out: _Budget, active: tuple[Finding, ...]) -> None:
    by_file: dict[str, Counter[Severity]] = {}
    for finding in active:
        by_file.setdefault(finding.location.path, Counter())[finding.level] += 1
    out.add("")
    out.add("### By file")
    out.add("")
    out.add("| File | Errors | Warnings | Notes |")
    out.add("|---|---:|---:|---:|")
    rows = [
        f"| {cell(path)} | {counts[Severity.ERROR]} | {counts[Severity.WARNING]} | {counts[Severity.NOTE]} |"
        for path, counts in sorted(by_file.items())
    ]
    out.add_capped(rows, "file", share=0.25)  # keep most of the space for the findings list


def _notifications(out: _Budget, report: Report) -> None:
    if not report.notifications:
        return
    out.add("")
    out.add("### Tool notifications")
    out.add("")
    items = [
        f"- **{note.level.value}**{f' `{note.rule_id}`' if note.rule_id else ''}: {inline(note.message)}"
        for note in report.notifications
    ]
    out.add_capped(items, "notification")
