"""Fixing scanned files: scan, apply the fixes that go together, scan again, until nothing is left.

Everything happens in memory; the caller writes the changed files (``--apply``) or shows them as a diff
(``--diff``). Documents rendered from a Helm template or a Kustomize source are never rewritten: their
fixes are returned as changes to make by hand in the file they came from.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from netpolscan.errors import NetpolscanError
from netpolscan.fixes.edits import apply, choose, unified_diff
from netpolscan.plugin_api import Finding
from netpolscan.scan import ScanOptions, chosen_rules, scan_documents
from netpolscan.sources.document import Document
from netpolscan.sources.files import Skipped, decode, display_path, iter_paths, skipped_note
from netpolscan.sources.yamlparse import parse_text

_OTHER_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)  # UTF-32 LE starts as UTF-16 LE
MAX_ROUNDS = 10  # a fix may uncover another (NPS505 then NPS501); real inputs settle in two or three


@dataclass
class SourceFile:
    """A scanned file: where it is, its text as read and as fixed so far."""

    path: Path
    shown: str
    original: str
    text: str
    bom: bytes = b""

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def encoded(self) -> bytes:
        return self.bom + self.text.encode("utf-8")

    def diff(self) -> str:
        return unified_diff(self.shown, self.original, self.text)


@dataclass(frozen=True)
class ManualFix:
    """A fix of a rendered document: the change to make by hand where it came from (``finding.fix.source``),
    shown as a diff of the rendered file."""

    finding: Finding
    diff: str


@dataclass
class FixResult:
    files: dict[str, SourceFile] = field(default_factory=dict)  # by display path
    applied: list[Finding] = field(default_factory=list)  # in the order they were made
    manual: list[ManualFix] = field(default_factory=list)
    stale: list[Finding] = field(default_factory=list)  # fixed once, yet found again: not repeated
    notes: list[str] = field(default_factory=list)  # what the walk left out, rules that failed (stderr)
    rounds: int = 0

    @property
    def changed(self) -> list[SourceFile]:
        return [f for f in self.files.values() if f.changed]


def read_files(
    paths: list[str], skipped: list[Skipped] | None = None, unread: list[str] | None = None
) -> dict[str, SourceFile]:
    """The UTF-8 files of ``paths`` (directories walked as ``scan`` does, what it leaves out appended to
    ``skipped``) by display path; ``unread`` gets one line per file that is not UTF-8 text."""
    files: dict[str, SourceFile] = {}
    for source in iter_paths(paths, skipped if skipped is not None else []):
        if source == "-" or not isinstance(source, Path):
            raise NetpolscanError("fix rewrites files: give PATH..., not - (standard input)")
        shown = display_path(source)
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise NetpolscanError(f"{shown}: cannot read file: {exc.strerror or exc}") from None
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        decoded = decode(raw, shown)
        if decoded.text is None or raw.startswith(_OTHER_BOMS):  # never rewritten
            if unread is not None:
                why = decoded.error if decoded.text is None else "not UTF-8 text (a UTF-16 or UTF-32 mark)"
                unread.append(f"{shown}:{decoded.error_line or 1}: {why}")
            continue
        files[shown] = SourceFile(source, shown, decoded.text, decoded.text, bom)
    return dict(sorted(files.items()))


def _documents(files: dict[str, SourceFile]) -> list[Document]:
    documents: list[Document] = []
    for shown, item in files.items():
        documents.extend(parse_text(item.text, shown, json_hint=shown.endswith(".json")))
    return documents


UNREADABLE = "NPS001"  # a document that is not YAML or not an object: nothing in it can be fixed


def run_fixes(options: ScanOptions, max_rounds: int = MAX_ROUNDS) -> FixResult:
    """Scan ``options.paths`` and fix, round after round, every active finding whose fix is a local
    edit of a scanned file; return the fixed texts (nothing is written)."""
    rules = chosen_rules(options)
    skipped: list[Skipped] = []
    unread: list[str] = []
    result = FixResult(files=read_files(list(options.paths), skipped, unread))
    result.notes.extend(f"warning: {line} (left as it is)" for line in unread)
    note = skipped_note(skipped)
    result.notes.extend([f"note: {note}"] if note else [])
    files = result.files
    fixed: set[tuple[str, str]] = set()
    manual: set[tuple[str, str]] = set()
    for _ in range(max_rounds):
        report = scan_documents(_documents(files), options, rules)
        result.rounds += 1
        for notification in report.notifications:
            line = f"{notification.level.value}: {notification.message}"
            if line not in result.notes:
                result.notes.append(line)
        if result.rounds == 1:  # a document that cannot be read is named, never left out silently
            for finding in report.active:
                if finding.rule_id == UNREADABLE:
                    where = f"{finding.location.path}:{finding.location.line}"
                    result.notes.append(f"warning: {where}: {finding.message} (left as it is)")
        candidates: list[Finding] = []
        for finding in report.active:
            fix = finding.fix
            if fix is None:
                continue
            key = (finding.rule_id, finding.fingerprint)
            paths = {r.path for r in fix.replacements}
            if fix.source is not None or not paths <= files.keys():
                if key not in manual and paths <= files.keys():
                    manual.add(key)
                    item = files[next(iter(paths))]
                    after = apply(item.text, fix.replacements)
                    result.manual.append(ManualFix(finding, unified_diff(item.shown, item.text, after)))
                continue
            if key in fixed:
                if finding not in result.stale:
                    result.stale.append(finding)
                continue
            candidates.append(finding)
        if not candidates:
            break
        chosen = choose(candidates)
        for path, replacements in chosen.replacements.items():
            files[path].text = apply(files[path].text, replacements)
        result.applied.extend(chosen.findings)
        fixed.update((f.rule_id, f.fingerprint) for f in chosen.findings)
    return result
