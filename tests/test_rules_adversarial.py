"""Adversarial cases for the built-in rules, one YAML file each: tests/rule_cases/<rule id>/<case>.yaml.

Positives a naive rule misses, near misses it flags. A case is a file as a user would scan it, with the
markers of the rule docs (`# expect: ID` on the lines findings must point at, `# expect-none: ID` for a rule
that must not fire); tests/rule_cases/README.md describes the format. The same public helpers
(`netpolscan.testing.example_from_text` and `check_example`) serve plugin authors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netpolscan.scan import available_rules
from netpolscan.testing import check_example, example_findings, example_from_text

REPO = Path(__file__).resolve().parent.parent
CASES_DIR = Path(__file__).resolve().parent / "rule_cases"
CASE_FILES = sorted(CASES_DIR.glob("*/*.yaml"))


def _case_id(path: Path) -> str:
    return path.relative_to(CASES_DIR).as_posix()


@pytest.mark.parametrize("path", CASE_FILES, ids=[_case_id(p) for p in CASE_FILES])
def test_rule_case(path: Path) -> None:
    rule_id = path.parent.name
    example = example_from_text(path.read_text(encoding="utf-8"), path=path.name)
    assert rule_id in example.checked, (
        f"{_case_id(path)}: a case of {rule_id} marks a line `# expect: {rule_id}` or says `# expect-none: {rule_id}`"
    )
    check_example(example, title=str(path.relative_to(REPO)))


def test_every_file_under_rule_cases_is_a_case() -> None:
    """A misplaced or misnamed file would silently not run: only README.md and <rule id>/<name>.yaml."""
    rule_ids = {rule.id for rule in available_rules()}
    stray = [
        _case_id(p)
        for p in CASES_DIR.rglob("*")
        if p.is_file()
        and p.name != "README.md"
        and not (p.suffix == ".yaml" and p.parent.parent == CASES_DIR and p.parent.name in rule_ids)
    ]
    assert not stray, f"not <rule id>/<name>.yaml under tests/rule_cases: {stray}"
    assert len(CASE_FILES) >= 159, "the adversarial cases moved from Python strings numbered 159"


def test_every_case_says_why_it_is_adversarial() -> None:
    """A case starts with a comment saying what a naive rule gets wrong (markers and options aside)."""
    unexplained = []
    for path in CASE_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        if not re.match(r"^# (?!expect|netpolscan-options|Source:)\S", first):
            unexplained.append(_case_id(path))
    assert not unexplained, f"case files without an explaining first comment: {unexplained}"


# --- the case format itself: malformed files fail loudly, a mismatch is explained ---------------------

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - {}
"""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(POLICY + "  # expect NPS301\n", r"bad\.yaml line 9: malformed marker", id="no-colon"),
        pytest.param(POLICY.replace("- {}", "- {}  # expect: nps301"), "line 8: malformed", id="lower-case"),
        pytest.param(
            POLICY.replace("- {}", "- {}  # expect: NPS301 on the rule"), "line 8", id="trailing-text"
        ),
        pytest.param(
            POLICY.replace("- {}", "- {}  # expect-none: NPS303"), "line 8", id="expect-none-inline"
        ),
        pytest.param("# expect-nothing: NPS301\n" + POLICY, "line 1: malformed marker", id="unknown-marker"),
        pytest.param("# expect-none NPS3\n" + POLICY, "line 1: malformed marker", id="none-without-colon"),
        pytest.param(
            "# netpolscan-option: {namespace: a}\n" + POLICY, "line 1: malformed options", id="options"
        ),
        pytest.param(
            "# expect-none: NPS301\n" + POLICY.replace("- {}", "- {}  # expect: NPS301"),
            "NPS301 both expected",
            id="contradiction",
        ),
    ],
)
def test_malformed_markers_raise_naming_the_line(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        example_from_text(text, path="bad.yaml")


def test_comments_that_merely_mention_expectations_are_prose() -> None:
    text = (
        "# expect traffic from the web tier only; expectations live elsewhere\n# expect-none: NPS303\n"
        + POLICY
    )
    example = example_from_text(text.replace("- {}", "- {}  # expect: NPS301"), path="prose.yaml")
    assert example.expected == ((10, "NPS301"),) and example.expect_none == ("NPS303",)
    assert example.checked == {"NPS301", "NPS303"}


def test_a_case_that_checks_no_rule_raises() -> None:
    example = example_from_text(POLICY, path="nothing.yaml")
    with pytest.raises(ValueError, match="nothing.yaml: checks no rule"):
        check_example(example)


def test_a_case_naming_an_unknown_rule_raises() -> None:
    example = example_from_text("# expect-none: NPS999\n" + POLICY, path="unknown.yaml")
    with pytest.raises(Exception, match="unknown rule 'NPS999'"):
        check_example(example)


def test_expect_none_checks_the_rule_and_a_mismatch_is_explained() -> None:
    example = example_from_text("# expect-none: NPS301\n" + POLICY, path="near-miss.yaml")
    assert example.checked == {"NPS301"} and example.expected == ()
    result = example_findings(example)
    assert not result.ok and result.actual == [(9, "NPS301")]
    assert [f.location.path for f in result.findings] == ["near-miss.yaml"]
    explained = result.explain("near-miss.yaml")
    assert "expected: (none)" in explained
    assert "unexpected NPS301 at line 9: '  - {}'" in explained
    with pytest.raises(AssertionError, match="near-miss.yaml: findings do not match"):
        check_example(example)
    fixed = example_from_text(POLICY.replace("- {}", "- {}  # expect: NPS301"), path="positive.yaml")
    assert check_example(fixed).actual == [(8, "NPS301")]
