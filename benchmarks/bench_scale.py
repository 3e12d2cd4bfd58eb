"""Scale benchmark: ``scan`` and ``connectivity`` over growing inputs of both generator shapes, in one run.

For every (shape, N) the input is generated once (``generate.py``), then measured with the machinery of
``bench_scan.py`` (each run a fresh child process; wall time including interpreter start-up, peak RSS of
exactly that child via ``os.wait4``; the ``CSafeLoader`` baseline alternated with the tool so drift on a
noisy machine hits both alike; median wall time, maximum RSS over ``--repeat`` runs):

* baseline: ``yaml.load_all(..., Loader=CSafeLoader)`` of the file,
* ``netpolscan scan FILE --format json --output OUT``,
* ``netpolscan connectivity FILE --format json``.

Printed: a table per shape, and the scaling exponent ``log(t2/t1) / log(n2/n1)`` between consecutive
sizes (about 1 = linear). Targets (issue 7), judged on the ``app`` shape:

* scan exponent <= 1.1 (between the two largest sizes),
* scan time at N=1000 <= 2.0x the baseline load of the same file,
* scan peak RSS at N=1000 <= 250 MB,
* connectivity exponent <= 1.3 (between the two largest sizes).

Usage::

    python benchmarks/bench_scale.py                          # app 100,1000,3000 + dense 1000,3000
    python benchmarks/bench_scale.py --repeat 5 --check       # exit 1 when a target is missed
    python benchmarks/bench_scale.py --sizes 100,1000 --dense-sizes 300,1000

Unix only (``os.wait4``), standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bench_scan
import generate


@dataclass
class Point:
    """One (shape, size): the bench_scan row (baseline + scan) and the connectivity runs."""

    shape: str
    row: bench_scan.Row
    connectivity: list[bench_scan.Run] = field(default_factory=list)
    connectivity_error: str | None = None

    @property
    def size(self) -> int:
        return self.row.size

    @property
    def connectivity_seconds(self) -> float | None:
        if self.connectivity_error or not self.connectivity:
            return None
        return statistics.median(r.seconds for r in self.connectivity)

    @property
    def connectivity_rss_mb(self) -> float | None:
        values = [r.rss_mb for r in self.connectivity if r.rss_mb is not None]
        return max(values) if values and not self.connectivity_error else None


def exponent(small: float | None, large: float | None, n1: int, n2: int) -> float | None:
    if not small or not large or n1 == n2:
        return None
    return math.log(large / small) / math.log(n2 / n1)


def measure_point(
    shape: str, size: int, args: argparse.Namespace, env: dict[str, str], workdir: Path
) -> Point:
    path = workdir / f"{shape}-{size}-seed{args.seed}.yaml"
    start = time.perf_counter()
    with open(path, "w", encoding="ascii", newline="\n") as stream:
        stats = generate.write(stream, size, shape, args.seed)
    bench_scan.log(
        f"generated {path.name}: {stats.documents:,} documents, {stats.bytes:,} bytes "
        f"in {time.perf_counter() - start:.1f}s"
    )
    row = bench_scan.Row(
        size=size, path=path, nbytes=path.stat().st_size, generated_documents=stats.documents
    )
    bench_scan.measure(row, args.python, "scan", args.repeat, env, tool_ok=True)
    point = Point(shape, row)
    output = path.with_suffix(".connectivity.json")
    for index in range(args.repeat):
        argv, stdout_path = bench_scan.tool_argv(args.python, "connectivity", path, output)
        run = bench_scan.run_child(argv, env, stdout_path)
        point.connectivity.append(run)
        point.connectivity_error = bench_scan.tool_failure(run)
        if point.connectivity_error:
            break
        rss = f", {run.rss_mb:.0f} MiB" if run.rss_mb is not None else ""
        bench_scan.log(f"  N={size} run {index + 1}/{args.repeat}: connectivity {run.seconds:.3f}s{rss}")
    if point.connectivity_error is None:
        point.connectivity_error = bench_scan.check_json(output)
    return point


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(points: Sequence[Point]) -> None:
    header = (
        "shape",
        "N",
        "bytes",
        "docs",
        "load s",
        "scan s",
        "ratio",
        "load MB",
        "scan MB",
        "conn s",
        "conn MB",
    )
    table = [header]
    for p in points:
        r = p.row
        table.append(
            (
                p.shape,
                str(p.size),
                f"{r.nbytes:,}",
                f"{r.documents:,}" if r.documents is not None else "-",
                _fmt(r.baseline_seconds, ".3f"),
                _fmt(r.tool_seconds, ".3f") if not r.error else "ERROR",
                _fmt(r.ratio, ".2f"),
                _fmt(r.baseline_rss_mb, ".0f"),
                _fmt(r.tool_rss_mb, ".0f"),
                _fmt(p.connectivity_seconds, ".3f") if not p.connectivity_error else "ERROR",
                _fmt(p.connectivity_rss_mb, ".0f"),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def scaling(points: Sequence[Point]) -> dict[tuple[str, int, int], dict[str, float | None]]:
    """(shape, n1, n2) -> exponents of load, scan and connectivity between consecutive sizes."""
    found: dict[tuple[str, int, int], dict[str, float | None]] = {}
    for shape in dict.fromkeys(p.shape for p in points):
        ordered = sorted((p for p in points if p.shape == shape), key=lambda p: p.size)
        for a, b in zip(ordered, ordered[1:], strict=False):
            found[(shape, a.size, b.size)] = {
                "load": exponent(a.row.baseline_seconds, b.row.baseline_seconds, a.size, b.size),
                "scan": exponent(a.row.tool_seconds, b.row.tool_seconds, a.size, b.size),
                "connectivity": exponent(a.connectivity_seconds, b.connectivity_seconds, a.size, b.size),
            }
    return found


def judge(
    points: Sequence[Point],
    exponents: dict[tuple[str, int, int], dict[str, float | None]],
    args: argparse.Namespace,
) -> list[tuple[str, str, bool]]:
    """(target, measured, ok) for each target of the issue, on the app shape."""
    results: list[tuple[str, str, bool]] = []
    app = sorted((p for p in points if p.shape == "app"), key=lambda p: p.size)
    for p in points:
        if p.row.error or p.connectivity_error:
            results.append((f"{p.shape} N={p.size} runs", p.row.error or p.connectivity_error or "", False))
    at = next((p for p in app if p.size == args.target_size), None)
    if at is not None:
        ratio, rss = at.row.ratio, at.row.tool_rss_mb
        results.append(
            (
                f"scan/load at N={at.size} <= {args.max_ratio:g}",
                _fmt(ratio, ".2f"),
                ratio is not None and ratio <= args.max_ratio,
            )
        )
        results.append(
            (
                f"scan RSS at N={at.size} <= {args.max_rss_mb:g} MB",
                _fmt(rss, ".0f") + " MB",
                rss is not None and rss <= args.max_rss_mb,
            )
        )
    if len(app) >= 2:
        key = ("app", app[-2].size, app[-1].size)
        scan_exp, conn_exp = exponents[key]["scan"], exponents[key]["connectivity"]
        results.append(
            (
                f"scan exponent N={key[1]}->{key[2]} <= {args.max_scan_exponent:g}",
                _fmt(scan_exp, ".2f"),
                scan_exp is not None and scan_exp <= args.max_scan_exponent,
            )
        )
        results.append(
            (
                f"connectivity exponent N={key[1]}->{key[2]} <= {args.max_connectivity_exponent:g}",
                _fmt(conn_exp, ".2f"),
                conn_exp is not None and conn_exp <= args.max_connectivity_exponent,
            )
        )
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Scale benchmark of netpolscan scan and connectivity.")
    parser.add_argument(
        "--sizes",
        type=bench_scan.parse_sizes,
        default=[100, 1000, 3000],
        metavar="N[,N...]",
        help="app namespaces (default: 100,1000,3000)",
    )
    parser.add_argument(
        "--dense-sizes",
        type=bench_scan.parse_sizes,
        default=[1000, 3000],
        metavar="N[,N...]",
        help="dense workloads (default: 1000,3000)",
    )
    parser.add_argument("--no-dense", action="store_true", help="skip the dense shape")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement, median taken (default: 3)"
    )
    parser.add_argument(
        "--target-size",
        type=int,
        default=1000,
        help="app size the ratio and RSS targets apply to (default: 1000)",
    )
    parser.add_argument(
        "--max-ratio", type=float, default=2.0, help="target: scan / load at the target size (default: 2.0)"
    )
    parser.add_argument(
        "--max-rss-mb",
        type=float,
        default=250.0,
        help="target: scan peak RSS at the target size (default: 250)",
    )
    parser.add_argument("--max-scan-exponent", type=float, default=1.1, help="target (default: 1.1)")
    parser.add_argument("--max-connectivity-exponent", type=float, default=1.3, help="target (default: 1.3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the children (default: this one)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep inputs and outputs here (default: a temporary directory)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    env = bench_scan.child_env()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="netpolscan-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    points: list[Point] = []
    try:
        for command in ("scan", "connectivity"):
            problem = bench_scan.preflight(args.python, command, env)
            if problem:
                raise SystemExit(problem)
        plan = [("app", n) for n in args.sizes] + (
            [] if args.no_dense else [("dense", n) for n in args.dense_sizes]
        )
        for shape, size in plan:
            points.append(measure_point(shape, size, args, env, workdir))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"netpolscan scale benchmark: seed {args.seed}, median of {args.repeat} run(s), "
        f"python {sys.version.split()[0]}"
    )
    print("(wall times include interpreter start-up; 'load' = yaml.load_all with CSafeLoader; MB = peak RSS)")
    print_table(points)
    exponents = scaling(points)
    for (shape, n1, n2), values in exponents.items():
        parts = ", ".join(f"{name} {_fmt(value, '.2f')}" for name, value in values.items())
        print(f"scaling {shape} N={n1} -> {n2}: {parts}")
    failed = False
    for target, measured, ok in judge(points, exponents, args):
        print(f"{'PASS' if ok else 'FAIL'}  {target}: {measured}")
        failed = failed or not ok
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
