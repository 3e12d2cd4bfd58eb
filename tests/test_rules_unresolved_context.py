"""NPS004: which namespaceSelectors depend on labels the input lacks, and what the note says."""

from __future__ import annotations

import pytest

from netpolscan.testing import run_example

HEADER = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
"""
PEER_LINE = 16
POD_IN_PAYMENTS = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: checkout
  namespace: payments
  labels:
    app: checkout
spec:
  containers:
  - name: c
    image: c
"""
PAYMENTS_MANIFEST = """\
---
apiVersion: v1
kind: Namespace
metadata:
  name: payments
  labels:
    team: payments
"""


def _notes(peer: str, rest: str = "") -> list[tuple[int, str]]:
    return [(f.location.line, f.message) for f in run_example(HEADER + peer + rest, ["NPS004"])]


@pytest.mark.parametrize(
    ("peer", "rest", "noted"),
    [
        # label selector, payments in the input without a manifest: matches nothing known -> note
        ("    - namespaceSelector:\n        matchLabels:\n          team: payments\n", POD_IN_PAYMENTS, True),
        # the same with the manifest: resolved
        (
            "    - namespaceSelector:\n        matchLabels:\n          team: payments\n",
            POD_IN_PAYMENTS + PAYMENTS_MANIFEST,
            False,
        ),
        # every namespace of the input has a manifest: nothing in the input hinges on unknown labels
        ("    - namespaceSelector:\n        matchLabels:\n          team: payments\n", "", False),
        # pinned by name only: the name label is always there, present in the input or not
        (
            "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: payments\n",
            "",
            False,
        ),
        (
            "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: payments\n",
            POD_IN_PAYMENTS,
            False,
        ),
        # pinned by name plus another label, on a namespace absent from the input -> note
        (
            "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: payments\n"
            "          team: payments\n",
            "",
            True,
        ),
        # the name pins it to a namespace with a manifest: resolved
        (
            "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: shop\n"
            "          team: shop\n",
            POD_IN_PAYMENTS,
            False,
        ),
        # negative terms matched payments only because its labels were assumed absent -> note
        (
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: env, operator: DoesNotExist}\n",
            POD_IN_PAYMENTS,
            True,
        ),
        # {} and podSelector-only and ipBlock peers never depend on namespace labels
        ("    - namespaceSelector: {}\n", POD_IN_PAYMENTS, False),
        ("    - podSelector: {}\n", POD_IN_PAYMENTS, False),
        ("    - ipBlock:\n        cidr: 10.0.0.0/8\n", POD_IN_PAYMENTS, False),
        # matches shop (manifest present): not worth a note although payments might match too
        (
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: Exists}\n",
            POD_IN_PAYMENTS,
            False,
        ),
    ],
    ids=[
        "labels-no-manifest",
        "labels-with-manifest",
        "all-manifests",
        "pinned",
        "pinned-in-input",
        "pinned-plus-label",
        "pinned-known",
        "does-not-exist",
        "all-namespaces",
        "pods-only",
        "ipblock",
        "name-exists",
    ],
)
def test_when_a_note_is_due(peer: str, rest: str, noted: bool) -> None:
    assert [line for line, _ in _notes(peer, rest)] == ([PEER_LINE] if noted else [])


def test_the_note_says_what_was_assumed() -> None:
    peer = "    - namespaceSelector:\n        matchLabels:\n          team: payments\n"
    [(_, message)] = _notes(peer, POD_IN_PAYMENTS)
    assert message == (
        "NetworkPolicy shop/api ingress rule 1 `from` peer 1: namespaceSelector {team=payments} matches no "
        "namespace of the input; namespace `payments` has no Namespace manifest in the input; its labels are "
        "unknown, assumed to be only kubernetes.io/metadata.name=payments, so the selector is taken not to "
        "match it; add the Namespace manifest to the scan or select namespaces by kubernetes.io/metadata.name"
    )


def test_once_per_peer_naming_every_namespace_it_may_hinge_on() -> None:
    peer = "    - namespaceSelector:\n        matchLabels:\n          team: ops\n"
    rest = (
        "  egress:\n  - to:\n"
        + peer.replace("ops", "dba")
        + POD_IN_PAYMENTS
        + POD_IN_PAYMENTS.replace("payments", "billing").replace("checkout", "invoice")
    )
    found = _notes(peer, rest)
    assert [line for line, _ in found] == [PEER_LINE, PEER_LINE + 5]
    assert "namespaces `billing`, `payments` have no Namespace manifest" in found[0][1]
    assert found[1][1].startswith("NetworkPolicy shop/api egress rule 1 `to` peer 1:")
    assert "their kubernetes.io/metadata.name label" in found[1][1]


def test_rules_the_api_ignores_are_not_judged() -> None:
    text = (
        HEADER.replace("[Ingress, Egress]", "[Egress]")
        + "    - namespaceSelector:\n        matchLabels:\n          team: payments\n"
        + POD_IN_PAYMENTS
    )
    assert run_example(text, ["NPS004"]) == []
