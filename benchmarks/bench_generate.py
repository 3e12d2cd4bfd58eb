"""Speed of ``netpolscan generate`` against the CSafeLoader load of the same input, in one run.

The input is the ``app`` shape of ``generate.py`` (N namespaces; default 1000). Measured, each in fresh
child processes, baseline and tool alternated, median of ``--repeat`` runs (the machinery of
``bench_scan.py``):

- the baseline: ``yaml.load_all(..., Loader=yaml.CSafeLoader)`` of the input;
- ``generate --from-connectivity`` (freeze today's connections), verification included;
- ``generate --from-expectations FILE``, verification included, with FILE what a team would state for
  the app: per namespace, ingress-nginx -> frontend 8080, frontend -> api 8080, api -> db 5432
  (written before timing, not timed; 3 entries per namespace).

Printed per mode: wall and user-CPU times, the ratios tool/baseline, and whether the wall ratio meets the
target (issue 17: <= 3x the load at N=1000). Every tool run must exit 0 (written and verified) or 1
(written; verification found what the input's own weak policies allow beyond the plan: every 7th
namespace of the app shape is weak on purpose).

Usage::

    python benchmarks/bench_generate.py                     # N=1000, 3 runs each, both modes
    python benchmarks/bench_generate.py --namespaces 300 --repeat 5 --kind cilium --check
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bench_scan
import generate

TARGET = 3.0
MODES = ("connectivity", "expectations")


def tool_argv(python: str, mode: str, path: Path, expectations: Path, kind: str, out: Path) -> list[str]:
    argv = [python, "-m", "netpolscan", "generate", str(path), "--kind", kind, "-o", str(out)]
    return (
        [*argv, "--from-connectivity"]
        if mode == "connectivity"
        else [*argv, "--from-expectations", str(expectations)]
    )


def expectations_text(path: Path) -> str:
    """The app's intended connections, three entries per application namespace."""
    lines = ["apiVersion: netpolscan.io/v1", "kind: ConnectivityExpectations", "expectations:"]
    names = re.findall(
        r"^kind: Namespace\nmetadata:\n(?:  .*\n)*?  name: (\S+)", path.read_text(), re.MULTILINE
    )
    for ns in names:
        if ns in ("kube-system", "ingress-nginx"):
            continue
        for src, dst, port in (
            ("{namespace: ingress-nginx}", "frontend", 8080),
            (f"{{namespace: {ns}, workload: frontend}}", "api", 8080),
            (f"{{namespace: {ns}, workload: api}}", "db", 5432),
        ):
            lines += [
                f"- from: {src}",
                f"  to: {{namespace: {ns}, workload: {dst}}}",
                f"  ports: ['{port}/TCP']",
                "  expect: allow",
            ]
    return "\n".join(lines) + "\n"


def median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--namespaces", type=int, default=1000, help="namespaces of the app shape (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median; default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", default="networkpolicy", help="policy kind to generate (networkpolicy)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated (default: {','.join(MODES)})"
    )
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--max-ratio", type=float, default=TARGET, help=f"target wall ratio (default {TARGET:g})"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the target is missed or a run fails"
    )
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    env = bench_scan.child_env()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / f"app-{args.namespaces}.yaml"
        with open(path, "w", encoding="ascii", newline="\n") as stream:
            documents = generate.write(stream, args.namespaces, "app", args.seed, False).documents
        bench_scan.log(f"generated {path.name}: {documents:,} documents, {path.stat().st_size:,} bytes")
        expectations = workdir / "expectations.yaml"
        expectations.write_text(expectations_text(path))
        out = workdir / "generated.yaml"
        base: dict[str, list[bench_scan.Run]] = {m: [] for m in modes}
        tool: dict[str, list[bench_scan.Run]] = {m: [] for m in modes}
        baseline_argv = [args.python, "-c", bench_scan.BASELINE_CODE, str(path)]
        for mode in modes:
            for i in range(args.repeat):
                run = bench_scan.run_child(baseline_argv, env)
                base[mode].append(run)
                bench_scan.log(f"baseline run {i + 1}: {run.seconds:.2f} s")
                run = bench_scan.run_child(
                    tool_argv(args.python, mode, path, expectations, args.kind, out), env
                )
                tool[mode].append(run)
                bench_scan.log(
                    f"generate --from-{mode} run {i + 1}: {run.seconds:.2f} s, exit {run.returncode}"
                )
                if run.returncode not in (0, 1) or "Traceback" in run.stderr:
                    failed = True
                    bench_scan.log(run.stderr.strip()[-2000:])
    print(
        f"netpolscan generate ({args.kind}) vs yaml.load_all(CSafeLoader): app shape, N={args.namespaces}, "
        f"{documents:,} documents, median of {args.repeat} runs, python {sys.version.split()[0]}"
    )
    print(f"target: wall ratio <= {args.max_ratio:g}")
    print(
        f"{'mode':<14} {'base s':>7} {'gen s':>7} {'ratio':>6} {'base user':>9} {'gen user':>9} {'user ratio':>10}  verdict"
    )
    for mode in modes:
        b, t = median([r.seconds for r in base[mode]]), median([r.seconds for r in tool[mode]])
        bu, tu = median([r.user for r in base[mode]]), median([r.user for r in tool[mode]])
        ratio = t / b if b and t else None
        user_ratio = tu / bu if bu and tu else None
        ok = ratio is not None and ratio <= args.max_ratio and all(r.returncode in (0, 1) for r in tool[mode])
        failed = failed or not ok
        print(
            f"{'from-' + mode:<14} {b or 0:7.2f} {t or 0:7.2f} {ratio or 0:6.2f} {bu or 0:9.2f} {tu or 0:9.2f} "
            f"{user_ratio or 0:10.2f}  {'PASS' if ok else 'FAIL'}"
        )
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
