"""The action's diff mode, run for real: a git repository with a base and a head commit (a chart whose values
change opens a port, a kustomization that drops its default deny), the action's steps run by the harness of
tests/test_action.py with a faked pull-request environment, and the step summary, the outputs and the
diff's SARIF checked. Also: shallow checkouts, fail-on-new, no diff outside pull requests, input errors,
the summary's size limit, and the README's "Reviewing a change" excerpt (regenerated from the demo change).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.sarif_validation import github_rule_errors, schema_errors, schema_path
from tests.test_action import REPO, Run, assert_schema_valid, install_once, install_venv, run_action

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: {name}
        image: example/{name}
"""

# The chart's NetworkPolicy: `- from:` is line 13, the line the diff's SARIF points at.
NETPOL_TEMPLATE = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - protocol: TCP
      port: {{ .Values.port }}
    {{- range .Values.extraPorts }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
"""
TEMPLATE_FROM_LINE = 13

BASE_FILES = {
    "k8s/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    "charts/api/values.yaml": "port: 8080\nextraPorts: []\n",
    "charts/api/values-prod.yaml": "extraPorts: []\n",
    "charts/api/templates/deployment.yaml": DEPLOYMENT.format(name="api").replace(
        "  name: api\n", "  name: api\n  namespace: shop\n", 1
    ),
    "charts/api/templates/netpol.yaml": NETPOL_TEMPLATE,
    "deploy/prod/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\n"
        "resources:\n- web.yaml\n- db.yaml\n- default-deny.yaml\n"
    ),
    "deploy/prod/web.yaml": DEPLOYMENT.format(name="web"),
    "deploy/prod/db.yaml": DEPLOYMENT.format(name="db"),
    "deploy/prod/default-deny.yaml": (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-ingress\n"
        "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n"
    ),
}
# HEAD: the prod values open 9090 on the API; the kustomization drops its default deny
HEAD_CHANGES: dict[str, str | None] = {
    "charts/api/values-prod.yaml": "extraPorts:\n- 9090\n",
    "deploy/prod/kustomization.yaml": BASE_FILES["deploy/prod/kustomization.yaml"].replace(
        "- default-deny.yaml\n", ""
    ),
    "deploy/prod/default-deny.yaml": None,
}
INPUTS = {
    "paths": "k8s",
    "helm-chart": "charts/api",
    "helm-values": "charts/api/values-prod.yaml",
    "kustomize-dir": "deploy/prod",
    "fail-on": "never",
}
# What the change does (derived by hand from the manifests above): the API admits the web on 9090 too,
# and without the default deny, web and db admit everything.
EXPECTED_ROWS = {
    ("changed", "shop/web[Deployment]", "shop/api[Deployment]", "TCP 8080", "TCP 8080,9090"),
    (
        "added",
        "0.0.0.0-255.255.255.255[External]",
        "shop/db[Deployment]",
        "No Connections",
        "All Connections",
    ),
    (
        "added",
        "0.0.0.0-255.255.255.255[External]",
        "shop/web[Deployment]",
        "No Connections",
        "All Connections",
    ),
    ("added", "shop/api[Deployment]", "shop/db[Deployment]", "No Connections", "All Connections"),
    ("added", "shop/api[Deployment]", "shop/web[Deployment]", "No Connections", "All Connections"),
    ("added", "shop/db[Deployment]", "shop/web[Deployment]", "No Connections", "All Connections"),
    ("added", "shop/web[Deployment]", "shop/db[Deployment]", "No Connections", "All Connections"),
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def write_files(root: Path, files: Mapping[str, str | None]) -> None:
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def make_repo(
    root: Path, base: Mapping[str, str | None] = BASE_FILES, head: Mapping[str, str | None] = HEAD_CHANGES
) -> dict[str, str]:
    """A repository at ``root``: ``base`` committed on main, then ``head`` on branch feature (checked out)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    write_files(root, base)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "base")
    git(root, "switch", "--quiet", "--create", "feature")
    write_files(root, head)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "head")
    return {"base": git(root, "rev-parse", "main"), "head": git(root, "rev-parse", "HEAD")}


def pull_request(base_sha: str, base_ref: str = "main", fork: bool = False) -> dict[str, Any]:
    return {"pull_request": {"base": {"ref": base_ref, "sha": base_sha}, "head": {"repo": {"fork": fork}}}}


def table_rows(summary: str) -> set[tuple[str, ...]]:
    rows = set()
    for line in summary.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ("added", "removed", "changed"):
            rows.add(tuple(cells[:5]))
    return rows


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> str:
    return install_once(tmp_path_factory)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    workspace = tmp_path / "workspace"
    return workspace, make_repo(workspace)


def _diff_upload(run: Run) -> dict[str, str] | None:
    uploads = [
        w
        for u, w in zip(run.used, run.used_with, strict=True)
        if u.startswith("github/codeql-action/upload-sarif")
    ]
    return next((w for w in uploads if w.get("category", "").endswith("-diff")), None)


# --- the pull request ------------------------------------------------------------------------------


def test_pull_request_diff_renders_both_checkouts_and_reports(
    installed: str, repo: tuple[Path, dict[str, str]]
) -> None:
    workspace, commits = repo
    run = run_action(INPUTS, workspace, installed, event=pull_request(commits["base"]))
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert (outputs["added"], outputs["removed"], outputs["changed"]) == ("6", "0", "1")
    assert outputs["newly-allowed"] == "true"
    assert outputs["base-sha"] == commits["base"]
    assert outputs["diff-sarif-file"] == "netpolscan-diff.sarif"

    # the step summary: counts, the table of every change, the graph
    assert "6 added, 0 removed, 1 changed" in run.summary
    assert f"`main` ({commits['base'][:7]})" in run.summary
    assert table_rows(run.summary) == EXPECTED_ROWS
    graph = re.search(r"```mermaid\n(.*?)```", run.summary, re.DOTALL)
    assert graph is not None and graph.group(1).startswith("flowchart LR")
    assert graph.group(1).count("-->") == len(EXPECTED_ROWS)
    assert "TCP 8080,9090 (was TCP 8080)" in graph.group(1)
    assert len(run.summary.encode("utf-8")) < 1024 * 1024

    # the SARIF: newly allowed connections on HEAD's lines (the chart template, the kustomize sources)
    sarif = json.loads((workspace / "netpolscan-diff.sarif").read_text(encoding="utf-8"))
    assert github_rule_errors(sarif) == [] and (schema_path() is None or schema_errors(sarif) == [])
    results = sarif["runs"][0]["results"]
    assert results and {r["ruleId"] for r in results} == {"NPS790"}
    places = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    }
    assert ("charts/api/templates/netpol.yaml", TEMPLATE_FROM_LINE) in places
    assert {uri for uri, _ in places} == {
        "charts/api/templates/netpol.yaml",
        "deploy/prod/db.yaml",
        "deploy/prod/web.yaml",
    }
    for uri, line in places:
        assert line <= len((workspace / uri).read_text(encoding="utf-8").splitlines())
    chart_result = next(r for r in results if "templates/netpol.yaml" in json.dumps(r["locations"]))
    assert "TCP 9090" in chart_result["message"]["text"]

    # both reports uploaded, each under its own category; the base worktree is gone
    assert _diff_upload(run) == {"sarif_file": "netpolscan-diff.sarif", "category": "netpolscan-diff"}
    assert sum(u.startswith("github/codeql-action/upload-sarif") for u in run.used) == 2
    assert git(workspace, "worktree", "list").count("\n") == 0
    assert git(workspace, "status", "--porcelain", "--untracked-files=no") == ""


def test_fail_on_new_fails_only_on_a_newly_allowed_connection(
    installed: str, repo: tuple[Path, dict[str, str]]
) -> None:
    workspace, commits = repo
    run = run_action(
        {**INPUTS, "fail-on-new": "true"}, workspace, installed, event=pull_request(commits["base"])
    )
    assert run.exit_code == 1, "\n".join(run.logs)
    assert run.failed_step == "Exit with the scan's and the diff's exit code"
    assert "HEAD allows connections the base did not: the check fails (`fail-on-new`)." in run.summary
    assert _diff_upload(run) is not None  # the SARIF is uploaded before the job fails

    # a commit on top that undoes the change only removes and narrows: fail-on-new passes
    git(workspace, "switch", "--quiet", "--create", "revert")
    write_files(workspace, BASE_FILES)
    git(workspace, "add", "--all")
    git(workspace, "commit", "--quiet", "--message", "revert")
    run = run_action({**INPUTS, "fail-on-new": "true", "base-ref": "feature"}, workspace, installed, event={})
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert (outputs["added"], outputs["removed"], outputs["changed"], outputs["newly-allowed"]) == (
        "0",
        "6",
        "1",
        "false",
    )
    sarif = json.loads((workspace / "netpolscan-diff.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"] == []


def test_expectations_are_checked_in_the_same_run(installed: str, repo: tuple[Path, dict[str, str]]) -> None:
    workspace, commits = repo
    (workspace / "expectations.yaml").write_text(
        "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n"
        "- from: {namespace: shop, workload: web}\n  to: {namespace: shop, workload: db}\n  expect: deny\n"
        "  reason: only the API reads the database\n",
        encoding="utf-8",
    )
    inputs = {**INPUTS, "expectations": "expectations.yaml", "fail-on": "error"}
    run = run_action(inputs, workspace, installed, event=pull_request(commits["base"]))
    assert run.exit_code == 1, "\n".join(run.logs)  # HEAD lets web reach db: NPS701 (error)
    scan = json.loads((workspace / "netpolscan.sarif").read_text(encoding="utf-8"))
    assert "NPS701" in {r["ruleId"] for r in scan["runs"][0]["results"]}
    assert run.action_outputs()["added"] == "6"


# --- finding the base ------------------------------------------------------------------------------


def test_shallow_checkout_fetches_the_base_and_the_merge_base(installed: str, tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    commits = make_repo(origin)
    git(origin, "switch", "--quiet", "main")  # main moves on after the branch point: the merge base is older
    write_files(origin, {"k8s/extra.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n"})
    git(origin, "add", "--all")
    git(origin, "commit", "--quiet", "--message", "main moves on")
    main_tip = git(origin, "rev-parse", "HEAD")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "--quiet", "--depth=1", "--branch=feature", origin.as_uri(), str(workspace))
    assert git(workspace, "rev-parse", "--is-shallow-repository") == "true"
    run = run_action(INPUTS, workspace, installed, event=pull_request(main_tip))
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert outputs["base-sha"] == commits["base"]  # the merge base, not main's tip
    assert (outputs["added"], outputs["removed"], outputs["changed"]) == ("6", "0", "1")
    assert f"the merge base of `main` and HEAD ({commits['base'][:7]})" in run.summary


def test_default_pull_request_checkout_of_the_merge_commit(installed: str, tmp_path: Path) -> None:
    """What actions/checkout does on pull_request: the merge commit (refs/pull/N/merge), depth 1."""
    origin = tmp_path / "origin"
    make_repo(origin)
    git(origin, "switch", "--quiet", "main")
    write_files(origin, {"k8s/extra.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n"})
    git(origin, "add", "--all")
    git(origin, "commit", "--quiet", "--message", "main moves on")
    main_tip = git(origin, "rev-parse", "HEAD")
    git(origin, "switch", "--quiet", "--create", "pull-1-merge")
    git(origin, "merge", "--quiet", "--no-ff", "--message", "Merge feature into main", "feature")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "--quiet", "--depth=1", "--branch=pull-1-merge", origin.as_uri(), str(workspace))
    run = run_action(INPUTS, workspace, installed, event=pull_request(main_tip))
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert (
        outputs["base-sha"] == main_tip
    )  # the merge commit's first parent: exactly the pull request's change
    assert (outputs["added"], outputs["removed"], outputs["changed"]) == ("6", "0", "1")
    assert table_rows(run.summary) == EXPECTED_ROWS


def test_no_diff_outside_pull_requests_unless_asked(
    installed: str, repo: tuple[Path, dict[str, str]]
) -> None:
    workspace, _ = repo
    run = run_action(INPUTS, workspace, installed, event={})
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert (outputs["added"], outputs["diff-sarif-file"]) == ("", "")
    assert _diff_upload(run) is None and not (workspace / "netpolscan-diff.sarif").exists()
    assert "connectivity change" not in run.summary

    run = run_action(
        {**INPUTS, "diff": "false"},
        workspace,
        installed,
        event=pull_request(git(workspace, "rev-parse", "main")),
    )
    assert run.action_outputs()["added"] == "" and _diff_upload(run) is None

    run = run_action({**INPUTS, "diff": "true"}, workspace, installed, event={})
    assert run.exit_code == 2, "\n".join(run.logs)
    assert "needs the base-ref input" in run.summary


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"base-ref": "no-such-branch"}, "base 'no-such-branch': no such commit"),
        ({"paths": "nowhere", "helm-chart": "", "kustomize-dir": ""}, "netpolscan diff failed (exit code 2)"),
        ({"diff": "sometimes"}, "is not auto, true or false"),
    ],
    ids=["unknown-base", "missing-path", "bad-diff-input"],
)
def test_diff_input_errors_exit_2_without_upload(
    installed: str, repo: tuple[Path, dict[str, str]], inputs: dict[str, str], message: str
) -> None:
    workspace, commits = repo
    run = run_action(
        {**INPUTS, "paths": "", **inputs}, workspace, installed, event=pull_request(commits["base"])
    )
    assert run.exit_code == 2, "\n".join(run.logs)
    assert "The diff could not run" in run.summary and message in run.summary
    assert _diff_upload(run) is None
    assert git(workspace, "worktree", "list").count("\n") == 0


# --- the summary's limits --------------------------------------------------------------------------


def _diff_step() -> ModuleType:
    spec = importlib.util.spec_from_file_location("diff_step", REPO / "action" / "diff_step.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["diff_step"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_summary_stays_within_githubs_limit() -> None:
    step = _diff_step()
    records = [
        {
            "diff-type": "added",
            "source": f"ns-{i}/app-{i}[Deployment]",
            "destination": "db/db[StatefulSet]",
            "ref1": "No Connections",
            "ref2": "TCP 5432",
            "workloads-diff-info": "",
        }
        for i in range(20_000)
    ]
    mermaid = "flowchart LR\n" + "    n0 --> n1\n" * 400
    text = step.summary(records, mermaid, "`main`", True, False)
    assert len(text.encode("utf-8")) <= step.SUMMARY_LIMIT
    shown = len(table_rows(text))
    assert 1000 < shown < 20_000
    assert f"{20_000 - shown} more changes are not shown: GitHub limits a step summary to 1 MiB" in text
    assert text.rstrip().endswith("```") and "```mermaid" in text  # the graph is kept, after the table
    small = step.summary(records[:3], mermaid, "`main`", True, False)
    assert len(table_rows(small)) == 3 and "not shown" not in small
    assert "the same connections" in step.summary([], "", "`main`", False, False)
    pipes = step.summary([{**records[0], "source": "a|b"}], "", "`main`", True, False)
    assert "a\\|b" in pipes
    assert "| workloads |" not in small  # the column only when a workload comes or goes
    info = step.summary(
        [{**records[0], "workloads-diff-info": "workload ns-0/app-0[Deployment] added"}], "", "x", True, True
    )
    assert "| workloads |" in info and "| workload ns-0/app-0[Deployment] added |" in info
    assert "the check fails (`fail-on-new`)" in info


def test_diff_arguments_come_from_the_inputs_unevaluated() -> None:
    step = _diff_step()
    inputs = {
        "paths": "k8s 'dir with space' $(touch pwned)",
        "helm-chart": "charts/app",
        "helm-values": "values.yaml\n'prod values.yaml'",
        "kustomize-dir": "overlays/prod",
    }
    assert step.input_arguments(inputs) == [
        *("--path", "k8s", "--path", "dir with space", "--path", "$(touch", "--path", "pwned)"),
        *("--helm", "charts/app", "--values", "values.yaml", "--values", "prod values.yaml"),
        *("--kustomize", "overlays/prod"),
    ]
    assert step.input_arguments({"paths": "", "helm-values": "ignored.yaml", "kustomize-dir": "k"}) == [
        "--kustomize",
        "k",
    ]
    for inputs, message in [({"paths": "k8s 'open"}, "cannot split input paths"), ({}, "nothing to compare")]:
        with pytest.raises(step.StepError, match=message):
            step.input_arguments(inputs)


# --- README: the step summary of the demo change ---------------------------------------------------


def demo_summary(installed: str, root: Path) -> tuple[str, set[tuple[str, int]]]:
    """The diff step's summary for examples/demo-change (HEAD) against examples/demo (base), and the
    (file, line) of each result of its SARIF."""
    demo = {
        f"examples/demo/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((REPO / "examples" / "demo").iterdir())
    }
    change = (REPO / "examples" / "demo-change" / "policies.yaml").read_text(encoding="utf-8")
    commits = make_repo(root, demo, {"examples/demo/policies.yaml": change})
    run = run_action(
        {"paths": "examples/demo", "fail-on": "never"}, root, installed, event=pull_request(commits["base"])
    )
    assert run.exit_code == 0, "\n".join(run.logs)
    sarif = json.loads((root / "netpolscan-diff.sarif").read_text(encoding="utf-8"))
    start = run.summary.index("## netpolscan: connectivity change")
    return run.summary[start:], _places(sarif)


def _places(sarif: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {
        (
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for result in sarif["runs"][0]["results"]
    }


def test_readme_shows_the_summary_of_the_demo_change(installed: str, tmp_path: Path) -> None:
    summary, places = demo_summary(installed, tmp_path / "workspace")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Reviewing a change") :]
    excerpt = re.search(r"````markdown\n(.*?)````", section, re.DOTALL)
    assert excerpt is not None, (
        "README: the summary excerpt is a ````markdown block under 'Reviewing a change'"
    )
    assert excerpt.group(1) == summary, "README: regenerate with python3 -m tests.test_action_diff"
    assert "1 added, 2 removed, 1 changed" in summary and "```mermaid" in summary
    assert places == {("examples/demo/policies.yaml", 23)}
    assert "NPS790 at line 23 of `policies.yaml`, the new `- from:`" in section
    assert (REPO / "examples/demo-change/policies.yaml").read_text().splitlines()[22] == "  - from:"


def test_documented_workflow_is_valid_and_uses_real_inputs(tmp_path: Path) -> None:
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    workflows = [
        body
        for body in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
        if "jobs:" in body and "fail-on-new" in body
    ]
    assert len(workflows) == 1, "docs/ci.md: one complete workflow with the diff"
    workflow = yaml.safe_load(workflows[0])
    steps = workflow["jobs"]["netpolscan"]["steps"]
    action = next(step for step in steps if str(step.get("uses", "")).startswith("netpolscan/netpolscan@"))
    declared = set(yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))["inputs"])
    assert set(action["with"]) <= declared
    outputs = set(re.findall(r"steps\.netpolscan\.outputs\.([a-z-]+)", workflows[0]))
    assert outputs and outputs <= set(yaml.safe_load((REPO / "action.yml").read_text())["outputs"])
    for step in steps:
        assert "${{" not in str(step.get("run", "")), "docs: pass expressions through env:, not in run:"
    workflow_file = tmp_path / "netpolscan.yml"
    workflow_file.write_text(workflows[0], encoding="utf-8")
    assert_schema_valid(workflow_file, "vendor.github-workflows")


if __name__ == "__main__":  # print the demo change's summary (for the README)
    import tempfile

    with tempfile.TemporaryDirectory() as temp:
        workspace = Path(temp) / "install" / "workspace"
        workspace.mkdir(parents=True)
        print(demo_summary(install_venv(workspace), Path(temp) / "demo" / "workspace")[0], end="")
