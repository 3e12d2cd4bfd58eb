"""The built-in policy kinds beyond NetworkPolicy v1: each module parses and validates one policy API
into the kind-neutral model of ``netpolscan.model.tiers``. The built-in plugin registers them through
the ``netpolscan_register_policy_kinds`` hook, as a third party registers its own."""

from __future__ import annotations

from netpolscan.model.tiers import PolicyKind
from netpolscan.policykinds.calico import CalicoKind
from netpolscan.policykinds.cilium import CiliumPolicyKind
from netpolscan.policykinds.clusterpolicy import ClusterPolicyKind


def builtin_kinds() -> list[PolicyKind]:
    """One instance of every built-in policy kind, in a fixed order."""
    kinds: list[PolicyKind] = [ClusterPolicyKind()]
    kinds.append(CalicoKind())
    kinds.append(CiliumPolicyKind())
    return kinds
