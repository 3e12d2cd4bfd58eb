"""The Cilium policy kind: parsing, what the CRD and the agent reject (NPS002, never an exception), and the
TierPolicies it builds. Verdicts are in test_conformance_cilium.py and test_cilium_scenarios.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.model import Inventory
from netpolscan.model.tiers import (
    DENY,
    EVERYTHING,
    NAMESPACE,
    NOTHING,
    AnyOf,
    ClusterView,
    KindSink,
    Named,
    Network,
    Pods,
    TierPolicy,
    World,
)
from netpolscan.policykinds import builtin_kinds
from netpolscan.policykinds.cilium import L7_NOTE, CiliumPolicyKind
from netpolscan.sources.yamlparse import parse_text
from tests.conftest import require_corpus


def inventory(text: str) -> Inventory:
    return Inventory.from_documents(parse_text(text, "t.yaml"), kinds=builtin_kinds())


def cnp(
    spec: str, kind: str = "CiliumNetworkPolicy", namespace: str = "shop", api: str = "cilium.io/v2"
) -> str:
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    meta = f"  name: p\n  namespace: {namespace}\n" if kind == "CiliumNetworkPolicy" else "  name: p\n"
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n{meta}spec:\n{body}\n"


def only_policy(text: str) -> TierPolicy:
    """The policy of ``text`` (the agent's allow-localhost policy left aside)."""
    inv = inventory(text)
    assert not inv.parsed.invalid, inv.parsed.invalid
    (policy,) = written(inv)
    return policy


def written(inv: Inventory) -> list[TierPolicy]:
    """The policies of the input's Cilium objects (the agent's allow-localhost policy left aside)."""
    return [p for p in inv.tier_policies if p.kind != "Cilium agent"]


# --- what the kind handles ---------------------------------------------------------------------------------


def test_handles_cilium_objects_and_endpoint_slices() -> None:
    kind = CiliumPolicyKind()
    assert kind.handles("cilium.io/v2", "CiliumNetworkPolicy")
    assert kind.handles("cilium.io/v2", "CiliumClusterwideNetworkPolicy")
    assert kind.handles("cilium.io/v2alpha1", "CiliumCIDRGroup")
    assert kind.handles("discovery.k8s.io/v1", "EndpointSlice")
    assert not kind.handles("networking.k8s.io/v1", "NetworkPolicy")
    assert not kind.handles("projectcalico.org/v3", "NetworkPolicy")


def test_unserved_api_version_is_invalid() -> None:
    inv = inventory(cnp("endpointSelector: {}\ningress: [{}]", api="cilium.io/v1"))
    assert [(m.split(" (")[0], p) for _, m, p in inv.parsed.invalid] == [
        ("apiVersion cilium.io/v1 does not serve CiliumNetworkPolicy", ("apiVersion",))
    ]
    assert inv.tier_policies == []


def test_v2alpha1_is_read_like_v2() -> None:
    policy = only_policy(cnp("endpointSelector: {}\ningress: [{}]", api="cilium.io/v2alpha1"))
    assert policy.api_version == "cilium.io/v2alpha1"


# --- NPS002: what the CRD or the agent rejects --------------------------------------------------------------

INVALID = [
    ("port-number", "endpointSelector: {}\ningress:\n- toPorts:\n  - ports:\n    - port: 80",
     "port must be a string", ("spec", "ingress", 0, "toPorts", 0, "ports", 0, "port")),
    ("port-pattern", "endpointSelector: {}\ningress:\n- toPorts:\n  - ports:\n    - port: '70000'",
     "is not a port number", ("spec", "ingress", 0, "toPorts", 0, "ports", 0, "port")),
    ("icmp-protocol", "endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n    - {port: '0', protocol: ICMP}",
     "unknown protocol 'ICMP'", ("spec", "egress", 0, "toPorts", 0, "ports", 0, "protocol")),
    ("end-port-below", "endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n    - {port: '90', endPort: 80}",
     "endPort 80 is less than port 90", ("spec", "egress", 0, "toPorts", 0, "ports", 0, "endPort")),
    ("end-port-type", "endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n    - {port: '90', endPort: '99'}",
     "endPort '99' must be a number", ("spec", "egress", 0, "toPorts", 0, "ports", 0, "endPort")),
    ("too-many-ports", "endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n"
     + "".join(f"    - port: '{1000 + i}'\n" for i in range(41)),
     "at most 40 ports", ("spec", "egress", 0, "toPorts", 0, "ports")),
    ("entity", "endpointSelector: {}\negress:\n- toEntities: [internet]",
     "unknown entity 'internet'", ("spec", "egress", 0, "toEntities", 0)),
    ("cidr", "endpointSelector: {}\negress:\n- toCIDR: [10.0.0.0/33]",
     "'10.0.0.0/33' is not a CIDR", ("spec", "egress", 0, "toCIDR", 0)),
    ("except-outside", "endpointSelector: {}\negress:\n- toCIDRSet:\n  - {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}",
     "except 192.168.0.0/16 is not inside cidr 10.0.0.0/8", ("spec", "egress", 0, "toCIDRSet", 0, "except", 0)),
    ("cidr-set-two", "endpointSelector: {}\negress:\n- toCIDRSet:\n  - {cidr: 10.0.0.0/8, cidrGroupRef: corp}",
     "exactly one of cidr, cidrGroupRef", ("spec", "egress", 0, "toCIDRSet", 0)),
    ("node-selector-cnp", "nodeSelector: {}\ningress: [{}]",
     "nodeSelector can only be used in a CiliumClusterwideNetworkPolicy", ("spec", "nodeSelector")),
    ("both-selectors", "endpointSelector: {}\nnodeSelector: {}\ningress: [{}]",
     "mutually exclusive", ("spec", "nodeSelector")),
    ("no-selector", "ingress: [{}]", "needs an endpointSelector", ("spec",)),
    ("no-section", "endpointSelector: {}", "needs ingress, ingressDeny, egress or egressDeny", ("spec",)),
    ("fqdn-and-endpoints", "endpointSelector: {}\negress:\n- toFQDNs: [{matchName: a.example}]\n  toEndpoints: [{}]",
     "cannot contain other L3 selectors", ("spec", "egress", 0)),
    ("fqdn-name", "endpointSelector: {}\negress:\n- toFQDNs: [{matchName: 'a b'}]",
     "is not a valid DNS name", ("spec", "egress", 0, "toFQDNs", 0, "matchName")),
    ("fqdn-both", "endpointSelector: {}\negress:\n- toFQDNs: [{matchName: a.example, matchPattern: '*.example'}]",
     "exactly one of matchName, matchPattern", ("spec", "egress", 0, "toFQDNs", 0)),
    ("two-l7", "endpointSelector: {}\ningress:\n- toPorts:\n  - ports: [{port: '80'}]\n    rules: {http: [{}], dns: [{matchPattern: '*'}]}",
     "exactly one of http, kafka, dns, l7proto", ("spec", "ingress", 0, "toPorts", 0, "rules")),
    ("deny-l7", "endpointSelector: {}\ningressDeny:\n- toPorts:\n  - ports: [{port: '80'}]\n    rules: {http: [{}]}",
     "unknown field 'rules'", ("spec", "ingressDeny", 0, "toPorts", 0, "rules")),
    ("deny-fqdn", "endpointSelector: {}\negressDeny:\n- toFQDNs: [{matchName: a.example}]",
     "unknown field 'toFQDNs'", ("spec", "egressDeny", 0, "toFQDNs")),
    ("operator-case", "endpointSelector:\n  matchExpressions: [{key: app, operator: in, values: [a]}]\ningress: [{}]",
     "unknown selector operator 'in'", ("spec", "endpointSelector", "matchExpressions", 0, "operator")),
    ("in-without-values", "endpointSelector:\n  matchExpressions: [{key: app, operator: In}]\ningress: [{}]",
     "operator In needs at least one value", ("spec", "endpointSelector", "matchExpressions", 0)),
    ("label-value-type", "endpointSelector:\n  matchLabels: {enabled: true}\ningress: [{}]",
     "must be a string", ("spec", "endpointSelector", "matchLabels", "enabled")),
    ("label-value-pattern", "endpointSelector:\n  matchLabels: {app: 'a b'}\ningress: [{}]",
     "is not a valid label value", ("spec", "endpointSelector", "matchLabels", "app")),
    ("default-deny-type", "endpointSelector: {}\nenableDefaultDeny: {ingress: 'no'}\ningress: [{}]",
     "enableDefaultDeny.ingress must be true or false", ("spec", "enableDefaultDeny", "ingress")),
    ("unknown-spec-field", "endpointSelector: {}\npodSelector: {}\ningress: [{}]",
     "unknown field 'podSelector' in spec", ("spec", "podSelector")),
    ("unknown-rule-field", "endpointSelector: {}\ningress:\n- from: [{}]",
     "unknown field 'from' in an ingress rule", ("spec", "ingress", 0, "from")),
    ("egress-field-in-ingress", "endpointSelector: {}\ningress:\n- toEndpoints: [{}]",
     "unknown field 'toEndpoints' in an ingress rule", ("spec", "ingress", 0, "toEndpoints")),
    ("section-type", "endpointSelector: {}\ningress: {fromEndpoints: [{}]}",
     "ingress must be a list", ("spec", "ingress")),
    ("rule-type", "endpointSelector: {}\negress: [world]", "must be a mapping", ("spec", "egress", 0)),
    ("selector-type", "endpointSelector: app\ningress: [{}]", "must be a mapping", ("spec", "endpointSelector")),
    ("service-entry", "endpointSelector: {}\negress:\n- toServices: [{}]",
     "needs k8sService or k8sServiceSelector", ("spec", "egress", 0, "toServices", 0)),
    ("authentication", "endpointSelector: {}\ningress:\n- fromEndpoints: [{}]\n  authentication: {mode: always}",
     "authentication.mode 'always'", ("spec", "ingress", 0, "authentication")),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "message", "pointer"), [pytest.param(*c[1:], id=c[0]) for c in INVALID])
def test_invalid_field_is_nps002_and_the_policy_is_left_out(
    spec: str, message: str, pointer: tuple[Any, ...]
) -> None:
    inv = inventory(cnp(spec))
    problems = inv.parsed.invalid
    assert problems, "expected an NPS002 problem"
    assert any(message in m and p == pointer for _, m, p in problems), problems
    assert all(m.endswith("the CiliumNetworkPolicy is left out of the analysis") for _, m, _ in problems)
    assert inv.tier_policies == []


def test_an_object_without_spec_nor_specs_is_invalid() -> None:
    text = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\n"
    problems = inventory(text).parsed.invalid
    assert [p for _, _, p in problems] == [()]
    assert "needs spec or specs" in problems[0][1]


def test_metadata_name_is_required() -> None:
    text = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {namespace: shop}\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n"
    problems = inventory(text).parsed.invalid
    assert [p for _, _, p in problems] == [("metadata",)]


FULL = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: full, namespace: shop}
spec:
  endpointSelector:
    matchLabels: {app: web, 'k8s:tier': front}
    matchExpressions: [{key: io.kubernetes.pod.namespace, operator: In, values: [shop]}]
  enableDefaultDeny: {ingress: true, egress: false}
  ingress:
  - fromEndpoints: [{matchLabels: {role: a}}]
    fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
    fromEntities: [world, host]
    toPorts:
    - ports: [{port: '80', endPort: 90, protocol: TCP}, {port: http}]
      rules: {http: [{method: GET}]}
    icmps: [{fields: [{type: 8}]}]
  ingressDeny:
  - fromCIDR: [192.0.2.0/24]
    toPorts: [{ports: [{port: '22'}]}]
  egress:
  - toFQDNs: [{matchName: api.example.com}]
    toPorts: [{ports: [{port: '443'}]}]
  - toServices: [{k8sService: {serviceName: db, namespace: shop}}]
  - toEndpoints: [{matchLabels: {k8s-app: kube-dns, io.kubernetes.pod.namespace: kube-system}}]
    toPorts: [{ports: [{port: '53', protocol: ANY}], rules: {dns: [{matchPattern: '*'}]}}]
  egressDeny:
  - toEntities: [kube-apiserver]
"""
JUNK: list[Any] = [None, 0, 7, "x", "", True, [], {}, [None], [1, "a"], {"a": 1}, {"matchLabels": 3}]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def test_any_malformed_field_is_a_finding_never_an_exception() -> None:
    base = yaml.safe_load(FULL)
    assert not inventory(FULL).parsed.invalid
    (doc,) = parse_text(FULL, "full.yaml")
    kind = CiliumPolicyKind()
    cluster = ClusterView({}, [])
    for path in _paths(base["spec"], ("spec",)):
        for junk in JUNK:
            data = copy.deepcopy(base)
            target = data
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = junk
            sink = KindSink()
            kept = kind.parse(data, doc, "shop", sink)  # must not raise
            if kept is not None:
                assert 1 <= len(list(kind.build([kept], cluster))) <= 2
            else:
                assert sink.invalid


# --- what the policies read as ------------------------------------------------------------------------------


def test_subject_is_the_policy_namespace_and_never_host_network_pods() -> None:
    policy = only_policy(cnp("endpointSelector:\n  matchLabels: {'k8s:app': web}\ningress: [{}]"))
    assert policy.tier is NAMESPACE and policy.kind == "CiliumNetworkPolicy" and policy.namespace == "shop"
    subject = policy.subject
    assert isinstance(subject, Pods) and subject.namespace_names == frozenset({"shop"})
    assert not subject.host_network
    assert subject.pod_selector is not None and subject.pod_selector.matches({"app": "web"})


def test_cluster_wide_subject_spans_namespaces() -> None:
    policy = only_policy(cnp("endpointSelector: {}\ningress: [{}]", kind="CiliumClusterwideNetworkPolicy"))
    assert isinstance(policy.subject, Pods) and policy.subject.namespace_names is None
    assert policy.namespace == ""


@pytest.mark.parametrize(
    ("spec", "isolates"),
    [
        ("ingress: [{}]", {"ingress"}),
        ("egress: [{}]", {"egress"}),
        ("ingress: []\negress: [{}]", {"egress"}),  # an empty list: "this rule does not apply at ingress"
        ("ingressDeny: [{fromEntities: [world]}]", {"ingress"}),  # deny-only policies isolate too
        ("enableDefaultDeny: {egress: false}\negress: [{toEntities: [world]}]", set()),
        ("enableDefaultDeny: {ingress: false}\ningress: [{}]\negress: [{}]", {"egress"}),
    ],
)
def test_default_deny_per_direction(spec: str, isolates: set[str]) -> None:
    policy = only_policy(cnp("endpointSelector: {}\n" + spec))
    assert policy.isolates == frozenset(isolates)


def test_one_allow_localhost_policy_for_the_pods_cilium_isolates() -> None:
    text = "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {kubernetes.io/hostname: n1}}\n---\n"
    text += cnp("endpointSelector: {matchLabels: {a: '1'}}\ningress: [{}]") + "---\n"
    text += cnp("endpointSelector: {matchLabels: {b: '1'}}\negress: [{}]").replace("name: p", "name: q")
    inv = inventory(text)
    first, second = written(inv)
    (agent,) = [p for p in inv.tier_policies if p not in (first, second)]
    assert (agent.kind, agent.name, agent.isolates, agent.egress) == (
        "Cilium agent",
        "allow-localhost",
        frozenset(),
        (),
    )
    assert agent.subject == first.subject  # only the pods a Cilium policy isolates for ingress
    assert [rule.name for rule in first.ingress] == [""]
    assert {rule.subject for rule in agent.ingress} == {
        Pods(node_names=frozenset({"n1"})),
        Pods(node_names=frozenset({""})),
    }


def test_empty_rule_matches_nothing_and_ports_only_rule_matches_everything() -> None:
    policy = only_policy(
        cnp("endpointSelector: {}\negress:\n- {}\n- toPorts: [{ports: [{port: '80'}]}]\n- toEndpoints: []")
    )
    assert [rule.peers for rule in policy.egress] == [NOTHING, EVERYTHING, AnyOf(())]
    assert {str(spec) for spec in policy.egress[1].ports} == {"80/TCP", "80/UDP", "80/SCTP"}


def test_endpoints_stay_in_the_policy_namespace_unless_one_is_named() -> None:
    policy = only_policy(
        cnp(
            "endpointSelector: {}\negress:\n- toEndpoints:\n  - matchLabels: {app: a}\n"
            "  - matchLabels: {'k8s:io.kubernetes.pod.namespace': kube-system, k8s-app: kube-dns}\n"
            "  - matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [dev]}]"
        )
    )
    (rule,) = policy.egress
    assert isinstance(rule.peers, AnyOf)
    first, second, third = rule.peers.items
    assert isinstance(first, Pods) and first.namespace_names == frozenset({"shop"})
    assert isinstance(second, Pods) and second.namespace_names == frozenset({"kube-system"})
    assert isinstance(third, Pods) and third.namespace_names is None
    assert third.namespace_selector is not None
    assert not third.namespace_selector.matches({"kubernetes.io/metadata.name": "dev"})


def test_entities_cidrs_and_fqdns() -> None:
    policy = only_policy(
        cnp(
            "endpointSelector: {}\negress:\n- toEntities: [world, kube-apiserver, all]\n"
            "- toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]\n"
            "- toFQDNs: [{matchName: API.Example.com.}, {matchPattern: '*.example.org'}]"
        )
    )
    entities, cidrs, fqdns = policy.egress
    assert entities.peers == AnyOf((World(), Named("entity:kube-apiserver"), EVERYTHING))
    assert isinstance(cidrs.peers, Network) and not cidrs.peers.in_cluster
    assert str(cidrs.peers.block) == "10.0.0.0/8 except 10.96.0.0/12"
    assert fqdns.peers == AnyOf((Named("fqdn:api.example.com"), Named("fqdn:*.example.org")))


def test_deny_rules_win_by_precedence() -> None:
    policy = only_policy(
        cnp("endpointSelector: {}\ningress: [{fromEndpoints: [{}]}]\ningressDeny: [{fromEntities: [world]}]")
    )
    actions = [(rule.action, rule.precedence, rule.name) for rule in policy.ingress]
    assert actions == [("allow", 0, ""), (DENY, -1, "ingressDeny")]


def test_l7_and_icmp_are_noted() -> None:
    policy = only_policy(
        cnp(
            "endpointSelector: {}\ningress:\n- toPorts: [{ports: [{port: '80', protocol: TCP}], rules: {http: [{method: GET}]}}]\n"
            "- fromEndpoints: [{}]\n  icmps: [{fields: [{type: 8}]}]"
        )
    )
    l7, icmp = policy.ingress[:2]
    assert l7.notes and l7.notes[0].startswith(f"{L7_NOTE} (http) on 80/TCP")
    assert icmp.peers == NOTHING and "ICMP" in icmp.notes[0]


def test_specs_make_one_policy_each() -> None:
    text = (
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\n"
        "specs:\n- endpointSelector: {matchLabels: {a: '1'}}\n  ingress: [{}]\n"
        "- endpointSelector: {matchLabels: {b: '1'}}\n  egress: [{}]\n"
    )
    policies = written(inventory(text))
    assert [(p.name, p.isolates, p.subject_pointer) for p in policies] == [
        ("p", frozenset({"ingress"}), ("specs", 0, "endpointSelector")),
        ("p", frozenset({"egress"}), ("specs", 1, "endpointSelector")),
    ]


def test_host_policy_is_not_evaluated() -> None:
    inv = inventory(cnp("nodeSelector: {}\ningress: [{}]", kind="CiliumClusterwideNetworkPolicy"))
    assert inv.tier_policies == [] and not inv.parsed.invalid
    assert [p for _, _, p in inv.parsed.not_evaluated] == [("spec", "nodeSelector")]


def test_requires_is_deprecated_and_narrows_rules_with_the_same_selector() -> None:
    inv = inventory(
        cnp(
            "endpointSelector: {matchLabels: {env: prod}}\ningress: [{fromRequires: [{matchLabels: {env: prod}}]}]"
        )
        + "---\n"
        + cnp(
            "endpointSelector: {matchLabels: {env: prod}}\ningress: [{fromEndpoints: [{matchLabels: {role: a}}]}]"
        ).replace("name: p", "name: q")
    )
    assert [p for _, _, p in inv.parsed.deprecated_kinds] == [("spec", "ingress", 0, "fromRequires")]
    allow = [p.ingress[0] for p in written(inv)]
    assert all(type(rule.peers).__name__ == "AllOf" for rule in allow)


def test_namespace_labels_are_ignored_in_a_namespaced_policy() -> None:
    inv = inventory(
        cnp(
            "endpointSelector: {}\ningress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: a}}]}]"
        )
    )
    assert len(inv.parsed.not_evaluated) == 1
    rule = written(inv)[0].ingress[0]
    assert isinstance(rule.peers, Pods) and rule.peers.namespace_names == frozenset({"shop"})
    ccnp = only_policy(
        cnp(
            "endpointSelector: {}\ningress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: a}}]}]",
            kind="CiliumClusterwideNetworkPolicy",
        )
    )
    peers = ccnp.ingress[0].peers
    assert isinstance(peers, Pods) and peers.namespace_selector is not None
    assert peers.namespace_selector.matches({"team": "a"})


def test_services_and_cidr_groups_resolve() -> None:
    text = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec: {ports: [{port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: legacy-1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
addressType: IPv4
endpoints: [{addresses: [192.0.2.5]}]
---
apiVersion: cilium.io/v2alpha1
kind: CiliumCIDRGroup
metadata: {name: partners, labels: {kind: partner}}
spec: {externalCIDRs: [198.51.100.0/24]}
---
""" + cnp(
        "endpointSelector: {}\negress:\n- toServices: [{k8sService: {serviceName: api}}, {k8sService: {serviceName: legacy}}]\n"
        "- toCIDRSet: [{cidrGroupRef: partners}, {cidrGroupSelector: {matchLabels: {kind: partner}}}]\n"
        "- toServices: [{k8sService: {serviceName: missing}}]"
    )
    policy = only_policy(text)
    services, groups, missing = policy.egress
    assert isinstance(services.peers, AnyOf)
    by_selector, by_slice = services.peers.items
    assert isinstance(by_selector, Pods) and by_selector.namespace_names == frozenset({"shop"})
    assert by_slice == AnyOf((Network(by_slice.items[0].block, in_cluster=False),))  # type: ignore[union-attr]
    assert "192.0.2.5/32" in str(by_slice)
    assert "198.51.100.0/24" in str(groups.peers)
    assert missing.peers == NOTHING and "not in the input" in missing.notes[0]


# --- the upstream examples -----------------------------------------------------------------------------------

# true findings: what the current CRD rejects, or what is no Kubernetes object at all
EXPECTED_EXAMPLE_FINDINGS = {
    "policies/host/lock-down-ingress.yaml": {"NPS002"},  # the placeholder port REMOVE_ME_AFTER_...
    "policies/l3/entities/from_nodes.yaml": {"NPS001"},  # `apiversion:` (lower case)
    "policies/l3/match-expressions/and-statement.yaml": {"NPS002"},  # operator "in" (the enum is In)
    "policies/l3/match-expressions/or-statement.yaml": {"NPS002"},
}


def test_upstream_examples_scan_without_false_nps001_nps002() -> None:
    base = require_corpus("cilium", "examples")
    files = sorted(Path(base).rglob("*.yaml"))
    assert len(files) == 49
    found: dict[str, set[str]] = {}
    for path in files:
        inv = Inventory.from_documents(
            parse_text(path.read_text(encoding="utf-8"), str(path)), kinds=builtin_kinds()
        )
        rules = {"NPS001"} if inv.parsed.unparseable else set()
        rules |= {"NPS002"} if inv.parsed.invalid else set()
        if rules:
            found[str(path.relative_to(base))] = rules
        elif "from_nodes" not in path.name and "host" not in path.parts:
            assert inv.tier_policies, f"{path.name}: no policy built"
    assert found == EXPECTED_EXAMPLE_FINDINGS
