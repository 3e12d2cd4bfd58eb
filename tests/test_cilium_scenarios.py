"""netpolscan's own Cilium scenarios (``tests/cilium_scenarios``): each is grounded in a sentence of Cilium's
documentation and runs through the engine with the fixture cluster of that directory."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.model import Inventory
from tests.cilium_probes import inventory_of, verdict

DIRECTORY = Path(__file__).resolve().parent / "cilium_scenarios"
FIXTURE = DIRECTORY / "fixture.yaml"
LINE = re.compile(r"^(\S+) -> (\S+) (\d+)/(TCP|UDP|SCTP) (allow|deny)( \[node-placement\])?$")


def _scenarios() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(DIRECTORY.glob("*.yaml")):
        if path != FIXTURE:
            for scenario in yaml.safe_load(path.read_text(encoding="utf-8"))["scenarios"]:
                found.append({**scenario, "file": path.name})
    return found


SCENARIOS = _scenarios()


@cache
def _inventory(name: str) -> Inventory:
    (scenario,) = [s for s in SCENARIOS if s["name"] == name]
    text = FIXTURE.read_text(encoding="utf-8") + "\n---\n" + scenario["policies"]
    return inventory_of(text, f"{scenario['file']}#{name}")


def _probes() -> list[object]:
    params: list[object] = []
    for scenario in SCENARIOS:
        for number, line in enumerate(scenario["expect"], start=1):
            params.append(pytest.param(scenario["name"], line, id=f"{scenario['name']}-{number}"))
    return params


def test_every_scenario_is_grounded_and_well_formed() -> None:
    assert len(SCENARIOS) >= 40
    names = [s["name"] for s in SCENARIOS]
    assert len(set(names)) == len(names), "scenario names are unique"
    for scenario in SCENARIOS:
        assert set(scenario) == {"name", "source", "quote", "policies", "expect", "file"}, scenario["name"]
        assert scenario["source"].startswith(("Documentation/", "CiliumNetworkPolicy CRD")), scenario["name"]
        assert len(scenario["quote"].split()) >= 5, scenario["name"]
        assert scenario["expect"] and all(LINE.match(line) for line in scenario["expect"]), scenario["name"]
        assert {"allow", "deny"} & {line.split()[-1] for line in scenario["expect"]}


def test_every_scenario_policy_is_valid() -> None:
    for scenario in SCENARIOS:
        parsed = _inventory(scenario["name"]).parsed
        assert not parsed.invalid and not parsed.unparseable, (scenario["name"], parsed.invalid)


@pytest.mark.parametrize(("name", "line"), _probes())
def test_scenario(name: str, line: str) -> None:
    match = LINE.match(line)
    assert match is not None, line
    source, destination, port, protocol, expected = match.group(1, 2, 3, 4, 5)
    assert verdict(_inventory(name), source, destination, int(port), protocol) == expected, line
