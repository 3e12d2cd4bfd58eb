"""Observed flows as netpolscan reads them from a flow log: two endpoints, a protocol and a port.

A flow log yields a :class:`FlowLog`: the distinct flows (deduplicated by endpoints, protocol and port,
in the order first seen, with how often each was seen), the lines that could not be read (each with its
line number and why) and how many records were skipped, by reason.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from netpolscan.model.pod_labels import CONTROLLER_LABELS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FlowEndpoint:
    """One side of a flow: a pod (``namespace`` and its ``labels``) or an address outside the cluster.

    ``namespace`` is empty for an address (``ip`` set); ``entity`` names what Hubble calls it
    (``reserved:world``, ``reserved:remote-node``...). ``workloads`` are the controller names Hubble
    gives; ``namespace_labels`` the namespace's labels when the log carries them.
    """

    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: IPAddress | None = None
    entity: str = ""
    pod_name: str = ""
    workloads: tuple[str, ...] = ()
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    stable_labels: dict[str, str] = field(init=False, compare=False, repr=False)
    """The pod labels without those a controller adds per pod (``pod-template-hash``...)."""
    key: tuple[object, ...] = field(init=False, compare=False, repr=False)
    """What makes two observed endpoints the same for the analysis."""

    def __post_init__(self) -> None:
        stable = {k: v for k, v in sorted(self.labels.items()) if k not in CONTROLLER_LABELS}
        key = ("pod", self.namespace, tuple(stable.items())) if self.namespace else ("ip", str(self.ip))
        object.__setattr__(self, "stable_labels", stable)
        object.__setattr__(self, "key", key)

    @property
    def is_pod(self) -> bool:
        return bool(self.namespace)

    def __str__(self) -> str:
        if self.is_pod:
            labels = ",".join(f"{k}={v}" for k, v in self.stable_labels.items())
            return f"{self.namespace}/{{{labels}}}"
        return f"{self.ip}" + (f" ({self.entity})" if self.entity else "")


@dataclass
class Flow:
    """A distinct observed connection: ``src`` opened it to ``dst`` on ``protocol``/``port``.

    ``path`` and ``line`` locate its first occurrence; ``count`` is how often it was seen.
    """

    src: FlowEndpoint
    dst: FlowEndpoint
    protocol: str
    port: int
    path: str
    line: int
    count: int = 1

    @property
    def key(self) -> tuple[object, ...]:
        return (self.src.key, self.dst.key, self.protocol, self.port)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class BadLine:
    """A line of a flow log that is not a flow netpolscan can read."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: not a flow: {self.reason}"


class Skip(Exception):
    """A record that is read but is not a flow to check (a reply, ICMP, an L7 record...): the reason."""


@dataclass
class FlowLog:
    """What a flow log holds: distinct flows, unreadable lines, skipped records by reason."""

    path: str
    format: str
    flows: list[Flow] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    _index: dict[tuple[object, ...], Flow] = field(default_factory=dict, repr=False)

    def add(self, flow: Flow) -> None:
        """Record ``flow``, or count it on the flow first seen with the same endpoints and port."""
        known = self._index.get(flow.key)
        if known is None:
            self._index[flow.key] = flow
            self.flows.append(flow)
        else:
            known.count += 1

    @property
    def records(self) -> int:
        """Every flow record read (duplicates included)."""
        return sum(flow.count for flow in self.flows)
