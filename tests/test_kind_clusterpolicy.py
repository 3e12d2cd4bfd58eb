"""The ClusterNetworkPolicy / AdminNetworkPolicy / BaselineAdminNetworkPolicy policy kind: parsing into the
tiered model, the CRD's validation (NPS002), v1alpha1 deprecation (NPS003), fail-closed peers, and the
upstream examples and conformance manifests of kubernetes-sigs/network-policy-api (read from the corpus)."""

from __future__ import annotations

import csv
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.builtin.registry import CHECKS
from netpolscan.context import ScanContext
from netpolscan.model import Inventory
from netpolscan.model.objects import IPBlock, PortSpec
from netpolscan.model.selectors import LabelSelector
from netpolscan.model.tiers import (
    ADMIN,
    ALLOW,
    BASELINE,
    DENY,
    EVERYTHING,
    NOTHING,
    PASS,
    AnyOf,
    Named,
    Network,
    Nodes,
    Pods,
    TierPolicy,
)
from netpolscan.policykinds import builtin_kinds
from netpolscan.policykinds.clusterpolicy import ClusterPolicyKind
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text
from tests.conftest import require_corpus
from tests.test_hostile import WRONG, _field_paths, _replace

CNP_HEADER = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
ANP_HEADER = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
BANP_HEADER = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"


def inventory(text: str) -> Inventory:
    return Inventory.from_documents(parse_text(text, "t.yaml"), "default", builtin_kinds())


def problems(text: str) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(message, pointer) for _, message, pointer in inventory(text).parsed.invalid]


def pointers(text: str) -> list[tuple[str | int, ...]]:
    return [pointer for _, pointer in problems(text)]


def only_policy(text: str) -> TierPolicy:
    inv = inventory(text)
    assert len(inv.tier_policies) == 1, inv.parsed.invalid
    return inv.tier_policies[0]


def cnp(body: str, name: str = "p", tier: str = "Admin", priority: int = 10) -> str:
    return f"{CNP_HEADER}metadata:\n  name: {name}\nspec:\n  tier: {tier}\n  priority: {priority}\n{body}"


SUBJECT_ALL = "  subject:\n    namespaces: {}\n"
ALL_NS = Pods(namespace_selector=LabelSelector())

FULL_CNP = cnp(
    """  subject:
    pods:
      namespaceSelector:
        matchLabels: {team: a}
      podSelector:
        matchLabels: {app: web}
  ingress:
  - name: from-monitoring
    action: Accept
    from:
    - namespaces:
        matchLabels: {kubernetes.io/metadata.name: monitoring}
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels: {app: probe}
    protocols:
    - tcp:
        destinationPort:
          number: 8080
    - udp:
        destinationPort:
          range: {start: 5000, end: 5010}
    - destinationNamedPort: metrics
  - action: Pass
    from:
    - namespaces: {}
  egress:
  - name: to-nodes
    action: Deny
    to:
    - nodes:
        matchLabels: {node-role.kubernetes.io/control-plane: ""}
  - action: Accept
    to:
    - networks: [10.0.0.0/8, "fd00::/8"]
    - domainNames: ["*.example.com", api.github.com]
    protocols:
    - sctp:
        destinationPort:
          number: 9003
""",
    name="full",
    priority=7,
)


# --- the model -----------------------------------------------------------------------------------------


def test_v1alpha2_full_model() -> None:
    inv = inventory(FULL_CNP)
    assert inv.parsed.invalid == [] and inv.parsed.deprecated_kinds == []
    (policy,) = inv.tier_policies
    assert (policy.kind, policy.name, policy.namespace) == ("ClusterNetworkPolicy", "full", "")
    assert policy.api_version == "policy.networking.k8s.io/v1alpha2"
    assert policy.tier is ADMIN and policy.order == (7, "full")
    assert policy.isolates == frozenset() and policy.subject_pointer == ("spec", "subject")
    assert policy.subject == Pods(
        namespace_selector=LabelSelector((("team", "a"),)),
        pod_selector=LabelSelector((("app", "web"),)),
        host_network=False,
    )
    first, second = policy.ingress
    assert (first.action, first.number, first.name, first.pointer) == (
        ALLOW,
        1,
        "from-monitoring",
        ("spec", "ingress", 0),
    )
    assert first.peers == AnyOf(
        (
            Pods(namespace_selector=LabelSelector((("kubernetes.io/metadata.name", "monitoring"),))),
            Pods(namespace_selector=LabelSelector(), pod_selector=LabelSelector((("app", "probe"),))),
        )
    )
    assert [(p.protocol, p.port, p.end_port) for p in first.ports] == [
        ("TCP", 8080, None),
        ("UDP", 5000, 5010),
        ("TCP", "metrics", None),
        ("UDP", "metrics", None),
        ("SCTP", "metrics", None),
    ]
    assert first.ports[0].pointer == ("spec", "ingress", 0, "protocols", 0)
    assert (second.action, second.number, second.name, second.peers, second.ports) == (
        PASS,
        2,
        "",
        ALL_NS,
        (),
    )
    deny, accept = policy.egress
    assert deny.action == DENY and deny.peers == Nodes(
        LabelSelector((("node-role.kubernetes.io/control-plane", ""),))
    )
    assert accept.peers == AnyOf(
        (
            AnyOf(
                (
                    Network(IPBlock(ipaddress.ip_network("10.0.0.0/8")), in_cluster=True),
                    Network(IPBlock(ipaddress.ip_network("fd00::/8")), in_cluster=True),
                )
            ),
            AnyOf((Named("fqdn:*.example.com"), Named("fqdn:api.github.com"))),
        )
    )
    assert accept.ports == (PortSpec("SCTP", 9003, None, ("spec", "egress", 1, "protocols", 0)),)


def test_baseline_tier_and_order() -> None:
    text = (
        cnp(SUBJECT_ALL, name="b", tier="Baseline", priority=3)
        + "---\n"
        + cnp(SUBJECT_ALL, name="a", priority=5)
    )
    text += "---\n" + cnp(SUBJECT_ALL, name="c", priority=5)
    policies = inventory(text).tier_policies
    assert [(p.tier, p.name, p.order) for p in policies] == [
        (ADMIN, "a", (5, "a")),
        (ADMIN, "c", (5, "c")),
        (BASELINE, "b", (3, "b")),
    ]
    assert all(p.ingress == () and p.egress == () and not p.applies("ingress") for p in policies)


def test_v1alpha1_admin_network_policy() -> None:
    text = f"""{ANP_HEADER}metadata:
  name: anp
spec:
  priority: 30
  subject:
    pods:
      namespaceSelector: {{}}
      podSelector: {{matchLabels: {{app: a}}}}
  egress:
  - name: r
    action: Allow
    to:
    - pods:
        namespaceSelector: {{}}
        podSelector: {{}}
    ports:
    - portNumber: {{port: 80}}
    - portNumber: {{protocol: UDP, port: 53}}
    - portRange: {{start: 9000, end: 9100}}
    - namedPort: web
  ingress:
  - action: Deny
    from:
    - namespaces: {{}}
"""
    inv = inventory(text)
    assert inv.parsed.invalid == []
    (policy,) = inv.tier_policies
    assert (policy.kind, policy.tier, policy.order) == ("AdminNetworkPolicy", ADMIN, (30, "anp"))
    (egress,) = policy.egress
    assert egress.action == ALLOW and egress.name == "r"
    assert [(p.protocol, p.port, p.end_port) for p in egress.ports] == [
        ("TCP", 80, None),
        ("UDP", 53, None),
        ("TCP", 9000, 9100),
        ("TCP", "web", None),
        ("UDP", "web", None),
        ("SCTP", "web", None),
    ]
    assert policy.ingress[0].action == DENY
    ((_, message, pointer),) = inv.parsed.deprecated_kinds
    assert pointer == ("apiVersion",)
    for change in ("ClusterNetworkPolicy", "tier: Admin", "`Allow` -> `Accept`", "`ports` -> `protocols`"):
        assert change in message


def test_v1alpha1_baseline_admin_network_policy() -> None:
    text = f"{BANP_HEADER}metadata:\n  name: default\nspec:\n{SUBJECT_ALL}  ingress:\n  - action: Deny\n    from:\n    - namespaces: {{}}\n"
    inv = inventory(text)
    assert inv.parsed.invalid == []
    (policy,) = inv.tier_policies
    assert (policy.kind, policy.tier, policy.order) == (
        "BaselineAdminNetworkPolicy",
        BASELINE,
        (0, "default"),
    )
    ((_, message, _),) = inv.parsed.deprecated_kinds
    assert "tier: Baseline" in message and "`default`" in message


def test_pods_without_a_selector_is_read_as_the_empty_selector() -> None:
    """The v0.1.8 CRD requires both selectors (NPS002), but what Go reads (and earlier CRDs allowed) is {}."""
    text = f"""{ANP_HEADER}metadata:
  name: anp
spec:
  priority: 1
  subject:
    namespaces: {{}}
  ingress:
  - action: Allow
    from:
    - pods:
        namespaceSelector: {{matchLabels: {{a: b}}}}
"""
    inv = inventory(text)
    assert [p for _, _, p in inv.parsed.invalid] == [("spec", "ingress", 0, "from", 0, "pods")]
    rule = inv.tier_policies[0].ingress[0]
    assert rule.peers == Pods(namespace_selector=LabelSelector((("a", "b"),)), pod_selector=LabelSelector())


# --- validation (NPS002) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (SUBJECT_ALL.replace("namespaces: {}", "{}"), ("spec", "subject")),
        ("  subject:\n    namespaces: {}\n    pods: {podSelector: {}}\n", ("spec", "subject")),
        ("  subject:\n    pod: {}\n", ("spec", "subject", "pod")),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Allow\n    from:\n    - namespaces: {}\n",
            ("spec", "ingress", 0, "action"),
        ),
        (SUBJECT_ALL + "  ingress:\n  - action: Accept\n    from: []\n", ("spec", "ingress", 0, "from")),
        (SUBJECT_ALL + "  ingress:\n  - action: Accept\n", ("spec", "ingress", 0)),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Accept\n    from:\n    - {}\n",
            ("spec", "ingress", 0, "from", 0),
        ),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Accept\n    from:\n    - networks: [10.0.0.0/8]\n",
            ("spec", "ingress", 0, "from", 0, "networks"),
        ),
        (
            SUBJECT_ALL + "  egress:\n  - action: Accept\n    to:\n    - networks: [10.0.0.0/8]\n"
            "    protocols:\n    - destinationNamedPort: web\n",
            ("spec", "egress", 0, "protocols", 0, "destinationNamedPort"),
        ),
        (
            SUBJECT_ALL + "  egress:\n  - action: Accept\n    to:\n    - networks: [10.0.0.0/33]\n",
            ("spec", "egress", 0, "to", 0, "networks", 0),
        ),
        (
            SUBJECT_ALL
            + "  egress:\n  - action: Accept\n    to:\n    - networks: [10.0.0.0/8, 10.0.0.0/8]\n",
            ("spec", "egress", 0, "to", 0, "networks", 1),
        ),
        (
            SUBJECT_ALL + "  egress:\n  - action: Accept\n    to:\n    - domainNames: ['example.*']\n",
            ("spec", "egress", 0, "to", 0, "domainNames", 0),
        ),
        (
            SUBJECT_ALL
            + "  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n    protocols:\n    - tcp: {}\n",
            ("spec", "ingress", 0, "protocols", 0, "tcp"),
        ),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n    protocols:\n"
            "    - tcp: {destinationPort: {range: {start: 90, end: 80}}}\n",
            ("spec", "ingress", 0, "protocols", 0, "tcp", "destinationPort", "range"),
        ),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n    protocols:\n"
            "    - tcp: {destinationPort: {number: 0}}\n",
            ("spec", "ingress", 0, "protocols", 0, "tcp", "destinationPort", "number"),
        ),
        (
            SUBJECT_ALL + "  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n    ports:\n"
            "    - portNumber: {port: 80}\n",
            ("spec", "ingress", 0, "ports"),
        ),
        (
            SUBJECT_ALL
            + f"  ingress:\n  - action: Deny\n    name: {'x' * 101}\n    from:\n    - namespaces: {{}}\n",
            ("spec", "ingress", 0, "name"),
        ),
        (
            SUBJECT_ALL
            + "  egress:\n  - action: Deny\n    to:\n    - nodes: {matchLabels: {a: b}}\n      networks: [1.2.3.4/32]\n",
            ("spec", "egress", 0, "to", 0),
        ),
    ],
)
def test_invalid_field(body: str, where: tuple[str | int, ...]) -> None:
    assert where in pointers(cnp(body)), problems(cnp(body))


def test_priority_and_tier() -> None:
    assert pointers(cnp(SUBJECT_ALL, priority=1001)) == [("spec", "priority")]
    assert pointers(cnp(SUBJECT_ALL, priority=-1)) == [("spec", "priority")]
    assert pointers(cnp(SUBJECT_ALL, priority=1000)) == []
    text = cnp(SUBJECT_ALL, tier="admin")
    assert pointers(text) == [("spec", "tier")]
    assert inventory(text).tier_policies == []  # no tier: left out
    assert "left out" in problems(text)[0][0]
    no_priority = f"{CNP_HEADER}metadata:\n  name: p\nspec:\n  tier: Admin\n{SUBJECT_ALL}"
    assert pointers(no_priority) == [("spec",)]
    assert inventory(no_priority).tier_policies == []


def test_limits() -> None:
    rule = "  - action: Deny\n    from:\n    - namespaces: {}\n"
    text = cnp(SUBJECT_ALL + "  ingress:\n" + rule * 26)
    assert pointers(text) == [("spec", "ingress", 25)]
    assert len(only_policy(text).ingress) == 26  # still evaluated as written
    assert pointers(cnp(SUBJECT_ALL + "  ingress:\n" + rule * 25)) == []
    peers = "".join(f"    - namespaces: {{matchLabels: {{n: '{i}'}}}}\n" for i in range(26))
    assert pointers(cnp(SUBJECT_ALL + "  ingress:\n  - action: Deny\n    from:\n" + peers)) == [
        ("spec", "ingress", 0, "from", 25)
    ]
    anp_rules = "".join(rule for _ in range(100))
    anp = f"{ANP_HEADER}metadata:\n  name: a\nspec:\n  priority: 1\n{SUBJECT_ALL}  ingress:\n{anp_rules}"
    assert pointers(anp) == []
    assert pointers(anp + rule) == [("spec", "ingress", 100)]


def test_banp_name_actions_and_peers() -> None:
    body = f"spec:\n{SUBJECT_ALL}  egress:\n  - action: Pass\n    to:\n    - domainNames: [example.com]\n"
    text = f"{BANP_HEADER}metadata:\n  name: mine\n{body}"
    assert pointers(text) == [
        ("metadata", "name"),
        ("spec", "egress", 0, "action"),
        ("spec", "egress", 0, "to", 0, "domainNames"),
    ]


def test_wrong_api_version_for_the_kind() -> None:
    text = f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata:\n  name: p\nspec:\n{SUBJECT_ALL}"
    assert pointers(text) == [("apiVersion",)]
    future = text.replace("v1alpha1", "v1")
    inv = inventory(future)
    assert inv.parsed.invalid == [] and [p for _, _, p in inv.parsed.not_evaluated] == [("apiVersion",)]


def test_nps002_names_the_kind() -> None:
    inv = inventory(cnp(SUBJECT_ALL, name="too-high", priority=2000))
    (violation,) = list(CHECKS["NPS002"](ScanContext(inv)))
    assert violation.message.startswith("ClusterNetworkPolicy too-high would be rejected by the API server")
    assert "priority 2000" in violation.message


# --- fail closed ------------------------------------------------------------------------------------------


def test_accept_rule_with_unreadable_peers_matches_nothing() -> None:
    text = cnp(
        SUBJECT_ALL
        + "  ingress:\n  - action: Accept\n    from:\n    - {}\n    - namespaces: {matchLabels: {a: b}}\n"
    )
    (rule,) = only_policy(text).ingress
    assert rule.action == ALLOW and rule.peers == Pods(namespace_selector=LabelSelector((("a", "b"),)))
    assert any("fail closed" in note for note in rule.notes)
    text = cnp(SUBJECT_ALL + "  ingress:\n  - action: Accept\n    from:\n    - {}\n")
    (rule,) = only_policy(text).ingress
    assert rule.action == ALLOW and rule.peers == NOTHING


@pytest.mark.parametrize("action", ["Deny", "Pass"])
def test_deny_or_pass_rule_with_unreadable_peer_denies_all(action: str) -> None:
    text = cnp(
        SUBJECT_ALL
        + f"  egress:\n  - action: {action}\n    name: r-n\n    to:\n    - pods: 3\n    - namespaces: {{}}\n"
    )
    (rule,) = only_policy(text).egress
    assert (rule.action, rule.peers, rule.ports, rule.name, rule.number) == (DENY, EVERYTHING, (), "r-n", 1)
    assert pointers(text) == [("spec", "egress", 0, "to", 0, "pods")]


def test_unreadable_action_denies_all() -> None:
    text = cnp(SUBJECT_ALL + "  ingress:\n  - action: Drop\n    from:\n    - namespaces: {}\n")
    (rule,) = only_policy(text).ingress
    assert (rule.action, rule.peers) == (DENY, EVERYTHING)


def test_accept_with_unreadable_ports_matches_nothing() -> None:
    text = cnp(
        SUBJECT_ALL
        + "  ingress:\n  - action: Accept\n    from:\n    - namespaces: {}\n    protocols:\n    - tcp: {}\n"
    )
    (rule,) = only_policy(text).ingress
    assert rule.action == ALLOW and rule.peers == NOTHING


def test_host_network_pods_are_never_selected() -> None:
    policy = only_policy(FULL_CNP)
    for expr in (policy.subject, *policy.ingress[0].peers.items):  # type: ignore[union-attr]
        assert isinstance(expr, Pods) and expr.host_network is False


# --- malformed input never raises ----------------------------------------------------------------------


def _parse_data(kind: ClusterPolicyKind, data: Any) -> None:
    from netpolscan.model.tiers import ClusterView, KindSink

    sink = KindSink()
    doc = Document(path="t.yaml", index=0, line=1, data=data)
    kept = kind.parse(data, doc, "", sink) if isinstance(data, dict) else None
    list(kind.build([kept] if kept is not None else [], ClusterView({}, [])))
    for message, pointer in sink.invalid + sink.not_evaluated + sink.deprecated:
        assert isinstance(message, str) and isinstance(pointer, tuple)


@pytest.mark.parametrize(
    "text",
    [
        FULL_CNP,
        f"{ANP_HEADER}metadata:\n  name: a\nspec:\n  priority: 1\n{SUBJECT_ALL}"
        "  egress:\n  - action: Allow\n    to:\n    - pods: {namespaceSelector: {}, podSelector: {}}\n    - nodes: {}\n"
        "    ports:\n    - portNumber: {protocol: UDP, port: 53}\n    - portRange: {start: 1, end: 2}\n    - namedPort: x\n",
    ],
)
def test_every_field_of_any_type_is_a_problem_not_an_exception(text: str) -> None:
    data = yaml.safe_load(text)
    kind = ClusterPolicyKind()
    for pointer, _original in _field_paths(data):
        if pointer in (("apiVersion",), ("kind",)):
            continue
        for junk in (*WRONG.values(), [], {}, -3.5):
            _parse_data(kind, _replace(data, pointer, junk))


# --- the upstream examples and conformance manifests (corpus) --------------------------------------------


def _validity() -> list[dict[str, str]]:
    root = require_corpus("network-policy-api", "examples")
    with (root / "VALIDITY.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _findings(path: Path) -> dict[str, list[str]]:
    docs = list(parse_text(path.read_text(encoding="utf-8"), str(path)))
    ctx = ScanContext(Inventory.from_documents(docs, "default", builtin_kinds()))
    return {rule: [v.message for v in CHECKS[rule](ctx)] for rule in ("NPS001", "NPS002", "NPS003")}


def test_upstream_examples_validity() -> None:
    rows = _validity()
    root = require_corpus("network-policy-api", "examples")
    assert len(rows) == 15
    for row in rows:
        found = _findings(root / row["path"])
        if row["valid"] == "valid":
            assert found["NPS001"] == [] and found["NPS002"] == [], (row["path"], found)
        elif found["NPS001"]:  # not YAML (user story 4): no object to validate
            assert "user-story-4" in row["path"], (row["path"], found)
        else:  # invalid, and invalid-strict (unknown fields, which strict field validation rejects)
            assert found["NPS002"], (row["path"], found)
        v1alpha1 = row["api_version"] == "v1alpha1" and not found["NPS001"]
        assert bool(found["NPS003"]) == v1alpha1, (row["path"], found)


def test_conformance_manifests_are_valid() -> None:
    root = require_corpus("network-policy-api", "cases")
    paths = sorted(root.glob("*/*/manifests.yaml"))
    assert len(paths) == 102
    for path in paths:
        found = _findings(path)
        assert found["NPS001"] == [] and found["NPS002"] == [], (path, found)
        inv = Inventory.from_documents(
            parse_text(path.read_text(encoding="utf-8"), str(path)), "default", builtin_kinds()
        )
        assert inv.tier_policies, path


def test_v1alpha1_deprecation_is_a_warning_and_v1alpha2_findings_keep_their_level() -> None:
    from netpolscan.plugin_api import Severity
    from netpolscan.scan import ScanOptions, scan_documents

    text = f"{ANP_HEADER}metadata:\n  name: a\nspec:\n  priority: 2000\n{SUBJECT_ALL}"
    report = scan_documents(list(parse_text(text, "t.yaml")), ScanOptions(select=("NPS002", "NPS003")))
    levels = {f.rule_id: f.level for f in report.findings}
    assert levels == {"NPS002": Severity.ERROR, "NPS003": Severity.WARNING}
    legacy = "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n  podSelector: {}\n"
    report = scan_documents(list(parse_text(legacy, "t.yaml")), ScanOptions(select=("NPS003",)))
    assert [f.level for f in report.findings] == [Severity.ERROR]


def test_domain_names_outside_accept_and_unknown_v1alpha1_protocols_are_not_evaluated() -> None:
    text = cnp(SUBJECT_ALL + "  egress:\n  - action: Deny\n    to:\n    - domainNames: [example.com]\n")
    inv = inventory(text)
    assert inv.parsed.invalid == []
    assert [p for _, _, p in inv.parsed.not_evaluated] == [("spec", "egress", 0, "to", 0, "domainNames")]
    assert inv.tier_policies[0].egress[0].peers == Named("fqdn:example.com")  # evaluated as written
    anp = (
        f"{ANP_HEADER}metadata:\n  name: a\nspec:\n  priority: 1\n{SUBJECT_ALL}  ingress:\n  - action: Deny\n"
        "    from:\n    - namespaces: {}\n    ports:\n    - portNumber: {protocol: ICMP, port: 1}\n"
    )
    inv = inventory(anp)
    assert inv.parsed.invalid == [] and len(inv.parsed.not_evaluated) == 1
    assert inv.tier_policies[0].ingress[0].peers == NOTHING  # its only port entry matches no traffic


def test_the_kind_is_built_in() -> None:
    built_in = {kind.name: kind for kind in builtin_kinds()}
    assert built_in[ClusterPolicyKind.name].handles(
        "policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy"
    )
    kind = ClusterPolicyKind()
    assert kind.handles("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy")
    assert kind.handles("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy")
    assert not kind.handles("networking.k8s.io/v1", "NetworkPolicy")
    assert not kind.handles("crd.antrea.io/v1beta1", "ClusterNetworkPolicy")


def test_an_unknown_rule_field_fails_closed() -> None:
    """`ports` in v1alpha2 would narrow the rule: an Accept matches nothing, a Deny denies all."""
    ports = "    ports:\n    - portNumber: {port: 80}\n"
    accept = cnp(SUBJECT_ALL + "  ingress:\n  - action: Accept\n    from:\n    - namespaces: {}\n" + ports)
    (rule,) = only_policy(accept).ingress
    assert (rule.action, rule.peers) == (ALLOW, NOTHING)
    deny = accept.replace("action: Accept", "action: Deny")
    (rule,) = only_policy(deny).ingress
    assert (rule.action, rule.peers) == (DENY, EVERYTHING)
