"""Why a connection is allowed or denied: the isolation and rules deciding each direction.

``explain(inventory, src, dst, port)`` returns an :class:`Explanation`: the egress verdict at the source,
the ingress verdict at the destination (each with the selecting policies and the matching rules with the
ports they allow), the allowed ports, and, when ``port`` is given, whether it passes and which side is
missing. ``find_endpoint`` turns ``NS/NAME``, an IP address or an external endpoint known by name
(``fqdn:api.example.com``, ``entity:kube-apiserver``, as ``connectivity`` prints them) into an endpoint,
naming the closest ones when none matches.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass

from netpolscan.analysis.addresses import NamedEndpoint
from netpolscan.analysis.connectivity import Endpoint, Verdict, connectivity
from netpolscan.analysis.endpoints import owner_of, workload_label
from netpolscan.analysis.ports import PortSet
from netpolscan.errors import NetpolscanError
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload


@dataclass(frozen=True)
class Explanation:
    src: Endpoint | NamedEndpoint
    dst: Endpoint | NamedEndpoint
    egress: Verdict
    ingress: Verdict
    allowed: PortSet
    port: tuple[str, int] | None = None

    @property
    def port_allowed(self) -> bool | None:
        """With a port: whether it is allowed (None without a port)."""
        return None if self.port is None else self.allowed.contains(*self.port)

    def missing(self) -> list[str]:
        """For a denied port: the directions that do not allow it (``egress``, ``ingress`` or both)."""
        if self.port is None:
            return [v.direction for v in (self.egress, self.ingress) if not v.ports]
        return [v.direction for v in (self.egress, self.ingress) if not v.ports.contains(*self.port)]


def endpoint_name(endpoint: Endpoint | NamedEndpoint) -> str:
    return workload_label(endpoint) if isinstance(endpoint, Workload) else str(endpoint)


def find_endpoint(inventory: Inventory, text: str) -> Endpoint | NamedEndpoint:
    """``NS/NAME`` (workload or owner name; ``NAME`` alone means the default namespace), an IP address, or
    an external endpoint known by name (``fqdn:NAME``, ``entity:NAME``)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if ":" in text:  # not a namespace/name: Kubernetes names have no colon
        conn = connectivity(inventory)
        known: set[str] = set()
        for space in (conn.egress_space, conn.ingress_space):
            found = space.named(text)
            if found is not None:
                return found
            known.update(space.named_index)
        close = difflib.get_close_matches(text, sorted(known), n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ("" if known else "; no policy names one")
        raise NetpolscanError(f"no external endpoint {text} in the input's policies{hint}")
    namespace, _, name = text.rpartition("/")
    namespace = namespace or inventory.default_namespace
    for workload in inventory.workloads_in(namespace):
        if name in (workload.name, owner_of(workload)[1]):
            return workload
    names = sorted({f"{w.namespace}/{w.name}" for w in inventory.workloads})
    close = difflib.get_close_matches(f"{namespace}/{name}", names, n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else ("" if names else "; the input has no workloads")
    raise NetpolscanError(f"no workload {namespace}/{name} in the input{hint}")


def parse_port(text: str) -> tuple[str, int]:
    """``8080`` or ``8080/TCP`` (protocol TCP, UDP or SCTP, any case)."""
    number, _, protocol = text.partition("/")
    protocol = (protocol or "TCP").upper()
    if protocol not in ("TCP", "UDP", "SCTP") or not number.isdigit() or not 1 <= int(number) <= 65535:
        raise NetpolscanError(f"bad --port {text!r}: expected PORT or PORT/PROTOCOL, e.g. 8080/TCP")
    return protocol, int(number)


def explain(
    inventory: Inventory,
    src: Endpoint | NamedEndpoint,
    dst: Endpoint | NamedEndpoint,
    port: tuple[str, int] | None = None,
) -> Explanation:
    """Explain the connection ``src`` -> ``dst`` (optionally one protocol/port)."""
    if not isinstance(src, Workload) and not isinstance(dst, Workload):
        raise NetpolscanError("explain needs a workload on at least one side (both are IP addresses)")
    conn = connectivity(inventory)
    egress = conn.verdict(src, dst, "egress")
    ingress = conn.verdict(src, dst, "ingress")
    return Explanation(src, dst, egress, ingress, egress.ports & ingress.ports, port)
