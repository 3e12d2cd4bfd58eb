"""netpolscan: static analysis of Kubernetes NetworkPolicies.

The public API is small: rule plugins use :data:`hookimpl` and the types below.
"""

from __future__ import annotations

import pluggy

from netpolscan.findings import Finding, Location, ObjectRef, Rule, Severity, Violation

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("netpolscan")
"""Decorator for plugin hook implementations (see :mod:`netpolscan.hookspecs`)."""

__all__ = ["Finding", "Location", "ObjectRef", "Rule", "Severity", "Violation", "hookimpl", "__version__"]
