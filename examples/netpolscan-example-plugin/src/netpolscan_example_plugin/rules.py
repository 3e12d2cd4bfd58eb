"""The ACME rules. Each check reads the shared inventory and yields Violations pointing at a field.

A rule's metadata (name, level, summary, remediation, tags) is the front matter of its documentation,
``docs/rules/<ID>-<name>.md``, which the wheel ships inside the package (see pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netpolscan import CheckFunction, PortSpec, Rule, ScanContext, Violation, rule_from_doc

DOCS = "https://example.com/netpolscan-example-plugin/docs/rules/"

# Ports the organisation never allows through a NetworkPolicy: (protocol, port) -> what it is.
# The configuration can replace the list: `plugins: {acme: {banned-ports: [TCP/23, ...]}}` in .netpolscan.yaml,
# checked against CONFIG_SCHEMA (see netpolscan_config_schema in __init__.py).
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


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "banned-ports": {
            "type": "array",
            "description": "Ports no NetworkPolicy may allow, as PROTOCOL/NUMBER (replaces the default list).",
            "items": {"type": "string", "pattern": "^(TCP|UDP|SCTP)/[0-9]{1,5}$"},
        }
    },
}


def _banned(ctx: ScanContext) -> dict[tuple[str, int], str]:
    configured = ctx.plugin_settings("acme").get("banned-ports")
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


def _docs_dir() -> Path:
    """The rule docs: inside the installed package, or ``docs/rules`` of the source tree."""
    packaged = Path(__file__).parent / "rules"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "docs" / "rules"


def _rule(doc_name: str, check: CheckFunction) -> Rule:
    return rule_from_doc(_docs_dir() / doc_name, check, help_uri=DOCS + doc_name)


RULES = (
    _rule("ACME101-network-policy-missing-owner.md", missing_owner),
    _rule("ACME102-banned-port-allowed.md", banned_port_allowed),
)
