"""The drift report: a semantic diff read as "what one side allows that the other does not", both ways.

``netpolscan diff rendered/ --from-cluster`` compares what git declares with what the cluster runs; the
netpol-analyzer diff lines (``ref1``/``ref2``) do not say which side is which, this report does.
"""

from __future__ import annotations

from collections.abc import Sequence

from netpolscan.analysis.diff import DiffRow
from netpolscan.analysis.ports import PortSet


def _lines(rows: Sequence[DiffRow], more: str) -> list[str]:
    found = []
    for row in rows:
        extra: PortSet = row.head - row.base if more == "head" else row.base - row.head
        if extra:
            found.append(f"  {row.src} => {row.dst} : {extra}")
    return found or ["  nothing"]


def format_drift(rows: Sequence[DiffRow], base: str, head: str) -> str:
    """What ``head`` allows that ``base`` does not, then the reverse (each side named, e.g.
    ``git (rendered/)`` and ``cluster kind-prod``); one line when they allow the same connections."""
    if not any(row.kind != "unchanged" for row in rows):
        return f"No drift: {head} allows exactly the connections {base} allows.\n"
    lines = [
        f"Allowed by {head}, not by {base}:",
        *_lines(rows, "head"),
        f"Allowed by {base}, not by {head}:",
        *_lines(rows, "base"),
    ]
    return "\n".join(lines) + "\n"
