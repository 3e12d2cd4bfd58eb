"""NPS004, NPS103-105, NPS201-203 and NPS304 on real manifests, every finding reviewed by hand.

Reads the peer corpus from ``$NETPOLSCAN_CORPUS`` (default ``../shared/corpus``) and skips when it is absent.
Review notes:

- kube-prometheus: every workload (Deployments, the node-exporter DaemonSet, and the synthetic Alertmanager
  and Prometheus StatefulSets) has its own policy with both policyTypes, so NPS103/104/105 are silent; the
  only ingress rule without `from` is prometheus-adapter's `- {}` (the API aggregation layer must reach it).
  No namespaceSelector, no ipBlock: NPS004, NPS202, NPS203, NPS304 silent.
- Online Boutique: every service has a policy for both directions; `frontend` has `ingress: - {}` (it is
  the public web front end), the one NPS201.
- np-recipes and k8s-e2e: every namespace has a Namespace manifest, so NPS004 is silent (the e2e-021 typo
  `ns2: updated` is NPS503's, not a context problem); the ipBlocks are private pod addresses (e2e-039..041),
  so NPS203 is silent. NPS103/104/105 count the pods and namespaces no policy covers: most e2e cases put
  policies only in namespace x, leaving y and z (3 pods each) open.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path

import pytest

from netpolscan.plugin_api import Finding
from netpolscan.scan import ScanOptions, scan

try:
    from tests.conftest import require_corpus
except ImportError:  # pragma: no cover - run from inside tests/
    from conftest import require_corpus  # type: ignore[no-redef]

RULES = ("NPS004", "NPS103", "NPS104", "NPS105", "NPS201", "NPS202", "NPS203", "NPS304")
COLUMNS = ("NPS103", "NPS104", "NPS105", "NPS201", "NPS202", "NPS304")  # the others are 0 on these cases


def _corpus(*parts: str) -> Path:
    return require_corpus(*parts)


def _scan(*paths: Path) -> list[Finding]:
    return list(scan(ScanOptions(paths=tuple(str(p) for p in paths), select=RULES)).active)


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    return dict(sorted(collections.Counter(f.rule_id for f in findings).items()))


def _row(findings: Sequence[Finding]) -> tuple[int, ...]:
    counts = _counts(findings)
    assert set(counts) <= set(COLUMNS), counts
    return tuple(counts.get(rule_id, 0) for rule_id in COLUMNS)


def _where(finding: Finding) -> tuple[str, int]:
    return Path(finding.location.path).name, finding.location.line


@pytest.mark.parametrize("with_synthetic", [False, True], ids=["manifests", "with-synthetic"])
def test_kube_prometheus(with_synthetic: bool) -> None:
    paths = [_corpus("kube-prometheus", "manifests")]
    if with_synthetic:
        paths.append(_corpus("kube-prometheus", "synthetic"))
    findings = _scan(*paths)
    assert _counts(findings) == {"NPS201": 1}
    [adapter] = findings
    assert _where(adapter) == ("prometheusAdapter-networkPolicy.yaml", 15)
    assert adapter.message.startswith(
        "NetworkPolicy monitoring/prometheus-adapter ingress rule 1 has no `from` peers, so it admits every "
        "source on every port"
    )


def test_online_boutique() -> None:
    findings = _scan(_corpus("microservices-demo", "rendered", "online-boutique-with-network-policies.yaml"))
    assert _counts(findings) == {"NPS201": 1}
    [frontend] = findings
    assert _where(frontend) == ("online-boutique-with-network-policies.yaml", 1082)
    assert frontend.obj is not None and (frontend.obj.namespace, frontend.obj.name) == ("default", "frontend")


# (NPS103, NPS104, NPS105, NPS201, NPS202, NPS304) per scenario, reviewed
NP_RECIPES = {
    "r01": (1, 2, 0, 0, 0, 0),
    "r02": (2, 3, 0, 0, 0, 0),
    "r02a": (2, 3, 1, 1, 0, 0),
    "r03": (1, 3, 1, 0, 0, 0),
    "r04": (1, 3, 1, 0, 0, 0),
    "r05": (2, 3, 1, 0, 1, 0),
    "r06": (3, 4, 2, 0, 0, 0),
    "r07": (4, 5, 1, 0, 0, 0),
    "r07-or": (4, 5, 1, 0, 0, 0),
    "r08": (1, 2, 0, 1, 0, 0),
    "r08-port": (1, 2, 0, 1, 0, 0),
    "r09": (2, 3, 0, 0, 0, 0),
    "r09-named": (2, 3, 0, 0, 0, 0),
    "r10": (5, 6, 0, 0, 0, 0),
    "r11": (3, 2, 1, 0, 0, 0),
    "r11-dns": (3, 2, 1, 0, 0, 0),
    "r12": (4, 2, 2, 0, 0, 0),
    "r14": (3, 2, 1, 0, 0, 0),
    "r14-legacy": (3, 2, 1, 0, 0, 1),
}


@pytest.mark.parametrize("scenario", sorted(NP_RECIPES))
def test_np_recipes(scenario: str) -> None:
    findings = _scan(_corpus("np-recipes", "scenarios", scenario, "manifests.yaml"))
    assert _row(findings) == NP_RECIPES[scenario]


def test_np_recipes_messages() -> None:
    r05 = _scan(_corpus("np-recipes", "scenarios", "r05", "manifests.yaml"))
    [all_namespaces] = [f for f in r05 if f.rule_id == "NPS202"]
    assert all_namespaces.location.line == 89
    assert all_namespaces.message.startswith(
        "NetworkPolicy default/web-allow-all-namespaces ingress rule 1 `from` peer 1 has "
        "`namespaceSelector: {}` without a narrowing podSelector"
    )
    legacy = _scan(_corpus("np-recipes", "scenarios", "r14-legacy", "manifests.yaml"))
    [egress_everywhere] = [f for f in legacy if f.rule_id == "NPS304"]
    assert egress_everywhere.location.line == 99
    assert "foo-deny-external-egress egress rule 2 `to` peer 1" in egress_everywhere.message
    r02a = _scan(_corpus("np-recipes", "scenarios", "r02a", "manifests.yaml"))
    web = next(f for f in r02a if f.rule_id == "NPS104" and f.obj and f.obj.name == "web")
    assert web.message.startswith(
        "Pod default/web is not selected by any NetworkPolicy for egress (NetworkPolicies web-allow-all, "
        "web-deny-all select it for ingress only)"
    )
    r12 = _scan(_corpus("np-recipes", "scenarios", "r12", "manifests.yaml"))
    assert sorted((f.location.line, f.message.split(":")[0]) for f in r12 if f.rule_id == "NPS105") == [
        (8, "namespace foo has 1 workload(s) (Pod test) and no NetworkPolicy at all"),
        (15, "namespace kube-system has 1 workload(s) (Pod kube-dns) and no NetworkPolicy at all"),
    ]


# Cases that differ from the common shape (policies in x isolating all of x for ingress only:
# NPS103 6, NPS104 9, NPS105 2); (NPS103, NPS104, NPS105, NPS201, NPS202, NPS304), reviewed
E2E = {
    "e2e-001": (6, 9, 2, 0, 0, 0),
    "e2e-002": (6, 6, 2, 0, 0, 0),  # default deny both directions in x
    "e2e-003": (8, 9, 2, 0, 0, 0),  # only x/a selected
    "e2e-004": (6, 9, 2, 0, 1, 0),  # allow-all-to-a: `namespaceSelector: {}` peer
    "e2e-005": (8, 9, 2, 0, 1, 0),
    "e2e-006": (8, 9, 2, 0, 0, 0),
    "e2e-007": (8, 9, 2, 0, 0, 0),
    "e2e-008": (8, 9, 2, 0, 0, 0),
    "e2e-009": (8, 9, 2, 0, 0, 0),
    "e2e-010": (8, 9, 2, 0, 0, 0),
    "e2e-011": (8, 9, 2, 0, 0, 0),
    "e2e-012": (8, 9, 2, 0, 0, 0),
    "e2e-013": (8, 9, 2, 0, 0, 0),
    "e2e-014": (8, 9, 2, 0, 0, 0),
    "e2e-015": (8, 9, 2, 0, 0, 0),
    "e2e-016": (6, 9, 2, 1, 0, 0),  # allow-all ingress `- {}`
    "e2e-017": (6, 9, 2, 1, 0, 0),  # no `from`, named port
    "e2e-018": (8, 9, 2, 0, 0, 0),
    "e2e-019": (9, 6, 2, 0, 0, 0),  # egress-only policy on all of x
    "e2e-020": (6, 9, 2, 0, 0, 0),
    "e2e-021": (8, 9, 2, 0, 0, 0),
    "e2e-022": (8, 9, 2, 0, 0, 0),
    "e2e-023": (8, 9, 2, 0, 0, 0),
    "e2e-024": (8, 9, 2, 0, 0, 0),
    "e2e-025": (6, 9, 2, 0, 0, 0),
    "e2e-026": (9, 9, 2, 0, 0, 0),  # the policy selects no pod: nothing is isolated
    "e2e-027": (8, 9, 2, 0, 0, 0),
    "e2e-028": (9, 8, 2, 0, 0, 0),
    "e2e-029": (9, 6, 2, 0, 0, 0),
    "e2e-030": (8, 8, 2, 0, 0, 0),  # both directions on x/a
    "e2e-031": (7, 8, 1, 0, 0, 0),  # policies in x (x/a egress) and y (y/a, y/b ingress); only z has none
    "e2e-032": (9, 8, 2, 0, 0, 0),
    "e2e-033": (8, 9, 2, 1, 0, 0),  # protocol-only port, no `from`
    "e2e-034": (6, 9, 2, 1, 0, 0),
    "e2e-035": (6, 9, 2, 2, 0, 0),  # two policies without `from`
    "e2e-036": (9, 6, 2, 0, 0, 0),
    "e2e-037": (9, 6, 2, 0, 0, 0),
    "e2e-038": (9, 9, 3, 0, 0, 0),  # no policies at all
    "e2e-039": (9, 8, 2, 0, 0, 0),  # ipBlock of a pod IP (private): not NPS203
    "e2e-040": (9, 8, 2, 0, 0, 0),
    "e2e-041": (9, 8, 2, 0, 0, 0),
    "e2e-042": (9, 8, 2, 0, 0, 0),
    "e2e-043": (8, 8, 2, 0, 0, 0),
    "e2e-044": (6, 9, 2, 1, 0, 0),  # SCTP-only, no `from`
    "e2e-045": (8, 9, 2, 1, 0, 0),
    "e2e-046": (8, 9, 2, 1, 0, 0),
    "e2e-047": (9, 8, 2, 0, 0, 0),  # NotIn on the name label: no NPS004
    "e2e-048": (8, 9, 2, 0, 0, 0),
    "e2e-049": (8, 9, 2, 0, 0, 0),
}


@pytest.mark.parametrize("case", sorted(E2E))
def test_k8s_e2e(case: str) -> None:
    findings = _scan(_corpus("k8s-e2e", "cases", case, "manifests.yaml"))
    assert _row(findings) == E2E[case]


def test_k8s_e2e_covers_every_case() -> None:
    cases = _corpus("k8s-e2e", "cases")
    assert sorted(p.name for p in cases.iterdir() if (p / "manifests.yaml").is_file()) == sorted(E2E)


def test_k8s_e2e_messages() -> None:
    sctp = _scan(_corpus("k8s-e2e", "cases", "e2e-044", "manifests.yaml"))
    [rule] = [f for f in sctp if f.rule_id == "NPS201"]
    assert rule.location.line == 507
    assert "x/allow-only-sctp-ingress-on-port-81 ingress rule 1" in rule.message and "81/SCTP" in rule.message
    empty = _scan(_corpus("k8s-e2e", "cases", "e2e-038", "manifests.yaml"))
    assert sorted(f.location.line for f in empty if f.rule_id == "NPS105") == [1, 9, 17]
    assert {f.obj.name for f in empty if f.rule_id == "NPS105" and f.obj} == {"x", "y", "z"}
