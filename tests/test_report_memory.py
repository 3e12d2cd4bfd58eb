"""Reports are written as streams: peak memory stays under the model plus 4x the report (issue 14, item 15).

A scan's findings are held in memory once; the JSON, SARIF and text writers then stream them to the output
(file or stdout) a finding at a time. Built whole (a dict per finding, then the encoder's pieces, then one
string), a report needed about ten times its own size on top of the model. Peak RSS is read as the other
child-process tests read it (``ru_maxrss`` of exactly that child, through ``os.wait4`` in a small wrapper
interpreter, since Linux keeps a process's peak across fork+exec).

"The model" is measured, not assumed: the peak RSS of the same scan with ``--select NPS001`` (the input
read and modelled, no finding). Namespaces are separate documents (as ``helm template`` writes them), so
reading them never holds more than one small node tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TENANTS = 8000  # two findings each (NPS101, NPS102): 16,000 findings, about 9 MB of JSON

_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def _tenants(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            out.write(
                f"---\n# Source: tenants/templates/namespace.yaml\napiVersion: v1\nkind: Namespace\n"
                f"metadata:\n  name: tenant-{i:05d}\n  labels:\n    tenant.example.com/tier: t{i % 7}\n"
            )
    return path


def _peak_mib(tmp_path: Path, *args: str, stdout: Path | None = None) -> float:
    """Run ``netpolscan scan ARGS`` in a child (stdout to ``stdout``); its peak RSS in MiB.

    The child must exit 0 or 1 without a traceback.
    """
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    )
    rss_file = tmp_path / "child.rss"
    argv = [sys.executable, "-c", _MEASURE, str(rss_file), sys.executable, "-m", "netpolscan", "scan", *args]
    with open(stdout or os.devnull, "wb") as out:
        proc = subprocess.run(argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    code, maxrss = (int(v) for v in rss_file.read_text().split())
    assert code in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The input, and the peak RSS of modelling it (no finding)."""
    tmp_path = tmp_path_factory.mktemp("tenants")
    path = _tenants(tmp_path / "tenants.yaml", TENANTS)
    model = _peak_mib(tmp_path, str(path), "--select", "NPS001", "--format", "json", "--output", "none.json")
    return path, model


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4 (Unix) to read a child's peak RSS")
@pytest.mark.parametrize(
    ("fmt", "to_stdout"), [("json", False), ("sarif", False), ("text", False), ("json", True)]
)
def test_peak_rss_stays_under_the_model_plus_four_reports(
    tenants: tuple[Path, float], tmp_path: Path, fmt: str, to_stdout: bool
) -> None:
    path, model = tenants
    report = tmp_path / f"report.{fmt}"
    if to_stdout:  # `> report.json`: the stdout path streams too
        peak = _peak_mib(tmp_path, str(path), "--format", fmt, stdout=report)
    else:
        peak = _peak_mib(tmp_path, str(path), "--format", fmt, "--output", str(report))
    size = report.stat().st_size / (1024 * 1024)
    assert size > 2, f"the {fmt} report is only {size:.1f} MiB: too small to show the bound"
    budget = model + 4 * size
    print(
        f"{fmt}{' (stdout)' if to_stdout else ''}: peak {peak:.0f} MiB, model {model:.0f} MiB, report {size:.1f} MiB"
    )
    assert peak <= budget, (
        f"{fmt}: peak RSS {peak:.0f} MiB > model {model:.0f} MiB + 4 x report {size:.1f} MiB = {budget:.0f} MiB"
    )
