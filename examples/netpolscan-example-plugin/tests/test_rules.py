"""The ACME rules, tested the way netpolscan tests its own: the `# expect:` markers of each rule's doc and
of the case files in tests/cases (one YAML file per case; `# expect-none: ACME102` for a near miss)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netpolscan.testing import check_example, check_rule_doc, example_from_text, run_example

DOCS = sorted((Path(__file__).resolve().parent.parent / "docs" / "rules").glob("ACME*.md"))
CASES = sorted((Path(__file__).resolve().parent / "cases").glob("*.yaml"))


@pytest.mark.parametrize("doc", DOCS, ids=[path.stem.split("-")[0] for path in DOCS])
def test_rule_doc_examples(doc: Path) -> None:
    check_rule_doc(doc)


@pytest.mark.parametrize("case", CASES, ids=[path.name for path in CASES])
def test_case_file(case: Path) -> None:
    check_example(example_from_text(case.read_text(encoding="utf-8"), path=case.name))


def test_banned_ports_come_from_the_config_settings() -> None:
    manifest = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
  labels: {owner: team-data}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 5432
    - port: 23
"""
    settings = {"acme": {"banned-ports": ["TCP/5432"]}}
    findings = run_example(manifest, ["ACME102"], {"settings": settings})
    assert [(f.rule_id, f.location.line) for f in findings] == [("ACME102", 10)]
    assert "TCP 5432" in findings[0].message
