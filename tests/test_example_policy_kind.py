"""The example plugin's custom policy kind (``EgressLock``) goes through the same hook and engine as the
built-in kinds: registered by the plugin, parsed and validated, placed in a tier of its own."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

from netpolscan.analysis.connectivity import connectivity
from netpolscan.model.inventory import Inventory
from netpolscan.plugins import collect_policy_kinds, plugin_manager
from netpolscan.sources.yamlparse import parse_text

PLUGIN_SRC = Path(__file__).resolve().parent.parent / "examples" / "netpolscan-example-plugin" / "src"

MANIFESTS = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: shop, labels: {app: batch}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: acme.example.com/v1
kind: EgressLock
metadata: {name: lock, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  allowCIDRs: [10.20.0.0/16]
"""


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    import netpolscan_example_plugin

    yield netpolscan_example_plugin
    for name in [m for m in sys.modules if m.startswith("netpolscan_example_plugin")]:
        del sys.modules[name]


def _kinds(plugin: object) -> list[object]:
    pm = plugin_manager()
    pm.register(plugin, name="acme")
    return list(collect_policy_kinds(pm).values())


def test_the_plugin_registers_its_kind_through_the_hook(plugin: object) -> None:
    names = [getattr(kind, "name", "") for kind in _kinds(plugin)]
    assert "acme-egress-lock" in names
    assert names.index("acme-egress-lock") > 0  # after the built-in plugin's kinds


def test_the_engine_evaluates_it_in_its_own_tier(plugin: object) -> None:
    inventory = Inventory.from_documents(parse_text(MANIFESTS, "m.yaml"), kinds=_kinds(plugin))  # type: ignore[arg-type]
    assert not inventory.parsed.invalid
    conn = connectivity(inventory)
    web, batch = sorted(inventory.workloads, key=lambda w: w.name, reverse=True)
    assert web.name == "web"
    assert conn.allowed(web, ipaddress.ip_address("10.20.1.1")).is_all
    assert not conn.allowed(web, ipaddress.ip_address("8.8.8.8"))
    assert conn.allowed(web, batch).is_all  # in-cluster traffic passes to the lower tiers
    assert conn.allowed(batch, ipaddress.ip_address("8.8.8.8")).is_all  # not selected
    verdict = conn.verdict(web, ipaddress.ip_address("8.8.8.8"), "egress")
    assert [d.describe() for d in verdict.decisions] == [
        "ACME firewall tier: EgressLock shop/lock egress rule 2 (rest-of-the-world): deny"
    ]


def test_its_validation_is_nps002(plugin: object) -> None:
    broken = MANIFESTS.replace("[10.20.0.0/16]", "[not-a-cidr]")
    inventory = Inventory.from_documents(parse_text(broken, "m.yaml"), kinds=_kinds(plugin))  # type: ignore[arg-type]
    assert [(message, pointer) for _, message, pointer in inventory.parsed.invalid] == [
        ("allowCIDRs entry 'not-a-cidr' is not a CIDR", ("spec", "allowCIDRs", 0))
    ]
