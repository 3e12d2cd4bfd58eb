"""The plugin manager: hook specs, entry-point discovery, the built-in safety net, rule collection."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata

import pluggy
from pluggy import HookCaller

from netpolscan import hookspecs
from netpolscan.errors import NetpolscanError
from netpolscan.findings import Formatter, Rule

GROUP = "netpolscan"
BUILTIN = "builtin"
RULE_ID = re.compile(r"^(?P<prefix>[A-Z]{2,4})(?P<number>\d{3})$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, refusing a ``netpolscan_*`` function that is not marked with ``@hookimpl``.

    pluggy itself skips an unmarked function silently: a plugin whose hook was misspelt or left unmarked
    would then register nothing and nobody would know.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(f"{GROUP}_") and inspect.isroutine(getattr(plugin, name)):
            raise pluggy.PluginValidationError(plugin, f"{name} is not marked with @netpolscan.hookimpl")
        return opts


def plugin_manager(blocked: tuple[str, ...] = ()) -> pluggy.PluginManager:
    """A plugin manager with every installed plugin (and always the built-in one) registered."""
    pm = PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    for entry_point in sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name):
        if pm.is_blocked(entry_point.name) or pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken third-party plugin stops the run with one clear line
            problem = f"{type(exc).__name__}: {exc}"
            where = f"plugin {entry_point.name!r} ({entry_point.value})"
            raise NetpolscanError(f"{where} failed to load: {problem}") from None
        register_plugin(pm, plugin, entry_point.name)
    if pm.get_plugin(BUILTIN) is None and not pm.is_blocked(BUILTIN):
        # safety net: running from a source tree without installed metadata
        register_plugin(pm, importlib.import_module("netpolscan.builtin"), BUILTIN)
    check_hooks(pm)
    return pm


def register_plugin(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin`` as ``name``; a hook pluggy rejects (unmarked, bad arguments) is one clear line."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise NetpolscanError(f"plugin {name!r}: {_one_line(exc)}; known hooks: {_known_hooks()}") from None


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Every ``@hookimpl`` must implement a known hook (its name, or its ``specname``)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or str(exc.plugin)
        hook = re.search(r"unknown hook '([^']+)'", str(exc))
        what = f"an unknown hook {hook.group(1)!r}" if hook else f"an invalid hook ({_one_line(exc)})"
        raise NetpolscanError(f"plugin {name!r} implements {what}; known hooks: {_known_hooks()}") from None


def _known_hooks() -> str:
    return ", ".join(sorted(n for n in dir(hookspecs) if n.startswith(f"{GROUP}_")))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def each_plugin(pm: pluggy.PluginManager, hook: str) -> Iterator[tuple[str, HookCaller]]:
    """(plugin name, a caller of ``hook`` that reaches only that plugin) for each plugin implementing it.

    ``get_hookimpls()`` says which plugins implement the hook; calling each one through a manager that
    holds only that plugin keeps pluggy's own calling (argument subsets, ``specname``, several
    implementations in one plugin) and tells whose registrations are whose, which one call of
    ``pm.hook.<hook>(...)`` cannot. (``subset_hook_caller`` cannot either: it keeps a plugin whose
    implementation has another name through ``specname``.) Plugins come in name order.
    """
    owners = {impl.plugin_name: impl.plugin for impl in getattr(pm.hook, hook).get_hookimpls()}
    for name in sorted(owners):
        single = PluginManager(GROUP)
        single.add_hookspecs(hookspecs)
        single.register(owners[name], name=name)
        yield name, getattr(single.hook, hook)


def collect_rules(pm: pluggy.PluginManager) -> list[Rule]:
    """Every registered rule, validated (id format, reserved prefix, duplicates), sorted by id."""
    rules: dict[str, Rule] = {}
    prefixes: dict[str, str] = {}
    for plugin_name, hook in each_plugin(pm, "netpolscan_register_rules"):
        found: list[Rule] = []
        try:
            hook(register=found.append)
        except Exception as exc:
            raise NetpolscanError(
                f"plugin {plugin_name!r} failed to register its rules: {type(exc).__name__}: {exc}"
            ) from None
        for rule in found:
            _validate_rule(rule, plugin_name, rules, prefixes)
            rules[rule.id] = rule if rule.plugin else _with_plugin(rule, plugin_name)
    return [rules[key] for key in sorted(rules)]


def _with_plugin(rule: Rule, plugin: str) -> Rule:
    from dataclasses import replace

    return replace(rule, plugin=plugin)


def _validate_rule(rule: Rule, plugin: str, rules: dict[str, Rule], prefixes: dict[str, str]) -> None:
    match = RULE_ID.match(rule.id)
    if not match:
        raise NetpolscanError(
            f"plugin {plugin!r}: rule id {rule.id!r} must be 2-4 capital letters and 3 digits"
        )
    if not RULE_NAME.match(rule.name) or rule.name.upper() == rule.id:
        raise NetpolscanError(
            f"plugin {plugin!r}: rule {rule.id} name {rule.name!r} must be kebab-case words"
        )
    prefix = match.group("prefix")
    if prefix == "NPS" and plugin != BUILTIN:
        raise NetpolscanError(
            f"plugin {plugin!r}: the rule prefix NPS is reserved for the built-in rules ({rule.id})"
        )
    owner = prefixes.setdefault(prefix, plugin)
    if owner != plugin:
        raise NetpolscanError(f"plugins {owner!r} and {plugin!r} both use the rule prefix {prefix}")
    if rule.id in rules:
        raise NetpolscanError(f"plugin {plugin!r}: duplicate rule id {rule.id}")
    if any(existing.name == rule.name for existing in rules.values()):
        raise NetpolscanError(f"plugin {plugin!r}: duplicate rule name {rule.name}")


def collect_formatters(pm: pluggy.PluginManager) -> dict[str, Formatter]:
    """Output formats by name; the built-in plugin's come first and cannot be replaced."""
    return {name: render for name, (_plugin, render) in formatter_owners(pm).items()}


def formatter_owners(pm: pluggy.PluginManager) -> dict[str, tuple[str, Formatter]]:
    """Output format name -> (plugin name, render function), validated."""
    formatters: dict[str, tuple[str, Formatter]] = {}
    for plugin_name, hook in sorted(
        each_plugin(pm, "netpolscan_register_formatters"), key=lambda item: item[0] != BUILTIN
    ):

        def register(name: str, render: Formatter, _plugin: str = plugin_name) -> None:
            if name in formatters:
                raise NetpolscanError(f"plugin {_plugin!r}: output format {name!r} is already registered")
            formatters[name] = (_plugin, render)

        try:
            hook(register=register)
        except NetpolscanError:
            raise
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise NetpolscanError(
                f"plugin {plugin_name!r} failed to register its formats: {problem}"
            ) from None
    return formatters


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    rules: list[str]
    formats: list[str]


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Name, distribution, version, rule ids and formats of every loaded plugin."""
    rules_by_plugin: dict[str, list[str]] = {}
    for rule in collect_rules(pm):  # validates every plugin's rules (ids, prefixes) like a scan does
        rules_by_plugin.setdefault(rule.plugin, []).append(rule.id)
    formats_by_plugin: dict[str, list[str]] = {}
    for fmt, (owner, _render) in formatter_owners(pm).items():
        formats_by_plugin.setdefault(owner, []).append(fmt)
    dists = {name: (dist.metadata["Name"], dist.version) for dist, name in _entry_point_dists()}
    rows: list[PluginInfo] = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: (item[0] != BUILTIN, str(item[0]))):
        if plugin is None:
            continue
        own = ("netpolscan", _own_version()) if name == BUILTIN else ("-", "-")
        distribution, version = dists.get(str(name), own)
        rules = sorted(rules_by_plugin.get(str(name), []))
        rows.append(PluginInfo(str(name), distribution, version, rules, formats_by_plugin.get(str(name), [])))
    return rows


def _entry_point_dists() -> list[tuple[metadata.Distribution, str]]:
    found = []
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == GROUP:
                found.append((dist, ep.name))
    return found


def _own_version() -> str:
    from netpolscan import __version__

    return __version__
