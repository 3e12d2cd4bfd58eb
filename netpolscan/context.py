"""What a rule sees: the inventory, the shared analyses and the scan's settings."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netpolscan.analysis.selection import Selection, selection
from netpolscan.model.inventory import Inventory
from netpolscan.sources.document import Document

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class ScanContext:
    """Passed to every rule's ``check``. Analyses are computed on first use and shared by all rules.

    The built-in settings are typed fields; a plugin reads its own section of the configuration file
    (``plugins: {NAME: {...}}``) with :meth:`plugin_settings`.
    """

    inventory: Inventory
    today: dt.date = field(default_factory=dt.date.today)  # for suppression expiry (NPS901)
    pod_cidrs: tuple[IPNetwork, ...] = ()  # cluster.podCIDRs of the configuration
    service_cidrs: tuple[IPNetwork, ...] = ()  # cluster.serviceCIDRs of the configuration
    expectations: tuple[str, ...] = ()  # connectivity expectations files (--expectations)
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # plugin name -> settings

    @property
    def documents(self) -> list[Document]:
        return self.inventory.documents

    @property
    def selection(self) -> Selection:
        return selection(self.inventory)

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """The settings of plugin ``name`` (its section of ``plugins:``; empty when there is none),
        already validated against the schema the plugin gives through ``netpolscan_config_schema``."""
        return self.plugins.get(name, {})
