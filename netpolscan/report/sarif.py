"""SARIF 2.1.0 output, shaped for GitHub code scanning ingestion.

The objects come from ``sarif_om``; the JSON comes from :func:`_to_json`, a small serializer of our own.
``jschema_to_python.to_json`` is not used on purpose: it drops every value equal to the schema default,
so a result's explicit ``level: "warning"`` would vanish and the rule's default level would apply.

Output is deterministic: no timestamps, no absolute paths or URIs, no GUIDs. The same report renders to
the same bytes wherever the repository is checked out.
"""

from __future__ import annotations

import enum
import functools
import gzip
import hashlib
import io
import json
import math
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

import attr
import sarif_om  # type: ignore[import-untyped]

from netpolscan.plugin_api import Finding, Location, Notification, Report, Rule, Severity
from netpolscan.report import stream
from netpolscan.sources.files import checkout_path

__all__ = [
    "MAX_GZIP_BYTES",
    "MAX_RESULTS_PER_RUN",
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "artifact_uri",
    "check_limits",
    "render",
    "write",
]

SARIF_SCHEMA_URI: Final = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION: Final = "2.1.0"
TOOL_NAME: Final = "netpolscan"
INFORMATION_URI: Final = "https://github.com/netpolscan/netpolscan"
FINGERPRINT_KEY: Final = "netpolscan/v1"
SRCROOT: Final = "%SRCROOT%"
DEFAULT_CATEGORY: Final = "netpolscan/"

# GitHub code scanning ingestion limits (hard limits: a file over them is rejected).
MAX_RESULTS_PER_RUN: Final = 25_000
MAX_RULES_PER_RUN: Final = 25_000
MAX_RUNS_PER_FILE: Final = 20
MAX_TAGS_PER_RULE: Final = 20
MAX_LOCATIONS_PER_RESULT: Final = 1_000
MAX_GZIP_BYTES: Final = 10 * 1024 * 1024
MAX_DESCRIPTION_LENGTH: Final = 1024

_PRECISIONS: Final = ("very-high", "high", "medium", "low")
_PROBLEM_SEVERITY: Final = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.NOTE: "recommendation",
}
_SUPPRESSION_KINDS: Final = ("inSource", "external")
_DEFAULT_TAG: Final = "networkpolicy"
# Keys written first, in this order, wherever they occur; the rest follow in sarif_om's field order.
_KEY_ORDER: Final = (
    "$schema",
    "id",
    "ruleId",
    "ruleIndex",
    "fullyQualifiedName",
    "kind",
    "level",
    "name",
    "version",
    "semanticVersion",
    "informationUri",
    "message",
    "shortDescription",
    "fullDescription",
    "physicalLocation",
    "artifactLocation",
    "startLine",
    "startColumn",
)


@attr.s(frozen=True)
class _Suppression:
    """The final SARIF 2.1.0 ``suppression`` object, in sarif_om's style (attrs, schema names in metadata).

    sarif_om's own ``Suppression`` predates the final schema: it has ``state`` where the standard has
    ``status``, so a log built with it fails validation.
    """

    kind: str = attr.ib(metadata={"schema_property_name": "kind"})
    status: str | None = attr.ib(default=None, metadata={"schema_property_name": "status"})
    justification: str | None = attr.ib(default=None, metadata={"schema_property_name": "justification"})
    guid: str | None = attr.ib(default=None, metadata={"schema_property_name": "guid"})
    location: Any = attr.ib(default=None, metadata={"schema_property_name": "location"})
    properties: Any = attr.ib(default=None, metadata={"schema_property_name": "properties"})


# ---------------------------------------------------------------------------------------------------------
# Serializer


def _to_json(value: Any) -> Any:
    """Turn sarif_om objects (and the plain values inside them) into JSON-ready data.

    Rules: ``None`` means absent (dropped everywhere, so the output never holds ``null``); an attrs field
    left at a default of ``-1`` (SARIF's "no index / no rank" marker) is absent; every other value, even
    one equal to the schema default, is written.
    """
    cls: type = type(value)
    specs = _field_specs(cls) if attr.has(cls) else None
    if specs is not None:
        out: dict[str, Any] = {}
        for attribute, json_name, minus_one_is_absent in specs:
            item = getattr(value, attribute)
            if item is None or (minus_one_is_absent and item == -1 and not isinstance(item, bool)):
                continue
            out[json_name] = _to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value if v is not None]
    if isinstance(value, (set, frozenset)):
        return sorted((_to_json(v) for v in value if v is not None), key=repr)
    if isinstance(value, enum.Enum):
        return _to_json(value.value)
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


@functools.cache
def _field_specs(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, JSON property name, whether -1 means absent) per field, in output order."""
    specs = [
        (f.name, str(f.metadata.get("schema_property_name", f.name)), f.default == -1)
        for f in attr.fields(cls)
    ]
    rank = {key: n for n, key in enumerate(_KEY_ORDER)}
    return tuple(sorted(specs, key=lambda spec: rank.get(spec[1], len(rank))))  # stable: schema order after


# ---------------------------------------------------------------------------------------------------------
# Text helpers


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate(text: str, limit: int = MAX_DESCRIPTION_LENGTH) -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 code units (what GitHub's and .NET's length counts), ending
    with an ellipsis, never splitting a code point, a combining sequence or a ZWJ sequence."""
    if _utf16_len(text) <= limit:
        return text
    ellipsis = "\u2026"
    budget = limit - _utf16_len(ellipsis)
    cut, used = 0, 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > budget:
            break
        used += size
        cut += 1
    # Back off so the character that follows the cut does not attach to the kept text.
    while 0 < cut < len(text) and (
        unicodedata.combining(text[cut]) or text[cut] in "\u200d\ufe0e\ufe0f" or text[cut - 1] == "\u200d"
    ):
        cut -= 1
    return text[:cut].rstrip() + ellipsis


_MD_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_CODE = re.compile(r"`([^`\n]+)`")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _markdown_to_text(markdown: str) -> str:
    """A light plain-text rendering: fences, heading marks, emphasis and link syntax removed."""
    text = _MD_FENCE.sub("", markdown)
    text = _MD_HEADING.sub("", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1 (\2)", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_CODE.sub(r"\1", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _kebab(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _semantic_version(version: str) -> str | None:
    """The SemVer 2.0 form of a (PEP 440) version, or None when there is none."""
    if _SEMVER.match(version):
        return version
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.\d+)*([^+]*)(?:\+(.*))?$", version)
    if not match:
        return None
    core = ".".join(str(int(part or 0)) for part in match.group(1, 2, 3))
    rest, local = match.group(4), match.group(5) or ""
    if "post" in rest.lower():  # a post-release sorts after its release: SemVer build metadata, not pre
        rest, local = "", f"{rest}.{local}"
    pre = ".".join(p.lstrip("0") or "0" if p.isdigit() else p for p in re.split(r"[^0-9A-Za-z]+", rest) if p)
    build = ".".join(p for p in re.split(r"[^0-9A-Za-z-]+", local) if p)
    candidate = core + (f"-{pre}" if pre else "") + (f"+{build}" if build else "")
    return candidate if _SEMVER.match(candidate) else None


def _security_severity(value: str | None) -> str | None:
    """The rule's security severity as GitHub wants it (a number 0.0-10.0, as a string) or None."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return text if math.isfinite(number) and 0.0 <= number <= 10.0 else None


# ---------------------------------------------------------------------------------------------------------
# Paths


_URI_SAFE: Final = "!$&'()*+,;=@"  # sub-delims and "@"; ":" is encoded so no segment looks like a scheme


def artifact_uri(path: str, base: str | os.PathLike[str] | None = None) -> str:
    """A display path as a relative, percent-encoded URI reference (POSIX separators).

    ``-`` (stdin) becomes ``stdin``. An absolute path inside ``base`` (default: the working directory) is
    made relative to it; any other absolute path loses its root (drive, leading slashes). ``.`` segments
    are dropped and ``..`` segments are resolved; those that would climb above the top are dropped, so the
    result never leaves the source root. ``file:`` URIs are read as paths.
    """
    if path.strip() in ("-", "<stdin>", "/dev/stdin"):
        return "stdin"
    text = path
    if text.lower().startswith("file:"):
        parsed = urllib.parse.urlsplit(text)
        text = urllib.parse.unquote(parsed.path) if parsed.netloc in ("", "localhost") else parsed.path
        if re.match(r"^/[A-Za-z]:/", text):  # file:///C:/x
            text = text[1:]
    text = text.replace("\\", "/")
    absolute = text.startswith("/") or bool(re.match(r"^[A-Za-z]:/", text))
    if absolute:
        root = Path(base) if base is not None else Path.cwd()
        root_text = root.as_posix().rstrip("/") + "/"
        if text.startswith(root_text):
            text = text[len(root_text) :]
        else:
            text = re.sub(r"^(?:[A-Za-z]:)?/+", "", text)
    parts: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    if not parts:
        return "unknown"
    return "/".join(urllib.parse.quote(segment, safe=_URI_SAFE) for segment in parts)


# ---------------------------------------------------------------------------------------------------------
# Building the sarif_om objects


def _rule_name(rule_id: str, name: str, summary: str) -> str:
    """A kebab-case name that is not just the id again (GitHub shows both)."""
    for candidate in (_kebab(name), _kebab(summary)):
        if candidate and candidate != _kebab(rule_id):
            return candidate
    return f"rule-{_kebab(rule_id) or 'unnamed'}"


def _tags(rule: Rule, security: bool) -> list[str]:
    tags: list[str] = []
    for tag in rule.tags:
        tag = str(tag).strip()
        if tag and tag not in tags:
            tags.append(tag)
    if security and "security" not in tags:
        tags.insert(0, "security")
    if not tags:
        tags.append(_DEFAULT_TAG)
    if len(tags) > MAX_TAGS_PER_RULE:
        keep = ["security"] if security else []
        tags = keep + [t for t in tags if t not in keep][: MAX_TAGS_PER_RULE - len(keep)]
    return tags


def _help(rule: Rule) -> sarif_om.MultiformatMessageString:
    markdown = rule.help_markdown.strip()
    if not markdown:
        parts = [rule.summary.strip() or rule.name or rule.id]
        if rule.description.strip() and rule.description.strip() != parts[0]:
            parts.append(rule.description.strip())
        if rule.remediation.strip():
            parts.append(f"**Remediation:** {rule.remediation.strip()}")
        markdown = "\n\n".join(parts)
    text = _markdown_to_text(markdown) or markdown
    return sarif_om.MultiformatMessageString(text=text, markdown=markdown)


def _descriptor(rule: Rule) -> sarif_om.ReportingDescriptor:
    summary = rule.summary.strip() or rule.name or rule.id
    full = rule.description.strip() or summary
    severity = _security_severity(rule.security_severity)
    properties: dict[str, Any] = {
        "tags": _tags(rule, severity is not None),
        "precision": rule.precision if rule.precision in _PRECISIONS else "high",
        "problem.severity": _PROBLEM_SEVERITY[rule.level],
    }
    if severity is not None:
        properties["security-severity"] = severity
    return sarif_om.ReportingDescriptor(
        id=rule.id,
        name=_rule_name(rule.id, rule.name, rule.summary),
        short_description=sarif_om.MultiformatMessageString(text=_truncate(summary)),
        full_description=sarif_om.MultiformatMessageString(text=_truncate(full)),
        help=_help(rule),
        help_uri=rule.help_uri or None,
        default_configuration=sarif_om.ReportingConfiguration(level=rule.level.value, enabled=None),
        properties=properties,
    )


def _stand_in_descriptor(finding: Finding) -> sarif_om.ReportingDescriptor:
    """A descriptor for a finding whose rule is missing from ``report.rules`` (keeps ruleIndex valid)."""
    summary = finding.rule_name or finding.rule_id
    return sarif_om.ReportingDescriptor(
        id=finding.rule_id,
        name=_rule_name(finding.rule_id, finding.rule_name, ""),
        short_description=sarif_om.MultiformatMessageString(text=_truncate(summary)),
        full_description=sarif_om.MultiformatMessageString(text=_truncate(summary)),
        help=sarif_om.MultiformatMessageString(text=summary, markdown=summary),
        default_configuration=sarif_om.ReportingConfiguration(level=finding.level.value, enabled=None),
        properties={
            "tags": [_DEFAULT_TAG],
            "precision": "high",
            "problem.severity": _PROBLEM_SEVERITY[finding.level],
        },
    )


def _physical(location: Location, uris: dict[str, str]) -> sarif_om.PhysicalLocation:
    uri = uris.get(location.path)
    if uri is None:  # many findings share a file: convert each path once
        uri = uris[location.path] = artifact_uri(checkout_path(location.path))
    return sarif_om.PhysicalLocation(
        artifact_location=sarif_om.ArtifactLocation(uri=uri, uri_base_id=SRCROOT),
        region=sarif_om.Region(
            start_line=max(1, int(location.line)), start_column=max(1, int(location.column))
        ),
    )


def _fixes(finding: Finding, uris: dict[str, str]) -> list[sarif_om.Fix] | None:
    """A finding's fix as SARIF ``fixes`` (insertions: an empty ``deletedRegion`` where the text goes);
    none for a rendered document (the change belongs in its template) or input that is not a file."""
    fix = finding.fix
    if fix is None or fix.source is not None or not all(os.path.isfile(r.path) for r in fix.replacements):
        return None
    changes: dict[str, list[sarif_om.Replacement]] = {}
    for replacement in fix.replacements:
        changes.setdefault(replacement.path, []).append(
            sarif_om.Replacement(
                deleted_region=sarif_om.Region(
                    start_line=replacement.line,
                    start_column=replacement.column,
                    end_line=replacement.line,
                    end_column=replacement.column,
                ),
                inserted_content=sarif_om.ArtifactContent(text=replacement.text),
            )
        )
    return [
        sarif_om.Fix(
            description=sarif_om.Message(text=fix.description),
            artifact_changes=[
                sarif_om.ArtifactChange(
                    artifact_location=_physical(Location(path, 1), uris).artifact_location,
                    replacements=items,
                )
                for path, items in changes.items()
            ],
        )
    ]


def _fingerprint(finding: Finding, uri: str) -> str:
    if finding.fingerprint:
        return finding.fingerprint
    # The engine always sets one; this stand-in avoids line numbers so it survives line moves too.
    key = "\x1f".join((finding.rule_id, uri, str(finding.obj or ""), finding.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(finding: Finding, rule_index: int, uris: dict[str, str]) -> sarif_om.Result:
    physical = _physical(finding.location, uris)
    message = finding.message.strip() or f"{finding.rule_id}: {finding.rule_name or 'finding'}"
    related = []
    rendered = finding.location.rendered
    if rendered is not None and os.path.isfile(rendered.path):  # not `helm template` output or stdin
        related.append((rendered, "rendered manifest"))
    related.extend((place, label) for label, place in finding.related)
    related_locations = [
        sarif_om.Location(
            id=number, physical_location=_physical(place, uris), message=sarif_om.Message(text=label)
        )
        for number, (place, label) in enumerate(related, start=1)
    ]
    logical = None
    if finding.obj is not None:
        logical = [sarif_om.LogicalLocation(fully_qualified_name=str(finding.obj), kind="resource")]
    suppressions = None
    if finding.suppression is not None:
        kind = finding.suppression.kind if finding.suppression.kind in _SUPPRESSION_KINDS else "external"
        suppressions = [
            _Suppression(
                kind=kind, status="accepted", justification=finding.suppression.justification.strip() or None
            )
        ]
    return sarif_om.Result(
        rule_id=finding.rule_id,
        rule_index=rule_index,
        kind="fail",
        level=finding.level.value,  # always written, even when equal to the default "warning"
        message=sarif_om.Message(text=message),
        locations=[sarif_om.Location(physical_location=physical, logical_locations=logical)],
        related_locations=related_locations or None,
        partial_fingerprints={FINGERPRINT_KEY: _fingerprint(finding, physical.artifact_location.uri)},
        suppressions=suppressions,
        baseline_state=finding.baseline_state,
        properties=dict(finding.extra) or None,
        fixes=_fixes(finding, uris),
    )


def _notification(note: Notification, rule_indexes: Mapping[str, int]) -> sarif_om.Notification:
    associated = None
    if note.rule_id:
        associated = sarif_om.ReportingDescriptorReference(
            id=note.rule_id, index=rule_indexes.get(note.rule_id, -1)
        )
    return sarif_om.Notification(
        message=sarif_om.Message(
            text=note.message.strip() or "netpolscan reported a problem without details"
        ),
        level=note.level.value,
        associated_rule=associated,
    )


def _category(category: str | None) -> str:
    text = (category or "").strip()
    if not text:
        return DEFAULT_CATEGORY
    return text if text.endswith("/") else text + "/"


def _tool_version(report: Report) -> str:
    if report.tool_version:
        return report.tool_version
    from netpolscan import __version__

    return __version__


def build_log(report: Report, results_slot: bool = False) -> sarif_om.SarifLog:
    """The sarif_om object tree for ``report`` (see :func:`render` for what it contains).

    With ``results_slot``, the run's results are :data:`stream.SLOT`, for :func:`write` to stream.
    """
    descriptors: list[sarif_om.ReportingDescriptor] = []
    rule_indexes: dict[str, int] = {}
    for rule in report.rules:
        if rule.id not in rule_indexes:
            rule_indexes[rule.id] = len(descriptors)
            descriptors.append(_descriptor(rule))

    findings: Sequence[Finding] = report.findings
    notifications = list(report.notifications)
    for rule in report.rules:
        if rule.security_severity is not None and _security_severity(rule.security_severity) is None:
            notifications.append(
                Notification(
                    message=f"Rule {rule.id} has an invalid security severity {rule.security_severity!r} "
                    "(expected a number from 0.0 to 10.0); it was left out of the SARIF output.",
                    rule_id=rule.id,
                    level=Severity.WARNING,
                )
            )
    if len(findings) > MAX_RESULTS_PER_RUN:
        dropped = len(findings) - MAX_RESULTS_PER_RUN
        findings = findings[:MAX_RESULTS_PER_RUN]
        notifications.append(
            Notification(
                message=f"{dropped} result(s) were dropped from the SARIF output: GitHub code scanning "
                f"rejects a run with more than {MAX_RESULTS_PER_RUN} results, so only the first "
                f"{MAX_RESULTS_PER_RUN} were kept. Use another output format for the full list.",
                level=Severity.WARNING,
            )
        )

    results: list[sarif_om.Result] = []
    uris: dict[str, str] = {}
    for finding in findings:
        if finding.rule_id not in rule_indexes:
            rule_indexes[finding.rule_id] = len(descriptors)
            descriptors.append(_stand_in_descriptor(finding))
        if not results_slot:
            results.append(_result(finding, rule_indexes[finding.rule_id], uris))

    version = _tool_version(report)
    driver = sarif_om.ToolComponent(
        name=TOOL_NAME,
        version=version or None,
        semantic_version=_semantic_version(version),
        information_uri=INFORMATION_URI,
        rules=descriptors,  # present even when empty: GitHub requires the array
        language=None,
        contents=None,
    )
    invocation = sarif_om.Invocation(
        execution_successful=True,
        tool_execution_notifications=[_notification(n, rule_indexes) for n in notifications] or None,
    )
    run = sarif_om.Run(
        tool=sarif_om.Tool(driver=driver),
        automation_details=sarif_om.RunAutomationDetails(id=_category(report.category)),
        invocations=[invocation],
        results=stream.SLOT if results_slot else results,  # present even when empty: GitHub requires it
        column_kind="utf16CodeUnits",  # SARIF 2.1.0 3.14.27: results carry columns, counted this way
        language=None,
        newline_sequences=None,
    )
    return sarif_om.SarifLog(schema_uri=SARIF_SCHEMA_URI, version=SARIF_VERSION, runs=[run])


def to_document(report: Report) -> dict[str, Any]:
    """The SARIF log for ``report`` as JSON-ready data."""
    document: dict[str, Any] = _to_json(build_log(report))
    return document


def render(report: Report) -> str:
    """The report as a SARIF 2.1.0 log: one run, GitHub code scanning ingestion rules respected.

    Results follow ``report.findings`` in order (suppressed ones carry ``suppressions``); each has an
    explicit level, one location relative to ``%SRCROOT%`` and a ``netpolscan/v1`` partial fingerprint.
    At most 25,000 results are written; a tool notification tells how many were dropped.
    """
    buffer = io.StringIO()
    write(report, buffer)
    return buffer.getvalue()


def write(report: Report, target: TextIO) -> None:
    """Write :func:`render`'s text to ``target``, one result at a time (never the whole log at once)."""
    log = build_log(report, results_slot=True)
    head, tail = stream.split_at_slot(_to_json(log))
    rule_indexes: dict[str, int] = {}
    for index, descriptor in enumerate(log.runs[0].tool.driver.rules):
        rule_indexes.setdefault(descriptor.id, index)
    uris: dict[str, str] = {}
    results = (
        _to_json(_result(finding, rule_indexes[finding.rule_id], uris))
        for finding in report.findings[:MAX_RESULTS_PER_RUN]
    )
    target.write(head)
    stream.write_array(target, results, 8)
    target.write(tail + "\n")


# ---------------------------------------------------------------------------------------------------------
# Limits


def _count(items: Any) -> int:
    return len(items) if isinstance(items, list) else 0


def gzip_size_warnings(size: int) -> list[str]:
    """The warning for a SARIF file of ``size`` bytes gzipped, if GitHub would reject it."""
    if size <= MAX_GZIP_BYTES:
        return []
    return [
        f"SARIF output is {size} bytes gzipped; GitHub code scanning rejects uploads over "
        f"{MAX_GZIP_BYTES} bytes (10 MB) gzipped: scan fewer inputs or select fewer rules."
    ]


def check_limits(text: str) -> list[str]:
    """Warnings for a SARIF text that GitHub code scanning would reject (size and count hard limits)."""
    warnings = gzip_size_warnings(len(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)))
    try:
        document = json.loads(text)
    except ValueError as error:
        return [*warnings, f"SARIF output is not valid JSON: {error}"]
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list):
        return warnings
    if len(runs) > MAX_RUNS_PER_FILE:
        warnings.append(f"{len(runs)} runs in one file; GitHub accepts at most {MAX_RUNS_PER_FILE}.")
    for number, run in enumerate(runs):
        if not isinstance(run, dict):
            continue
        results = run.get("results")
        if _count(results) > MAX_RESULTS_PER_RUN:
            warnings.append(
                f"run {number}: {_count(results)} results; GitHub accepts at most {MAX_RESULTS_PER_RUN}."
            )
        driver = (run.get("tool") or {}).get("driver") or {}
        rules = driver.get("rules")
        if _count(rules) > MAX_RULES_PER_RUN:
            warnings.append(
                f"run {number}: {_count(rules)} rules; GitHub accepts at most {MAX_RULES_PER_RUN}."
            )
        for rule in rules if isinstance(rules, list) else ():
            tags = ((rule or {}).get("properties") or {}).get("tags")
            if _count(tags) > MAX_TAGS_PER_RULE:
                warnings.append(
                    f"run {number}: rule {rule.get('id')}: {_count(tags)} tags; "
                    f"GitHub accepts at most {MAX_TAGS_PER_RULE}."
                )
        for index, result in enumerate(results if isinstance(results, list) else ()):
            if isinstance(result, dict) and _count(result.get("locations")) > MAX_LOCATIONS_PER_RESULT:
                warnings.append(
                    f"run {number}: result {index}: {_count(result.get('locations'))} locations; "
                    f"GitHub accepts at most {MAX_LOCATIONS_PER_RESULT}."
                )
    return warnings
