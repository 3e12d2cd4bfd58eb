"""The Calico policy kind: parsing, validation (NPS002 at the field, NPS006 for what is not evaluated),
defaulting, tiers and order, network sets, workload endpoints and profiles."""

from __future__ import annotations

import ipaddress
import math

import pytest

from netpolscan.analysis.connectivity import connectivity
from netpolscan.model.inventory import Inventory
from netpolscan.model.tiers import ALLOW, DENY, NAMESPACE, PASS, AnyOf, Network, TierPolicy
from netpolscan.policykinds import builtin_kinds
from netpolscan.sources.yamlparse import parse_text

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: b}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns1, labels: {app: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns1, labels: {app: b}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: ns2, labels: {app: c}}
"""


def inventory(text: str, with_pods: bool = True) -> Inventory:
    docs = list(parse_text((PODS + "---\n" if with_pods else "") + text, "calico.yaml"))
    return Inventory.from_documents(docs, kinds=builtin_kinds())


def policies(inv: Inventory) -> dict[str, TierPolicy]:
    return {p.name: p for p in inv.tier_policies}


def invalid(inv: Inventory) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(message, pointer) for _, message, pointer in inv.parsed.invalid]


def allowed(inv: Inventory, src: str, dst: str) -> str:
    workloads = {w.name: w for w in inv.workloads}
    return str(connectivity(inv).allowed(workloads[src], workloads[dst]))


@pytest.mark.parametrize("api_version", ["projectcalico.org/v3", "crd.projectcalico.org/v1"])
def test_both_api_groups(api_version: str) -> None:
    inv = inventory(
        f"apiVersion: {api_version}\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: ns1}}\nspec: {{}}\n"
    )
    assert list(policies(inv)) == ["p"]
    assert policies(inv)["p"].tier is NAMESPACE


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ("{}", {"ingress"}),
        ("{ingress: [{action: Allow}]}", {"ingress"}),
        ("{egress: [{action: Allow}]}", {"egress"}),
        ("{ingress: [{action: Allow}], egress: [{action: Allow}]}", {"ingress", "egress"}),
        ("{types: [Egress]}", {"egress"}),
        ("{types: [Ingress, Egress], ingress: [{action: Allow}]}", {"ingress", "egress"}),
    ],
)
def test_types_defaulting(spec: str, types: set[str]) -> None:
    inv = inventory(
        f"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: ns1}}\nspec: {spec}\n"
    )
    assert set(policies(inv)["p"].isolates) == types


def test_order_missing_last_ties_by_name_and_actions() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: z-first}
spec: {order: 1, ingress: [{action: Log}, {action: Deny}, {action: Pass}, {action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-unordered}
spec: {}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-unordered}
spec: {}
"""
    )
    ordered = sorted(inv.tier_policies, key=lambda p: p.order)
    assert [p.name for p in ordered] == ["z-first", "a-unordered", "b-unordered"]
    first = policies(inv)["z-first"]
    assert first.order == (1.0, "z-first")
    assert policies(inv)["a-unordered"].order[0] == math.inf
    # Log decides nothing: it is skipped, the other rules keep their numbers
    assert [(r.action, r.number) for r in first.ingress] == [(DENY, 2), (PASS, 3), (ALLOW, 4)]


def test_tiers_by_order_and_default_action() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 200, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.deny-c}
spec: {tier: security, selector: app == 'a', ingress: [{action: Deny, source: {selector: app == 'c'}}, {action: Pass}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.nothing}
spec: {tier: platform, selector: app == 'a', ingress: [{action: Allow, protocol: UDP}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: ns-default, namespace: ns1}
spec: {selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}
"""
    )
    tiers = {p.name: p.tier for p in inv.tier_policies}
    assert tiers["security.deny-c"].rank == 100 and tiers["security.deny-c"].end == DENY
    assert tiers["platform.nothing"].rank == 200 and tiers["platform.nothing"].end == PASS
    assert tiers["ns-default"] is NAMESPACE
    assert allowed(inv, "c", "a") == "No Connections"  # denied in the first tier
    # b: passed by security, UDP allowed by platform, TCP 80 by the default tier (platform ends in Pass)
    assert allowed(inv, "b", "a") == "TCP 80,UDP 1-65535"


def test_rule_source_destination_and_ports() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  selector: all()
  ingress:
  - action: Deny
    protocol: TCP
    destination: {selector: app == 'b', notPorts: ["9000:9999"]}
    source: {namespaceSelector: team == 'b'}
  - action: Allow
    protocol: TCP
    destination: {ports: [http, 22, "1000:1002"]}
  - action: Allow
    notProtocol: TCP
    source: {notSelector: app == 'a'}
"""
    )
    # c -> b: TCP but 9000-9999 denied, the rest of TCP undecided (end of tier: deny); the notSelector
    # rule does not match c: a namespaced rule's notSelector given alone keeps to the policy's namespace
    assert allowed(inv, "c", "b") == "No Connections"
    assert allowed(inv, "c", "a") == "TCP 22,1000-1002"
    assert allowed(inv, "a", "b") == "TCP 22,1000-1002,8080"


def test_namespaced_selector_stays_in_its_namespace() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec: {selector: app == 'b', ingress: [{action: Allow, source: {selector: has(app)}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: app == 'a', ingress: [{action: Allow, source: {selector: has(app)}}]}
"""
    )
    assert allowed(inv, "a", "b") == "All Connections"
    assert allowed(inv, "c", "b") == "No Connections"
    assert allowed(inv, "c", "a") == "All Connections"


def test_network_sets_resolve_by_labels() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: ext, namespace: ns1, labels: {role: db}}
spec: {nets: [10.1.0.0/16]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: other-ns, namespace: ns2, labels: {role: db}}
spec: {nets: [10.2.0.0/16]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: g, labels: {role: db}}
spec: {nets: [10.3.0.0/16]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec: {types: [Egress], egress: [{action: Allow, destination: {selector: role == 'db'}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {types: [Egress], selector: app == 'c', egress: [{action: Allow, destination: {selector: role == 'db'}}]}
"""
    )
    peers = policies(inv)["p"].egress[0].peers
    assert isinstance(peers, AnyOf)
    assert {str(item.block) for item in peers.items if isinstance(item, Network)} == {"10.1.0.0/16"}
    gpeers = policies(inv)["g"].egress[0].peers
    assert isinstance(gpeers, AnyOf)
    assert {str(item.block) for item in gpeers.items if isinstance(item, Network)} == {
        "10.1.0.0/16",
        "10.2.0.0/16",
        "10.3.0.0/16",
    }


def test_workload_endpoints_are_pods_with_profiles_labels() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: WorkloadEndpointList
items:
- metadata:
    name: node1-k8s-web--1-eth0
    namespace: shop
    labels: {app: web, projectcalico.org/namespace: shop}
  spec:
    pod: web-1
    ipNetworks: [10.0.0.5/32]
    profiles: [kns.shop]
    ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.shop}
spec: {labelsToApply: {pcns.team: x, app: ignored}}
""",
        with_pods=False,
    )
    (web,) = inv.workloads
    assert (web.kind, web.namespace, web.name, web.pod_ips) == (
        "WorkloadEndpoint",
        "shop",
        "web-1",
        ("10.0.0.5",),
    )
    assert web.labels["pcns.team"] == "x" and web.labels["app"] == "web"
    assert web.resolve_port("http", "TCP") == 8080
    assert inv.in_scope("shop")


@pytest.mark.parametrize(
    ("spec", "pointer", "fragment"),
    [
        ("{selector: app = 'x'}", ("spec", "selector"), "at character 5"),
        ("{order: high}", ("spec", "order"), "order must be a number"),
        ("{types: [Inbound]}", ("spec", "types", 0), "Ingress or Egress"),
        ("{types: [Egress], ingress: [{action: Allow}]}", ("spec", "types"), "does not list Ingress"),
        ("{ingress: [{action: allow}]}", ("spec", "ingress", 0, "action"), "Allow, Deny, Pass or Log"),
        ("{ingress: [{action: Allow, protocol: HTTP}]}", ("spec", "ingress", 0, "protocol"), "not one of"),
        ("{ingress: [{action: Allow, protocol: 300}]}", ("spec", "ingress", 0, "protocol"), "1-255"),
        (
            "{ingress: [{action: Allow, destination: {ports: [80]}}]}",
            ("spec", "ingress", 0, "destination", "ports"),
            "need protocol",
        ),
        (
            "{ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]}",
            ("spec", "ingress", 0, "destination", "ports", 0),
            "min <= max",
        ),
        (
            "{ingress: [{action: Allow, protocol: TCP, destination: {ports: [70000]}}]}",
            ("spec", "ingress", 0, "destination", "ports", 0),
            "outside",
        ),
        (
            "{ingress: [{action: Allow, source: {nets: [10.0.0.300/8]}}]}",
            ("spec", "ingress", 0, "source", "nets", 0),
            "not an IP",
        ),
        (
            "{ingress: [{action: Allow, source: {notSelector: '(a'}}]}",
            ("spec", "ingress", 0, "source", "notSelector"),
            "does not parse",
        ),
        (
            "{ingress: [{action: Allow, icmp: {type: 8}}]}",
            ("spec", "ingress", 0, "icmp"),
            "needs protocol ICMP",
        ),
        ("{ingress: [{action: Allow, ipVersion: 5}]}", ("spec", "ingress", 0, "ipVersion"), "4 or 6"),
        ("{ingress: 3}", ("spec", "ingress"), "must be a list"),
        ("{ingress: [null]}", ("spec", "ingress", 0), "mapping"),
        ("{namespaceSelector: all()}", ("spec", "namespaceSelector"), "only valid in a GlobalNetworkPolicy"),
        ("[]", ("spec",), "spec must be a mapping"),
    ],
)
def test_validation_is_nps002_at_the_field(spec: str, pointer: tuple[str | int, ...], fragment: str) -> None:
    inv = inventory(
        f"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: ns1}}\nspec: {spec}\n"
    )
    problems = invalid(inv)
    assert any(p == pointer and fragment in m for m, p in problems), problems
    assert not inv.tier_policies  # a policy the API rejects takes no part


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {order: [1]}\n",
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {defaultAction: Allow}\n",
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s}\nspec: {nets: 10.0.0.0/8}\n",
        "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: s, labels: [x]}\nspec: {}\n",
        "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\nspec: {ports: [{port: x}]}\n",
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: 3}\nspec: {}\n",
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {preDNAT: yes-please}\n",
    ],
)
def test_malformed_fields_of_every_type_are_nps002_not_exceptions(text: str) -> None:
    inv = inventory(text, with_pods=False)
    assert invalid(inv)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: h}\n"
            "spec: {preDNAT: true, applyOnForward: true}\n",
            "host endpoints only",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: h}\nspec: {doNotTrack: true}\n",
            "host endpoints only",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: eth0}\nspec: {node: n1}\n",
            "HostEndpoint",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: kns.a}\nspec: {ingress: [{action: Deny}]}\n",
            "Profile ingress rules",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: s}\n"
            "spec: {egress: [{action: Allow, destination: {services: {name: db, namespace: x}}}]}\n",
            "services match",
        ),
    ],
)
def test_not_evaluated_is_nps006(text: str, fragment: str) -> None:
    inv = inventory(text, with_pods=False)
    assert any(fragment in message for _, message, _ in inv.parsed.not_evaluated)
    assert not invalid(inv)


def test_icmp_rules_match_no_modelled_port() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: app == 'a', ingress: [{action: Deny, protocol: ICMP, icmp: {type: 8}}, {action: Allow}]}
"""
    )
    assert [r.action for r in policies(inv)["g"].ingress] == [ALLOW]
    assert allowed(inv, "c", "a") == "All Connections"


def test_named_port_resolves_on_the_destination_for_an_external_source() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec: {selector: app == 'b', ingress: [{action: Allow, protocol: TCP, destination: {ports: [http]}}]}
"""
    )
    b = next(w for w in inv.workloads if w.name == "b")
    assert allowed(inv, "a", "b") == "TCP 8080"
    assert str(connectivity(inv).allowed(ipaddress.ip_address("192.0.2.1"), b)) == "TCP 8080"


def test_default_allow_all_profiles_are_what_is_assumed() -> None:
    inv = inventory(
        "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: kns.a}\n"
        "spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}\n",
        with_pods=False,
    )
    assert not inv.parsed.not_evaluated and not invalid(inv)


def test_calicoctl_json_list_of_workload_endpoints() -> None:
    text = (
        '{"kind": "WorkloadEndpointList", "apiVersion": "projectcalico.org/v3", "items": ['
        '{"metadata": {"name": "n1-k8s-a-eth0", "namespace": "shop", "labels": {"app": "a"}},'
        ' "spec": {"pod": "a-1", "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}},'
        '{"metadata": {"name": "n1-k8s-b-eth0", "namespace": "bank", "labels": {"app": "b"}},'
        ' "spec": {"pod": "b-1"}}]}'
    )
    docs = list(parse_text(text, "weps.json", json_hint=True))
    inv = Inventory.from_documents(docs, kinds=builtin_kinds())
    assert sorted((w.namespace, w.name) for w in inv.workloads) == [("bank", "b-1"), ("shop", "a-1")]
    assert inv.in_scope("shop") and inv.in_scope("bank")
    assert not invalid(inv)


def test_calico_labels_of_pods_and_namespaces() -> None:
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec:
  selector: projectcalico.org/namespace == 'ns1' && projectcalico.org/orchestrator == 'k8s'
  ingress:
  - action: Allow
    source: {namespaceSelector: projectcalico.org/name == 'ns2'}
"""
    )
    assert allowed(inv, "c", "a") == "All Connections"  # ns2 -> ns1: the rule
    assert allowed(inv, "b", "a") == "No Connections"  # ns1 -> ns1: no rule, end of tier
    assert allowed(inv, "a", "c") == "All Connections"  # c (ns2) is not selected


def test_policy_in_a_tier_the_input_does_not_define_comes_last() -> None:
    inv = inventory(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x.p}\n"
        "spec: {tier: x, ingress: [{action: Allow}]}\n"
    )
    (policy,) = inv.tier_policies
    assert policy.tier.rank == math.inf and policy.tier.end == DENY


def test_egress_to_domains_matches_those_names_only() -> None:
    # Calico Enterprise/Cloud's `destination.domains` (tigera-solutions' workshop demo: a security-tier
    # Allow to '*.twilio.com' then a Pass); it was read as "every destination", so the Allow opened all
    # egress and shadowed every later rule (NPS803)
    inv = inventory(
        """apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  selector: app == 'a'
  types: [Egress]
  egress:
  - action: Allow
    destination: {domains: ['*.Twilio.com.', api.example.com]}
  - action: Deny
    destination: {nets: [169.254.169.254/32]}
"""
    )
    conn = connectivity(inv)
    a = next(w for w in inv.workloads if w.name == "a")
    assert allowed(inv, "a", "b") == "No Connections"
    named = {str(segment) for segment, _ in conn.external_connections("egress", conn.class_of(a).index)}
    assert named == {"fqdn:*.twilio.com", "fqdn:api.example.com"}
    bad = inventory(
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns1}\n"
        "spec: {egress: [{action: Allow, destination: {domains: ['a b']}}]}\n"
    )
    assert any(p == ("spec", "egress", 0, "destination", "domains", 0) for _, p in invalid(bad)), invalid(bad)
