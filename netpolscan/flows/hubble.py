"""Hubble's flow export (``hubble observe -o json`` or ``-o jsonpb``): one JSON object per line.

A line is ``{"flow": {...}, "node_name": ..., "time": ...}`` (a GetFlowsResponse) or a bare flow object.
The fields read are those of Cilium's ``flow.Flow`` message, by their proto names (``pod_name``,
``is_reply``, ``destination_port``) or their protobuf-JSON camelCase names (``podName``...):

- ``source`` / ``destination``: endpoints with ``namespace``, ``labels`` (``k8s:key=value``,
  ``reserved:world``...), ``pod_name`` and ``workloads`` (``[{name, kind}]``);
- ``IP.source`` / ``IP.destination``: the addresses (used for endpoints outside the cluster);
- ``l4.TCP`` / ``l4.UDP`` / ``l4.SCTP`` with ``destination_port``;
- ``Type`` (``L3_L4``), ``is_reply``, ``verdict``.

Skipped (counted, not errors): replies (``is_reply: true``), records that are not L3/L4 flows (L7, SOCK),
ICMP, flows the cluster dropped (``verdict`` DROPPED or ERROR: they did not work before either),
traffic from a pod's own node (``reserved:host`` as the source: NetworkPolicy cannot block it), Cilium's
own endpoints (``reserved:health``, ``init``, ``unmanaged``), flows with no pod on either side, and lines
holding another Hubble record (``lost_events``, ``node_status``, agent or debug events).
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterator, Mapping
from typing import Any

from netpolscan.flows.records import Flow, FlowEndpoint, Skip

_FLOW_KEYS = ("source", "destination", "IP", "l4", "verdict", "Type")
_OTHER_RECORDS = ("lost_events", "node_status", "agent_event", "debug_event")
_INFRASTRUCTURE = frozenset({"health", "init", "unmanaged", "unknown"})
_SKIPPED_VERDICTS = frozenset({"DROPPED", "ERROR", 2, 3})
_NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."
_CILIUM_LABELS = ("io.kubernetes.pod.namespace", "io.cilium.")


def _field(data: Mapping[str, Any], snake: str) -> Any:
    """A field by its proto name or its protobuf-JSON (lowerCamelCase) name."""
    if snake in data:
        return data[snake]
    head, *rest = snake.split("_")
    return data.get(head + "".join(part.capitalize() for part in rest))


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"`{what}` is not an object")
    return value


def parse_labels(values: Any, what: str) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """Hubble endpoint labels -> (pod labels, reserved entities, namespace labels).

    ``k8s:key=value`` (or no source) is a pod label, except Cilium's own (``io.kubernetes.pod.namespace``,
    ``io.cilium.*``); ``io.cilium.k8s.namespace.labels.KEY`` is a namespace label; ``reserved:NAME`` an
    entity; labels of other sources (``cidr:``, ``fqdn:``...) are ignored. The mappings returned are
    shared between the endpoints with the same labels: read them, never change them.
    """
    if values is None:
        values = []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"`{what}.labels` is not a list of strings")
    return _labels(tuple(values))


@functools.lru_cache(maxsize=4096)  # a log repeats the same few label lists many times
def _labels(values: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    pod: dict[str, str] = {}
    reserved: set[str] = set()
    namespace: dict[str, str] = {}
    for value in values:
        source, sep, rest = value.partition(":")
        if not sep:
            source, rest = "k8s", value
        key, _, label = rest.partition("=")
        if source == "reserved":
            reserved.add(key)
        elif source in ("k8s", "any", "container") and key:
            if key.startswith(_NAMESPACE_LABELS):
                namespace[key[len(_NAMESPACE_LABELS) :]] = label
            elif not key.startswith(_CILIUM_LABELS):
                pod[key] = label
    return pod, frozenset(reserved), namespace


def _address(ip: Mapping[str, Any], side: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = ip.get(side)
    if text in (None, ""):
        return None
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        raise ValueError(f"`IP.{side}` is not an IP address: {text!r}") from None


def _endpoint(flow: Mapping[str, Any], side: str) -> FlowEndpoint:
    data = _mapping(flow.get(side), side)
    pod, reserved, ns_labels = parse_labels(data.get("labels"), side)
    infrastructure = reserved & _INFRASTRUCTURE
    if infrastructure:
        raise Skip(f"Cilium endpoint (reserved:{min(infrastructure)})")
    if side == "source" and "host" in reserved:
        raise Skip("from the node (reserved:host)")
    namespace = data.get("namespace") or ""
    if not isinstance(namespace, str):
        raise ValueError(f"`{side}.namespace` is not a string")
    workloads = data.get("workloads")
    names = (
        tuple(w["name"] for w in workloads if isinstance(w, dict) and isinstance(w.get("name"), str))
        if isinstance(workloads, list)
        else ()
    )
    pod_name = _field(data, "pod_name")
    if namespace and not reserved & {"world", "world-ipv4", "world-ipv6"}:
        return _pod(
            namespace, tuple(data.get("labels") or ()), pod_name if isinstance(pod_name, str) else "", names
        )
    ip = _address(_mapping(flow.get("IP"), "IP"), side)  # only outside the cluster: pods change address
    if ip is None:
        raise ValueError(f"`{side}` is neither a pod (no namespace) nor an address (no `IP.{side}`)")
    entity = f"reserved:{min(reserved)}" if reserved else ""
    return FlowEndpoint(ip=ip, entity=entity)


@functools.lru_cache(maxsize=4096)  # the same pods appear in many flows
def _pod(namespace: str, labels: tuple[str, ...], pod_name: str, workloads: tuple[str, ...]) -> FlowEndpoint:
    pod, _, ns_labels = _labels(labels)
    return FlowEndpoint(namespace, pod, pod_name=pod_name, workloads=workloads, namespace_labels=ns_labels)


def _layer4(flow: Mapping[str, Any]) -> tuple[str, int]:
    l4 = _mapping(flow.get("l4"), "l4")
    for protocol in ("TCP", "UDP", "SCTP"):
        found = l4.get(protocol)
        if found is None:
            continue
        port = _field(_mapping(found, f"l4.{protocol}"), "destination_port")
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ValueError(f"`l4.{protocol}.destination_port` is not a port number: {port!r}")
        return protocol, port
    if l4:
        raise Skip("ICMP")
    raise Skip("no layer 4")


def parse_line(text: str, path: str, line: int) -> Flow:
    """One line of a Hubble export as a flow; raises :class:`Skip` or ``ValueError`` (a bad line)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    return parse_record(record, path, line)


def json_values(text: str) -> Iterator[tuple[int, Any]]:
    """(line, value) of each JSON value of a log that is not one object per line: the items of an array
    (``jq -s``) or a sequence of pretty-printed objects (``jq .``). A part that does not decode is yielded
    as a ``ValueError`` and reading goes on at the next object opening at the same column."""
    decoder = json.JSONDecoder()
    position, size = 0, len(text)
    while True:
        while position < size and text[position] in " \t\r\n,":
            position += 1
        if position >= size:
            return
        line = text.count("\n", 0, position) + 1
        if text[position] in "[]":  # the array's own brackets: its items are the records
            position += 1
            continue
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield line, ValueError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
            indent = position - (text.rfind("\n", 0, position) + 1)  # the next value opens at this column
            following = text.find("\n" + " " * indent + "{", position)
            if following < 0:
                return
            position = following + 1
            continue
        yield line, value


def parse_record(record: Any, path: str, line: int) -> Flow:
    """One decoded record of a Hubble export as a flow; raises :class:`Skip` or ``ValueError``."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    flow = record.get("flow", record)
    if flow is record and not any(key in record for key in _FLOW_KEYS):
        other = [key for key in _OTHER_RECORDS if key in record]
        if other:
            raise Skip(f"not a flow ({other[0]})")
        raise ValueError("not a Hubble flow (no `flow`, `source`, `destination`, `IP` or `l4`)")
    if not isinstance(flow, dict):
        raise ValueError("`flow` is not an object")
    kind = flow.get("Type", flow.get("type"))
    if kind not in (None, "L3_L4", 1):
        raise Skip("L7 or socket record")
    if _field(flow, "is_reply") is True or flow.get("reply") is True:
        raise Skip("reply")
    if flow.get("verdict") in _SKIPPED_VERDICTS:
        raise Skip("dropped when observed")
    protocol, port = _layer4(flow)
    src, dst = _endpoint(flow, "source"), _endpoint(flow, "destination")
    if not src.is_pod and not dst.is_pod:
        raise Skip("no pod on either side")
    return Flow(src, dst, protocol, port, path, line)
