"""NPS201-203 beyond their documented examples: edge cases of peers, ports and public address space."""

from __future__ import annotations

import ipaddress

import pytest

from netpolscan.builtin.ingress_rules import public_ranges
from netpolscan.model.objects import IPBlock
from netpolscan.testing import run_example

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
{spec}"""


def _run(spec: str, rule: str) -> list[tuple[int, str]]:
    return [(f.location.line, f.message) for f in run_example(POLICY.format(spec=spec), [rule])]


def _block(cidr: str, *excepts: str) -> IPBlock:
    return IPBlock(ipaddress.ip_network(cidr), tuple(ipaddress.ip_network(e) for e in excepts))


# --- NPS201 ------------------------------------------------------------------------------------------

def test_rule_with_ports_but_no_from_fires_and_names_the_ports() -> None:
    spec = "  ingress:\n  - ports:\n    - port: 8080\n    - protocol: UDP\n      port: 53\n"
    [(line, message)] = _run(spec, "NPS201")
    assert line == 11
    assert "NetworkPolicy shop/web ingress rule 1" in message and "8080/TCP, 53/UDP" in message


def test_rule_with_peers_is_not_from_anywhere() -> None:
    spec = "  ingress:\n  - from:\n    - podSelector: {}\n"
    assert _run(spec, "NPS201") == []


def test_ingress_rules_ignored_by_policy_types_do_not_fire() -> None:
    spec = "  policyTypes: [Egress]\n  ingress:\n  - {}\n  egress:\n  - to:\n    - podSelector: {}\n"
    assert _run(spec, "NPS201") == []


def test_only_the_rule_without_from_fires() -> None:
    spec = "  ingress:\n  - from:\n    - podSelector: {}\n  - from: []\n    ports:\n    - port: 443\n"
    [(line, message)] = _run(spec, "NPS201")
    assert line == 13 and "ingress rule 2" in message and "443/TCP" in message


# --- NPS202 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("peer", "fires"),
    [
        ("    - namespaceSelector: {}\n", True),
        ("    - namespaceSelector: {}\n      podSelector: {}\n", True),
        ("    - namespaceSelector: {}\n      podSelector:\n        matchLabels:\n          app: p\n", False),
        ("    - namespaceSelector:\n        matchLabels:\n          team: a\n", False),
        ("    - podSelector: {}\n", False),
        (
            "    - namespaceSelector: {}\n      podSelector:\n        matchExpressions:\n"
            "        - {key: app, operator: Exists}\n",
            False,
        ),
    ],
    ids=["ns-empty", "ns-and-pod-empty", "narrowed", "labelled-ns", "own-namespace", "narrowed-by-expr"],
)
def test_all_namespaces_peer(peer: str, fires: bool) -> None:
    spec = f"  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n{peer}"
    found = _run(spec, "NPS202")
    assert [line for line, _ in found] == ([14] if fires else [])
    if fires:
        assert "`from` peer 2" in found[0][1] and "every port" in found[0][1]


def test_egress_all_namespaces_is_not_nps202() -> None:
    spec = "  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {}\n"
    assert _run(spec, "NPS202") == []


# --- NPS203 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "block",
    [
        _block("10.0.0.0/8"),
        _block("172.16.0.0/12"),
        _block("192.168.0.0/16"),
        _block("100.64.0.0/10"),
        _block("127.0.0.0/8"),
        _block("169.254.169.254/32"),
        _block("fc00::/7"),
        _block("fe80::/10"),
        _block("::1/128"),
        _block("2001:db8::/32"),
        _block("0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1"),
        _block("8.8.8.0/24", "8.8.8.0/24"),
        _block("::/0", "2000::/3"),
    ],
    ids=str,
)
def test_non_public_blocks(block: IPBlock) -> None:
    assert public_ranges(block) == []


@pytest.mark.parametrize(
    ("block", "count"),
    [
        (_block("8.8.8.8/32"), 1),
        (_block("8.8.8.0/24", "8.8.8.0/25"), 128),
        (_block("0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), None),
        (_block("2a00:1450::/32"), None),
        (_block("::/0"), None),
    ],
    ids=lambda v: str(v),
)
def test_public_blocks(block: IPBlock, count: int | None) -> None:
    ranges = public_ranges(block)
    assert ranges
    if count is not None:
        assert sum(hi - lo + 1 for lo, hi in ranges) == count


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "10.1.2.3", "172.31.255.255", "192.168.1.1", "100.100.1.1",
     "127.0.0.1", "169.254.169.254", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1",
     "2a00:1450:4001::1", "2001:db8::1", "fd12::1", "fe80::1"],
)
def test_public_space_agrees_with_the_standard_library(address: str) -> None:
    ip = ipaddress.ip_address(address)
    block = IPBlock(ipaddress.ip_network(f"{address}/{ip.max_prefixlen}"))
    assert bool(public_ranges(block)) == ip.is_global


def test_nps203_messages_say_how_much_is_public() -> None:
    spec = (
        "  ingress:\n  - from:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [10.0.0.0/8]\n"
        "    - ipBlock:\n        cidr: 203.0.113.0/24\n    - ipBlock:\n        cidr: 8.8.8.8/32\n"
        "    ports:\n    - port: 443\n"
    )
    found = _run(spec, "NPS203")
    assert [line for line, _ in found] == [12, 17]
    assert "0.0.0.0/0 except 10.0.0.0/8, which covers every public IPv4 address, on 443/TCP" in found[0][1]
    assert "1 public IPv4 address (8.8.8.8)" in found[1][1]


def test_nps203_ignores_egress_blocks() -> None:
    spec = "  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n"
    assert _run(spec, "NPS203") == []


# --- NPS304, the egress twin of NPS202 -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("peer", "fires"),
    [
        ("    - namespaceSelector: {}\n", True),
        ("    - namespaceSelector: {}\n      podSelector: {}\n", True),
        ("    - namespaceSelector: {}\n      podSelector:\n        matchLabels:\n          k: dns\n", False),
        ("    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: d\n", False),
    ],
    ids=["ns-empty", "ns-and-pod-empty", "narrowed", "named"],
)
def test_egress_all_namespaces_peer(peer: str, fires: bool) -> None:
    spec = f"  policyTypes: [Egress]\n  egress:\n  - to:\n{peer}    ports:\n    - port: 5432\n"
    found = _run(spec, "NPS304")
    assert [line for line, _ in found] == ([13] if fires else [])
    if fires:
        assert "egress rule 1 `to` peer 1" in found[0][1] and "on 5432/TCP" in found[0][1]


def test_egress_rules_ignored_by_policy_types_are_not_nps304() -> None:
    spec = "  policyTypes: [Ingress]\n  egress:\n  - to:\n    - namespaceSelector: {}\n"
    assert _run(spec, "NPS304") == []
