"""Speed with policy kinds beyond NetworkPolicy v1: ``scan`` and ``connectivity`` against the CSafeLoader
load of the same file, with and without cluster-wide policies, in one run.

For N namespaces of the ``app`` shape (``generate.py``), two inputs are generated: the plain one, and the
same with ``--cluster-policies`` (four Admin ClusterNetworkPolicies with several Accept/Deny/Pass rules
each, and a Baseline default deny). Each is measured with the machinery of ``bench_scan.py`` (fresh child
processes, baseline and tool alternated, median of ``--repeat`` runs). Printed: the ratio tool/baseline
for every (input, command), and whether it meets its target (issue 11: scan <= 2.0x, connectivity <= 2.0x
the load at N=1000, with the cluster policies).

Usage::

    python benchmarks/bench_tiers.py                      # N=1000, 3 runs each
    python benchmarks/bench_tiers.py --namespaces 300 --repeat 5 --check
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bench_scan
import generate

TARGETS = {"scan": 2.0, "connectivity": 2.0}


def measure_variant(
    name: str, namespaces: int, cluster_policies: bool, args: argparse.Namespace, workdir: Path
) -> list[tuple[str, str, bench_scan.Row]]:
    path = workdir / f"{name}-{namespaces}.yaml"
    with open(path, "w", encoding="ascii", newline="\n") as stream:
        stats = generate.write(stream, namespaces, "app", args.seed, cluster_policies)
    bench_scan.log(f"generated {path.name}: {stats.documents:,} documents, {stats.bytes:,} bytes")
    rows = []
    env = bench_scan.child_env()
    for command in ("scan", "connectivity"):
        row = bench_scan.Row(namespaces, path, path.stat().st_size, stats.documents)
        bench_scan.measure(row, args.python, command, args.repeat, env, tool_ok=True)
        rows.append((name, command, row))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--namespaces", type=int, default=1000, help="namespaces of the app shape (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median; default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="netpolscan-bench-tiers-") as tmp:
        workdir = Path(tmp)
        rows = measure_variant("plain", args.namespaces, False, args, workdir)
        rows += measure_variant("cluster-policies", args.namespaces, True, args, workdir)
    print(f"\nN={args.namespaces} namespaces, app shape; median of {args.repeat} runs each")
    print(f"{'input':<18} {'command':<13} {'load s':>8} {'tool s':>8} {'ratio':>6} {'RSS MiB':>8}  target")
    failed = False
    for name, command, row in rows:
        ratio = row.ratio
        target = TARGETS[command]
        ok = row.error is None and ratio is not None and ratio <= target
        failed |= name == "cluster-policies" and not ok
        print(
            f"{name:<18} {command:<13} {row.baseline_seconds or 0:>8.3f} {row.tool_seconds or 0:>8.3f} "
            f"{ratio or 0:>6.2f} {row.tool_rss_mb or 0:>8.0f}  <= {target}x {'ok' if ok else 'MISSED'}"
        )
        if row.error:
            print(f"  error: {row.error}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
