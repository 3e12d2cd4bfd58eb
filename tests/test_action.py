"""The composite GitHub Action (action.yml): schema-valid, inputs only through `env:`, and its shell steps
run for real in a harness (temporary GITHUB_OUTPUT / GITHUB_STEP_SUMMARY, GITHUB_ACTION_PATH = this repo).

The harness plays the runner's part: it resolves each step's `env:` and `if:` from the test's inputs and the
outputs of earlier steps, runs every `run:` script with bash, and records the `uses:` steps it would run
(with their resolved `with:`). The event payload is written to GITHUB_EVENT_PATH, with GITHUB_EVENT_NAME and,
for a pull request, GITHUB_BASE_REF. The install step really creates a virtual environment and
pip-installs this checkout into it (once per test session; tests/test_action_diff.py shares it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = REPO / "action.yml"
METADATA = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = METADATA["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

BAD_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0
"""

CLEAN_POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


# --- static checks --------------------------------------------------------------------------------


def assert_schema_valid(path: Path, schema: str) -> None:
    """``check-jsonschema --builtin-schema SCHEMA PATH`` passes (skips without the tool, fails under CI)."""
    executable = shutil.which("check-jsonschema")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("check-jsonschema is missing: run .ci/install-distribution-tools.sh")
        pytest.skip("check-jsonschema not installed (bash .ci/install-distribution-tools.sh)")
    result = subprocess.run(
        [executable, "--builtin-schema", schema, str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{path}: {result.stdout}{result.stderr}"


def test_action_yml_matches_the_github_action_metadata_schema() -> None:
    assert_schema_valid(ACTION, "vendor.github-actions")


def test_no_expression_inside_run_scripts() -> None:
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], (
                f"step {step['name']!r}: pass inputs through env:, not ${{{{ }}}} in run:"
            )


def test_every_input_is_used_and_every_reference_exists() -> None:
    text = ACTION.read_text(encoding="utf-8")
    referenced = set(re.findall(r"inputs\.([a-z][a-z0-9-]*)", text))
    declared = set(METADATA["inputs"])
    assert referenced <= declared, f"undeclared inputs: {sorted(referenced - declared)}"
    assert declared <= referenced, f"inputs never used: {sorted(declared - referenced)}"
    for name, spec in METADATA["inputs"].items():
        assert spec.get("description"), f"input {name} lacks a description"


def test_outputs_come_from_the_scan_step() -> None:
    expected = {"sarif-file", "exit-code", "findings", "errors", "warnings", "notes"}
    assert expected <= set(METADATA["outputs"])
    for name in expected:
        assert METADATA["outputs"][name]["value"] == f"${{{{ steps.scan.outputs.{name} }}}}"


def test_shell_steps_are_bash_and_upload_is_the_codeql_action() -> None:
    assert METADATA["runs"]["using"] == "composite"
    for step in STEPS:
        if "run" in step:
            assert step.get("shell") == "bash"
    uses = [step["uses"] for step in STEPS if "uses" in step]
    assert uses[0].startswith("actions/setup-python@")
    assert "github/codeql-action/upload-sarif@v3" in uses
    assert "run" in STEPS[-1] and "exit" in STEPS[-1]["run"], "the last step exits with the scan's exit code"


# --- the harness ----------------------------------------------------------------------------------


@dataclass
class Run:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> outputs
    summary: str = ""
    used: list[str] = field(default_factory=list)  # `uses:` steps that would run
    used_with: list[dict[str, str]] = field(default_factory=list)  # their `with:`, resolved
    exit_code: int = 0  # the job's result: the first failing step's code
    failed_step: str | None = None
    logs: list[str] = field(default_factory=list)

    def action_outputs(self) -> dict[str, str]:
        return {name: _resolve(spec["value"], self._context()) for name, spec in METADATA["outputs"].items()}

    def _context(self) -> dict[str, Any]:
        return {"steps": {sid: {"outputs": out} for sid, out in self.outputs.items()}}


def _lookup(path: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _resolve(text: str, context: Mapping[str, Any]) -> str:
    """Substitute ${{ context.path }} expressions (the only kind action.yml uses outside `if:`)."""

    def substitute(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_-]+)+", expression), (
            f"unsupported expression {expression!r}"
        )
        value = _lookup(expression, context)
        return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    return EXPRESSION.sub(substitute, text)


def _condition(expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate an `if:` of `a.b == 'x'` / `a.b != true` terms joined by `&&` (strings ignore case)."""
    result = True
    for term in expression.split("&&"):
        match = re.fullmatch(r"\s*([a-z_][A-Za-z0-9_.-]*)\s*(==|!=)\s*('([^']*)'|true|false)\s*", term)
        assert match, f"unsupported condition term {term!r}"
        left = _lookup(match.group(1), context)
        right: Any = match.group(4) if match.group(4) is not None else match.group(3) == "true"
        if isinstance(right, str):
            equal = isinstance(left, str) and left.lower() == right.lower()
        else:
            equal = left is right
        result = result and (equal if match.group(2) == "==" else not equal)
    return result


def _read_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_action(
    inputs: Mapping[str, str],
    workspace: Path,
    venv_bin: str | None,
    event: Mapping[str, Any] | None = None,
    actor: str = "octocat",
    path_prepend: Path | None = None,
    event_name: str | None = None,
) -> Run:
    """Run the action's steps like a runner would; `venv_bin` replaces the install step when given.

    `event_name` defaults to pull_request when the event has a pull_request, else push."""
    values = {name: str(spec.get("default", "")) for name, spec in METADATA["inputs"].items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"unknown inputs {unknown}"
    values.update(inputs)
    runner_temp = workspace.parent / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    event = dict(event or {})
    event_name = event_name or ("pull_request" if "pull_request" in event else "push")
    event_path = runner_temp / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    github_env = {"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event_path)}
    if event_name.startswith("pull_request"):
        github_env["GITHUB_BASE_REF"] = str(_lookup("pull_request.base.ref", event) or "")
    run = Run()
    for step in STEPS:
        context = {
            "inputs": values,
            "steps": {sid: {"outputs": out} for sid, out in run.outputs.items()},
            "github": {"event": event, "actor": actor},
        }
        condition = step.get("if")
        if condition is not None and not _condition(str(condition), context):
            continue
        if run.failed_step is not None:
            break
        step_id = step.get("id", f"step{len(run.outputs)}")
        if "uses" in step:
            run.used.append(step["uses"])
            run.used_with.append({k: _resolve(str(v), context) for k, v in step.get("with", {}).items()})
            if step["uses"].startswith("actions/setup-python@"):
                run.outputs[step_id] = {"python-path": sys.executable}
            continue
        if step_id == "install" and venv_bin is not None:
            run.outputs[step_id] = {"bin": venv_bin}
            continue
        output_file = runner_temp / f"output-{step_id}"
        summary_file = runner_temp / f"summary-{step_id}"
        output_file.write_text("")
        summary_file.write_text("")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "INPUT_"))}
        if path_prepend is not None:
            env["PATH"] = f"{path_prepend}{os.pathsep}{env['PATH']}"
        env.update(
            {
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(summary_file),
                "GITHUB_ACTION_PATH": str(REPO),
                "GITHUB_WORKSPACE": str(workspace),
                "RUNNER_TEMP": str(runner_temp),
                **github_env,
            }
        )
        env.update({key: _resolve(str(value), context) for key, value in step.get("env", {}).items()})
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        run.logs.append(f"--- {step['name']} (exit {result.returncode})\n{result.stdout}{result.stderr}")
        run.outputs[step_id] = _read_outputs(output_file)
        run.summary += summary_file.read_text(encoding="utf-8")
        if result.returncode != 0:
            run.exit_code = result.returncode
            run.failed_step = step["name"]
    return run


def install_venv(workspace: Path) -> str:
    """Run the install step for real: a fresh venv, this checkout installed from GITHUB_ACTION_PATH; with a
    chart to render and no helm binary on PATH, the step adds the helm extra (helm-python-sdk)."""
    run = run_action({"helm-chart": "charts/any"}, workspace, venv_bin=None, event={})
    install = run.outputs.get("install", {})
    assert "bin" in install, "the install step failed:\n" + "\n".join(run.logs)
    assert Path(install["bin"], "netpolscan").exists()
    return install["bin"]


def install_once(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The venv of :func:`install_venv`, made once per test session (found again on disk by the other
    modules that use it, whatever name they import this module under)."""
    root = tmp_path_factory.getbasetemp() / "action-install"
    venv_bin = root / "runner-temp" / "netpolscan-action-venv" / "bin"  # where the install step puts it
    if not (venv_bin / "netpolscan").exists():
        (root / "workspace").mkdir(parents=True, exist_ok=True)
        assert install_venv(root / "workspace") == str(venv_bin)
    return str(venv_bin)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> str:
    return install_once(tmp_path_factory)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    (path / "k8s").mkdir(parents=True)
    return path


def _expected_summary(workspace: Path, *paths: str) -> dict[str, int]:
    from netpolscan.cli import main

    out = workspace.parent / "expected.json"
    cwd = os.getcwd()
    try:
        os.chdir(workspace)
        main(["scan", *paths, "--format", "json", "--output", str(out)])
    finally:
        os.chdir(cwd)
    return json.loads(out.read_text(encoding="utf-8"))["summary"]  # type: ignore[no-any-return]


# --- runs -----------------------------------------------------------------------------------------


def test_bad_manifest_fails_with_sarif_counts_summary_and_upload(installed: str, workspace: Path) -> None:
    (workspace / "k8s" / "policy.yaml").write_text(BAD_POLICY)
    run = run_action(
        {"paths": "k8s"}, workspace, installed, event={"pull_request": {"head": {"repo": {"fork": False}}}}
    )
    assert run.exit_code == 1, "\n".join(run.logs)
    assert run.failed_step == "Exit with the scan's and the diff's exit code"
    outputs = run.action_outputs()
    assert outputs["exit-code"] == "1"
    assert outputs["sarif-file"] == "netpolscan.sarif"
    sarif = json.loads((workspace / "netpolscan.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"NPS302", "NPS303"}
    assert sarif["runs"][0].get("automationDetails", {}).get("id", "").startswith("netpolscan")
    expected = _expected_summary(workspace, "k8s")
    assert expected["error"] >= 1 and expected["warning"] >= 1
    assert outputs["errors"] == str(expected["error"])
    assert outputs["warnings"] == str(expected["warning"])
    assert outputs["notes"] == str(expected["note"])
    assert outputs["findings"] == str(expected["total"])
    assert "netpolscan" in run.summary.lower() and "NPS303" in run.summary
    assert "github/codeql-action/upload-sarif@v3" in run.used


def test_clean_manifest_passes(installed: str, workspace: Path) -> None:
    (workspace / "k8s" / "policy.yaml").write_text(CLEAN_POLICIES)
    run = run_action({"paths": "k8s", "sarif-file": "out/report.sarif"}, workspace, installed)
    # the output folder does not exist: netpolscan reports a write error (exit 2), nothing to upload
    assert run.exit_code == 2 and run.action_outputs()["sarif-file"] == ""
    assert "github/codeql-action/upload-sarif@v3" not in run.used
    (workspace / "out").mkdir()
    run = run_action({"paths": "k8s", "sarif-file": "out/report.sarif"}, workspace, installed)
    assert run.exit_code == 0, "\n".join(run.logs)
    outputs = run.action_outputs()
    assert (outputs["exit-code"], outputs["findings"], outputs["errors"]) == ("0", "0", "0")
    assert (workspace / "out" / "report.sarif").is_file()


def test_fail_on_error_ignores_warnings(installed: str, workspace: Path) -> None:
    # a Namespace manifest puts `default` under review: NPS101/NPS102 are the warnings
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n---\n"
    (workspace / "k8s" / "policy.yaml").write_text(
        namespace + BAD_POLICY.replace("0.0.0.0/0", "203.0.113.0/24")
    )
    run = run_action({"paths": "k8s", "fail-on": "error"}, workspace, installed)
    assert run.exit_code == 0, "\n".join(run.logs)
    assert run.action_outputs()["errors"] == "0" and int(run.action_outputs()["warnings"]) >= 1


@pytest.mark.parametrize(
    ("inputs", "event", "actor"),
    [
        ({"upload": "false"}, {}, "octocat"),
        ({}, {"pull_request": {"head": {"repo": {"fork": True}}}}, "octocat"),
        ({}, {}, "dependabot[bot]"),
    ],
    ids=["upload-false", "fork", "dependabot"],
)
def test_upload_is_skipped_cleanly(
    installed: str, workspace: Path, inputs: dict[str, str], event: dict[str, Any], actor: str
) -> None:
    (workspace / "k8s" / "policy.yaml").write_text(BAD_POLICY)
    run = run_action({"paths": "k8s", **inputs}, workspace, installed, event=event, actor=actor)
    assert "github/codeql-action/upload-sarif@v3" not in run.used
    assert run.exit_code == 1 and (workspace / "netpolscan.sarif").is_file()


def test_input_error_exits_2_without_upload(installed: str, workspace: Path) -> None:
    run = run_action({"paths": "does-not-exist"}, workspace, installed)
    assert run.exit_code == 2, "\n".join(run.logs)
    assert run.action_outputs()["sarif-file"] == ""
    assert "github/codeql-action/upload-sarif@v3" not in run.used
    assert "could not run" in run.summary


# --- argument building, with a stub netpolscan that records its arguments -------------------------

STUB = """\
#!/usr/bin/env bash
printf '%s\\0' "$@" >> "$STUB_LOG"
printf '\\n' >> "$STUB_LOG"
out=""; fmt=""
while [[ $# -gt 0 ]]; do
  case "$1" in --output) out="$2"; shift ;; --format) fmt="$2"; shift ;; esac
  shift
done
case "$fmt" in
  json) echo '{"summary": {"total": 3, "error": 1, "warning": 1, "note": 1, "suppressed": 0},
                 "findings": []}' > "$out" ;;
  sarif) echo '{"version": "2.1.0", "runs": []}' > "$out" ;;
  markdown) echo '## stub markdown summary' > "$out" ;;
esac
exit 1
"""


@pytest.fixture
def stub_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    bin_dir = tmp_path / "stub-bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    stub = bin_dir / "netpolscan"
    stub.write_text(STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("STUB_LOG", str(log))
    yield str(bin_dir), log


def _calls(log: Path) -> list[list[str]]:
    return [line.split("\0") for line in log.read_text(encoding="utf-8").split("\0\n") if line]


def test_arguments_are_built_from_inputs_without_evaluation(
    stub_bin: tuple[str, Path], workspace: Path
) -> None:
    bin_dir, log = stub_bin
    inputs = {
        "paths": "k8s 'dir with space'\nother.yaml",
        "helm-chart": "charts/app",
        "helm-values": "values.yaml\n'prod values.yaml'",
        "kustomize-dir": "overlays/prod",
        "config": "ci/.netpolscan.yaml",
        "fail-on": "error",
        "extra-args": "--select NPS3 --namespace 'shop' $(touch pwned) `touch pwned2`",
        "category": "netpolscan/prod",
    }
    run = run_action(inputs, workspace, bin_dir)
    assert not (workspace / "pwned").exists() and not (workspace / "pwned2").exists()
    calls = _calls(log)
    assert len(calls) == 3  # SARIF, JSON (counts), markdown (summary)
    sarif_call = calls[0]
    assert sarif_call[:9] == [
        "scan",
        "k8s",
        "dir with space",
        "other.yaml",
        "--helm",
        "charts/app",
        "--values",
        "values.yaml",
        "--values",
    ]
    assert sarif_call[9:] == [
        "prod values.yaml",
        "--kustomize",
        "overlays/prod",
        "--config",
        "ci/.netpolscan.yaml",
        "--sarif-category",
        "netpolscan/prod",
        "--select",
        "NPS3",
        "--namespace",
        "shop",
        "$(touch",
        "pwned)",
        "`touch",
        "pwned2`",
        "--fail-on",
        "error",
        "--format",
        "sarif",
        "--output",
        "netpolscan.sarif",
    ]
    assert calls[1][-5:] == ["never", "--format", "json", "--output", calls[1][-1]]
    assert calls[2][-4:-1] == ["--format", "markdown", "--output"]
    outputs = run.action_outputs()
    assert (outputs["errors"], outputs["warnings"], outputs["notes"], outputs["findings"]) == (
        "1",
        "1",
        "1",
        "3",
    )
    assert "stub markdown summary" in run.summary
    assert run.exit_code == 1


def test_something_to_scan_is_required(stub_bin: tuple[str, Path], workspace: Path) -> None:
    bin_dir, log = stub_bin
    run = run_action({}, workspace, bin_dir)
    assert run.exit_code == 2 and not log.exists()
    assert "nothing to scan" in run.logs[-1]
    run_action({"kustomize-dir": "overlays/dev"}, workspace, bin_dir)
    assert _calls(log)[0][:3] == ["scan", "--kustomize", "overlays/dev"]


def test_unbalanced_quotes_are_an_input_error(stub_bin: tuple[str, Path], workspace: Path) -> None:
    bin_dir, log = stub_bin
    run = run_action({"extra-args": "--select 'NPS1"}, workspace, bin_dir)
    assert run.exit_code == 2 and not log.exists()
    assert run.action_outputs()["exit-code"] == "2"
