"""NPS5xx beyond their documented examples: the conservative edges (what the input lacks) and pointers."""

from __future__ import annotations

from netpolscan.testing import run_example

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  containers:
  - name: c
    image: example/app:1
    ports:
    - {{name: http, containerPort: 8080}}
"""


def pod(name: str, ns: str = "shop") -> str:
    return POD.format(name=name, ns=ns)


def policy(body: str, name: str = "p", ns: str = "shop") -> str:
    head = f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n"
    return head + "\n".join("  " + line for line in body.strip("\n").splitlines()) + "\n"


def docs(*parts: str) -> str:
    return "---\n".join(parts)


def lines(findings: list) -> list[tuple[str, int]]:
    return [(f.rule_id, f.location.line) for f in findings]


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based number of the ``nth`` line containing ``needle``."""
    return [i for i, line in enumerate(text.splitlines(), start=1) if needle in line][nth]


EGRESS_LOCK = "podSelector: {}\npolicyTypes: [Egress]\negress:\n"


def test_nps501_dns_peer_in_own_namespace_selects_nothing_so_dns_is_blocked() -> None:
    text = docs(
        pod("web"),
        policy(
            EGRESS_LOCK + "- to:\n  - podSelector: {matchLabels: {k8s-app: kube-dns}}\n"
            "  ports:\n  - {protocol: UDP, port: 53}\n"
        ),
    )
    found = run_example(text, ["NPS501"])
    assert lines(found) == [("NPS501", 1)]  # the Pod's first line
    assert "Pod shop/web" in found[0].message and "NetworkPolicy p" in found[0].message


def test_nps501_silent_for_named_udp_port_to_everyone_and_for_ipblock_dns() -> None:
    named = docs(pod("web"), policy(EGRESS_LOCK + "- ports:\n  - {protocol: UDP, port: dns}\n"))
    assert run_example(named, ["NPS501"]) == []
    block = docs(
        pod("web"),
        policy(
            EGRESS_LOCK + "- to:\n  - ipBlock: {cidr: 10.0.0.10/32}\n"
            "  ports:\n  - {protocol: UDP, port: 53}\n"
        ),
    )
    assert run_example(block, ["NPS501"]) == []


def test_nps501_not_isolated_workloads_are_silent() -> None:
    text = docs(pod("web"), policy("podSelector: {}\npolicyTypes: [Ingress]\n"))
    assert run_example(text, ["NPS501"]) == []


SERVICE_FOR_ABSENT_PODS = """apiVersion: v1
kind: Service
metadata:
  name: prometheus
  namespace: shop
spec:
  selector: {app: prometheus}
  ports:
  - port: 9090
"""


def test_incomplete_namespace_silences_nothing_claims() -> None:
    # a Service selects pods the input lacks (an operator creates them): the namespace's pods are incomplete
    text = docs(
        pod("web"),
        SERVICE_FOR_ABSENT_PODS,
        policy("podSelector: {matchLabels: {app: prometheus}}\npolicyTypes: [Ingress]\n", name="prom"),
        policy(
            "podSelector: {}\npolicyTypes: [Ingress]\ningress:\n- from:\n"
            "  - podSelector: {matchLabels: {app: prometheus}}\n  ports:\n  - {port: metrics}\n",
            name="scrape",
        ),
    )
    assert run_example(text, ["NPS502", "NPS503", "NPS504", "NPS509"]) == []
    without = text.replace(SERVICE_FOR_ABSENT_PODS, pod("other"))
    assert sorted(f.rule_id for f in run_example(without, ["NPS502", "NPS503", "NPS504"])) == [
        "NPS502",
        "NPS503",
        "NPS504",
    ]


def test_nps503_unknown_namespaces_and_ipblocks_are_never_reported() -> None:
    text = docs(
        pod("web"),
        policy(
            "podSelector: {}\npolicyTypes: [Ingress]\ningress:\n- from:\n"
            "  - namespaceSelector: {matchLabels: {team: nobody}}\n"
            "  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ghost}}\n"
            "    podSelector: {matchLabels: {app: nope}}\n"
            "  - ipBlock: {cidr: 192.0.2.0/24}\n"
        ),
    )
    assert run_example(text, ["NPS503"]) == []


def test_nps503_points_at_each_peer() -> None:
    text = docs(
        pod("web"),
        policy(
            "podSelector: {}\npolicyTypes: [Ingress, Egress]\ningress:\n- from:\n"
            "  - podSelector: {matchLabels: {app: wbe}}\n"
            "  - podSelector: {matchLabels: {app: web}}\n"
            "egress:\n- to:\n  - podSelector: {matchLabels: {app: db}}\n"
        ),
    )
    found = run_example(text, ["NPS503"])
    assert lines(found) == [("NPS503", line_of(text, "app: wbe")), ("NPS503", line_of(text, "app: db"))]
    assert "egress rule 1 `to` peer 1" in found[1].message


def test_nps504_silent_without_pods_to_resolve_on() -> None:
    no_selected = docs(
        pod("web"),
        policy(
            "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]\n"
            "ingress:\n- ports:\n  - {port: postgres}\n"
        ),
    )
    assert run_example(no_selected, ["NPS504"]) == []
    everyone = docs(pod("web"), policy(EGRESS_LOCK + "- ports:\n  - {port: postgres}\n"))
    assert run_example(everyone, ["NPS504"]) == []


def test_nps504_points_at_the_port_key() -> None:
    text = docs(
        pod("web"),
        policy(
            "podSelector: {}\npolicyTypes: [Ingress]\ningress:\n- ports:\n"
            "  - protocol: TCP\n    port: htp\n  - {port: http}\n"
        ),
    )
    assert lines(run_example(text, ["NPS504"])) == [("NPS504", line_of(text, "port: htp"))]


def test_nps505_empty_lists_and_defaulted_types_are_silent() -> None:
    empty = policy("podSelector: {}\npolicyTypes: [Egress]\ningress: []\negress: []\n")
    assert run_example(empty, ["NPS505"]) == []
    both = policy("podSelector: {}\npolicyTypes: [Egress]\ningress:\n- {}\negress:\n- {}\n")
    found = run_example(both, ["NPS505"])
    assert lines(found) == [("NPS505", line_of(both, "ingress:"))]
    assert "omit Ingress" in found[0].message


def test_nps506_ipblock_and_empty_pod_selector_peers_are_not_the_slip() -> None:
    text = policy(
        "podSelector: {}\npolicyTypes: [Ingress]\ningress:\n- from:\n"
        "  - namespaceSelector: {matchLabels: {team: a}}\n  - ipBlock: {cidr: 10.0.0.0/8}\n"
        "- from:\n  - namespaceSelector: {}\n  - podSelector: {}\n"
    )
    assert run_example(text, ["NPS506"]) == []


def test_nps507_except_holes_strings_and_ipv6() -> None:
    settings = {"settings": {"podCIDRs": ["10.244.0.0/16", "fd00:10::/48"], "serviceCIDRs": ["10.96.0.0/12"]}}
    holed = policy(
        EGRESS_LOCK + "- to:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.96.0.0/11, 10.244.0.0/16]}\n"
    )
    assert run_example(holed, ["NPS507"], settings) == []
    inside = policy(
        EGRESS_LOCK + "- to:\n  - ipBlock: {cidr: 10.244.3.0/24}\n"
        "  - ipBlock: {cidr: 'fd00:10::/64'}\n  - ipBlock: {cidr: 192.168.0.0/16}\n"
    )
    found = run_example(inside, ["NPS507"], settings)
    assert lines(found) == [("NPS507", line_of(inside, "10.244.3.0")), ("NPS507", line_of(inside, "fd00"))]
    assert "pod CIDR 10.244.0.0/16" in found[0].message
    partly = policy(EGRESS_LOCK + "- to:\n  - ipBlock: {cidr: 10.96.0.0/11, except: [10.96.0.0/12]}\n")
    assert run_example(partly, ["NPS507"], settings) == []


def test_nps508_names_the_host_network_workloads() -> None:
    host = pod("agent").replace("spec:\n", "spec:\n  hostNetwork: true\n", 1)
    text = docs(host, pod("web"), policy("podSelector: {}\npolicyTypes: [Ingress]\n"))
    found = run_example(text, ["NPS508"])
    assert lines(found) == [("NPS508", line_of(text, "apiVersion: networking"))]
    assert "Pod shop/agent" in found[0].message and "web" not in found[0].message


SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {role: web}
  ports:
  - name: http
    port: 80
    targetPort: http
"""


def test_nps509_needs_every_backend_blocked() -> None:
    a = pod("a").replace("app: a", "app: a, role: web")
    b = pod("b").replace("app: b", "app: b, role: web")
    deny_a = policy("podSelector: {matchLabels: {app: a}}\npolicyTypes: [Ingress]\n")
    assert run_example(docs(a, b, SERVICE, deny_a), ["NPS509"]) == []
    deny_all = policy("podSelector: {}\npolicyTypes: [Ingress]\n")
    text = docs(a, b, SERVICE, deny_all)
    found = run_example(text, ["NPS509"])
    assert lines(found) == [("NPS509", line_of(text, "- name: http"))]
    assert "Service shop/web port 80 (http) targets 8080/TCP" in found[0].message


CILIUM_FROM_API = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-from-api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {role: web}}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: api}
    toPorts:
    - ports:
      - {port: "8080", protocol: TCP}
"""


def test_nps509_reads_the_effective_verdict_of_every_kind() -> None:
    """A Cilium policy admitting the target port opens a Service that a NetworkPolicy alone would close;
    a Cilium policy that admits another port closes it, and the message names it."""
    web = pod("web").replace("app: web", "app: web, role: web")
    deny_all = policy("podSelector: {}\npolicyTypes: [Ingress]\n")
    assert run_example(docs(web, pod("api"), SERVICE, deny_all, CILIUM_FROM_API), ["NPS509"]) == []
    other_port = CILIUM_FROM_API.replace('port: "8080"', 'port: "9090"')
    text = docs(web, pod("api"), SERVICE, other_port)
    found = run_example(text, ["NPS509"])
    assert lines(found) == [("NPS509", line_of(text, "- name: http"))]
    assert "CiliumNetworkPolicy web-from-api isolate(s) for ingress" in found[0].message


def test_nps509_names_a_default_deny_of_another_kind_that_has_no_rule() -> None:
    """A Calico global default deny (no rules at all) closes the Service: the message names it."""
    web = pod("web").replace("app: web", "app: web, role: web")
    global_deny = (
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: default-deny}\n"
        "spec:\n  selector: all()\n  types: [Ingress]\n"
    )
    [finding] = run_example(docs(web, SERVICE, global_deny), ["NPS509"])
    assert "which GlobalNetworkPolicy default-deny isolate(s) for ingress" in finding.message
