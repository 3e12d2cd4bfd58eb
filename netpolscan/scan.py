"""The scan pipeline: inputs -> documents -> inventory -> rules -> Report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan import __version__
from netpolscan.context import ScanContext
from netpolscan.engine import run_rules, select_rules
from netpolscan.findings import Report, Rule
from netpolscan.model.inventory import Inventory
from netpolscan.plugins import collect_rules, plugin_manager
from netpolscan.sources import load_documents
from netpolscan.sources.document import Document


@dataclass
class ScanOptions:
    paths: Sequence[str] = ("-",)
    namespace: str = "default"
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    category: str | None = None
    show_suppressed: bool = False
    blocked_plugins: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    today: dt.date | None = None


def available_rules(blocked_plugins: tuple[str, ...] = ()) -> list[Rule]:
    return collect_rules(plugin_manager(blocked_plugins))


def scan_documents(documents: list[Document], options: ScanOptions, rules: Sequence[Rule] | None = None) -> Report:
    """Analyse already-loaded documents with the selected rules."""
    if rules is None:
        rules = select_rules(available_rules(options.blocked_plugins), options.select, options.ignore)
    inventory = Inventory.from_documents(documents, options.namespace)
    ctx = ScanContext(inventory, options.settings)
    result = run_rules(ctx, rules, options.today)
    return Report(
        findings=tuple(result.findings),
        rules=tuple(rules),
        notifications=tuple(result.notifications),
        tool_version=__version__,
        category=options.category,
        inputs=tuple(options.paths),
        show_suppressed=options.show_suppressed,
    )


def scan(options: ScanOptions) -> Report:
    """Scan ``options.paths`` (``-`` = stdin) and return the report."""
    rules = select_rules(available_rules(options.blocked_plugins), options.select, options.ignore)
    return scan_documents(load_documents(list(options.paths)), options, rules)
