"""`netpolscan flows`: observed traffic (Hubble's JSON export, the simple CSV) against the policies.

The fixtures under tests/fixtures/flows/ hold the same traffic of the demo twice: `hubble.json` in
Hubble's flow format (`hubble observe -o json`: GetFlowsResponse lines with Cilium's flow.Flow fields)
and `flows.csv`. `default-deny.yaml` adds the default deny the demo lacks (and an allow rule no flow
uses); `cilium-dns.yaml` is a Cilium policy (a tier beyond NetworkPolicy v1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.expectations import load_expectations
from netpolscan.flows.read import read_flow_log
from netpolscan.model.inventory import Inventory
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = "tests/fixtures/flows"
HUBBLE = f"{FIXTURES}/hubble.json"
CSV = f"{FIXTURES}/flows.csv"
DENY = f"{FIXTURES}/default-deny.yaml"
DEMO = "examples/demo"
Run = Callable[..., CliResult]

# (source, destination, port) -> status with the demo plus its default deny, for both logs
WITH_DEFAULT_DENY = {
    ("default/frontend[Deployment]", "default/backend[Deployment]", 8080): ("allowed", False),
    ("default/backend[Deployment]", "default/payments-db[Deployment]", 5432): ("dropped", True),
    ("default/frontend[Deployment]", "93.184.216.34", 443): ("allowed", False),
    ("default/backend[Deployment]", "kube-system/{k8s-app=kube-dns}[observed]", 53): ("unmatched", True),
    ("default/{run=debug}[observed]", "default/backend[Deployment]", 8080): ("unmatched", True),
    ("198.51.100.7", "default/frontend[Deployment]", 80): ("dropped", True),
}


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _statuses(report: dict[str, object]) -> dict[tuple[str, str, int], tuple[str, bool]]:
    flows = report["flows"]
    assert isinstance(flows, list)
    return {
        (f["source"]["name"].split(" ")[0], f["destination"]["name"].split(" ")[0], f["port"]): (
            f["status"],
            f["blocking"],
        )
        for f in flows
    }


# --- reading ---------------------------------------------------------------------------------------------


def test_hubble_export_is_read_skipping_replies_l7_icmp_node_and_dropped_records() -> None:
    log = read_flow_log(HUBBLE)
    assert log.format == "hubble"
    assert [(flow.line, flow.count) for flow in log.flows] == [
        (1, 3),
        (5, 1),
        (6, 1),
        (7, 1),
        (9, 1),
        (13, 1),
    ]
    assert dict(log.skipped) == {
        "reply": 1,
        "L7 or socket record": 1,
        "ICMP": 1,
        "from the node (reserved:host)": 1,
        "dropped when observed": 1,
        "not a flow (lost_events)": 1,
    }
    assert [str(bad) for bad in log.bad] == [
        f"{HUBBLE}:10: not a flow: invalid JSON: Expecting ',' delimiter (column 58)"
    ]
    frontend = log.flows[0].src
    assert frontend.namespace == "default"
    assert dict(frontend.labels) == {
        "role": "frontend",
        "pod-template-hash": "7d4b9c",
    }  # Cilium's own left out
    assert frontend.workloads == ("frontend",)
    dns = log.flows[3].dst
    assert (dns.namespace, dict(dns.namespace_labels)) == (
        "kube-system",
        {"kubernetes.io/metadata.name": "kube-system"},
    )
    world = log.flows[2].dst
    assert (str(world.ip), world.entity, world.is_pod) == ("93.184.216.34", "reserved:world", False)


@pytest.mark.parametrize("style", ["array", "pretty"])
def test_a_hubble_export_reshaped_by_jq_gives_the_same_flows(tmp_path: Path, style: str) -> None:
    """``jq -s`` (one array) and ``jq .`` (pretty-printed objects) of the same export: the same flows and
    skips; the record that does not decode is still one bad entry, and the rest is read."""
    lines = Path(HUBBLE).read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            records.append(None)  # the fixture's truncated line
    if style == "array":
        # as jq -s prints it: the items indented by two spaces inside the array
        shown = [json.dumps(r, indent=2) if r is not None else lines[i] for i, r in enumerate(records)]
        text = "[\n" + ",\n".join("  " + part.replace("\n", "\n  ") for part in shown) + "\n]\n"
    else:
        parts = [json.dumps(r, indent=2) if r is not None else lines[i] for i, r in enumerate(records)]
        text = "\n".join(parts) + "\n"
    reshaped = tmp_path / "flows.json"
    reshaped.write_text(text)
    log, original = read_flow_log(str(reshaped)), read_flow_log(HUBBLE)
    assert log.format == "hubble"
    key = [
        (f.src.namespace, f.src.workloads, f.dst.namespace, str(f.dst.ip), f.port, f.count) for f in log.flows
    ]
    assert key == [
        (f.src.namespace, f.src.workloads, f.dst.namespace, str(f.dst.ip), f.port, f.count)
        for f in original.flows
    ]
    assert dict(log.skipped) == dict(original.skipped)
    assert len(log.bad) == 1 and "invalid JSON" in log.bad[0].reason


def test_csv_is_read_with_header_comments_label_lists_and_addresses() -> None:
    log = read_flow_log(CSV)
    assert log.format == "csv"
    assert [(flow.line, flow.count) for flow in log.flows] == [
        (3, 2),
        (5, 1),
        (6, 1),
        (7, 1),
        (8, 1),
        (10, 1),
    ]
    assert [str(bad) for bad in log.bad] == [
        f"{CSV}:9: not a flow: `port` is not a port number (1-65535): 'http'"
    ]
    assert log.flows[0].src.stable_labels == {"role": "frontend"}
    external = log.flows[5]
    assert (str(external.src.ip), external.protocol, external.port) == ("198.51.100.7", "TCP", 80)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("default,app=a,default,app=b,80", "5 columns, expected 6"),
        ("default,app=a,default,app=b,0,TCP", "`port` is not a port number (1-65535): '0'"),
        ("default,app=a,default,app=b,80,ICMP", "`protocol` is not TCP, UDP or SCTP: 'ICMP'"),
        ("default,app,default,app=b,80,TCP", "`src_pod_labels`: 'app' is not key=value"),
        (
            "default,app=a,default,10.0.0.1,80,TCP",
            "`dst_labels_or_ip` is an IP address, so `dst_ns` must be empty",
        ),
        (",app=a,default,app=b,80,TCP", "`src_ns` is empty and `src_pod_labels` is not an IP address"),
        (",10.0.0.1,,10.0.0.2,80,TCP", "both ends are IP addresses; one must be a pod"),
    ],
)
def test_a_bad_csv_row_is_reported_with_its_line_and_the_rest_is_read(
    tmp_path: Path, row: str, reason: str
) -> None:
    path = tmp_path / "flows.csv"
    path.write_text(f"default,app=a,default,app=b,80,TCP\n{row}\ndefault,app=a,default,app=b,443,TCP\n")
    log = read_flow_log(str(path))
    assert [flow.port for flow in log.flows] == [80, 443]
    assert len(log.bad) == 1 and log.bad[0].line == 2 and log.bad[0].reason.startswith(reason)


def test_bare_jsonpb_flows_with_camel_case_names_are_read(tmp_path: Path) -> None:
    """`hubble observe -o jsonpb` prints bare flow objects; protobuf-JSON may use lowerCamelCase names."""
    bare = {
        "verdict": "FORWARDED",
        "IP": {"source": "10.0.1.15", "destination": "10.0.2.23"},
        "l4": {"SCTP": {"sourcePort": 4000, "destinationPort": "3868"}},
        "source": {"namespace": "default", "labels": ["k8s:role=frontend"], "podName": "frontend-1"},
        "destination": {"namespace": "default", "labels": ["role=backend"]},
        "Type": "L3_L4",
        "isReply": False,
    }
    reply = {**bare, "isReply": True}
    path = tmp_path / "flows.json"
    path.write_text(json.dumps(bare) + "\n\n" + json.dumps(reply) + "\n" + json.dumps({"time": "x"}) + "\n")
    log = read_flow_log(str(path))
    flow = log.flows[0]
    assert (flow.protocol, flow.port, flow.src.pod_name, dict(flow.dst.labels)) == (
        "SCTP",
        3868,
        "frontend-1",
        {"role": "backend"},
    )
    assert dict(log.skipped) == {"reply": 1}
    assert [(bad.line, bad.reason) for bad in log.bad] == [
        (4, "not a Hubble flow (no `flow`, `source`, `destination`, `IP` or `l4`)")
    ]


# --- verdicts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flows", [HUBBLE, CSV])
def test_a_new_default_deny_drops_the_flows_it_would_break(run_cli: Run, flows: str) -> None:
    result = run_cli("flows", "check", flows, DEMO, DENY, "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert _statuses(report) == WITH_DEFAULT_DENY
    assert report["summary"] == {
        "flows": 6,
        "records": 8 if flows == HUBBLE else 7,
        "allowed": 2,
        "dropped": 2,
        "unmatched": 2,
        "blocking": 4,
    }
    dropped = next(f for f in report["flows"] if f["port"] == 5432)
    assert dropped["reasons"] == [
        "egress from default/backend[Deployment] is isolated by NetworkPolicy default/default-deny "
        f"({DENY}:5); no rule allows TCP 5432 with this peer",
        "ingress to default/payments-db[Deployment] is isolated by NetworkPolicy default/default-deny "
        f"({DENY}:5); no rule allows TCP 5432 with this peer",
    ]
    allowed = next(f for f in report["flows"] if f["port"] == 8080 and f["status"] == "allowed")
    assert [(r["location"], r["policy"], r["direction"], r["rule"]) for r in allowed["allowedBy"]] == [
        (f"{DEMO}/policies.yaml:36", "default/frontend-egress", "egress", 1),
        (f"{DEMO}/policies.yaml:15", "default/backend-allow-frontend", "ingress", 1),
    ]
    assert len(result.stderr.splitlines()) == 1 and ":not a flow" not in result.stderr


def test_text_report_names_each_dropped_flow_and_why(run_cli: Run) -> None:
    result = run_cli("flows", "check", HUBBLE, DEMO, DENY)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        f"{HUBBLE}:5: DROPPED default/backend[Deployment] -> default/payments-db[Deployment] TCP 5432"
        in lines
    )
    assert (
        f"{HUBBLE}:13: DROPPED 198.51.100.7 (reserved:world) -> default/frontend[Deployment] TCP 80" in lines
    )
    assert (
        f"{HUBBLE}:7: UNMATCHED default/backend[Deployment] -> kube-system/{{k8s-app=kube-dns}}[observed] UDP 53"
        in lines
    )
    assert (
        "  no workload of the input matches kube-system/{k8s-app=kube-dns}; "
        "evaluated as observed: dropped by the side the input has"
    ) in lines
    assert not any("ALLOWED" in line for line in lines)  # allowed flows only with --all
    assert lines[-1] == (
        "6 observed flows (8 records): 2 allowed, 2 dropped, 2 unmatched (2 dropped by the side the input "
        "has); skipped: 1 ICMP, 1 L7 or socket record, 1 dropped when observed, 1 from the node "
        "(reserved:host), 1 not a flow (lost_events), 1 reply; 1 bad line."
    )
    assert result.stderr == (
        f"netpolscan: warning: {HUBBLE}:10: not a flow: invalid JSON: Expecting ',' delimiter (column 58)\n"
    )
    with_all = run_cli("flows", "check", HUBBLE, DEMO, DENY, "--all").stdout.splitlines()
    assert (
        f"{HUBBLE}:1: ALLOWED default/frontend[Deployment] -> default/backend[Deployment] TCP 8080 (seen 3 times)"
        in with_all
    )


def test_without_a_default_deny_only_what_the_demo_policies_isolate_is_dropped(run_cli: Run) -> None:
    result = run_cli("flows", "check", HUBBLE, DEMO, "-f", "json")
    assert result.exit_code == 1  # the debug pod may not reach the backend (only the frontend may)
    statuses = _statuses(json.loads(result.stdout))
    assert set(statuses.values()) == {("allowed", False), ("unmatched", False), ("unmatched", True)}
    assert statuses[("default/{run=debug}[observed]", "default/backend[Deployment]", 8080)] == (
        "unmatched",
        True,
    )
    assert statuses[("default/backend[Deployment]", "kube-system/{k8s-app=kube-dns}[observed]", 53)] == (
        "unmatched",
        False,
    )


def test_an_unmatched_pod_is_reported_not_dropped(run_cli: Run, tmp_path: Path) -> None:
    """A pod no workload matches is `unmatched`; when the side the input has allows the flow, it is
    not a failure (exit 0), even though the input knows nothing of that pod."""
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "default,run=debug,default,role=db,5432,TCP\ndefault,role=frontend,default,role=backend,8080,TCP\n"
    )
    result = run_cli("flows", "check", str(flows), DEMO)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{flows}:1: UNMATCHED default/{{run=debug}}[observed] -> default/payments-db[Deployment] TCP 5432",
        "  no workload of the input matches default/{run=debug}; evaluated as observed: allowed",
        "",
        "2 observed flows (2 records): 1 allowed, 0 dropped, 1 unmatched.",
    ]


def test_an_observed_pod_carries_its_namespace_labels_from_hubble(run_cli: Run, tmp_path: Path) -> None:
    """Hubble's `io.cilium.k8s.namespace.labels.*` labels give the namespace the input lacks its labels,
    so a namespaceSelector on them decides as in the cluster (DNS allowed to a `team=platform` namespace)."""
    line = json.loads(Path(HUBBLE).read_text().splitlines()[6])
    line["flow"]["destination"]["labels"].append("k8s:io.cilium.k8s.namespace.labels.team=platform")
    flows = tmp_path / "dns.json"
    flows.write_text(json.dumps(line) + "\n")
    policy = tmp_path / "dns.yaml"
    policy.write_text(
        """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {team: platform}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}]
"""
    )
    result = run_cli("flows", "check", str(flows), DEMO, str(policy), "-f", "json", "--unused")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert [(f["status"], f["allowed"]) for f in report["flows"]] == [("unmatched", True)]
    assert report["flows"][0]["allowedBy"][0]["policy"] == "default/dns"
    assert report["unusedRules"] == [
        {
            "location": f"{DEMO}/policies.yaml:15",
            "kind": "NetworkPolicy",
            "policy": "default/backend-allow-frontend",
            "direction": "ingress",
            "rule": 1,
        },
        {
            "location": f"{DEMO}/policies.yaml:36",
            "kind": "NetworkPolicy",
            "policy": "default/frontend-egress",
            "direction": "egress",
            "rule": 1,
        },
        {
            "location": f"{DEMO}/policies.yaml:43",
            "kind": "NetworkPolicy",
            "policy": "default/frontend-egress",
            "direction": "egress",
            "rule": 2,
        },
    ]


# --- unused rules ----------------------------------------------------------------------------------------


def test_unused_lists_the_allow_rules_no_observed_flow_used(run_cli: Run) -> None:
    result = run_cli("flows", "check", HUBBLE, DEMO, DENY, "--unused")
    assert result.exit_code == 1
    text = result.stdout
    assert (
        f"Allow rules no observed flow used:\n  {DENY}:25: NetworkPolicy default/backend-metrics ingress rule 1\n"
        in text
    )
    csv_report = json.loads(run_cli("flows", "check", CSV, DEMO, DENY, "--unused", "-f", "json").stdout)
    assert [rule["location"] for rule in csv_report["unusedRules"]] == [f"{DENY}:25"]


def test_unused_attributes_tiered_decisions_to_the_deciding_rule(run_cli: Run) -> None:
    """With a Cilium policy the engine walks tiers: the DNS flow is credited to the Cilium rule that
    allows it, and the Cilium rule nothing matched is unused."""
    cilium = f"{FIXTURES}/cilium-dns.yaml"
    result = run_cli("flows", "check", HUBBLE, DEMO, cilium, "--unused", "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    dns = next(f for f in report["flows"] if f["port"] == 53)
    assert (dns["status"], dns["allowed"]) == ("unmatched", True)
    assert [(r["kind"], r["location"]) for r in dns["allowedBy"]] == [("CiliumNetworkPolicy", f"{cilium}:12")]
    assert [(r["kind"], r["location"]) for r in report["unusedRules"]] == [
        ("CiliumNetworkPolicy", f"{cilium}:20")
    ]
    dropped = next(f for f in report["flows"] if f["port"] == 5432)
    assert dropped["reasons"] == [
        "egress from default/backend[Deployment]: namespace tier: selected but no rule matches: denied "
        f"(selected by CiliumNetworkPolicy default/backend-dns ({cilium}:8))"
    ]


# --- errors ----------------------------------------------------------------------------------------------


def test_an_unreadable_flow_log_is_one_line_and_exit_2(run_cli: Run, tmp_path: Path) -> None:
    missing = run_cli("flows", "check", str(tmp_path / "nope.json"), DEMO)
    assert missing.exit_code == 2
    assert (
        missing.stderr
        == f"netpolscan: error: {tmp_path / 'nope.json'}: cannot read flows: No such file or directory\n"
    )
    binary = tmp_path / "flows.bin"
    binary.write_bytes(b"\x00\x01\x02")
    result = run_cli("flows", "check", str(binary), DEMO)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot read flows: binary file" in result.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{nope\n{"x": 1}\n')
    result = run_cli("flows", "check", str(garbage), DEMO)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"netpolscan: error: {garbage}: no line is a flow (2 bad lines)"
    assert run_cli("flows", "check", "-", "-").exit_code == 2
    assert run_cli("flows", "check", HUBBLE).exit_code == 2  # PATHS are required


# --- expectations ----------------------------------------------------------------------------------------


def _scan_expectations(run_cli: Run, expectations: Path, *paths: str) -> list[tuple[str, str]]:
    result = run_cli("scan", *paths, "--expectations", str(expectations), "-f", "json")
    assert result.exit_code == 1 and not result.stderr, result.stderr  # the demo has findings of its own
    return [
        (f["ruleId"], f["message"])
        for f in json.loads(result.stdout)["findings"]
        if f["ruleId"].startswith("NPS7")
    ]


def test_flow_expectations_with_the_manifests_name_workloads_and_hold_on_them(
    run_cli: Run, tmp_path: Path
) -> None:
    out = tmp_path / "expectations.yaml"
    result = run_cli("flows", "expectations", HUBBLE, DEMO, "-o", str(out))
    assert result.exit_code == 0
    text = out.read_text()
    assert (
        "- from: {namespace: default, workload: frontend}\n  to: {namespace: default, workload: backend}\n"
        in text
    )
    assert '  to: {cidr: "93.184.216.34/32"}\n  ports: ["443/TCP"]\n' in text
    assert f"#   {HUBBLE}:7: kube-system/{{k8s-app=kube-dns}}: no workload of the input matches it\n" in text
    loaded = load_expectations(str(out))
    assert len(loaded.expectations) == 4
    assert all(e.expect == "allow" for e in loaded.expectations)
    assert _scan_expectations(run_cli, out, DEMO) == []  # today's policies allow what was observed
    broken = _scan_expectations(run_cli, out, DEMO, DENY)  # the default deny breaks two of them
    assert [rule for rule, _ in broken] == ["NPS701", "NPS701"]
    assert [message.split(" does not hold: ")[1].split(":")[0] for _, message in broken] == [
        "198.51.100.7 -> default/frontend[Deployment] is denied on TCP 80",
        "default/backend[Deployment] -> default/payments-db[Deployment] is denied on TCP 5432",
    ]


def test_flow_expectations_without_manifests_use_namespace_and_labels(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "expectations.yaml"
    assert run_cli("flows", "expectations", CSV, "-o", str(out)).exit_code == 0
    text = out.read_text()
    assert (
        "- from: {namespace: default, labels: {role: frontend}}\n  to: {namespace: default, labels: {role: backend}}\n"
        in text
    )
    assert "pod-template-hash" not in text
    loaded = load_expectations(str(out))
    assert len(loaded.expectations) == 6
    # the debug and kube-dns pods are not in the demo: those two entries match nothing there
    assert [rule for rule, _ in _scan_expectations(run_cli, out, DEMO)] == ["NPS702", "NPS702"]


def test_the_flow_log_can_come_from_stdin(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    data = Path(HUBBLE).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = run_cli("flows", "check", "-", DEMO, DENY, "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert _statuses(report) == WITH_DEFAULT_DENY
    assert report["badLines"] == [
        {"location": "-:10", "reason": "invalid JSON: Expecting ',' delimiter (column 58)"}
    ]


# --- matching and Hubble endpoints -----------------------------------------------------------------------


def _workloads(tmp_path: Path) -> Inventory:
    from netpolscan.model.loading import load_inventory

    manifest = tmp_path / "apps.yaml"
    manifest.write_text(
        "\n---\n".join(
            f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{matchLabels: {labels}}}
  template:
    metadata: {{labels: {labels}}}
    spec: {{containers: [{{name: c, image: x}}]}}"""
            for name, labels in (
                ("web", "{app: web}"),
                ("canary", "{app: web, track: canary}"),
                ("bare", "{}"),
            )
        )
    )
    return load_inventory([str(manifest)])


@pytest.mark.parametrize(
    ("labels", "workloads", "expected"),
    [
        ({"app": "web", "pod-template-hash": "1"}, (), "web"),
        ({"app": "web", "track": "canary"}, (), "canary"),  # the most specific template
        ({"app": "web", "track": "canary"}, ("web",), "web"),  # the controller Hubble names wins
        ({}, (), "bare"),  # a template without labels matches only a pod without (stable) labels
        ({"pod-template-hash": "1"}, (), "bare"),
        ({"app": "api"}, (), None),
    ],
)
def test_a_pod_is_the_workload_whose_template_labels_it_carries(
    tmp_path: Path, labels: dict[str, str], workloads: tuple[str, ...], expected: str | None
) -> None:
    from netpolscan.flows.check import match_workload
    from netpolscan.flows.records import FlowEndpoint

    found = match_workload(_workloads(tmp_path), FlowEndpoint("shop", labels, workloads=workloads))
    assert (found.name if found is not None else None) == expected


@pytest.mark.parametrize(
    ("source", "destination", "outcome"),
    [
        (["reserved:health"], ["k8s:app=web"], "skip: Cilium endpoint (reserved:health)"),
        (["reserved:host"], ["k8s:app=web"], "skip: from the node (reserved:host)"),
        (["k8s:app=web"], ["reserved:host"], "10.0.0.2 (reserved:host)"),
        (
            ["k8s:app=web"],
            ["reserved:kube-apiserver", "reserved:world"],
            "10.0.0.2 (reserved:kube-apiserver)",
        ),
        (["k8s:app=web"], ["reserved:remote-node"], "10.0.0.2 (reserved:remote-node)"),
        (["k8s:app=web"], ["cidr:10.0.0.0/8", "reserved:world"], "10.0.0.2 (reserved:world)"),
        (["k8s:app=web"], ["k8s:app=api", "k8s:io.kubernetes.pod.namespace=shop"], "shop/{app=api}"),
    ],
)
def test_hubble_entities_are_read_sensibly(source: list[str], destination: list[str], outcome: str) -> None:
    from netpolscan.flows.hubble import parse_line
    from netpolscan.flows.records import Skip

    def endpoint(labels: list[str]) -> dict[str, object]:
        pod = any(label.startswith("k8s:") for label in labels)
        return {"labels": labels, **({"namespace": "shop"} if pod else {})}

    flow = {
        "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
        "l4": {"TCP": {"destination_port": 443}},
        "source": endpoint(source),
        "destination": endpoint(destination),
        "Type": "L3_L4",
    }
    try:
        parsed = parse_line(json.dumps({"flow": flow}), "f.json", 1)
    except Skip as skip:
        assert outcome == f"skip: {skip}"
    else:
        assert str(parsed.dst) == outcome
        assert str(parsed.src) == "shop/{app=web}"


def test_external_addresses_the_policies_treat_alike_are_one_flow(run_cli: Run, tmp_path: Path) -> None:
    """Clients from the internet: no ingress rule of the demo names an ipBlock, so every address gets
    the same verdict and the flows on one port are reported once, naming the other addresses."""
    flows = tmp_path / "clients.csv"
    flows.write_text(
        ",198.51.100.7,default,role=frontend,80,TCP\n"
        ",203.0.113.9,default,role=frontend,80,TCP\n"
        ",203.0.113.9,default,role=frontend,80,TCP\n"
        ",203.0.113.9,default,role=frontend,443,TCP\n"
    )
    result = run_cli("flows", "check", str(flows), DEMO, DENY, "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(f["location"], f["port"], f["count"], f.get("otherAddresses")) for f in report["flows"]] == [
        (f"{flows}:1", 80, 3, ["203.0.113.9"]),
        (f"{flows}:4", 443, 1, None),
    ]
    assert report["flows"][0]["addressRange"] == "0.0.0.0-255.255.255.255"
    text = run_cli("flows", "check", str(flows), DEMO, DENY).stdout.splitlines()
    assert text[0] == (
        f"{flows}:1: DROPPED 198.51.100.7 -> default/frontend[Deployment] TCP 80 "
        "(and 1 other address in 0.0.0.0-255.255.255.255; seen 3 times)"
    )
    assert text[-1] == "2 observed flows (4 records): 0 allowed, 2 dropped, 0 unmatched."


def test_flow_expectations_list_the_addresses_seen_with_one_peer_in_one_entry(
    run_cli: Run, tmp_path: Path
) -> None:
    flows = tmp_path / "clients.csv"
    flows.write_text(
        ",198.51.100.7,default,role=frontend,80,TCP\n"
        ",203.0.113.9,default,role=frontend,80,TCP\n"
        ",192.0.2.1,default,role=frontend,443,TCP\n"
        ",203.0.113.9,default,role=frontend,80,TCP\n"
    )
    out = tmp_path / "expectations.yaml"
    assert run_cli("flows", "expectations", str(flows), DEMO, "-o", str(out)).exit_code == 0
    entries = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert entries[3:] == [
        '- from: {cidr: "192.0.2.1/32"}',
        "  to: {namespace: default, workload: frontend}",
        '  ports: ["443/TCP"]',
        "  expect: allow",
        f'  reason: "observed 1 time, first at {flows}:3"',
        "- from:",
        '  - {cidr: "198.51.100.7/32"}',
        '  - {cidr: "203.0.113.9/32"}',
        "  to: {namespace: default, workload: frontend}",
        '  ports: ["80/TCP"]',
        "  expect: allow",
        f'  reason: "observed 3 times, first at {flows}:1"',
    ]
    assert _scan_expectations(run_cli, out, DEMO) == []
    assert [rule for rule, _ in _scan_expectations(run_cli, out, DEMO, DENY)] == ["NPS701", "NPS701"]


# --- a real application: Online Boutique (corpus) --------------------------------------------------------

# Online Boutique's service graph (its README's architecture): who calls whom, on the callee's pod port
BOUTIQUE_CALLS = {
    "loadgenerator": ("frontend",),
    "frontend": (
        "adservice",
        "cartservice",
        "checkoutservice",
        "currencyservice",
        "productcatalogservice",
        "recommendationservice",
        "shippingservice",
    ),
    "checkoutservice": (
        "cartservice",
        "currencyservice",
        "emailservice",
        "paymentservice",
        "productcatalogservice",
        "shippingservice",
    ),
    "recommendationservice": ("productcatalogservice",),
    "cartservice": ("redis-cart",),
}
BOUTIQUE_PORTS = {
    "adservice": 9555,
    "cartservice": 7070,
    "checkoutservice": 5050,
    "currencyservice": 7000,
    "emailservice": 8080,
    "frontend": 8080,
    "paymentservice": 50051,
    "productcatalogservice": 3550,
    "recommendationservice": 8080,
    "redis-cart": 6379,
    "shippingservice": 50051,
}


def test_online_boutique_traffic_passes_its_network_policies(run_cli: Run, tmp_path: Path) -> None:
    """Its own call graph as observed traffic against its network-policies component: every call is
    allowed, a call outside the graph is dropped by deny-all, and the open egress rules of the services
    that call nobody are the unused allow rules."""
    from tests.conftest import require_corpus

    manifest = require_corpus("microservices-demo", "rendered", "online-boutique-with-network-policies.yaml")
    rows = [
        f"default,app={src},default,app={dst},{BOUTIQUE_PORTS[dst]},TCP"
        for src, callees in BOUTIQUE_CALLS.items()
        for dst in callees
    ]
    rows.append(f"default,app=frontend,default,app=paymentservice,{BOUTIQUE_PORTS['paymentservice']},TCP")
    flows = tmp_path / "boutique.csv"
    flows.write_text("\n".join(rows) + "\n")
    result = run_cli("flows", "check", str(flows), str(manifest), "--unused", "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["summary"] == {
        "flows": 17,
        "records": 17,
        "allowed": 16,
        "dropped": 1,
        "unmatched": 0,
        "blocking": 1,
    }
    dropped = [f for f in report["flows"] if f["status"] == "dropped"]
    assert [(f["source"]["name"], f["destination"]["name"]) for f in dropped] == [
        ("default/frontend[Deployment]", "default/paymentservice[Deployment]")
    ]
    assert "NetworkPolicy default/deny-all" in dropped[0]["reasons"][0]
    callers = set(BOUTIQUE_CALLS)
    unused = {(rule["policy"], rule["direction"]) for rule in report["unusedRules"]}
    assert unused == {(f"default/{name}", "egress") for name in BOUTIQUE_PORTS if name not in callers}
