"""Findings people act on (issue 14, items 8, 9 and 10), on inputs shaped like real charts.

- item 8: an allow-all egress rule (`egress: [{}]` / `- {}`) is one finding (NPS301, whose message names
  the metadata service), not NPS301 and NPS303 on the same line; `scan --group-by rule|object|file`.
- item 9: namespace-level findings (NPS101/102/105) point at the Namespace manifest or the first workload,
  and a namespace the input only adds RoleBindings or ConfigMaps to gets none.
- item 10: NPS503 says which label no pod carries, and suggests a typo only when a close label exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netpolscan.cli import main
from tests.conftest import exit_code_of

# --- inputs ---------------------------------------------------------------------------------------------

SERVICES = ("frontend", "cartservice", "checkoutservice", "currencyservice")


def _namespace(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def _deployment(namespace: str, app: str, port: int = 8080, extra_labels: str = "") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  namespace: {namespace}
  labels:
    app: {app}
spec:
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}{extra_labels}
    spec:
      serviceAccountName: {app}
      containers:
      - name: server
        image: registry.example/shop/{app}:v0.10.1
        ports:
        - containerPort: {port}
"""


def _deny_all(namespace: str) -> str:
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: {namespace}
spec:
  podSelector: {{}}
  policyTypes:
  - Ingress
  - Egress
"""


def _service_policy(namespace: str, app: str) -> str:
    """Like the per-service policies of a microservices demo: ingress from its callers, egress wide open."""
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {app}
  namespace: {namespace}
spec:
  podSelector:
    matchLabels:
      app: {app}
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: 8080
      protocol: TCP
  egress:
  - {{}}
"""


def _write(tmp_path: Path, name: str, documents: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("---\n".join(documents), encoding="utf-8")
    return path


def _json_scan(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["scan", *args, "--format", "json"])
    out, err = capsys.readouterr()
    report: dict[str, Any] = json.loads(out)
    assert code == exit_code_of(report) and "Traceback" not in err, err
    return report


def _lines_of(path: Path, needle: str) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.strip() == needle]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """Three namespaces of a microservices demo: default deny, one open-egress policy per service."""
    documents: list[str] = []
    for namespace in ("shop-dev", "shop-staging", "shop-prod"):
        documents.append(_namespace(namespace))
        documents.append(_deny_all(namespace))
        for app in SERVICES:
            documents.append(_deployment(namespace, app))
            documents.append(_service_policy(namespace, app))
    return _write(tmp_path, "shop.yaml", documents)


# --- item 8: one defect, one finding --------------------------------------------------------------------


def test_allow_all_egress_rule_is_one_finding_per_policy(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _json_scan(capsys, str(shop))
    findings = report["findings"]
    rule_lines = _lines_of(shop, "- {}")
    assert len(rule_lines) == 12
    on_rule_lines = [f for f in findings if f["location"]["line"] in rule_lines]
    assert sorted(f["location"]["line"] for f in on_rule_lines) == rule_lines  # one finding per line
    assert {f["ruleId"] for f in on_rule_lines} == {"NPS301"}
    assert {f["level"] for f in on_rule_lines} == {"warning"}
    assert all("cloud metadata service 169.254.169.254" in f["message"] for f in on_rule_lines)
    assert not [f for f in findings if f["ruleId"] == "NPS303"]
    # the traffic is what pods under no egress policy may send: no finding of this scan is an error
    assert report["summary"]["error"] == 0


def test_no_egress_policy_at_all_is_no_error_either(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "open.yaml", [_namespace("shop"), _deployment("shop", "cartservice")])
    report = _json_scan(capsys, str(path))
    assert report["summary"]["error"] == 0
    assert {f["ruleId"] for f in report["findings"]} >= {"NPS102", "NPS104"}


def test_a_lockdown_with_a_hole_on_port_80_is_still_nps303(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _service_policy("shop", "cartservice").replace(
        "  egress:\n  - {}\n", "  egress:\n  - ports:\n    - port: 80\n    - port: 443\n"
    )
    path = _write(tmp_path, "hole.yaml", [_namespace("shop"), _deployment("shop", "cartservice"), policy])
    report = _json_scan(capsys, str(path))
    [hole] = [f for f in report["findings"] if f["ruleId"] == "NPS303"]
    assert hole["level"] == "error" and "on TCP 80" in hole["message"]
    assert not [f for f in report["findings"] if f["ruleId"] == "NPS301"]


def _text_scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_group_by_rule_heads_each_rule_with_its_count(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _text_scan(capsys, str(shop), "--group-by", "rule", "--no-color")
    assert code == 1 and not err
    headings = [
        line for line in out.splitlines() if line.startswith("NPS") and "(" in line and ":" not in line
    ]
    assert "NPS301 egress-to-anywhere (12 findings)" in headings
    assert headings == sorted(headings)  # one heading per rule, in id order
    block = out.split("NPS301 egress-to-anywhere (12 findings)\n", 1)[1].split("\n\n", 1)[0]
    assert len(block.splitlines()) == 12 and all(" NPS301 [warning] " in line for line in block.splitlines())
    assert out.rstrip().endswith(".") and out.rstrip().splitlines()[-1].startswith("Found ")


def test_group_by_object_and_file(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _text_scan(capsys, str(shop), "--group-by", "object")
    assert "NetworkPolicy/shop-prod/cartservice (1 finding)\n" in out
    _, out, _ = _text_scan(capsys, str(shop), "--group-by", "file")
    report = _json_scan(capsys, str(shop))
    total = len(report["findings"])
    assert f"{shop} ({total} findings)\n" in out


def test_group_by_is_a_text_option(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _text_scan(capsys, str(shop), "--group-by", "rule", "--format", "json")
    assert (
        code == 2 and not out and err.startswith("netpolscan: error: --group-by applies to the text format")
    )
    code, out, err = _text_scan(capsys, str(shop), "--group-by", "severity")
    assert code == 2 and "Traceback" not in err and "--group-by" in err


# --- item 9: where namespace-level findings point, and which namespaces get them --------------------------

ROLE_BINDINGS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBindingList
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: prometheus-k8s
    namespace: default
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus-k8s}
  subjects:
  - {kind: ServiceAccount, name: prometheus-k8s, namespace: monitoring}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: prometheus-k8s
    namespace: kube-system
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus-k8s}
  subjects:
  - {kind: ServiceAccount, name: prometheus-k8s, namespace: monitoring}
"""

GRAFANA_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-dashboards
  namespace: monitoring
data:
  dashboards.yaml: '{"apiVersion": 1}'
"""


def _namespace_findings(report: dict[str, Any]) -> dict[tuple[str, str], tuple[str, int]]:
    return {
        (f["ruleId"], f["object"]["name"]): (Path(f["location"]["path"]).name, f["location"]["line"])
        for f in report["findings"]
        if f["ruleId"] in ("NPS101", "NPS102", "NPS105")
    }


def test_rolebindings_in_other_namespaces_get_no_namespace_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifests").mkdir()
    setup = _write(tmp_path / "manifests", "00-namespace.yaml", [_namespace("monitoring")])
    _write(tmp_path / "manifests", "prometheus-roleBindings.yaml", [ROLE_BINDINGS])
    _write(
        tmp_path / "manifests", "grafana.yaml", [GRAFANA_CONFIG, _deployment("monitoring", "grafana", 3000)]
    )
    report = _json_scan(capsys, str(tmp_path / "manifests"))
    assert _namespace_findings(report) == {
        ("NPS101", "monitoring"): (setup.name, 1),
        ("NPS102", "monitoring"): (setup.name, 1),
        ("NPS105", "monitoring"): (setup.name, 1),
    }


def test_without_a_namespace_manifest_the_first_workload_is_the_anchor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path, "grafana.yaml", [GRAFANA_CONFIG, ROLE_BINDINGS, _deployment("monitoring", "grafana")]
    )
    [deployment_line] = [n for n in _lines_of(path, "kind: Deployment")]
    anchor = deployment_line - 1  # the object's first key, `apiVersion: apps/v1`
    report = _json_scan(capsys, str(path))
    assert _namespace_findings(report) == {
        (rule_id, "monitoring"): ("grafana.yaml", anchor) for rule_id in ("NPS101", "NPS102", "NPS105")
    }


def test_a_namespace_of_config_only_gets_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "config.yaml", [GRAFANA_CONFIG, ROLE_BINDINGS])
    assert _json_scan(capsys, str(path))["findings"] == []


# --- item 10: NPS503 names the label, and a typo only when a close label exists ---------------------------

REDIS_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: cache-redis
  namespace: cache
  labels:
    app.kubernetes.io/instance: cache
    app.kubernetes.io/name: redis
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/instance: cache
      app.kubernetes.io/name: redis
  policyTypes:
  - Ingress
  ingress:
  - ports:
    - port: 6379
    from:
    - podSelector:
        matchLabels:
          {label}
"""


def _redis_input(tmp_path: Path, label: str, client_labels: str = "") -> Path:
    redis = _deployment(
        "cache",
        "redis",
        6379,
        "\n        app.kubernetes.io/instance: cache\n        app.kubernetes.io/name: redis",
    )
    worker = _deployment("cache", "worker", 8080, client_labels)
    return _write(
        tmp_path, "cache.yaml", [_namespace("cache"), redis, worker, REDIS_POLICY.format(label=label)]
    )


def _nps503(report: dict[str, Any]) -> str:
    [finding] = [f for f in report["findings"] if f["ruleId"] == "NPS503"]
    message: str = finding["message"]
    return message


def test_an_opt_in_client_label_no_pod_carries_is_not_called_a_typo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _redis_input(tmp_path, 'cache-redis-client: "true"')
    message = _nps503(_json_scan(capsys, str(path)))
    assert "no pod in the input carries label cache-redis-client=true" in message
    assert "typo" not in message and "did you mean" not in message


def test_a_misspelt_value_suggests_the_close_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _redis_input(tmp_path, "app: wroker")
    message = _nps503(_json_scan(capsys, str(path)))
    assert (
        "no pod in the input carries label app=wroker (did you mean app=worker? a typo is likely)" in message
    )


def test_a_misspelt_key_suggests_the_close_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _redis_input(tmp_path, 'cache-redis-clent: "true"', '\n        cache-redis-client: "true"')
    message = _nps503(_json_scan(capsys, str(path)))
    assert "did you mean cache-redis-client=true?" in message


def test_a_label_only_pods_elsewhere_carry_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _redis_input(tmp_path, 'cache-redis-client: "true"')
    other = _write(
        tmp_path,
        "web.yaml",
        [_namespace("web"), _deployment("web", "api", 8080, '\n        cache-redis-client: "true"')],
    )
    message = _nps503(_json_scan(capsys, str(path), str(other)))
    assert "no pod of namespace cache carries label cache-redis-client=true" in message
    assert "typo" not in message


def test_a_misspelt_namespace_label_suggests_the_close_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = (
        "app: worker\n      namespaceSelector:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: cache\n          team: platfrom"
    )
    path = _redis_input(tmp_path, peer)
    text = path.read_text().replace(
        "  name: cache\n---", "  name: cache\n  labels:\n    team: platform\n---", 1
    )
    path.write_text(text)
    message = _nps503(_json_scan(capsys, str(path)))
    assert (
        "matches no namespace of the input; no namespace in the input carries label team=platfrom" in message
    )
    assert "(did you mean team=platform? a typo is likely)" in message
