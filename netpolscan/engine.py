"""Run the selected rules over a scan and turn their violations into located, sorted findings."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netpolscan.context import ScanContext
from netpolscan.errors import NetpolscanError
from netpolscan.plugin_api import (
    Finding,
    FindingFix,
    Fix,
    Location,
    Notification,
    Replacement,
    Rule,
    Severity,
    Violation,
)
from netpolscan.sourcemap import SourceMapper
from netpolscan.sources.document import Document, Pointer

if TYPE_CHECKING:
    from netpolscan.sources.yamledit import Insertion
from netpolscan.suppression import annotation_suppression, names_rule


@dataclass
class EngineResult:
    findings: list[Finding] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def select_rules(rules: Sequence[Rule], select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules chosen by ``--select`` / ``--ignore`` (ids, id prefixes like ``NPS3``, or names)."""
    select, ignore = list(select), list(ignore)
    for token in [*select, *ignore]:
        if not any(names_rule(token, rule.id, rule.name) for rule in rules):
            raise NetpolscanError(f"unknown rule {token!r} (see `netpolscan rules`)")
    chosen = [r for r in rules if not select or any(names_rule(t, r.id, r.name) for t in select)]
    return [r for r in chosen if not any(names_rule(t, r.id, r.name) for t in ignore)]


def run_rules(
    ctx: ScanContext, rules: Sequence[Rule], today: dt.date | None = None, mapper: SourceMapper | None = None
) -> EngineResult:
    """Run every rule; a rule that raises becomes a notification and the others still run.

    With a ``mapper``, findings in rendered Helm/Kustomize output point at the source file the user edits.
    """
    result = EngineResult()
    today = today or dt.date.today()
    fixes = FixCache()
    for rule in rules:
        try:
            violations = list(rule.check(ctx))
        except Exception as exc:  # a broken rule must not stop the scan
            result.notifications.append(
                Notification(
                    f"rule {rule.id} ({rule.name}) failed and was skipped: {type(exc).__name__}: {exc}",
                    rule.id,
                )
            )
            continue
        for violation in violations:
            result.findings.append(make_finding(rule, violation, today, mapper, fixes))
    result.findings = dedupe_and_sort(result.findings)
    return result


def locate(violation: Violation) -> Location:
    if violation.location is not None:
        return violation.location
    doc = violation.document
    if violation.line is not None:
        return Location(doc.path, violation.line, violation.column or 1)
    line, column = doc.position(violation.pointer)
    return Location(doc.path, line, column)


def fingerprint(rule: Rule, violation: Violation) -> str:
    """Stable identity of a finding: independent of line numbers, document order and checkout path."""
    doc = violation.document
    subject = str(violation.obj) if violation.obj is not None else f"{doc.path}#{violation.message}"
    pointer = "/".join(str(part) for part in violation.pointer)
    raw = "\x1f".join((rule.id, subject, pointer, violation.key, ""))  # "": as before (stable baselines)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def make_finding(
    rule: Rule,
    violation: Violation,
    today: dt.date,
    mapper: SourceMapper | None = None,
    fixes: FixCache | None = None,
) -> Finding:
    location = locate(violation)
    message = violation.message
    if mapper is not None and violation.location is None:
        location, reason = mapper.map(violation.document, violation.pointer, location)
        if reason:
            message = f"{message} (not mapped to its source: {reason})"
    related = []
    for label, doc, pointer in violation.related:
        place = Location(doc.path, *doc.position(pointer))
        related.append((label, mapper.map(doc, pointer, place)[0] if mapper is not None else place))
    return Finding(
        rule_id=rule.id,
        rule_name=rule.name,
        level=rule.level
        if violation.level is None or violation.level.rank >= rule.level.rank
        else violation.level,
        message=message,
        location=location,
        obj=violation.obj,
        fingerprint=fingerprint(rule, violation),
        suppression=annotation_suppression(rule, violation, today),
        related=tuple(related),
        fix=locate_fix(violation.fix, mapper, fixes) if violation.fix is not None else None,
    )


class FixCache:
    """The text insertion of each edit already located in a run: many findings share one remedy (NPS501
    for every workload a policy isolates)."""

    def __init__(self) -> None:
        self.found: dict[tuple[int, str], Insertion | None] = {}

    def insertion(self, document: Document, pointer: Pointer, value: object) -> Insertion | None:
        from netpolscan.sources.yamledit import insertion  # only findings with a fix need it

        assert document.source is not None
        key = (id(document), repr((pointer, value)))
        if key not in self.found:
            current = document.data if document.list_item is None else None  # a list item is not the text
            self.found[key] = insertion(document.source, pointer, value, current)
        return self.found[key]


def locate_fix(
    fix: Fix, mapper: SourceMapper | None = None, cache: FixCache | None = None
) -> FindingFix | None:
    """A violation's fix as text insertions into the scanned files; None when any edit cannot be made
    safely (or two edits overlap). ``source`` names the template or source file of a rendered document."""
    cache = cache or FixCache()
    replacements: list[Replacement] = []
    source: Location | None = None
    for edit in fix.edits:
        doc = edit.document
        if doc.source is None:
            return None
        pointer = edit.pointer if doc.list_item is None else ("items", doc.list_item, *edit.pointer)
        found = cache.insertion(doc, pointer, edit.value)
        if found is None:
            return None
        line = doc.source_line + found.line
        replacements.append(
            Replacement(doc.path, doc.source_offset + found.offset, line, found.column, found.text)
        )
        origin = doc.helm_source or (doc.origin.path if doc.origin is not None else None)
        if source is None and origin is not None:
            place = Location(doc.path, *doc.position(edit.pointer))
            mapped = mapper.map(doc, edit.pointer, place)[0] if mapper is not None else place
            source = mapped if mapped.path != doc.path else Location(origin, 1)
    places = sorted((r.path, r.offset) for r in replacements)
    if len(set(places)) != len(places):
        return None  # two insertions at one place: their order would be a guess
    return FindingFix(fix.description, tuple(replacements), source)


def dedupe_and_sort(findings: Iterable[Finding]) -> list[Finding]:
    unique: dict[tuple[str, str, str, int], Finding] = {}
    for finding in findings:
        unique.setdefault(
            (finding.rule_id, finding.fingerprint, finding.message, finding.location.line), finding
        )
    return sorted(unique.values(), key=Finding.sort_key)


def count_failing(findings: Iterable[Finding], threshold: Severity | None) -> int:
    """Active findings at or above ``threshold`` (None = never fail)."""
    if threshold is None:
        return 0
    return sum(
        1
        for f in findings
        if f.suppression is None and f.baseline_state != "unchanged" and f.level.rank >= threshold.rank
    )
