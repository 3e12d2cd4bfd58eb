"""Unit tests of the semantic engine: port sets, address segments, connectivity, explain and diff."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netpolscan.analysis.addresses import AddressSpace, iter_bits
from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.connlist import connection_rows
from netpolscan.analysis.diff import diff_rows
from netpolscan.analysis.explain import explain, find_endpoint, parse_port
from netpolscan.analysis.ports import PortSet
from netpolscan.builtin.diff_findings import diff_findings
from netpolscan.errors import NetpolscanError
from netpolscan.model import Inventory, IPBlock, Workload
from netpolscan.report.connectivity_formats import format_connlist, format_diff, format_explanation
from netpolscan.sources import load_documents

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: b}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: default}
spec:
  template:
    metadata: {labels: {role: frontend}}
    spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: default}
spec:
  template:
    metadata: {labels: {role: backend}}
    spec:
      containers:
      - name: c
        ports: [{containerPort: 8080, name: http}, {containerPort: 9000, name: sctp-p, protocol: SCTP}]
---
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: other, labels: {role: probe}}
spec: {containers: [{name: c}]}
status: {podIP: 10.1.2.3}
"""

POLICIES = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-in, namespace: default}
spec:
  podSelector: {matchLabels: {role: backend}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
    ports: [{port: http}, {port: sctp-p, protocol: SCTP}]
  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
    ports: [{port: 7000, endPort: 7010}]
  - from: [{namespaceSelector: {}}]
    ports: [{port: 5000, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-out, namespace: default}
spec:
  podSelector: {matchLabels: {role: frontend}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {role: backend}}}]
    ports: [{port: http}]
"""


def _inventory(tmp_path: Path, text: str, name: str = "in.yaml") -> Inventory:
    path = tmp_path / name
    path.write_text(text)
    return Inventory.from_documents(load_documents([str(path)]))


def _workload(inventory: Inventory, namespace: str, name: str) -> Workload:
    return next(w for w in inventory.workloads if w.namespace == namespace and w.name == name)


def test_portset_text_and_algebra() -> None:
    ports = PortSet({"UDP": [(53, 53)], "TCP": [(8080, 8090), (80, 80)], "SCTP": [(1, 65535)]})
    assert str(ports) == "SCTP 1-65535,TCP 80,8080-8090,UDP 53"
    assert str(PortSet.all()) == "All Connections" and str(PortSet.empty()) == "No Connections"
    assert str(PortSet.single("TCP", 80) | PortSet.single("TCP", 81)) == "TCP 80-81"
    assert str(PortSet.all() - PortSet.single("TCP", 80)) == "SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535"
    assert (ports & PortSet.protocol("TCP")).contains("TCP", 8085)
    assert not (ports & PortSet.protocol("UDP")).contains("TCP", 80)


def test_address_space_merges_adjacent_excepts() -> None:
    block = IPBlock(
        ipaddress.ip_network("0.0.0.0/0"),
        (ipaddress.ip_network("10.0.0.0/9"), ipaddress.ip_network("10.128.0.0/9")),
    )
    space = AddressSpace([block])
    assert [str(s) for s in space.segments] == [
        "0.0.0.0-9.255.255.255",
        "10.0.0.0-10.255.255.255",
        "11.0.0.0-255.255.255.255",
    ]
    assert iter_bits(space.bits(block)) == [0, 2]
    assert iter_bits(0b10110) == [1, 2, 4]


def test_semantics(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, PODS + POLICIES)
    conn = connectivity(inventory)
    assert connectivity(inventory) is conn  # cached on the inventory
    frontend = _workload(inventory, "default", "frontend")
    backend = _workload(inventory, "default", "backend")
    probe = _workload(inventory, "other", "probe")
    # named port resolved on the destination; egress AND ingress; SCTP only by ingress, egress blocks it
    assert str(conn.allowed(frontend, backend)) == "TCP 8080"
    # the probe pod IP is in 10.0.0.0/8 but excepted; namespaceSelector {} admits every pod on UDP 5000
    assert str(conn.allowed(probe, backend)) == "UDP 5000"
    # an external address in the ipBlock gets the endPort range; namespaceSelector {} admits no address
    assert str(conn.allowed(ipaddress.ip_address("10.9.9.9"), backend)) == "TCP 7000-7010"
    assert not conn.allowed(ipaddress.ip_address("192.0.2.1"), backend)
    assert not conn.allowed(backend, frontend)  # default deny both ways
    assert conn.allowed(probe, ipaddress.ip_address("8.8.8.8")).is_all  # probe is not isolated
    rows = format_connlist(connection_rows(inventory), "txt").splitlines()
    assert "default/frontend[Deployment] => default/backend[Deployment] : TCP 8080" in rows
    assert "10.0.0.0-10.0.255.255[External] => default/backend[Deployment] : TCP 7000-7010" in rows
    assert rows == sorted(rows)


def test_pod_ip_matched_by_ipblock(tmp_path: Path) -> None:
    text = POLICIES.replace("except: [10.1.0.0/16]", "except: [10.2.0.0/16]")
    inventory = _inventory(tmp_path, PODS + text)
    conn = connectivity(inventory)
    probe, backend = _workload(inventory, "other", "probe"), _workload(inventory, "default", "backend")
    assert str(conn.allowed(probe, backend)) == "TCP 7000-7010,UDP 5000"


def test_explain(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, PODS + POLICIES)
    backend = find_endpoint(inventory, "default/backend")
    frontend = find_endpoint(inventory, "frontend")
    result = explain(inventory, backend, frontend, parse_port("80/tcp"))
    assert result.port_allowed is False and result.missing() == ["egress", "ingress"]
    result = explain(inventory, frontend, backend, ("TCP", 8080))
    text = format_explanation(result)
    assert "TCP 8080: ALLOWED" in text
    assert "default/backend-in ingress rule 1 (" in text and "in.yaml:" in text
    with pytest.raises(NetpolscanError, match="closest: default/backend"):
        find_endpoint(inventory, "default/backnd")
    with pytest.raises(NetpolscanError):
        parse_port("80/ICMP")


def test_diff_and_findings(tmp_path: Path) -> None:
    base = _inventory(tmp_path, PODS + POLICIES, "base.yaml")
    head = _inventory(
        tmp_path, PODS + POLICIES.replace("ports: [{port: http}]\n", "ports: [{port: 80}]\n"), "head.yaml"
    )
    rows = diff_rows(base, head)
    assert (
        "diff-type: removed, source: default/frontend[Deployment], destination: default/backend[Deployment]"
        in (format_diff(rows, "txt"))
    )
    assert format_diff(diff_rows(base, base), "txt") == ""
    opened = _inventory(tmp_path, PODS + POLICIES.replace("ports: [{port: http}]\n", "\n"), "open.yaml")
    rows = diff_rows(base, opened)
    added = [r for r in rows if r.newly_allowed]
    assert added and all(r.kind in ("added", "changed") for r in added)
    findings = diff_findings(opened, rows)
    assert findings and all(f.location.path.endswith("open.yaml") for f in findings)


FQDN_POLICY = """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: out, namespace: default}
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
  - toFQDNs: [{matchName: %s.example.com}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
"""


def test_diff_compares_named_external_endpoints_by_name(tmp_path: Path) -> None:
    # each input numbers its named endpoints on its own (fqdn:a here, fqdn:b there, both the first): the
    # diff crashed printing them as address ranges; they are compared by name, as workloads are
    from netpolscan.policykinds import builtin_kinds

    def side(name: str) -> Inventory:
        path = tmp_path / f"{name}.yaml"
        path.write_text(PODS + FQDN_POLICY % name)
        return Inventory.from_documents(load_documents([str(path)]), kinds=builtin_kinds())

    base, head = side("a"), side("b")
    rows = {
        (r.kind, r.src, r.dst, str(r.base), str(r.head))
        for r in diff_rows(base, head)
        if r.src.startswith("default/frontend")
    }
    assert rows == {
        ("removed", "default/frontend[Deployment]", "fqdn:a.example.com", "TCP 443", "No Connections"),
        ("added", "default/frontend[Deployment]", "fqdn:b.example.com", "No Connections", "TCP 443"),
    }
    assert "workload" not in format_diff(diff_rows(base, head), "txt")  # no "workload fqdn:… added"
    newly = [f.message for f in diff_findings(head, diff_rows(base, head))]  # the other pods: not isolated
    assert any("default/frontend[Deployment] => fqdn:b.example.com : TCP 443" in m for m in newly), newly


def test_explain_an_external_endpoint_known_by_name(tmp_path: Path) -> None:
    # `connectivity` prints fqdn:… and entity:… endpoints; `explain --dst` takes the same names
    from netpolscan.policykinds import builtin_kinds

    path = tmp_path / "in.yaml"
    path.write_text(PODS + FQDN_POLICY % "api")
    inventory = Inventory.from_documents(load_documents([str(path)]), kinds=builtin_kinds())
    frontend = _workload(inventory, "default", "frontend")
    result = explain(inventory, frontend, find_endpoint(inventory, "fqdn:api.example.com"), ("TCP", 443))
    assert result.port_allowed and str(result.allowed) == "TCP 443"
    text = format_explanation(result)
    assert text.startswith(
        "Connection default/frontend[Deployment] => fqdn:api.example.com\nTCP 443: ALLOWED"
    )
    assert "CiliumNetworkPolicy default/out egress rule 1: allow" in text
    with pytest.raises(NetpolscanError, match="no external endpoint fqdn:api.exampl.com .*closest: fqdn:api"):
        find_endpoint(inventory, "fqdn:api.exampl.com")


def test_named_port_from_outside_resolves_on_each_destination(tmp_path: Path) -> None:
    # Loki's Cilium flavour opens `port: http-metrics` to every source on pods serving it as 3100, 3500
    # and 9150: the walk for external sources was shared by every pod the same policies select, so all of
    # them got the first pod's number
    from netpolscan.policykinds import builtin_kinds

    pods = "".join(
        f"""\
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {{app: m}}}}
spec: {{containers: [{{name: c, image: i, ports: [{{containerPort: {port}, name: metrics}}]}}]}}
"""
        for name, port in (("a", 8080), ("b", 9090))
    )
    policy = """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: metrics, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: m}}
  ingress:
  - toPorts: [{ports: [{port: metrics, protocol: TCP}]}]
"""
    path = tmp_path / "in.yaml"
    path.write_text(pods + policy)
    inventory = Inventory.from_documents(load_documents([str(path)]), kinds=builtin_kinds())
    text = format_connlist(connection_rows(inventory), "txt")
    rows = [line for line in text.splitlines() if line.startswith("0.0.0.0")]  # from outside
    assert rows == [
        "0.0.0.0-255.255.255.255[External] => shop/a[Pod] : TCP 8080",
        "0.0.0.0-255.255.255.255[External] => shop/b[Pod] : TCP 9090",
    ]


def test_diff_findings_point_at_the_cluster_or_cni_rule_that_allows(tmp_path: Path) -> None:
    # a connection a Cilium (or cluster-wide, Calico) rule newly allows was put at the workload's first
    # line as "(no policy isolates it)": only NetworkPolicy rules were looked up
    from netpolscan.policykinds import builtin_kinds

    def side(name: str, text: str) -> Inventory:
        path = tmp_path / f"{name}.yaml"
        path.write_text(PODS + text)
        return Inventory.from_documents(load_documents([str(path)]), kinds=builtin_kinds())

    base = side("base", FQDN_POLICY % "api")
    head = side("head", (FQDN_POLICY % "api").replace('port: "443"', 'port: "8443"'))
    found = [f for f in diff_findings(head, diff_rows(base, head)) if "frontend" in f.message]
    rule_line = (PODS + FQDN_POLICY).splitlines().index("  - toFQDNs: [{matchName: %s.example.com}]") + 1
    assert [(f.message.split("; ")[-1], f.location.line) for f in found] == [
        ("allowed by egress rule 1 of CiliumNetworkPolicy default/out", rule_line)
    ]
