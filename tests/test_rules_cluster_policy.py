"""NPS801-804: the rules about cluster-wide policy tiers (ClusterNetworkPolicy, ANP, BANP)."""

from __future__ import annotations

import ipaddress

import pytest

from netpolscan.builtin.cluster_policy_rules import exprs_can_meet, ports_can_meet, selectors_can_meet
from netpolscan.builtin.registry import CHECKS
from netpolscan.context import ScanContext
from netpolscan.model import Inventory
from netpolscan.model.objects import IPBlock, PortSpec
from netpolscan.model.selectors import LabelSelector, Requirement
from netpolscan.model.tiers import Named, Network, Nodes, Pods, World
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text


def findings(rule: str, text: str) -> list[str]:
    inv = Inventory.from_documents(parse_text(text, "t.yaml"), "default", builtin_kinds())
    return [v.message for v in CHECKS[rule](ScanContext(inv))]


def sel(*labels: tuple[str, str], exprs: tuple[Requirement, ...] = ()) -> LabelSelector:
    return LabelSelector(tuple(sorted(labels)), exprs)


@pytest.mark.parametrize(
    ("first", "second", "meet"),
    [
        (sel(("a", "1")), sel(("a", "2")), False),
        (sel(("a", "1")), sel(("b", "2")), True),
        (sel(), sel(("a", "1")), True),
        (sel(("a", "1")), sel(exprs=(Requirement("a", "NotIn", frozenset({"1"})),)), False),
        (sel(("a", "1")), sel(exprs=(Requirement("a", "NotIn", frozenset({"2"})),)), True),
        (
            sel(exprs=(Requirement("a", "Exists", frozenset()),)),
            sel(exprs=(Requirement("a", "DoesNotExist", frozenset()),)),
            False,
        ),
        (
            sel(exprs=(Requirement("a", "In", frozenset({"1", "2"})),)),
            sel(exprs=(Requirement("a", "In", frozenset({"2", "3"})),)),
            True,
        ),
        (
            sel(exprs=(Requirement("a", "In", frozenset({"1"})),)),
            sel(exprs=(Requirement("a", "In", frozenset({"2"})),)),
            False,
        ),
    ],
)
def test_selectors_can_meet(first: LabelSelector, second: LabelSelector, meet: bool) -> None:
    assert selectors_can_meet(first, second) is meet
    assert selectors_can_meet(second, first) is meet


def test_expressions_can_meet() -> None:
    pod_ip = [ipaddress.ip_address("10.1.0.5")]
    net = Network(IPBlock(ipaddress.ip_network("10.1.0.0/16")))
    everything4 = Network(IPBlock(ipaddress.ip_network("0.0.0.0/0")))
    pods = Pods(namespace_selector=sel())
    assert exprs_can_meet(net, pods, pod_ip) and not exprs_can_meet(net, pods, [])
    assert exprs_can_meet(everything4, pods, []) and exprs_can_meet(everything4, Named("fqdn:a.b"), [])
    assert not exprs_can_meet(pods, Nodes(sel()), [])
    assert exprs_can_meet(Named("fqdn:*.example.com"), Named("fqdn:api.example.com"), [])
    assert not exprs_can_meet(Named("fqdn:*.example.com"), Named("fqdn:example.com"), [])
    assert exprs_can_meet(World(), Named("fqdn:x.y"), []) and not exprs_can_meet(World(), pods, [])


def test_ports_can_meet() -> None:
    assert ports_can_meet((), (PortSpec("TCP", 80),))
    assert ports_can_meet((PortSpec("TCP", 80, 90),), (PortSpec("TCP", 85),))
    assert not ports_can_meet((PortSpec("TCP", 80),), (PortSpec("UDP", 80),))
    assert ports_can_meet((PortSpec("TCP", "web"),), (PortSpec("TCP", 8080),))


def cnp(name: str, priority: int, subject: str, ingress: str, tier: str = "Admin") -> str:
    return (
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
        f"metadata:\n  name: {name}\nspec:\n  tier: {tier}\n  priority: {priority}\n"
        f"  subject:\n    namespaces: {subject}\n  ingress:\n{ingress}---\n"
    )


DENY_ALL = "  - action: Deny\n    from:\n    - namespaces: {}\n"
ACCEPT_ALL = "  - action: Accept\n    from:\n    - namespaces: {}\n"


def test_nps801_tie() -> None:
    (message,) = findings("NPS801", cnp("a", 5, "{}", DENY_ALL) + cnp("b", 5, "{}", ACCEPT_ALL))
    assert "ClusterNetworkPolicy b and ClusterNetworkPolicy a are both Admin tier priority 5" in message
    assert "ingress rule 1 (Deny)" in message and "ingress rule 1 (Accept)" in message


@pytest.mark.parametrize(
    "text",
    [
        cnp("a", 5, "{}", DENY_ALL) + cnp("b", 6, "{}", ACCEPT_ALL),  # different priorities
        cnp("a", 5, "{}", DENY_ALL) + cnp("b", 5, "{}", DENY_ALL),  # same decision
        cnp("a", 5, "{}", DENY_ALL) + cnp("b", 5, "{}", ACCEPT_ALL, tier="Baseline"),  # different tiers
        cnp("a", 5, "{matchLabels: {x: '1'}}", DENY_ALL) + cnp("b", 5, "{matchLabels: {x: '2'}}", ACCEPT_ALL),
    ],
)
def test_nps801_near_misses(text: str) -> None:
    assert findings("NPS801", text) == []


WORKLOADS = """apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Namespace
metadata:
  name: ops
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx
    ports:
    - {containerPort: 8080, name: http}
---
apiVersion: v1
kind: Pod
metadata:
  name: tool
  namespace: ops
  labels: {app: tool}
spec:
  containers:
  - name: tool
    image: busybox
---
"""
SHOP_EGRESS_DENY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Egress]
---
"""


def egress_cnp(name: str, priority: int, egress: str, tier: str = "Admin", subject: str = "shop") -> str:
    return (
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
        f"metadata:\n  name: {name}\nspec:\n  tier: {tier}\n  priority: {priority}\n"
        f"  subject:\n    namespaces:\n      matchLabels:\n        kubernetes.io/metadata.name: {subject}\n"
        f"  egress:\n{egress}---\n"
    )


TO_DOMAIN = "  - action: Accept\n    to:\n    - domainNames: [api.example.com]\n"
TO_OPS_8080 = (
    "  - action: {action}\n    to:\n    - namespaces: {{matchLabels: {{kubernetes.io/metadata.name: ops}}}}\n"
    "    protocols:\n    - tcp: {{destinationPort: {{number: 8080}}}}\n"
)


def test_nps802_egress_accept_to_a_domain_overrides_the_namespace_egress_deny() -> None:
    (message,) = findings("NPS802", WORKLOADS + SHOP_EGRESS_DENY + egress_cnp("dns-allow", 1, TO_DOMAIN))
    assert "egress rule 1 (Accept) allows shop/web -> fqdn:api.example.com" in message
    assert "NetworkPolicies of namespace shop deny" in message
    assert findings("NPS802", WORKLOADS + egress_cnp("dns-allow", 1, TO_DOMAIN)) == []  # nothing to override


def test_nps802_v1alpha1_words() -> None:
    anp = (
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: a\n"
        "spec:\n  priority: 1\n  subject:\n    namespaces: {}\n  egress:\n  - action: Allow\n    name: out\n"
        "    to:\n    - networks: [0.0.0.0/0]\n"
    )
    (message,) = findings("NPS802", WORKLOADS + SHOP_EGRESS_DENY + anp)
    assert message.startswith("AdminNetworkPolicy a egress rule 1 (out, Allow) allows shop/web -> ")


def test_nps803_shadowed_by_a_broader_earlier_rule_only() -> None:
    accept = TO_OPS_8080.format(action="Accept")
    deny_all = "  - action: Deny\n    to:\n    - namespaces: {}\n"
    (message,) = findings("NPS803", WORKLOADS + egress_cnp("p", 1, deny_all + accept))
    assert "egress rule 2 (Accept) decides no connection" in message
    assert "shop/web -> ops/tool" in message and "egress rule 1 (Deny)" in message
    assert findings("NPS803", WORKLOADS + egress_cnp("p", 1, accept + deny_all)) == []
    # a rule that matches nothing of the input is not "shadowed"
    nowhere = "  - action: Accept\n    to:\n    - namespaces: {matchLabels: {kubernetes.io/metadata.name: nowhere}}\n"
    assert findings("NPS803", WORKLOADS + egress_cnp("p", 1, nowhere)) == []
    # a later policy of a lower tier is shadowed too
    text = WORKLOADS + egress_cnp("a", 1, deny_all) + egress_cnp("b", 1, accept, tier="Baseline")
    (message,) = findings("NPS803", text)
    assert message.startswith("ClusterNetworkPolicy b egress rule 1 (Accept)")


def test_nps804_pass_to_nothing_and_baseline_pass() -> None:
    passing = TO_OPS_8080.format(action="Pass")
    (message,) = findings("NPS804", WORKLOADS + egress_cnp("p", 1, passing))
    assert "egress rule 1 (Pass) passes shop/web -> ops/tool on TCP 8080" in message
    assert findings("NPS804", WORKLOADS + SHOP_EGRESS_DENY + egress_cnp("p", 1, passing)) == []
    baseline_deny = egress_cnp("b", 1, "  - action: Deny\n    to:\n    - namespaces: {}\n", tier="Baseline")
    assert findings("NPS804", WORKLOADS + egress_cnp("p", 1, passing) + baseline_deny) == []
    (message,) = findings("NPS804", WORKLOADS + egress_cnp("b", 1, passing, tier="Baseline"))
    assert "ClusterNetworkPolicy b egress rule 1 (Pass)" in message


def test_nps803_baseline_rules_are_judged_where_no_network_policy_decides_first() -> None:
    to_shop = (
        "  - action: Accept\n    to:\n    - namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}\n"
    )
    deny_all = "  - action: Deny\n    to:\n    - namespaces: {}\n"
    baseline = egress_cnp("b", 1, deny_all + to_shop, tier="Baseline", subject="ops")
    (message,) = findings("NPS803", WORKLOADS + baseline)
    assert message.startswith("ClusterNetworkPolicy b egress rule 2 (Accept) decides no connection")
    # the same rules for shop, whose NetworkPolicy isolates egress: by design, the NetworkPolicy decides
    shop_baseline = egress_cnp("b", 1, deny_all + to_shop, tier="Baseline", subject="shop")
    assert findings("NPS803", WORKLOADS + SHOP_EGRESS_DENY + shop_baseline) == []


RUNNER = """apiVersion: apps/v1
kind: Deployment
metadata: {name: runner, namespace: ci}
spec:
  selector: {matchLabels: {app: runner}}
  template:
    metadata: {labels: {app: runner}}
    spec: {containers: [{name: runner, image: runner:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ci}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
"""
DOMAIN_CNP = """apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: ci-to-github}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: ci}}}
  egress:
  - action: Accept
    to:
    - domainNames: [api.github.com, "*.githubusercontent.com"]
"""
KUBE_DNS = """apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: coredns:1}]}
---
"""
NP_DNS_EGRESS = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: ci}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports: [{port: 53, protocol: UDP}]
---
"""


def test_nps805_domain_names_for_pods_without_dns() -> None:
    [message] = findings("NPS805", RUNNER + DOMAIN_CNP)
    assert "ClusterNetworkPolicy ci-to-github" in message and "api.github.com" in message
    assert "Deployment ci/runner may not reach DNS" in message
    # the DNS pods are in the input and nothing allows them: still no DNS
    assert len(findings("NPS805", KUBE_DNS + RUNNER + DOMAIN_CNP)) == 1


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(NP_DNS_EGRESS, id="namespace-policy-allows-dns-in-a-namespace-the-input-lacks"),
        pytest.param(KUBE_DNS + NP_DNS_EGRESS, id="namespace-policy-allows-dns-to-pods-of-the-input"),
    ],
)
def test_nps805_domain_names_near_misses(extra: str) -> None:
    assert findings("NPS805", extra + RUNNER + DOMAIN_CNP) == []


def test_nps805_domain_names_allowed_on_port_53_do_not_count_as_dns() -> None:
    """A rule to the names on every port does not make DNS reachable: the addresses come from DNS."""
    assert len(findings("NPS805", RUNNER + DOMAIN_CNP)) == 1
    open_ports = DOMAIN_CNP + "    protocols:\n    - udp:\n        destinationPort: {number: 53}\n"
    assert len(findings("NPS805", RUNNER + open_ports)) == 1


def test_nps501_under_a_cluster_policy_heeds_namespace_dns_egress_to_a_namespace_the_input_lacks() -> None:
    """A NetworkPolicy allowing 53/UDP to kube-system, which the input does not hold, is DNS egress whether or
    not a cluster policy also selects the pods (it was NPS501 as soon as one did)."""
    assert findings("NPS501", NP_DNS_EGRESS + RUNNER) == []
    assert findings("NPS501", NP_DNS_EGRESS + RUNNER + DOMAIN_CNP) == []
    assert len(findings("NPS501", RUNNER + DOMAIN_CNP)) == 1
