"""Model parsing: NetworkPolicy fields and defaulting, API validation, workloads, namespaces."""

from __future__ import annotations

import pytest

from netpolscan.model import Inventory, LabelSelector, Requirement
from netpolscan.sources.yamlparse import parse_text


def inventory(text: str, namespace: str = "default") -> Inventory:
    return Inventory.from_documents(parse_text(text, "t.yaml"), namespace)


def policy_yaml(spec: str, name: str = "p") -> str:
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\nspec:\n{body}\n"


def test_policy_types_defaulting() -> None:
    inv = inventory(
        policy_yaml("podSelector: {}", "a") + "---\n"
        + policy_yaml("podSelector: {}\negress:\n- to:\n  - podSelector: {}", "b") + "---\n"
        + policy_yaml("podSelector: {}\negress: []", "c") + "---\n"
        + policy_yaml("podSelector: {}\npolicyTypes: [Egress]", "d") + "---\n"
        + policy_yaml("podSelector: {}\npolicyTypes: []\negress:\n- {}", "e")
    )
    types = {p.name: p.policy_types for p in inv.policies}
    assert types == {
        "a": ("Ingress",), "b": ("Ingress", "Egress"), "c": ("Ingress",), "d": ("Egress",),
        "e": ("Ingress", "Egress"),  # an empty policyTypes list is defaulted like an omitted one
    }


def test_rules_peers_and_ports_are_parsed() -> None:
    inv = inventory(policy_yaml("""
podSelector:
  matchLabels: {app: db}
ingress:
- from:
  - namespaceSelector:
      matchLabels: {team: a}
    podSelector:
      matchExpressions:
      - {key: tier, operator: In, values: [web, api]}
  - ipBlock:
      cidr: 10.0.0.0/8
      except: [10.1.0.0/16]
  ports:
  - port: 5432
  - protocol: UDP
    port: 1000
    endPort: 2000
  - port: metrics
- {}
"""))
    [policy] = inv.policies
    first, second = policy.ingress
    assert policy.pod_selector == LabelSelector((("app", "db"),))
    assert first.peers[0].namespace_selector == LabelSelector((("team", "a"),))
    assert first.peers[0].pod_selector == LabelSelector((), (Requirement("tier", "In", frozenset({"web", "api"})),))
    assert str(first.peers[1].ip_block) == "10.0.0.0/8 except 10.1.0.0/16"
    assert [(p.protocol, p.port, p.end_port) for p in first.ports] == [("TCP", 5432, None), ("UDP", 1000, 2000), ("TCP", "metrics", None)]
    assert second.all_peers and second.all_ports


@pytest.mark.parametrize(
    ("spec", "message", "pointer"),
    [
        ("podSelector: []", "selector must be a mapping", ("spec", "podSelector")),
        ("podSelector: {}\npolicyTypes: [Ingres]", "unknown policyType", ("spec", "policyTypes", 0)),
        ("podSelector: {}\ningress: {from: []}", "must be a list", ("spec", "ingress")),
        ("podSelector: {}\ningress:\n- from:\n  - {}", "peer has no field", ("spec", "ingress", 0, "from", 0)),
        ("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {}", "cannot combine", ("spec", "ingress", 0, "from", 0)),
        ("podSelector: {}\ningress:\n- ports:\n  - port: 70000", "outside 1-65535", ("spec", "ingress", 0, "ports", 0, "port")),
        ("podSelector: {}\ningress:\n- ports:\n  - port: 90\n    endPort: 80", "less than port", ("spec", "ingress", 0, "ports", 0, "endPort")),
        ("podSelector: {}\ningress:\n- ports:\n  - port: http\n    endPort: 80", "named port", ("spec", "ingress", 0, "ports", 0, "endPort")),
        ("podSelector: {}\ningress:\n- ports:\n  - protocol: ICMP", "unknown protocol", ("spec", "ingress", 0, "ports", 0, "protocol")),
        ("podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.300/8}", "not a valid CIDR", ("spec", "egress", 0, "to", 0, "ipBlock", "cidr")),
        ("podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/16, except: [10.2.0.0/24]}", "strict subset", ("spec", "egress", 0, "to", 0, "ipBlock", "except", 0)),
        ("podSelector:\n  matchExpressions:\n  - {key: a, operator: Equals, values: [b]}", "unknown selector operator", ("spec", "podSelector", "matchExpressions", 0, "operator")),
        ("podSelector:\n  matchExpressions:\n  - {key: a, operator: In}", "needs at least one value", ("spec", "podSelector", "matchExpressions", 0)),
        ("podSelector:\n  matchLabels: {app: 5}", "must be a string", ("spec", "podSelector", "matchLabels", "app")),
        ("podSelector: {}\ningress:\n- to:\n  - podSelector: {}", "unknown field 'to'", ("spec", "ingress", 0, "to")),
        ("podSelector: {}\ningress:\n- ports:\n  - port: '80'", "not a valid port name", ("spec", "ingress", 0, "ports", 0, "port")),
    ],
)
def test_invalid_policies_are_reported_at_the_field_and_excluded(spec: str, message: str, pointer: tuple[object, ...]) -> None:
    inv = inventory(policy_yaml(spec))
    assert inv.policies == []
    problems = inv.parsed.invalid
    assert any(message in m and p == pointer for _, m, p in problems), problems


def test_workloads_use_pod_template_labels_and_ports() -> None:
    inv = inventory("""\
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops, labels: {ignored: yes}}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec:
          hostNetwork: true
          containers:
          - name: c
            ports: [{containerPort: 9000, name: metrics, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.5}
""")
    cron, pod = inv.workloads
    assert (cron.kind, cron.namespace, dict(cron.labels)) == ("CronJob", "ops", {"app": "backup"})
    assert cron.host_network and cron.resolve_port("metrics", "UDP") == 9000 and cron.resolve_port("metrics", "TCP") is None
    assert (pod.namespace, pod.pod_ips) == ("default", ("10.0.0.5",))


def test_namespaces_get_the_name_label_and_scope() -> None:
    inv = inventory("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n---\n"
                    "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other}\n")
    assert dict(inv.namespaces["shop"].labels) == {"team": "a", "kubernetes.io/metadata.name": "shop"}
    assert inv.in_scope("other") and not inv.has_manifest("other")
    assert not inv.in_scope("nowhere")
    assert [n.name for n in inv.namespaces_matching(LabelSelector((("team", "a"),)))] == ["shop"]
    everything = inv.namespaces_matching(LabelSelector())
    assert {n.name for n in everything} == {"shop", "other"}


def test_selector_semantics() -> None:
    sel = LabelSelector(
        (("app", "web"),),
        (Requirement("tier", "NotIn", frozenset({"db"})), Requirement("env", "Exists", frozenset()),
         Requirement("legacy", "DoesNotExist", frozenset())),
    )
    assert sel.matches({"app": "web", "env": "prod"})
    assert sel.matches({"app": "web", "env": "prod", "tier": "api"})
    assert not sel.matches({"app": "web", "env": "prod", "tier": "db"})
    assert not sel.matches({"app": "web"})
    assert not sel.matches({"app": "web", "env": "x", "legacy": "1"})
    assert LabelSelector().matches({})


def test_non_mapping_and_kindless_documents_are_unparseable() -> None:
    inv = inventory("- a\n- b\n---\nfoo: bar\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n")
    messages = [m for _, m, _, _ in inv.parsed.unparseable]
    assert len(messages) == 2 and "not a mapping" in messages[0] and "no apiVersion" in messages[1]
    assert "ok" in inv.namespaces


def test_only_kubernetes_network_policies_are_modelled() -> None:
    calico = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c, namespace: a}\nspec: {selector: all()}\n"
    beta = "apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: b}\nspec: {podSelector: {}}\n"
    old = "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: o}\nspec: {podSelector: {}}\n"
    inv = inventory(calico + "---\n" + beta + "---\n" + old)
    assert inv.policies == []
    assert [(m, p) for _, m, p in inv.parsed.invalid] == [
        ("apiVersion networking.k8s.io/v1beta1 does not serve NetworkPolicy (use networking.k8s.io/v1)", ("apiVersion",))
    ]
    assert [v for _, v in inv.parsed.deprecated] == ["extensions/v1beta1"]


def test_any_namespaced_object_puts_its_namespace_in_scope() -> None:
    inv = inventory("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: cfg}\n---\n"
                    "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n"
                    "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
                    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n", "dflt")
    assert set(inv.namespaces) == {"cfg", "dflt"}  # a custom resource without a namespace may be cluster-scoped
