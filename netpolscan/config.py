"""The configuration file ``.netpolscan.yaml``: discovery, schema validation, and what it changes.

Found upward from the working directory (or given with ``--config``); validated against
``schemas/config.schema.json``. A bad file stops the run with one line naming the file, line and key.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from netpolscan.errors import NetpolscanError
from netpolscan.plugin_api import Finding, Rule, Severity
from netpolscan.sources.document import Document, Pointer
from netpolscan.sources.files import decode
from netpolscan.sources.yamlparse import parse_text
from netpolscan.suppression import IgnoreEntry, apply_ignores

CONFIG_NAMES = (".netpolscan.yaml", ".netpolscan.yml")


def schemas_dir() -> Path:
    packaged = Path(__file__).parent / "_schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    return data


@dataclass
class Config:
    path: Path | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str | None = None
    namespace: str | None = None
    rule_settings: dict[str, Any] = field(default_factory=dict)
    ignores: list[IgnoreEntry] = field(default_factory=list)
    pod_cidrs: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    service_cidrs: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # plugins: {NAME: {...}}
    document: Document | None = None  # the parsed file, for the line of a key

    def apply_to_rules(self, rules: list[Rule]) -> list[Rule]:
        """Per-rule level overrides and disabling."""
        result = []
        for rule in rules:
            setting = self.rule_settings.get(rule.id, self.rule_settings.get(rule.name))
            if setting is None:
                result.append(rule)
                continue
            if isinstance(setting, bool):  # YAML reads an unquoted `off` as false
                setting = {"enabled": setting}
            if isinstance(setting, str):
                setting = {"enabled": False} if setting == "off" else {"level": setting}
            if setting.get("enabled") is False:
                continue
            level = setting.get("level")
            result.append(replace(rule, level=Severity.parse(level)) if level else rule)
        return result

    def suppress(self, findings: list[Finding]) -> list[Finding]:
        """Mark findings matched by an ``ignores`` entry as suppressed (kind external)."""
        return apply_ignores(findings, self.ignores, self.path.name if self.path else "configuration")

    def check_plugin_settings(
        self, schemas: Mapping[str, dict[str, Any]], loaded: Iterable[str], blocked: Iterable[str] = ()
    ) -> None:
        """Each ``plugins:`` section names a loaded plugin and matches the schema that plugin gives.

        A disabled plugin's section is not checked; a plugin without a schema takes any mapping.
        """
        loaded, blocked = set(loaded), set(blocked)
        shown = self.path.as_posix() if self.path else "configuration"
        for name, settings in self.plugin_settings.items():
            if name in blocked:
                continue
            if name not in loaded:
                line = self.document.position(("plugins", name))[0] if self.document else 1
                raise NetpolscanError(
                    f"{shown}:{line}: plugins.{name}: no plugin named {name!r} is installed "
                    f"(loaded: {', '.join(sorted(loaded))})"
                )
            schema = schemas.get(name)
            if schema is None:
                continue
            import jsonschema  # only a configuration with plugin settings pays for it

            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise NetpolscanError(
                    f"plugin {name!r} gives an invalid config schema: {exc.message}"
                ) from None
            check_against_schema(schema, settings, self.document, ("plugins", name), shown)


def check_against_schema(
    schema: dict[str, Any], data: object, doc: Document | None, base: Pointer = (), shown: str = ""
) -> None:
    """Stop the run with ``FILE:LINE: message`` naming the first key of ``data`` (at ``base`` in ``doc``)
    that ``schema`` rejects (``SHOWN: message`` for data that comes from no file)."""
    import jsonschema  # only runs with a configuration file pay for it (it is slow to import)

    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path)
    )
    if not errors:
        return
    error = errors[0]
    pointer = (*base, *error.absolute_path)
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        pointer = (*pointer, unknown[0]) if unknown else pointer
        message = f"unknown key {'.'.join(map(str, pointer))!r}"
    else:
        key = ".".join(map(str, pointer)) or "(top level)"
        message = f"{key}: {error.message}"
    where = f"{doc.path}:{doc.position(pointer)[0]}" if doc is not None else shown
    raise NetpolscanError(f"{where}: {message}")


def find_config(start: Path | None = None) -> Path | None:
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def load_config(explicit: str | None = None) -> Config:
    """The configuration in effect (empty when there is no file)."""
    path = Path(explicit) if explicit else find_config()
    if path is None:
        return Config()
    shown = path.as_posix()
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise NetpolscanError(f"{shown}: cannot read config: {exc.strerror or exc}") from None
    decoded = decode(raw_bytes, shown)
    if decoded.text is None:
        raise NetpolscanError(f"{shown}:{decoded.error_line}: {decoded.error}")
    docs = list(parse_text(decoded.text, shown))
    if not docs:
        return Config(path=path)
    doc = docs[0]
    if doc.error is not None:
        raise NetpolscanError(f"{shown}:{doc.error_line}: {doc.error}")
    data = doc.data
    if not isinstance(data, dict):
        raise NetpolscanError(f"{shown}:{doc.line}: the configuration must be a mapping")
    check_against_schema(load_schema("config.schema.json"), data, doc)
    config = Config(
        path=path,
        select=list(data.get("select", [])),
        ignore=list(data.get("ignore", [])),
        fail_on=data.get("fail-on"),
        namespace=data.get("namespace"),
        rule_settings=dict(data.get("rules", {})),
        ignores=[
            IgnoreEntry(
                tuple(e["rules"]),
                e.get("kind"),
                e.get("namespace"),
                e.get("name"),
                e.get("path"),
                e.get("reason", ""),
            )
            for e in data.get("ignores", [])
        ],
        plugin_settings={str(name): dict(value) for name, value in data.get("plugins", {}).items()},
        document=doc,
    )
    cluster = data.get("cluster", {})
    for key, target in (("podCIDRs", config.pod_cidrs), ("serviceCIDRs", config.service_cidrs)):
        for i, value in enumerate(cluster.get(key, [])):
            try:
                target.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                line, _ = doc.position(("cluster", key, i))
                raise NetpolscanError(
                    f"{shown}:{line}: cluster.{key}[{i}]: {value!r} is not a valid CIDR"
                ) from None
    return config
