"""The first rules (NPS001-003, NPS101/102, NPS301-303, NPS401/402) on real manifests, reviewed by hand.

Every expected finding below was checked against the rule catalog; the notes say why it is right. Reads the
peer corpus from ``$NETPOLSCAN_CORPUS`` (default ``../shared/corpus``) and skips when it is absent.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path

import pytest

from netpolscan.plugin_api import Finding
from netpolscan.scan import ScanOptions, scan

try:
    from tests.conftest import require_corpus
except ImportError:  # pragma: no cover - run from inside tests/
    from conftest import require_corpus  # type: ignore[no-redef]

RULES = ("NPS001", "NPS002", "NPS003", "NPS101", "NPS102", "NPS301", "NPS302", "NPS303", "NPS401", "NPS402")


def _corpus(*parts: str) -> Path:
    return require_corpus(*parts)


def _scan(*paths: Path) -> list[Finding]:
    report = scan(ScanOptions(paths=tuple(str(p) for p in paths), select=RULES))
    return list(report.active)


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    return dict(sorted(collections.Counter(f.rule_id for f in findings).items()))


def _by_rule(findings: Sequence[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def _where(finding: Finding) -> tuple[str, int]:
    return Path(finding.location.path).name, finding.location.line


# --- kube-prometheus ------------------------------------------------------------------------------------

KUBE_PROMETHEUS_POLICIES = {
    # policy name -> (file, line of its `- {}` egress rule)
    "alertmanager-main": ("alertmanager-networkPolicy.yaml", 14),
    "blackbox-exporter": ("blackboxExporter-networkPolicy.yaml", 13),
    "grafana": ("grafana-networkPolicy.yaml", 13),
    "kube-state-metrics": ("kubeStateMetrics-networkPolicy.yaml", 13),
    "node-exporter": ("nodeExporter-networkPolicy.yaml", 13),
    "prometheus-k8s": ("prometheus-networkPolicy.yaml", 14),
    "prometheus-adapter": ("prometheusAdapter-networkPolicy.yaml", 13),
    "prometheus-operator": ("prometheusOperator-networkPolicy.yaml", 13),
}


@pytest.mark.parametrize("with_synthetic", [False, True], ids=["manifests", "with-synthetic"])
def test_kube_prometheus(with_synthetic: bool) -> None:
    manifests = _corpus("kube-prometheus", "manifests")
    paths = [manifests] + ([_corpus("kube-prometheus", "synthetic")] if with_synthetic else [])
    findings = _scan(*paths)
    # Every policy ends its egress with `- {}` (allow all): one NPS301 per policy, whose message names the
    # metadata service; no NPS303 on the same line (issue 14 item 8). RoleBindings put default and
    # kube-system in scope (prometheus-roleBindingSpecificNamespaces.yaml, a RoleBindingList), but no
    # workload of the input runs there: only monitoring gets NPS101/102, on its Namespace manifest (item 9).
    assert _counts(findings) == {"NPS101": 1, "NPS102": 1, "NPS301": 8}
    located = {f.obj.name: _where(f) for f in _by_rule(findings, "NPS301") if f.obj}
    assert located == KUBE_PROMETHEUS_POLICIES
    grafana = next(f for f in _by_rule(findings, "NPS301") if f.obj and f.obj.name == "grafana")
    assert grafana.message == (
        "NetworkPolicy monitoring/grafana egress rule 1 allows every destination on every port (no `to` and "
        "no `ports`): the selected pods may connect to any pod, any internet address and the cloud metadata "
        "service 169.254.169.254 (node credentials), as if no policy isolated their egress"
    )
    for rule_id in ("NPS101", "NPS102"):
        anchors = {f.obj.name: _where(f) for f in _by_rule(findings, rule_id) if f.obj}
        assert anchors == {"monitoring": ("namespace.yaml", 1)}, rule_id
    monitoring = next(f for f in _by_rule(findings, "NPS101") if f.obj and f.obj.name == "monitoring")
    # 5 Deployments and the node-exporter DaemonSet; the synthetic adds alertmanager's and prometheus' pods
    workloads = 8 if with_synthetic else 6
    assert f"its {workloads} workload(s) accept connections from anywhere" in monitoring.message


# --- microservices-demo ----------------------------------------------------------------------------------

ONLINE_BOUTIQUE_EGRESS_RULES = {
    "adservice": 954,
    "cartservice": 976,
    "checkoutservice": 1001,
    "currencyservice": 1023,
    "emailservice": 1058,
    "frontend": 1080,
    "loadgenerator": 1096,
    "paymentservice": 1109,
    "productcatalogservice": 1131,
    "recommendationservice": 1159,
    "redis-cart": 1181,
    "shippingservice": 1203,
}


def test_online_boutique() -> None:
    findings = _scan(_corpus("microservices-demo", "rendered"))
    # `deny-all` (podSelector {}, policyTypes Ingress+Egress) covers `default`: no NPS101/102.
    # Each service policy allows `egress: - {}`: one NPS301 at that rule, no NPS303 beside it (item 8).
    assert _counts(findings) == {"NPS301": 12}
    lines = {f.obj.name: f.location.line for f in _by_rule(findings, "NPS301") if f.obj}
    assert lines == ONLINE_BOUTIQUE_EGRESS_RULES
    frontend = next(f for f in _by_rule(findings, "NPS301") if f.obj and f.obj.name == "frontend")
    assert frontend.message.startswith(
        "NetworkPolicy default/frontend egress rule 1 allows every destination on every port "
        "(no `to` and no `ports`)"
    )


# --- np-recipes ------------------------------------------------------------------------------------------

# Each recipe on its own, as a user would apply it (policies without a namespace go to `default`).
# 03 (`podSelector: {}`, ingress: []) and 04 (`podSelector: {}` <- same namespace) isolate ingress;
# 12 (`podSelector: {}`, Egress, egress: []) isolates egress. Recipe 11 variant 2 and 14 reach kube-dns on 53
# only (no NPS402); 14-legacy's no-`to` rule is limited to 53 (no NPS301/303), its `namespaceSelector: {}`
# peer is not "explicitly kube-system" (no NPS402).
RECIPES_WITHOUT_INGRESS_DENY = {"03", "04"}
RECIPES_WITHOUT_EGRESS_DENY = {"12"}


def _recipe_files() -> list[Path]:
    return sorted(_corpus("np-recipes", "policies").glob("*.yaml"))


# A recipe file holds policies only; applied next to an application (a Pod in `default`), the
# namespace-level findings point at that workload. A recipe alone has no pod to protect: no finding.
WEB_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - {name: web, image: nginx}
"""


def test_np_recipes_each_policy_file(tmp_path: Path) -> None:
    files = _recipe_files()
    assert len(files) == 15
    web = tmp_path / "web.yaml"
    web.write_text(WEB_POD, encoding="utf-8")
    for path in files:
        recipe = path.name.split("-")[0]
        assert _scan(path) == [], path.name
        findings = _scan(path, web)
        expected = {}
        if recipe not in RECIPES_WITHOUT_INGRESS_DENY:
            expected["NPS101"] = 1
        if recipe not in RECIPES_WITHOUT_EGRESS_DENY:
            expected["NPS102"] = 1
        assert _counts(findings) == expected, path.name
        for finding in findings:
            assert finding.obj is not None and finding.obj.name == "default"
            assert _where(finding) == ("web.yaml", 1), path.name  # the workload, not the first policy


def test_np_recipes_all_policies_together() -> None:
    # Together, 03 and 12 give `default` both default denies; nothing else applies.
    assert _scan(_corpus("np-recipes", "policies")) == []


SCENARIO_COUNTS = {
    "r01": {"NPS101": 1, "NPS102": 1},
    "r02": {"NPS101": 1, "NPS102": 1},
    "r02a": {"NPS101": 2, "NPS102": 2},
    "r03": {"NPS101": 1, "NPS102": 2},
    "r04": {"NPS101": 1, "NPS102": 2},
    "r05": {"NPS101": 2, "NPS102": 2},
    "r06": {"NPS101": 3, "NPS102": 3},
    "r07": {"NPS101": 2, "NPS102": 2},
    "r07-or": {"NPS101": 2, "NPS102": 2},
    "r08": {"NPS101": 1, "NPS102": 1},
    "r08-port": {"NPS101": 1, "NPS102": 1},
    "r09": {"NPS101": 1, "NPS102": 1},
    "r09-named": {"NPS101": 1, "NPS102": 1},
    "r10": {"NPS101": 1, "NPS102": 1},
    # kube-system holds a kube-dns Pod that no policy isolates: NPS401
    "r11": {"NPS101": 2, "NPS102": 2, "NPS401": 1},
    "r11-dns": {"NPS101": 2, "NPS102": 2, "NPS401": 1},
    "r12": {"NPS101": 3, "NPS102": 2, "NPS401": 1},
    "r14": {"NPS101": 2, "NPS102": 2, "NPS401": 1},
    "r14-legacy": {"NPS101": 2, "NPS102": 2, "NPS401": 1},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIO_COUNTS))
def test_np_recipes_scenarios(scenario: str) -> None:
    findings = _scan(_corpus("np-recipes", "scenarios", scenario, "manifests.yaml"))
    assert _counts(findings) == SCENARIO_COUNTS[scenario]
    for finding in _by_rule(findings, "NPS401"):
        assert finding.message == (
            "Pod kube-system/kube-dns accepts connections from every namespace and from outside the "
            "cluster on every port: no NetworkPolicy isolates it for ingress"
        )


def test_np_recipes_scenario_r12_anchors() -> None:
    findings = _scan(_corpus("np-recipes", "scenarios", "r12", "manifests.yaml"))
    anchors = sorted((f.rule_id, f.obj.name if f.obj else "", f.location.line) for f in findings)
    assert anchors == [
        ("NPS101", "default", 1),
        ("NPS101", "foo", 8),
        ("NPS101", "kube-system", 15),
        ("NPS102", "foo", 8),
        ("NPS102", "kube-system", 15),  # default-deny-all-egress covers `default`
        ("NPS401", "kube-dns", 85),
    ]


# --- k8s-e2e ---------------------------------------------------------------------------------------------

# Namespaces x, y, z with manifests and no findings beyond NPS101/102 unless listed.
E2E_DEFAULT = {"NPS101": 3, "NPS102": 3}
E2E_COUNTS = {
    # a default deny ingress in x (podSelector {} with policyTypes Ingress)
    "e2e-001": {"NPS101": 2, "NPS102": 3},
    "e2e-004": {"NPS101": 2, "NPS102": 3},
    "e2e-016": {"NPS101": 2, "NPS102": 3},
    "e2e-017": {"NPS101": 2, "NPS102": 3},
    "e2e-020": {"NPS101": 2, "NPS102": 3},
    "e2e-025": {"NPS101": 2, "NPS102": 3},
    "e2e-034": {"NPS101": 2, "NPS102": 3},
    "e2e-035": {"NPS101": 2, "NPS102": 3},
    "e2e-044": {"NPS101": 2, "NPS102": 3},
    "e2e-002": {"NPS101": 2, "NPS102": 2},  # deny ingress and egress in x
    # egress isolated in x by an empty podSelector; e2e-019's no-`to` rule is on a named port, which the
    # metadata service (not a pod) cannot resolve: no NPS303
    "e2e-019": {"NPS101": 3, "NPS102": 2},
    "e2e-029": {"NPS101": 3, "NPS102": 2},
    # no-`to` egress rules on TCP 80 (port 80, protocol defaulted): NPS303 at the rule
    "e2e-030": {"NPS101": 3, "NPS102": 3, "NPS303": 1},
    "e2e-036": {"NPS101": 3, "NPS102": 2, "NPS303": 1},
    # plus an allow-all `- {}` egress rule: NPS301 alone (its message names the metadata service)
    "e2e-037": {"NPS101": 3, "NPS102": 2, "NPS301": 1, "NPS303": 1},
    "e2e-042": {"NPS101": 3, "NPS102": 3, "NPS301": 1},
    "e2e-043": {"NPS101": 3, "NPS102": 3, "NPS301": 1},
}


def test_k8s_e2e_cases() -> None:
    cases = sorted(p.parent.name for p in _corpus("k8s-e2e", "cases").glob("*/manifests.yaml"))
    assert len(cases) == 49
    mismatches = {}
    for case in cases:
        got = _counts(_scan(_corpus("k8s-e2e", "cases", case, "manifests.yaml")))
        want = E2E_COUNTS.get(case, E2E_DEFAULT)
        if got != want:
            mismatches[case] = (want, got)
    assert not mismatches, f"(expected, got) per case: {mismatches}"


def test_k8s_e2e_metadata_findings_point_at_rules() -> None:
    findings = _scan(_corpus("k8s-e2e", "cases", "e2e-037", "manifests.yaml"))
    located = sorted(
        (f.rule_id, f.obj.name if f.obj else "", f.location.line)
        for f in findings
        if f.rule_id in ("NPS301", "NPS303")
    )
    assert located == [
        ("NPS301", "allow-egress", 509),
        ("NPS303", "allow-egress-port-80", 495),
    ]
    port80 = next(f for f in findings if f.obj and f.obj.name == "allow-egress-port-80")
    assert "169.254.169.254 on TCP 80" in port80.message


# --- netpol-analyzer and network-config-analyzer test inputs ----------------------------------------------

BAD_NETPOLS = {
    "subdir1": ("netpols.yaml", 22, "ipBlock.cidr 'A' is not a valid CIDR"),
    "subdir2": ("netpols.yaml", 22, "label key 'app@b'"),
    "subdir3": ("netpols.yaml", 9, "a peer cannot combine ipBlock with podSelector or namespaceSelector"),
    "subdir4": ("netpols.yaml", 9, "peer has no field"),
    "subdir7": ("resources.yaml", 158, "label value '$backendservice'"),
}


@pytest.mark.parametrize("subdir", [f"subdir{n}" for n in range(1, 8)])
def test_netpol_analyzer_bad_netpols(subdir: str) -> None:
    findings = _by_rule(_scan(_corpus("netpol-analyzer", "tests", "bad_netpols", subdir)), "NPS002")
    if subdir not in BAD_NETPOLS:
        # subdir5: a named port `abc` (valid API-wise; NPS504's business); subdir6: the same on an ipBlock
        assert findings == []
        return
    name, line, text = BAD_NETPOLS[subdir]
    assert [(_where(f), text in f.message) for f in findings] == [((name, line), True)]


def test_netpol_analyzer_end_port_errors() -> None:
    findings = _scan(_corpus("netpol-analyzer", "tests", "np_test_with_empty_port_range"))
    invalid = _by_rule(findings, "NPS002")
    assert [(_where(f), f.obj.name if f.obj else "") for f in invalid] == [
        (("netpol.yaml", 15), "egress-empty-port-range")
    ]
    assert "endPort 1 is less than port 10" in invalid[0].message


def test_netpol_analyzer_kube_system_exposed() -> None:
    findings = _by_rule(_scan(_corpus("netpol-analyzer", "tests", "with_end_port_example_new")), "NPS401")
    # 14 kube-system Pods: the 8 `tier: frontend` ones are selected by `enable-all-traffic` (`ingress: - {}`),
    # the 6 others by no policy at all; every one is exposed.
    assert len(findings) == 14
    by_reason = collections.Counter("no NetworkPolicy isolates it" in f.message for f in findings)
    assert by_reason == {True: 6, False: 8}
    vpn = next(f for f in findings if f.obj and f.obj.name == "vpn-858f6d9777-2bw5m")
    reason = "NetworkPolicy kube-system/enable-all-traffic ingress rule 1 admits every source (no `from`)"
    assert reason in vpn.message


def test_calico_network_policies_are_not_judged() -> None:
    path = _corpus("network-config-analyzer", "tests", "fw_rules_tests", "policies")
    calico = sorted(path.glob("calico-*.yaml"))
    assert calico
    assert _by_rule(_scan(*calico), "NPS002") == []


def test_egress_to_kube_system_on_every_port() -> None:
    cases = _corpus("network-config-analyzer", "tests", "k8s_testcases")
    policies = cases / "example_policies" / "testcase10-nameSpace-podSelector"
    policies = policies / "testcase10-networkpolicy.yaml"
    namespaces = cases / "example_podlist" / "ns_list.json"  # kube-system carries `unique-label`
    # Without the namespace list, kube-system's labels are unknown: `unique-label Exists` is not known to
    # select it, so nothing is reported.
    assert _by_rule(_scan(policies), "NPS402") == []
    findings = _by_rule(_scan(namespaces, policies), "NPS402")
    assert [(f.obj.name if f.obj else "", f.location.line) for f in findings] == [
        ("allow-all-between-kube-system-some-other-namespaces", 72),
        ("allow-all-between-kube-system-some-other-namespaces-with-podselector", 99),
    ]
    assert "allows kube-system pods {app=skydive} on every port" in findings[1].message
