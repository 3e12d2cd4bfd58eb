"""The built-in rules read the effective, tiered verdict: cluster policies isolate, open and break DNS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
"""

LOCKDOWN = """\
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: lockdown}
spec:
  tier: Baseline
  priority: 5
  subject:
    namespaces: {}
  ingress:
  - name: deny-from-pods
    action: Deny
    from:
    - namespaces: {}
  egress:%s
  - name: deny-all
    action: Deny
    to:
    - networks: ["0.0.0.0/0", "::/0"]
"""

DNS_RULE = """
  - name: dns
    action: Accept
    to:
    - pods:
        namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
    protocols:
    - udp: {destinationPort: {number: 53}}"""


def _ids(result: CliResult) -> list[str]:
    return sorted({line.split()[1] for line in result.stdout.splitlines() if " NPS" in line})


def test_baseline_default_deny_silences_isolation_findings_and_breaks_dns(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    (tmp_path / "m.yaml").write_text(POD + LOCKDOWN % "")
    result = run_cli("scan", str(tmp_path))
    assert result.exit_code == 1
    ids = _ids(result)
    assert "NPS102" not in ids and "NPS104" not in ids  # the Baseline tier denies egress by default
    assert "NPS103" not in ids and "NPS101" not in ids  # and ingress from every pod
    assert "NPS501" in ids
    assert "ClusterNetworkPolicy lockdown" in result.stdout


def test_dns_accepted_before_the_deny_is_no_nps501(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "m.yaml").write_text(POD + LOCKDOWN % DNS_RULE)
    result = run_cli("scan", str(tmp_path))
    assert "NPS501" not in _ids(result)


def test_cluster_policy_peers_are_judged(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "m.yaml").write_text(
        POD
        + """\
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: open}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress:
  - {name: everyone, action: Accept, from: [{namespaces: {}}]}
  egress:
  - {name: internet, action: Accept, to: [{networks: ["0.0.0.0/0"]}]}
  - {name: blocked, action: Deny, to: [{networks: ["10.0.0.0/8"]}]}
"""
    )
    result = run_cli("scan", str(tmp_path))
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if " NPS" in line}
    assert "ingress rule 1 (everyone)" in lines["NPS202"]
    assert "egress rule 1 (internet)" in lines["NPS302"]
    assert "169.254.169.254" in lines["NPS303"]
    assert ":14:3" in lines["NPS202"]  # the rule's line


def test_explain_names_tier_policy_rule_and_action(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "m.yaml").write_text(POD + LOCKDOWN % DNS_RULE)
    result = run_cli("explain", str(tmp_path), "--src", "shop/web", "--dst", "8.8.8.8", "--port", "443/TCP")
    assert result.exit_code == 0, result.stderr
    assert "TCP 443: DENIED" in result.stdout
    assert "Baseline tier: ClusterNetworkPolicy lockdown egress rule 2 (deny-all): deny" in result.stdout


# The Cilium flavour of grafana/loki's chart (production/helm/loki, networkPolicy.flavor=cilium): a policy
# closes the namespace to everything but its own endpoints, others open single ports to every source.
NAMESPACE_ONLY_CILIUM = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: shop}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: namespace-only, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{}]
  egress:
  - toEndpoints: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-http, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - toPorts: [{ports: [{port: http, protocol: TCP}]}]
"""


def test_cilium_namespace_only_policy_is_a_default_deny_when_the_namespace_holds_every_pod(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    # every pod of the input is in shop, so `fromEndpoints: [{}]` matches every pod class; it still names
    # shop alone: a pod of another namespace is denied, the namespace has its default deny
    (tmp_path / "m.yaml").write_text(POD + NAMESPACE_ONLY_CILIUM)
    result = run_cli("scan", str(tmp_path))
    ids = _ids(result)
    assert not {"NPS101", "NPS102", "NPS103", "NPS104"} & set(ids), result.stdout
    assert "NPS201" in ids  # web-http opens its port to every source
    explained = run_cli(
        "explain", str(tmp_path), "--src", "8.8.8.8", "--dst", "shop/gateway", "--port", "80/TCP"
    )
    assert "TCP 80: DENIED" in explained.stdout


FQDN_ONLY = """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: fqdn-only, namespace: shop}
spec:
  endpointSelector: {}
  egress:
  - toFQDNs: [{matchName: api.example.com}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: domains-then-deny}
spec:
  priority: 70
  subject: {namespaces: {}}
  egress:
  - {name: to-domain, action: Allow, to: [{domainNames: ["*.example.com"]}]}
  - {name: deny-all, action: Deny, to: [{networks: ["0.0.0.0/0"]}]}
"""


def test_egress_open_only_to_domain_names_blocks_dns(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    # a rule by domain name opens every port of fqdn:… endpoints, 53/UDP included, but a name server is
    # reached by its address: the pods resolve nothing (NPS805 says so of the rule, NPS501 of the pod)
    for kind, document in zip(
        ("CiliumNetworkPolicy", "AdminNetworkPolicy"), FQDN_ONLY.split("---\n")[1:], strict=True
    ):
        (tmp_path / "m.yaml").write_text(POD + "---\n" + document)
        lines = [line for line in run_cli("scan", str(tmp_path)).stdout.splitlines() if " NPS501 " in line]
        assert len(lines) == 1 and f"({kind} " in lines[0], (kind, lines)


CILIUM_WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
%s  egress:
  - toCIDR: [0.0.0.0/0]
    toPorts:
    - ports: [{port: "80", protocol: TCP}, {port: "443", protocol: TCP}]
"""


def test_nps303_heeds_a_deny_of_the_metadata_address(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """The message's own advice, "a Deny rule first", silences it: a Cilium egressDeny, or an Admin-tier
    Deny; an egressDeny of another address does not; with no pod of the input, a deny of the same policy."""
    cases = {
        "open": ("", True),
        "egress-deny": ("  egressDeny:\n  - toCIDR: [169.254.169.254/32]\n", False),
        "deny-elsewhere": ("  egressDeny:\n  - toCIDR: [169.254.0.0/32]\n", True),
    }
    for name, (deny, fires) in cases.items():
        (tmp_path / "m.yaml").write_text(CILIUM_WEB % deny)
        result = run_cli("scan", str(tmp_path), "--select", "NPS303")
        assert ("NPS303" in _ids(result)) is fires, (name, result.stdout)
    admin_deny = """---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-metadata}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  egress:
  - {name: metadata, action: Deny, to: [{networks: ["169.254.169.254/32"]}]}
"""
    (tmp_path / "m.yaml").write_text(CILIUM_WEB % "" + admin_deny)
    assert "NPS303" not in _ids(run_cli("scan", str(tmp_path), "--select", "NPS303"))
    # no pod of the input: judged on the policy, whose own egressDeny (it comes first) keeps it silent
    policy_only = (CILIUM_WEB % "  egressDeny:\n  - toCIDR: [169.254.169.254/32]\n").split("---\n")[1]
    (tmp_path / "m.yaml").write_text(policy_only)
    assert "NPS303" not in _ids(run_cli("scan", str(tmp_path), "--select", "NPS303"))
    (tmp_path / "m.yaml").write_text((CILIUM_WEB % "").split("---\n")[1])
    assert "NPS303" in _ids(run_cli("scan", str(tmp_path), "--select", "NPS303"))
