"""Conformance with network-config-analyzer's (NCA) Calico test schemes.

Every query of NCA's Calico schemes (``tests/calico_testcases`` and ``tests/fw_rules_tests/policies/
calico-*``, read from the peer corpus at test time) whose answer follows from the allowed connections is
recomputed from netpolscan's engine (``Inventory.from_documents(docs, kinds=builtin_kinds())`` and
``connectivity(inventory).allowed(src, dst)``):

- ``connectivityMap`` with a golden file: NCA's firewall rules expanded over the same pods and external
  address segments, compared cell by cell (TCP, UDP and SCTP ports);
- ``equivalence``, ``containment``, ``twoWayContainment``, ``vacuity``, ``redundancy``, ``emptiness`` and ``sanity``
  (conflicting orders, vacuity, policies and rule sides that select nothing, redundancy): NCA's numeric
  answer, with NCA's definitions (see ``tests/nca_calico.py``).

HostEndpoints are read by NCA as peers; netpolscan does not model host traffic (NPS006), so cells of
HostEndpoints are left out of the comparison. Queries about other layers (Istio, Ingress) or about
non-connectivity properties (disjointness of captured pods, interference) are
skipped with the reason. A deliberate disagreement with NCA is a strict xfail that gives the API reasoning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_path, require_corpus
from tests.nca_calico import (
    Config,
    Scheme,
    Table,
    contained,
    emptiness,
    equivalent,
    expand,
    fw_sections,
    redundancies,
    sanity,
    two_way,
    vacuous,
)

NCA = "network-config-analyzer"
SCHEME_GLOBS = (
    "tests/calico_testcases/example_policies/**/*scheme*.yaml",
    "tests/fw_rules_tests/policies/calico-*-scheme.yaml",
)
COMPUTED = {
    "connectivityMap",
    "equivalence",
    "containment",
    "twoWayContainment",
    "vacuity",
    "redundancy",
    "sanity",
}
NOT_CONNECTIVITY = {
    "disjointness": "counts pairs of policies whose captured pods overlap: not a connectivity property",
    "interferes": "compares 'explicitly allowed' (captured) connections, an NCA notion",
    "pairwiseInterferes": "compares 'explicitly allowed' (captured) connections, an NCA notion",
    "permits": "compares 'explicitly allowed' (captured) connections, an NCA notion",
    "forbids": "compares 'explicitly allowed' (captured) connections, an NCA notion",
    "allCaptured": "counts pods no policy captures, an NCA notion",
    "semanticDiff": "a text report of categories",
    "strongEquivalence": "compares policy by policy",
}

ORDER_TIES = (
    "policies without an order: Calico applies them after every ordered one, sorted by name (felix sorts by "
    "order, then name); NCA keeps the input order, so a Deny of an alphabetically earlier policy wins here"
)
ICMP = (
    "ICMP is not modelled (connections are TCP, UDP and SCTP ports): the configs differ only in ICMP, and a "
    "rule that matches only ICMP is redundant at TCP/UDP/SCTP"
)
SOURCE_PORTS = (
    "source ports are not modelled (NPS006): a rule with source ports is checked as if it matched every "
    "source port, so configs that differ only in source ports look equivalent"
)
POD_ADDRESSES = (
    "Calico matches nets/notNets against every address, pod IPs included: 0.0.0.0/0 holds every pod, a smaller "
    "CIDR only the pods whose IP the input gives (0.0.0.0/1 plus 128.0.0.0/1 does not cover a pod without a "
    "known IP, and a notNets rule keeps it); NCA lets CIDR rules match external addresses only"
)
IPV6 = "the external address space is IPv4: IPv6 CIDRs are not compared"
STRAY_QUOTE = (
    "Calico rejects the namespaceSelector `unique-label == 'cnc-ntsginNameSpace''` (a stray quote after the "
    "string does not parse): the policy is NPS002 and takes no part, while NCA's parser reads past the quote"
)
HOST_ENDPOINTS = (
    "the configs differ only in what HostEndpoints send or receive: host traffic is not modelled (NPS006), "
    "pods and external addresses are compared"
)

# (scheme file name, query index) -> the reasoning for disagreeing with NCA
DISAGREEMENTS: dict[tuple[str, int], str] = {
    ("testcase13-scheme.yaml", 6): ICMP,
    ("testcase14-scheme.yaml", 3): ICMP,
    ("testcase14-scheme.yaml", 4): ICMP,
    ("testcase14-scheme.yaml", 5): ICMP,
    ("testcase14-scheme.yaml", 6): ICMP,
    ("testcase14-scheme.yaml", 8): ICMP,
    ("testcase14-scheme.yaml", 10): ICMP,
    ("testcase15-scheme.yaml", 1): ORDER_TIES,
    ("testcase15-scheme.yaml", 18): SOURCE_PORTS,
    ("testcase15-scheme.yaml", 21): SOURCE_PORTS,
    ("testcase16-scheme.yaml", 0): IPV6,
    ("testcase16-scheme.yaml", 2): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 3): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 4): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 5): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 15): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 16): POD_ADDRESSES,
    ("testcase16-scheme.yaml", 9): IPV6,
    ("testcase18-scheme.yaml", 0): ORDER_TIES,
    ("testscase18-new-scheme.yaml", 0): HOST_ENDPOINTS,
    ("testscase18-new-scheme.yaml", 1): HOST_ENDPOINTS,
    ("testscase18-new-scheme.yaml", 3): HOST_ENDPOINTS,
    ("testscase18-new-scheme.yaml", 6): HOST_ENDPOINTS,
    ("testscase18-new-scheme.yaml", 9): HOST_ENDPOINTS,
    ("testscase18-new-scheme.yaml", 10): HOST_ENDPOINTS,
    ("sanity3-scheme.yaml", 0): STRAY_QUOTE,
    ("testcase20-scheme.yaml", 6): HOST_ENDPOINTS,
    ("testcase20-scheme.yaml", 7): HOST_ENDPOINTS,
    ("testcase24-scheme.yaml", 2): HOST_ENDPOINTS,
    ("testcase26-multi-layer-vacuity-scheme.yaml", 2): HOST_ENDPOINTS,
}


def _queries() -> list[Any]:
    root = corpus_path()
    if root is None or not (root / NCA).is_dir():
        return [pytest.param(None, None, id="corpus-missing")]
    params = []
    for pattern in SCHEME_GLOBS:
        for path in sorted((root / NCA).glob(pattern)):
            scheme = Scheme(path)
            for index, query in scheme.queries():
                qtype = next(
                    k
                    for k in query
                    if k
                    not in (
                        "name",
                        "expected",
                        "expectedOutput",
                        "outputConfiguration",
                        "expectedNotExecuted",
                    )
                )
                reason = DISAGREEMENTS.get((path.name, index))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(
                    pytest.param(
                        path.relative_to(root / NCA).as_posix(),
                        index,
                        id=f"{path.stem}:{index}:{query.get('name')}:{qtype}",
                        marks=marks,
                    )
                )
    return params


_SCHEMES: dict[Path, Scheme] = {}


def _scheme(path: Path) -> Scheme:
    """One Scheme per file for the session: its configs and their connection tables are shared by queries."""
    if path not in _SCHEMES:
        _SCHEMES[path] = Scheme(path)
    return _SCHEMES[path]


def _skip_unless_comparable(configs: list[Config]) -> None:
    for config in configs:
        if config.expected_error:
            pytest.skip(f"config {config.name} is expected to fail parsing in NCA")
        if config.other_layers:
            pytest.skip(f"config {config.name} has other layers: {sorted(config.other_layers)}")
    if not any(config.involves_calico for config in configs):
        pytest.skip("no Calico object in the query's configs")


@pytest.mark.parametrize(("scheme_file", "index"), _queries())
def test_nca_calico_query(scheme_file: str | None, index: int | None) -> None:
    require_corpus(NCA)
    assert scheme_file is not None and index is not None
    root = corpus_path()
    assert root is not None
    scheme = _scheme(root / NCA / scheme_file)
    query = scheme.data["queries"][index]
    qtype = next(
        k
        for k in query
        if k not in ("name", "expected", "expectedOutput", "outputConfiguration", "expectedNotExecuted")
    )
    if qtype in NOT_CONNECTIVITY:
        pytest.skip(f"{qtype}: {NOT_CONNECTIVITY[qtype]}")
    configs = [scheme.config(name) for name in query[qtype]]
    _skip_unless_comparable(configs)
    if qtype == "connectivityMap":
        _check_connectivity_map(scheme, query, configs)
        return
    expected = query.get("expected")
    if expected is None:
        pytest.skip("the query states no expected number")
    assert _numeric(qtype, configs) == expected


def _numeric(qtype: str, configs: list[Config]) -> int:
    if qtype == "equivalence":
        return sum(
            not equivalent(configs[i], configs[j])
            for i in range(len(configs))
            for j in range(i + 1, len(configs))
        )
    if qtype == "twoWayContainment":
        return sum(
            two_way(configs[i], configs[j]) for i in range(len(configs)) for j in range(i + 1, len(configs))
        )
    if qtype == "containment":
        return sum(contained(config, configs[0]) for config in configs[1:])
    if qtype == "vacuity":
        return sum(vacuous(config) for config in configs)
    if qtype == "redundancy":
        return sum(redundancies(config) for config in configs)
    if qtype == "emptiness":
        return sum(emptiness(config) for config in configs)
    if qtype == "sanity":
        for config in configs:
            if any(d.kind == "Profile" for d in config.policies):
                pytest.skip(f"{config.name} has Profiles, which NCA counts as policies of its own")
        return sum(sanity(config) for config in configs)
    raise AssertionError(qtype)


def _check_connectivity_map(scheme: Scheme, query: dict[str, Any], configs: list[Config]) -> None:
    golden = query.get("expectedOutput")
    if not golden or not str(golden).endswith(".txt"):
        # the same query is also written in other formats; the txt one is compared
        pytest.skip("no txt golden output for this connectivity map")
    text = (scheme.path.parent / golden).read_text(encoding="utf-8")
    sections = fw_sections(text)
    for config in configs:
        rules = sections.get(config.name)
        if rules is None:
            rules = next(
                (r for name, r in sections.items() if name.endswith(config.name.split("/")[-1])), None
            )
        assert rules is not None, f"no section for {config.name} in {golden}"
        if any(rule.unmodelled for rule in rules):
            pytest.skip(f"{golden} names source ports or L7 attributes")
        extra = [ip for rule in rules for ip in (*(rule.src_ips or ()), *(rule.dst_ips or ()))]
        table = Table.of(config, extra)
        expected = expand(rules, table)
        wrong = [
            f"{src} -> {dst}: netpolscan {table.cells[(src, dst)]}, NCA {ports}"
            for (src, dst), ports in expected.items()
            if table.cells[(src, dst)] != ports
        ]
        assert not wrong, f"{config.name}: {len(wrong)} cells differ, e.g.\n" + "\n".join(wrong[:8])


def test_corpus_has_calico_schemes() -> None:
    root = require_corpus(NCA)
    assert len(list(Path(root).glob(SCHEME_GLOBS[0]))) >= 40
