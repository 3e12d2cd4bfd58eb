"""Speed of ``netpolscan flows check``: a Hubble export against the app shape, beside ``connectivity``.

For N namespaces of ``generate.py``'s app shape, a Hubble JSON-lines log of F records is written (seeded):
flows between random workloads, each seen from both nodes (so half are duplicates), a reply for every
tenth, DNS queries to a kube-dns pod the manifests lack, and calls to addresses outside the cluster.
Then, alternately in fresh child processes (the machinery of ``bench_scan.py``), ``connectivity -f json``
(the whole allowed-connection map: the engine's own cost) and ``flows check --unused -f json``. Printed:
median wall and user-CPU seconds and the ratio flows/connectivity. There is no target; the ratio shows
what checking F observed flows costs against mapping every connection once.

Usage::

    python benchmarks/bench_flows.py                          # N=300, F=50,000, 3 runs
    python benchmarks/bench_flows.py --namespaces 1000 --flows 200000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bench_scan
import generate
import yaml


def _pods(manifest: Path) -> list[tuple[str, dict[str, str], int]]:
    """(namespace, pod labels, first container port) of every Deployment of the input."""
    pods = []
    with open(manifest, encoding="utf-8") as stream:
        for doc in yaml.load_all(stream, Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and doc.get("kind") == "Deployment":
                template = doc["spec"]["template"]
                ports = [
                    p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
                ]
                pods.append(
                    (doc["metadata"]["namespace"], template["metadata"]["labels"], (ports or [8080])[0])
                )
    return pods


def _endpoint(namespace: str, labels: dict[str, str]) -> dict[str, object]:
    return {
        "namespace": namespace,
        "labels": [f"k8s:io.kubernetes.pod.namespace={namespace}"]
        + [f"k8s:{k}={v}" for k, v in labels.items()]
        + ["k8s:pod-template-hash=5d78c9869d"],
        "pod_name": f"{labels.get('app', 'pod')}-5d78c9869d-abcde",
    }


def write_flows(manifest: Path, path: Path, records: int, seed: int) -> None:
    rnd = random.Random(seed)
    pods = _pods(manifest)
    dns = _endpoint("kube-system", {"k8s-app": "node-local-dns"})
    with open(path, "w", encoding="ascii", newline="\n") as stream:
        for index in range(records // 2):
            src_ns, src_labels, _ = rnd.choice(pods)
            source = _endpoint(src_ns, src_labels)
            ip = {"source": f"10.{index % 200}.1.{index % 250}", "destination": "10.0.0.10"}
            if index % 9 == 0:
                destination, l4 = dns, {"UDP": {"source_port": 40000 + index % 20000, "destination_port": 53}}
            elif index % 13 == 0:
                destination = {"identity": 2, "labels": ["reserved:world"]}
                ip["destination"] = f"{rnd.choice([52, 93, 151])}.{rnd.randrange(256)}.{rnd.randrange(256)}.7"
                l4 = {"TCP": {"source_port": 40000 + index % 20000, "destination_port": 443}}
            else:
                dst_ns, dst_labels, port = rnd.choice(pods)
                destination = _endpoint(dst_ns, dst_labels)
                l4 = {"TCP": {"source_port": 40000 + index % 20000, "destination_port": port}}
            flow = {
                "verdict": "FORWARDED",
                "IP": ip,
                "l4": l4,
                "source": source,
                "destination": destination,
                "Type": "L3_L4",
                "traffic_direction": "EGRESS",
                "is_reply": index % 10 == 0,
            }
            for node in ("worker-1", "worker-2"):  # seen leaving one node and entering the other
                stream.write(json.dumps({"flow": {**flow, "node_name": node}, "node_name": node}) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--namespaces", type=int, default=300, help="namespaces of the app shape (300)")
    parser.add_argument("--flows", type=int, default=50_000, help="records of the Hubble log (50,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median; default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    env = bench_scan.child_env()
    with tempfile.TemporaryDirectory(prefix="netpolscan-bench-flows-") as tmp:
        workdir = Path(tmp)
        manifest = workdir / f"app-{args.namespaces}.yaml"
        with open(manifest, "w", encoding="ascii", newline="\n") as stream:
            generate.write(stream, args.namespaces, "app", args.seed)
        log = workdir / "flows.json"
        write_flows(manifest, log, args.flows, args.seed)
        bench_scan.log(
            f"generated {manifest.name} and {args.flows:,} Hubble records ({log.stat().st_size:,} bytes)"
        )
        commands = {
            "connectivity": ["connectivity", str(manifest), "-f", "json"],
            "flows check": ["flows", "check", str(log), str(manifest), "--unused", "-f", "json"],
        }
        runs: dict[str, list[bench_scan.Run]] = {name: [] for name in commands}
        for index in range(args.repeat):
            for name, command in commands.items():
                run = bench_scan.run_child([args.python, "-m", "netpolscan", *command], env)
                if run.returncode not in (0, 1) or "Traceback" in run.stderr:
                    raise SystemExit(f"{name} failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
                runs[name].append(run)
                bench_scan.log(f"  run {index + 1}/{args.repeat}: {name} {run.seconds:.2f}s")
    wall = {name: statistics.median(r.seconds for r in found) for name, found in runs.items()}
    user = {name: statistics.median(r.user or 0.0 for r in found) for name, found in runs.items()}
    print(f"N={args.namespaces} namespaces, {args.flows:,} Hubble records, median of {args.repeat}")
    for name in commands:
        print(f"  {name:<13} wall {wall[name]:6.2f} s   user {user[name]:6.2f} s")
    ratio_wall = wall["flows check"] / wall["connectivity"]
    ratio_user = user["flows check"] / user["connectivity"] if user["connectivity"] else float("nan")
    print(f"  ratio flows check / connectivity: wall {ratio_wall:.2f}, user CPU {ratio_user:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
