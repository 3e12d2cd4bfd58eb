"""The views of a flow check: text (the flows that would be dropped or are unmatched, then the unused
allow rules and a summary line) and JSON (every flow)."""

from __future__ import annotations

import json
from typing import Any

from netpolscan.flows.check import Checked, FlowCheck, RuleRef, Side
from netpolscan.flows.records import FlowEndpoint


def _heading(result: Checked) -> str:
    flow = result.flow
    notes = []
    if result.also:
        others = _plural(len(result.also), "other address", "other addresses")
        notes.append(f"and {others} in {result.address_range}")
    if result.count > 1:
        notes.append(f"seen {result.count} times")
    noted = f" ({'; '.join(notes)})" if notes else ""
    return (
        f"{flow.where}: {result.status.upper()} {result.src.label} -> {result.dst.label} "
        f"{flow.protocol} {flow.port}{noted}"
    )


def _unmatched_note(result: Checked) -> str:
    names = " and ".join(str(side.label.removesuffix("[observed]")) for side in result.unmatched)
    if result.allowed:
        verdict = "allowed"
    elif result.blocking:
        verdict = "dropped by the side the input has"
    else:
        verdict = "dropped by the observed pod's side"
    return f"no workload of the input matches {names}; evaluated as observed: {verdict}"


def format_text(check: FlowCheck, show_allowed: bool = False) -> str:
    lines: list[str] = []
    for result in check.results:
        if result.status == "allowed" and not show_allowed:
            continue
        lines.append(_heading(result))
        if result.status == "unmatched":
            lines.append(f"  {_unmatched_note(result)}")
        lines.extend(f"  {reason}" for reason in result.reasons)
        if show_allowed and result.allowed:
            lines.extend(f"  allowed by {ref}" for ref in result.rules)
    if check.unused is not None:
        if lines:
            lines.append("")
        if check.unused:
            lines.append("Allow rules no observed flow used:")
            lines.extend(f"  {ref}" for ref in check.unused)
        else:
            lines.append("Every allow rule was used by an observed flow.")
    if lines:
        lines.append("")
    lines.append(summary(check))
    return "\n".join(lines) + "\n"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def summary(check: FlowCheck) -> str:
    """``6 observed flows (9 records): 3 allowed, 2 dropped, 1 unmatched; skipped: ...; 1 bad line.``"""
    log = check.log
    unmatched = check.count("unmatched")
    unmatched_text = _plural(unmatched, "unmatched", "unmatched")
    blocked = sum(1 for result in check.results if result.status == "unmatched" and result.blocking)
    if blocked:
        unmatched_text += f" ({blocked} dropped by the side the input has)"
    text = (
        f"{_plural(len(check.results), 'observed flow')} ({_plural(log.records, 'record')}): "
        f"{check.count('allowed')} allowed, {check.count('dropped')} dropped, {unmatched_text}"
    )
    if log.skipped:
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(log.skipped.items()))
        text += f"; skipped: {skipped}"
    if log.bad:
        text += f"; {_plural(len(log.bad), 'bad line')}"
    return text + "."


def _endpoint(endpoint: FlowEndpoint, side: Side) -> dict[str, Any]:
    data: dict[str, Any] = {"name": side.label, "matched": side.matched}
    if endpoint.is_pod:
        data["namespace"] = endpoint.namespace
        data["labels"] = endpoint.stable_labels
    else:
        data["ip"] = str(endpoint.ip)
        if endpoint.entity:
            data["entity"] = endpoint.entity
    return data


def _rule(ref: RuleRef) -> dict[str, Any]:
    return {
        "location": ref.where,
        "kind": ref.kind,
        "policy": ref.policy,
        "direction": ref.direction,
        "rule": ref.number,
        **({"name": ref.name} if ref.name else {}),
    }


def format_json(check: FlowCheck) -> str:
    log = check.log
    flows = [
        {
            "location": result.flow.where,
            "count": result.count,
            "source": _endpoint(result.flow.src, result.src),
            "destination": _endpoint(result.flow.dst, result.dst),
            "protocol": result.flow.protocol,
            "port": result.flow.port,
            "status": result.status,
            "allowed": result.allowed,
            "blocking": result.blocking,
            "reasons": list(result.reasons),
            "allowedBy": [_rule(ref) for ref in result.rules],
            **(
                {
                    "otherAddresses": [str((f.src if f.src.ip else f.dst).ip) for f in result.also],
                    "addressRange": result.address_range,
                }
                if result.also
                else {}
            ),
        }
        for result in check.results
    ]
    data: dict[str, Any] = {
        "flows": flows,
        "summary": {
            "flows": len(check.results),
            "records": log.records,
            "allowed": check.count("allowed"),
            "dropped": check.count("dropped"),
            "unmatched": check.count("unmatched"),
            "blocking": sum(1 for result in check.results if result.blocking),
        },
        "skipped": dict(sorted(log.skipped.items())),
        "badLines": [{"location": f"{bad.path}:{bad.line}", "reason": bad.reason} for bad in log.bad],
    }
    if check.unused is not None:
        data["unusedRules"] = [_rule(ref) for ref in check.unused]
    return _dumps(data)


def _dumps(data: dict[str, Any]) -> str:
    """One key per line and one list item per line, each item compact: readable, diffable, and written
    by json's C encoder (an indented dump of a big log is several times slower)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
