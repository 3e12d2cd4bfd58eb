"""`netpolscan diff BASE HEAD --path/--helm/--kustomize`: two checkouts read at the same paths, several
formats in one run, and the diff's Mermaid graph within GitHub's limits. (The action and the GitLab job
that use it: tests/test_action_diff.py, tests/test_ci_gitlab.py.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.analysis.diff import DiffRow
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS
from netpolscan.report.connectivity_formats import MERMAID_MAX_CHARS, MERMAID_MAX_EDGES, format_diff_mermaid
from tests.conftest import CliResult
from tests.test_action_diff import BASE_FILES, EXPECTED_ROWS, HEAD_CHANGES, TEMPLATE_FROM_LINE, write_files

REPO = Path(__file__).resolve().parent.parent
CHECKOUT_ARGS = ["--path", "k8s", "--helm", "charts/api", "--values", "charts/api/values-prod.yaml"]
CHECKOUT_ARGS += ["--kustomize", "deploy/prod"]


@pytest.fixture
def checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """base/ and head/ (the working directory) of the repository of tests/test_action_diff.py."""
    if shutil.which("kustomize") is None and shutil.which("kubectl") is None:
        pytest.fail("kustomize or kubectl is needed: bash .ci/install-render-tools.sh")
    write_files(tmp_path / "base", BASE_FILES)
    write_files(tmp_path / "head", BASE_FILES)
    write_files(tmp_path / "head", HEAD_CHANGES)
    monkeypatch.chdir(tmp_path / "head")
    return tmp_path


def test_two_checkouts_several_formats_in_one_run(checkouts: Path, run_cli: Callable[..., CliResult]) -> None:
    base = str(checkouts / "base")
    result = run_cli(
        "diff",
        base,
        ".",
        *CHECKOUT_ARGS,
        "-f",
        "json:diff.json",
        "-f",
        "gitlab:cq.json",
        "-f",
        "txt",
        "--fail-on-new",
    )
    assert result.exit_code == 1, result.stderr
    assert result.stderr == ""
    records = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    assert {
        tuple(r[k] for k in ("diff-type", "source", "destination", "ref1", "ref2")) for r in records
    } == EXPECTED_ROWS
    assert result.stdout.startswith("Connectivity diff:\n") and result.stdout.count("diff-type:") == len(
        EXPECTED_ROWS
    )
    issues = json.loads(Path("cq.json").read_text(encoding="utf-8"))
    places = {(i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues}
    assert ("charts/api/templates/netpol.yaml", TEMPLATE_FROM_LINE) in places  # HEAD's template, not base/

    # the other way round nothing is newly allowed; -o names the file of the format without one
    reverse = run_cli("diff", ".", base, *CHECKOUT_ARGS, "-f", "mermaid", "-o", "graph.mmd", "--fail-on-new")
    assert reverse.exit_code == 0, reverse.stderr
    graph = Path("graph.mmd").read_text(encoding="utf-8")
    assert (
        graph.startswith("flowchart LR\n") and graph.count("removed:") == 6 and "(was TCP 8080,9090)" in graph
    )


def test_a_path_only_head_has_is_empty_in_base(checkouts: Path, run_cli: Callable[..., CliResult]) -> None:
    shutil.copytree(REPO / "examples" / "demo", "demo")
    result = run_cli("diff", str(checkouts / "base"), ".", "--path", "demo", "-f", "json")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert records and {r["diff-type"] for r in records} == {"added"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path", "nowhere"], "nowhere: not found in BASE"),
        (["--path", "/etc"], "give paths relative to them"),
        (["--path", "k8s", "--values", "v.yaml"], "--values, --set and --release need --helm CHART"),
        (["--helm", "charts/api", "--values", "missing.yaml"], "missing.yaml: values file not found in HEAD"),
        (["--path", "k8s", "-f", "pdf"], "unknown format 'pdf'"),
    ],
    ids=["missing", "absolute", "values-without-helm", "missing-values", "unknown-format"],
)
def test_checkout_input_errors_are_one_line(
    checkouts: Path, run_cli: Callable[..., CliResult], args: list[str], message: str
) -> None:
    result = run_cli("diff", str(checkouts / "base"), ".", *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_checkouts_must_be_directories(checkouts: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("diff", "k8s/namespace.yaml", ".", "--path", "k8s")
    assert result.exit_code == 2 and "BASE and HEAD are directories" in result.stderr


def _rows(count: int, name_length: int = 10) -> list[DiffRow]:
    return [
        DiffRow(
            "added",
            f"ns/{'a' * name_length}{i}[Deployment]",
            "ns/db[StatefulSet]",
            NO_PORTS,
            ALL_PORTS,
            "",
            "ns",
            "ns",
        )
        for i in range(count)
    ]


def test_mermaid_diff_stays_within_githubs_limits() -> None:
    unchanged = DiffRow(
        "unchanged", "ns/x[Deployment]", "ns/y[Deployment]", ALL_PORTS, ALL_PORTS, "", "ns", "ns"
    )
    small = format_diff_mermaid([*_rows(3), unchanged])
    assert small.count("-->") == 3 and "%%" not in small and "x[Deployment]" not in small
    assert "    linkStyle 0,1,2 stroke:#1a7f37" in small
    for rows in (_rows(MERMAID_MAX_EDGES + 100), _rows(300, name_length=200)):
        text = format_diff_mermaid(rows)
        drawn = text.count("-->")
        assert drawn < len(rows) and drawn <= MERMAID_MAX_EDGES and len(text) <= MERMAID_MAX_CHARS
        assert f"%% netpolscan: {len(rows)} changes exceed GitHub's Mermaid limits" in text
        assert f"the first {drawn} are drawn" in text
