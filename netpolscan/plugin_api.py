"""The vocabulary shared by rules, the engine and formatters: severities, rules, violations, findings."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netpolscan.model.objects import ObjectRef
from netpolscan.sources.document import Location

if TYPE_CHECKING:
    from netpolscan.context import ScanContext
    from netpolscan.model.inventory import Inventory
    from netpolscan.sources.document import Document, Pointer

__all__ = [
    "CheckFunction",
    "Edit",
    "Finding",
    "FindingFix",
    "Fix",
    "Formatter",
    "Location",  # defined in netpolscan.sources.document; imported from here before
    "Notification",
    "ObjectRef",  # defined in netpolscan.model.objects; imported from here before
    "Replacement",
    "Report",
    "Rule",
    "Severity",
    "Suppression",
    "Violation",
]


class Severity(enum.Enum):
    """A finding's level, as in SARIF."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "note": 1}[self.value]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            raise ValueError(f"unknown level {value!r} (expected error, warning or note)") from None


@dataclass(frozen=True)
class Edit:
    """One change of a :class:`Fix`: add ``value`` to the list or mapping at ``pointer`` of ``document``.

    To a list, ``value`` is appended as one item; to a mapping, ``value`` is a mapping whose keys (absent
    there) are added. The engine turns it into a minimal text insertion in the document's file, in the
    style of its surroundings (block or flow, indentation, line endings); when that cannot be done safely
    (anchors, merge keys, a null where a collection should be), the finding has no fix.
    """

    document: Document
    pointer: Pointer
    value: Any


@dataclass(frozen=True)
class Fix:
    """A local edit that makes a violation go away: what it does (``description``) and its edits."""

    description: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Replacement:
    """One text change of a located fix: ``text`` inserted at character ``offset`` of the file ``path``
    (a display path, as in locations); ``line``/``column`` (1-based, the column in UTF-16 code units) say
    where. Nothing is deleted: the fixes built from :class:`Edit` only insert."""

    path: str
    offset: int
    line: int
    column: int
    text: str


@dataclass(frozen=True)
class FindingFix:
    """A finding's fix as text changes of the scanned file. ``source`` is set when the edited document
    was rendered (from a Helm template or a Kustomize source): the change belongs there, by hand."""

    description: str
    replacements: tuple[Replacement, ...]
    source: Location | None = None


@dataclass(frozen=True)
class Violation:
    """What a rule yields: a message about an object (or a bare document) and the field it is about."""

    message: str
    document: Document
    pointer: Pointer = ()
    obj: ObjectRef | None = None
    key: str = ""  # distinguishes several violations of one rule on one field, for fingerprints
    line: int | None = None  # explicit position, for documents without marks (NPS001)
    column: int | None = None
    location: Location | None = None  # explicit location outside the scanned input (e.g. a config file)
    related: tuple[tuple[str, Document, Pointer], ...] = ()  # other places it is about: (label, doc, field)
    level: Severity | None = None  # a milder case of the rule: the finding's level is at most this
    fix: Fix | None = None  # a local edit that removes it (see docs/plugins.md, "Fixes")


CheckFunction = Callable[["ScanContext"], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A rule: its public contract (id, name, level, docs) and the function that checks it."""

    id: str
    name: str
    level: Severity
    check: CheckFunction
    summary: str
    description: str = ""
    help_markdown: str = ""
    remediation: str = ""
    security_severity: str | None = None
    tags: tuple[str, ...] = ()
    precision: str = "high"
    plugin: str = ""
    help_uri: str | None = None


@dataclass(frozen=True)
class Suppression:
    """Why a finding is suppressed: an in-source annotation (or config/baseline)."""

    kind: str  # "inSource" | "external"
    justification: str = ""


@dataclass(frozen=True)
class Finding:
    """A violation with its rule's metadata, its resolved location and its stable fingerprint."""

    rule_id: str
    rule_name: str
    level: Severity
    message: str
    location: Location
    obj: ObjectRef | None = None
    fingerprint: str = ""
    suppression: Suppression | None = None
    baseline_state: str | None = None  # "new" | "unchanged" when a baseline was given
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    related: tuple[tuple[str, Location], ...] = field(default=(), compare=False)  # (label, location)
    fix: FindingFix | None = field(default=None, compare=False)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.location.path, self.location.line, self.location.column, self.rule_id, self.message)


@dataclass(frozen=True)
class Notification:
    """A problem of the tool itself during a run (a rule that raised), reported beside the findings."""

    message: str
    rule_id: str | None = None
    level: Severity = Severity.ERROR


@dataclass(frozen=True)
class Report:
    """Everything a formatter needs: sorted findings, the rules that ran, tool notifications."""

    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...]
    notifications: tuple[Notification, ...] = ()
    tool_version: str = ""
    category: str | None = None  # SARIF automationDetails.id
    inputs: tuple[str, ...] = ()  # display paths of the scanned inputs
    show_suppressed: bool = False
    # the analysed inventory (None when several renderings were analysed): for views that draw the cluster
    inventory: Inventory | None = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings that are neither suppressed nor already recorded in the baseline."""
        return tuple(f for f in self.findings if f.suppression is None and f.baseline_state != "unchanged")


Formatter = Callable[[Report], str]
