"""Conformance with netpol-analyzer's expected outputs: every row of its INDEX.csv.

Each row runs through the command line as a user would (``connectivity`` with netpol-analyzer's options,
or ``diff``) and its output is compared with the expected file after trimming surrounding whitespace, as
netpol-analyzer's own tests do. ``tests/fixtures/netpol_analyzer_status.csv`` states, per row, whether it
passes today (``pass``), runs but does not match yet (``fail``) or is not run (``skip``), with the reason.
A row whose result differs from the table fails the test either way, so progress is visible: when a row
starts passing, regenerate the table (``python tests/test_conformance_netpol_analyzer.py``) and commit it.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETPOLSCAN_CORPUS", REPO.parent / "shared" / "corpus"))
NPA = CORPUS / "netpol-analyzer"
INDEX = NPA / "INDEX.csv"
STATUS = Path(__file__).resolve().parent / "fixtures" / "netpol_analyzer_status.csv"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason=f"netpol-analyzer corpus not found at {NPA}")

# Why a row is not run, by feature (the first that applies wins).
NOT_RUN = {
    "multiple_networks": "multiple networks (UDN/CUDN/NAD/MultiNetworkPolicy/VM): not supported yet (NPS006)",
}
# Why a row that runs is not expected to pass yet, by feature (the lead flips these as the engine grows).
WAITING = {
    "ANP": "ANP: waiting for tier engine",
    "BANP": "BANP: waiting for tier engine",
}


# Rows that run but differ for a reason of their own (by expected-output name without the extension).
ROW_REASONS = {
    "exposure_test_with_anp_14_exposure_output": (
        "ANP exposure: netpol-analyzer leaves out the workloads no policy selects when the input holds "
        "cluster policies but no NetworkPolicy (not modelled)"
    ),
    "exposure_test_with_anp_4_entire_cluster_example_explain_exposure_output": (
        "explain: netpol-analyzer's output drops the egress denial of one region (a quirk of its printer, "
        "not API semantics)"
    ),
}


def _id(row: dict[str, str]) -> str:
    return Path(row["expected_output"]).name


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(INDEX.open())) if INDEX.is_file() else []


def _table() -> dict[str, tuple[str, str]]:
    if not STATUS.is_file():
        return {}
    return {row["expected_output"]: (row["status"], row["reason"]) for row in csv.DictReader(STATUS.open())}


def not_run_reason(row: dict[str, str]) -> str | None:
    """Why the row is not run (None: it runs)."""
    if row["multiple_networks"] == "True":
        return NOT_RUN["multiple_networks"]
    return None


def waiting_reason(row: dict[str, str]) -> str:
    """What a row that runs but does not pass waits for ("" when it should pass)."""
    features = set(row["features"].split("+"))
    return "; ".join(reason for key, reason in WAITING.items() if key in features)


def _names(text: str) -> str:
    return ",".join(part for part in text.split(";") if part)


def argv(row: dict[str, str], output: str) -> list[str]:
    """The netpolscan command line standing for the row."""
    if row["kind"] == "diff":
        base, head = (str(NPA / part.strip()) for part in row["test_dir"].split("->"))
        return ["diff", base, head, "-f", row["format"], "-o", output]
    args = ["connectivity", str(NPA / row["test_dir"]), "-f", row["format"], "-o", output]
    for column, option in (
        ("focus_workloads", "--focus-workload"),
        ("focus_workload_peers", "--focus-workload-peer"),
        ("focus_direction", "--focus-direction"),
        ("focus_conn", "--focus-conn"),
        ("explain_only", "--explain-only"),
    ):
        if row[column]:
            args += [option, _names(row[column])]
    if row["exposure"] == "True":
        args.append("--exposure")
    if row["kind"] == "explain":
        args.append("--explain")
    return args


def run(row: dict[str, str]) -> tuple[bool, str]:
    """Run the row; (matches the expected output, what went wrong)."""
    from netpolscan.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        output = str(Path(tmp) / "out")
        code = main(argv(row, output))
        if code != 0 or not Path(output).is_file():
            return False, f"exit code {code}"
        got = Path(output).read_text(encoding="utf-8").strip()
    expected = (NPA / row["expected_output"]).read_text(encoding="utf-8").strip()
    return got == expected, "output differs"


def status_of(row: dict[str, str]) -> tuple[str, str]:
    """(status, reason) of a row as it is today (what the table should say)."""
    reason = not_run_reason(row)
    if reason is not None:
        return "skip", reason
    passed, problem = run(row)
    if passed:
        return "pass", ""
    own = ROW_REASONS.get(Path(row["expected_output"]).stem)
    return "fail", own or waiting_reason(row) or f"core: {problem}"


TABLE = _table()
ROWS = _rows()


@pytest.mark.parametrize("row", ROWS or [pytest.param({}, marks=pytest.mark.skip)], ids=_id if ROWS else None)
def test_row(row: dict[str, str]) -> None:
    status, reason = TABLE.get(row["expected_output"], ("missing", "not in the status table"))
    if status == "skip":
        assert not_run_reason(row) is not None, "the table skips a row that would run: regenerate the table"
        pytest.skip(reason)
    passed, problem = run(row)
    if status == "pass":
        assert passed, f"{_id(row)} regressed: {problem}"
    else:
        assert not passed, f"{_id(row)} passes now: regenerate {STATUS.name} ({reason})"


def test_table_lists_every_row() -> None:
    listed = set(TABLE)
    indexed = {row["expected_output"] for row in ROWS}
    assert listed == indexed, "regenerate the status table"


def test_rows_not_passing_have_a_reason() -> None:
    assert all(reason for status, reason in TABLE.values() if status != "pass")


def _generate() -> Iterator[dict[str, str]]:
    for row in ROWS:
        status, reason = status_of(row)
        yield {
            "expected_output": row["expected_output"],
            "kind": row["kind"],
            "features": row["features"],
            "status": status,
            "reason": reason,
        }


if __name__ == "__main__":  # regenerate the status table
    sys.path.insert(0, str(REPO))
    records = list(_generate())
    with STATUS.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(
            stream, ("expected_output", "kind", "features", "status", "reason"), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(records)
    counts: dict[tuple[str, str], int] = {}
    for record in records:
        key = (record["features"], record["status"])
        counts[key] = counts.get(key, 0) + 1
    for (features, status), count in sorted(counts.items()):
        print(f"{features:32} {status:5} {count}")
