"""``connectivity --explain``: every pair of peers with the policies and rules deciding each direction.

Laid out as netpol-analyzer's ``list --explain`` text: the pairs some policy decides, each with its
allowed and denied regions of ports, then the pairs the system default allows entirely; with
``--exposure``, the exposure sections follow. The items come from :mod:`netpolscan.analysis.list_explain`.
"""

from __future__ import annotations

from collections.abc import Sequence

from netpolscan.analysis.focus import Focus
from netpolscan.analysis.list_explain import (
    SYSTEM_DEFAULT,
    Decision,
    PairExplanation,
    PairRegion,
    explain_pairs,
)
from netpolscan.analysis.ports import PortSet
from netpolscan.model.inventory import Inventory

DASHES = "-" * 160
_VERBS = {"allow": "allows", "deny": "denies", "pass": "passes"}
_DIRECTIONS = {"egress": "Egress", "ingress": "Ingress"}


def _banner(text: str) -> str:
    line = "#" * (len(text) + 4)
    return f"{line}\n# {text} #\n{line}\n"


def ports_text(ports: PortSet) -> str:
    """``TCP:[80,8080-8090], UDP, SCTP``: protocols in TCP, UDP, SCTP order; a whole protocol by name."""
    chunks = []
    for protocol in ("TCP", "UDP", "SCTP"):
        intervals = ports.intervals(protocol)
        if intervals == ((1, 65535),):
            chunks.append(protocol)
        elif intervals:
            chunks.append(
                f"{protocol}:[{','.join(str(lo) if lo == hi else f'{lo}-{hi}' for lo, hi in intervals)}]"
            )
    return ", ".join(chunks)


def decision_text(item: Decision, direction: str, src: str, dst: str) -> str:
    """One item, e.g. ``NetworkPolicy 'ns/p' allows connections by Egress rule #1``."""
    title = _DIRECTIONS[direction]
    rule = f"#{item.rule}" if isinstance(item.rule, int) else str(item.rule)
    if item.kind in ("Ingress", "Route"):  # rule: the Service the object routes to
        if item.action == "allow":
            return f"{item.kind} '{item.policy}' allows ingress connections through service {rule}"
        return f"{item.kind} '{item.policy}' allows ingress to service {rule}, but the protocols and ports do not match"
    if item.reason == "tier-end":
        owner, peer = (src, dst) if direction == "egress" else (dst, src)
        return f"the {item.kind}'s policies select {owner}, but none of their {title} rules allows {peer}"
    if item.action != "deny" or item.kind != "NetworkPolicy":
        return f"{item.kind} '{item.policy}' {_VERBS[item.action]} connections by {title} rule {rule}"
    owner, peer = (src, dst) if direction == "egress" else (dst, src)
    head = f"{item.kind} '{item.policy}' selects {owner}"
    if item.reason == "ports":
        return f"{head}, and {title} rule {rule} selects {peer}, but the protocols and ports do not match"
    if item.reason == "named-ports":
        return (
            f"{head}, and {title} rule {rule} selects {peer}, "
            "but named ports of the rule have no match in the configuration of the destination peer"
        )
    suffix = " (no rules defined)" if item.reason == "no-rules" else ""
    return f"{head}, but {peer} is not allowed by any {title} rule{suffix}"


def _direction(direction: str, decided: tuple[bool, tuple[Decision, ...]], src: str, dst: str) -> str:
    allowed, items = decided
    state = "Allowed" if allowed else "Denied"
    head = f"\t\t{_DIRECTIONS[direction]} ({state})"
    if not items:
        return f"{head} due to the system default (Allow all)\n"
    by_kind: dict[str, list[str]] = {}
    for item in items:
        if item != SYSTEM_DEFAULT:
            by_kind.setdefault(item.kind, []).append(decision_text(item, direction, src, dst))
    text = f"{head}\n"
    for kind, texts in sorted(by_kind.items()):  # kinds in name order, as netpol-analyzer prints them
        if len(texts) == 1:
            text += f"\t\t\t{texts[0]}\n"
        else:
            text += f"\t\t\t{kind} list:\n" + "".join(f"\t\t\t\t- {line}\n" for line in texts) + "\n"
    if SYSTEM_DEFAULT in items:
        text += "\t\t\tthe system default (Allow all)\n"
    return text


def _region(region: PairRegion, src: str, dst: str) -> str:
    state = "Allowed" if region.allowed else "Denied"
    if region.allowed and not region.egress[1] and not region.ingress[1]:
        return f"\t{state} {ports_text(region.ports)} due to the system default (Allow all)\n\n"
    return (
        f"\t{state} {ports_text(region.ports)} due to the following policies and rules:\n"
        + _direction("egress", region.egress, src, dst)
        + _direction("ingress", region.ingress, src, dst)
        + "\n"
    )


def _pair(pair: PairExplanation, only: str | None) -> str:
    text = f"{DASHES}\nConnections between {pair.src} => {pair.dst}:\n\n"
    for state, allowed in (("Allowed", True), ("Denied", False)):
        if only is not None and (only == "allow") != allowed:
            continue
        regions = sorted(
            (region for region in pair.regions if region.allowed == allowed),
            key=lambda r: ports_text(r.ports),
        )
        if regions:
            text += f"{state} connections:\n" + "".join(_region(r, pair.src, pair.dst) for r in regions)
    return text


def format_pairs(pairs: Sequence[PairExplanation], only: str | None = None) -> str:
    """The explanation of ``pairs``; ``only`` (``allow``/``deny``) keeps one kind of region."""
    specific = []
    for pair in pairs:
        if pair.default or not any(only is None or (only == "allow") == r.allowed for r in pair.regions):
            continue
        specific.append(_pair(pair, only))
    defaults = [f"{p.src} => {p.dst}\n" for p in pairs if p.default and only != "deny"]
    text = ""
    if specific:
        text += "\n" + _banner("Specific connections and their reasons") + "".join(specific)
    if defaults:
        text += "\n" + _banner("All Connections due to the system default (Allow all)") + "".join(defaults)
    return text


def format_list_explanation(inventory: Inventory, focus: Focus, only: str | None, exposure: bool) -> str:
    """``connectivity --explain`` text (with the exposure sections when ``exposure``)."""
    text = format_pairs(list(explain_pairs(inventory, focus)), only)
    if not exposure:
        return text
    from netpolscan.analysis.connlist import connection_rows
    from netpolscan.analysis.exposure import exposure as exposure_of
    from netpolscan.analysis.focus import focused
    from netpolscan.report.exposure import exposure_txt

    found = exposure_of(inventory, focused(connection_rows(inventory), focus), focus)
    return text + "\n" + exposure_txt(found, focus)
