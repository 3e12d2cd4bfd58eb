"""Text side of fixes: choose the replacements that can go together, apply them, show them as a diff."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netpolscan.plugin_api import Finding, Replacement

NO_NEWLINE = "\\ No newline at end of file"


@dataclass(frozen=True)
class Chosen:
    """The fixes of one round: those applied (findings) and their distinct replacements, per file."""

    findings: tuple[Finding, ...]
    replacements: dict[str, tuple[Replacement, ...]]
    deferred: tuple[Finding, ...]  # fixes that touch text another chosen fix changes: the next round's


def _clash(a: Replacement, b: Replacement) -> bool:
    """Whether two insertions of one file clash: at one offset, their order would be a guess."""
    return a.path == b.path and a.offset == b.offset


def choose(findings: Iterable[Finding]) -> Chosen:
    """The fixes of ``findings`` that can be applied together, in finding order: a fix is taken whole
    or not at all; a replacement identical to one already taken (two findings, one remedy) is shared."""
    taken: dict[str, list[Replacement]] = {}
    applied: list[Finding] = []
    deferred: list[Finding] = []
    for finding in findings:
        fix = finding.fix
        if fix is None:
            continue
        new = [r for r in fix.replacements if r not in taken.get(r.path, [])]
        clashes = any(_clash(r, old) for r in new for old in taken.get(r.path, [])) or any(
            _clash(a, b) for i, a in enumerate(new) for b in new[i + 1 :]
        )
        if clashes:
            deferred.append(finding)
            continue
        applied.append(finding)
        for replacement in new:
            taken.setdefault(replacement.path, []).append(replacement)
    return Chosen(tuple(applied), {path: tuple(items) for path, items in taken.items()}, tuple(deferred))


def apply(text: str, replacements: Sequence[Replacement]) -> str:
    """``text`` with ``replacements`` (insertions at distinct offsets) made from the bottom up, so each
    offset still points where it did in the scanned text."""
    for replacement in sorted(replacements, key=lambda r: r.offset, reverse=True):
        text = text[: replacement.offset] + replacement.text + text[replacement.offset :]
    return text


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff that ``git apply`` and ``patch -p1`` accept (``a/``/``b/`` prefixes for a relative
    path; an absolute one is kept as is, for ``patch -p0``); line endings are kept byte for byte."""
    old_name, new_name = (path, path) if path.startswith("/") else (f"a/{path}", f"b/{path}")
    lines = difflib.unified_diff(_lines(before), _lines(after), old_name, new_name, n=3)
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:  # the file's last line has no line break
            out.append(f"{line}\n{NO_NEWLINE}\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    """Lines as ``git`` and ``patch`` see them: split after each ``\n`` only (a ``\r`` stays in its line)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
