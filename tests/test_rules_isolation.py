"""NPS103-105 beyond their documented examples: owners, kinds, defaulted policyTypes, anchors."""

from __future__ import annotations

from netpolscan.testing import run_example


def _deployment(name: str, namespace: str = "default", labels: str = "app: web") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector:
    matchLabels:
      {labels}
  template:
    metadata:
      labels:
        {labels}
    spec:
      containers:
      - name: c
        image: c
"""


def _findings(text: str, rule: str) -> list[tuple[int, str]]:
    return [(f.location.line, f.message) for f in run_example(text, [rule])]


REPLICASET_OF_WEB = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: default
  ownerReferences:
  - apiVersion: apps/v1
    kind: Deployment
    name: web
    uid: 1
    controller: true
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: c
"""


def test_owned_workloads_are_reported_once_on_their_owner() -> None:
    text = _deployment("web") + "---\n" + REPLICASET_OF_WEB
    found = _findings(text, "NPS103")
    assert [line for line, _ in found] == [1]
    assert found[0][1].startswith("Deployment default/web is not selected by any NetworkPolicy for ingress:")


def test_owned_workload_whose_owner_is_absent_is_reported() -> None:
    found = _findings(REPLICASET_OF_WEB, "NPS104")
    assert [line for line, _ in found] == [1]
    assert found[0][1].startswith("ReplicaSet default/web-5d8f is not selected by any NetworkPolicy")


def test_cronjob_is_judged_by_its_pod_template_labels() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: jobs
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: job
  policyTypes: [Ingress, Egress]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: default
  labels:
    app: other
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata:
          labels:
            app: job
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: c
"""
    assert _findings(text, "NPS103") == []
    assert _findings(text, "NPS104") == []


def test_policy_without_policy_types_and_without_egress_rules_does_not_isolate_egress() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: all
  namespace: default
spec:
  podSelector: {}
  egress: []
---
""" + _deployment("web")
    assert _findings(text, "NPS103") == []
    found = _findings(text, "NPS104")
    assert [line for line, _ in found] == [10]
    assert "(NetworkPolicy all selects it for ingress only)" in found[0][1]


def test_namespace_without_policy_points_at_its_manifest_and_covers_kube_system() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n---\n" + _deployment(
        "coredns", "kube-system", "k8s-app: kube-dns"
    )
    [(line, message)] = _findings(text, "NPS105")
    assert line == 1
    assert message.startswith("namespace kube-system has 1 workload(s) (Deployment coredns) and no Network")


def test_namespace_with_any_valid_policy_is_not_nps105() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: selects-nothing
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: nothing
---
""" + _deployment("web")
    assert _findings(text, "NPS105") == []
    assert [line for line, _ in _findings(text, "NPS103")] == [11]


def test_a_policy_the_api_rejects_does_not_count() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: broken
  namespace: default
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 70000
---
""" + _deployment("web")
    # no Namespace manifest: the finding points at the namespace's first workload, not the rejected policy
    [(line, message)] = _findings(text, "NPS105")
    assert line == 12 and message.startswith("namespace default has 1 workload(s) (Deployment web)")


def test_many_workloads_are_summarised() -> None:
    text = "---\n".join(_deployment(f"w{i}", "shop", f"app: w{i}") for i in range(5))
    [(line, message)] = _findings(text, "NPS105")
    assert line == 1
    assert "5 workload(s) (Deployment w0, Deployment w1, Deployment w2 and 2 more)" in message


def test_a_workload_no_policy_selects_is_told_how_many_policies_miss_it() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: db
---
""" + _deployment("web")
    [(line, message)] = _findings(text, "NPS103")
    assert line == 11 and "(1 policy in the namespace, none selects it)" in message


EMPTY_NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: quiet, labels: {team: a}}\n---\n"


def test_a_namespace_without_workloads_is_closed_by_a_policy_of_another_kind() -> None:
    """No pod to judge by: a Cilium policy selecting every pod of the namespace, or a Calico global policy
    selecting every pod, is its default deny; one that selects some pods only, or one direction, is not."""
    cilium = (
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: quiet}\n"
        "spec:\n  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n"
    )
    assert run_example(EMPTY_NAMESPACE + cilium, ["NPS101", "NPS102"]) == []
    calico = (
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: deny-all}\n"
        "spec:\n  selector: all()\n  types: [Ingress]\n"
    )
    assert [f.rule_id for f in run_example(EMPTY_NAMESPACE + calico, ["NPS101", "NPS102"])] == ["NPS102"]
    some_pods = cilium.replace("endpointSelector: {}", "endpointSelector: {matchLabels: {app: web}}")
    assert sorted(f.rule_id for f in run_example(EMPTY_NAMESPACE + some_pods, ["NPS101", "NPS102"])) == [
        "NPS101",
        "NPS102",
    ]
    other_team = (
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\n"
        "spec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {matchLabels: {team: b}}}\n"
        "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n"
    )
    assert len(run_example(EMPTY_NAMESPACE + other_team, ["NPS101"])) == 1
