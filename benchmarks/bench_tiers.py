"""Speed with policy kinds beyond NetworkPolicy v1: ``scan`` and ``connectivity`` against the CSafeLoader
load of the same file, with and without cluster-wide policies, in one run.

For N namespaces, four inputs are generated: ``plain``, the ``app`` shape of ``generate.py``;
``cluster-policies``, the same with ``--cluster-policies`` (four Admin ClusterNetworkPolicies with
several Accept/Deny/Pass rules each, and a Baseline default deny); ``cilium``, the app written with
Cilium policies (``generate_cilium.py``); ``calico``, the app written with Calico policies, a Tier and
GlobalNetworkPolicies (``generate_calico.py``). Each is measured with the machinery of ``bench_scan.py``
(fresh child processes, baseline and tool alternated, median of ``--repeat`` runs). Printed for every
(input, command): the ratio tool/baseline of the wall times and of the user CPU times (the steadier one
on a machine other work is loading), and whether the wall ratio meets its target (issues 11-13: scan
<= 2.0x, connectivity <= 2.0x the load at N=1000, for every input).

Usage::

    python benchmarks/bench_tiers.py                      # N=1000, 3 runs each, all four inputs
    python benchmarks/bench_tiers.py --namespaces 300 --repeat 5 --check
    python benchmarks/bench_tiers.py --variants cilium,calico --commands scan --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bench_scan
import generate
import generate_calico
import generate_cilium

TARGETS = {"scan": 2.0, "connectivity": 2.0}
VARIANTS = ("plain", "cluster-policies", "cilium", "calico")
COMMANDS = ("scan", "connectivity")


def _write_input(name: str, namespaces: int, seed: int, path: Path) -> int:
    """Write the input of variant ``name``; returns its document count."""
    with open(path, "w", encoding="ascii", newline="\n") as stream:
        if name in ("plain", "cluster-policies"):
            return generate.write(stream, namespaces, "app", seed, name == "cluster-policies").documents
        module = generate_cilium if name == "cilium" else generate_calico
        documents = 0
        for source, document in module.cluster_documents(namespaces):
            stream.write(generate.render(source, document))
            documents += 1
        return documents


def measure_variant(
    name: str, namespaces: int, args: argparse.Namespace, workdir: Path
) -> list[tuple[str, str, bench_scan.Row]]:
    path = workdir / f"{name}-{namespaces}.yaml"
    documents = _write_input(name, namespaces, args.seed, path)
    bench_scan.log(f"generated {path.name}: {documents:,} documents, {path.stat().st_size:,} bytes")
    rows = []
    env = bench_scan.child_env()
    for command in args.commands:
        row = bench_scan.Row(namespaces, path, path.stat().st_size, documents)
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
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated inputs (default: {','.join(VARIANTS)})",
    )
    parser.add_argument(
        "--commands",
        default=",".join(COMMANDS),
        help=f"comma-separated commands (default: {','.join(COMMANDS)})",
    )
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    args.commands = [c for c in args.commands.split(",") if c]
    unknown = [v for v in variants if v not in VARIANTS] + [c for c in args.commands if c not in COMMANDS]
    if unknown:
        parser.error(f"unknown variant or command: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="netpolscan-bench-tiers-") as tmp:
        workdir = Path(tmp)
        rows = [row for name in variants for row in measure_variant(name, args.namespaces, args, workdir)]
    print(f"\nN={args.namespaces} namespaces; median of {args.repeat} runs each (user: user CPU seconds)")
    print(
        f"{'input':<18} {'command':<13} {'load s':>8} {'tool s':>8} {'ratio':>6} "
        f"{'load user':>9} {'tool user':>9} {'user ratio':>10} {'RSS MiB':>8}  target"
    )
    failed = False
    for name, command, row in rows:
        ratio = row.ratio
        target = TARGETS[command]
        ok = row.error is None and ratio is not None and ratio <= target
        failed |= not ok
        print(
            f"{name:<18} {command:<13} {row.baseline_seconds or 0:>8.3f} {row.tool_seconds or 0:>8.3f} "
            f"{ratio or 0:>6.2f} {row.baseline_user or 0:>9.3f} {row.tool_user or 0:>9.3f} "
            f"{row.user_ratio or 0:>10.2f} {row.tool_rss_mb or 0:>8.0f}  <= {target}x {'ok' if ok else 'MISSED'}"
        )
        if row.error:
            print(f"  error: {row.error}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
