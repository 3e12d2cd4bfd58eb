"""Fuzzing entry point: random bytes and random structured manifests fed to the scanner.

Each case writes one or two temporary files and runs ``netpolscan.cli.main`` in-process (``scan`` in a
random format, sometimes ``connectivity`` or ``diff``). The exit code must be exactly the documented one:
2 with exactly one ``netpolscan: error: ...`` line on stderr; else, for ``scan``, 1 when the JSON or SARIF
output has an unsuppressed error or warning and 0 otherwise (other formats run with ``--fail-on never``:
0), and 0 for ``connectivity`` and ``diff``. Everything else fails: an exception escaping ``main``
(``NETPOLSCAN_DEBUG=1`` makes internal errors propagate instead of being turned into a message), another
exit code, a traceback, an "internal error" line, or a rule that raised (the engine turns that into a
"failed and was skipped" notification).

Run a number of cases (optionally also bounded in time)::

    python tests/fuzz_scanner.py --cases 5000 [--seconds 300] [--seed N] [--keep DIR]

The failing input is saved (``--keep``, default a temporary directory) and the case's seed printed, so
``--seed N --cases 1`` replays it. ``tests/test_hostile.py`` runs a fixed number of cases from a fixed
seed, so every run checks the same inputs whatever the machine's speed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(REPO))

from netpolscan.cli import main  # noqa: E402

FAILING = ("error", "warning")  # the levels the default --fail-on (warning) fails on

# --- generators ------------------------------------------------------------------------------------

WORDS = [
    "a",
    "web",
    "db",
    "frontend",
    "kube-system",
    "team",
    "x" * 70,
    "",
    "-",
    "app.kubernetes.io/name",
    "ünï",
    "8080",
    "null",
    "true",
    "~",
    "*",
    "&a",
    "{}",
    "[]",
]
SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    53,
    65535,
    65536,
    1.5,
    float("inf"),
    "TCP",
    "UDP",
    "SCTP",
    "ICMP",
    "Ingress",
    "Egress",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "::/0",
    "10.0.0.1",
    "not-a-cidr",
    "http",
    "dns",
    *WORDS,
]
KINDS = [
    "NetworkPolicy",
    "Namespace",
    "Deployment",
    "Pod",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Job",
    "Service",
    "List",
    "PodList",
    "ConfigMap",
    "Widget",
    "NetworkPolicyList",
]
API_VERSIONS = [
    "networking.k8s.io/v1",
    "v1",
    "apps/v1",
    "batch/v1",
    "extensions/v1beta1",
    "example.com/v1",
    "networking.k8s.io/v1beta1",
]


def _selector(rng: random.Random) -> Any:
    if rng.random() < 0.1:
        return rng.choice(SCALARS)
    result: dict[str, Any] = {}
    if rng.random() < 0.7:
        result["matchLabels"] = {
            rng.choice(["app", "tier", "team", "kubernetes.io/metadata.name"]): rng.choice(
                ["a", "b", "web", "kube-system"]
            )
            for _ in range(rng.randint(0, 2))
        }
    if rng.random() < 0.4:
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
        expr: dict[str, Any] = {"key": rng.choice(["app", "tier"]), "operator": op}
        if op in ("In", "NotIn") or rng.random() < 0.1:
            expr["values"] = [rng.choice(["a", "b", "web"]) for _ in range(rng.randint(0, 2))]
        result["matchExpressions"] = [expr]
    return result


def _peer(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.25:
        block: dict[str, Any] = {
            "cidr": rng.choice(["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16", "fd00::/8", "10.0.0.1/32"])
        }
        if rng.random() < 0.4:
            block["except"] = [rng.choice(["10.1.0.0/16", "169.254.169.254/32", "10.0.0.0/8", "fd00::/16"])]
        return {"ipBlock": block}
    peer: dict[str, Any] = {}
    if roll < 0.7:
        peer["podSelector"] = _selector(rng)
    if roll > 0.5:
        peer["namespaceSelector"] = _selector(rng)
    return peer


def _port(rng: random.Random) -> Any:
    port: dict[str, Any] = {}
    if rng.random() < 0.8:
        port["port"] = rng.choice([80, 53, 443, 8080, "http", "dns", "metrics", 0, 70000])
    if rng.random() < 0.4:
        port["protocol"] = rng.choice(["TCP", "UDP", "SCTP", "tcp"])
    if rng.random() < 0.2:
        port["endPort"] = rng.choice([90, 8090, 10, 65535])
    return port


def network_policy(rng: random.Random, namespace: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": _selector(rng)}
    if rng.random() < 0.6:
        spec["policyTypes"] = rng.sample(["Ingress", "Egress"], rng.randint(0, 2))
    for direction, key in (("ingress", "from"), ("egress", "to")):
        if rng.random() < 0.6:
            rules = []
            for _ in range(rng.randint(0, 3)):
                rule: dict[str, Any] = {}
                if rng.random() < 0.8:
                    rule[key] = [_peer(rng) for _ in range(rng.randint(0, 3))]
                if rng.random() < 0.6:
                    rule["ports"] = [_port(rng) for _ in range(rng.randint(0, 2))]
                rules.append(rule)
            spec[direction] = rules
    return {
        "apiVersion": rng.choice(["networking.k8s.io/v1"] * 8 + API_VERSIONS),
        "kind": "NetworkPolicy",
        "metadata": {"name": f"np{rng.randint(0, 9)}", "namespace": namespace},
        "spec": spec,
    }


def workload(rng: random.Random, namespace: str) -> dict[str, Any]:
    kind = rng.choice(["Deployment", "Pod", "StatefulSet", "DaemonSet", "CronJob"])
    labels = {
        rng.choice(["app", "tier", "team"]): rng.choice(["a", "b", "web", "kube-dns"])
        for _ in range(rng.randint(0, 3))
    }
    ports = [
        {
            "name": rng.choice(["http", "dns", "metrics"]),
            "containerPort": rng.choice([80, 53, 9090]),
            "protocol": rng.choice(["TCP", "UDP"]),
        }
        for _ in range(rng.randint(0, 2))
    ]
    pod_spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i", "ports": ports}]}
    if rng.random() < 0.1:
        pod_spec["hostNetwork"] = True
    template = {"metadata": {"labels": labels}, "spec": pod_spec}
    metadata = {"name": f"w{rng.randint(0, 9)}", "namespace": namespace}
    if kind == "Pod":
        document: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**metadata, "labels": labels},
            "spec": pod_spec,
        }
        if rng.random() < 0.5:
            document["status"] = {"podIP": rng.choice(["10.0.0.5", "fd00::5", "bogus"])}
        return document
    if kind == "CronJob":
        return {
            "apiVersion": "batch/v1",
            "kind": kind,
            "metadata": metadata,
            "spec": {"jobTemplate": {"spec": {"template": template}}},
        }
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": {"template": template}}


def other(rng: random.Random, namespace: str) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.4:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"team": rng.choice(["a", "b"])}},
        }
    if roll < 0.7:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc", "namespace": namespace},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": rng.choice([80, "http", "nope"])}],
            },
        }
    return {
        "apiVersion": rng.choice(API_VERSIONS),
        "kind": rng.choice(KINDS),
        "metadata": {"name": "o", "namespace": namespace},
        "items": [],
        "spec": {},
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def mutate(rng: random.Random, document: Any) -> Any:
    """Replace, delete or wrap one random node of ``document``."""
    document = copy.deepcopy(document)
    paths = [p for p in _paths(document) if p]
    if not paths:
        return rng.choice(SCALARS)
    path = rng.choice(paths)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    roll = rng.random()
    if roll < 0.15 and isinstance(parent, dict):
        del parent[key]
    elif roll < 0.3:
        parent[key] = [parent[key]]
    elif roll < 0.4:
        parent[key] = {"x": parent[key]}
    elif roll < 0.5 and isinstance(parent, dict):
        parent[rng.choice(WORDS)] = rng.choice(SCALARS)
    else:
        parent[key] = rng.choice(SCALARS + [[], {}, [None], {"": None}])
    return document


def structured(rng: random.Random) -> str:
    """A multi-document YAML (or JSON) text of plausible objects, some mutated, joined in odd ways."""
    namespaces = ["default", "kube-system", "team-a", "team-b"]
    documents: list[Any] = []
    for _ in range(rng.randint(1, 8)):
        namespace = rng.choice(namespaces)
        make: Callable[[random.Random, str], dict[str, Any]] = rng.choice(
            [network_policy, network_policy, workload, other]
        )
        document: Any = make(rng, namespace)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 4])):
            document = mutate(rng, document)
        documents.append(document)
    if rng.random() < 0.1:
        documents = [
            {
                "apiVersion": "v1",
                "kind": rng.choice(["List", "PodList", "NetworkPolicyList"]),
                "items": documents,
            }
        ]
    if rng.random() < 0.15:
        import json

        return json.dumps(
            documents[0] if len(documents) == 1 else {"apiVersion": "v1", "kind": "List", "items": documents},
            indent=rng.choice([None, 2]),
            default=str,
        )
    parts = []
    for document in documents:
        text = yaml.safe_dump(
            document,
            sort_keys=rng.random() < 0.5,
            default_flow_style=rng.choice([False, None, True]),
            allow_unicode=rng.random() < 0.5,
        )
        if rng.random() < 0.3:
            text = f"# Source: chart/templates/t{rng.randint(0, 3)}.yaml\n" + text
        parts.append(text)
    text = rng.choice(["---\n", "\n---\n", "--- \n", "...\n---\n"]).join(parts)
    return _damage(rng, text) if rng.random() < 0.3 else text


SNIPPETS = [
    "&a ",
    "*a",
    "<<: *a\n",
    "? ",
    "!!binary ",
    "!!python/object:os.system ",
    "!custom ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "'",
    '"',
    "|\n",
    ">-\n",
    "#",
    "\ufeff",
    "\x00",
    "\r",
    "\u2028",
    "\x85",
    "2001-01-01 ",
    "0x1F ",
    "0o17 ",
    "1e999 ",
    ".nan ",
    "y ",
    "=",
    "<<: [*a, *a]\n",
]


def _damage(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        if not chars:
            break
        where = rng.randrange(len(chars) + 1)
        roll = rng.random()
        if roll < 0.5:
            chars[where:where] = list(rng.choice(SNIPPETS))
        elif roll < 0.8 and where < len(chars):
            del chars[where : where + rng.randint(1, 20)]
        else:
            chars = chars[:where]
    return "".join(chars)


def random_bytes(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return rng.randbytes(rng.randint(0, 512))
    text = structured(rng)
    encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"])
    data = text.encode(encoding, errors="replace")
    if roll < 0.6:  # flip a few bytes
        buffer = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if buffer:
                buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        data = bytes(buffer)
    return data


# --- running ---------------------------------------------------------------------------------------


@dataclass
class Failure:
    seed: int
    argv: list[str]
    problem: str
    files: dict[str, bytes]

    def __str__(self) -> str:
        return f"seed {self.seed}: netpolscan {' '.join(self.argv)}: {self.problem}"


def _run(argv: list[str]) -> tuple[int | None, str, str, str | None]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | None = main(argv)
            raised = None
        except BaseException:  # noqa: BLE001 - anything escaping main is what the fuzzer looks for
            code, raised = None, traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), raised


def expected_code(argv: list[str], out: str, err: str) -> int | str:
    """The exit code the outputs call for (a message when the output cannot be read)."""
    if any(line.startswith("netpolscan: error: ") for line in err.splitlines()):
        return 2
    fmt = argv[argv.index("--format") + 1]
    if argv[0] != "scan" or fmt not in ("json", "sarif"):
        return 0  # connectivity and diff do not fail on what they find; other scans run --fail-on never
    try:
        document = json.loads(out)
    except ValueError as exc:
        return f"(unreadable {fmt} output: {exc})"
    if fmt == "json":
        failing = [f for f in document["findings"] if f["level"] in FAILING and "suppressed" not in f]
    else:
        results = document["runs"][0].get("results", [])
        failing = [r for r in results if r.get("level", "warning") in FAILING and not r.get("suppressions")]
    return 1 if failing else 0


def check_case(seed: int, workdir: Path) -> Failure | None:
    """Generate and scan one case; a Failure when the outcome is not a documented one."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    for i in range(rng.choice([1, 1, 1, 2])):
        suffix = rng.choice([".yaml", ".yaml", ".yml", ".json"])
        files[f"in{i}{suffix}"] = random_bytes(rng) if rng.random() < 0.5 else structured(rng).encode("utf-8")
    case_dir = workdir / f"case-{seed}"
    case_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        (case_dir / name).write_bytes(data)
        paths.append(str(case_dir / name))
    command = rng.choice(["scan"] * 6 + ["connectivity", "diff"])
    if command == "scan":
        fmt = rng.choice(["json", "sarif", "text", "github", "gitlab", "junit", "markdown"])
        argv = [
            "scan",
            *paths,
            "--format",
            fmt,
            *(() if fmt in ("json", "sarif") else ("--fail-on", "never")),
        ]
    elif command == "connectivity":
        argv = [
            "connectivity",
            *paths,
            "--format",
            rng.choice(["txt", "json", "csv", "md", "dot", "mermaid"]),
        ]
    else:
        argv = ["diff", paths[0], paths[-1], "--format", rng.choice(["txt", "json", "sarif"])]
    previous = os.environ.get("NETPOLSCAN_DEBUG")
    os.environ["NETPOLSCAN_DEBUG"] = "1"
    try:
        code, out, err, raised = _run(argv)
    finally:
        if previous is None:
            os.environ.pop("NETPOLSCAN_DEBUG", None)
        else:
            os.environ["NETPOLSCAN_DEBUG"] = previous
    problem = None
    if raised is not None:
        problem = f"exception escaped main:\n{raised}"
    elif code != (expected := expected_code(argv, out, err)):
        problem = f"exit code {code}, expected {expected}"
    elif "Traceback" in out + err or "internal error" in err:
        problem = f"traceback or internal error:\n{err[-3000:]}"
    elif "failed and was skipped" in err:
        problem = f"a rule raised:\n{err.strip()}"
    elif code == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("netpolscan: error: "):
            problem = f"exit 2 without exactly one error line:\n{err[-2000:]}"
    if problem is None:
        for path in paths:
            Path(path).unlink()
        case_dir.rmdir()
        return None
    return Failure(seed, argv, problem, files)


def fuzz(
    cases: int, seed: int | None = None, workdir: Path | None = None, seconds: float | None = None
) -> tuple[int, list[Failure]]:
    """Run ``cases`` cases (fewer when ``seconds`` pass first); returns (cases run, failures)."""
    base = random.randrange(1 << 30) if seed is None else seed
    deadline = None if seconds is None else time.monotonic() + seconds
    failures: list[Failure] = []
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="netpolscan-fuzz-")) if workdir is None else workdir
    count = 0
    try:
        while count < cases and (deadline is None or time.monotonic() < deadline):
            failure = check_case(base + count, root)
            count += 1
            if failure is not None:
                failures.append(failure)
                if len(failures) >= 5:
                    break
    finally:
        if own and not failures:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    return count, failures


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz netpolscan with random bytes and random manifests.")
    parser.add_argument("--cases", type=int, default=1000, help="how many cases to run (default: 1000)")
    parser.add_argument("--seconds", type=float, default=None, help="stop earlier after this long")
    parser.add_argument("--seed", type=int, default=None, help="first case seed (default: random)")
    parser.add_argument(
        "--keep", type=Path, default=None, help="directory for failing inputs (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="netpolscan-fuzz-"))
    count, failures = fuzz(args.cases, args.seed, workdir, args.seconds)
    for failure in failures:
        print(f"FAIL {failure}\n  inputs in {workdir / f'case-{failure.seed}'}", file=sys.stderr)
    print(f"{count} cases, {len(failures)} failures", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(cli())
