"""The action's diff step: what a pull request changes in the connections the policies allow.

Run by action.yml with the Python of the action's virtual environment; every input arrives in the
environment (``INPUT_*``, ``NETPOLSCAN_BIN`` and the runner's ``GITHUB_*``/``RUNNER_TEMP``), nothing is
evaluated. Steps:

1. the base: the ``base-ref`` input, else the pull request's base commit (``pull_request.base.sha`` of
   the event payload, or ``origin/$GITHUB_BASE_REF``); fetched when the checkout lacks it (shallow
   checkouts are deepened, then unshallowed, until the merge base is known), then the merge base of it
   and HEAD, checked out as a git worktree in ``$RUNNER_TEMP``;
2. ``netpolscan diff BASE . --path ... --helm ... --values ... --kustomize ...``: both checkouts
   rendered with the same inputs; SARIF (its results on HEAD's lines), JSON (the counts and the table),
   Mermaid (the graph);
3. the step summary (a table of the changes and the graph, within GitHub's 1 MiB per step) and the
   outputs ``added``, ``removed``, ``changed``, ``newly-allowed``, ``exit-code``, ``sarif-file``.

The step itself exits 0 unless it cannot run at all; the action's last step fails the job from
``exit-code`` (1 only with ``fail-on-new`` and a newly allowed connection, 2 when the diff could not run).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY_LIMIT = 1024 * 1024  # GitHub's step summary limit, per step
SUMMARY_BUDGET = SUMMARY_LIMIT - 16 * 1024  # room for the note that says what was left out
KINDS = ("added", "removed", "changed")
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
DEEPEN_STEPS = (64, 512)  # commits fetched per try on a shallow checkout before unshallowing it


class StepError(Exception):
    """What stops the diff: one line for the log and the summary."""


@dataclass(frozen=True)
class Base:
    commit: str  # the commit compared with HEAD (the merge base when there is one)
    label: str  # how the summary names it


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise StepError(f"git {' '.join(args)}: {message}")
    return result


def _commit(ref: str) -> str | None:
    found = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def _shallow() -> bool:
    return _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def _fetch(*args: str) -> bool:
    result = _git("fetch", "--no-tags", "--quiet", *args, check=False)
    if result.returncode != 0:
        print(f"netpolscan: git fetch {' '.join(args)}: {result.stderr.strip()}", file=sys.stderr)
    return result.returncode == 0


def _base_commit(ref: str, remote: str) -> str:
    """The commit ``ref`` names, fetched from ``remote`` when the checkout lacks it."""
    for candidate in (ref, f"refs/remotes/{remote}/{ref}"):
        found = _commit(candidate)
        if found:
            return found
    depth = [f"--depth={DEEPEN_STEPS[0]}"] if _shallow() else []
    if _fetch(*depth, remote, ref):
        found = _commit("FETCH_HEAD")
        if found:
            return found
    raise StepError(f"base {ref!r}: no such commit here or on {remote}")


def _merge_base(base: str, head: str, remote: str) -> str | None:
    """The merge base of ``base`` and ``head``, deepening a shallow checkout until it shows."""
    found = _git("merge-base", base, head, check=False)
    tries = [[f"--deepen={n}"] for n in DEEPEN_STEPS] + [["--unshallow"]]
    while found.returncode != 0 and _shallow() and tries:
        _fetch(*tries.pop(0), remote, base, head)
        found = _git("merge-base", base, head, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def resolve_base(inputs: Mapping[str, str], env: Mapping[str, str], event: Mapping[str, Any]) -> Base | None:
    """The base to compare HEAD with, or None when there is none to find (no base-ref, no pull request)."""
    remote = "origin"
    ref = inputs.get("base-ref", "").strip()
    label = f"`{ref}`"
    if not ref:
        if env.get("GITHUB_EVENT_NAME", "") not in PULL_REQUEST_EVENTS:
            return None
        pull_request = event.get("pull_request") or {}
        base = pull_request.get("base") or {}
        ref = str(base.get("sha") or "") or env.get("GITHUB_BASE_REF", "")
        name = env.get("GITHUB_BASE_REF") or str(base.get("ref") or "") or ref
        label = f"`{name}`"
        if not ref:
            return None
    commit = _base_commit(ref, remote)
    head = _commit("HEAD")
    if head is None:
        raise StepError("HEAD is no commit: check the repository out first (actions/checkout)")
    merge_base = _merge_base(commit, head, remote)
    if merge_base is None:
        print(
            f"netpolscan: warning: {ref} and HEAD have no merge base; comparing with {ref}", file=sys.stderr
        )
        return Base(commit, f"{label} ({commit[:7]})")
    if merge_base != commit:
        return Base(merge_base, f"the merge base of {label} and HEAD ({merge_base[:7]})")
    return Base(commit, f"{label} ({commit[:7]})")


def input_arguments(inputs: Mapping[str, str]) -> list[str]:
    """`netpolscan diff` options reading the same inputs in both checkouts."""

    def words(name: str) -> list[str]:
        try:
            return shlex.split(inputs.get(name, ""))
        except ValueError:
            raise StepError(f"cannot split input {name}: unbalanced quotes?") from None

    args: list[str] = []
    for path in words("paths"):
        args += ["--path", path]
    chart = inputs.get("helm-chart", "").strip()
    if chart:
        args += ["--helm", chart]
        for values in words("helm-values"):
            args += ["--values", values]
    kustomize = inputs.get("kustomize-dir", "").strip()
    if kustomize:
        args += ["--kustomize", kustomize]
    if not args:
        raise StepError("nothing to compare: set the paths, helm-chart or kustomize-dir input")
    return args


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def summary(
    records: Sequence[Mapping[str, str]], mermaid: str, base: str, newly_allowed: bool, fail_on_new: bool
) -> str:
    """The step summary: counts, a table of the changes and their Mermaid graph, within GitHub's limit.

    Rows past the limit are left out of the table (and the graph, when even the table's first rows fill
    it), and a last line says how many and where the full list is.
    """
    counts = {kind: sum(1 for r in records if r["diff-type"] == kind) for kind in KINDS}
    head = ["## netpolscan: connectivity change", ""]
    if not records:
        head.append(f"HEAD allows the same connections as {base}.")
        return "\n".join(head) + "\n"
    what = ", ".join(f"{counts[kind]} {kind}" for kind in KINDS)
    head.append(f"Compared with {base}, HEAD's policies change {len(records)} connections: {what}.")
    if newly_allowed and fail_on_new:
        head.append("HEAD allows connections the base did not: the check fails (`fail-on-new`).")
    elif newly_allowed:
        head.append("HEAD allows connections the base did not (`fail-on-new` would fail the check).")
    keys = ["diff-type", "source", "destination", "ref1", "ref2"]
    columns = ["change", "source", "destination", "base", "head"]
    if any(record.get("workloads-diff-info") for record in records):
        keys.append("workloads-diff-info")
        columns.append("workloads")
    head += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    graph = ["", "```mermaid", mermaid.rstrip("\n"), "```", ""] if mermaid.strip() else []
    text = "\n".join(head) + "\n"
    graph_text = "\n".join(graph)
    budget = SUMMARY_BUDGET - len(graph_text.encode("utf-8"))
    if budget < len(text.encode("utf-8")) + 4096:  # the graph leaves too little for the table: drop it
        graph_text, budget = "", SUMMARY_BUDGET
    size = len(text.encode("utf-8"))
    shown = 0
    lines: list[str] = []
    for record in records:
        row = "| " + " | ".join(_cell(record.get(key, "")) for key in keys) + " |\n"
        if size + len(row.encode("utf-8")) > budget:
            break
        lines.append(row)
        size += len(row.encode("utf-8"))
        shown += 1
    text += "".join(lines)
    if shown < len(records):
        text += (
            f"\n{len(records) - shown} more changes are not shown: GitHub limits a step summary to 1 MiB. "
            "The full list: `netpolscan diff` with `--format txt` or `--format html`.\n"
        )
    if graph_text:
        text += graph_text
    elif mermaid.strip():
        text += "\nThe graph of the change is left out: the table fills the step summary.\n"
    return text


class Outputs:
    """``$GITHUB_OUTPUT``: one ``name=value`` line per output."""

    def __init__(self, path: str) -> None:
        self.path = path

    def set(self, **values: object) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            for name, value in values.items():
                stream.write(f"{name.replace('_', '-')}={value}\n")


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text)


def _inputs(env: Mapping[str, str]) -> dict[str, str]:
    return {
        key[6:].lower().replace("_", "-"): value for key, value in env.items() if key.startswith("INPUT_")
    }


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path or not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as stream:
        event = json.load(stream)
    return event if isinstance(event, dict) else {}


def _diff(netpolscan: str, base_dir: str, args: Sequence[str], outputs: Mapping[str, str]) -> int:
    """One `netpolscan diff` run writing every format of ``outputs`` (format -> file); exit code 1: HEAD
    allows a connection the base did not."""
    formats = [f"--format={fmt}:{path}" for fmt, path in outputs.items()]
    command = [netpolscan, "diff", base_dir, ".", *args, *formats, "--fail-on-new"]
    print("netpolscan diff", shlex.join(command[2:]), flush=True)
    return subprocess.run(command).returncode


def run(env: Mapping[str, str]) -> int:
    inputs = _inputs(env)
    outputs = Outputs(env["GITHUB_OUTPUT"])
    mode = inputs.get("diff", "auto").strip().lower() or "auto"
    if mode not in ("auto", "true", "false"):
        raise StepError(f"input diff: {mode!r} is not auto, true or false")
    if mode == "false":
        outputs.set(diffed="false", exit_code=0)
        return 0
    base = resolve_base(inputs, env, _event(env))
    if base is None:
        if mode == "true":
            raise StepError("diff: true needs the base-ref input outside pull requests")
        print("netpolscan: no base to compare with (not a pull request, no base-ref): no diff")
        outputs.set(diffed="false", exit_code=0)
        return 0
    args = input_arguments(inputs)
    fail_on_new = inputs.get("fail-on-new", "false").strip().lower() == "true"
    sarif_file = inputs.get("diff-sarif-file", "") or "netpolscan-diff.sarif"
    netpolscan = os.path.join(env["NETPOLSCAN_BIN"], "netpolscan")
    temp = env.get("RUNNER_TEMP") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="netpolscan-diff-", dir=temp)
    base_dir = os.path.join(work, "base")
    _git("worktree", "add", "--detach", "--quiet", base_dir, base.commit)
    outputs_of = {
        "sarif": sarif_file,
        "json": os.path.join(work, "diff.json"),
        "mermaid": os.path.join(work, "diff.mmd"),
    }
    try:
        print(f"netpolscan: comparing HEAD with {base.label}", flush=True)
        code = _diff(netpolscan, base_dir, args, outputs_of)
    finally:
        _git("worktree", "remove", "--force", base_dir, check=False)
    if code not in (0, 1) or not os.path.isfile(os.path.join(work, "diff.json")):
        raise StepError(f"netpolscan diff failed (exit code {code}): see the step log")
    records = json.loads(Path(work, "diff.json").read_text(encoding="utf-8") or "[]")
    mermaid_path = Path(work, "diff.mmd")
    mermaid = mermaid_path.read_text(encoding="utf-8") if mermaid_path.is_file() else ""
    counts = {kind: sum(1 for r in records if r["diff-type"] == kind) for kind in KINDS}
    newly_allowed = code == 1
    _append(env["GITHUB_STEP_SUMMARY"], summary(records, mermaid, base.label, newly_allowed, fail_on_new))
    outputs.set(
        diffed="true",
        base_sha=base.commit,
        added=counts["added"],
        removed=counts["removed"],
        changed=counts["changed"],
        sarif_file=sarif_file,
        sarif_written="true",
        newly_allowed=str(newly_allowed).lower(),
        exit_code=1 if newly_allowed and fail_on_new else 0,
    )
    return 0


def main() -> int:
    env = dict(os.environ)
    try:
        return run(env)
    except StepError as exc:
        print(f"netpolscan: {exc}", file=sys.stderr)
        Outputs(env["GITHUB_OUTPUT"]).set(diffed="false", exit_code=2, sarif_written="false")
        _append(
            env["GITHUB_STEP_SUMMARY"],
            f"## netpolscan: connectivity change\n\nThe diff could not run: {exc}\n",
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())
