"""Fixes on real inputs: every test folder of two corpus parts, copied, fixed in place and scanned again:
each fixed finding is gone, nothing new appears, and every file still parses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netpolscan.fixes.run import run_fixes
from netpolscan.scan import ScanOptions, scan
from tests.conftest import require_corpus

SUFFIXES = (".yaml", ".yml", ".json")


def _folders(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()})


def _found(path: Path) -> set[tuple[str, str]]:
    return {(f.rule_id, f.fingerprint) for f in scan(ScanOptions(paths=[str(path)])).findings}


@pytest.mark.parametrize(("part", "least"), [("k8s-e2e", 10), ("np-recipes", 3)])
def test_fixes_on_the_corpus_remove_their_findings_and_add_none(
    part: str, least: int, tmp_path: Path
) -> None:
    applied = 0
    root = require_corpus(part)
    for number, folder in enumerate(_folders(root)):
        work = tmp_path / str(number)
        work.mkdir()
        for item in folder.iterdir():
            if item.is_file() and item.suffix in SUFFIXES:
                shutil.copy(item, work / item.name)
        before = _found(work)
        result = run_fixes(ScanOptions(paths=[str(work)]))
        if not result.applied:
            continue
        for changed in result.changed:
            changed.path.write_bytes(changed.encoded())
        fixed = {(f.rule_id, f.fingerprint) for f in result.applied}
        after = _found(work)
        where = folder.relative_to(root)
        assert fixed <= before and not fixed & after, f"{where}: a fixed finding remains"
        assert after <= before, f"{where}: new findings {sorted(after - before)}"
        assert not result.stale and not result.manual
        applied += len(result.applied)
    assert applied >= least  # the parts do have fixable findings
