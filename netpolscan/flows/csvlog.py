"""The simple CSV flow format: ``src_ns,src_pod_labels,dst_ns,dst_labels_or_ip,port,protocol``.

- one flow per row; a first row naming the columns is optional; blank rows and rows starting with
  ``#`` are ignored;
- labels are ``key=value`` pairs separated by ``;`` (or by ``,`` inside a quoted field), e.g.
  ``app=web;tier=front``; an empty labels field is a pod without labels;
- ``dst_labels_or_ip`` is the destination pod's labels, or an IP address outside the cluster (then
  ``dst_ns`` is empty); likewise ``src_pod_labels`` may be an address with ``src_ns`` empty, for traffic
  coming from outside;
- ``port`` is 1-65535; ``protocol`` TCP, UDP or SCTP (any case; empty: TCP).
"""

from __future__ import annotations

import csv
import ipaddress
import re

from netpolscan.flows.records import Flow, FlowEndpoint

COLUMNS = ("src_ns", "src_pod_labels", "dst_ns", "dst_labels_or_ip", "port", "protocol")
_SEPARATORS = re.compile(r"[;,]")


def is_header(row: list[str]) -> bool:
    return [cell.strip().lower() for cell in row] == list(COLUMNS)


def _labels(text: str, column: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in _SEPARATORS.split(text):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"`{column}`: {item!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def _endpoint(namespace: str, text: str, side: str) -> FlowEndpoint:
    column = f"{side}_pod_labels" if side == "src" else f"{side}_labels_or_ip"
    ip = None
    if "=" not in text and text:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            pass
    if ip is not None:
        if namespace:
            raise ValueError(
                f"`{column}` is an IP address, so `{side}_ns` must be empty (it is {namespace!r})"
            )
        return FlowEndpoint(ip=ip)
    if not namespace:
        raise ValueError(f"`{side}_ns` is empty and `{column}` is not an IP address")
    return FlowEndpoint(namespace, _labels(text, column))


def parse_row(row: list[str], path: str, line: int) -> Flow:
    """One CSV row as a flow; raises ``ValueError`` for a bad row."""
    if len(row) != len(COLUMNS):
        raise ValueError(f"{len(row)} columns, expected {len(COLUMNS)}: {','.join(COLUMNS)}")
    src_ns, src_labels, dst_ns, dst, port_text, protocol = (cell.strip() for cell in row)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"`port` is not a port number (1-65535): {port_text!r}")
    protocol = (protocol or "TCP").upper()
    if protocol not in ("TCP", "UDP", "SCTP"):
        raise ValueError(f"`protocol` is not TCP, UDP or SCTP: {protocol!r}")
    src, dst_endpoint = _endpoint(src_ns, src_labels, "src"), _endpoint(dst_ns, dst, "dst")
    if not src.is_pod and not dst_endpoint.is_pod:
        raise ValueError("both ends are IP addresses; one must be a pod")
    return Flow(src, dst_endpoint, protocol, int(port_text), path, line)


def rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank or a comment."""
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found.extend((number, cells) for cells in csv.reader([line]))
    return found
