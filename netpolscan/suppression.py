"""Suppressions, in one place: which rules a token names, the ``netpolscan.io/ignore`` annotation on an
object, the ``ignores`` of the configuration file, and the baseline of findings already known.

A token names a rule by id, by name, or ``all``; where prefixes are allowed (``--select``/``--ignore``,
the configuration) also by an id prefix such as ``NPS3``. Baseline fingerprints ignore line numbers and
document order, so moving code around keeps old findings old.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from netpolscan.errors import NetpolscanError
from netpolscan.plugin_api import Finding, Rule, Suppression, Violation

IGNORE_ANNOTATION = "netpolscan.io/ignore"
REASON_ANNOTATION = "netpolscan.io/ignore-reason"
UNTIL_ANNOTATION = "netpolscan.io/ignore-until"


def names_rule(token: str, rule_id: str, rule_name: str, prefixes: bool = True) -> bool:
    """Whether ``token`` names the rule: ``all`` (any case), its name, its id, or (``prefixes``) a prefix
    of its id in any case (``nps3`` names NPS302)."""
    token = token.strip()
    if not token:
        return False
    if token.lower() == "all" or token in (rule_id, rule_name):
        return True
    return prefixes and rule_id.startswith(token.upper())


# --- on the object: annotations -------------------------------------------------------------------


def ignore_annotations(data: object) -> dict[str, str]:
    """The ``netpolscan.io/`` annotations of a manifest, as strings."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        return {}
    return {
        k: str(v) for k, v in annotations.items() if isinstance(k, str) and k.startswith("netpolscan.io/")
    }


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_until(value: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date (nothing else, whatever Python's own ISO parser would accept)."""
    match = _ISO_DATE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def annotation_suppression(rule: Rule, violation: Violation, today: dt.date) -> Suppression | None:
    """The suppression the violating object's annotation gives (ids or names, not prefixes), if any."""
    annotations = ignore_annotations(violation.document.data)
    raw = annotations.get(IGNORE_ANNOTATION)
    if not raw:
        return None
    if not any(names_rule(token, rule.id, rule.name, prefixes=False) for token in raw.split(",")):
        return None
    until = annotations.get(UNTIL_ANNOTATION)
    if until is not None:
        date = parse_until(until)
        if date is None or date < today:
            return None  # expired (or unreadable) suppressions stop working; NPS901 reports them
    reason = annotations.get(REASON_ANNOTATION, "").strip()
    return Suppression("inSource", reason or f"suppressed by the {IGNORE_ANNOTATION} annotation")


# --- in the configuration file: ignores -----------------------------------------------------------


@dataclass(frozen=True)
class IgnoreEntry:
    """One entry of the configuration's ``ignores``: rules, plus object patterns and/or a path glob."""

    rules: tuple[str, ...]
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    path: str | None = None
    reason: str = ""

    def matches(self, finding: Finding) -> bool:
        if not any(names_rule(token, finding.rule_id, finding.rule_name) for token in self.rules):
            return False
        if self.path is not None and not _glob(finding.location.path, self.path):
            rendered = finding.location.rendered
            if rendered is None or not _glob(rendered.path, self.path):
                return False
        if self.kind or self.namespace or self.name:
            obj = finding.obj
            if obj is None:
                return False
            for pattern, value in (
                (self.kind, obj.kind),
                (self.namespace, obj.namespace),
                (self.name, obj.name),
            ):
                if pattern is not None and not fnmatch.fnmatchcase(value, pattern):
                    return False
        return True


def _glob(path: str, pattern: str) -> bool:
    if pattern.endswith("/**"):
        return path == pattern[:-3] or path.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def apply_ignores(findings: list[Finding], ignores: Iterable[IgnoreEntry], where: str) -> list[Finding]:
    """Mark findings matched by an ``ignores`` entry (of the file ``where``) as suppressed (external)."""
    ignores = list(ignores)
    if not ignores:
        return findings
    out = []
    for finding in findings:
        if finding.suppression is None:
            entry = next((e for e in ignores if e.matches(finding)), None)
            if entry is not None:
                finding = replace(
                    finding, suppression=Suppression("external", entry.reason or f"ignored by {where}")
                )
        out.append(finding)
    return out


# --- the baseline ----------------------------------------------------------------------------------

VERSION = 1


def write_baseline(path: str, findings: Iterable[Finding]) -> None:
    entries = sorted(
        {
            (f.fingerprint, f.rule_id, str(f.obj) if f.obj else f.location.path, f.message)
            for f in findings
            if f.suppression is None
        }
    )
    data = {
        "version": VERSION,
        "tool": "netpolscan",
        "findings": [
            {"fingerprint": fp, "ruleId": rule, "subject": subject, "message": msg}
            for fp, rule, subject, msg in entries
        ],
    }
    try:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None


def read_baseline(path: str) -> set[str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetpolscanError(f"{path}: baseline file not found (create it with --write-baseline)") from None
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise NetpolscanError(f"{path}:{exc.lineno}: baseline is not valid JSON: {exc.msg}") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise NetpolscanError(f"{path}: not a netpolscan baseline (version {VERSION} with a findings list)")
    return {str(item.get("fingerprint")) for item in data["findings"] if isinstance(item, dict)}


def apply_baseline(findings: Iterable[Finding], known: set[str]) -> list[Finding]:
    """Mark each finding ``unchanged`` (in the baseline) or ``new``."""
    return [replace(f, baseline_state="unchanged" if f.fingerprint in known else "new") for f in findings]
