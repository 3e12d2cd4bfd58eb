"""Conformance with netpol-analyzer's expected outputs (rows of its INDEX.csv with core_netpol_only).

Connectivity lists (txt exactly, and the csv/md/json/dot siblings) and the diff outputs; outputs are
compared after trimming surrounding whitespace, as netpol-analyzer's own tests do.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from netpolscan.analysis.connlist import connection_rows
from netpolscan.analysis.diff import diff_rows
from netpolscan.model import Inventory
from netpolscan.report.connectivity import format_connlist, format_diff
from netpolscan.sources import load_documents

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETPOLSCAN_CORPUS", REPO.parent / "shared" / "corpus"))
NPA = CORPUS / "netpol-analyzer"
INDEX = NPA / "INDEX.csv"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason=f"netpol-analyzer corpus not found at {NPA}")

ROWS = (
    [row for row in csv.DictReader(INDEX.open()) if row["core_netpol_only"] == "True"]
    if INDEX.is_file()
    else []
)
PLAIN = ("focus_workload_peers", "focus_direction", "focus_conn", "explain_only")

# Cases where the expected output is, per the Kubernetes API, not what the policies allow.
XFAIL: dict[str, str] = {}


def _id(row: dict[str, str]) -> str:
    return Path(row["expected_output"]).name


def _param(row: dict[str, str]) -> object:
    reason = XFAIL.get(_id(row))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(row, id=_id(row), marks=marks)


CONNLIST = [
    _param(row)
    for row in ROWS
    if row["kind"] == "connlist" and row["exposure"] == "False" and not any(row[key] for key in PLAIN)
]


def _inventory(test_dir: str) -> Inventory:
    return Inventory.from_documents(load_documents([str(NPA / test_dir)]))


@pytest.mark.parametrize("row", CONNLIST or [pytest.param({}, marks=pytest.mark.skip)])
def test_connlist(row: dict[str, str]) -> None:
    rows = connection_rows(_inventory(row["test_dir"]), row["focus_workloads"] or None)
    got = format_connlist(rows, row["format"])
    assert got.strip() == (NPA / row["expected_output"]).read_text().strip()


DIFF = [_param(row) for row in ROWS if row["kind"] == "diff" and not any(row[key] for key in PLAIN)]


@pytest.mark.parametrize("row", DIFF or [pytest.param({}, marks=pytest.mark.skip)])
def test_diff(row: dict[str, str]) -> None:
    base_dir, head_dir = (part.strip() for part in row["test_dir"].split("->"))
    rows = diff_rows(_inventory(base_dir), _inventory(head_dir))
    got = format_diff(rows, row["format"])
    assert got.strip() == (NPA / row["expected_output"]).read_text().strip()
