"""Reading a flow log: Hubble JSON lines or the simple CSV, told apart by content (or a ``.csv`` name).

A line that cannot be read is recorded with its number and the reason, and the rest is still read; a
file that cannot be read at all (missing, binary, not text) stops the run (:class:`NetpolscanError`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netpolscan.errors import NetpolscanError
from netpolscan.flows import csvlog, hubble
from netpolscan.flows.records import BadLine, Flow, FlowLog, Skip
from netpolscan.sources.files import decode


def _text(path: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot read flows: {exc.strerror or exc}") from None
    decoded = decode(raw, path)
    if decoded.text is None:
        raise NetpolscanError(f"{path}:{decoded.error_line}: cannot read flows: {decoded.error}")
    return decoded.text


def detect_format(path: str, text: str) -> str:
    """``hubble`` when the first line that is not blank is a JSON object, else ``csv``."""
    if path.lower().endswith(".csv"):
        return "csv"
    for line in text.splitlines():
        if line.strip():
            return "hubble" if line.lstrip().startswith(("{", "[")) else "csv"
    return "hubble"


def _one_object_per_line(text: str) -> bool:
    """Whether a Hubble log has one JSON object per line (``hubble observe -o json``), not an array
    (``jq -s``) or pretty-printed objects (``jq .``)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.startswith("{") and first.endswith("}")


def read_flow_log(path: str) -> FlowLog:
    """The flows of the log at ``path`` (``-``: stdin)."""
    text = _text(path)
    log = FlowLog(path, detect_format(path, text))
    if log.format == "csv":
        for index, (number, row) in enumerate(csvlog.rows(text)):
            if index == 0 and csvlog.is_header(row):
                continue
            try:
                log.add(csvlog.parse_row(row, path, number))
            except ValueError as exc:
                log.bad.append(BadLine(path, number, str(exc)))
        return log
    if not _one_object_per_line(text):
        for number, value in hubble.json_values(text):
            _add(log, number, _parse_value, value, path, number)
        return log
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            _add(log, number, hubble.parse_line, line, path, number)
    return log


def _parse_value(value: Any, path: str, number: int) -> Flow:
    if isinstance(value, ValueError):  # the part of the log that did not decode
        raise value
    return hubble.parse_record(value, path, number)


def _add(log: FlowLog, number: int, parse: Callable[..., Flow], *args: Any) -> None:
    """Add the flow ``parse(*args)`` returns; a skipped record is counted, a bad one recorded with its line."""
    try:
        log.add(parse(*args))
    except Skip as skip:
        log.skipped[str(skip)] += 1
    except ValueError as exc:
        log.bad.append(BadLine(log.path, number, str(exc)))
