"""`netpolscan generate` on the demo: every kind verified, output forms, determinism, bad input.

The corpus round trips (np-recipes, Online Boutique) and random clusters are in test_generate_roundtrip.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from netpolscan.analysis.connectivity import connectivity
from netpolscan.expectations import load_expectations
from netpolscan.generate import KINDS, generate
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload
from netpolscan.scan import available_kinds
from netpolscan.sources import load_documents
from netpolscan.sources.yamlparse import parse_text
from tests.conftest import CliResult

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "demo"
APP = DEMO / "app.yaml"
EXPECTATIONS = REPO / "examples" / "expectations" / "demo-expectations.yaml"

Run = Callable[..., CliResult]


def inventory_of(*paths: Path | str) -> Inventory:
    return Inventory.from_documents(load_documents([str(p) for p in paths]), "default", available_kinds())


def workload(inventory: Inventory, name: str) -> Workload:
    return next(w for w in inventory.workloads if w.name == name)


def documents_of(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


# --- from expectations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_demo_expectations_hold_exactly_with_every_kind(run_cli: Run, kind: str, tmp_path: Path) -> None:
    out = tmp_path / "generated.yaml"
    result = run_cli(
        "generate", str(APP), "--from-expectations", str(EXPECTATIONS), "--kind", kind, "-o", str(out)
    )
    assert result.exit_code == 0, result.stderr
    assert "the expectations hold exactly" in result.stderr
    # scanned together with the input, the generated policies leave no isolation, DNS or expectation finding
    scan = run_cli(
        "scan",
        str(APP),
        str(out),
        "--expectations",
        str(EXPECTATIONS),
        "--format",
        "json",
        "--select",
        "NPS101,NPS102,NPS103,NPS104,NPS105,NPS501,NPS701",
    )
    assert scan.exit_code == 0, scan.stdout
    assert json.loads(scan.stdout)["findings"] == []


def test_demo_networkpolicies_are_least_privilege_with_named_ports_and_reasons(run_cli: Run) -> None:
    result = run_cli("generate", str(APP), "--from-expectations", str(EXPECTATIONS))
    assert result.exit_code == 0, result.stderr
    docs = documents_of(result.stdout)
    names = [d["metadata"]["name"] for d in docs]  # type: ignore[index]
    assert names == ["netpolscan-default-deny", "netpolscan-ingress-backend", "netpolscan-egress-frontend"]
    deny, ingress, egress = (d["spec"] for d in docs)
    assert deny == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 53}, {"protocol": "UDP", "port": 53}],
            }
        ],
    }
    # the backend names its port 8080 "api": the rule uses the name
    assert ingress == {
        "podSelector": {"matchLabels": {"role": "backend"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                "ports": [{"protocol": "TCP", "port": "api"}],
            }
        ],
    }
    assert egress["egress"][1] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }
    # each rule says why it exists: the expectation, its line and its reason
    assert (
        "# expectation 1 (line 7): allow default/frontend -> default/backend on 8080/TCP (the storefront calls the API)"
        in result.stdout
    )
    assert "# expectation 4 (line 21): allow default/frontend -> cidr 0.0.0.0/0 on 443/TCP" in result.stdout


def test_input_policies_that_allow_more_fail_verification_with_a_diff(run_cli: Run) -> None:
    """The demo's frontend-egress allows every port to 0.0.0.0/0: NetworkPolicies only add allows, so
    the expectation "443 only" cannot hold until that policy goes; the diff says what is extra."""
    result = run_cli("generate", str(DEMO), "--from-expectations", str(EXPECTATIONS))
    assert result.exit_code == 1
    assert result.stdout.count("kind: NetworkPolicy") == 3  # the policies are still written
    assert "verification failed" in result.stderr
    assert (
        "+ default/frontend[Deployment] => 0.0.0.0-255.255.255.255[External] : "
        "SCTP 1-65535,TCP 1-442,444-65535,UDP 1-65535  "
        "(allowed, not planned: egress allowed by the input's NetworkPolicy default/frontend-egress)"
    ) in result.stderr


def test_a_deny_expectation_that_the_allows_contradict_fails(run_cli: Run, tmp_path: Path) -> None:
    expectations = tmp_path / "e.yaml"
    expectations.write_text(
        "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n"
        "- from: {namespace: default, workload: frontend}\n  to: {namespace: default, workload: backend}\n"
        "  ports: ['8080/TCP']\n  expect: allow\n"
        "- from: {namespace: default}\n  to: {namespace: default, workload: backend}\n  expect: deny\n"
    )
    result = run_cli(
        "generate", str(APP), "--from-expectations", str(expectations), "-o", str(tmp_path / "g.yaml")
    )
    assert result.exit_code == 1
    assert "NPS701 expectation 2" in result.stderr


def test_unmatched_endpoints_are_named(run_cli: Run, tmp_path: Path) -> None:
    expectations = tmp_path / "e.yaml"
    expectations.write_text(
        "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n"
        "- from: {namespace: default, workload: nothere}\n  to: {namespace: default, workload: backend}\n"
        "  expect: allow\n"
    )
    result = run_cli("generate", str(APP), "--from-expectations", str(expectations))
    assert result.exit_code == 0, result.stderr
    assert "expectation 1: `from` default/nothere matches no workload of the input" in result.stderr
    assert "netpolscan-ingress-backend" not in result.stdout


# --- from connectivity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_demo_connectivity_is_frozen_with_every_kind(run_cli: Run, kind: str) -> None:
    result = run_cli("generate", str(DEMO), "--from-connectivity", "--kind", kind)
    assert result.exit_code == 0, result.stderr
    assert "no connection beyond today's is allowed" in result.stderr
    generated = list(parse_text(result.stdout, "generated.yaml"))
    assert all(d.error is None for d in generated)
    before = inventory_of(DEMO)
    after = Inventory.from_documents([*load_documents([str(DEMO)]), *generated], "default", available_kinds())
    frontend, backend, db = (workload(after, name) for name in ("frontend", "backend", "payments-db"))
    conn = connectivity(after)
    # today every workload reaches payments-db on every port; frozen: its declared port 5432 only
    today = connectivity(before).allowed(workload(before, "backend"), workload(before, "payments-db"))
    assert str(today) == "All Connections"
    assert str(conn.allowed(backend, db)) == "TCP 5432"
    assert str(conn.allowed(frontend, backend)) == "TCP 8080"
    assert str(conn.allowed(db, frontend)) == "TCP 80"
    assert (
        "# observed: allowed today (ingress not isolated); limited to its declared container ports"
        in result.stdout
    )


# --- output forms, determinism --------------------------------------------------------------------------


def test_output_dir_writes_one_file_per_namespace(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("generate", str(DEMO), "--from-connectivity", "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["default.yaml"]
    stream = run_cli("generate", str(DEMO), "--from-connectivity")
    assert (tmp_path / "out" / "default.yaml").read_text() == stream.stdout  # one namespace: the same text


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_component_builds_in_an_overlay(run_cli: Run, tmp_path: Path) -> None:
    component = tmp_path / "netpol"
    result = run_cli(
        "generate",
        str(APP),
        "--from-expectations",
        str(EXPECTATIONS),
        "--kustomize-component",
        str(component),
    )
    assert result.exit_code == 0, result.stderr
    kustomization = yaml.safe_load((component / "kustomization.yaml").read_text())
    assert kustomization == {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": ["default.yaml"],
    }
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    shutil.copy(APP, overlay / "app.yaml")
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml\n"
        "components:\n- ../netpol\n"
    )
    built = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in documents_of(built.stdout))
    assert kinds == [
        "Deployment/backend",
        "Deployment/frontend",
        "Deployment/payments-db",
        "NetworkPolicy/netpolscan-default-deny",
        "NetworkPolicy/netpolscan-egress-frontend",
        "NetworkPolicy/netpolscan-ingress-backend",
        "Service/backend",
    ]
    # the built overlay is the cluster the expectations describe
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(built.stdout)
    scan = run_cli(
        "scan", str(rendered), "--expectations", str(EXPECTATIONS), "--select", "NPS1,NPS501,NPS701"
    )
    assert scan.exit_code == 0, scan.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_byte_identical_and_reads_back_as_generated(
    run_cli: Run, kind: str, tmp_path: Path
) -> None:
    args = ("generate", str(DEMO), str(REPO / "examples" / "demo"), "--from-connectivity", "--kind", kind)
    first, second = run_cli(*args), run_cli(*args)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    for form in ("--output-dir", "--kustomize-component"):
        a, b = tmp_path / f"{form}-a", tmp_path / f"{form}-b"
        assert run_cli(*args, form, str(a)).exit_code == 0
        assert run_cli(*args, form, str(b)).exit_code == 0
        assert {p.name: p.read_bytes() for p in a.iterdir()} == {p.name: p.read_bytes() for p in b.iterdir()}
    # what verification analysed (the documents in memory) is what the text says
    inventory = inventory_of(DEMO)
    generated = generate(inventory, kind, None, "demo")
    assert [d.data for d in generated.parsed()] == [d.data for d in parse_text(generated.stream(), "g.yaml")]
    assert [d.line for d in generated.parsed()] == [d.line for d in parse_text(generated.stream(), "g.yaml")]


def test_generated_text_matches_its_documents_for_expectations(tmp_path: Path) -> None:
    inventory = inventory_of(APP)
    for kind in KINDS:
        generated = generate(inventory, kind, load_expectations(str(EXPECTATIONS)), str(EXPECTATIONS))
        parsed = list(parse_text(generated.stream(), "g.yaml"))
        assert [d.data for d in generated.parsed()] == [d.data for d in parsed], kind


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of --from-expectations FILE and --from-connectivity"),
        (("--from-connectivity", "--from-expectations", str(EXPECTATIONS)), "give exactly one of"),
        (("--from-expectations", "missing.yaml"), "missing.yaml: cannot read expectations"),
        (("--from-connectivity", "--kind", "istio"), "Invalid value for '--kind'"),
        (
            ("--from-connectivity", "-o", "a.yaml", "--output-dir", "d"),
            "give at most one of -o, --output-dir and --kustomize-component",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(run_cli: Run, args: tuple[str, ...], message: str) -> None:
    result = run_cli("generate", str(APP), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_bad_expectations_file_exits_2_at_its_line(run_cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n"
        "- from: {namespace: default}\n  to: {namespace: default}\n  ports: ['80/XTP']\n  expect: allow\n"
    )
    result = run_cli("generate", str(APP), "--from-expectations", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:6: entry 1: port '80/XTP': unknown protocol 'XTP'" in result.stderr


def test_missing_input_and_unwritable_output_exit_2(run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("generate", str(tmp_path / "none.yaml"), "--from-connectivity").exit_code == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("generate", str(APP), "--from-connectivity", "--output-dir", str(blocker / "sub"))
    assert result.exit_code == 2
    assert "cannot create the directory" in result.stderr


def test_a_broken_document_is_left_out_and_the_rest_generated(run_cli: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(APP.read_text() + "---\nkind: [unclosed\n")
    result = run_cli("generate", str(broken), "--from-connectivity")
    assert result.exit_code == 0, result.stderr
    assert "left out of the analysis" in result.stderr
    assert "netpolscan-ingress-backend" in result.stdout
    assert run_cli("generate", str(broken), "--from-connectivity", "--strict").exit_code == 2


def test_no_verify_skips_the_check(run_cli: Run) -> None:
    result = run_cli("generate", str(DEMO), "--from-expectations", str(EXPECTATIONS), "--no-verify")
    assert result.exit_code == 0
    assert "not verified (--no-verify)" in result.stderr


@pytest.mark.parametrize(
    "entry",
    [
        {"from": {"namespace": "a"}, "to": {"namespace": "b", "workload": "w"}, "expect": "allow"},
        {
            "from": [{"cidr": "10.0.0.0/8"}],
            "to": {"namespaceLabels": {"t": "x"}, "labels": {"a": "b"}},
            "ports": [80, "53/UDP"],
            "expect": "deny",
            "reason": "r",
        },
        {"from": {"namespace": "a"}, "to": {"namespace": "b"}, "expect": "maybe"},
        {"from": {"namespace": "a", "cidr": "1.2.3.4/32"}, "to": {"namespace": "b"}, "expect": "allow"},
        {"from": {"namespace": ""}, "to": {"namespace": "b"}, "expect": "allow"},
        {"from": {"labels": {"a": "b"}}, "to": {"namespace": "b"}, "expect": "allow"},
        {"from": [], "to": {"namespace": "b"}, "expect": "allow"},
        {"from": {"namespace": "a"}, "to": {"namespace": "b"}, "ports": [], "expect": "allow"},
        {"from": {"namespace": "a"}, "to": {"namespace": "b"}, "ports": [True], "expect": "allow"},
        {"from": {"namespace": "a"}, "to": {"namespace": "b", "labels": {}}, "expect": "allow"},
        {"from": {"namespace": "a"}, "to": {"namespace": "b"}, "expect": "allow", "extra": 1},
    ],
)
def test_the_quick_expectations_check_never_accepts_what_the_schema_rejects(entry: dict[str, object]) -> None:
    """Big expectations files skip jsonschema when the quick check passes: it must agree with the schema."""
    import jsonschema

    from netpolscan.config import load_schema
    from netpolscan.expectations.load import SCHEMA, _plainly_valid

    data = {"apiVersion": "netpolscan.io/v1", "kind": "ConnectivityExpectations", "expectations": [entry]}
    valid = jsonschema.Draft202012Validator(load_schema(SCHEMA)).is_valid(data)
    assert _plainly_valid(data) == valid


def test_cluster_policies_split_at_the_crd_limits(run_cli: Run, tmp_path: Path) -> None:
    """30 sources on 30 different ports: 30 ingress rules for one destination, over the CRD's 25."""
    docs = []
    for name, port in [("dst", 9000), *((f"s{i}", 9000) for i in range(30))]:
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "shop"},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": port}]}]
                        },
                    }
                },
            }
        )
    (tmp_path / "in.yaml").write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    entries = "".join(
        f"- from: {{namespace: shop, workload: s{i}}}\n  to: {{namespace: shop, workload: dst}}\n"
        f"  ports: ['{1000 + i}/TCP']\n  expect: allow\n"
        for i in range(30)
    )
    expectations = tmp_path / "e.yaml"
    expectations.write_text(
        "apiVersion: netpolscan.io/v1\nkind: ConnectivityExpectations\nexpectations:\n" + entries
    )
    out = tmp_path / "g.yaml"
    result = run_cli(
        "generate",
        str(tmp_path / "in.yaml"),
        "--from-expectations",
        str(expectations),
        "--kind",
        "cluster",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    policies = {d["metadata"]["name"]: d["spec"] for d in documents_of(out.read_text())}
    assert len(policies["netpolscan-shop-ingress-dst"]["ingress"]) == 25
    assert len(policies["netpolscan-shop-ingress-dst-2"]["ingress"]) == 5
    scan = run_cli(
        "scan", str(tmp_path / "in.yaml"), str(out), "--select", "NPS002,NPS801", "--format", "json"
    )
    assert json.loads(scan.stdout)["findings"] == []


def test_output_does_not_depend_on_hash_seeds(tmp_path: Path) -> None:
    """Byte-identical across processes (set and dict orders of strings change with PYTHONHASHSEED)."""
    import os
    import sys

    docs = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": name, "team": namespace}},
                    "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]},
                }
            },
        }
        for namespace in ("alpha", "beta", "gamma", "delta")
        for name in ("web", "api", "db")
    ]
    source = tmp_path / "cluster.yaml"
    source.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        out = tmp_path / f"seed-{seed}"
        argv = [sys.executable, "-m", "netpolscan", "generate", str(source), "--from-connectivity"]
        done = subprocess.run([*argv, "--kind", "calico", "--output-dir", str(out)], env=env, check=False)
        assert done.returncode == 0
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]


def test_rerunning_on_its_own_output_replaces_it(run_cli: Run, tmp_path: Path) -> None:
    """An input that holds the previous output: the new objects replace the old ones (same names)."""
    first = tmp_path / "first.yaml"
    args = ("--from-expectations", str(EXPECTATIONS))
    assert run_cli("generate", str(APP), *args, "-o", str(first)).exit_code == 0
    # the old output allowed more: the backend also accepted the payments-db; the new run must not keep it
    first.write_text(
        first.read_text().replace(
            "role: frontend\n    ports:",
            "role: frontend\n    - podSelector:\n        matchLabels:\n          role: db\n    ports:",
            1,
        )
    )
    assert "role: db" in first.read_text()
    second = run_cli("generate", str(APP), str(first), *args)
    assert second.exit_code == 0, second.stderr
    assert "role: db\n    ports" not in second.stdout


def _deployments(*items: tuple[str, str, dict[str, str]]) -> str:
    docs = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {"name": "c", "image": "i", "ports": [{"containerPort": 53, "protocol": "UDP"}]}
                        ]
                    },
                }
            },
        }
        for namespace, name, labels in items
    ]
    return "---\n".join(json.dumps(d) + "\n" for d in docs)


def test_the_cluster_dns_is_found_where_the_input_has_it(run_cli: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(
        _deployments(("dns-system", "coredns", {"k8s-app": "kube-dns"}), ("shop", "web", {"app": "web"}))
    )
    result = run_cli("generate", str(source), "--from-connectivity")
    assert result.exit_code == 0, result.stderr
    deny = next(d["spec"] for d in documents_of(result.stdout) if d["metadata"]["namespace"] == "shop")  # type: ignore[index]
    assert deny["egress"][0]["to"] == [  # type: ignore[index]
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    # kube-system in the input without DNS pods: the standard labels, and a warning
    source.write_text(
        _deployments(("kube-system", "proxy", {"app": "proxy"}), ("shop", "web", {"app": "web"}))
    )
    result = run_cli("generate", str(source), "--from-connectivity")
    assert result.exit_code == 0
    warning = "namespace kube-system is in the input but no workload of it has the labels of the cluster DNS"
    assert warning in result.stderr
    assert "kubernetes.io/metadata.name: kube-system" in result.stdout
