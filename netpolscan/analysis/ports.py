"""Port sets: per protocol (SCTP, TCP, UDP), a normalised tuple of disjoint inclusive port intervals.

``PortSet`` is immutable and hashable, so results can be cached and compared. Its ``str`` is the
connection text of netpol-analyzer: ``All Connections``, ``No Connections`` or ``TCP 80,8080-8090,UDP 53``
(protocols in the order SCTP, TCP, UDP).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PROTOCOL_ORDER = ("SCTP", "TCP", "UDP")
MIN_PORT = 1
MAX_PORT = 65535

Intervals = tuple[tuple[int, int], ...]
_FULL: Intervals = ((MIN_PORT, MAX_PORT),)


def _normalise(intervals: Iterable[tuple[int, int]]) -> Intervals:
    merged: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if lo > hi:
            continue
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        start = lo
        for blo, bhi in b:
            if bhi < start or blo > hi:
                continue
            if blo > start:
                out.append((start, blo - 1))
            start = max(start, bhi + 1)
            if start > hi:
                break
        if start <= hi:
            out.append((start, hi))
    return tuple(out)


class PortSet:
    """An immutable set of (protocol, port) pairs stored as interval tuples per protocol."""

    __slots__ = ("_parts", "_hash", "_text", "_empty")

    def __init__(self, parts: Mapping[str, Iterable[tuple[int, int]]] | None = None):
        given = parts or {}
        self._parts: tuple[Intervals, ...] = tuple(_normalise(given.get(p, ())) for p in PROTOCOL_ORDER)
        self._hash = hash(self._parts)
        self._text: str | None = None
        self._empty = not any(self._parts)

    @classmethod
    def _of(cls, parts: tuple[Intervals, ...]) -> PortSet:
        obj = cls.__new__(cls)
        obj._parts = parts
        obj._hash = hash(parts)
        obj._text = None
        obj._empty = not any(parts)
        return obj

    @classmethod
    def all(cls) -> PortSet:
        """Every port of every protocol."""
        return ALL_PORTS

    @classmethod
    def empty(cls) -> PortSet:
        return NO_PORTS

    @classmethod
    def single(cls, protocol: str, low: int, high: int | None = None) -> PortSet:
        """The ports ``low``..``high`` (inclusive; ``high`` defaults to ``low``) of ``protocol``."""
        return cls({protocol: [(low, low if high is None else high)]})

    @classmethod
    def protocol(cls, protocol: str) -> PortSet:
        """Every port of one protocol."""
        return cls({protocol: _FULL})

    def intervals(self, protocol: str) -> Intervals:
        return self._parts[PROTOCOL_ORDER.index(protocol)]

    def __or__(self, other: PortSet) -> PortSet:
        if other is self or other.is_empty:
            return self
        if self.is_empty:
            return other
        return PortSet._of(tuple(_normalise(a + b) for a, b in zip(self._parts, other._parts, strict=True)))

    def __and__(self, other: PortSet) -> PortSet:
        if other is self or other is ALL_PORTS:
            return self
        if self is ALL_PORTS:
            return other
        return PortSet._of(tuple(_intersect(a, b) for a, b in zip(self._parts, other._parts, strict=True)))

    def __sub__(self, other: PortSet) -> PortSet:
        return PortSet._of(tuple(_subtract(a, b) for a, b in zip(self._parts, other._parts, strict=True)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._parts == other._parts

    def __hash__(self) -> int:
        return self._hash

    def __bool__(self) -> bool:
        return not self._empty

    @property
    def is_empty(self) -> bool:
        return self._empty

    @property
    def is_all(self) -> bool:
        return all(part == _FULL for part in self._parts)

    def contains(self, protocol: str, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.intervals(protocol))

    def __contains__(self, item: tuple[str, int]) -> bool:
        return self.contains(*item)

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self._render()
        return text

    def _render(self) -> str:
        if self.is_all:
            return "All Connections"
        if self.is_empty:
            return "No Connections"
        chunks = []
        for protocol, part in zip(PROTOCOL_ORDER, self._parts, strict=True):
            if part:
                chunks.append(
                    protocol + " " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in part)
                )
        return ",".join(chunks)

    def __repr__(self) -> str:
        return f"PortSet({str(self)!r})"


ALL_PORTS = PortSet({p: _FULL for p in PROTOCOL_ORDER})
NO_PORTS = PortSet()
