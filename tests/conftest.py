"""Shared fixtures: the peer-test corpus (skipped with a reason when absent) and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def corpus_path() -> Path | None:
    """``$NETPOLSCAN_CORPUS``, else ``../shared/corpus`` beside the checkout, when it exists."""
    configured = os.environ.get("NETPOLSCAN_CORPUS")
    path = Path(configured) if configured else REPO.parent / "shared" / "corpus"
    return path if path.is_dir() else None


@pytest.fixture
def corpus() -> Path:
    path = corpus_path()
    if path is None:
        pytest.skip("peer corpus not found: set NETPOLSCAN_CORPUS or place it at ../shared/corpus")
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``netpolscan`` in-process through ``main(argv)`` and capture its output."""
    from netpolscan.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
