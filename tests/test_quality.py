"""The code stays typed (mypy strict) and lint-clean (ruff), as docs/design.md asks ("Conventions")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} must be installed in CI (pip install -e '.[test]')")
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def test_ruff_is_clean() -> None:
    _require("ruff")
    ruff = shutil.which("ruff") or "ruff"
    proc = subprocess.run([ruff, "check", "netpolscan", "tests", "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_mypy_strict_is_clean() -> None:
    _require("mypy")
    proc = subprocess.run([sys.executable, "-m", "mypy", "netpolscan"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
