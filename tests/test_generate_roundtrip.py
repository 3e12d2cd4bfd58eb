"""Round trips of `netpolscan generate`: the generated policies, analysed with their input, give no
NPS101-105/NPS501/NPS701 and exactly the planned connectivity.

- np-recipes: each scenario's EXPECTATIONS.csv rows as an expectations file, generated for the scenario's
  workloads without its policies, for every kind; and today's connectivity of each scenario frozen;
- Online Boutique (microservices-demo): its connectivity with its 13 policies, written as expectations,
  generated for the bare release manifests, for every kind; and the bare manifests frozen;
- random clusters (hypothesis): today's connectivity frozen (NetworkPolicy), and expectations bootstrapped
  from random policies generated for the cluster without them (every kind).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from netpolscan.analysis.connectivity import connectivity
from netpolscan.expectations import load_expectations
from netpolscan.expectations.bootstrap import bootstrap_text
from netpolscan.generate import KINDS, generate
from netpolscan.generate.plan import key_pairs
from netpolscan.model.inventory import Inventory
from netpolscan.scan import available_kinds
from netpolscan.sources import load_documents
from netpolscan.sources.yamlparse import parse_text
from tests.conftest import corpus_path, require_corpus
from tests.test_properties import cluster, policies

ROOT = corpus_path()
RECIPES = ROOT / "np-recipes" if ROOT else None
ROWS = (
    list(csv.DictReader((RECIPES / "EXPECTATIONS.csv").open()))
    if RECIPES and (RECIPES / "EXPECTATIONS.csv").is_file()
    else []
)
SCENARIOS = sorted({row["scenario"] for row in ROWS})
# The recipes' own expectations deny these sources DNS, which every generated default deny keeps open
# (without it NPS501 fires): the expectation and the catalog contradict each other, and the run says so.
DNS_DENIED = {"r11": "default/foo", "r12": "default/test"}
ADMITS_EVERY_SOURCE = {"r02a", "r05", "r08"}  # ingress: [{}], from every namespace, from: []


def bare(path: Path, tmp_path: Path) -> Path:
    """The manifests of ``path`` without any policy object, as a file."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and "Policy" not in str(d.get("kind"))]
    out = tmp_path / f"bare-{path.parent.name}.yaml"
    out.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    return out


def endpoint(text: str) -> str:
    if text.startswith("ip:"):
        return f"{{cidr: {text[3:]}/32}}"
    namespace, name = text.split("/")
    return f"{{namespace: {namespace}, workload: {name}}}"


def recipe_expectations(scenario: str, tmp_path: Path) -> Path:
    lines = ["apiVersion: netpolscan.io/v1", "kind: ConnectivityExpectations", "expectations:"]
    for row in ROWS:
        if row["scenario"] == scenario:
            protocol, port = row["proto_port"].split("/")
            lines += [
                f"- from: {endpoint(row['from'])}",
                f"  to: {endpoint(row['to'])}",
                f"  ports: ['{port}/{protocol}']",
                f"  expect: {row['expected']}",
            ]
    path = tmp_path / f"{scenario}-expectations.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "scenario",
    SCENARIOS or [pytest.param("none", marks=pytest.mark.skip(reason="np-recipes corpus not found"))],
)
def test_np_recipes_expectations_round_trip(run_cli: Any, scenario: str, kind: str, tmp_path: Path) -> None:
    manifests = require_corpus("np-recipes", "scenarios", scenario, "manifests.yaml")
    expectations = recipe_expectations(scenario, tmp_path)
    workloads = bare(manifests, tmp_path)
    out = tmp_path / "generated.yaml"
    result = run_cli(
        "generate", str(workloads), "--from-expectations", str(expectations), "--kind", kind, "-o", str(out)
    )
    if scenario in DNS_DENIED:
        assert result.exit_code == 1
        assert (
            f"{DNS_DENIED[scenario]}[Pod] -> kube-system/kube-dns[Pod] is allowed on UDP 53" in result.stderr
        )
        return
    if kind == "cluster" and any(
        row["scenario"] == scenario and row["from"].startswith("ip:") and row["expected"] == "deny"
        for row in ROWS
    ):  # ClusterNetworkPolicy has no ingress peer for outside addresses: it cannot deny them
        assert result.exit_code == 1
        breaches = [line for line in result.stderr.splitlines() if "NPS701" in line]
        assert breaches and all("(deny cidr " in line for line in breaches), result.stderr
        assert "cluster cannot deny ingress from outside the cluster" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    scan = run_cli(
        "scan",
        str(workloads),
        str(out),
        "--expectations",
        str(expectations),
        "--format",
        "json",
        "--select",
        "NPS101,NPS102,NPS103,NPS104,NPS105,NPS501,NPS701",
    )
    assert json.loads(scan.stdout)["findings"] == [], scan.stdout


@pytest.mark.parametrize(
    "scenario",
    SCENARIOS or [pytest.param("none", marks=pytest.mark.skip(reason="np-recipes corpus not found"))],
)
@pytest.mark.parametrize("kind", KINDS)
def test_np_recipes_connectivity_is_frozen(run_cli: Any, scenario: str, kind: str, tmp_path: Path) -> None:
    manifests = require_corpus("np-recipes", "scenarios", scenario, "manifests.yaml")
    out = tmp_path / "generated.yaml"
    result = run_cli("generate", str(manifests), "--from-connectivity", "--kind", kind, "-o", str(out))
    if kind != "networkpolicy" and scenario in ADMITS_EVERY_SOURCE:
        # the recipe's own NetworkPolicy admits every source on every port to a workload: a default deny
        # of another kind does not count as one for NPS101 then (a NetworkPolicy default deny does)
        assert result.exit_code == 1
        assert [line.split(": ")[1].split()[0] for line in result.stderr.splitlines()[1:]] == ["NPS101"]
        return
    if kind == "cluster" and scenario in DNS_DENIED:
        # the recipe's NetworkPolicy closes egress without DNS: a Baseline DNS rule cannot reopen it
        assert result.exit_code == 1
        assert "kube-system/kube-dns[Pod] : TCP 53,UDP 53  (planned, not allowed)" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    before = Inventory.from_documents(load_documents([str(manifests)]), "default", available_kinds())
    after = Inventory.from_documents(load_documents([str(manifests), str(out)]), "default", available_kinds())
    today, frozen = key_pairs(connectivity(before)), key_pairs(connectivity(after))
    for pair, ports in frozen.items():  # nothing new, DNS aside
        assert (ports - today.get(pair, ports - ports)).is_empty or pair[1][0] == "kube-system", pair


@pytest.mark.parametrize("kind", KINDS)
def test_online_boutique_round_trip(run_cli: Any, kind: str, tmp_path: Path) -> None:
    with_policies = require_corpus(
        "microservices-demo", "rendered", "online-boutique-with-network-policies.yaml"
    )
    release = require_corpus("microservices-demo", "release", "kubernetes-manifests.yaml")
    expectations = tmp_path / "boutique-expectations.yaml"
    assert (
        run_cli(
            "connectivity", str(with_policies), "--format", "expectations", "-o", str(expectations)
        ).exit_code
        == 0
    )
    out = tmp_path / "generated.yaml"
    result = run_cli(
        "generate", str(release), "--from-expectations", str(expectations), "--kind", kind, "-o", str(out)
    )
    assert result.exit_code == 0, result.stderr
    # the bare manifests with the generated policies connect workloads as the 13 hand-written policies do
    original = Inventory.from_documents(load_documents([str(with_policies)]), "default", available_kinds())
    rebuilt = Inventory.from_documents(load_documents([str(release), str(out)]), "default", available_kinds())
    assert key_pairs(connectivity(rebuilt)) == key_pairs(connectivity(original))
    # one ingress policy per destination and one egress policy per source at most
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(out.read_text()) if d]
    assert len(names) == len(set(names))
    if kind != "cluster":
        assert sum(n.startswith("netpolscan-ingress-") for n in names) <= 12


def test_online_boutique_frozen_keeps_every_service_port(run_cli: Any, tmp_path: Path) -> None:
    release = require_corpus("microservices-demo", "release", "kubernetes-manifests.yaml")
    out = tmp_path / "generated.yaml"
    result = run_cli("generate", str(release), "--from-connectivity", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert (
        "default/loadgenerator[Deployment] declares no container port and no Service selects it"
        in result.stderr
    )
    after = Inventory.from_documents(load_documents([str(release), str(out)]), "default", available_kinds())
    conn = connectivity(after)
    workload = {w.name: w for w in after.workloads}
    assert str(conn.allowed(workload["frontend"], workload["cartservice"])) == "TCP 7070"
    assert str(conn.allowed(workload["loadgenerator"], workload["frontend"])) == "TCP 8080"
    assert conn.allowed(workload["frontend"], workload["loadgenerator"]).is_empty


# --- random clusters -------------------------------------------------------------------------------------


def _inventory(documents: list[dict[str, Any]]) -> Inventory:
    text = "---\n".join(json.dumps(d) + "\n" for d in documents)
    return Inventory.from_documents(list(parse_text(text, "input.yaml")), "default", available_kinds())


def _distinct(inventory: Inventory) -> bool:
    """Whether every workload can be told apart by its labels (else its policies also select others)."""
    generated = generate(inventory, "networkpolicy", None, "x")
    return all(t.distinct for t in generated.plan.targets.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster(), policies())
def test_random_clusters_connectivity_is_frozen(
    documents: list[dict[str, Any]], extra: list[dict[str, Any]]
) -> None:
    inventory = _inventory([*documents, *extra])
    generated = generate(inventory, "networkpolicy", None, "random")
    result = generated.verify(inventory)
    if all(t.distinct for t in generated.plan.targets.values()):
        assert result.ok, result.lines()
    else:  # two workloads with the same labels: a selector cannot split them, and verification says so
        assert any("no set of its pod labels" in note for note in generated.plan.notes)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster(), policies())
def test_random_clusters_expectations_round_trip_every_kind(
    tmp_path_factory: pytest.TempPathFactory, documents: list[dict[str, Any]], extra: list[dict[str, Any]]
) -> None:
    # NPS101/102 judge a default deny of another kind by the workloads it closes: a namespace without
    # workloads has it only as a NetworkPolicy, so the namespaces here all hold workloads
    used = {d["metadata"]["namespace"] for d in documents if d["kind"] != "Namespace"}
    documents = [d for d in documents if d["kind"] != "Namespace" or d["metadata"]["name"] in used]
    with_policies = _inventory([*documents, *extra])
    expectations = tmp_path_factory.mktemp("exp") / "expectations.yaml"
    expectations.write_text(bootstrap_text(with_policies))
    loaded = load_expectations(str(expectations))
    workloads = _inventory(documents)
    if not _distinct(workloads):
        return
    today = key_pairs(connectivity(with_policies))
    for kind in KINDS:
        generated = generate(workloads, kind, loaded, str(expectations))
        result = generated.verify(workloads, (str(expectations),))
        assert result.ok, (kind, result.lines())
        after = Inventory.from_documents(
            [*workloads.documents, *generated.parsed()], "default", available_kinds()
        )
        rebuilt = key_pairs(connectivity(after))
        # bootstrap lists the ports common to a group's pairs: nothing beyond today's is rebuilt
        for pair, ports in rebuilt.items():
            assert (ports - today.get(pair, ports - ports)).is_empty, (kind, pair, str(ports))
