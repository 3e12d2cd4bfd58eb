"""The expectations file as typed objects: endpoints, port lists and expectations with their positions."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from netpolscan.analysis.ports import PortSet
from netpolscan.sources.document import Document

API_VERSION = "netpolscan.io/v1"
KIND = "ConnectivityExpectations"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint of an expectation. Exactly one shape is set:

    a workload (``namespace`` + ``workload``), pods by ``labels`` in ``namespace`` or in the namespaces
    matching ``namespace_labels`` (every pod of them when ``labels`` is None), a whole ``namespace``,
    or an external ``cidr``.
    """

    namespace: str | None = None
    workload: str | None = None
    labels: Mapping[str, str] | None = None
    namespace_labels: Mapping[str, str] | None = None
    cidr: IPNetwork | None = None

    def __str__(self) -> str:
        if self.cidr is not None:
            return f"cidr {self.cidr}"
        if self.workload is not None:
            return f"{self.namespace}/{self.workload}"
        where = (
            f"namespace {self.namespace}"
            if self.namespace is not None
            else (f"namespaces with labels {_labels(self.namespace_labels or {})}")
        )
        if self.labels is not None:
            return f"pods with labels {_labels(self.labels)} in {where}"
        return where if self.namespace is not None else f"every pod in {where}"


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


@dataclass(frozen=True)
class Expectation:
    """One entry: sources, destinations, ports (None = every port of every protocol) and allow/deny."""

    index: int  # 0-based position in the file's `expectations` list
    sources: tuple[EndpointSpec, ...]
    destinations: tuple[EndpointSpec, ...]
    ports: PortSet | None
    port_texts: tuple[str, ...]
    expect: str  # "allow" | "deny"
    reason: str
    document: Document

    @property
    def number(self) -> int:
        """1-based entry number, as messages say it."""
        return self.index + 1

    @property
    def pointer(self) -> tuple[str | int, ...]:
        return ("expectations", self.index)

    @property
    def line(self) -> int:
        return self.document.position(self.pointer)[0]

    def summary(self) -> str:
        """``allow default/frontend -> default/backend on 8080/TCP``."""
        src = " | ".join(map(str, self.sources))
        dst = " | ".join(map(str, self.destinations))
        ports = ", ".join(self.port_texts) if self.port_texts else "any port"
        return f"{self.expect} {src} -> {dst} on {ports}"


@dataclass(frozen=True)
class ExpectationsFile:
    """A loaded, validated expectations document."""

    path: str
    document: Document
    expectations: tuple[Expectation, ...]
