"""Conformance with the np-recipes corpus: 19 scenarios built on the Kubernetes network policy recipes.

Every row of ``EXPECTATIONS.csv`` is one probe; each scenario's ``connlist_pods.txt`` must match exactly.
"""

from __future__ import annotations

import csv
import ipaddress
import os
from pathlib import Path

import pytest

from netpolscan.analysis.connectivity import Endpoint, connectivity
from netpolscan.analysis.connlist import connection_rows
from netpolscan.model import Inventory
from netpolscan.report.connectivity_formats import format_txt
from netpolscan.sources import load_documents

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETPOLSCAN_CORPUS", REPO.parent / "shared" / "corpus"))
RECIPES = CORPUS / "np-recipes"
TABLE = RECIPES / "EXPECTATIONS.csv"

pytestmark = pytest.mark.skipif(not TABLE.is_file(), reason=f"np-recipes corpus not found at {RECIPES}")

ROWS = list(csv.DictReader(TABLE.open())) if TABLE.is_file() else []
SCENARIOS = sorted({row["scenario"] for row in ROWS})


def _inventory(scenario: str) -> Inventory:
    return Inventory.from_documents(
        load_documents([str(RECIPES / "scenarios" / scenario / "manifests.yaml")])
    )


def _endpoint(inventory: Inventory, text: str) -> Endpoint:
    if text.startswith("ip:"):
        return ipaddress.ip_address(text[3:])
    namespace, name = text.split("/")
    for workload in inventory.workloads_in(namespace):
        if workload.name == name:
            return workload
    raise AssertionError(f"no workload {text}")


@pytest.mark.parametrize(
    "row",
    [pytest.param(row, id=f"{row['scenario']}-{row['from']}-{row['to']}-{row['proto_port']}") for row in ROWS]
    or [pytest.param({}, marks=pytest.mark.skip)],
)
def test_expectation(row: dict[str, str]) -> None:
    inventory = _inventory(row["scenario"])
    protocol, port = row["proto_port"].split("/")
    src = _endpoint(inventory, row["from"])
    dst = _endpoint(inventory, row["to"])
    allowed = connectivity(inventory).allowed(src, dst).contains(protocol, int(port))
    assert allowed == (row["expected"] == "allow")


@pytest.mark.parametrize("scenario", SCENARIOS or [pytest.param("none", marks=pytest.mark.skip)])
def test_connlist_pods(scenario: str) -> None:
    rows = [
        row
        for row in connection_rows(_inventory(scenario))
        if not row.src.endswith("[External]") and not row.dst.endswith("[External]")
    ]
    expected = (RECIPES / "scenarios" / scenario / "connlist_pods.txt").read_text()
    assert format_txt(rows).strip() == expected.strip()
