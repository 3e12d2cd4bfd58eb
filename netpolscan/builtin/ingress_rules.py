"""NPS2xx: ingress rules that admit too many sources."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netpolscan.builtin import fix_builders, tiered_peer_rules
from netpolscan.builtin.helpers import describe_ports, policy_label
from netpolscan.builtin.registry import check
from netpolscan.context import ScanContext
from netpolscan.model.objects import IPBlock, Peer
from netpolscan.plugin_api import Violation

# Address space that is not public internet (IANA special-purpose registries). Everything else is public.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata lives here)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1 (documentation)
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast: never a source address
        "240.0.0.0/4",  # reserved, and the limited broadcast address
    )
)
# IPv6: only global unicast (2000::/3) is routed on the internet, minus the documentation prefixes.
_PUBLIC_V6 = ipaddress.ip_network("2000::/3")
_NOT_PUBLIC_V6 = tuple(ipaddress.ip_network(n) for n in ("2001:db8::/32", "3fff::/20"))

Range = tuple[int, int]  # inclusive first and last address, as integers


def _minus(ranges: list[Range], hole: Range) -> list[Range]:
    lo, hi = hole
    kept: list[Range] = []
    for first, last in ranges:
        if hi < first or lo > last:
            kept.append((first, last))
            continue
        if first < lo:
            kept.append((first, lo - 1))
        if hi < last:
            kept.append((hi + 1, last))
    return kept


def _span(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Range:
    return int(network.network_address), int(network.broadcast_address)


def public_ranges(block: IPBlock) -> list[Range]:
    """The public internet addresses an ipBlock admits: its cidr minus its excepts minus non-public space."""
    cidr = block.cidr
    if cidr.version == 4:
        ranges = [_span(cidr)]
        holes = _NOT_PUBLIC_V4
    else:
        if not cidr.overlaps(_PUBLIC_V6):
            return []
        inner = cidr if cidr.subnet_of(_PUBLIC_V6) else _PUBLIC_V6  # type: ignore[arg-type]
        ranges = [_span(inner)]
        holes = _NOT_PUBLIC_V6
    for hole in (*holes, *(h for h in block.excepts if h.version == cidr.version)):
        ranges = _minus(ranges, _span(hole))
        if not ranges:
            break
    return ranges


def _whole_public_space(version: int) -> list[Range]:
    return public_ranges(IPBlock(ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")))


def _describe_public(block: IPBlock, ranges: list[Range]) -> str:
    version = block.cidr.version
    if ranges == _whole_public_space(version):
        return f"every public IPv{version} address"
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    first, last = ranges[0]
    shown = str(make(first)) if first == last else f"{make(first)}-{make(last)}"
    more = f" and {len(ranges) - 1} more range(s)" if len(ranges) > 1 else ""
    if version == 6:
        return f"public IPv6 addresses ({shown}{more})"
    count = sum(hi - lo + 1 for lo, hi in ranges)
    return f"{count:,} public IPv4 address{'es' if count != 1 else ''} ({shown}{more})"


def _is_all_namespaces(peer: Peer) -> bool:
    """`namespaceSelector: {}` with no podSelector or an empty one: every pod of every namespace."""
    selector = peer.namespace_selector
    if selector is None or not selector.is_empty:
        return False
    return peer.pod_selector is None or peer.pod_selector.is_empty


@check("NPS201")
def ingress_from_anywhere(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.anywhere(ctx, "ingress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("ingress"):
            if not rule.all_peers:
                continue
            yield Violation(
                f"{policy_label(policy)} ingress rule {rule.index + 1} has no `from` peers, so it admits "
                f"every source on {describe_ports(rule)}: every pod of every namespace and any address "
                "outside the cluster may connect to the selected pods; list the allowed sources under `from`",
                policy.document,
                rule.pointer,
                policy.ref,
            )


@check("NPS202")
def ingress_from_all_namespaces(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.all_namespaces(ctx, "ingress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("ingress"):
            for peer in rule.peers:
                if not _is_all_namespaces(peer):
                    continue
                yield Violation(
                    f"{policy_label(policy)} ingress rule {rule.index + 1} `from` peer {peer.index + 1} has "
                    "`namespaceSelector: {}` without a narrowing podSelector, so every pod of every "
                    f"namespace may connect to the selected pods on {describe_ports(rule)}; name the source "
                    "namespaces "
                    "(kubernetes.io/metadata.name) and pods",
                    policy.document,
                    peer.pointer,
                    policy.ref,
                    fix=fix_builders.narrowed_source_namespace(ctx, policy, peer),
                )


@check("NPS203")
def ingress_from_internet_cidr(ctx: ScanContext) -> Iterator[Violation]:
    yield from tiered_peer_rules.internet(ctx, "ingress")
    for policy in ctx.inventory.policies:
        for rule in policy.rules("ingress"):
            for peer in rule.peers:
                block = peer.ip_block
                if block is None:
                    continue
                ranges = public_ranges(block)
                if not ranges:
                    continue
                yield Violation(
                    f"{policy_label(policy)} ingress rule {rule.index + 1} admits ipBlock {block}, which "
                    f"covers {_describe_public(block, ranges)}, on {describe_ports(rule)}; admit only the "
                    "address ranges of known clients (or the load balancer's), or except the public space",
                    policy.document,
                    peer.pointer,
                    policy.ref,
                )
