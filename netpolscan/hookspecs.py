"""Every hook a netpolscan plugin can implement. Names start with ``netpolscan_``.

A plugin is a module (or object) registered under the ``netpolscan`` entry-point group; it implements
any of these hooks with the :data:`netpolscan.hookimpl` decorator. Each hook receives a ``register``
callback and calls it once per thing it contributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from netpolscan.model.tiers import PolicyKind
from netpolscan.plugin_api import Formatter, Rule

hookspec = pluggy.HookspecMarker("netpolscan")


@hookspec
def netpolscan_register_rules(register: Callable[[Rule], None]) -> None:
    """Register rules: call ``register(rule)`` for each :class:`netpolscan.Rule` the plugin provides.

    Rule ids are a prefix of 2-4 capital letters and 3 digits (``ACME101``); ``NPS`` is reserved for the
    built-in rules. Two rules with the same id, or two plugins sharing a prefix, fail the load.
    """


@hookspec
def netpolscan_register_formatters(register: Callable[[str, Formatter], None]) -> None:
    """Register output formats: call ``register(name, render)`` where ``render(report) -> str``.

    The name becomes a value of ``--format``; names of built-in formats cannot be taken.
    """


@hookspec
def netpolscan_config_schema() -> dict[str, Any] | None:
    """Return the JSON Schema (draft 2020-12) of the plugin's settings, or None when it takes none.

    Users write the settings in ``.netpolscan.yaml`` under ``plugins: {PLUGIN-NAME: {...}}``; netpolscan
    validates them against this schema before the scan (a mismatch stops the run with one line naming the
    file, line and key) and rules read them with ``ctx.plugin_settings(PLUGIN-NAME)``.
    """


@hookspec
def netpolscan_register_policy_kinds(register: Callable[[PolicyKind], None]) -> None:
    """Register policy kinds: call ``register(kind)`` with a :class:`netpolscan.PolicyKind` for each policy
    API the plugin reads (Antrea's, a CNI's, an in-house firewall's).

    A kind says which ``(apiVersion, kind)`` objects it ``handles``, parses and validates them, and builds
    the policies the engine places in its tiers. Each kind has a unique ``name``; two kinds with one name
    fail the load.
    """
