"""Benchmark ``netpolscan connectivity`` against network-config-analyzer (NCA) 2.1.0 and a plain YAML load.

In one run:

1. Install NCA 2.1.0 from PyPI into its own virtualenv in a cache directory (reused when it already holds
   that version): ``~/.cache/netpolscan-bench/nca-venv`` unless ``--venv`` says otherwise.
2. Generate the ``app`` input for N=100 namespaces (``generate.py``), run ``netpolscan connectivity FILE
   --format txt`` and ``nca --connectivity -r FILE --output_format txt_no_fw_rules`` on it, alternately,
   and check that both report the same connections: both outputs are normalised to
   (src, dst, protocol, port ranges) per workload pair (and, for external addresses, per merged address
   range, because netpolscan splits the address space at every CIDR boundary a policy uses while NCA merges
   neighbouring ranges with the same connections). Differences are printed with examples.
   NCA 2.1.0 rejects ``policyTypes: [Egress, Ingress]``; when the input has that order, NCA gets a copy with
   the list reordered (the script says so).
3. Print the speed ratio NCA time / netpolscan time (median wall times, interpreter start-up included for
   both, each in its own child process).
4. Generate the ``app`` input for N=1000 and time ``netpolscan connectivity`` against
   ``list(yaml.load_all(open(FILE), Loader=yaml.CSafeLoader))`` of the same file, alternately; print the
   ratio and netpolscan's peak RSS (``ru_maxrss`` of exactly that child, via ``os.wait4``).

Targets: NCA / netpolscan >= 20 at N=100; netpolscan / CSafeLoader <= 5 at N=1000; peak RSS <= 400 MB.
With ``--check`` the exit status is 1 when a target is missed, a run fails, or the connections differ.

Usage::

    python benchmarks/bench_connectivity_nca.py
    python benchmarks/bench_connectivity_nca.py --check --repeat 5
    python benchmarks/bench_connectivity_nca.py --workdir /tmp/nca-bench   # keep inputs and outputs

Needs network access to PyPI on the first run (or a configured index), Unix (``os.wait4``), and PyYAML.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import bench_scan
import generate
from bench_scan import BASELINE_CODE, Run, child_env, log, run_child

NCA_VERSION = "2.1.0"
DEFAULT_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "netpolscan-bench" / "nca-venv"
)
PROTOCOLS = ("SCTP", "TCP", "UDP")
FULL = ((1, 65535),)

# A normalised connection: (src, dst, protocol, port intervals); src/dst are workload names
# ("ns/name[Kind]") or "ext:first-last" for merged external ranges.
Key = tuple[str, str, str, tuple[tuple[int, int], ...]]


# --------------------------------------------------------------------------------------------------
# NCA in its own virtualenv
# --------------------------------------------------------------------------------------------------


def _venv_bin(env_dir: Path, name: str) -> Path:
    return env_dir / ("Scripts" if os.name == "nt" else "bin") / name


def installed_version(env_dir: Path) -> str | None:
    python = _venv_bin(env_dir, "python")
    if not python.exists() or not _venv_bin(env_dir, "nca").exists():
        return None
    code = "import importlib.metadata as m; print(m.version('network-config-analyzer'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_nca(env_dir: Path) -> Path:
    """The ``nca`` executable of a virtualenv holding NCA ``NCA_VERSION`` (created when needed)."""
    if installed_version(env_dir) == NCA_VERSION:
        log(f"reusing NCA {NCA_VERSION} in {env_dir}")
        return _venv_bin(env_dir, "nca")
    log(f"installing network-config-analyzer=={NCA_VERSION} into {env_dir} ...")
    start = time.perf_counter()
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=env_dir.exists()).create(env_dir)
    pip = [
        str(_venv_bin(env_dir, "python")),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    done = subprocess.run([*pip, f"network-config-analyzer=={NCA_VERSION}"], capture_output=True, text=True)
    if done.returncode != 0 or installed_version(env_dir) != NCA_VERSION:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise SystemExit(f"cannot install network-config-analyzer=={NCA_VERSION}:\n{tail}")
    log(f"installed in {time.perf_counter() - start:.0f}s")
    return _venv_bin(env_dir, "nca")


def nca_input(path: Path) -> tuple[Path, list[str]]:
    """The file to give NCA, and notes on what was changed for it (nothing: the same file).

    NCA 2.1.0 refuses ``policyTypes: [Egress, Ingress]``; such lists are reordered in a copy.
    """
    import yaml

    with open(path, encoding="utf-8") as stream:
        docs = list(yaml.load_all(stream, Loader=yaml.CSafeLoader))
    notes: list[str] = []
    reordered = 0
    for doc in docs:
        spec = doc.get("spec") if isinstance(doc, dict) and doc.get("kind") == "NetworkPolicy" else None
        types = spec.get("policyTypes") if isinstance(spec, dict) else None
        if isinstance(types, list) and types == ["Egress", "Ingress"]:
            spec["policyTypes"] = ["Ingress", "Egress"]
            reordered += 1
    pod_ips = sum(
        1
        for doc in docs
        if isinstance(doc, dict)
        and isinstance(doc.get("status"), dict)
        and (doc["status"].get("podIP") or doc["status"].get("podIPs"))
    )
    if pod_ips:
        notes.append(
            f"{pod_ips} objects carry status.podIP(s): netpolscan matches ipBlocks against them, NCA does not"
        )
    if not reordered:
        return path, notes
    copy = path.with_name(path.stem + ".nca.yaml")
    with open(copy, "w", encoding="utf-8") as stream:
        yaml.dump_all(docs, stream, Dumper=yaml.CSafeDumper, sort_keys=False)
    notes.append(
        f"NCA was given a normalised copy ({copy.name}): policyTypes [Egress, Ingress] reordered to "
        f"[Ingress, Egress] in {reordered} policies (NCA {NCA_VERSION} rejects that order)"
    )
    return copy, notes


# --------------------------------------------------------------------------------------------------
# Normalising both outputs
# --------------------------------------------------------------------------------------------------


def _intervals(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        lo, _, hi = item.partition("-")
        out.append((int(lo), int(hi or lo)))
    return _merge(out)


def _merge(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


_NPS_CHUNK = re.compile(r"(SCTP|TCP|UDP) ([0-9,\-]+?)(?=,(?:SCTP|TCP|UDP) |$)")


def parse_netpolscan_conn(text: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """``All Connections`` / ``TCP 80,8080-8090,UDP 53`` -> protocol -> intervals."""
    text = text.strip()
    if text.lower() == "all connections":
        return dict.fromkeys(PROTOCOLS, FULL)
    if text.lower() == "no connections":
        return {}
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for protocol, ports in _NPS_CHUNK.findall(text):
        found[protocol].extend(_intervals(ports))
    if not found:
        raise ValueError(f"cannot read netpolscan connection {text!r}")
    return {protocol: _merge(parts) for protocol, parts in found.items()}


_NCA_CUBE = re.compile(r"\{([^}]*)\}")
_NCA_FIELD = re.compile(r",(?=[a-z_]+:)")


def parse_nca_conn(text: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """``All connections`` / ``{protocols:TCP, UDP,dst_ports:53};{...}`` -> protocol -> intervals.

    A cube without ``dst_ports`` allows every port of its protocols; without ``protocols``, every protocol.
    Other dimensions (src_ports, methods, paths, ...) do not occur for plain NetworkPolicies: they are an
    error here, so a silent over-approximation cannot hide a difference.
    """
    text = text.strip()
    if text.lower() == "all connections":
        return dict.fromkeys(PROTOCOLS, FULL)
    if text.lower() == "no connections":
        return {}
    cubes = _NCA_CUBE.findall(text)
    if not cubes:
        raise ValueError(f"cannot read NCA connection {text!r}")
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for cube in cubes:
        fields = dict(part.split(":", 1) for part in _NCA_FIELD.split(cube.strip()) if part)
        unknown = set(fields) - {"protocols", "dst_ports"}
        if unknown:
            raise ValueError(f"NCA connection {text!r} has dimensions {sorted(unknown)} this script ignores")
        protocols = [p.strip().upper() for p in fields.get("protocols", ",".join(PROTOCOLS)).split(",")]
        ports = _intervals(fields["dst_ports"]) if "dst_ports" in fields else FULL
        for protocol in protocols:
            if protocol not in PROTOCOLS:
                raise ValueError(f"NCA connection {text!r}: protocol {protocol} not comparable")
            found[protocol].extend(ports)
    return {protocol: _merge(parts) for protocol, parts in found.items()}


def _address_range(name: str) -> tuple[int, int] | None:
    """``a.b.c.d-e.f.g.h`` or ``a.b.c.d`` (with or without ``[External]``) or a CIDR -> (first, last).

    None: a workload name.
    """
    name = name.removesuffix("[External]").strip()
    if "[" in name:
        return None
    try:
        if "/" in name and "-" not in name:
            network = ipaddress.ip_network(name, strict=False)
            return int(network.network_address), int(network.broadcast_address)
        first, _, last = name.partition("-")
        return int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last or first))
    except ValueError:
        return None


def normalise(lines: Iterable[str], parse_conn: object) -> tuple[set[Key], list[str]]:
    """Lines ``src => dst : conn`` -> the set of normalised keys, and lines that could not be read."""
    assert callable(parse_conn)
    workload: set[Key] = set()
    # (workload, direction, protocol) -> [(first, last, intervals)]; merged into maximal ranges below
    external: dict[tuple[str, str, str], list[tuple[int, int, tuple[tuple[int, int], ...]]]] = defaultdict(
        list
    )
    unread: list[str] = []
    for line in lines:
        if " => " not in line or " : " not in line:
            continue
        peers, _, conn_text = line.partition(" : ")
        src, _, dst = (part.strip() for part in peers.partition(" => "))
        if src == dst:
            continue  # replicas of one workload: not a workload pair
        try:
            conn = parse_conn(conn_text)
        except ValueError as exc:
            unread.append(f"{line.strip()}  ({exc})")
            continue
        src_range, dst_range = _address_range(src), _address_range(dst)
        if src_range is None and dst_range is None:
            for protocol, intervals in conn.items():
                if intervals:
                    workload.add((src, dst, protocol, intervals))
        elif src_range is not None and dst_range is None:
            for protocol, intervals in conn.items():
                external[(dst, "from", protocol)].append((*src_range, intervals))
        elif dst_range is not None and src_range is None:
            for protocol, intervals in conn.items():
                external[(src, "to", protocol)].append((*dst_range, intervals))
        else:
            unread.append(f"{line.strip()}  (external on both sides)")
    keys = set(workload)
    for (name, direction, protocol), ranges in external.items():
        merged: list[list[object]] = []
        for first, last, intervals in sorted(ranges):
            if merged and merged[-1][2] == intervals and first == merged[-1][1] + 1:  # type: ignore[operator]
                merged[-1][1] = last
            else:
                merged.append([first, last, intervals])
        for first, last, intervals in merged:
            text = f"ext:{ipaddress.IPv4Address(first)}-{ipaddress.IPv4Address(last)}"  # type: ignore[arg-type]
            pair = (text, name) if direction == "from" else (name, text)
            keys.add((*pair, protocol, intervals))  # type: ignore[arg-type]
    return keys, unread


def _show(key: Key) -> str:
    src, dst, protocol, intervals = key
    ports = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in intervals)
    return f"{src} => {dst} : {protocol} {ports}"


def compare(nps: set[Key], nca: set[Key], examples: int) -> list[str]:
    """Human-readable differences (empty: the same connections)."""
    out: list[str] = []
    for title, only in (("only netpolscan allows", nps - nca), ("only NCA allows", nca - nps)):
        if not only:
            continue
        kinds = defaultdict(list)
        for key in sorted(only):
            kinds[
                "external" if key[0].startswith("ext:") or key[1].startswith("ext:") else "workload"
            ].append(key)
        for kind, keys in sorted(kinds.items()):
            out.append(f"  {title} ({kind} pairs): {len(keys)} (src, dst, protocol) entries, e.g.")
            out.extend(f"    {_show(key)}" for key in keys[:examples])
    return out


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


def generate_input(workdir: Path, size: int, seed: int) -> Path:
    path = workdir / f"app-{size}-seed{seed}.yaml"
    start = time.perf_counter()
    with open(path, "w", encoding="ascii", newline="\n") as stream:
        stats = generate.write(stream, size, "app", seed)
    log(
        f"generated {path.name}: {stats.documents:,} documents, {stats.bytes:,} bytes "
        f"in {time.perf_counter() - start:.1f}s"
    )
    return path


def failed(run: Run, what: str, ok_codes: Sequence[int] = (0,)) -> str | None:
    if run.returncode not in ok_codes or "Traceback (most recent call last)" in run.stderr:
        tail = "\n".join(run.stderr.strip().splitlines()[-15:]) or "(no stderr)"
        return f"{what}: exit code {run.returncode}:\n{tail}"
    return None


def _median(runs: Sequence[Run]) -> float:
    return statistics.median(run.seconds for run in runs)


def _peak(runs: Sequence[Run]) -> float | None:
    values = [run.rss_mb for run in runs if run.rss_mb is not None]
    return max(values) if values else None


def nps_argv(python: str, path: Path) -> list[str]:
    return [python, "-m", "netpolscan", "connectivity", str(path), "--format", "txt"]


def versus_nca(args: argparse.Namespace, workdir: Path, env: dict[str, str], nca: Path) -> dict[str, object]:
    path = generate_input(workdir, args.nca_size, args.seed)
    nca_path, notes = nca_input(path)
    for note in notes:
        log(f"note: {note}")
    nps_out, nca_out = workdir / "netpolscan.txt", workdir / "nca.txt"
    nps_runs: list[Run] = []
    nca_runs: list[Run] = []
    nca_argv = [str(nca), "--connectivity", "-r", str(nca_path), "--output_format", "txt_no_fw_rules"]
    errors: list[str] = []
    for index in range(args.nca_repeat):
        run = run_child(nps_argv(args.python, path), env, nps_out)
        nps_runs.append(run)
        # NCA's exit code is the query result (0/1); 2-3 mean an output comparison, >= 4 not executed
        other = run_child(nca_argv, env, nca_out)
        nca_runs.append(other)
        log(
            f"  N={args.nca_size} run {index + 1}/{args.nca_repeat}: netpolscan {run.seconds:.3f}s "
            f"(exit {run.returncode}), nca {other.seconds:.3f}s (exit {other.returncode})"
        )
        for problem in (failed(run, "netpolscan"), failed(other, "nca", (0, 1))):
            if problem:
                errors.append(problem)
        if errors:
            break
    # more netpolscan runs (it is fast): the median of a handful is steadier than of one or two
    for _ in range(max(0, args.repeat - args.nca_repeat)):
        run = run_child(nps_argv(args.python, path), env, nps_out)
        nps_runs.append(run)
        problem = failed(run, "netpolscan")
        if problem:
            errors.append(problem)
            break
    result: dict[str, object] = {"notes": notes, "errors": errors}
    if errors:
        return result
    nps_keys, nps_unread = normalise(nps_out.read_text().splitlines(), parse_netpolscan_conn)
    nca_keys, nca_unread = normalise(nca_out.read_text().splitlines(), parse_nca_conn)
    result.update(
        nps_seconds=_median(nps_runs),
        nca_seconds=_median(nca_runs),
        nps_runs=len(nps_runs),
        nca_runs=len(nca_runs),
        nps_lines=sum(1 for line in nps_out.read_text().splitlines() if " => " in line),
        nca_lines=sum(1 for line in nca_out.read_text().splitlines() if " => " in line),
        nps_keys=len(nps_keys),
        nca_keys=len(nca_keys),
        unread=[f"netpolscan: {line}" for line in nps_unread] + [f"nca: {line}" for line in nca_unread],
        differences=compare(nps_keys, nca_keys, args.examples),
    )
    return result


def versus_load(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> dict[str, object]:
    path = generate_input(workdir, args.size, args.seed)
    output = workdir / f"netpolscan-{args.size}.txt"
    base_runs: list[Run] = []
    nps_runs: list[Run] = []
    errors: list[str] = []
    for index in range(args.repeat):
        base = run_child([args.python, "-c", BASELINE_CODE, str(path)], env)
        base_runs.append(base)
        run = run_child(nps_argv(args.python, path), env, output)
        nps_runs.append(run)
        rss = f", {run.rss_mb:.0f} MiB" if run.rss_mb is not None else ""
        log(
            f"  N={args.size} run {index + 1}/{args.repeat}: load {base.seconds:.3f}s, "
            f"netpolscan {run.seconds:.3f}s (exit {run.returncode}{rss})"
        )
        for problem in (failed(base, "baseline load"), failed(run, "netpolscan")):
            if problem:
                errors.append(problem)
        if errors:
            break
    if errors:
        return {"errors": errors}
    return {
        "errors": errors,
        "load_seconds": _median(base_runs),
        "nps_seconds": _median(nps_runs),
        "rss_mb": _peak(nps_runs),
        "load_rss_mb": _peak(base_runs),
        "lines": sum(1 for line in output.read_text().splitlines() if line.strip()),
    }


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="netpolscan connectivity vs NCA 2.1.0 and vs a YAML load.")
    parser.add_argument("--nca-size", type=int, default=100, help="namespaces of the NCA comparison (100)")
    parser.add_argument("--size", type=int, default=1000, help="namespaces of the load comparison (1000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (0)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, median taken (3)")
    parser.add_argument("--nca-repeat", type=int, default=1, help="NCA runs, median taken (1; NCA is slow)")
    parser.add_argument("--min-nca-ratio", type=float, default=20.0, help="target: NCA / netpolscan (20)")
    parser.add_argument("--max-load-ratio", type=float, default=5.0, help="target: netpolscan / load (5)")
    parser.add_argument("--max-rss-mb", type=float, default=400.0, help="target: peak RSS at --size (400)")
    parser.add_argument("--examples", type=int, default=5, help="examples per kind of difference (5)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"NCA's virtualenv ({DEFAULT_VENV})")
    parser.add_argument("--python", default=sys.executable, help="interpreter for netpolscan and the load")
    parser.add_argument("--workdir", type=Path, help="keep inputs and outputs here (default: a temp dir)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed or runs differ")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeat < 1 or args.nca_repeat < 1:
        raise SystemExit("--repeat and --nca-repeat must be >= 1")
    env = child_env()
    problem = bench_scan.preflight(args.python, "connectivity", env)
    if problem:
        raise SystemExit(problem)
    nca = ensure_nca(args.venv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="netpolscan-nca-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        first = versus_nca(args, workdir, env, nca)
        second = versus_load(args, workdir, env)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    verdicts: list[bool] = []
    print(
        f"netpolscan connectivity vs network-config-analyzer {NCA_VERSION} and vs yaml CSafeLoader "
        f"(shape app, seed {args.seed}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs)"
    )
    print(
        f"[1] N={args.nca_size}: netpolscan connectivity --format txt vs nca --connectivity "
        "--output_format txt_no_fw_rules"
    )
    for note in first["notes"]:  # type: ignore[union-attr]
        print(f"    note: {note}")
    if first["errors"]:
        for error in first["errors"]:  # type: ignore[union-attr]
            print(f"    ERROR {error}")
        verdicts.append(False)
    else:
        nps_s, nca_s = float(first["nps_seconds"]), float(first["nca_seconds"])  # type: ignore[arg-type]
        ratio = nca_s / nps_s
        ok = ratio >= args.min_nca_ratio
        verdicts.append(ok)
        print(
            f"    netpolscan {nps_s:.3f}s (median of {first['nps_runs']}), NCA {nca_s:.3f}s "
            f"(median of {first['nca_runs']})"
        )
        print(
            f"    speed ratio NCA / netpolscan = {ratio:.1f}x (target >= {args.min_nca_ratio:g}x): "
            f"{'PASS' if ok else 'FAIL'}"
        )
        print(
            f"    lines: netpolscan {first['nps_lines']}, NCA {first['nca_lines']}; normalised "
            f"(src, dst, protocol, ports) entries: netpolscan {first['nps_keys']}, NCA {first['nca_keys']}"
        )
        differences: list[str] = first["differences"]  # type: ignore[assignment]
        unread: list[str] = first["unread"]  # type: ignore[assignment]
        for line in unread[: args.examples]:
            print(f"    unreadable: {line}")
        if differences:
            print("    connections DIFFER:")
            for line in differences:
                print(f"  {line}")
        else:
            print("    same connections (workload pairs exactly; external addresses as merged ranges)")
        verdicts.append(not differences and not unread)
    print(f"[2] N={args.size}: netpolscan connectivity --format txt vs yaml.load_all(CSafeLoader)")
    if second["errors"]:
        for error in second["errors"]:  # type: ignore[union-attr]
            print(f"    ERROR {error}")
        verdicts.append(False)
    else:
        load_s, nps_s = float(second["load_seconds"]), float(second["nps_seconds"])  # type: ignore[arg-type]
        ratio = nps_s / load_s
        rss = second["rss_mb"]
        ok_ratio = ratio <= args.max_load_ratio
        ok_rss = rss is None or float(rss) <= args.max_rss_mb  # type: ignore[arg-type]
        verdicts.extend((ok_ratio, ok_rss))
        print(
            f"    load {load_s:.3f}s, netpolscan {nps_s:.3f}s (medians of {args.repeat}), "
            f"{second['lines']} output lines"
        )
        print(
            f"    ratio netpolscan / load = {ratio:.2f} (target <= {args.max_load_ratio:g}): "
            f"{'PASS' if ok_ratio else 'FAIL'}"
        )
        rss_text = "-" if rss is None else f"{float(rss):.0f} MB"  # type: ignore[arg-type]
        print(
            f"    netpolscan peak RSS {rss_text} (load alone {float(second['load_rss_mb'] or 0):.0f} MB; "  # type: ignore[arg-type]
            f"target <= {args.max_rss_mb:g} MB): {'PASS' if ok_rss else 'FAIL'}"
        )
    all_ok = all(verdicts)
    print("overall: " + ("PASS" if all_ok else "FAIL"))
    return 1 if args.check and not all_ok else 0


if __name__ == "__main__":
    sys.exit(main())
