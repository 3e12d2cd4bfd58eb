"""An example netpolscan plugin: the ACME organisation's house rules, a CSV output format, and a policy
kind of its own (``EgressLock``, see egress_lock.py) that netpolscan's engine evaluates like its own.

netpolscan finds this module through the entry point ``acme`` of the ``netpolscan`` group (see
pyproject.toml) and calls the hooks below, each marked with :data:`netpolscan.hookimpl`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netpolscan import Formatter, PolicyKind, Rule, hookimpl
from netpolscan_example_plugin.csv_format import render_csv
from netpolscan_example_plugin.egress_lock import EgressLockKind
from netpolscan_example_plugin.rules import CONFIG_SCHEMA, RULES

__version__ = "0.1.0"


@hookimpl
def netpolscan_register_rules(register: Callable[[Rule], None]) -> None:
    for rule in RULES:
        register(rule)


@hookimpl
def netpolscan_register_formatters(register: Callable[[str, Formatter], None]) -> None:
    register("acme-csv", render_csv)


@hookimpl
def netpolscan_register_policy_kinds(register: Callable[[PolicyKind], None]) -> None:
    register(EgressLockKind())


@hookimpl
def netpolscan_config_schema() -> dict[str, Any] | None:
    """The settings `plugins: {acme: {...}}` of .netpolscan.yaml may hold."""
    return CONFIG_SCHEMA
