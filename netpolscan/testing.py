"""Helpers for rule authors (ours and third parties'): run YAML through the real pipeline, check rule docs.

A rule's documentation (``rules/<ID>-<name>.md`` for the built-in rules) carries fenced ``yaml`` examples
whose ``# expect: <ID>`` markers sit on the lines where findings of that rule must point. Each example is
scanned on its own, as one file; the findings *of the documented rule* must be exactly the markers (findings
of other rules are ignored unless a marker names them). A line ``# netpolscan-options: {namespace: shop}``
in an example sets scan options (``namespace``, ``settings``, ``select``). A rule reported by
``netpolscan diff`` (NPS790) is documented with ``diff-base-omits: [N, ...]``: the example is HEAD, BASE
is the example without its documents N (1-based), and the findings are those of the diff.

A case file (a YAML file of its own, like ``tests/rule_cases/NPS302/*.yaml``) uses the same markers, read by
the same parser; as no doc names its rule, a whole line ``# expect-none: ACME001`` says which rule a near
miss checks. :func:`example_from_text` makes the example of such a text, :func:`check_example` checks it::

    from netpolscan.testing import check_example, check_rule_doc, example_from_text, run_example

    def test_my_rule_doc():
        check_rule_doc("docs/rules/ACME001-my-rule.md")

    def test_my_case_file():
        path = Path("tests/cases/telnet.yaml")
        check_example(example_from_text(path.read_text(), path=path.name))

    def test_my_rule_fires():
        findings = run_example(MANIFEST, ["ACME001"])
        assert [f.location.line for f in findings] == [12]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from netpolscan.config import Config
from netpolscan.plugin_api import Finding
from netpolscan.ruledoc import Example, RuleDoc, parse_example, parse_rule_doc
from netpolscan.scan import ScanOptions, scan_documents
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text
from netpolscan.suppression import parse_until

__all__ = [
    "ExampleResult",
    "check_example",
    "check_rule_doc",
    "example_findings",
    "example_from_text",
    "run_example",
]

EXAMPLE_PATH = "example.yaml"
_OPTION_KEYS = frozenset({"namespace", "settings", "select", "ignore", "today", "diff-base-omits"})
_CIDR_KEYS = ("podCIDRs", "serviceCIDRs")


def _date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    date = parse_until(str(value))
    if date is None:
        raise ValueError(f"example option today: {value!r} is not a YYYY-MM-DD date")
    return date


def _apply_settings(options: ScanOptions, settings: dict[str, Any]) -> None:
    """The ``settings`` example option: cluster CIDRs, expectations files, and plugin settings by name."""
    cidrs = {key: [ip_network(str(v), strict=False) for v in settings.pop(key, ())] for key in _CIDR_KEYS}
    options.config = Config(pod_cidrs=cidrs["podCIDRs"], service_cidrs=cidrs["serviceCIDRs"])
    expectations = settings.pop("expectations", ())
    options.expectations = (expectations,) if isinstance(expectations, str) else tuple(expectations)
    options.plugin_settings = {str(name): dict(value) for name, value in settings.items()}


def run_example(
    text: str,
    rule_ids: Iterable[str] | None = None,
    options: Mapping[str, Any] | None = None,
    path: str = EXAMPLE_PATH,
) -> list[Finding]:
    """Scan YAML/JSON ``text`` as one file named ``path`` and return the active (unsuppressed) findings.

    ``rule_ids`` limits the run to those rules (ids or names; ``None`` runs every available rule).
    ``options`` may set ``namespace`` (the default namespace), ``settings`` (``podCIDRs`` and
    ``serviceCIDRs`` as in the configuration's ``cluster``, ``expectations`` files, and any other key: the
    settings of the plugin of that name, as in the configuration's ``plugins``),
    ``select``/``ignore``, ``today`` (a ``datetime.date`` or ``YYYY-MM-DD``, for suppression expiry) and
    ``diff-base-omits`` (run ``netpolscan diff`` with BASE = ``text`` without those documents, 1-based).
    """
    opts = dict(options or {})
    unknown = set(opts) - _OPTION_KEYS
    if unknown:
        raise ValueError(
            f"unknown example option(s): {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_OPTION_KEYS))})"
        )
    select = list(rule_ids) if rule_ids is not None else list(opts.get("select", ()))
    scan_options = ScanOptions(
        paths=(path,),
        namespace=str(opts.get("namespace", "default")),
        select=select,
        ignore=list(opts.get("ignore", ())),
        today=_date(opts.get("today")),
    )
    _apply_settings(scan_options, dict(opts.get("settings", {})))
    documents = list(parse_text(text, path))
    if "diff-base-omits" in opts:
        return _diff_example(documents, opts["diff-base-omits"], scan_options)
    report = scan_documents(documents, scan_options)
    return list(report.active)


def _diff_example(documents: list[Document], omitted: Any, options: ScanOptions) -> list[Finding]:
    """The findings of ``netpolscan diff`` from ``documents`` without the ``omitted`` ones to all of them."""
    from netpolscan.analysis.diff import diff_rows
    from netpolscan.builtin.diff_findings import diff_findings
    from netpolscan.engine import select_rules
    from netpolscan.model.inventory import Inventory
    from netpolscan.scan import available_kinds, available_rules

    numbers = {int(n) for n in omitted} if isinstance(omitted, list) else {int(omitted)}
    kinds = available_kinds()
    kept = [d for d in documents if d.index + 1 not in numbers]
    base = Inventory.from_documents(kept, options.namespace, kinds)
    head = Inventory.from_documents(documents, options.namespace, kinds)
    wanted = {r.id for r in select_rules(available_rules(), options.select, options.ignore)}
    return [f for f in diff_findings(head, diff_rows(base, head)) if f.rule_id in wanted]


class ExampleResult:
    """The outcome of one example: expected and actual (line, rule id) pairs, and the findings."""

    def __init__(self, example: Example, rule_ids: frozenset[str], findings: Sequence[Finding]):
        self.example = example
        self.rule_ids = rule_ids
        self.findings = list(findings)
        self.expected = sorted(set(example.expected))
        self.actual = sorted({(f.location.line, f.rule_id) for f in self.findings})

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def explain(self, title: str = "example") -> str:
        """A readable account of the mismatch: missing and unexpected findings, with the example's lines."""
        lines = self.example.text.splitlines()
        missing = [pair for pair in self.expected if pair not in self.actual]
        extra = [pair for pair in self.actual if pair not in self.expected]
        out = [f"{title}: findings do not match the `# expect:` markers"]
        out.append(f"  expected: {_pairs(self.expected)}")
        out.append(f"  got:      {_pairs(self.actual)}")
        for line, rule_id in missing:
            out.append(f"  missing  {rule_id} at line {line}: {_source_line(lines, line)}")
        for line, rule_id in extra:
            messages = [f.message for f in self.findings if (f.location.line, f.rule_id) == (line, rule_id)]
            out.append(f"  unexpected {rule_id} at line {line}: {_source_line(lines, line)}")
            for message in messages:
                out.append(f"      message: {message}")
        return "\n".join(out)


def _pairs(pairs: Sequence[tuple[int, str]]) -> str:
    return ", ".join(f"{rule_id}@{line}" for line, rule_id in pairs) or "(none)"


def _source_line(lines: Sequence[str], number: int) -> str:
    if 1 <= number <= len(lines):
        return repr(lines[number - 1].rstrip())
    return "(outside the example)"


def example_from_text(text: str, path: str = "case.yaml") -> Example:
    """The example of YAML ``text`` (a case file's content), to be scanned as one file named ``path``.

    Its ``# expect: ID`` markers, ``# expect-none: ID`` lines and ``# netpolscan-options:`` line are read
    as in a rule doc; a malformed marker raises ``ValueError`` naming ``path`` and the line.
    """
    return parse_example(text, section=path, path=path)


def example_findings(example: Example, rule_id: str | None = None) -> ExampleResult:
    """Scan ``example`` with the rules it checks (plus ``rule_id``, a rule doc's own) and compare.

    The rules checked are ``rule_id`` and every rule a marker names (``# expect:`` or ``# expect-none:``);
    their findings, and only theirs, must be the ``# expect:`` markers. Never raises on a mismatch: see
    :attr:`ExampleResult.ok` and :meth:`ExampleResult.explain`. An example that checks no rule at all
    raises ``ValueError`` (it would pass whatever the rules do).
    """
    checked = example.checked | ({rule_id} if rule_id else set())
    if not checked:
        raise ValueError(
            f"{example.path}: checks no rule: mark a line with `# expect: ID` or add a line `# expect-none: ID`"
        )
    options = {k: v for k, v in example.options.items() if k != "select"}
    findings = run_example(example.text, sorted(checked), options, path=example.path)
    return ExampleResult(example, frozenset(checked), [f for f in findings if f.rule_id in checked])


def check_example(example: Example, rule_id: str | None = None, title: str | None = None) -> ExampleResult:
    """Assert that the findings of the rules ``example`` checks (and of ``rule_id``) equal its markers.

    The ``AssertionError`` lists the missing and unexpected findings with the lines they point at, under
    ``title`` (default: the example's path).
    """
    result = example_findings(example, rule_id)
    if not result.ok:
        raise AssertionError(result.explain(title or example.path))
    return result


def check_rule_doc(path: str | Path | RuleDoc) -> list[ExampleResult]:
    """Assert every YAML example of a rule doc; the error lists every failing example, not only the first."""
    doc = path if isinstance(path, RuleDoc) else parse_rule_doc(Path(path))
    examples = doc.examples()
    if not examples:
        raise AssertionError(f"{doc.path}: no ```yaml examples")
    results: list[ExampleResult] = []
    failures: list[str] = []
    for number, example in enumerate(examples, start=1):
        result = example_findings(example, doc.id)
        results.append(result)
        if not result.ok:
            failures.append(result.explain(f"{doc.path.name} example {number} ({example.section})"))
    if failures:
        raise AssertionError("\n".join(failures))
    return results
