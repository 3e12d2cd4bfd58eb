"""NPS601/NPS602: exact on what the input shows, conservative on what it lacks, one report per duplicate."""

from __future__ import annotations

from netpolscan.testing import run_example
from tests.test_rules_correctness import docs, line_of, lines, pod, policy

RULES = ["NPS601", "NPS602"]
INGRESS = "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress]\ningress:\n"


def test_identical_rules_report_only_the_later_one() -> None:
    rule = "- from:\n  - podSelector: {matchLabels: {app: client}}\n  ports:\n  - {port: 8080}\n"
    text = docs(pod("web"), pod("client"), policy(INGRESS + rule + rule.replace("- from:", "- from:  # second")))
    found = run_example(text, RULES)
    assert lines(found) == [("NPS601", line_of(text, "# second"))]
    assert "NetworkPolicy shop/p ingress rule 2" in found[0].message and "covered by rule 1" in found[0].message


def test_identical_policies_report_the_later_policy_and_not_its_rules() -> None:
    body = INGRESS + "- from:\n  - podSelector: {matchLabels: {app: client}}\n"
    text = docs(pod("web"), pod("client"), policy(body, name="first"), policy(body, name="second"))
    found = run_example(text, RULES)
    assert lines(found) == [("NPS602", line_of(text, "apiVersion: networking", 1))]
    assert "shop/second adds nothing" in found[0].message and "shop/first" in found[0].message


def test_ipv6_ipblock_is_not_covered_by_ipv4_rules() -> None:
    text = docs(pod("web"), policy(INGRESS + "- from:\n  - ipBlock: {cidr: 0.0.0.0/0}\n"
                                   "- from:\n  - ipBlock: {cidr: '2001:db8::/32'}\n"))
    assert run_example(text, RULES) == []
    wider = text.replace("{cidr: 0.0.0.0/0}", "{cidr: '2001::/16'}")
    assert lines(run_example(wider, RULES)) == [("NPS601", line_of(wider, "2001:db8::/32") - 1)]


def test_unscanned_namespace_peer_needs_a_peer_saying_as_much() -> None:
    peer = "  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}\n"
    text = docs(pod("web"), policy(INGRESS + "- from:\n" + peer + "  ports:\n  - {port: 9090}\n"
                                   "- from:\n" + peer))
    found = run_example(text, RULES)
    assert lines(found) == [("NPS601", line_of(text, "- from:"))]
    only_pods = docs(pod("web"), policy(INGRESS + "- from:\n" + peer + "  ports:\n  - {port: 9090}\n"
                                        "- from:\n  - namespaceSelector: {}\n    podSelector: {matchLabels: {a: b}}\n"))
    assert run_example(only_pods, RULES) == []


def test_rule_without_from_is_only_covered_by_another_such_rule() -> None:
    text = docs(pod("web"), pod("client"), policy(INGRESS + "- ports:\n  - {port: 80}\n"
                                                  "- from:\n  - namespaceSelector: {}\n  - ipBlock: {cidr: 0.0.0.0/0}\n"))
    assert run_example(text, RULES) == []


def test_narrower_policy_does_not_make_a_default_deny_redundant() -> None:
    deny = policy("podSelector: {}\npolicyTypes: [Ingress, Egress]\n", name="deny")
    narrow = policy("podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress, Egress]\n", name="web-deny")
    found = run_example(docs(pod("web"), deny, narrow), RULES)
    assert [f.message.split(" adds")[0] for f in found] == ["NetworkPolicy shop/web-deny"]


def test_named_port_covered_by_its_number_on_the_selected_pods() -> None:
    text = docs(pod("web"), pod("client"), policy(INGRESS + "- ports:\n  - {port: 8080}\n"
                                                  "- from:\n  - podSelector: {}\n  ports:\n  - {port: http}\n"))
    assert lines(run_example(text, RULES)) == [("NPS601", line_of(text, "- from:"))]


def test_rules_that_allow_nothing_are_left_to_other_rules() -> None:
    text = docs(pod("web"), policy(INGRESS + "- from:\n  - podSelector: {matchLabels: {app: typo}}\n"))
    assert run_example(text, RULES) == []
