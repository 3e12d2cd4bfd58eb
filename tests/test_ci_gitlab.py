"""The GitLab CI jobs of examples/gitlab-ci/.gitlab-ci.yml, run for real: each job's `script` in a POSIX
shell with `set -e` (as the runner does), a faked merge-request pipeline environment, this checkout's
netpolscan on PATH (in place of the `before_script` pip install) and a git repository with a base and a
head commit (tests/test_action_diff.py: a chart whose values open a port, a kustomization that drops its
default deny). Checked: the Code Quality report of the diff (GitLab's required fields, HEAD's lines), the
job log, fail-on-new, a shallow clone lacking the base, and that docs/ci.md shows the same jobs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_action import assert_schema_valid, install_once
from tests.test_action_diff import EXPECTED_ROWS, GIT_ENV, TEMPLATE_FROM_LINE, git, make_repo

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
CONFIG: dict[str, Any] = yaml.safe_load(PIPELINE.read_text(encoding="utf-8"))
MR_INPUTS = "--path k8s --helm charts/api --values charts/api/values-prod.yaml --kustomize deploy/prod"
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


@dataclass
class JobRun:
    code: int
    log: str


def _rule_applies(rule: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """The `if:` forms the example uses: `$VAR == "value"` and `$VAR` (set and not empty)."""
    expression = str(rule["if"]).strip()
    match = re.fullmatch(r'\$(\w+)\s*==\s*"([^"]*)"', expression)
    if match:
        return env.get(match.group(1), "") == match.group(2)
    match = re.fullmatch(r"\$(\w+)", expression)
    assert match, f"unsupported rule {expression!r}"
    return bool(env.get(match.group(1)))


def job_runs(name: str, env: Mapping[str, str]) -> bool:
    return any(_rule_applies(rule, env) for rule in CONFIG[name]["rules"])


def run_job(name: str, workspace: Path, venv_bin: str, variables: Mapping[str, str]) -> JobRun:
    """Run job ``name``'s script as the runner would, after checking its before_script only installs
    netpolscan (replaced by ``venv_bin`` on PATH)."""
    job = CONFIG[name]
    assert job["before_script"] == ["pip install netpolscan"]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CI_", "GITLAB_", "NETPOLSCAN_"))
    }
    env.update({key: str(value) for key, value in CONFIG.get("variables", {}).items()})
    env.update({key: str(value) for key, value in job.get("variables", {}).items()})
    env.update(
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PROJECT_DIR": str(workspace),
            "CI_COMMIT_SHA": git(workspace, "rev-parse", "HEAD"),
            "TMPDIR": str(workspace.parent / "tmp"),
            "PATH": f"{venv_bin}{os.pathsep}{env['PATH']}",
        }
    )
    env.update(variables)
    assert job_runs(name, env), f"job {name} would not run in this pipeline"
    (workspace.parent / "tmp").mkdir(exist_ok=True)
    script = "\n".join(str(line) for line in job["script"])
    result = subprocess.run(
        ["sh", "-e", "-c", script], cwd=workspace, env=env, capture_output=True, text=True, timeout=600
    )
    return JobRun(result.returncode, result.stdout + result.stderr)


def merge_request(base_sha: str, **more: str) -> dict[str, str]:
    return {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base_sha,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "NETPOLSCAN_INPUTS": MR_INPUTS,
        **more,
    }


def check_code_quality(path: Path, workspace: Path) -> list[dict[str, Any]]:
    """The report has GitLab's required fields, unique fingerprints, and points at files of HEAD."""
    issues: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(issues, list)
    for issue in issues:
        assert issue["type"] == "issue" and issue["description"] and issue["check_name"]
        assert issue["severity"] in SEVERITIES
        location = issue["location"]
        assert not os.path.isabs(location["path"]) and (workspace / location["path"]).is_file()
        assert isinstance(location["lines"]["begin"], int) and location["lines"]["begin"] >= 1
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    return issues


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> str:
    return install_once(tmp_path_factory)


def test_the_pipeline_matches_gitlabs_schema() -> None:
    assert_schema_valid(PIPELINE, "vendor.gitlab-ci")


def test_merge_request_job_reports_the_diff_as_code_quality(installed: str, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    commits = make_repo(workspace)
    run = run_job("netpolscan-diff", workspace, installed, merge_request(commits["base"]))
    assert run.code == 0, run.log
    for kind, src, dst, base, head in EXPECTED_ROWS:
        assert f"diff-type: {kind}, source: {src}, destination: {dst}, ref1: {base}, ref2: {head}" in run.log
    issues = check_code_quality(workspace / "gl-code-quality-report.json", workspace)
    assert {issue["check_name"] for issue in issues} == {"NPS790"}
    places = {(issue["location"]["path"], issue["location"]["lines"]["begin"]) for issue in issues}
    assert ("charts/api/templates/netpol.yaml", TEMPLATE_FROM_LINE) in places
    assert {path for path, _ in places} == {
        "charts/api/templates/netpol.yaml",
        "deploy/prod/db.yaml",
        "deploy/prod/web.yaml",
    }
    chart = next(i for i in issues if i["location"]["path"] == "charts/api/templates/netpol.yaml")
    assert "TCP 9090" in chart["description"]
    table = (workspace / "netpolscan-diff.md").read_text(encoding="utf-8")
    assert table.count("\n| added |") + table.count("\n| changed |") == len(EXPECTED_ROWS)

    # the branch pipeline's scan job, and the diff job stays out of it
    branch = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature"}
    assert not job_runs("netpolscan-diff", branch)
    scan = run_job("netpolscan", workspace, installed, branch)
    assert scan.code == 1, scan.log  # k8s/ holds the Namespace, and nothing isolates it
    found = check_code_quality(workspace / "gl-code-quality-report.json", workspace)
    assert {issue["check_name"] for issue in found} == {"NPS101", "NPS102"}
    assert (workspace / "netpolscan-junit.xml").is_file()


def test_fail_on_new_fails_the_job_after_writing_the_report(installed: str, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    commits = make_repo(workspace)
    run = run_job(
        "netpolscan-diff", workspace, installed, merge_request(commits["base"], NETPOLSCAN_FAIL_ON_NEW="true")
    )
    assert run.code == 1, run.log
    assert check_code_quality(workspace / "gl-code-quality-report.json", workspace)


def test_shallow_clone_fetches_the_base(installed: str, tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    commits = make_repo(origin)
    workspace = tmp_path / "project"
    git(tmp_path, "clone", "--quiet", "--depth=1", "--branch=feature", origin.as_uri(), str(workspace))
    assert (
        subprocess.run(
            ["git", "cat-file", "-e", f"{commits['base']}^{{commit}}"],
            cwd=workspace,
            env={**os.environ, **GIT_ENV},
        ).returncode
        != 0
    )
    run = run_job("netpolscan-diff", workspace, installed, merge_request(commits["base"]))
    assert run.code == 0, run.log
    assert len(check_code_quality(workspace / "gl-code-quality-report.json", workspace)) > 0


def test_a_missing_base_fails_the_job(installed: str, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    make_repo(workspace)
    run = run_job("netpolscan-diff", workspace, installed, merge_request("0" * 40))
    assert run.code != 0 and not (workspace / "gl-code-quality-report.json").exists()


def test_docs_show_the_example_jobs() -> None:
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]
    for name in ("netpolscan", "netpolscan-diff"):
        assert any(isinstance(b, dict) and b.get(name) == CONFIG[name] for b in blocks), (
            f"docs/ci.md: show job {name} as in {PIPELINE.relative_to(REPO)}"
        )
