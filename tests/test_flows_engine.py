"""`flows check` agrees with the engine on generated clusters of every policy kind.

On the benchmark generators' clusters (NetworkPolicy with Admin/Baseline ClusterNetworkPolicies, Cilium,
Calico), random observed flows between workloads, to external addresses and to a DNS pod the input
lacks are checked. Every flow between two workloads (or a workload and an address) gets the verdict of
``Connectivity.allowed`` on the input as given (the pods added for unmatched endpoints change nobody
else's verdict); an allowed flow names no reason, a dropped one names at least one; the allow rules
credited and the unused ones split the allow rules of the input exactly.
"""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys
from pathlib import Path

import pytest

from netpolscan.analysis.connectivity import connectivity
from netpolscan.flows.check import allow_rules, check_flows
from netpolscan.flows.records import Flow, FlowEndpoint, FlowLog
from netpolscan.model.loading import load_inventory
from netpolscan.model.objects import Workload
from netpolscan.scan import available_kinds

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
GENERATORS = {
    "cluster-policies": ["generate.py", "--namespaces", "6", "--cluster-policies"],
    "cilium": ["generate_cilium.py", "--namespaces", "6"],
    "calico": ["generate_calico.py", "--namespaces", "6"],
}


def _observed(workloads: list[Workload], count: int, seed: int) -> FlowLog:
    rnd = random.Random(seed)
    log = FlowLog("synthetic.csv", "csv")
    for line in range(1, count + 1):
        src, dst = rnd.choice(workloads), rnd.choice(workloads)
        protocol, port = (dst.ports[0].protocol, dst.ports[0].port) if dst.ports else ("TCP", 8080)
        if line % 7 == 0:
            target = FlowEndpoint(
                ip=ipaddress.ip_address(f"{rnd.choice([8, 10, 52, 169])}.{rnd.randrange(256)}.7.9")
            )
            protocol, port = "TCP", rnd.choice([443, 5432])
        elif line % 11 == 0:
            target = FlowEndpoint("kube-system", {"k8s-app": "node-local-dns", "pod-template-hash": "abc"})
            protocol, port = "UDP", 53
        else:
            target = FlowEndpoint(dst.namespace, {**dst.labels, "pod-template-hash": "x"})
        log.add(Flow(FlowEndpoint(src.namespace, dict(src.labels)), target, protocol, port, log.path, line))
    return log


@pytest.mark.parametrize("shape", sorted(GENERATORS))
def test_flow_verdicts_are_the_engines(shape: str, tmp_path: Path) -> None:
    script, *args = GENERATORS[shape]
    manifest = tmp_path / f"{shape}.yaml"
    generated = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, check=True
    )
    manifest.write_text(generated.stdout)
    inventory = load_inventory([str(manifest)], kinds=available_kinds())
    assert inventory.tier_policies, "the generated cluster has policies beyond NetworkPolicy v1"
    log = _observed(inventory.workloads, 400, seed=len(shape))
    result = check_flows(inventory, log, unused=True)
    assert sum(1 + len(checked.also) for checked in result.results) == len(log.flows) > 100
    assert any(checked.also for checked in result.results), "external addresses the policies treat alike"
    conn = connectivity(inventory)
    by_name = {(w.kind, w.namespace, w.name): w for w in inventory.workloads}
    compared = {"allowed": 0, "dropped": 0}
    for checked in result.results:
        assert bool(checked.reasons) != checked.allowed, checked
        if not checked.matched:
            continue
        for flow in (checked.flow, *checked.also):  # each address of a group gets the group's verdict
            ends = [
                by_name[(e.kind, e.namespace, e.name)] if isinstance(e, Workload) else observed.ip
                for e, observed in ((checked.src.endpoint, flow.src), (checked.dst.endpoint, flow.dst))
            ]
            allowed = conn.allowed(ends[0], ends[1]).contains(flow.protocol, flow.port)
            assert allowed == checked.allowed, (flow, checked)
            compared["allowed" if allowed else "dropped"] += 1
    assert min(compared.values()) > 0, compared  # both verdicts are exercised
    assert result.count("unmatched") > 0
    every = set(allow_rules(inventory).values())
    used = {ref for checked in result.results for ref in checked.rules}
    assert result.unused is not None
    assert used | set(result.unused) == every and not used & set(result.unused)
    assert used, "some allow rule let an observed flow through"
