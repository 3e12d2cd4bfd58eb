"""Benchmark ``netpolscan scan`` (or ``connectivity``) against a plain libyaml load of the same input.

One run generates the inputs (``generate.py``, shape ``app`` by default), then, for every size, measures
alternately

* the baseline: ``list(yaml.load_all(open(FILE), Loader=yaml.CSafeLoader))`` in a fresh interpreter, and
* ``python -m netpolscan scan FILE --format json --output OUT`` (or ``connectivity FILE --format json``),

each in its own child process, so wall time includes interpreter start-up for both and the peak RSS
(``ru_maxrss`` of exactly that child, read with ``os.wait4``) is per process. Every measurement is
repeated (median wall time, maximum RSS) because the machine is noisy; what is judged is the ratio
scan / baseline measured in the same run, plus the peak RSS, at the target size (N=1000 by default).

Usage::

    python benchmarks/bench_scan.py                       # N=1000, scan, prints the table
    python benchmarks/bench_scan.py --sizes 100,1000,3000 # also prints scaling exponents
    python benchmarks/bench_scan.py --command connectivity --max-ratio 5
    python benchmarks/bench_scan.py --check               # exit 1 when a target is missed

Only the standard library (and PyYAML, in the baseline child) is used. Unix only (``os.wait4``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import generate

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("scan", "connectivity")

# The baseline child: exactly the load the tool cannot beat, in a fresh interpreter. Prints the count.
BASELINE_CODE = (
    "import sys, yaml\n"
    "docs = list(yaml.load_all(open(sys.argv[1]), Loader=yaml.CSafeLoader))\n"
    "print(len(docs))\n"
)


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, peak RSS in MiB (None when unknown), exit code, output."""

    seconds: float
    rss_mb: float | None
    returncode: int
    stdout: str
    stderr: str
    # user CPU seconds of the child (ru_utime): steadier than wall time on a busy machine
    user: float | None = None


@dataclass
class Row:
    """Everything measured for one input size."""

    size: int
    path: Path
    nbytes: int
    generated_documents: int
    documents: int | None = None
    baseline: list[Run] = field(default_factory=list)
    tool: list[Run] = field(default_factory=list)
    error: str | None = None

    @property
    def baseline_seconds(self) -> float | None:
        return statistics.median(r.seconds for r in self.baseline) if self.baseline else None

    @property
    def tool_seconds(self) -> float | None:
        return statistics.median(r.seconds for r in self.tool) if self.tool and not self.error else None

    @property
    def ratio(self) -> float | None:
        base, tool = self.baseline_seconds, self.tool_seconds
        return tool / base if base and tool is not None else None

    @property
    def baseline_user(self) -> float | None:
        values = [r.user for r in self.baseline if r.user is not None]
        return statistics.median(values) if values else None

    @property
    def tool_user(self) -> float | None:
        values = [r.user for r in self.tool if r.user is not None]
        return statistics.median(values) if values and not self.error else None

    @property
    def user_ratio(self) -> float | None:
        """median(tool user CPU) / median(baseline user CPU)."""
        base, tool = self.baseline_user, self.tool_user
        return tool / base if base and tool is not None else None

    @staticmethod
    def _peak(runs: Sequence[Run]) -> float | None:
        values = [r.rss_mb for r in runs if r.rss_mb is not None]
        return max(values) if values else None

    @property
    def baseline_rss_mb(self) -> float | None:
        return self._peak(self.baseline)

    @property
    def tool_rss_mb(self) -> float | None:
        return None if self.error else self._peak(self.tool)


# --------------------------------------------------------------------------------------------------
# Running children
# --------------------------------------------------------------------------------------------------


def _maxrss_mb(ru_maxrss: int) -> float:
    """``ru_maxrss`` is KiB on Linux and the BSDs, bytes on macOS."""
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def run_child(argv: Sequence[str], env: dict[str, str], stdout_path: Path | None = None) -> Run:
    """Run ``argv`` to completion; time it and read the peak RSS of exactly that process."""
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile())
        out: IO[bytes] = stack.enter_context(
            open(stdout_path, "wb") if stdout_path else tempfile.TemporaryFile()
        )
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO_ROOT, env=env
        )
        rss: float | None = None
        user: float | None = None
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            rss = _maxrss_mb(usage.ru_maxrss)
            user = usage.ru_utime
        else:  # pragma: no cover - no wait4 (Windows): wall time only
            proc.wait()
            seconds = time.perf_counter() - start
        err.seek(0)
        stdout = b""
        if not stdout_path:
            out.seek(0)
            stdout = out.read()
        return Run(
            seconds=seconds,
            rss_mb=rss,
            returncode=proc.returncode,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            user=user,
        )


def child_env() -> dict[str, str]:
    """The environment for children: the working tree's package first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def tool_argv(python: str, command: str, path: Path, output: Path) -> tuple[list[str], Path | None]:
    """The measured netpolscan command line, and the file its stdout goes to (None: captured)."""
    argv = [python, "-m", "netpolscan", command, str(path), "--format", "json"]
    if command == "scan":
        return [*argv, "--output", str(output)], None
    return argv, output


def tool_failure(run: Run) -> str | None:
    """Why a tool run does not count, or None. Exit 0 (clean) and 1 (findings) are both success."""
    if run.returncode not in (0, 1) or "Traceback (most recent call last)" in run.stderr:
        tail = "\n".join(run.stderr.strip().splitlines()[-15:]) or "(no stderr)"
        return f"exit code {run.returncode}:\n{tail}"
    return None


def check_json(path: Path) -> str | None:
    """The tool's output must at least be one JSON value; returns an error message or None."""
    try:
        with open(path, encoding="utf-8") as stream:
            json.load(stream)
    except (OSError, ValueError) as exc:
        return f"output {path.name} is not valid JSON: {exc}"
    return None


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def preflight(python: str, command: str, env: dict[str, str]) -> str | None:
    """``netpolscan <command> --help`` must work before any timing (this also warms the .pyc cache)."""
    run = run_child([python, "-m", "netpolscan", command, "--help"], env)
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        return f"`python -m netpolscan {command} --help` failed with exit code {run.returncode}:\n{tail}"
    return None


def measure(row: Row, python: str, command: str, repeat: int, env: dict[str, str], tool_ok: bool) -> None:
    """Alternate baseline and tool runs so that drift on a noisy machine hits both alike."""
    output = row.path.with_suffix(f".{command}.json")
    for index in range(repeat):
        base = run_child([python, "-c", BASELINE_CODE, str(row.path)], env)
        if base.returncode != 0:
            raise SystemExit(f"baseline load failed for {row.path}:\n{base.stderr}")
        row.baseline.append(base)
        row.documents = int(base.stdout.strip())
        message = f"  N={row.size} run {index + 1}/{repeat}: baseline {base.seconds:.3f}s"
        if tool_ok and row.error is None:
            argv, stdout_path = tool_argv(python, command, row.path, output)
            run = run_child(argv, env, stdout_path)
            row.tool.append(run)
            row.error = tool_failure(run)
            if row.error is None and index == repeat - 1:
                row.error = check_json(output)
            message += f", {command} {run.seconds:.3f}s (exit {run.returncode}"
            message += f", {run.rss_mb:.0f} MiB)" if run.rss_mb is not None else ")"
        log(message)
    if row.error:
        log(f"  N={row.size}: {command} FAILED: {row.error}")


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def verdict(row: Row, checked: bool, max_ratio: float, max_rss_mb: float) -> tuple[str, bool]:
    """The verdict column and whether the row fails its targets."""
    if row.error:
        return "ERROR", True
    if not checked:
        return "-", False
    problems = []
    ratio, rss = row.ratio, row.tool_rss_mb
    if ratio is None:
        problems.append("not measured")
    elif ratio > max_ratio:
        problems.append(f"ratio {ratio:.2f} > {max_ratio:g}")
    if rss is not None and rss > max_rss_mb:
        problems.append(f"RSS {rss:.0f} > {max_rss_mb:g} MB")
    return ("FAIL (" + "; ".join(problems) + ")", True) if problems else ("PASS", False)


def report(rows: Sequence[Row], args: argparse.Namespace, checked_sizes: set[int]) -> bool:
    """Print the table and scaling exponents; returns True when a checked row misses a target."""
    command = args.command
    print(
        f"netpolscan {command} vs yaml.load_all(CSafeLoader): shape {args.shape}, seed {args.seed}, "
        f"median of {args.repeat} run{'s' if args.repeat != 1 else ''}, python {sys.version.split()[0]}"
    )
    print(
        f"targets at N={','.join(map(str, sorted(checked_sizes)))}: ratio <= {args.max_ratio:g}, "
        f"{command} peak RSS <= {args.max_rss_mb:g} MB"
    )
    header = (
        "N",
        "bytes",
        "documents",
        "baseline s",
        f"{command} s",
        "ratio",
        "base RSS MB",
        f"{command} RSS MB",
        "verdict",
    )
    table = [header]
    failed = False
    for row in rows:
        text, bad = verdict(row, row.size in checked_sizes, args.max_ratio, args.max_rss_mb)
        failed = failed or bad
        table.append(
            (
                str(row.size),
                f"{row.nbytes:,}",
                f"{row.documents:,}" if row.documents is not None else "-",
                _fmt(row.baseline_seconds, ".3f"),
                _fmt(row.tool_seconds, ".3f"),
                _fmt(row.ratio, ".2f"),
                _fmt(row.baseline_rss_mb, ".0f"),
                _fmt(row.tool_rss_mb, ".0f"),
                text,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        cells = [cell.rjust(width) for cell, width in zip(line, widths, strict=False)]
        print("  ".join([*cells, line[-1]]))

    ordered = sorted(rows, key=lambda r: r.size)
    for small, large in zip(ordered, ordered[1:], strict=False):
        if small.size <= 0 or large.size == small.size:
            continue
        scale = math.log(large.size / small.size)
        parts = []
        for label, t1, t2 in (
            ("baseline", small.baseline_seconds, large.baseline_seconds),
            (command, small.tool_seconds, large.tool_seconds),
        ):
            exponent = math.log(t2 / t1) / scale if t1 and t2 else None
            parts.append(f"{label} {_fmt(exponent, '.2f')}")
        print(f"scaling N={small.size} -> {large.size} (log(t2/t1) / log(n2/n1)): " + ", ".join(parts))
    return failed


# --------------------------------------------------------------------------------------------------
# Report memory (--report-memory): the issue's `kind: List` of Namespaces, two findings each
# --------------------------------------------------------------------------------------------------

REPORT_FORMATS = ("json", "sarif", "text")
MAX_REPORT_FACTOR = 4.0  # peak RSS <= model + 4 x the report's size


def write_namespace_list(path: Path, count: int) -> None:
    """A ``kubectl get ns -o yaml``-like ``kind: List`` of ``count`` Namespaces (NPS101 + NPS102 each)."""
    with open(path, "w", encoding="ascii", newline="\n") as out:
        out.write("apiVersion: v1\nkind: List\nitems:\n")
        for i in range(count):
            out.write(f"- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: tenant-{i:06d}\n")


def report_memory(python: str, env: dict[str, str], workdir: Path, sizes: Sequence[int]) -> bool:
    """Peak RSS of writing each report format against the model's (the same scan with no finding).

    Prints one row per size and format; returns True when a row exceeds model + 4 x report.
    """
    print(f"netpolscan scan report memory: kind: List of N Namespaces, python {sys.version.split()[0]}")
    print(f"target: peak RSS <= model RSS + {MAX_REPORT_FACTOR:g} x report size (model: --select NPS001)")
    table = [("N", "format", "report MB", "model MB", "RSS MB", "(RSS - model) / report", "verdict")]
    failed = False
    for size in sizes:
        path = workdir / f"namespaces-{size}.yaml"
        write_namespace_list(path, size)
        scan = [python, "-m", "netpolscan", "scan", str(path)]
        model = run_child([*scan, "--select", "NPS001", "--output", str(workdir / "none")], env)
        for fmt in REPORT_FORMATS:
            output = workdir / f"namespaces-{size}.{fmt}"
            run = run_child([*scan, "--format", fmt, "--output", str(output)], env)
            problem = tool_failure(run) or tool_failure(model)
            mib = output.stat().st_size / (1024 * 1024) if output.exists() else 0.0
            factor = (run.rss_mb - model.rss_mb) / mib if run.rss_mb and model.rss_mb and mib else None
            bad = problem is not None or factor is None or factor > MAX_REPORT_FACTOR
            failed = failed or bad
            log(f"  N={size} {fmt}: {run.seconds:.1f}s, exit {run.returncode}, {_fmt(run.rss_mb, '.0f')} MiB")
            row = (str(size), fmt, f"{mib:.1f}", _fmt(model.rss_mb, ".0f"), _fmt(run.rss_mb, ".0f"))
            table.append((*row, _fmt(factor, ".2f"), "ERROR" if problem else ("FAIL" if bad else "PASS")))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    for line in table:
        print("  ".join([*(cell.rjust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]))
    return failed


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return list(dict.fromkeys(sizes))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark netpolscan against a plain YAML load.")
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[1000],
        metavar="N[,N...]",
        help="input sizes, namespaces for shape app (default: 1000)",
    )
    parser.add_argument("--shape", choices=generate.SHAPES, default="app", help="input shape (default: app)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument("--command", choices=COMMANDS, default="scan", help="what to measure (default: scan)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement, median taken (default: 3)"
    )
    parser.add_argument("--max-ratio", type=float, default=3.0, help="target: time / baseline (default: 3.0)")
    parser.add_argument(
        "--max-rss-mb", type=float, default=300.0, help="target: peak RSS in MB (default: 300)"
    )
    parser.add_argument(
        "--target-size",
        type=int,
        default=1000,
        help="size the targets apply to; every size when it is not measured (default: 1000)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed or a run fails")
    parser.add_argument(
        "--report-memory",
        action="store_true",
        help="instead: peak RSS of writing JSON, SARIF and text reports for a kind: List of N Namespaces, "
        "against the model's (target: model + 4 x report)",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the children (default: this one)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep inputs and outputs here (default: a temporary directory, removed afterwards)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    env = child_env()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="netpolscan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.report_memory:
        try:
            failed = report_memory(args.python, env, workdir, args.sizes)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        return 1 if args.check and failed else 0
    try:
        problem = preflight(args.python, args.command, env)
        if problem:
            log(f"cannot run netpolscan, measuring the baseline only:\n{problem}")
        rows: list[Row] = []
        for size in args.sizes:
            path = workdir / f"{args.shape}-{size}-seed{args.seed}.yaml"
            start = time.perf_counter()
            with open(path, "w", encoding="ascii", newline="\n") as stream:
                stats = generate.write(stream, size, args.shape, args.seed)
            log(
                f"generated {path.name}: {stats.documents:,} documents, {stats.bytes:,} bytes "
                f"in {time.perf_counter() - start:.1f}s"
            )
            row = Row(size=size, path=path, nbytes=path.stat().st_size, generated_documents=stats.documents)
            measure(row, args.python, args.command, args.repeat, env, tool_ok=problem is None)
            if problem:
                row.error = "netpolscan is not runnable (see above)"
            if row.documents != row.generated_documents:
                log(
                    f"warning: the generator wrote {row.generated_documents} documents, "
                    f"the loader saw {row.documents}"
                )
            rows.append(row)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    checked = {args.target_size} if args.target_size in args.sizes else set(args.sizes)
    if args.target_size not in args.sizes:
        log(f"note: --target-size {args.target_size} was not measured; checking the targets at every size")
    failed = report(rows, args, checked)
    if args.check and failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
