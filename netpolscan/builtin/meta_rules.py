"""NPS9xx: findings about netpolscan's own controls (suppressions)."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan.builtin.helpers import document_ref
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.plugin_api import Violation
from netpolscan.suppression import IGNORE_ANNOTATION, UNTIL_ANNOTATION, ignore_annotations, parse_until


@check("NPS901")
def suppression_expired(ctx: ScanContext) -> Iterator[Violation]:
    today = ctx.today
    for doc in ctx.documents:
        if doc.error is not None:
            continue
        annotations = ignore_annotations(doc.data)
        ignored = annotations.get(IGNORE_ANNOTATION, "").strip()
        until = annotations.get(UNTIL_ANNOTATION)
        if not ignored or until is None:
            continue
        date = parse_until(until)
        if date is not None and date >= today:
            continue
        ref = document_ref(doc, ctx.inventory.default_namespace)
        name = (
            f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}" if ref else "this object"
        )
        if date is None:
            problem = f"is {until.strip()!r}, not a YYYY-MM-DD date, so the suppression no longer applies"
        else:
            problem = f"({date.isoformat()}) is past, so the suppression no longer applies"
        yield Violation(
            f"the `{IGNORE_ANNOTATION}: {ignored}` suppression on {name} has expired: `{UNTIL_ANNOTATION}` "
            f"{problem} and the findings it hid are reported again; fix them, or renew the date with a reason",
            doc,
            ("metadata", "annotations", UNTIL_ANNOTATION),
            ref,
        )
