"""Without the peer corpus the conformance tests skip locally (with one summary line) and fail under CI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize(("ci", "code"), [("", 0), ("true", 1)], ids=["local", "ci"])
def test_a_missing_corpus_skips_locally_and_fails_in_ci(ci: str, code: int) -> None:
    env = {**os.environ, "NETPOLSCAN_CORPUS": str(REPO / "no-such-corpus"), "CI": ci}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_conformance_np_recipes.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == code, proc.stdout[-3000:]
    if ci:
        assert "CI=true, so the conformance tests must run, but: " in proc.stdout
    else:
        assert "2 conformance tests did not run: the peer corpus was not found" in proc.stdout
