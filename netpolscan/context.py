"""What a rule sees: the inventory, the shared analyses and the scan's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netpolscan.analysis.selection import Selection, selection
from netpolscan.model.inventory import Inventory
from netpolscan.sources.document import Document


@dataclass
class ScanContext:
    """Passed to every rule's ``check``. Analyses are computed on first use and shared by all rules."""

    inventory: Inventory
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def documents(self) -> list[Document]:
        return self.inventory.documents

    @property
    def selection(self) -> Selection:
        return selection(self.inventory)
