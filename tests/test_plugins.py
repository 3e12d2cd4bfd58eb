"""The plugin manager: built-in plugin through entry points, rule validation, failing rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import metadata

import pytest

from netpolscan import hookimpl
from netpolscan.context import ScanContext
from netpolscan.engine import run_rules, select_rules
from netpolscan.errors import NetpolscanError
from netpolscan.model import Inventory
from netpolscan.plugin_api import ObjectRef, Rule, Severity, Violation
from netpolscan.plugins import (
    GROUP,
    check_hooks,
    collect_policy_kinds,
    collect_rules,
    formatter_owners,
    plugin_manager,
    register_plugin,
)
from netpolscan.sources.yamlparse import parse_text


def test_builtin_is_an_entry_point_of_the_group() -> None:
    names = {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}
    assert names.get("builtin") == "netpolscan.builtin"
    pm = plugin_manager()
    assert pm.get_plugin("builtin") is not None
    rules = collect_rules(pm)
    assert rules and all(r.plugin == "builtin" and r.id.startswith("NPS") for r in rules)


def _rule(rule_id: str, name: str, check: Callable[[ScanContext], Iterator[Violation]]) -> Rule:
    return Rule(rule_id, name, Severity.WARNING, check, summary="s")


def _no_findings(ctx: ScanContext) -> Iterator[Violation]:
    return iter(())


class _Plugin:
    def __init__(self, *rules: Rule):
        self.rules = rules

    @hookimpl
    def netpolscan_register_rules(self, register: Callable[[Rule], None]) -> None:
        for rule in self.rules:
            register(rule)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ((_rule("NPS950", "x-y", _no_findings),), "reserved"),
        ((_rule("acme1", "x-y", _no_findings),), "capital letters"),
        ((_rule("ACME101", "Bad_Name", _no_findings),), "kebab-case"),
        ((_rule("ACME101", "a-b", _no_findings), _rule("ACME101", "c-d", _no_findings)), "duplicate rule id"),
    ],
)
def test_bad_third_party_rules_fail_the_load(rules: tuple[Rule, ...], message: str) -> None:
    pm = plugin_manager()
    pm.register(_Plugin(*rules), name="acme")
    with pytest.raises(NetpolscanError, match=message):
        collect_rules(pm)


def test_third_party_rule_runs_and_a_raising_rule_is_a_notification() -> None:
    def fires(ctx: ScanContext) -> Iterator[Violation]:
        for doc in ctx.documents:
            yield Violation("found it", doc, ("metadata", "name"))

    def boom(ctx: ScanContext) -> Iterator[Violation]:
        raise RuntimeError("kaput")

    pm = plugin_manager()
    pm.register(
        _Plugin(_rule("ACME101", "always-fires", fires), _rule("ACME102", "always-raises", boom)), name="acme"
    )
    rules = select_rules(collect_rules(pm), select=["ACME"])
    assert [r.id for r in rules] == ["ACME101", "ACME102"]
    docs = list(parse_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n", "n.yaml"))
    result = run_rules(ScanContext(Inventory.from_documents(docs)), rules)
    assert [(f.rule_id, f.location.line) for f in result.findings] == [("ACME101", 4)]
    assert len(result.notifications) == 1 and "ACME102" in result.notifications[0].message
    assert "kaput" in result.notifications[0].message


def test_blocking_the_builtin_plugin_leaves_no_builtin_rules() -> None:
    assert collect_rules(plugin_manager(blocked=("builtin",))) == []


def test_fingerprints_ignore_line_moves() -> None:
    def fires(ctx: ScanContext) -> Iterator[Violation]:
        for doc in ctx.documents:
            yield Violation("x", doc, (), ObjectRef("Namespace", "", "k"))

    rule = _rule("ACME101", "always-fires", fires)
    one = parse_text("kind: A\napiVersion: v1\n", "f.yaml")
    two = parse_text("# a comment\n\n\nkind: A\napiVersion: v1\n", "f.yaml")
    f1 = run_rules(ScanContext(Inventory.from_documents(one)), [rule]).findings[0]
    f2 = run_rules(ScanContext(Inventory.from_documents(two)), [rule]).findings[0]
    assert f1.location.line != f2.location.line and f1.fingerprint == f2.fingerprint


# --- hooks are called through pluggy: marked, validated, specname honoured ------------------------


class _SpecnamePlugin:
    """Implements both hooks under other names, through ``specname``."""

    @hookimpl(specname="netpolscan_register_rules")
    def house_rules(self, register: Callable[[Rule], None]) -> None:
        register(_rule("ACME101", "always-quiet", _no_findings))

    @hookimpl(specname="netpolscan_register_formatters")
    def house_formats(self, register: Callable[[str, object], None]) -> None:
        register("acme-none", lambda report: "")


def test_specname_implementations_are_called_and_attributed() -> None:
    pm = plugin_manager()
    register_plugin(pm, _SpecnamePlugin(), "acme")
    check_hooks(pm)
    rules = {r.id: r for r in collect_rules(pm)}
    assert rules["ACME101"].plugin == "acme" and rules["NPS101"].plugin == "builtin"
    owners = formatter_owners(pm)
    assert owners["acme-none"][0] == "acme" and owners["sarif"][0] == "builtin"


class _Misspelt:
    @hookimpl
    def netpolscan_register_rule(self, register: Callable[[Rule], None]) -> None:
        raise AssertionError("never called")


class _Unmarked:
    def netpolscan_register_rule(self, register: Callable[[Rule], None]) -> None:
        raise AssertionError("never called")


class _UnmarkedButRightName:
    def netpolscan_register_rules(self, register: Callable[[Rule], None]) -> None:
        register(_rule("ACME101", "always-quiet", _no_findings))


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (_Misspelt(), "plugin 'acme' implements an unknown hook 'netpolscan_register_rule'; known hooks: "),
        (_Unmarked(), "plugin 'acme': netpolscan_register_rule is not marked with @netpolscan.hookimpl"),
        (_UnmarkedButRightName(), "plugin 'acme': netpolscan_register_rules is not marked with @netpolscan"),
    ],
    ids=["marked-misspelt", "unmarked-misspelt", "unmarked"],
)
def test_a_hook_pluggy_would_not_call_fails_the_load(plugin: object, message: str) -> None:
    pm = plugin_manager()
    with pytest.raises(NetpolscanError) as failure:
        register_plugin(pm, plugin, "acme")
        check_hooks(pm)
    assert str(failure.value).startswith(message) and "\n" not in str(failure.value)


def test_a_hookimpl_with_arguments_the_spec_lacks_is_one_line() -> None:
    class Wrong:
        @hookimpl
        def netpolscan_register_rules(self, register: object, extra: object) -> None:
            pass

    with pytest.raises(NetpolscanError) as failure:
        register_plugin(plugin_manager(), Wrong(), "acme")
    assert str(failure.value).startswith("plugin 'acme': ") and "\n" not in str(failure.value)
    assert "extra" in str(failure.value)


# --- policy kinds ----------------------------------------------------------------------------------


class _Kind:
    def __init__(self, name: str) -> None:
        self.name = name

    def handles(self, api_version: str, kind: str) -> bool:
        return kind == "Firewall"

    def parse(self, data: object, doc: object, namespace: str, sink: object) -> object | None:
        return data

    def build(self, objects: object, cluster: object) -> tuple[()]:
        return ()


class _KindPlugin:
    def __init__(self, *kinds: object) -> None:
        self.kinds = kinds

    @hookimpl
    def netpolscan_register_policy_kinds(self, register: Callable[[object], None]) -> None:
        for kind in self.kinds:
            register(kind)


def test_policy_kinds_are_collected_by_name() -> None:
    pm = plugin_manager()
    firewall = _Kind("acme-firewall")
    register_plugin(pm, _KindPlugin(firewall), "acme")
    kinds = collect_policy_kinds(pm)
    assert kinds["acme-firewall"] is firewall
    assert list(kinds)[-1] == "acme-firewall"  # the built-in plugin's kinds come first


@pytest.mark.parametrize(
    ("plugins", "message"),
    [
        ({"acme": (_Kind("fw"), _Kind("fw"))}, "plugin 'acme' registers the policy kind 'fw' twice"),
        ({"acme": (_Kind("fw"),), "acme-two": (_Kind("fw"),)}, "plugins 'acme' and 'acme-two' both register"),
        ({"acme": (object(),)}, "is not a PolicyKind (it lacks name, handles, parse, build)"),
    ],
    ids=["twice", "two-plugins", "not-a-kind"],
)
def test_bad_policy_kinds_fail_the_load(plugins: dict[str, tuple[object, ...]], message: str) -> None:
    pm = plugin_manager()
    for name, kinds in plugins.items():
        register_plugin(pm, _KindPlugin(*kinds), name)
    with pytest.raises(NetpolscanError, match=re.escape(message)):
        collect_policy_kinds(pm)
