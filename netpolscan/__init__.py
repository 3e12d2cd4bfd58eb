"""netpolscan: static analysis of Kubernetes NetworkPolicies.

The public API is ``__all__``: what a plugin needs to register rules, output formats and policy kinds
and to read the model (see docs/plugins.md). Everything else is private and may change.
"""

from __future__ import annotations

import pluggy

from netpolscan.context import ScanContext
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import (
    ContainerPort,
    IPBlock,
    Namespace,
    NetworkPolicy,
    ObjectRef,
    Peer,
    PolicyRule,
    PortSpec,
    Service,
    ServicePort,
    Workload,
)
from netpolscan.model.selectors import LabelSelector, parse_selector
from netpolscan.model.tiers import (
    ADMIN,
    ALLOW,
    BASELINE,
    DENY,
    EVERYTHING,
    NAMESPACE,
    NOTHING,
    PASS,
    AllOf,
    AnyOf,
    ClusterView,
    Everything,
    KindSink,
    Named,
    Network,
    Node,
    Nodes,
    Not,
    PeerExpr,
    Pods,
    PolicyKind,
    Tier,
    TierPolicy,
    TierRule,
    World,
)
from netpolscan.plugin_api import (
    CheckFunction,
    Edit,
    Finding,
    FindingFix,
    Fix,
    Formatter,
    Notification,
    Replacement,
    Report,
    Rule,
    Severity,
    Suppression,
    Violation,
)
from netpolscan.ruledoc import RuleDoc, parse_rule_doc, rule_from_doc
from netpolscan.sources.document import Document, Location, Pointer

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("netpolscan")
"""Decorator for plugin hook implementations (see :mod:`netpolscan.hookspecs`)."""

__all__ = [
    "ADMIN",
    "ALLOW",
    "AllOf",
    "AnyOf",
    "BASELINE",
    "ClusterView",
    "DENY",
    "EVERYTHING",
    "Everything",
    "KindSink",
    "NAMESPACE",
    "NOTHING",
    "Named",
    "Network",
    "Node",
    "Nodes",
    "Not",
    "PASS",
    "PeerExpr",
    "Pods",
    "Tier",
    "TierPolicy",
    "TierRule",
    "World",
    "parse_selector",
    "CheckFunction",
    "ContainerPort",
    "Document",
    "Edit",
    "Finding",
    "FindingFix",
    "Fix",
    "Formatter",
    "IPBlock",
    "Inventory",
    "LabelSelector",
    "Location",
    "Namespace",
    "NetworkPolicy",
    "Notification",
    "ObjectRef",
    "Peer",
    "Pointer",
    "PolicyKind",
    "PolicyRule",
    "PortSpec",
    "Replacement",
    "Report",
    "Rule",
    "RuleDoc",
    "ScanContext",
    "Service",
    "ServicePort",
    "Severity",
    "Suppression",
    "Violation",
    "Workload",
    "__version__",
    "hookimpl",
    "parse_rule_doc",
    "rule_from_doc",
]
