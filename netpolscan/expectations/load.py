"""Reading an expectations file: YAML with line marks, schema validation, ports and CIDRs.

Any problem stops the run with one line ``FILE:LINE: entry N: what is wrong`` (exit 2).
"""

from __future__ import annotations

import ipaddress
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netpolscan.analysis.ports import PROTOCOL_ORDER, PortSet
from netpolscan.config import load_schema
from netpolscan.errors import NetpolscanError
from netpolscan.expectations.spec import API_VERSION, KIND, EndpointSpec, Expectation, ExpectationsFile
from netpolscan.sources.document import Document
from netpolscan.sources.files import decode
from netpolscan.sources.yamlparse import parse_text

SCHEMA = "expectations.schema.json"
ENDPOINT_SHAPES = (
    "{namespace, workload}, {namespace, labels}, {namespaceLabels} with optional labels, "
    "{namespace} or {cidr}"
)
_cache: dict[tuple[str, int, int], ExpectationsFile] = {}


def is_expectations_document(doc: Document) -> bool:
    data = doc.data
    return isinstance(data, dict) and data.get("kind") == KIND and data.get("apiVersion") == API_VERSION


def load_expectations(path: str) -> ExpectationsFile:
    """Load and validate the expectations file at ``path`` (cached by path, size and mtime)."""
    try:
        stat = os.stat(path)
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        cached = _cache.get(key)
        if cached is not None:
            return cached
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot read expectations: {exc.strerror or exc}") from None
    decoded = decode(raw, path)
    if decoded.text is None:
        raise NetpolscanError(f"{path}:{decoded.error_line}: {decoded.error}")
    documents = list(parse_text(decoded.text, path))
    if len(documents) != 1:
        what = "is empty" if not documents else f"has {len(documents)} documents"
        raise NetpolscanError(f"{path}:1: the expectations file {what}; it must be one {KIND} document")
    loaded = expectations_from_document(documents[0])
    _cache[key] = loaded
    return loaded


def expectations_from_document(doc: Document) -> ExpectationsFile:
    """Validate one parsed document and build its expectations."""
    if doc.error is not None:
        raise NetpolscanError(f"{doc.path}:{doc.error_line or doc.line}: {doc.error}")
    data = doc.data
    if not isinstance(data, dict):
        raise NetpolscanError(f"{doc.path}:{doc.line}: the expectations file must be a mapping")
    _schema_check(doc, data)
    expectations = tuple(_expectation(doc, i, entry) for i, entry in enumerate(data["expectations"]))
    return ExpectationsFile(doc.path, doc, expectations)


def _fail(doc: Document, pointer: Sequence[str | int], message: str) -> NetpolscanError:
    line, _ = doc.position(tuple(pointer))
    if len(pointer) >= 2 and pointer[0] == "expectations" and isinstance(pointer[1], int):
        message = f"entry {pointer[1] + 1}: {message}"
    return NetpolscanError(f"{doc.path}:{line}: {message}")


_ENDPOINT_SHAPES = (
    frozenset({"namespace", "workload"}),
    frozenset({"namespace", "labels"}),
    frozenset({"namespaceLabels"}),
    frozenset({"namespaceLabels", "labels"}),
    frozenset({"namespace"}),
    frozenset({"cidr"}),
)
_ENTRY_KEYS = frozenset({"from", "to", "ports", "expect", "reason"})


def _plain_endpoint(endpoint: Any) -> bool:
    if not isinstance(endpoint, dict) or frozenset(endpoint) not in _ENDPOINT_SHAPES:
        return False
    for key, value in endpoint.items():
        if key in ("labels", "namespaceLabels"):
            if (
                not isinstance(value, dict)
                or not value
                or not all(isinstance(v, str) for v in value.values())
            ):
                return False
        elif not isinstance(value, str) or not value:
            return False
    return True


def _plainly_valid(data: dict[str, Any]) -> bool:
    """A quick check that ``data`` meets the schema, for the usual file (thousands of entries take
    jsonschema seconds); False sends it to jsonschema, which also says what is wrong. Never True for a
    document the schema rejects."""
    if set(data) - {"apiVersion", "kind", "metadata", "expectations"} or "metadata" in data:
        return False
    if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        return False
    entries = data.get("expectations")
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not entry.keys() <= _ENTRY_KEYS
            or entry.get("expect") not in ("allow", "deny")
        ):
            return False
        for side in ("from", "to"):
            value = entry.get(side)
            items = value if isinstance(value, list) else [value]
            if not items or not all(_plain_endpoint(item) for item in items):
                return False
        ports = entry.get("ports", [1])
        if not isinstance(ports, list) or not ports:
            return False
        if not all(isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in ports):
            return False
        if not isinstance(entry.get("reason", ""), str):
            return False
    return True


def _schema_check(doc: Document, data: dict[str, Any]) -> None:
    if _plainly_valid(data):
        return
    import jsonschema  # only runs that read an expectations file pay for it

    validator = jsonschema.Draft202012Validator(load_schema(SCHEMA))
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    field = ".".join(str(p) for p in path[2:]) or "the entry"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        key = unknown[0] if unknown else "?"
        raise _fail(doc, [*path, key], f"unknown key {key!r}" + (f" in {field}" if len(path) > 2 else ""))
    if error.validator == "required":
        raise _fail(doc, path, error.message.replace("is a required property", "is missing"))
    if error.validator == "oneOf" and len(path) >= 3 and path[2] in ("from", "to"):
        raise _fail(doc, path, _shape_message(error.instance, field))
    if error.validator == "enum" and path[-1:] == ["expect"]:
        raise _fail(doc, path, f"expect must be allow or deny, not {error.instance!r}")
    if not path:
        raise _fail(doc, (), error.message)
    raise _fail(doc, path, f"{field}: {error.message}" if len(path) > 2 else error.message)


def _shape_message(instance: Any, field: str) -> str:
    endpoints = instance if isinstance(instance, list) else [instance]
    for endpoint in endpoints:
        if not isinstance(endpoint, dict):
            return f"{field}: an endpoint must be a mapping, not {type(endpoint).__name__}"
        unknown = sorted(set(endpoint) - {"namespace", "workload", "labels", "namespaceLabels", "cidr"})
        if unknown:
            return f"{field}: unknown endpoint key {unknown[0]!r}"
        for key in ("labels", "namespaceLabels"):
            value = endpoint.get(key)
            if key in endpoint and (
                not isinstance(value, dict)
                or not value
                or not all(isinstance(v, str) for v in value.values())
            ):
                return f"{field}: {key} must be a non-empty mapping of label keys to string values"
        for key in ("namespace", "workload", "cidr"):
            if key in endpoint and (not isinstance(endpoint[key], str) or not endpoint[key]):
                return f"{field}: {key} must be a non-empty string"
    keys = [", ".join(sorted(e)) if isinstance(e, dict) else "?" for e in endpoints]
    return f"{field}: an endpoint must be one of {ENDPOINT_SHAPES}; got {{{'}, {'.join(keys)}}}"


def parse_ports(values: Sequence[Any]) -> tuple[PortSet, tuple[str, ...]] | str:
    """``8080``, ``8080/TCP``, ``8000-8100/UDP`` -> (PortSet, normalised texts), or an error message."""
    parts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    texts: list[str] = []
    for value in values:
        text = str(value).strip()
        numbers, _, protocol = text.partition("/")
        protocol = (protocol or "TCP").upper()
        first, dash, last = numbers.partition("-")
        if protocol not in PROTOCOL_ORDER:
            return f"port {value!r}: unknown protocol {protocol!r} (expected TCP, UDP or SCTP)"
        if not first.isdigit() or (dash and not last.isdigit()):
            return f"port {value!r}: expected PORT, PORT/PROTOCOL or FIRST-LAST/PROTOCOL, e.g. 8080/TCP"
        lo, hi = int(first), int(last) if dash else int(first)
        if not (1 <= lo <= 65535 and 1 <= hi <= 65535):
            return f"port {value!r}: port numbers are 1-65535"
        if hi < lo:
            return f"port {value!r}: the range ends before it starts"
        parts[protocol].append((lo, hi))
        texts.append(f"{lo}/{protocol}" if lo == hi else f"{lo}-{hi}/{protocol}")
    return PortSet(parts), tuple(texts)


def _expectation(doc: Document, index: int, entry: dict[str, Any]) -> Expectation:
    base: tuple[str | int, ...] = ("expectations", index)
    sides: dict[str, tuple[EndpointSpec, ...]] = {}
    for side in ("from", "to"):
        raw = entry[side]
        items = raw if isinstance(raw, list) else [raw]
        specs = []
        for j, item in enumerate(items):
            pointer = (*base, side, j) if isinstance(raw, list) else (*base, side)
            specs.append(_endpoint(doc, pointer, item))
        sides[side] = tuple(specs)
    ports: PortSet | None = None
    texts: tuple[str, ...] = ()
    if "ports" in entry:
        parsed = parse_ports(entry["ports"])
        if isinstance(parsed, str):
            raise _fail(doc, (*base, "ports"), parsed)
        ports, texts = parsed
    return Expectation(
        index, sides["from"], sides["to"], ports, texts, entry["expect"], str(entry.get("reason", "")), doc
    )


def _endpoint(doc: Document, pointer: tuple[str | int, ...], item: dict[str, Any]) -> EndpointSpec:
    if "cidr" in item:
        try:
            cidr = ipaddress.ip_network(item["cidr"], strict=False)
        except ValueError:
            raise _fail(doc, (*pointer, "cidr"), f"{item['cidr']!r} is not a valid CIDR") from None
        return EndpointSpec(cidr=cidr)
    return EndpointSpec(
        namespace=item.get("namespace"),
        workload=item.get("workload"),
        labels=item.get("labels"),
        namespace_labels=item.get("namespaceLabels"),
    )
