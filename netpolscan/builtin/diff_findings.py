"""Newly allowed connections of a semantic diff as findings, located at the HEAD rules that allow them.

The SARIF reporter renders the :class:`~netpolscan.plugin_api.Report` this builds, so a pull request's
code-scanning view shows each new connection on the policy rule that opens it. A connection HEAD allows
without any rule (its endpoints are not isolated) is located at the start of the workload's manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from netpolscan.analysis.diff import DiffRow, allowing_rules, allowing_tier_rules
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload
from netpolscan.plugin_api import Finding, Location, ObjectRef, Report, Rule
from netpolscan.sourcemap import SourceMapper
from netpolscan.sources.document import Document, Pointer

DIFF_RULE_ID = "NPS790"


def diff_rule() -> Rule:
    """Rule NPS790 as ``netpolscan rules`` lists it (its metadata comes from its rule doc)."""
    from netpolscan.builtin import builtin_rule
    from netpolscan.ruledoc import load_rule_docs

    return builtin_rule(load_rule_docs()[DIFF_RULE_ID])


def _fingerprint(row: DiffRow, where: str = "") -> str:
    raw = "\x1f".join((DIFF_RULE_ID, row.src, row.dst, str(row.newly_allowed), where))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _workload(head: Inventory, label: str) -> Workload | None:
    from netpolscan.analysis.endpoints import workload_label

    return next((w for w in head.workloads if workload_label(w) == label), None)


def diff_findings(
    head: Inventory, rows: Iterable[DiffRow], mapper: SourceMapper | None = None
) -> list[Finding]:
    """One finding per (newly allowed connection, HEAD rule allowing it).

    Locations in rendered Helm/Kustomize output are mapped to the source files (see ``SourceMapper``).
    """
    mapper = mapper or SourceMapper()
    rule = diff_rule()
    findings: list[Finding] = []

    def at(document: Document, pointer: Pointer, text: str, obj: ObjectRef, fingerprint: str) -> Finding:
        """A finding at ``pointer`` of ``document``, mapped to the file the user edits."""
        line, column = document.position(pointer)
        location, _reason = mapper.map(document, pointer, Location(document.path, line, column))
        return Finding(rule.id, rule.name, rule.level, text, location, obj, fingerprint)

    for row in rows:
        if row.kind not in ("added", "changed") or not row.newly_allowed:
            continue
        message = f"newly allowed: {row.src} => {row.dst} : {row.newly_allowed} (was: {row.base})"
        grants = allowing_rules(head, row)
        tiered = allowing_tier_rules(head, row)
        if not grants and not tiered:
            workload = _workload(head, row.dst) or _workload(head, row.src)
            if workload is not None:
                text = message + " (no policy isolates it)"
                findings.append(at(workload.document, (), text, workload.ref, _fingerprint(row)))
            continue
        for grant in grants:
            policy_name = f"NetworkPolicy {grant.policy.namespace}/{grant.policy.name}"
            text = (
                f"{message}; allowed by {grant.rule.direction} rule {grant.rule.index + 1} of {policy_name}"
            )
            obj = ObjectRef("NetworkPolicy", grant.policy.namespace, grant.policy.name)
            fingerprint = _fingerprint(row, f"{obj}#{grant.rule.direction}/{grant.rule.index}")
            findings.append(at(grant.policy.document, grant.rule.pointer, text, obj, fingerprint))
        for direction, policy, tier_rule in tiered:
            where = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
            label = f" ({tier_rule.name})" if tier_rule.name else ""
            text = (
                f"{message}; allowed by {direction} rule {tier_rule.number}{label} of {policy.kind} {where}"
            )
            fingerprint = _fingerprint(row, f"{policy.ref}#{direction}/{tier_rule.number}")
            findings.append(at(policy.document, tier_rule.pointer, text, policy.ref, fingerprint))
    findings.sort(key=lambda f: f.sort_key())
    return findings


def diff_report(
    head: Inventory,
    rows: Sequence[DiffRow],
    version: str = "",
    inputs: tuple[str, ...] = (),
    mapper: SourceMapper | None = None,
) -> Report:
    """A findings report of the newly allowed connections (for the SARIF and GitLab reporters);
    ``mapper`` maps HEAD's rendered objects to their sources (default: charts found from here)."""
    findings = tuple(diff_findings(head, rows, mapper))
    return Report(findings, (diff_rule(),), tool_version=version, inputs=inputs)
