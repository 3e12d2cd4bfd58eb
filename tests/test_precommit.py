"""The pre-commit hook (.pre-commit-hooks.yaml), run for real with `pre-commit try-repo`.

try-repo clones the hook repository at a commit and pip-installs netpolscan from it into pre-commit's own
virtual environment (PyPI is needed for the build backend and dependencies). So that the test checks this
working tree and never depends on what is or is not committed yet, it first snapshots the tree (tracked and
untracked, not ignored files) into a temporary git repository and tries that; on CI's clean clone the
snapshot is exactly HEAD. Slow (one virtualenv per try-repo run) but always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))

BAD = """\
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

FIXED = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
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
        cidr: 203.0.113.0/24
    ports:
    - protocol: TCP
      port: 443
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "netpolscan tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "netpolscan tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    env.pop("GIT_INDEX_FILE", None)
    env.pop("GIT_DIR", None)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_hook_definition() -> None:
    assert [hook["id"] for hook in HOOKS] == ["netpolscan"]
    hook = HOOKS[0]
    assert hook["entry"] == "netpolscan scan" and hook["language"] == "python"
    assert hook.get("pass_filenames", True) is True and hook["require_serial"] is True
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
    for name in ("k8s/policy.yaml", "deploy/app.yml", "rendered.json"):
        assert files.search(name) and not exclude.search(name), name
    for name in (
        ".pre-commit-config.yaml",
        ".github/workflows/ci.yml",
        "chart/templates/np.yaml",
        "chart/Chart.yaml",
        "chart/values-prod.yaml",
        "README.md",
        "main.py",
    ):
        assert not files.search(name) or exclude.search(name), name


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree as a one-commit git repository."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = snapshot / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(snapshot, "init", "-q")
    _git(snapshot, "add", "-A")
    _git(snapshot, "commit", "-q", "-m", "snapshot")
    return snapshot


def _try_repo(hook_repo: Path, project: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("pre-commit")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("pre-commit is missing: run .ci/install-distribution-tools.sh")
        pytest.skip("pre-commit not installed (bash .ci/install-distribution-tools.sh)")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [executable, "try-repo", str(hook_repo), "netpolscan", "--all-files", "--verbose"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _project(root: Path, policy: str) -> Path:
    project = root / "project"
    (project / "k8s").mkdir(parents=True)
    (project / "k8s" / "policy.yaml").write_text(policy)
    (project / "README.md").write_text("not scanned\n")
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "ci.yml").write_text(
        "on: [push]\njobs: {}\n"
    )  # excluded by the hook
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "manifests")
    return project


def test_try_repo_fails_on_a_bad_policy_and_passes_once_fixed(hook_repo: Path, tmp_path: Path) -> None:
    project = _project(tmp_path, BAD)
    bad = _try_repo(hook_repo, project)
    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert re.search(r"netpolscan\.+Failed", output), output
    assert "NPS303" in output and "k8s/policy.yaml" in output
    assert "ci.yml" not in output, "the hook's exclude keeps workflow files out"

    (project / "k8s" / "policy.yaml").write_text(FIXED)
    _git(project, "commit", "-q", "-am", "fix the policy")
    fixed = _try_repo(hook_repo, project)
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, output
    assert re.search(r"netpolscan\.+Passed", output), output
