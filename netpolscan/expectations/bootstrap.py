"""Bootstrapping: today's workload-to-workload connectivity written as an expectations file.

For every destination workload, one ``allow`` entry per distinct set of allowed ports (its sources listed
together) and one ``deny`` entry for the sources that may not connect at all. Sources that cover a whole
namespace collapse to ``{namespace: NAME}``. Entries use the same endpoint resolution as the checks, so
scanning the same input with the result reports no NPS701 (the round trip). External addresses are left
out: add ``cidr`` entries by hand where they matter.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence

from netpolscan.analysis.connectivity import connectivity
from netpolscan.analysis.endpoints import owner_of
from netpolscan.analysis.ports import ALL_PORTS, NO_PORTS, PROTOCOL_ORDER, PortSet
from netpolscan.expectations.evaluate import matches_workload
from netpolscan.expectations.spec import API_VERSION, KIND
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Workload

Key = tuple[str, str]  # (namespace, workload or owner name), as a `{namespace, workload}` endpoint names it


def port_texts(ports: PortSet) -> list[str]:
    """A PortSet as expectation port strings (``8080/TCP``, ``8000-8100/TCP``, ``1-65535/UDP``)."""
    texts = []
    for protocol in PROTOCOL_ORDER:
        for lo, hi in ports.intervals(protocol):
            texts.append(f"{lo}/{protocol}" if lo == hi else f"{lo}-{hi}/{protocol}")
    return texts


def workload_groups(inventory: Inventory) -> dict[Key, list[Workload]]:
    """Endpoint key (namespace, owner name) -> the workloads ``{namespace, workload: name}`` matches."""
    keys = sorted({(w.namespace, owner_of(w)[1]) for w in inventory.workloads})
    return {
        (namespace, name): [w for w in inventory.workloads_in(namespace) if matches_workload(w, name)]
        for namespace, name in keys
    }


def bootstrap(inventory: Inventory, focus: str | None = None) -> list[dict[str, object]]:
    """The expectation entries describing ``inventory``'s connectivity (optionally around one workload)."""
    conn = connectivity(inventory)
    groups = workload_groups(inventory)
    keys = list(groups)
    by_namespace: dict[str, set[Key]] = defaultdict(set)
    for key in keys:
        by_namespace[key[0]].add(key)
    entries: list[dict[str, object]] = []
    for dst in keys:
        allow: dict[PortSet, list[Key]] = defaultdict(list)
        deny: list[Key] = []
        for src in keys:
            if src == dst or (focus and not (_is_focus(src, focus) or _is_focus(dst, focus))):
                continue
            common, union, pairs = ALL_PORTS, NO_PORTS, 0
            for s in groups[src]:
                for d in groups[dst]:
                    if s is d:
                        continue
                    ports = conn.allowed(s, d)
                    common, union, pairs = common & ports, union | ports, pairs + 1
            if not pairs:
                continue
            if union.is_empty:
                deny.append(src)
            elif not common.is_empty:
                allow[common].append(src)
        target = _endpoint(dst)
        for ports, sources in sorted(allow.items(), key=lambda item: str(item[0])):
            entry: dict[str, object] = {"from": _sources(sources, dst, groups, by_namespace), "to": target}
            if not ports.is_all:
                entry["ports"] = port_texts(ports)
            entry["expect"] = "allow"
            entries.append(entry)
        if deny:
            entries.append(
                {"from": _sources(deny, dst, groups, by_namespace), "to": target, "expect": "deny"}
            )
    return entries


def _is_focus(key: Key, focus: str) -> bool:
    return focus in (key[1], f"{key[0]}/{key[1]}")


def _endpoint(key: Key) -> dict[str, str]:
    return {"namespace": key[0], "workload": key[1]}


def _sources(
    sources: Sequence[Key], dst: Key, groups: dict[Key, list[Workload]], by_namespace: dict[str, set[Key]]
) -> list[dict[str, str]]:
    """Source endpoints; a namespace whose every workload (but the destination) is listed becomes one."""
    chosen = set(sources)
    out: list[dict[str, str]] = []
    done: set[str] = set()
    for key in sorted(sources):
        namespace = key[0]
        if namespace in done:
            continue
        others = by_namespace[namespace] - {dst}
        # the whole namespace would also pair the destination's own pods with each other: only collapse
        # when the destination is elsewhere or is a single object
        collapsible = dst[0] != namespace or len(groups[dst]) == 1
        if collapsible and len(others) > 1 and others <= chosen:
            out.append({"namespace": namespace})
            done.add(namespace)
        else:
            out.append(_endpoint(key))
    return out


def render(entries: Sequence[dict[str, object]], header: str = "") -> str:
    """The expectations file text: block style entries with flow-style endpoints, easy to diff."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"apiVersion: {API_VERSION}", f"kind: {KIND}"]
    if not entries:
        lines.append("expectations: []")
    else:
        lines.append("expectations:")
    for entry in entries:
        first = True
        for key, value in entry.items():
            prefix = "- " if first else "  "
            first = False
            if key in ("from", "to") and isinstance(value, list):
                lines.append(f"{prefix}{key}:")
                lines.extend(f"  - {_flow(item)}" for item in value)
            else:
                lines.append(f"{prefix}{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    text = str(value)
    plain = _PLAIN.match(text) is not None and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text)


def bootstrap_text(inventory: Inventory, focus: str | None = None, source: str = "") -> str:
    entries = bootstrap(inventory, focus)
    header = (
        "Connectivity expectations generated by `netpolscan connectivity --format expectations`"
        + (f" from {source}" if source else "")
        + ".\nEvery allowed workload-to-workload connection is an `allow` entry, every denied pair is listed"
        "\nin a `deny` entry; commit it and review later changes as a diff of this file."
        "\nCheck it with: netpolscan scan PATH... --expectations FILE"
    )
    return render(entries, header)
