"""The typed objects of the model. Each keeps the document it came from, for locations."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from netpolscan.model.selectors import LabelSelector
from netpolscan.sources.document import Document, Pointer

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class ObjectRef:
    """A Kubernetes object by kind, namespace and name (namespace empty for cluster-scoped objects)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class PortSpec:
    """One NetworkPolicyPort: protocol, a number or a name (None = every port), optional endPort."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None
    pointer: Pointer = ()

    @property
    def is_named(self) -> bool:
        return isinstance(self.port, str)

    def __str__(self) -> str:
        if self.port is None:
            return f"all/{self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class IPBlock:
    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    def contains(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address in hole for hole in self.excepts if hole.version == address.version)

    def __str__(self) -> str:
        if self.excepts:
            return f"{self.cidr} except {', '.join(map(str, self.excepts))}"
        return str(self.cidr)


@dataclass(frozen=True)
class Peer:
    """A from/to entry. With no namespace_selector and a pod_selector: pods of the policy's namespace."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    index: int = 0
    pointer: Pointer = ()


@dataclass(frozen=True)
class PolicyRule:
    """An ingress or egress rule. ``peers`` empty means every peer (no from/to, or an empty list)."""

    direction: str  # "ingress" | "egress"
    index: int
    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    pointer: Pointer = ()

    @property
    def all_peers(self) -> bool:
        return not self.peers

    @property
    def all_ports(self) -> bool:
        return not self.ports


@dataclass(frozen=True, eq=False)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: tuple[str, ...]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]
    document: Document
    api_version: str = "networking.k8s.io/v1"
    explicit_policy_types: bool = False
    raw_ingress_present: bool = False  # an `ingress:` key is in the manifest (even if ignored)
    raw_egress_present: bool = False

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("NetworkPolicy", self.namespace, self.name)

    @property
    def isolates_ingress(self) -> bool:
        return "Ingress" in self.policy_types

    @property
    def isolates_egress(self) -> bool:
        return "Egress" in self.policy_types

    def rules(self, direction: str) -> tuple[PolicyRule, ...]:
        """The rules that take effect for ``direction`` (rules of a direction not in policyTypes are ignored)."""
        if direction == "ingress":
            return self.ingress if self.isolates_ingress else ()
        return self.egress if self.isolates_egress else ()


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, eq=False)
class Workload:
    """A pod-bearing object, seen through its pod template."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...]
    document: Document
    host_network: bool = False
    pod_ips: tuple[str, ...] = ()
    owner: tuple[str, str] | None = None  # (kind, name) of the controlling owner, from ownerReferences
    template_pointer: Pointer = ()
    node_name: str = ""  # spec.nodeName ("" when the input does not say where the pod runs)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    def resolve_port(self, name: str, protocol: str) -> int | None:
        """The number of the container port called ``name`` with ``protocol`` (None if there is none)."""
        for port in self.ports:
            if port.name == name and port.protocol == protocol:
                return port.port
        return None


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int | str
    protocol: str = "TCP"
    name: str | None = None
    index: int = 0


@dataclass(frozen=True, eq=False)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    document: Document
    type: str = "ClusterIP"

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Service", self.namespace, self.name)


@dataclass(frozen=True, eq=False)
class Namespace:
    """A namespace; ``document`` is None when the input has no Namespace manifest for it."""

    name: str
    labels: Mapping[str, str]
    document: Document | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Namespace", "", self.name)
