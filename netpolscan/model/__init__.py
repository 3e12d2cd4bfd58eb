"""The model: typed objects parsed from documents, API validation, and the Inventory."""

from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import (
    ContainerPort,
    IPBlock,
    Namespace,
    NetworkPolicy,
    Peer,
    PolicyRule,
    PortSpec,
    Service,
    ServicePort,
    Workload,
)
from netpolscan.model.parse import NAME_LABEL
from netpolscan.model.selectors import LabelSelector, Requirement

__all__ = [
    "ContainerPort",
    "IPBlock",
    "Inventory",
    "LabelSelector",
    "NAME_LABEL",
    "Namespace",
    "NetworkPolicy",
    "Peer",
    "PolicyRule",
    "PortSpec",
    "Requirement",
    "Service",
    "ServicePort",
    "Workload",
]
