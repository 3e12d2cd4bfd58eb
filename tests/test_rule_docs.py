"""The rule docs in rules/: every YAML example runs, front matter matches the catalog, the index is fresh."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netpolscan.builtin.registry import CHECKS
from netpolscan.cli import rules_markdown
from netpolscan.ruledoc import SECTIONS, Example, RuleDoc, parse_rule_doc
from netpolscan.scan import available_rules
from netpolscan.testing import check_example, check_rule_doc, run_example

REPO = Path(__file__).resolve().parent.parent
RULES_DIR = REPO / "rules"
CATALOG = REPO.parent / "shared" / "rule-catalog.md"
README = RULES_DIR / "README.md"
README_HEADER = "# netpolscan built-in rules"
REGENERATE = f"(echo '{README_HEADER}'; echo; netpolscan rules --format markdown) > rules/README.md"

# Rule ids added after the catalog (../shared/rule-catalog.md, read-only here) was written, with the reason
ADDITIONS = {
    "NPS790": "issue 14: `diff --format sarif` reports it, so `rules` and the docs list it",
    "NPS007": "issue 14: an object defined twice in one input (repository scans) is reported and modelled once",
}
DOC_PATHS = sorted(p for p in RULES_DIR.glob("*.md") if re.match(r"^[A-Z]{2,4}\d{3}-", p.name))
DOCS: dict[str, RuleDoc] = {p.name: parse_rule_doc(p) for p in DOC_PATHS}


def _example_cases() -> list[object]:
    cases: list[object] = []
    for doc in DOCS.values():
        for number, example in enumerate(doc.examples(), start=1):
            cases.append(pytest.param(doc, example, id=f"{doc.id}-example-{number}"))
    return cases


@pytest.mark.parametrize(("doc", "example"), _example_cases())
def test_example_markers(doc: RuleDoc, example: Example) -> None:
    check_example(example, doc.id, title=f"{doc.path.name} ({example.section})")


@pytest.mark.parametrize("path", DOC_PATHS, ids=[p.stem.split("-")[0] for p in DOC_PATHS])
def test_doc_structure(path: Path) -> None:
    doc = DOCS[path.name]
    assert path.name == f"{doc.id}-{doc.name}.md", "the file name must be <id>-<name>.md"
    for key in ("id", "name", "level", "security-severity", "tags", "summary", "remediation"):
        assert key in doc.meta, f"{path.name}: front matter lacks {key!r}"
    assert doc.meta["level"] in ("error", "warning", "note")
    tags = doc.meta["tags"]
    assert isinstance(tags, list) and tags, f"{path.name}: tags must be a non-empty list"
    severity = str(doc.meta["security-severity"])
    if severity != "-":
        assert "security" in tags, f"{path.name}: a rule with a security-severity is tagged `security`"
        assert 0.1 <= float(severity) <= 10.0
    assert "|" not in str(doc.meta["summary"]), "the summary goes into a Markdown table"
    missing = [s for s in SECTIONS if s not in doc.sections]
    assert not missing, f"{path.name}: sections missing: {missing}"
    for section in SECTIONS:
        assert doc.sections[section].strip(), f"{path.name}: section {section!r} is empty"


@pytest.mark.parametrize("path", DOC_PATHS, ids=[p.stem.split("-")[0] for p in DOC_PATHS])
def test_doc_fires_and_has_a_near_miss(path: Path) -> None:
    doc = DOCS[path.name]
    examples = doc.examples()
    firing = [e for e in examples if any(rule_id == doc.id for _, rule_id in e.expected)]
    near_misses = [e for e in examples if all(rule_id != doc.id for _, rule_id in e.expected)]
    assert firing, f"{path.name}: no example with a `# expect: {doc.id}` marker"
    assert near_misses, f"{path.name}: no near miss (an example where {doc.id} must not fire)"
    assert any(e.section == "Use instead" for e in near_misses), f"{path.name}: `Use instead` must not fire"


def test_check_rule_doc_returns_every_example() -> None:
    path = RULES_DIR / "NPS301-egress-to-anywhere.md"
    results = check_rule_doc(path)
    assert len(results) == len(parse_rule_doc(path).examples())
    assert all(r.ok for r in results)
    assert any(r.actual for r in results) and any(not r.actual for r in results)


def test_every_builtin_check_has_a_doc() -> None:
    documented = {doc.id for doc in DOCS.values()}
    missing = sorted(set(CHECKS) - documented)
    assert not missing, f"checks without rules/<ID>-<name>.md (so never registered): {missing}"
    registered = {r.id for r in available_rules() if r.plugin == "builtin"}
    assert registered == set(CHECKS)
    orphans = sorted(documented - set(CHECKS))
    assert not orphans, f"rule docs without an implementation in netpolscan/builtin: {orphans}"


def _catalog() -> dict[str, dict[str, str]]:
    if not CATALOG.is_file():
        pytest.skip(f"rule catalog not found at {CATALOG} (it lives in the shared workspace, not the repo)")
    rows: dict[str, dict[str, str]] = {}
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"NPS\d{3}", cells[0]):
            rows[cells[0]] = {"name": cells[1], "level": cells[2], "sec": cells[3]}
    return rows


@pytest.mark.parametrize("path", DOC_PATHS, ids=[p.stem.split("-")[0] for p in DOC_PATHS])
def test_front_matter_matches_catalog(path: Path) -> None:
    catalog = _catalog()
    doc = DOCS[path.name]
    if doc.id in ADDITIONS and doc.id not in catalog:
        return  # proposed beyond the (read-only) catalog; test_additions_are_listed covers it
    assert doc.id in catalog, f"{doc.id} is not in the rule catalog"
    row = catalog[doc.id]
    assert doc.name == row["name"]
    assert doc.meta["level"] == row["level"]
    assert str(doc.meta["security-severity"]) == row["sec"]


def test_additions_are_listed() -> None:
    """Rules added beyond the catalog are public contracts too: `netpolscan rules` and the README list them."""
    listed = {r.id: r for r in available_rules()}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for rule_id, reason in ADDITIONS.items():
        assert reason and rule_id in listed and listed[rule_id].plugin == "builtin"
        assert f"| {rule_id} | {listed[rule_id].name} | {listed[rule_id].level.value} |" in readme


def test_rules_index_is_current() -> None:
    builtin = [r for r in available_rules() if r.plugin == "builtin"]
    expected = f"{README_HEADER}\n\n{rules_markdown(builtin)}"
    actual = README.read_text(encoding="utf-8") if README.is_file() else ""
    assert actual == expected, f"rules/README.md is stale; regenerate it with:\n  {REGENERATE}"


def test_run_example_reports_lines_and_ignores_other_rules() -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open\nspec:\n"
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - {}\n"
    )
    findings = run_example(text, ["NPS301"])
    assert [(f.rule_id, f.location.line) for f in findings] == [("NPS301", 9)]
    assert findings[0].location.path == "example.yaml"


def test_check_example_explains_a_mismatch() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
    example = Example("Example", text, ((3, "NPS101"),), {})
    with pytest.raises(AssertionError) as raised:
        check_example(example, "NPS101", title="demo")
    message = str(raised.value)
    assert "expected: NPS101@3" in message and "got:      NPS101@1" in message
    assert "missing  NPS101 at line 3: 'metadata:'" in message
    assert "unexpected NPS101 at line 1: 'apiVersion: v1'" in message


def test_run_example_rejects_unknown_options() -> None:
    with pytest.raises(ValueError, match="unknown example option"):
        run_example("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", ["NPS101"], {"namespaces": "x"})


def test_every_rule_has_actionable_help_and_a_remediation_sentence() -> None:
    from netpolscan.scan import available_rules

    for rule in available_rules():
        assert rule.remediation.strip().endswith("."), f"{rule.id}: remediation must end with a full stop"
        assert rule.summary.strip() and rule.help_markdown.strip(), f"{rule.id}: summary and help text"
        assert "## Use instead" in rule.help_markdown, f"{rule.id}: help says what to do instead"


def test_readme_rule_table_lists_every_builtin_rule() -> None:
    import re

    from netpolscan.scan import available_rules

    text = (RULES_DIR.parent / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| (NPS\d{3}) \| ([a-z0-9-]+) \| (error|warning|note) \|$", text, re.M))
    expected = {(r.id, r.name, r.level.value) for r in available_rules() if r.plugin == "builtin"}
    assert table == expected, f"README.md's rule table is stale: missing {sorted(expected - table)}"
