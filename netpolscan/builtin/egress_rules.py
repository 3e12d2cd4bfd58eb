"""NPS3xx: egress rules that open too much."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netpolscan.builtin import fix_builders, tiered_peer_rules
from netpolscan.builtin.helpers import covers, policy_label
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import PolicyRule
from netpolscan.plugin_api import Violation

METADATA_ADDRESSES = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


@check("NPS301")
def egress_to_anywhere(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.anywhere(ctx, "egress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("egress"):
            if rule.all_peers and rule.all_ports:
                yield Violation(
                    f"{policy_label(policy)} egress rule {rule.index + 1} allows every destination on "
                    "every port (no `to` and no `ports`): the selected pods may connect to any pod, any "
                    "internet address and the cloud metadata service 169.254.169.254 (node credentials), "
                    "as if no policy isolated their egress",
                    policy.document,
                    rule.pointer,
                    policy.ref,
                )


@check("NPS302")
def egress_to_internet_cidr(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.internet(ctx, "egress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("egress"):
            for peer in rule.peers:
                block = peer.ip_block
                if block is not None and block.cidr.prefixlen == 0:
                    holes = f" (except {', '.join(map(str, block.excepts))})" if block.excepts else ""
                    yield Violation(
                        f"{policy_label(policy)} egress rule {rule.index + 1} allows ipBlock "
                        f"{block.cidr}{holes}: every internet address",
                        policy.document,
                        peer.pointer,
                        policy.ref,
                    )


def _metadata_ports_open(rule: PolicyRule) -> bool:
    return rule.all_ports or any(covers(spec, "TCP", 80) for spec in rule.ports)


@check("NPS303")
def egress_to_cloud_metadata(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.metadata(ctx)
    for policy in ctx.inventory.policies:
        for rule in policy.rules("egress"):
            if not _metadata_ports_open(rule) or (rule.all_peers and rule.all_ports):
                continue  # a rule open to everything is NPS301's, whose message names the metadata service
            ports = "every port" if rule.all_ports else "TCP 80"
            if rule.all_peers:
                yield Violation(
                    f"{policy_label(policy)} egress rule {rule.index + 1} has no `to`, so it allows the "
                    f"cloud metadata service 169.254.169.254 on {ports}: pods can read node credentials",
                    policy.document,
                    rule.pointer,
                    policy.ref,
                )
                continue
            for peer in rule.peers:
                block = peer.ip_block
                if block is None:
                    continue
                hit = next((a for a in METADATA_ADDRESSES if block.contains(a)), None)
                if hit is not None:
                    yield Violation(
                        f"{policy_label(policy)} egress rule {rule.index + 1} allows ipBlock {block.cidr}, "
                        f"which includes the cloud metadata service {hit} on {ports}: add it to `except` "
                        f"(e.g. {hit}/{32 if hit.version == 4 else 128})",
                        policy.document,
                        peer.pointer,
                        policy.ref,
                        key=str(hit),
                        fix=fix_builders.metadata_except(policy, peer, hit),
                    )


@check("NPS304")
def egress_to_all_namespaces(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.all_namespaces(ctx, "egress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("egress"):
            for peer in rule.peers:
                selector = peer.namespace_selector
                if selector is None or not selector.is_empty:
                    continue
                if peer.pod_selector is not None and not peer.pod_selector.is_empty:
                    continue
                ports = "every port" if rule.all_ports else ", ".join(str(p) for p in rule.ports)
                yield Violation(
                    f"{policy_label(policy)} egress rule {rule.index + 1} `to` peer {peer.index + 1} has "
                    "`namespaceSelector: {}` without a narrowing podSelector, so the selected pods may "
                    f"connect to every pod of every namespace on {ports}; name the destination namespaces "
                    "(kubernetes.io/metadata.name) and pods",
                    policy.document,
                    peer.pointer,
                    policy.ref,
                    fix=fix_builders.narrowed_namespace(ctx.inventory, policy, rule, peer),
                )
