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


def require_corpus(*parts: str) -> Path:
    """A path inside the corpus; skips the calling test with a clear reason when it is absent."""
    root = corpus_path()
    if root is None:
        pytest.skip("peer corpus not found: set NETPOLSCAN_CORPUS or place it at ../shared/corpus")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus part {'/'.join(parts)} not found under {root}")
    return path


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


@pytest.fixture(autouse=True)
def _validate_every_sarif(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SARIF the test-suite produces through the formatter passes the schema and GitHub's rules.

    (The Microsoft Multitool, slower, runs in the SARIF tests themselves.)
    """
    import json

    from netpolscan.report import sarif

    try:
        from tests.sarif_validation import github_rule_errors, schema_errors, schema_path
    except ImportError:  # pragma: no cover - run from inside tests/
        from sarif_validation import github_rule_errors, schema_errors, schema_path  # type: ignore[no-redef]

    original = sarif.render
    check_schema = schema_path() is not None

    def checked(report: object) -> str:
        text = original(report)  # type: ignore[arg-type]
        doc = json.loads(text)
        if len(doc["runs"][0].get("results", [])) <= 2000:  # the 25,000-result limit tests check themselves
            problems = (schema_errors(doc) if check_schema else []) + github_rule_errors(doc)
            assert not problems, f"invalid SARIF produced: {problems[:5]}"
        return text

    monkeypatch.setattr(sarif, "render", checked)
