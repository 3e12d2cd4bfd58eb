"""Conformance with kubernetes-sigs/network-policy-api's suite, restated as verdict tables in the corpus.

``network-policy-api/cases/<api>/<case>/manifests.yaml`` holds Nodes, Namespaces, Pods and exactly the
policies in force (ClusterNetworkPolicy v1alpha2, or AdminNetworkPolicy/BaselineAdminNetworkPolicy
v1alpha1, with NetworkPolicies where a test adds them); ``expected.csv`` one probe per row
(``from,to,port,protocol,expect``). Every verdict must hold through the whole map (``allowed``) and
through ``explain`` (the per-direction decisions, which must agree with the map).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.explain import explain
from netpolscan.model import Inventory, Workload
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources import load_documents

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETPOLSCAN_CORPUS", REPO.parent / "shared" / "corpus"))
CASES = CORPUS / "network-policy-api" / "cases"
CASE_IDS = (
    sorted(f"{api.name}/{case.name}" for api in CASES.iterdir() for case in api.iterdir())
    if (CASES.is_dir())
    else []
)

pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason=f"network-policy-api corpus not found at {CASES}")


def _inventory(case: str) -> Inventory:
    return Inventory.from_documents(
        load_documents([str(CASES / case / "manifests.yaml")]), kinds=builtin_kinds()
    )


def _rows(case: str) -> list[dict[str, str]]:
    with (CASES / case / "expected.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def _workload(inventory: Inventory, text: str) -> Workload:
    namespace, _, name = text.partition("/")
    for workload in inventory.workloads_in(namespace):
        if workload.name == name:
            return workload
    raise AssertionError(f"no workload {text} in the case")


def test_the_suite_is_all_there() -> None:
    assert len(CASE_IDS) == 102
    assert sum(len(_rows(case)) for case in CASE_IDS) == 449


@pytest.mark.parametrize("case", CASE_IDS or ["none"])
def test_case_verdicts(case: str) -> None:
    inventory = _inventory(case)
    assert not inventory.parsed.unparseable
    assert not inventory.parsed.invalid, inventory.parsed.invalid
    cluster_kinds = ("ClusterNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
    written = [
        d for d in inventory.documents if isinstance(d.data, dict) and d.data.get("kind") in cluster_kinds
    ]
    assert len(inventory.tier_policies) == len(written) > 0  # every cluster policy is evaluated
    conn = connectivity(inventory)
    wrong = []
    for row in _rows(case):
        src, dst = _workload(inventory, row["from"]), _workload(inventory, row["to"])
        protocol, port = row["protocol"], int(row["port"])
        expected = row["expect"] == "allow"
        by_map = conn.allowed(src, dst).contains(protocol, port)
        by_explain = explain(inventory, src, dst, (protocol, port)).port_allowed
        if by_map != expected or by_explain != expected:
            wrong.append(f"{row['from']} -> {row['to']} {port}/{protocol}: expected {row['expect']}, "
                         f"map says {by_map}, explain says {by_explain}")  # fmt: skip
    assert not wrong, "\n".join(wrong)
