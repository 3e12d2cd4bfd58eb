"""The plugin manager: hook specs, entry-point discovery, the built-in safety net, rule collection."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy
from pluggy import HookCaller

from netpolscan import hookspecs
from netpolscan.errors import NetpolscanError
from netpolscan.model.tiers import PolicyKind
from netpolscan.plugin_api import Formatter, Rule

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


def registrations(
    pm: pluggy.PluginManager, hook: str, what: str
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(plugin name, the arguments of each ``register(...)`` call) per plugin implementing a register hook,
    the built-in plugin first, then by name. A hook that raises is a load error naming the plugin."""
    for plugin_name, caller in sorted(each_plugin(pm, hook), key=lambda item: item[0] != BUILTIN):
        calls: list[tuple[Any, ...]] = []
        try:
            caller(register=_collect(calls))
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise NetpolscanError(
                f"plugin {plugin_name!r} failed to register its {what}: {problem}"
            ) from None
        yield plugin_name, calls


def _collect(calls: list[tuple[Any, ...]]) -> Callable[..., None]:
    def register(*args: Any) -> None:
        calls.append(args)

    return register


def collect_rules(pm: pluggy.PluginManager) -> list[Rule]:
    """Every registered rule, validated (id format, reserved prefix, duplicates), sorted by id."""
    rules: dict[str, Rule] = {}
    prefixes: dict[str, str] = {}
    for plugin_name, calls in registrations(pm, "netpolscan_register_rules", "rules"):
        for (rule,) in calls:
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
    for plugin_name, calls in registrations(pm, "netpolscan_register_formatters", "formats"):
        for name, render in calls:
            if name in formatters:
                raise NetpolscanError(f"plugin {plugin_name!r}: output format {name!r} is already registered")
            formatters[name] = (plugin_name, render)
    return formatters


def collect_policy_kinds(pm: pluggy.PluginManager) -> dict[str, PolicyKind]:
    """Every registered policy kind by name: the built-in plugin's first, then by plugin name.

    Parsing offers a document to the kinds in this order; the first that ``handles`` it reads it.
    """
    kinds: dict[str, tuple[str, PolicyKind]] = {}
    for plugin_name, calls in registrations(pm, "netpolscan_register_policy_kinds", "policy kinds"):
        for (kind,) in calls:
            name = getattr(kind, "name", None)
            missing = [m for m in ("handles", "parse", "build") if not callable(getattr(kind, m, None))]
            if not isinstance(name, str) or not name or missing:
                lacks = ", ".join(([] if isinstance(name, str) and name else ["name"]) + missing)
                raise NetpolscanError(
                    f"plugin {plugin_name!r}: policy kind {kind!r} is not a PolicyKind (it lacks {lacks})"
                )
            if name in kinds:
                owner = kinds[name][0]
                raise NetpolscanError(
                    f"plugins {owner!r} and {plugin_name!r} both register the policy kind {name!r}"
                    if owner != plugin_name
                    else f"plugin {plugin_name!r} registers the policy kind {name!r} twice"
                )
            kinds[name] = (plugin_name, kind)
    return {name: kind for name, (_plugin, kind) in kinds.items()}


def collect_config_schemas(pm: pluggy.PluginManager) -> dict[str, dict[str, Any]]:
    """Plugin name -> the JSON Schema of its ``plugins:`` settings, for plugins that give one."""
    schemas: dict[str, dict[str, Any]] = {}
    for plugin_name, caller in each_plugin(pm, "netpolscan_config_schema"):
        try:
            results = caller()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise NetpolscanError(
                f"plugin {plugin_name!r} failed to give its config schema: {problem}"
            ) from None
        for schema in results:
            if not isinstance(schema, dict):
                raise NetpolscanError(
                    f"plugin {plugin_name!r}: netpolscan_config_schema must return a dict (a JSON Schema), "
                    f"not {type(schema).__name__}"
                )
            schemas[plugin_name] = schema
    return schemas


def plugin_names(pm: pluggy.PluginManager) -> list[str]:
    """The names of the loaded (not blocked) plugins."""
    return sorted(str(name) for name, plugin in pm.list_name_plugin() if plugin is not None)


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
