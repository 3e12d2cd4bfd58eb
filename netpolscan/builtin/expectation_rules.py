"""NPS7xx: connectivity expectations (``scan --expectations FILE``) checked against what policies allow.

Expectations come from the files in ``ctx.expectations`` and from any document of kind
``ConnectivityExpectations`` (apiVersion ``netpolscan.io/v1``) in the scanned input itself. Findings
point at the entry's line in the expectations file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.expectations.evaluate import Outcome, evaluate, name
from netpolscan.expectations.load import (
    expectations_from_document,
    is_expectations_document,
    load_expectations,
)
from netpolscan.expectations.spec import ExpectationsFile
from netpolscan.plugin_api import Violation

CACHE_KEY = "expectations.outcomes"


def expectation_files(ctx: ScanContext) -> list[ExpectationsFile]:
    """The files given with --expectations, then expectations documents of the input (each file once)."""
    files: list[ExpectationsFile] = []
    seen: set[Path] = set()
    for path in ctx.expectations:
        files.append(load_expectations(str(path)))
        seen.add(Path(str(path)).resolve())
    for doc in ctx.documents:
        if is_expectations_document(doc) and Path(doc.path).resolve() not in seen:
            files.append(expectations_from_document(doc))
    return files


def outcomes(ctx: ScanContext) -> list[Outcome]:
    """Every expectation's outcome, computed once per scan and shared by NPS701 and NPS702."""
    cached = ctx.inventory.cache.get(CACHE_KEY)
    if isinstance(cached, list):
        return cached
    result = [
        evaluate(ctx.inventory, expectation)
        for loaded in expectation_files(ctx)
        for expectation in loaded.expectations
    ]
    ctx.inventory.cache[CACHE_KEY] = result
    return result


@check("NPS701")
def connectivity_expectation_violated(ctx: ScanContext) -> Iterator[Violation]:
    for outcome in outcomes(ctx):
        breach = outcome.breach
        if breach is None:
            continue
        expectation = outcome.expectation
        state = "denied" if expectation.expect == "allow" else "allowed"
        reason = f" [{expectation.reason}]" if expectation.reason else ""
        yield Violation(
            f"expectation {expectation.number} ({expectation.summary()}){reason} does not hold: "
            f"{name(breach.src)} -> {name(breach.dst)} is {state} on {breach.protocol} {breach.port}: "
            f"{breach.why}",
            expectation.document,
            expectation.pointer,
            key=str(expectation.index),
        )


@check("NPS702")
def expectation_matches_nothing(ctx: ScanContext) -> Iterator[Violation]:
    for outcome in outcomes(ctx):
        if not outcome.unmatched:
            continue
        expectation = outcome.expectation
        yield Violation(
            f"expectation {expectation.number} ({expectation.summary()}) matches nothing in scope: "
            + "; ".join(outcome.unmatched),
            expectation.document,
            expectation.pointer,
            key=str(expectation.index),
        )


@check("NPS790")
def connection_newly_allowed(ctx: ScanContext) -> Iterator[Violation]:
    """Reported by ``netpolscan diff`` only (see ``netpolscan.builtin.diff_findings``): a scan sees one
    input, so it has no BASE to compare with and yields nothing."""
    return iter(())
