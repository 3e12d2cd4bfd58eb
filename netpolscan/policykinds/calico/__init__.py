"""Calico's policy API: the selector language (``selector``) and the policy kind (``kind``)."""

from __future__ import annotations

from netpolscan.policykinds.calico.kind import CalicoKind

__all__ = ["CalicoKind"]
