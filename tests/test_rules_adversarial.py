"""Adversarial cases for the built-in rules: positives a naive rule misses, near misses it flags.

Each case is a small YAML file as a user would scan it; `# expect: NPSxxx` markers sit on the lines the
findings of the case's rule must point at (see the anchor table of the rule catalog). Findings of other
rules are ignored unless a marker names them. A `# netpolscan-options: {...}` line sets scan options.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netpolscan.ruledoc import Example, RuleDoc
from netpolscan.testing import check_example


def _example(text: str) -> Example:
    doc = RuleDoc(Path("adversarial.md"), {"id": "X"}, {"Example": f"```yaml\n{text}```\n"}, "")
    (example,) = doc.examples()
    return example


def web(
    ns: str = "shop", name: str = "web", labels: str = "app: web", ports: str = "", expect: str = ""
) -> str:
    """A Deployment whose pod template carries ``labels`` (the Deployment's own labels differ)."""
    extra = f"\n        ports: {ports}" if ports else ""
    marker = f"  # expect: {expect}" if expect else ""
    return f"""apiVersion: apps/v1{marker}
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{owner: platform}}
spec:
  selector: {{matchLabels: {{{labels}}}}}
  template:
    metadata:
      labels: {{{labels}}}
    spec:
      containers:
      - name: c
        image: example/app:1{extra}
"""


CASES: list[tuple[str, str, str]] = []  # (rule id, case name, YAML text)


def case(rule_id: str, name: str, text: str) -> None:
    CASES.append((rule_id, name, text))


# fmt: off


# ----------------------------------------------------------------------------------------------- NPS1xx

case("NPS101", "policyTypes-empty-list-defaults-to-ingress", """\
apiVersion: v1  # expect: NPS102
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: []
""")
case("NPS101", "egress-only-default-deny-is-not-ingress", """\
apiVersion: v1  # expect: NPS101
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
""")
case("NPS101", "namespace-known-only-from-a-configmap-gets-nothing", """\
# Source: chart/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: cfg}
data: {a: b}
""")
case("NPS101", "cluster-scoped-objects-put-no-namespace-in-scope", """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: ghost}
rules: []
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
""")
case("NPS101", "points-at-the-namespace-manifest-even-when-it-comes-later", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: v1  # expect: NPS101
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
""")
case("NPS101", "empty-matchexpressions-is-an-empty-selector", """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {matchLabels: {}, matchExpressions: []}
  policyTypes: [Ingress, Egress]
""")
case("NPS101", "default-deny-in-another-namespace-does-not-count", """\
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1  # expect: NPS101
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: other}
spec: {podSelector: {}}
""")
case("NPS101", "kind-list-items-and-default-namespace", """\
# netpolscan-options: {namespace: shop}
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: app}
- apiVersion: v1  # expect: NPS101
  kind: Pod
  metadata: {name: app}
  spec: {containers: [{name: app, image: x}]}
""")
case("NPS101", "typed-list-items", """\
apiVersion: v1
kind: PodList
items:
- metadata: {name: a, namespace: blue}  # expect: NPS101
  spec: {containers: [{name: a, image: x}]}
""")
case("NPS102", "no-policytypes-and-empty-egress-list-does-not-isolate-egress", """\
apiVersion: v1  # expect: NPS102
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  egress: []
""")
case("NPS102", "policytypes-empty-with-egress-rules-defaults-to-egress-too", """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: []
  egress:
  - to: [{podSelector: {}}]
""")
case("NPS102", "narrow-podselector-is-not-a-default-deny", """\
apiVersion: v1  # expect: NPS102
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
""")
case("NPS103", "policy-matching-deployment-metadata-labels-not-template", """\
apiVersion: apps/v1  # expect: NPS103
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web-pod}}
  template:
    metadata: {labels: {app: web-pod}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
""")
case("NPS103", "cronjob-selected-by-jobtemplate-pod-labels", """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop, labels: {app: other}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
---
apiVersion: batch/v1  # expect: NPS103
kind: CronJob
metadata: {name: unselected, namespace: shop, labels: {app: report}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: cleanup}}
        spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {matchLabels: {app: report}}}
""")
case("NPS103", "replicationcontroller-and-bare-pod-with-absent-owner", """\
apiVersion: v1  # expect: NPS103
kind: ReplicationController
metadata: {name: legacy, namespace: shop}
spec:
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1  # expect: NPS103
kind: Pod
metadata:
  name: web-abc12
  namespace: shop
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-6d4f, uid: 0000, controller: true}
spec: {containers: [{name: c, image: x}]}
""")
case("NPS103", "pod-owned-by-a-replicaset-of-the-input-is-reported-once-on-the-owner", """\
apiVersion: apps/v1  # expect: NPS103
kind: ReplicaSet
metadata: {name: web-6d4f, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc12
  namespace: shop
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-6d4f, uid: 0000, controller: true}
spec: {containers: [{name: c, image: x}]}
""")
case("NPS103", "egress-only-policy-does-not-isolate-ingress", """\
apiVersion: apps/v1  # expect: NPS103
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
""")
case("NPS103", "policy-of-another-namespace-does-not-select", """\
apiVersion: apps/v1  # expect: NPS103
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: other}
spec: {podSelector: {}}
""")
case("NPS104", "no-policytypes-empty-egress-does-not-isolate-egress", """\
apiVersion: batch/v1  # expect: NPS104
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {}, egress: []}
""")
case("NPS104", "no-policytypes-with-egress-rules-isolates-egress", web() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
  egress:
  - to: [{podSelector: {}}]
""")
case("NPS105", "namespace-with-only-a-configmap-has-no-workloads", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: cfg}
""")
case("NPS105", "kube-system-included-points-at-first-workload-not-first-object", """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: agent, namespace: kube-system}
---
apiVersion: apps/v1  # expect: NPS105
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: x}]}
""")
case("NPS105", "a-policy-that-selects-nothing-is-still-a-policy", web() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec: {podSelector: {matchLabels: {app: wbe}}}
""")
case("NPS105", "objects-without-namespace-take-the-default", """\
# netpolscan-options: {namespace: shop}
# Source: chart/templates/deploy.yaml
apiVersion: apps/v1  # expect: NPS105
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: other}
spec: {podSelector: {}}
""")

# ----------------------------------------------------------------------------------------------- NPS2xx

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
"""

case("NPS201", "from-empty-list-with-ports", POLICY + """\
  podSelector: {}
  ingress:
  - from: []  # expect: NPS201
    ports: [{port: 443}]
""")
case("NPS201", "rule-with-only-ports", POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
  - ports:  # expect: NPS201
    - port: 8080
""")
case("NPS201", "rules-ignored-by-policytypes-admit-nothing", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  ingress:
  - {}
""")
case("NPS201", "policytypes-empty-list-keeps-ingress-rules", POLICY + """\
  podSelector: {}
  policyTypes: []
  ingress:
  - {}  # expect: NPS201
""")
case("NPS201", "from-with-empty-podselector-is-not-anywhere", POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
""")
case("NPS202", "empty-namespace-and-empty-pod-selector", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: a}}
    - namespaceSelector: {}  # expect: NPS202
      podSelector: {}
""")
case("NPS202", "empty-matchlabels-is-empty", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {}}  # expect: NPS202
    ports: [{port: 53, protocol: UDP}]
""")
case("NPS202", "narrowing-podselector-or-named-namespace", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector: {matchLabels: {app: prometheus}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
""")
case("NPS203", "zero-slash-one-covers-public-space", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/1}  # expect: NPS203
    - ipBlock: {cidr: 10.0.0.0/8}
    - ipBlock: {cidr: 172.16.0.0/12}
    - ipBlock:  # expect: NPS203
        cidr: ::/0
    - ipBlock: {cidr: 'fd00::/8'}
""")
case("NPS203", "internet-minus-public-space-is-private", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 192.168.0.0/16
        except: [192.168.1.0/24]
""")

# ----------------------------------------------------------------------------------------------- NPS3xx

case("NPS301", "egress-empty-rule-and-to-empty-list", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - {}  # expect: NPS301
  - to: []  # expect: NPS301
  - to: []
    ports: [{port: 443}]
  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
""")
case("NPS301", "egress-ignored-by-policytypes", POLICY + """\
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - {}
""")
case("NPS302", "zero-cidr-with-excepts-still-fires-and-narrower-not", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:  # expect: NPS302
        cidr: 0.0.0.0/0
        except: [10.0.0.0/8]
    - ipBlock: {cidr: '::/0'}  # expect: NPS302
    - ipBlock: {cidr: 10.0.0.0/8}
""")
case("NPS303", "link-local-and-half-internet-cover-metadata", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 169.254.0.0/16}  # expect: NPS303
    - ipBlock: {cidr: 128.0.0.0/1}  # expect: NPS303
    - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}
    - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}
    - ipBlock:
        cidr: 0.0.0.0/1
""")
case("NPS303", "no-to-rule-on-tcp-80-or-a-range-covering-it", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 443}]
  - ports: [{port: 80, protocol: UDP}]
  - ports: [{port: 80}]  # expect: NPS303
  - to: []  # expect: NPS303
    ports: [{port: 1, endPort: 1024}]
""")
case("NPS303", "ipv6-metadata", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 'fd00:ec2::/64'}  # expect: NPS303
    - ipBlock: {cidr: 'fd00:ec2::/64', except: ['fd00:ec2::254/128']}
""")
case("NPS303", "metadata-block-on-other-ports-only", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 169.254.169.254/32}
    ports: [{port: 443}, {port: 80, protocol: UDP}]
""")
case("NPS303", "egress-ignored-by-policytypes", POLICY + """\
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - to: [{ipBlock: {cidr: 169.254.169.254/32}}]
""")
case("NPS304", "egress-all-namespaces", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {}  # expect: NPS304
      podSelector: {}
    - namespaceSelector: {}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    - podSelector: {}
""")

# ----------------------------------------------------------------------------------------------- NPS4xx

KS_DNS = """\
apiVersion: apps/v1{marker}
kind: Deployment
metadata: {{name: coredns, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      containers:
      - name: coredns
        image: x
        ports:
        - {{name: dns, containerPort: 53, protocol: UDP}}
        - {{name: dns-tcp, containerPort: 53, protocol: TCP}}
        - {{name: metrics, containerPort: 9153, protocol: TCP}}
---
"""


def ks_dns(marker: str = "") -> str:
    return KS_DNS.format(marker=f"  # expect: {marker}" if marker else "")


KS_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: kube-system}
spec:
  podSelector: {matchLabels: {k8s-app: kube-dns}}
  ingress:
"""

case("NPS401", "no-policy", ks_dns("NPS401"))
case("NPS401", "sources-from-kube-system-only-on-every-port", ks_dns() + KS_POLICY + """\
  - from:
    - podSelector: {}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [kube-system]}]
""")
case("NPS401", "other-namespace-via-matchexpressions", ks_dns("NPS401") + KS_POLICY + """\
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [kube-system, monitoring]}]
    ports: [{port: 9153}]
""")
case("NPS401", "notin-selects-other-namespaces", ks_dns("NPS401") + KS_POLICY + """\
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [default]}]
""")
case("NPS401", "dns-only-ports-including-named-and-endport-53", ks_dns() + KS_POLICY + """\
  - from: []
    ports:
    - {port: 53, protocol: UDP}
    - {port: dns-tcp, protocol: TCP}
    - {port: dns, protocol: UDP}
    - {port: 53, endPort: 53, protocol: TCP}
""")
case("NPS401", "named-port-resolving-to-metrics", ks_dns("NPS401") + KS_POLICY + """\
  - from: [{namespaceSelector: {}}]
    ports:
    - {port: dns, protocol: UDP}
    - {port: metrics}
""")
case("NPS401", "endport-range-covering-more-than-53", ks_dns("NPS401") + KS_POLICY + """\
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
    ports: [{port: 53, endPort: 54, protocol: UDP}]
""")
case("NPS401", "egress-only-policy-leaves-ingress-open", ks_dns("NPS401") + """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: kube-system}
spec:
  podSelector: {}
  policyTypes: [Egress]
""")
case("NPS401", "policy-for-other-pods-does-not-protect", ks_dns("NPS401") + """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: other, namespace: kube-system}
spec:
  podSelector: {matchLabels: {k8s-app: metrics-server}}
""")
case("NPS401", "default-deny-plus-dns-allow-is-fine", ks_dns() + """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: kube-system}
spec: {podSelector: {}}
---
""" + KS_POLICY + """\
  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
""")
case("NPS401", "label-of-a-namespace-manifest-other-than-kube-system", """\
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, labels: {team: ops}}
---
""" + ks_dns("NPS401") + KS_POLICY + """\
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
    ports: [{port: 9153}]
""")

EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
"""

case("NPS402", "by-name-label-on-every-port", EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
""")
case("NPS402", "by-matchexpressions-in", EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [kube-system]}]
    ports: [{port: 443}]
""")
case("NPS402", "by-a-label-of-the-kube-system-manifest", """\
apiVersion: v1
kind: Namespace
metadata: {name: kube-system, labels: {tier: control-plane}}
---
""" + EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {tier: control-plane}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: 53, protocol: UDP}, {port: 9153}]
""")
case("NPS402", "dns-only-incl-named-port-resolving-to-53", ks_dns() + EGRESS + """\
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
    - {port: dns, protocol: UDP}
    - {port: dns-tcp, protocol: TCP}
    - {port: 53, endPort: 53, protocol: UDP}
""")
case("NPS402", "named-port-resolving-beyond-53", ks_dns() + EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports:
    - {port: dns, protocol: UDP}
    - {port: metrics}
""")
case("NPS402", "endport-range-beyond-53", EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports: [{port: 53, endPort: 54, protocol: UDP}]
""")
case("NPS402", "all-namespaces-and-no-to-and-other-labels-are-not-kube-system", EGRESS + """\
  - to: [{namespaceSelector: {}}]
  - ports: [{port: 443}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
  - to: [{namespaceSelector: {matchLabels: {tier: control-plane}}}]
  - to:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [default]}]
""")
case("NPS402", "egress-ignored-by-policytypes", """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
""")

# ----------------------------------------------------------------------------------------------- NPS5xx

case("NPS501", "dns-only-via-tcp", web(expect="NPS501") + "---\n" + EGRESS + """\
  - ports: [{port: 53, protocol: TCP}]
""")
case("NPS501", "egress-empty-list-with-explicit-egress-type", web(expect="NPS501") + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  egress: []
""")
case("NPS501", "named-port-resolving-to-53-on-in-input-dns", ks_dns() + web() + "---\n" + EGRESS + """\
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: dns, protocol: UDP}]
""")
case("NPS501", "named-port-resolving-elsewhere", ks_dns() + web(expect="NPS501") + "---\n" + EGRESS + """\
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: dns-tcp, protocol: TCP}, {port: metrics, protocol: UDP}]
""")
case("NPS501", "ipblock-to-external-dns", web() + "---\n" + EGRESS + """\
  - to: [{ipBlock: {cidr: 8.8.8.8/32}}]
    ports: [{port: 53, protocol: UDP}]
""")
case("NPS501", "no-to-rule-limited-to-53", web() + "---\n" + EGRESS + """\
  - ports: [{port: 53, protocol: UDP}]
""")
case("NPS501", "unscanned-kube-system-counts-as-a-destination", web() + "---\n" + EGRESS + """\
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{port: 53, protocol: UDP}]
""")
case("NPS501", "dns-allowed-by-a-policy-that-does-not-select-the-pods", web(expect="NPS501") + "---\n" + EGRESS + """\
  - to: [{podSelector: {}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: shop}
spec:
  podSelector: {matchLabels: {app: other}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
""")
case("NPS501", "cronjob-isolated-and-range-covering-53", """\
apiVersion: batch/v1  # expect: NPS501
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {matchLabels: {app: report}}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: q, namespace: shop}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 1, endPort: 1024, protocol: UDP}]
""")
case("NPS501", "dns-peer-selects-nothing-in-input", web(expect="NPS501") + "---\n" + EGRESS + """\
  - to: [{podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}]
""")

case("NPS502", "selects-by-template-labels-not-metadata", """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web-pod}}
  template:
    metadata: {labels: {app: web-pod}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1  # expect: NPS502
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
""")
case("NPS502", "namespace-without-workloads-or-absent", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: elsewhere}
spec: {podSelector: {matchLabels: {app: web}}}
""")
case("NPS502", "empty-selector-and-doesnotexist", web() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: unlabelled, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}
---
# Source: chart/templates/np.yaml
apiVersion: networking.k8s.io/v1  # expect: NPS502
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [wbe]}]}
""")
case("NPS502", "policy-in-another-namespace-than-the-workload", web() + """\
---
apiVersion: v1
kind: Pod
metadata: {name: x, namespace: other, labels: {app: x}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1  # expect: NPS502
kind: NetworkPolicy
metadata: {name: p, namespace: other}
spec: {podSelector: {matchLabels: {app: web}}}
""")

case("NPS503", "typo-in-own-namespace", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: wbe}}  # expect: NPS503
    - podSelector: {matchLabels: {app: web}}
""")
case("NPS503", "absent-namespaces-are-never-nothing", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
      podSelector: {matchLabels: {app: prometheus}}
    - namespaceSelector: {matchLabels: {team: ops}}
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [a, b]}]
""")
case("NPS503", "namespace-manifests-label-typo-when-all-namespaces-known", """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
""" + web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}  # expect: NPS503
      podSelector: {matchLabels: {app: wbe}}
""")
case("NPS503", "egress-peer-in-own-namespace-without-workloads-is-not-judged", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: shop}
---
""" + EGRESS + """\
  - to: [{podSelector: {matchLabels: {app: db}}}]
""")
case("NPS503", "ipblock-never", web() + "---\n" + EGRESS + """\
  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]
""")

case("NPS504", "ingress-named-port-with-wrong-name-or-protocol", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - ports:
    - port: http
    - port: https  # expect: NPS504
    - protocol: UDP
      port: http  # expect: NPS504
""")
case("NPS504", "ingress-any-selected-pod-suffices", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + """\
apiVersion: v1
kind: Pod
metadata: {name: admin, namespace: shop, labels: {app: admin}}
spec: {containers: [{name: c, image: x, ports: [{name: admin, containerPort: 9000}]}]}
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - ports: [{port: admin}, {port: http}]
""")
case("NPS504", "ingress-policy-selecting-nothing-is-nps502s", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + POLICY + """\
  podSelector: {matchLabels: {app: none}}
  ingress:
  - ports: [{port: nope}]
""")
case("NPS504", "egress-resolves-on-destination-not-on-selected-pods", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + """\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: x, ports: [{name: pg, containerPort: 5432}]}]}
---
""" + EGRESS + """\
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports:
    - port: pg
    - port: http  # expect: NPS504
""")
case("NPS504", "egress-to-absent-namespace-or-anywhere-is-not-judged", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + EGRESS + """\
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: db}}}]
    ports: [{port: pg}]
  - ports: [{port: anything}]
""")

case("NPS505", "ingress-rules-with-egress-only-types", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  ingress:  # expect: NPS505
  - {}
  egress:
  - {}
""")
case("NPS505", "empty-policytypes-defaults-instead", POLICY + """\
  podSelector: {}
  policyTypes: []
  ingress:
  - {}
  egress:
  - {}
""")
case("NPS505", "egress-empty-list-ignores-nothing", POLICY + """\
  podSelector: {}
  policyTypes: [Ingress]
  egress: []
""")
case("NPS505", "egress-rules-ignored", POLICY + """\
  podSelector: {}
  policyTypes:
  - Ingress
  egress:  # expect: NPS505
  - to: [{podSelector: {}}]
""")
case("NPS505", "no-policytypes-never", POLICY + """\
  podSelector: {}
  ingress: [{}]
  egress: [{}]
""")

case("NPS506", "split-ingress-and-egress", POLICY + """\
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:  # expect: NPS506
    - namespaceSelector: {matchLabels: {team: a}}
    - podSelector: {matchLabels: {app: client}}
  egress:
  - ports: [{port: 5432}]  # expect: NPS506
    to:
    - podSelector: {matchLabels: {app: db}}
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [data]}]
""")
case("NPS506", "and-in-one-peer-or-in-separate-rules", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {app: client}}
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
  - from:
    - podSelector: {matchLabels: {app: client}}
""")
case("NPS506", "ipblock-and-podselector-is-not-the-slip", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/8}
    - podSelector: {matchLabels: {app: client}}
""")
case("NPS506", "ingress-ignored-by-policytypes", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
    - podSelector: {matchLabels: {app: client}}
""")

case("NPS507", "overlap-minus-excepts", """\
# netpolscan-options: {settings: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}}
""" + EGRESS + """\
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}  # expect: NPS507
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.244.0.0/16, 10.96.0.0/12]}
    - ipBlock: {cidr: 10.244.1.0/24}  # expect: NPS507
    - ipBlock: {cidr: 192.168.0.0/16}
""")
case("NPS507", "silent-without-configured-cidrs", EGRESS + """\
  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
""")

HOST_DS = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c, image: x}]}
---
"""
case("NPS508", "empty-podselector-selects-host-network-pod", HOST_DS + """\
# Source: chart/templates/deny.yaml
apiVersion: networking.k8s.io/v1  # expect: NPS508
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-only, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: other-ns, namespace: other}
spec: {podSelector: {}}
""")
case("NPS508", "cronjob-host-network", """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: probe, namespace: shop}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: probe}}
        spec: {hostNetwork: true, restartPolicy: Never, containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1  # expect: NPS508
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {matchLabels: {app: probe}}}
""")

SVC_BACKENDS = """\
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}
---
"""
case("NPS509", "named-target-port-admitted-on-one-backend", SVC_BACKENDS + """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports:
  - {name: http, port: 80, targetPort: http}
  - name: admin  # expect: NPS509
    port: 81
    targetPort: 7000
  - port: 8080
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
    ports: [{port: 9090}, {port: 8080}]
""")
case("NPS509", "admitted-only-from-a-peer-that-selects-nothing", SVC_BACKENDS + """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports:
  - port: 80  # expect: NPS509
    targetPort: http
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {app: nobody}}}]
""")
case("NPS509", "one-backend-not-isolated", SVC_BACKENDS + """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports:
  - {port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
""")
case("NPS509", "service-without-selector-and-egress-only-isolation", SVC_BACKENDS + """\
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec:
  ports:
  - {port: 80}
---
""" + POLICY + """\
  podSelector: {}
  ingress: []
""")

# ----------------------------------------------------------------------------------------------- NPS6xx

case("NPS601", "duplicate-rule-reported-once", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
  - from: [{podSelector: {matchLabels: {app: web}}}]  # expect: NPS601
    ports: [{port: 8080}]
""")
case("NPS601", "different-ports-or-wider-peer-later-are-not-redundant", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8443}]
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]
    ports: [{port: 8080}]
""")
case("NPS601", "covering-rule-in-a-policy-of-narrower-selector-does-not-cover", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: q, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {}}]
""")
case("NPS602", "duplicate-default-deny", web() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1  # expect: NPS602
kind: NetworkPolicy
metadata: {name: deny-again, namespace: shop}
spec: {podSelector: {}, policyTypes: []}
""")
case("NPS602", "default-deny-is-not-redundant-next-to-a-narrow-policy", web() + """\
---
apiVersion: networking.k8s.io/v1  # expect: NPS602
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
""")

# ----------------------------------------------------------------------------------------------- NPS9xx

SUPPRESSED = """\
# netpolscan-options: {{today: 2025-06-01}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: p
  namespace: shop
  annotations:
    netpolscan.io/ignore: NPS201
    netpolscan.io/ignore-reason: legacy
    netpolscan.io/ignore-until: {until}
spec:
  podSelector: {{}}
  ingress:
  - {{}}{marker}
"""
case("NPS901", "past-date-also-reports-the-suppressed-finding", SUPPRESSED.format(
    until='"2025-05-31"  # expect: NPS901', marker="  # expect: NPS201"))
case("NPS901", "today-and-future-dates-hold", SUPPRESSED.format(until='"2025-06-01"', marker=""))
case("NPS901", "unquoted-yaml-date", SUPPRESSED.format(until="2024-01-01  # expect: NPS901", marker="  # expect: NPS201"))
case("NPS901", "malformed-date", SUPPRESSED.format(until='"2025-13-40"  # expect: NPS901', marker="  # expect: NPS201"))
case("NPS901", "until-without-ignore-is-not-a-suppression", """\
# netpolscan-options: {today: 2025-06-01}
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: shop
  annotations: {netpolscan.io/ignore-until: "2020-01-01"}
""")

# ----------------------------------------------------------------------------------------------- NPS0xx

case("NPS001", "helm-empty-and-comment-only-documents", """\
---
# Source: chart/templates/empty.yaml
---
---
# Source: chart/templates/bad.yaml
apiVersion: v1  # expect: NPS001
metadata: {name: nokind}
""")
case("NPS002", "peer-without-field-and-named-endport", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - {}  # expect: NPS002
  - ports:
    - port: http
      endPort: 90  # expect: NPS002
""")
case("NPS003", "extensions-v1beta1", """\
# Source: old/np.yaml
apiVersion: extensions/v1beta1  # expect: NPS003
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec: {podSelector: {}}
""")


# ------------------------------------------------------------------------------------- second round

KS_CHAIN = """\
apiVersion: apps/v1{m1}
kind: Deployment
metadata: {{name: metrics-server, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: metrics-server}}}}
  template:
    metadata: {{labels: {{k8s-app: metrics-server}}}}
    spec: {{containers: [{{name: c, image: x}}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: metrics-server-5f9
  namespace: kube-system
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: metrics-server, uid: u, controller: true}}]
spec:
  selector: {{matchLabels: {{k8s-app: metrics-server}}}}
  template:
    metadata: {{labels: {{k8s-app: metrics-server}}}}
    spec: {{containers: [{{name: c, image: x}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: metrics-server-5f9-abcde
  namespace: kube-system
  labels: {{k8s-app: metrics-server}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: metrics-server-5f9, uid: v, controller: true}}]
spec: {{containers: [{{name: c, image: x}}]}}
---
"""
case("NPS401", "kubectl-dump-owner-chain-is-one-finding", KS_CHAIN.format(m1="  # expect: NPS401"))
case("NPS103", "kubectl-dump-owner-chain-is-one-finding", KS_CHAIN.format(m1="  # expect: NPS103"))
case("NPS501", "kubectl-dump-owner-chain-is-one-finding", KS_CHAIN.format(m1="  # expect: NPS501") + """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: kube-system}
spec: {podSelector: {}, policyTypes: [Egress]}
""")
case("NPS101", "custom-resource-alone-gets-no-namespace-finding", """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: tls, namespace: certs}
spec: {secretName: tls}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: unplaced}
""")
case("NPS201", "from-null-is-absent", POLICY + """\
  podSelector: {}
  ingress:
  - from:  # expect: NPS201
    ports: []
""")
case("NPS301", "to-null-and-ports-empty-list", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:  # expect: NPS301
    ports: []
""")
case("NPS303", "named-port-never-reaches-an-address-and-sctp-80-is-not-http", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{port: http}]
  - ports: [{port: 80, protocol: SCTP}]
  - to:
    - ipBlock: {cidr: 169.254.169.254/32}  # expect: NPS303
    ports: [{port: 79, endPort: 81}]
""")
case("NPS304", "empty-matchexpressions-namespace-selector", EGRESS + """\
  - to:
    - namespaceSelector: {matchExpressions: []}  # expect: NPS304
    ports: [{port: 443}]
""")
case("NPS401", "all-namespaces-with-pod-selector-is-still-foreign", ks_dns("NPS401") + KS_POLICY + """\
  - from:
    - namespaceSelector: {}
      podSelector: {matchLabels: {app: prometheus}}
    ports: [{port: 9153}]
""")
case("NPS401", "sctp-53-is-not-dns", ks_dns("NPS401") + KS_POLICY + """\
  - ports: [{port: 53, protocol: SCTP}]
""")
case("NPS501", "port-53-without-protocol-is-tcp-only", web(expect="NPS501") + "---\n" + EGRESS + """\
  - ports: [{port: 53}]
""")
case("NPS501", "dns-rule-ignored-by-policytypes", web(expect="NPS501") + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
""")
case("NPS501", "all-namespaces-peer-on-53", web() + "---\n" + EGRESS + """\
  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}]
""")
case("NPS505", "ingress-empty-list-with-egress-only-types", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  ingress: []
""")
case("NPS509", "implicit-target-port-and-udp-protocol", """\
apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: shop, labels: {app: dns}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: shop}
spec:
  selector: {app: dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}  # expect: NPS509
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: web, port: 80}  # expect: NPS509
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - ports: [{port: 53}, {port: 8080}]
""")
case("NPS504", "egress-mixed-ipblock-and-pods", web(ports="[{name: http, containerPort: 8080}]") + "---\n" + EGRESS + """\
  - to:
    - ipBlock: {cidr: 192.0.2.0/24}
    - podSelector: {matchLabels: {app: web}}
    ports:
    - port: https  # expect: NPS504
""")
case("NPS502", "replicaset-owned-pods-selected-by-template", KS_CHAIN.format(m1="") + """\
apiVersion: networking.k8s.io/v1  # expect: NPS502
kind: NetworkPolicy
metadata: {name: p, namespace: kube-system}
spec: {podSelector: {matchLabels: {app: metrics-server}}}
""")
case("NPS508", "bare-pod-host-network-and-non-host-pod", """\
apiVersion: v1
kind: Pod
metadata: {name: node-exporter, namespace: shop, labels: {app: ne}}
spec: {hostNetwork: true, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {hostNetwork: false, containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1  # expect: NPS508
kind: NetworkPolicy
metadata: {name: ne, namespace: shop}
spec: {podSelector: {matchExpressions: [{key: app, operator: In, values: [ne]}]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
""")
case("NPS402", "name-label-holds-even-when-the-manifest-lists-other-labels", """\
apiVersion: v1
kind: Namespace
metadata: {name: kube-system, labels: {tier: control-plane}}
---
""" + EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports: [{port: 443}]
""")
case("NPS402", "legacy-name-label-unknown-without-a-manifest", EGRESS + """\
  - to: [{namespaceSelector: {matchLabels: {name: kube-system}}}]
""")
case("NPS401", "ipblock-with-except-on-every-port", ks_dns("NPS401") + KS_POLICY + """\
  - from:
    - podSelector: {}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
""")
case("NPS401", "deny-all-ingress-is-fine", ks_dns() + KS_POLICY.replace("  ingress:\n", "  policyTypes: [Ingress]\n  ingress: []\n"))
case("NPS203", "ipv6-global-unicast-vs-documentation", POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: '2000::/3'}  # expect: NPS203
    - ipBlock: {cidr: '2001:db8::/32'}
    - ipBlock: {cidr: 203.0.113.0/24}
    - ipBlock: {cidr: 100.64.0.0/10}
""")
case("NPS302", "ingress-zero-cidr-is-not-egress", POLICY + """\
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
""")
case("NPS503", "pod-typo-in-namespaces-partly-absent-is-not-judged", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [shop, absent]}]
      podSelector: {matchLabels: {app: wbe}}
""")
case("NPS503", "egress-pod-typo-in-known-namespace", """\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
spec: {containers: [{name: c, image: x}]}
---
""" + EGRESS + """\
  - to:
    - namespaceSelector:  # expect: NPS503
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [data]}]
      podSelector: {matchLabels: {app: postgres}}
""")
case("NPS105", "an-invalid-policy-is-no-policy", web(expect="NPS105") + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from:
    - {}
""")
case("NPS505", "egress-null-ignores-nothing", POLICY + """\
  podSelector: {}
  policyTypes: [Ingress]
  egress:
""")
case("NPS504", "sctp-named-port", web(ports="[{name: diam, containerPort: 3868, protocol: SCTP}]") + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - ports:
    - {port: diam, protocol: SCTP}
    - {port: diam}  # expect: NPS504
""")
case("NPS509", "named-target-port-no-backend-declares-is-not-served", SVC_BACKENDS + """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports:
  - {port: 80, targetPort: grpc}
---
""" + POLICY + """\
  podSelector: {}
  ingress: []
""")
case("NPS501", "ingress-only-policy-does-not-isolate-egress", web() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  egress: []
""")

case("NPS004", "labels-of-a-namespace-known-only-from-a-configmap", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ops}
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
    - namespaceSelector: {matchLabels: {team: ops}}  # expect: NPS004
""")
case("NPS004", "namespace-manifest-or-name-label-settle-it", """\
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
""" + POLICY + """\
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
    - namespaceSelector: {}
""")
case("NPS002", "pointers-at-the-offending-key", POLICY + """\
  podSelector:
    matchExpressions:
    - key: app
      operator: Equals  # expect: NPS002
      values: [a]
  policyTypes:
  - Ingress
  - Egres  # expect: NPS002
  ingress:
  - from:
    - ipBlock:
        cidr: 192.168.0.0/16
        except:
        - 10.0.0.0/8  # expect: NPS002
    - ipBlock: {cidr: 10.0.0.0/8}  # expect: NPS002
      podSelector: {}
    ports:
    - port: 0  # expect: NPS002
""")
case("NPS901", "expired-suppression-on-a-list-item", """\
# netpolscan-options: {today: 2025-06-01}
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    name: p
    namespace: shop
    annotations:
      netpolscan.io/ignore: all
      netpolscan.io/ignore-until: "2025-01-01"  # expect: NPS901
  spec:
    podSelector: {}
    ingress:
    - {}  # expect: NPS201
""")
case("NPS001", "non-mapping-document-and-broken-yaml", """\
# Source: chart/templates/notes.yaml
- just  # expect: NPS001
- a list
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ok, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: broken
  namespace: shop  # expect: NPS001
""")

case("NPS601", "everything-rule-covers-the-rest", web() + "---\n" + POLICY + """\
  podSelector: {}
  ingress:
  - {}
  - from: [{podSelector: {}}]  # expect: NPS601
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]  # expect: NPS601
    ports: [{port: 80}]
""")
case("NPS601", "a-wholly-redundant-policy-is-nps602-not-one-nps601-per-rule", web() + "---\n" + POLICY + """\
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1  # expect: NPS602
kind: NetworkPolicy
metadata: {name: q, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
""")
case("NPS303", "protocol-only-port-entries", POLICY + """\
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP}]
  - ports: [{protocol: TCP}]  # expect: NPS303
""")
case("NPS402", "protocol-only-udp-is-every-udp-port", EGRESS + """\
  - to:  # expect: NPS402
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports: [{protocol: UDP}]
""")
case("NPS401", "protocol-only-udp-is-every-udp-port", ks_dns("NPS401") + KS_POLICY + """\
  - ports: [{protocol: UDP}]
""")
case("NPS501", "protocol-only-udp-allows-dns", web() + "---\n" + EGRESS + """\
  - ports: [{protocol: UDP}]
""")
case("NPS103", "unlabelled-pods-and-notin-selectors", """\
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: shop}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1  # expect: NPS103
kind: Pod
metadata: {name: x, namespace: shop, labels: {app: x}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [x]}]}
""")

# fmt: on


@pytest.mark.parametrize(("rule_id", "text"), [pytest.param(r, t, id=f"{r}-{n}") for r, n, t in CASES])
def test_adversarial_case(rule_id: str, text: str) -> None:
    check_example(_example(text), rule_id)


def test_case_names_are_unique() -> None:
    names = [(r, n) for r, n, _ in CASES]
    assert len(names) == len(set(names))
