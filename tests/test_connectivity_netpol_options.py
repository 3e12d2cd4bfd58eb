"""netpol-analyzer's options on ``connectivity``: focus, exposure, the ingress controller, --explain.

The corpus conformance test checks the formats against netpol-analyzer's outputs; these tests pin the
semantics on small inputs, and the one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netpolscan.analysis.exposure import Conn, exposure, representatives, selector_contains
from netpolscan.analysis.focus import Focus, name_matches, parse_conn
from netpolscan.analysis.list_explain import Decision, direction_regions, explain_pairs
from netpolscan.analysis.ports import PortSet
from netpolscan.cli import main
from netpolscan.errors import NetpolscanError
from netpolscan.model import Inventory
from netpolscan.model.selectors import LabelSelector, Requirement
from netpolscan.sources import load_documents

CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-node1
  namespace: shop
  ownerReferences: [{apiVersion: v1, kind: Node, name: node1, controller: true}]
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{port: dns, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{port: 8080}]
"""


@pytest.fixture()
def cluster(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    return path


def _inventory(path: Path) -> Inventory:
    return Inventory.from_documents(load_documents([str(path)]))


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


# --- focus -------------------------------------------------------------------------------------------


def test_focus_names_match_a_name_or_a_namespaced_name() -> None:
    assert name_matches("shop/web[Deployment]", "web")
    assert name_matches("shop/web[Deployment]", "shop/web")
    assert not name_matches("shop/web[Deployment]", "other/web")
    assert not name_matches("0.0.0.0-255.255.255.255[External]", "web")
    assert name_matches("{ingress-controller}", "ingress-controller")


def test_focus_direction_and_peers_filter_pairs() -> None:
    focus = Focus(("web", "db"), ("db",), "egress")
    assert focus.keeps_pair("shop/web[Deployment]", "shop/db[Deployment]")
    assert not focus.keeps_pair("shop/db[Deployment]", "shop/web[Deployment]")  # web is no peer
    assert not Focus(("db",), (), "egress").keeps_pair("shop/web[Deployment]", "shop/db[Deployment]")


def test_focus_conn_is_protocol_dash_port() -> None:
    assert parse_conn("tcp-8080") == ("TCP", 8080)
    with pytest.raises(NetpolscanError):
        parse_conn("8080")


def test_connectivity_focus_options(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["connectivity", str(cluster), "--focus-workload", "db,shop/web", "--focus-direction", "ingress"],
        capsys,
    )
    assert code == 0
    assert "shop/web[Deployment] => shop/db[Deployment] : TCP 5432" in out
    assert all(
        line.split(" => ")[1].split(" :")[0] in ("shop/db[Deployment]", "shop/web[Deployment]")
        for line in out.splitlines()
    )
    code, out, _ = _run(["connectivity", str(cluster), "--focus-conn", "tcp-5432"], capsys)
    assert out.splitlines()[0] == "Permitted connections on TCP 5432:"
    assert "shop/web[Deployment] => shop/db[Deployment]" in out.splitlines()


@pytest.mark.parametrize(
    "args",
    [
        ["--focus-direction", "ingress"],
        ["--focus-workload-peer", "db"],
        ["--focus-conn", "http"],
        ["--explain-only", "allow"],
        ["--explain", "-f", "csv"],
        ["--exposure", "-f", "mermaid"],
    ],
)
def test_bad_option_combinations_are_one_line_errors(
    cluster: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = _run(["connectivity", str(cluster), *args], capsys)
    assert code == 2 and not out
    assert err.startswith("netpolscan: error: ") and err.count("\n") == 1


# --- workloads as endpoints ----------------------------------------------------------------------------


def test_node_owned_pod_is_its_own_workload_and_dot_shows_every_workload(
    cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["connectivity", str(cluster), "-f", "dot"], capsys)
    assert code == 0
    assert '"shop/etcd-node1[Pod]"' in out and "[Node]" not in out
    code, out, _ = _run(["connectivity", str(cluster), "-f", "dot", "--focus-workload", "db"], capsys)
    assert '"shop/db[Deployment]" [label="db[Deployment]"' in out


def test_ingress_controller_reaches_the_backend_ports_its_policies_open(
    cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["connectivity", str(cluster)], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "{ingress-controller} => shop/web[Deployment] : TCP 8080"


# --- exposure ----------------------------------------------------------------------------------------


def test_selector_containment_is_by_equal_requirements() -> None:
    labels = LabelSelector((("app", "x"),))
    assert selector_contains(LabelSelector(), labels)
    assert selector_contains(LabelSelector((), (Requirement("app", "In", frozenset({"x"})),)), labels)
    assert not selector_contains(LabelSelector((), (Requirement("app", "Exists", frozenset()),)), labels)


def test_exposure_names_representatives_and_the_entire_cluster(cluster: Path) -> None:
    inventory = _inventory(cluster)
    assert [rep.label for rep in representatives(inventory)] == ["[namespace with {team=ops}]/[all pods]"]
    found = exposure(inventory, [])
    ingress = {(line.workload, line.peer): str(line.conn) for line in found.ingress}
    assert ingress[("shop/db[Deployment]", "[namespace with {team=ops}]/[all pods]")] == "All Connections"
    assert ingress[("shop/web[Deployment]", "entire-cluster")] == "TCP 8080"
    egress = {(line.workload, line.peer): str(line.conn) for line in found.egress}
    assert egress[("shop/db[Deployment]", "entire-cluster")] == "UDP dns"  # a name no destination resolves
    assert ("shop/web[Deployment]", "Egress") in found.unprotected


def test_exposure_conn_text_and_containment() -> None:
    named = Conn(PortSet.single("TCP", 80), frozenset({("TCP", "http")}))
    assert str(named) == "TCP 80,http"
    assert named.within(Conn(PortSet.all()))
    assert not named.within(Conn(PortSet.single("TCP", 80)))


def test_exposure_formats(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["connectivity", str(cluster), "--exposure"], capsys)
    assert (
        code == 0
        and "Exposure Analysis Result:" in out
        and "Workloads not protected by network policies:" in out
    )
    code, out, _ = _run(["connectivity", str(cluster), "--exposure", "-f", "json"], capsys)
    document = json.loads(out)
    assert set(document) == {"connlist_results", "exposure_results"}
    code, out, _ = _run(["connectivity", str(cluster), "--exposure", "-f", "dot"], capsys)
    assert '"entire-cluster" [label="entire-cluster" color="red2" fontcolor="red2" shape=diamond]' in out


# --- explain -----------------------------------------------------------------------------------------


def test_explain_decisions_name_policies_and_rule_numbers(cluster: Path) -> None:
    from netpolscan.analysis.connectivity import connectivity

    inventory = _inventory(cluster)
    web, db = (next(w for w in inventory.workloads if w.name == name) for name in ("web", "db"))
    regions = direction_regions(connectivity(inventory), web, db, "ingress")
    allowed = [(str(ports), items) for ports, ok, items in regions if ok]
    assert allowed == [("TCP 5432", (Decision("NetworkPolicy", "shop/db", 1, "allow"),))]
    denied = [items for _, ok, items in regions if not ok]
    assert denied == [(Decision("NetworkPolicy", "shop/db", 1, "deny", "ports"),)]
    pairs = {(p.src, p.dst): p for p in explain_pairs(inventory, Focus())}
    assert pairs[("shop/etcd-node1[Pod]", "shop/web[Deployment]")].regions  # web is isolated: specific


def test_connectivity_explain_text(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["connectivity", str(cluster), "--explain", "--explain-only", "allow"], capsys)
    assert code == 0
    assert "NetworkPolicy 'shop/db' allows connections by Ingress rule #1" in out
    assert "Denied connections:" not in out
    assert "Ingress 'shop/web' allows ingress connections through service web" in out


WEB_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
---
"""


def _explain(tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str) -> str:
    """``connectivity --explain`` of the web pod and ``policy``; it must succeed silently."""
    (tmp_path / "m.yaml").write_text(WEB_POD + policy, encoding="utf-8")
    code, out, err = _run(["connectivity", str(tmp_path), "--explain"], capsys)
    assert (code, err) == (0, "")
    return out


def test_connectivity_explain_names_a_cni_policy_default_deny(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Loki's Cilium flavour: ports no rule of a selecting CiliumNetworkPolicy allows end in the namespace
    # tier's deny, with no NetworkPolicy to name (it was an IndexError, "internal error")
    out = _explain(
        tmp_path,
        capsys,
        """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-http, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - toPorts: [{ports: [{port: http, protocol: TCP}]}]
""",
    )
    assert "CiliumNetworkPolicy 'shop/web-http' allows connections by Ingress rule #1" in out
    assert (
        "\t\tIngress (Denied)\n\t\t\tthe namespace tier's policies select shop/web[Pod], "
        "but none of their Ingress rules allows 0.0.0.0-255.255.255.255[External]\n"
    ) in out


def test_connectivity_explain_external_endpoints_known_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kube-prometheus-stack's Cilium flavour allows egress `toEntities: [kube-apiserver]`; with toFQDNs
    # these endpoints have no address, and --explain crashed turning them into one (AddressValueError)
    out = _explain(
        tmp_path,
        capsys,
        """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: out, namespace: shop}
spec:
  endpointSelector: {}
  egress:
  - toEntities: [kube-apiserver]
  - toFQDNs: [{matchName: api.example.com}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
""",
    )
    fqdn = out.split("Connections between shop/web[Pod] => fqdn:api.example.com:\n", 1)[1].split("-" * 20)[0]
    assert "Allowed TCP:[443] due to" in fqdn
    assert "CiliumNetworkPolicy 'shop/out' allows connections by Egress rule #2" in fqdn
    assert "Connections between shop/web[Pod] => entity:kube-apiserver:" in out
