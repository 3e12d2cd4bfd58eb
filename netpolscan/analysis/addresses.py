"""The external (IPv4) address space, split into disjoint segments at the CIDR boundaries policies use.

Each direction has its own split (the boundaries of the ipBlocks of that direction's rules), as
netpol-analyzer reports it. A set of segments is a Python int bitset over segment indexes.
IPv6 ipBlocks add no IPv4 boundaries and cover no IPv4 segment.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from netpolscan.model.objects import IPBlock

SPACE_END = 1 << 32


@dataclass(frozen=True, order=True)
class Segment:
    """An inclusive range of IPv4 addresses, as integers."""

    first: int
    last: int

    def __str__(self) -> str:
        return f"{ipaddress.IPv4Address(self.first)}-{ipaddress.IPv4Address(self.last)}"

    @property
    def label(self) -> str:
        """The netpol-analyzer peer name: ``first-last[External]``."""
        return f"{self}[External]"

    def contains(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address.version == 4 and self.first <= int(address) <= self.last


@dataclass(frozen=True, order=True)
class NamedEndpoint(Segment):
    """An external endpoint known by name, not address: ``fqdn:api.github.com``, ``entity:kube-apiserver``.

    It rides in the address space after the IPv4 segments (``first``/``last`` are negative and unique,
    so it never contains an address); whole-family CIDRs (0.0.0.0/0, ::/0) cover it.
    """

    name: str = ""

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.name

    def contains(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return False


class AddressSpace:
    """The IPv4 space split at the boundaries of some ipBlocks, then the named external endpoints."""

    def __init__(self, blocks: Iterable[IPBlock], names: Iterable[str] = ()):
        points = {0, SPACE_END}
        for block in blocks:
            for first, end in block_ranges(block):
                points.add(first)
                points.add(end)
        self._starts = sorted(points)
        ip_segments = [Segment(lo, hi - 1) for lo, hi in zip(self._starts, self._starts[1:], strict=False)]
        self.ip_count = len(ip_segments)
        named = [NamedEndpoint(-2 - i, -2 - i, name) for i, name in enumerate(sorted(set(names)))]
        self.segments: tuple[Segment, ...] = (*ip_segments, *named)
        self.named_index = {endpoint.name: self.ip_count + i for i, endpoint in enumerate(named)}
        self.ip_bits = (1 << self.ip_count) - 1
        self.all_bits = (1 << len(self.segments)) - 1
        self.named_bits = self.all_bits ^ self.ip_bits
        self._cache: dict[IPBlock, int] = {}

    def _range_bits(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> int:
        if network.version != 4:
            return 0
        lo = bisect.bisect_left(self._starts, int(network.network_address))
        hi = bisect.bisect_left(self._starts, int(network.broadcast_address) + 1)
        return ((1 << (hi - lo)) - 1) << lo

    def bits(self, block: IPBlock) -> int:
        """The segments an ipBlock covers (its cidr minus its excepts)."""
        cached = self._cache.get(block)
        if cached is None:
            cached = self._range_bits(block.cidr)
            for hole in block.excepts:
                cached &= ~self._range_bits(hole)
            if block.cidr.prefixlen == 0:  # a whole family holds every named endpoint's addresses
                cached |= self.named_bits
            self._cache[block] = cached
        return cached

    def named(self, name: str) -> NamedEndpoint | None:
        """The external endpoint called ``name`` (``fqdn:…``, ``entity:…``), if a policy names it."""
        index = self.named_index.get(name)
        segment = None if index is None else self.segments[index]
        return segment if isinstance(segment, NamedEndpoint) else None

    def name_bits(self, name: str) -> int:
        index = self.named_index.get(name)
        return 0 if index is None else 1 << index

    def index_of(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int | None:
        """The segment holding ``address`` (None for IPv6)."""
        if address.version != 4:
            return None
        return bisect.bisect_right(self._starts, int(address)) - 1


def block_ranges(block: IPBlock) -> list[tuple[int, int]]:
    """The IPv4 addresses of an ipBlock as merged half-open ranges ``[first, end)``.

    Adjacent excepts merge (10.0.0.0/9 and 10.128.0.0/9 leave no boundary at 10.128.0.0), so the split
    is the coarsest one in which every ipBlock is a union of segments.
    """
    if block.cidr.version != 4:
        return []
    ranges = [(int(block.cidr.network_address), int(block.cidr.broadcast_address) + 1)]
    for hole in sorted(h for h in block.excepts if h.version == 4):
        lo, hi = int(hole.network_address), int(hole.broadcast_address) + 1
        kept: list[tuple[int, int]] = []
        for first, end in ranges:
            if hi <= first or lo >= end:
                kept.append((first, end))
                continue
            if first < lo:
                kept.append((first, lo))
            if hi < end:
                kept.append((hi, end))
        ranges = kept
    merged: list[tuple[int, int]] = []
    for first, end in sorted(ranges):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((first, end))
    return merged


def iter_bits(bits: int) -> list[int]:
    """Indexes of the set bits of ``bits``, ascending (linear in the bit length, done in C)."""
    if not bits:
        return []
    text = bin(bits)[:1:-1]
    out: list[int] = []
    find = text.find
    i = find("1")
    while i >= 0:
        out.append(i)
        i = find("1", i + 1)
    return out
