"""Conformance with the k8s-e2e corpus: 49 cases restating the upstream NetworkPolicy e2e tests.

Each case: ``connlist_pods.txt`` exactly (pod pairs only), every probe of ``expected.yaml`` (6 protocol/port
combinations x every ordered pod pair) and every ``extra_checks`` probe involving external addresses.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.analysis.connectivity import Endpoint, connectivity
from netpolscan.analysis.connlist import connection_rows
from netpolscan.model import Inventory, Workload
from netpolscan.report.connectivity_formats import format_txt
from netpolscan.sources import load_documents

try:
    from tests.conftest import as_written
except ImportError:  # pragma: no cover - run from inside tests/
    from conftest import as_written  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETPOLSCAN_CORPUS", REPO.parent / "shared" / "corpus"))
CASES = as_written(CORPUS) / "k8s-e2e" / "cases"  # bare y/n quoted: see tests/conftest.py
CASE_IDS = sorted(p.name for p in CASES.iterdir()) if CASES.is_dir() else []

pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason=f"k8s-e2e corpus not found at {CASES}")


def _inventory(case: str) -> Inventory:
    return Inventory.from_documents(load_documents([str(CASES / case / "manifests.yaml")]))


def _expected(case: str) -> dict[str, Any]:
    data = yaml.safe_load((CASES / case / "expected.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _endpoint(inventory: Inventory, text: str) -> Endpoint:
    if text.startswith("ip:"):
        return ipaddress.ip_address(text[3:])
    namespace, name = text.split("/")
    for workload in inventory.workloads_in(namespace):
        if workload.name == name:
            return workload
    raise AssertionError(f"no workload {text}")


@pytest.mark.parametrize("case", CASE_IDS or ["none"])
def test_connlist_pods(case: str) -> None:
    inventory = _inventory(case)
    rows = [row for row in connection_rows(inventory) if not row.src.endswith("[External]")]
    rows = [row for row in rows if not row.dst.endswith("[External]")]
    got = format_txt(rows)
    assert got.strip() == (CASES / case / "connlist_pods.txt").read_text().strip()


@pytest.mark.parametrize("case", CASE_IDS or ["none"])
def test_probes(case: str) -> None:
    inventory = _inventory(case)
    conn = connectivity(inventory)
    expected = _expected(case)
    pods: list[Workload] = [
        w for w in (_endpoint(inventory, p) for p in expected["pods"]) if isinstance(w, Workload)
    ]
    mismatches = []
    for probe in expected["probes"]:
        denied = set(probe.get("denied") or ())
        for src in pods:
            for dst in pods:
                if src is dst:
                    continue
                key = f"{src.namespace}/{src.name} -> {dst.namespace}/{dst.name}"
                allowed = conn.allowed(src, dst).contains(probe["protocol"], probe["port"])
                if allowed == (key in denied):
                    mismatches.append(f"{probe['protocol']}/{probe['port']} {key}: allowed={allowed}")
    assert not mismatches


EXTRA = [
    pytest.param(case, i, id=f"{case}-{i}")
    for case in CASE_IDS
    for i, _ in enumerate(_expected(case).get("extra_checks") or ())
]


@pytest.mark.parametrize(("case", "index"), EXTRA or [pytest.param("none", 0, marks=pytest.mark.skip)])
def test_extra_checks(case: str, index: int) -> None:
    inventory = _inventory(case)
    check = _expected(case)["extra_checks"][index]
    src = _endpoint(inventory, check["src"])
    dst = _endpoint(inventory, check["dst"])
    allowed = connectivity(inventory).allowed(src, dst).contains(check["protocol"], check["port"])
    assert allowed == (check["expect"] == "allow"), check["why"]
