"""Conformance with the Cilium corpus: every row of ``cases/*/expected.csv`` (28 cases, 116 verdicts) is one
probe through the tiered engine, with every built-in policy kind (see ``PROBES.md`` of the corpus for the
fixture and the probe vocabulary, and ``tests/cilium_probes.py`` for how ``host:NODE`` is probed).

A verdict that needs a DNS answer (``toFQDNs``, case b33) is checked by its rule instead: the destination
is the named endpoint ``fqdn:NAME`` of the corpus's DNS fixture.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

from netpolscan.model import Inventory
from netpolscan.testing import run_example
from tests.cilium_probes import inventory_of, verdict
from tests.conftest import corpus_path, require_corpus

CASES = "cilium", "cases"
# PROBES.md, "DNS fixture": the names behind the addresses of the toFQDNs cases
DNS_FIXTURE = {"203.0.113.10": "api.example.com", "203.0.113.11": "other.example.com"}
DNS_CASES = ("b33-tofqdns-with-dns-proxy-rule",)


def _rows() -> list[object]:
    root = corpus_path()
    cases = root.joinpath(*CASES) if root is not None else None
    if cases is None or not cases.is_dir():
        return [pytest.param("", {}, id="corpus-missing")]
    params: list[object] = []
    for case in sorted(p for p in cases.iterdir() if p.is_dir()):
        with (case / "expected.csv").open(encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=1):
                params.append(pytest.param(case.name, row, id=f"{case.name[:3]}-{number}"))
    return params


@cache
def _inventory(case: str) -> Inventory:
    path = require_corpus(*CASES, case, "manifests.yaml")
    return inventory_of(path.read_text(encoding="utf-8"), str(path))


def test_corpus_size() -> None:
    cases = require_corpus(*CASES)
    index = require_corpus("cilium", "INDEX.csv")
    with index.open(encoding="utf-8") as handle:
        listed = {row["case"]: int(row["rows"]) for row in csv.DictReader(handle)}
    found = {p.name for p in Path(cases).iterdir() if p.is_dir()}
    assert set(listed) == found
    assert (len(listed), sum(listed.values())) == (28, 116)


@pytest.mark.parametrize(("case", "row"), _rows())
def test_case_row(case: str, row: dict[str, str]) -> None:
    if not case:
        require_corpus(*CASES)
    inventory = _inventory(case)
    destination = row["to"]
    address = destination.removeprefix("external:")
    if case in DNS_CASES and address in DNS_FIXTURE:
        destination = f"fqdn:{DNS_FIXTURE[address]}"
    found = verdict(inventory, row["from"], destination, int(row["port"]), row["protocol"])
    assert found == row["expect"], f"{case}: {row['from']} -> {row['to']} {row['port']}/{row['protocol']}"


def test_every_policy_of_the_cases_is_valid() -> None:
    cases = require_corpus(*CASES)
    for case in sorted(p.name for p in Path(cases).iterdir() if p.is_dir()):
        parsed = _inventory(case).parsed
        assert not parsed.invalid and not parsed.unparseable, case


def test_the_fqdn_case_is_checked_by_its_rule() -> None:
    """b33's domain name resolves only through the DNS proxy rule: NPS805 holds; without the rule's
    `rules: dns` section, or with DNS denied, it fires on the toFQDNs rule."""
    text = require_corpus(*CASES, DNS_CASES[0], "manifests.yaml").read_text(encoding="utf-8")
    assert [f.rule_id for f in run_example(text, ["NPS805"])] == []
    without_proxy = text.replace('      rules:\n        dns:\n        - matchPattern: "*"\n', "")
    assert without_proxy != text
    assert [f.rule_id for f in run_example(without_proxy, ["NPS805"])] == ["NPS805"]
    no_dns = (
        text
        + "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: no-dns, namespace: prod}\n"
        + "spec:\n  endpointSelector: {matchLabels: {role: frontend}}\n"
        + "  egressDeny:\n  - toPorts: [{ports: [{port: '53', protocol: UDP}]}]\n"
    )
    (finding,) = run_example(no_dns, ["NPS805"])
    assert "may not reach DNS (53/UDP) at all" in finding.message
