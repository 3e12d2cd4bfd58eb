"""The built-in checks by rule id; their metadata comes from the rule docs in ``rules/``."""

from __future__ import annotations

from collections.abc import Callable

from netpolscan.plugin_api import CheckFunction

CHECKS: dict[str, CheckFunction] = {}


def check(rule_id: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: the function that checks rule ``rule_id``."""

    def decorate(function: CheckFunction) -> CheckFunction:
        if rule_id in CHECKS:
            raise ValueError(f"two checks for {rule_id}")
        CHECKS[rule_id] = function
        return function

    return decorate
