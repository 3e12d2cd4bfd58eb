"""Shared fixtures: the peer-test corpus and a CLI runner.

Without the corpus the conformance tests skip with a reason, and the run ends with one line saying how
many did not run; under ``CI=true`` a missing corpus fails them instead (CI must run them).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent


def corpus_path() -> Path | None:
    """``$NETPOLSCAN_CORPUS``, else ``../shared/corpus`` beside the checkout, when it exists."""
    configured = os.environ.get("NETPOLSCAN_CORPUS")
    path = Path(configured) if configured else REPO.parent / "shared" / "corpus"
    return path if path.is_dir() else None


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _missing_corpus(reason: str) -> NoReturn:
    """Skip the calling test (fail it under ``CI=true``): the corpus, or a part of it, is absent."""
    if in_ci():
        pytest.fail(f"CI=true, so the conformance tests must run, but the {reason}")
    pytest.skip(reason)


# The k8s-e2e corpus was written by a YAML writer that leaves the namespace names y and n bare, and
# Kubernetes's YAML 1.1 reader (go-yaml v2), which netpolscan follows, reads a bare y or n as a boolean:
# the tests read a copy with those scalars quoted (the same lines).
_BARE_YES_NO = re.compile(r"(?<=[:\[,-] )[yn](?=[ \t]*$|[,\]])|(?<=\[)[yn](?=[,\]])", re.MULTILINE)


def as_written(root: Path, part: str = "k8s-e2e") -> Path:
    """A corpus root holding ``part`` of ``root`` with its bare y/n scalars quoted (copied once)."""
    copies = Path(tempfile.gettempdir()) / f"netpolscan-corpus-{os.getuid()}"
    if not (copies / part).is_dir() and (root / part).is_dir():
        copies.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=copies))
        shutil.copytree(root / part, staging / part)
        for path in (staging / part).rglob("*.yaml"):
            path.write_text(_BARE_YES_NO.sub(lambda m: f'"{m.group(0)}"', path.read_text()))
        if not (copies / part).exists():
            os.replace(staging / part, copies / part)
    return copies


def require_corpus(*parts: str) -> Path:
    """A path inside the corpus; skips the calling test with a clear reason when it is absent."""
    root = corpus_path()
    if root is None:
        _missing_corpus("peer corpus not found: set NETPOLSCAN_CORPUS or place it at ../shared/corpus")
    if parts and parts[0] == "k8s-e2e":
        root = as_written(root)
    path = root.joinpath(*parts)
    if not path.exists():
        _missing_corpus(f"corpus part {'/'.join(parts)} not found under {root}")
    return path


@pytest.fixture
def corpus() -> Path:
    return require_corpus()


def _corpus_skip(report: pytest.TestReport) -> str | None:
    """The reason of a skip for want of the corpus (any test module's own wording names the corpus)."""
    if not report.skipped or hasattr(report, "wasxfail"):  # an expected failure is no skip
        return None
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason if "corpus" in reason.lower() else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Under ``CI=true``, a test skipped for want of the corpus (``skipif`` marks included) fails."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    reason = _corpus_skip(report)
    if reason is not None and in_ci():
        report.outcome = "failed"
        report.longrepr = f"CI=true, so the conformance tests must run, but: {reason}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _corpus_skip(r) is not None]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} conformance tests did not run: the peer corpus was not found "
            "(set NETPOLSCAN_CORPUS or place it at ../shared/corpus; under CI=true they fail)"
        )


def exit_code_of(report: dict[str, Any], fail_on: str = "warning") -> int:
    """The exit code a ``scan --format json`` run must have given for its ``report`` (2 is not derived:
    a run-stopping error writes no report): 1 when an unsuppressed finding is at or above ``fail_on``."""
    failing = {"error": ("error",), "warning": ("error", "warning"), "note": ("error", "warning", "note")}
    levels = failing.get(fail_on, ())
    return int(any(f["level"] in levels and "suppressed" not in f for f in report["findings"]))


SLOW_FIXTURES = frozenset({"installed", "plugin_venv"})  # each pip-installs into a fresh virtualenv


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need a virtualenv with netpolscan installed are ``slow``."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
