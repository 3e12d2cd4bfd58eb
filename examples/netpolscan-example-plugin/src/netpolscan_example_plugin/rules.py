"""The ACME rules. Each check reads the shared inventory and yields Violations pointing at a field."""

from __future__ import annotations

from collections.abc import Iterator

from netpolscan import Rule, Severity, Violation
from netpolscan.context import ScanContext
from netpolscan.model.objects import PortSpec

DOCS = "https://example.com/netpolscan-example-plugin/docs/rules/"

# Ports the organisation never allows through a NetworkPolicy: (protocol, port) -> what it is.
# Scan settings can replace the list: ScanContext.settings == {"acme": {"banned-ports": ["TCP/23", ...]}}.
BANNED_PORTS: dict[tuple[str, int], str] = {
    ("TCP", 23): "telnet",
    ("TCP", 3389): "RDP",
    ("UDP", 3389): "RDP",
}


def missing_owner(ctx: ScanContext) -> Iterator[Violation]:
    for policy in ctx.inventory.policies:
        data = policy.document.data if isinstance(policy.document.data, dict) else {}
        metadata = data.get("metadata")
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        owner = labels.get("owner") if isinstance(labels, dict) else None
        if isinstance(owner, str) and owner.strip():
            continue
        pointer: tuple[str, ...] = ("metadata", "labels") if isinstance(labels, dict) else ("metadata",)
        yield Violation(
            f"NetworkPolicy {policy.namespace}/{policy.name} has no `owner` label: "
            "add `metadata.labels.owner` naming the team that answers for it",
            policy.document,
            pointer,
            policy.ref,
        )


def _banned(ctx: ScanContext) -> dict[tuple[str, int], str]:
    configured = (ctx.settings.get("acme") or {}).get("banned-ports")
    if configured is None:
        return BANNED_PORTS
    banned: dict[tuple[str, int], str] = {}
    for entry in configured:
        protocol, _, number = str(entry).partition("/")
        banned[(protocol.upper(), int(number))] = str(entry)
    return banned


def _banned_in(spec: PortSpec, banned: dict[tuple[str, int], str]) -> list[tuple[int, str]]:
    if not isinstance(spec.port, int):  # every port, or a named port: not an explicit number
        return []
    last = spec.end_port if spec.end_port is not None else spec.port
    return sorted(
        (number, name)
        for (protocol, number), name in banned.items()
        if protocol == spec.protocol and spec.port <= number <= last
    )


def banned_port_allowed(ctx: ScanContext) -> Iterator[Violation]:
    banned = _banned(ctx)
    for policy in ctx.inventory.policies:
        for direction in ("ingress", "egress"):
            for rule in policy.rules(direction):
                for spec in rule.ports:
                    for number, name in _banned_in(spec, banned):
                        yield Violation(
                            f"NetworkPolicy {policy.namespace}/{policy.name} {direction} rule "
                            f"{rule.index + 1} allows "
                            f"{spec.protocol} {number} ({name}), a port ACME bans",
                            policy.document,
                            spec.pointer,
                            policy.ref,
                            key=f"{spec.protocol}/{number}",
                        )


RULES = (
    Rule(
        id="ACME101",
        name="network-policy-missing-owner",
        level=Severity.WARNING,
        check=missing_owner,
        summary="A NetworkPolicy has no `owner` label naming the team that answers for it.",
        remediation="Add `metadata.labels.owner: <team>` to the NetworkPolicy.",
        tags=("ownership",),
        help_uri=DOCS + "ACME101-network-policy-missing-owner.md",
    ),
    Rule(
        id="ACME102",
        name="banned-port-allowed",
        level=Severity.ERROR,
        check=banned_port_allowed,
        summary="A NetworkPolicy rule allows a port ACME bans (telnet 23, RDP 3389).",
        remediation="Remove the port from the rule; use SSH or a bastion instead.",
        security_severity="7.0",
        tags=("security", "ports"),
        help_uri=DOCS + "ACME102-banned-port-allowed.md",
    ),
)
