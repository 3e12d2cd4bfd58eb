"""Baselines: record today's findings by fingerprint, then report only the new ones.

Fingerprints ignore line numbers and document order, so moving code around keeps old findings old.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from netpolscan.errors import NetpolscanError
from netpolscan.findings import Finding

VERSION = 1


def write_baseline(path: str, findings: Iterable[Finding]) -> None:
    entries = sorted(
        {
            (f.fingerprint, f.rule_id, str(f.obj) if f.obj else f.location.path, f.message)
            for f in findings
            if f.suppression is None
        }
    )
    data = {
        "version": VERSION,
        "tool": "netpolscan",
        "findings": [
            {"fingerprint": fp, "ruleId": rule, "subject": subject, "message": msg}
            for fp, rule, subject, msg in entries
        ],
    }
    try:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None


def read_baseline(path: str) -> set[str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetpolscanError(f"{path}: baseline file not found (create it with --write-baseline)") from None
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise NetpolscanError(f"{path}:{exc.lineno}: baseline is not valid JSON: {exc.msg}") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise NetpolscanError(f"{path}: not a netpolscan baseline (version {VERSION} with a findings list)")
    return {str(item.get("fingerprint")) for item in data["findings"] if isinstance(item, dict)}


def apply_baseline(findings: Iterable[Finding], known: set[str]) -> list[Finding]:
    """Mark each finding ``unchanged`` (in the baseline) or ``new``."""
    return [replace(f, baseline_state="unchanged" if f.fingerprint in known else "new") for f in findings]
