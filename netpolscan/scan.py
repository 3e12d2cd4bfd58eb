"""The scan pipeline: inputs -> documents -> inventory -> rules -> config/baseline -> Report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netpolscan import __version__
from netpolscan.baseline import apply_baseline
from netpolscan.config import Config
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
    config: Config = field(default_factory=Config)
    baseline: set[str] | None = None
    settings: dict[str, Any] = field(
        default_factory=dict
    )  # extra settings for rules (merged over the config's)
    today: dt.date | None = None


def available_rules(blocked_plugins: tuple[str, ...] = ()) -> list[Rule]:
    return collect_rules(plugin_manager(blocked_plugins))


def chosen_rules(options: ScanOptions) -> list[Rule]:
    """Rules after config and command-line selection (the command line adds to the config's lists)."""
    config = options.config
    rules = config.apply_to_rules(available_rules(options.blocked_plugins))
    select = list(options.select) or config.select
    return select_rules(rules, select, [*config.ignore, *options.ignore])


def scan_documents(
    documents: list[Document], options: ScanOptions, rules: Sequence[Rule] | None = None
) -> Report:
    """Analyse already-loaded documents with the selected rules."""
    if rules is None:
        rules = chosen_rules(options)
    inventory = Inventory.from_documents(documents, options.namespace)
    settings: dict[str, Any] = {
        "podCIDRs": options.config.pod_cidrs,
        "serviceCIDRs": options.config.service_cidrs,
    }
    settings.update(options.settings)
    ctx = ScanContext(inventory, settings)
    result = run_rules(ctx, rules, options.today)
    findings = options.config.suppress(result.findings)
    if options.baseline is not None:
        findings = apply_baseline(findings, options.baseline)
    return Report(
        findings=tuple(findings),
        rules=tuple(rules),
        notifications=tuple(result.notifications),
        tool_version=__version__,
        category=options.category,
        inputs=tuple(options.paths),
        show_suppressed=options.show_suppressed,
    )


def scan(options: ScanOptions) -> Report:
    """Scan ``options.paths`` (``-`` = stdin) and return the report."""
    rules = chosen_rules(options)
    return scan_documents(load_documents(list(options.paths)), options, rules)
