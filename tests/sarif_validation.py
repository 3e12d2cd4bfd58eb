"""Validation helpers for SARIF output, shared by every test that emits SARIF.

Three independent checks, each returning a list of readable error strings (empty when clean):

* :func:`schema_errors` - jsonschema against the official SARIF 2.1.0 schema that ships inside the npm
  package ``@microsoft/sarif-multitool`` (never a copy committed here);
* :func:`multitool_errors` - the SARIF Multitool's ``validate`` verb (SARIF and GitHub rule sets);
* :func:`github_rule_errors` - GitHub code scanning ingestion rules plus our own SARIF conventions.

The tools live in ``$NETPOLSCAN_TOOLS`` (default ``~/.cache/netpolscan-tools``), an npm prefix folder
filled by ``.ci/install-sarif-tools.sh``. When they are missing the helpers skip the test with a clear
reason, except on CI (``CI=true``) where they fail it: CI must never silently skip SARIF validation.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pytest

INSTALL_HINT = "run .ci/install-sarif-tools.sh (or set NETPOLSCAN_TOOLS to where it installed the tools)"
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "netpolscan/v1"
MULTITOOL_RULE_KINDS = "Sarif;Gh"  # the SARIF rule set and the GitHub Advanced Security rule set
MULTITOOL_TIMEOUT = 300

_PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "win32", "cygwin": "win32"}
_LEVELS = ("error", "warning", "note", "none")
_PRECISIONS = ("very-high", "high", "medium", "low")
_PROBLEM_SEVERITIES = ("error", "warning", "recommendation")
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# A relative-path reference: unreserved, sub-delims, ":" "@" and percent-escapes; no scheme, no query.
_RELATIVE_URI = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

# GitHub code scanning hard limits.
MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_TAGS = 20
MAX_DESCRIPTION = 1024


# ---------------------------------------------------------------------------------------------------------
# Locating the tools


def tools_dir() -> Path:
    """The npm prefix folder holding ``node_modules/@microsoft/sarif-multitool``."""
    return Path(os.environ.get("NETPOLSCAN_TOOLS") or "~/.cache/netpolscan-tools").expanduser()


def _platform_package() -> Path:
    platform = _PLATFORMS.get(sys.platform, sys.platform)
    return tools_dir() / "node_modules" / "@microsoft" / f"sarif-multitool-{platform}"


def multitool_path() -> Path | None:
    """The Multitool binary inside the npm package, made executable if needed; None when absent."""
    binary = _platform_package() / ("Sarif.Multitool.exe" if sys.platform == "win32" else "Sarif.Multitool")
    if not binary.is_file():
        return None
    if sys.platform != "win32" and not os.access(binary, os.X_OK):
        try:
            binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        except OSError:
            return None
    return binary


def schema_path() -> Path | None:
    """The official SARIF 2.1.0 schema shipped in the Multitool's npm package; None when absent."""
    preferred = _platform_package() / "sarif-2.1.0.json"
    if preferred.is_file():
        return preferred
    scope = tools_dir() / "node_modules" / "@microsoft"
    candidates = sorted(scope.glob("sarif-multitool*/**/sarif-2.1.0.json")) if scope.is_dir() else []
    return candidates[0] if candidates else None


def _missing(what: str) -> NoReturn:
    message = f"{what} not found under {tools_dir()}: {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} [CI=true: SARIF validation must not be skipped]", pytrace=False)
    pytest.skip(message)


def require_multitool() -> Path:
    """The Multitool binary, or skip the test (fail it when ``CI=true``) with the reason."""
    binary = multitool_path()
    if binary is None:
        _missing("SARIF Multitool (npm package @microsoft/sarif-multitool)")
    return binary


def require_schema() -> Path:
    """The SARIF 2.1.0 schema file, or skip the test (fail it when ``CI=true``) with the reason."""
    path = schema_path()
    if path is None:
        _missing("SARIF 2.1.0 schema (inside npm package @microsoft/sarif-multitool)")
    return path


# ---------------------------------------------------------------------------------------------------------
# 1. JSON Schema


@functools.lru_cache(maxsize=4)
def _validator(path: str) -> Any:
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_errors(doc: Mapping[str, Any]) -> list[str]:
    """Errors of ``doc`` against the official SARIF 2.1.0 JSON schema (sorted, one line each)."""
    validator = _validator(str(require_schema()))
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_json_path(e.absolute_path)}: {e.message}" for e in errors]


# ---------------------------------------------------------------------------------------------------------
# 2. SARIF Multitool


def _format_message(message: Mapping[str, Any], rule: Mapping[str, Any] | None) -> str:
    if isinstance(message.get("text"), str):
        return str(message["text"])
    template = ((rule or {}).get("messageStrings") or {}).get(message.get("id"), {}).get("text")
    arguments = [str(a) for a in message.get("arguments") or []]
    if not isinstance(template, str):
        return f"{message.get('id')} {arguments}"
    return re.sub(
        r"\{(\d+)\}", lambda m: arguments[int(m[1])] if int(m[1]) < len(arguments) else m[0], template
    )


def _multitool_findings(log: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for run in log.get("runs") or []:
        rules = ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
        by_id = {rule.get("id"): rule for rule in rules}
        for result in run.get("results") or []:
            index = result.get("ruleIndex", -1)
            rule = (
                rules[index]
                if isinstance(index, int) and 0 <= index < len(rules)
                else by_id.get(result.get("ruleId"))
            )
            # The Multitool omits level when it equals the default: fall back to the rule's, then "warning".
            level = (
                result.get("level")
                or ((rule or {}).get("defaultConfiguration") or {}).get("level")
                or "warning"
            )
            if result.get("kind", "fail") == "fail" and level == "error":
                where = ""
                for location in result.get("locations") or []:
                    region = (location.get("physicalLocation") or {}).get("region") or {}
                    if "startLine" in region:
                        where = f" (line {region['startLine']})"
                        break
                text = _format_message(result.get("message") or {}, rule)
                errors.append(f"{result.get('ruleId')}{where}: {text}")
        for invocation in run.get("invocations") or []:
            for key in ("toolConfigurationNotifications", "toolExecutionNotifications"):
                for note in invocation.get(key) or []:
                    if note.get("level", "warning") == "error":
                        ident = (note.get("descriptor") or {}).get("id", "notification")
                        errors.append(f"{ident}: {_format_message(note.get('message') or {}, None)}")
            if invocation.get("executionSuccessful") is False:
                errors.append("Multitool: execution was not successful")
    return errors


def multitool_errors(path: str | os.PathLike[str]) -> list[str]:
    """Errors the SARIF Multitool's ``validate`` verb finds in the SARIF file at ``path``.

    The Multitool exits 0 even when it finds errors, so it writes its own SARIF log (``--output``) and
    the errors are read from that log: results whose effective level is ``error`` and error-level tool
    notifications. Both rule sets run: SARIF's own and GitHub Advanced Security's (``--rule-kind``).
    """
    binary = require_multitool()
    target = Path(path).resolve()
    if not target.is_file():
        return [f"{target}: no such file"]
    env = dict(os.environ)
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    env.setdefault("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")  # minimal images lack libicu
    with tempfile.TemporaryDirectory(prefix="netpolscan-multitool-") as scratch:
        output = Path(scratch) / "validation.sarif"
        # The target goes first: --log and --rule-kind take lists and would swallow a trailing operand.
        command = [
            str(binary),
            "validate",
            str(target),
            "--output",
            str(output),
            "--log",
            "ForceOverwrite",
            "--rule-kind",
            MULTITOOL_RULE_KINDS,
        ]
        try:
            proc = subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=MULTITOOL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return [f"Multitool could not run: {error}"]
        console = (proc.stdout + proc.stderr).strip()[-2000:]
        if not output.is_file():
            return [f"Multitool wrote no output (exit status {proc.returncode}): {console}"]
        try:
            log = json.loads(output.read_text(encoding="utf-8-sig"))
        except ValueError as error:
            return [f"Multitool output is not JSON ({error}): {console}"]
    errors = _multitool_findings(log)
    if proc.returncode != 0:
        errors.append(f"Multitool exited with status {proc.returncode}: {console}")
    return errors


# ---------------------------------------------------------------------------------------------------------
# 3. GitHub code scanning ingestion rules (and our SARIF conventions)


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _text(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    text = value.get("text") if isinstance(value, dict) else None
    return text if isinstance(text, str) else None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _uri_errors(where: str, artifact: Any) -> list[str]:
    if not isinstance(artifact, dict):
        return [f"{where}: artifactLocation missing"]
    errors: list[str] = []
    uri = artifact.get("uri")
    if not isinstance(uri, str) or not uri:
        return [f"{where}.uri: missing"]
    if _SCHEME.match(uri):
        errors.append(f"{where}.uri: {uri!r} has a scheme; it must be a relative reference")
    if uri.startswith("/"):
        errors.append(f"{where}.uri: {uri!r} starts with '/'; it must be relative to the source root")
    if any(segment in ("..", ".") for segment in uri.split("/")):
        errors.append(f"{where}.uri: {uri!r} has '.' or '..' segments")
    if "\\" in uri:
        errors.append(f"{where}.uri: {uri!r} uses backslashes")
    if not _RELATIVE_URI.match(uri):
        errors.append(f"{where}.uri: {uri!r} is not a percent-encoded relative URI")
    if artifact.get("uriBaseId") != "%SRCROOT%":
        errors.append(f"{where}.uriBaseId: expected '%SRCROOT%', got {artifact.get('uriBaseId')!r}")
    return errors


def _physical_errors(where: str, location: Any) -> list[str]:
    physical = location.get("physicalLocation") if isinstance(location, dict) else None
    if not isinstance(physical, dict):
        return [f"{where}.physicalLocation: missing"]
    errors = _uri_errors(f"{where}.physicalLocation.artifactLocation", physical.get("artifactLocation"))
    region = physical.get("region")
    if not isinstance(region, dict):
        return [*errors, f"{where}.physicalLocation.region: missing"]
    for key in ("startLine", "startColumn"):
        value = region.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(f"{where}.physicalLocation.region.{key}: must be an integer >= 1, got {value!r}")
    return errors


def _rule_errors(where: str, rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{where}: not an object"]
    errors: list[str] = []
    rule_id, name = rule.get("id"), rule.get("name")
    if not isinstance(rule_id, str) or not rule_id:
        errors.append(f"{where}.id: missing")
    if not isinstance(name, str) or not _KEBAB.match(name):
        errors.append(f"{where}.name: {name!r} is not a kebab-case name")
    elif isinstance(rule_id, str) and name.lower() == rule_id.lower():
        errors.append(f"{where}.name: must differ from the id")
    for key in ("shortDescription", "fullDescription"):
        text = _text(rule, key)
        if not text:
            errors.append(f"{where}.{key}.text: missing or empty")
        elif _utf16_len(text) > MAX_DESCRIPTION:
            errors.append(
                f"{where}.{key}.text: {_utf16_len(text)} characters, GitHub allows {MAX_DESCRIPTION}"
            )
    help_ = rule.get("help")
    for key in ("text", "markdown"):
        if not isinstance(help_, dict) or not isinstance(help_.get(key), str) or not help_[key].strip():
            errors.append(f"{where}.help.{key}: missing or empty")
    level = (rule.get("defaultConfiguration") or {}).get("level")
    if level not in _LEVELS:
        errors.append(f"{where}.defaultConfiguration.level: missing or invalid ({level!r})")
    if "helpUri" in rule and not re.match(r"^https?://\S+$", str(rule["helpUri"])):
        errors.append(f"{where}.helpUri: {rule['helpUri']!r} is not an absolute http(s) URI")
    props = rule.get("properties")
    if not isinstance(props, dict):
        return [*errors, f"{where}.properties: missing"]
    tags = props.get("tags")
    if not isinstance(tags, list) or not 1 <= len(tags) <= MAX_TAGS:
        errors.append(f"{where}.properties.tags: must hold 1 to {MAX_TAGS} tags, got {tags!r}")
        tags = []
    elif len(set(map(str, tags))) != len(tags) or not all(isinstance(t, str) and t for t in tags):
        errors.append(f"{where}.properties.tags: must be unique non-empty strings")
    if "security-severity" in props:
        severity = props["security-severity"]
        if not isinstance(severity, str):
            errors.append(f"{where}.properties.security-severity: must be a string, got {severity!r}")
        else:
            try:
                number = float(severity)
            except ValueError:
                number = math.nan
            if not 0.0 <= number <= 10.0:
                errors.append(f"{where}.properties.security-severity: {severity!r} is not a score 0.0-10.0")
        if "security" not in tags:
            errors.append(f"{where}.properties.tags: a rule with security-severity must be tagged 'security'")
    if props.get("precision") not in _PRECISIONS:
        errors.append(f"{where}.properties.precision: {props.get('precision')!r} not in {_PRECISIONS}")
    if props.get("problem.severity") not in _PROBLEM_SEVERITIES:
        errors.append(f"{where}.properties.problem.severity: {props.get('problem.severity')!r} is invalid")
    return errors


def _result_errors(where: str, result: Any, rules: list[Any]) -> list[str]:
    if not isinstance(result, dict):
        return [f"{where}: not an object"]
    errors: list[str] = []
    rule_id, index = result.get("ruleId"), result.get("ruleIndex")
    if not isinstance(rule_id, str) or not rule_id:
        errors.append(f"{where}.ruleId: missing")
    if not isinstance(index, int) or not 0 <= index < len(rules):
        errors.append(f"{where}.ruleIndex: {index!r} does not index tool.driver.rules")
    elif isinstance(rules[index], dict) and rules[index].get("id") != rule_id:
        errors.append(f"{where}.ruleIndex: rules[{index}] is {rules[index].get('id')!r}, not {rule_id!r}")
    if result.get("level") not in _LEVELS:
        errors.append(f"{where}.level: must be written explicitly, got {result.get('level')!r}")
    if not (_text(result, "message") or "").strip():
        errors.append(f"{where}.message.text: missing or empty")
    locations = result.get("locations")
    if not isinstance(locations, list) or len(locations) != 1:
        errors.append(f"{where}.locations: exactly one location expected")
    else:
        errors += _physical_errors(f"{where}.locations[0]", locations[0])
        for n, logical in enumerate(locations[0].get("logicalLocations") or []):
            if not logical.get("fullyQualifiedName") or logical.get("kind") != "resource":
                errors.append(f"{where}.locations[0].logicalLocations[{n}]: fullyQualifiedName/kind invalid")
    for n, related in enumerate(result.get("relatedLocations") or []):
        errors += _physical_errors(f"{where}.relatedLocations[{n}]", related)
        if not isinstance(related.get("id"), int) or not _text(related, "message"):
            errors.append(f"{where}.relatedLocations[{n}]: id and message.text expected")
    fingerprints = result.get("partialFingerprints")
    if not isinstance(fingerprints, dict) or not isinstance(fingerprints.get(FINGERPRINT_KEY), str):
        errors.append(f"{where}.partialFingerprints: {FINGERPRINT_KEY!r} missing")
    elif not fingerprints[FINGERPRINT_KEY] or "primaryLocationLineHash" in fingerprints:
        errors.append(f"{where}.partialFingerprints: empty value or line-based primaryLocationLineHash")
    for n, suppression in enumerate(result.get("suppressions") or []):
        if "state" in suppression:
            errors.append(f"{where}.suppressions[{n}]: 'state' is not SARIF 2.1.0 (use 'status')")
        if suppression.get("kind") not in ("inSource", "external"):
            errors.append(f"{where}.suppressions[{n}].kind: {suppression.get('kind')!r} is invalid")
        if suppression.get("status") not in ("accepted", "underReview", "rejected"):
            errors.append(f"{where}.suppressions[{n}].status: {suppression.get('status')!r} is invalid")
    return errors


def github_rule_errors(doc: Mapping[str, Any]) -> list[str]:
    """Violations of GitHub code scanning's ingestion rules and of our SARIF conventions."""
    errors: list[str] = []
    if doc.get("$schema") != SCHEMA_URI:
        errors.append(f"$.$schema: expected {SCHEMA_URI!r}, got {doc.get('$schema')!r}")
    if doc.get("version") != "2.1.0":
        errors.append(f"$.version: expected '2.1.0', got {doc.get('version')!r}")
    for path, node in _walk(doc):
        if node is None:
            errors.append(f"{path}: null")
        elif node == [] and not path.endswith((".results", ".driver.rules")):  # GitHub wants those two
            errors.append(f"{path}: empty array")
        elif node == {}:
            errors.append(f"{path}: empty object")
        elif isinstance(node, dict) and "originalUriBaseIds" in node:
            errors.append(f"{path}.originalUriBaseIds: absolute base URIs are not emitted")
    runs = doc.get("runs")
    if not isinstance(runs, list) or len(runs) != 1:
        return [*errors, f"$.runs: exactly one run expected (GitHub allows at most {MAX_RUNS})"]
    run = runs[0]
    driver = (run.get("tool") or {}).get("driver") or {}
    if driver.get("name") != "netpolscan":
        errors.append(f"$.runs[0].tool.driver.name: {driver.get('name')!r}")
    for key in ("version", "informationUri", "semanticVersion"):
        if not isinstance(driver.get(key), str) or not driver[key]:
            errors.append(f"$.runs[0].tool.driver.{key}: missing")
    if isinstance(driver.get("semanticVersion"), str) and not _SEMVER.match(driver["semanticVersion"]):
        errors.append(f"$.runs[0].tool.driver.semanticVersion: {driver['semanticVersion']!r} is not SemVer")
    rules = driver.get("rules")
    if not isinstance(rules, list):
        errors.append("$.runs[0].tool.driver.rules: missing (GitHub requires the array, even empty)")
        rules = []
    if len(rules) > MAX_RULES:
        errors.append(f"$.runs[0].tool.driver.rules: {len(rules)} rules, GitHub allows {MAX_RULES}")
    ids = [rule.get("id") for rule in rules if isinstance(rule, dict)]
    if len(set(ids)) != len(ids):
        errors.append("$.runs[0].tool.driver.rules: duplicate rule ids")
    for n, rule in enumerate(rules):
        errors += _rule_errors(f"$.runs[0].tool.driver.rules[{n}]", rule)
    automation = (run.get("automationDetails") or {}).get("id")
    if not isinstance(automation, str) or not automation.endswith("/") or automation == "/":
        errors.append(f"$.runs[0].automationDetails.id: {automation!r} is not a 'category/' id")
    results = run.get("results")
    if not isinstance(results, list):
        errors.append("$.runs[0].results: missing (GitHub requires the array, even empty)")
        results = []
    if len(results) > MAX_RESULTS:
        errors.append(f"$.runs[0].results: {len(results)} results, GitHub allows {MAX_RESULTS}")
    for n, result in enumerate(results):
        errors += _result_errors(f"$.runs[0].results[{n}]", result, rules)
    invocations = run.get("invocations")
    if not isinstance(invocations, list) or len(invocations) != 1:
        errors.append("$.runs[0].invocations: exactly one invocation expected")
        invocations = []
    for invocation in invocations:
        if invocation.get("executionSuccessful") is not True:
            errors.append("$.runs[0].invocations[0].executionSuccessful: must be true")
        for n, note in enumerate(invocation.get("toolExecutionNotifications") or []):
            where = f"$.runs[0].invocations[0].toolExecutionNotifications[{n}]"
            if note.get("level") not in _LEVELS or not (_text(note, "message") or "").strip():
                errors.append(f"{where}: level and non-empty message.text expected")
            associated = note.get("associatedRule")
            if associated is not None:
                index = associated.get("index")
                if not isinstance(associated.get("id"), str) or not associated["id"]:
                    errors.append(f"{where}.associatedRule.id: missing")
                elif index is not None and (
                    not isinstance(index, int) or not 0 <= index < len(ids) or ids[index] != associated["id"]
                ):
                    errors.append(f"{where}.associatedRule.index: {index!r} does not point at that rule")
    return errors
