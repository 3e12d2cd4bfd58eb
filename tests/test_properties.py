"""Property-based checks of the semantic engine (hypothesis) on small random clusters and policies.

Monotonicity, stated exactly (per direction, at the pod that direction belongs to: ingress at the
destination, egress at the source):

* a pod already isolated for a direction keeps every port it allowed there when a policy is added
  (the union of the selecting policies can only grow);
* a pod the new policy does not select for a direction keeps exactly the same verdict there;
* only a pod *newly* isolated for a direction by the new policy can lose connections in that direction;
* so a connection whose source was not newly egress-isolated and whose destination was not newly
  ingress-isolated is never narrowed by adding a policy.

Examples per property: ``NETPOLSCAN_HYPOTHESIS_PROFILE=thorough`` runs many more than the CI default.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.connlist import connection_rows
from netpolscan.analysis.diff import diff_rows
from netpolscan.analysis.ports import PortSet
from netpolscan.model.inventory import Inventory
from netpolscan.sources.yamlparse import parse_text

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("NETPOLSCAN_HYPOTHESIS_PROFILE", "ci"))

NAMESPACES = ("ns0", "ns1", "ns2")
LABEL_VALUES = {"app": ("a", "b", "c"), "tier": ("x", "y")}
NS_LABEL_VALUES = {"team": ("red", "blue"), "env": ("dev", "prod")}
CONTAINER_PORTS = (
    {"name": "http", "containerPort": 80},
    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
    {"name": "web", "containerPort": 8080},
)
EXTERNAL_PROBES = tuple(ipaddress.ip_address(a) for a in ("10.0.0.5", "10.1.2.3", "192.168.1.1", "8.8.8.8"))


# --- strategies ----------------------------------------------------------------------------------------


def labels(values: dict[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {}, optional={key: st.sampled_from(options) for key, options in values.items()}
    )


def selector(values: dict[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    expression = st.one_of(
        st.builds(
            lambda k, v, op: {"key": k, "operator": op, "values": [v]},
            st.sampled_from(sorted(values)),
            st.sampled_from(sum(values.values(), ())),
            st.sampled_from(["In", "NotIn"]),
        ),
        st.builds(
            lambda k, op: {"key": k, "operator": op},
            st.sampled_from(sorted(values)),
            st.sampled_from(["Exists", "DoesNotExist"]),
        ),
    )
    return st.builds(
        lambda match, exprs: {
            **({"matchLabels": match} if match else {}),
            **({"matchExpressions": exprs} if exprs else {}),
        },
        labels(values),
        st.lists(expression, max_size=2),
    )


@st.composite
def peer(draw: st.DrawFn) -> dict[str, Any]:
    form = draw(st.sampled_from(["pod", "ns", "both", "ip"]))
    if form == "ip":
        cidr = draw(st.sampled_from(["10.0.0.0/8", "10.0.0.0/24", "0.0.0.0/0", "192.168.0.0/16"]))
        block: dict[str, Any] = {"cidr": cidr}
        if cidr in ("10.0.0.0/8", "0.0.0.0/0") and draw(st.booleans()):
            block["except"] = ["10.0.0.0/24"]
        return {"ipBlock": block}
    result: dict[str, Any] = {}
    if form in ("pod", "both"):
        result["podSelector"] = draw(selector(LABEL_VALUES))
    if form in ("ns", "both"):
        result["namespaceSelector"] = draw(selector(NS_LABEL_VALUES))
    return result


port_spec = st.one_of(
    st.builds(lambda p: {"port": p}, st.sampled_from([80, 53, 8080, 443])),
    st.builds(lambda p: {"port": p, "protocol": "UDP"}, st.sampled_from([53, "dns"])),
    st.builds(lambda p: {"port": p}, st.sampled_from(["http", "web", "nothere"])),
    st.builds(lambda p, e: {"port": p, "endPort": p + e}, st.sampled_from([80, 8000]), st.integers(0, 100)),
    st.just({"protocol": "SCTP"}),
)


@st.composite
def rule(draw: st.DrawFn, key: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    peers = draw(st.lists(peer(), max_size=3))
    if peers:
        result[key] = peers
    ports = draw(st.lists(port_spec, max_size=2))
    if ports:
        result["ports"] = ports
    return result


@st.composite
def policy(draw: st.DrawFn, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": draw(selector(LABEL_VALUES))}
    types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    if types is not None:
        spec["policyTypes"] = types
    if types is None or "Ingress" in types:
        if draw(st.booleans()):
            spec["ingress"] = draw(st.lists(rule("from"), max_size=2))
    if types is None or "Egress" in types:
        if draw(st.booleans()):
            spec["egress"] = draw(st.lists(rule("to"), max_size=2))
    namespace = draw(st.sampled_from(NAMESPACES))
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@st.composite
def cluster(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Namespaces with labels, and workloads (Deployments, some Pods with an IP) with labels and ports."""
    documents: list[dict[str, Any]] = []
    for name in NAMESPACES:
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": draw(labels(NS_LABEL_VALUES))},
            }
        )
    count = draw(st.integers(1, 6))
    for i in range(count):
        namespace = draw(st.sampled_from(NAMESPACES))
        pod_labels = draw(labels(LABEL_VALUES))
        ports = draw(st.lists(st.sampled_from(CONTAINER_PORTS), max_size=2, unique_by=lambda p: p["name"]))
        template = {
            "metadata": {"labels": pod_labels},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": ports}]},
        }
        if draw(st.booleans()):
            documents.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"w{i}", "namespace": namespace},
                    "spec": {"template": template},
                }
            )
        else:
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"w{i}", "namespace": namespace, **template["metadata"]},
                "spec": template["spec"],
            }
            pod["status"] = {"podIP": draw(st.sampled_from(["10.0.0.7", "10.2.0.9", "192.168.3.4"]))}
            documents.append(pod)
    return documents


def policies(prefix: str = "p", max_size: int = 4) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.integers(0, max_size).flatmap(
        lambda n: st.tuples(*(policy(f"{prefix}{i}") for i in range(n))).map(list)
    )


# --- helpers -------------------------------------------------------------------------------------------


def inventory(documents: list[dict[str, Any]]) -> Inventory:
    text = "---\n".join(json.dumps(d) + "\n" for d in documents)  # strings stay strings (y, on: YAML 1.1)
    docs = list(parse_text(text, "input.yaml"))
    assert all(d.error is None for d in docs)
    inv = Inventory.from_documents(docs)
    assert len(inv.policies) == sum(d["kind"] == "NetworkPolicy" for d in documents), (
        inv.parsed.invalid
    )  # no vacuous example
    return inv


def connection_map(inv: Inventory) -> dict[tuple[str, str], PortSet]:
    return {(row.src, row.dst): row.ports for row in connection_rows(inv)}


def subset(small: PortSet, big: PortSet) -> bool:
    return not (small - big)


def endpoints(inv: Inventory) -> list[Any]:
    return [*sorted(inv.workloads, key=lambda w: (w.namespace, w.name)), *EXTERNAL_PROBES]


def workload_key(endpoint: Any) -> Any:
    return (endpoint.namespace, endpoint.name) if hasattr(endpoint, "namespace") else endpoint


def verdicts(inv: Inventory) -> dict[tuple[Any, Any, str], tuple[bool, PortSet]]:
    conn = connectivity(inv)
    found = {}
    points = endpoints(inv)
    for src in points:
        for dst in points:
            if src is dst or not (hasattr(src, "namespace") or hasattr(dst, "namespace")):
                continue
            for direction in ("ingress", "egress"):
                verdict = conn.verdict(src, dst, direction)
                found[(workload_key(src), workload_key(dst), direction)] = (verdict.isolated, verdict.ports)
    return found


# --- properties ----------------------------------------------------------------------------------------


@given(cluster(), policies(), policy("added"))
def test_adding_a_policy_is_monotone_per_direction(
    base_cluster: list[dict[str, Any]], existing: list[dict[str, Any]], added: dict[str, Any]
) -> None:
    before_inv = inventory(base_cluster + existing)
    after_inv = inventory(base_cluster + existing + [added])
    before, after = verdicts(before_inv), verdicts(after_inv)
    assert before.keys() == after.keys()
    newly_isolated: set[tuple[Any, str]] = set()
    for (src, dst, direction), (was_isolated, was_ports) in before.items():
        is_isolated, ports = after[(src, dst, direction)]
        owner = dst if direction == "ingress" else src
        assert is_isolated or not was_isolated  # isolation is never lifted
        if was_isolated:  # already isolated: only gains
            assert subset(was_ports, ports), (src, dst, direction, str(was_ports), str(ports))
        elif is_isolated:  # newly isolated: only loses (it allowed everything before)
            newly_isolated.add((owner, direction))
            assert subset(ports, was_ports)
        else:  # not selected for this direction: unchanged
            assert ports == was_ports
    before_pairs, after_pairs = connectivity(before_inv), connectivity(after_inv)
    workloads_before = {workload_key(w): w for w in before_inv.workloads}
    workloads_after = {workload_key(w): w for w in after_inv.workloads}
    for src_key, src in workloads_before.items():
        for dst_key, dst in workloads_before.items():
            if (
                src_key == dst_key
                or (src_key, "egress") in newly_isolated
                or (dst_key, "ingress") in newly_isolated
            ):
                continue
            assert subset(
                before_pairs.allowed(src, dst),
                after_pairs.allowed(workloads_after[src_key], workloads_after[dst_key]),
            )


@given(cluster())
def test_deny_all_allows_nothing(documents: list[dict[str, Any]]) -> None:
    deny = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }
        for ns in NAMESPACES
    ]
    inv = inventory(documents + deny)
    assert list(connectivity(inv).pairs()) == []
    conn = connectivity(inv)
    for workload in inv.workloads:
        for probe in EXTERNAL_PROBES:
            assert not conn.allowed(workload, probe) and not conn.allowed(probe, workload)


@given(cluster(), policies(), st.randoms(use_true_random=False))
def test_connectivity_does_not_depend_on_document_order(
    documents: list[dict[str, Any]], extra: list[dict[str, Any]], rnd: random.Random
) -> None:
    everything = documents + extra
    shuffled = list(everything)
    rnd.shuffle(shuffled)
    assert connection_map(inventory(everything)) == connection_map(inventory(shuffled))


@given(cluster(), policies())
def test_diff_of_an_input_with_itself_is_empty(
    documents: list[dict[str, Any]], extra: list[dict[str, Any]]
) -> None:
    inv = inventory(documents + extra)
    rows = diff_rows(inv, inventory(documents + extra))
    assert all(row.kind == "unchanged" for row in rows)
    assert not any(row.newly_allowed for row in rows)


INVERSE = {"added": "removed", "removed": "added", "changed": "changed", "unchanged": "unchanged"}


@given(cluster(), policies("a"), policies("b"))
def test_diff_is_antisymmetric(
    documents: list[dict[str, Any]], side_a: list[dict[str, Any]], side_b: list[dict[str, Any]]
) -> None:
    a, b = inventory(documents + side_a), inventory(documents + side_b)
    forward = {(r.src, r.dst): (r.kind, r.base, r.head) for r in diff_rows(a, b)}
    backward = {(r.src, r.dst): (r.kind, r.base, r.head) for r in diff_rows(b, a)}
    assert forward.keys() == backward.keys()
    for key, (kind, base, head) in forward.items():
        assert backward[key] == (INVERSE[kind], head, base)


@given(cluster(), policy("multi"), st.sampled_from(["ingress", "egress"]))
def test_a_rule_with_several_peers_equals_the_union_of_one_peer_rules(
    documents: list[dict[str, Any]], multi: dict[str, Any], direction: str
) -> None:
    key = "from" if direction == "ingress" else "to"
    spec = multi["spec"]
    spec.pop("policyTypes", None)
    spec.pop("ingress" if direction == "egress" else "egress", None)
    spec["policyTypes"] = ["Ingress" if direction == "ingress" else "Egress"]
    rules = spec.get(direction) or []
    split_rules = []
    for rule_ in rules:
        peers = rule_.get(key)
        if not peers:
            split_rules.append(rule_)
            continue
        for one in peers:
            split_rules.append({**rule_, key: [one]})
    split = {**multi, "metadata": dict(multi["metadata"]), "spec": {**spec, direction: split_rules}}
    combined_inv = inventory(documents + [multi])
    split_inv = inventory(documents + [split])
    assert len(combined_inv.policies) == len(split_inv.policies) == 1
    assert connection_map(combined_inv) == connection_map(split_inv)
    as_policies = [
        {**multi, "metadata": {**multi["metadata"], "name": f"one{i}"}, "spec": {**spec, direction: [r]}}
        for i, r in enumerate(split_rules)
    ] or [multi]
    assert connection_map(inventory(documents + as_policies)) == connection_map(combined_inv)
