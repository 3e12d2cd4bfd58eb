"""Hostile input: the scanner never crashes, hangs or blows up memory, and never loses a finding because
another document is broken.

Every case scans the hostile input together with a valid Namespace that has no default deny (``ns.yaml``),
and asserts: the exit code, a finding or one-line error naming the file and the line, no traceback, and
that the Namespace was still analysed (NPS101). Big inputs are generated into ``tmp_path``; cases that
could take the interpreter down with them (deep nesting, alias bombs) run in a child process.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.sources.yamlparse import MAX_DEPTH
from tests.conftest import exit_code_of

REPO = Path(__file__).resolve().parent.parent

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"

POLICY: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "full", "namespace": "lab", "labels": {"app": "web"}},
    "spec": {
        "podSelector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}],
        },
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"team": "a"}},
                        "podSelector": {"matchLabels": {"app": "lb"}},
                    },
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ],
                "ports": [{"protocol": "TCP", "port": 8080, "endPort": 8090}],
            }
        ],
        "egress": [
            {
                "to": [{"podSelector": {"matchExpressions": [{"key": "db", "operator": "Exists"}]}}],
                "ports": [{"protocol": "UDP", "port": "dns"}],
            }
        ],
    },
}


# --- helpers -----------------------------------------------------------------------------------------


class Scan:
    def __init__(self, code: int, stdout: str, stderr: str, cwd: Path | None = None):
        self.cwd = cwd or Path.cwd()
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.report: dict[str, Any] = json.loads(stdout) if stdout.strip().startswith("{") else {}

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.report.get("findings", []))

    def rule(self, rule_id: str, path: Path | None = None) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["ruleId"] == rule_id and (path is None or self.is_at(f, path))]

    def is_at(self, finding: dict[str, Any], path: Path) -> bool:
        return (self.cwd / finding["location"]["path"]).resolve() == path.resolve()

    def assert_clean_run(self) -> None:
        """No traceback, no internal error, and stderr (when used) is one line per message."""
        for stream in (self.stdout, self.stderr):
            assert "Traceback" not in stream
            assert "internal error" not in stream
        for line in self.stderr.splitlines():
            assert line.startswith("netpolscan: "), self.stderr

    def assert_namespace_analysed(self, namespace: Path) -> None:
        assert self.rule("NPS101", namespace), (
            f"the valid Namespace beside the hostile input was not analysed: {self.findings[:5]}"
        )


@pytest.fixture
def scan(capsys: pytest.CaptureFixture[str]) -> Callable[..., Scan]:
    """Run ``netpolscan scan ... --format json`` in-process."""
    from netpolscan.cli import main

    def run(*paths: Path | str, extra: tuple[str, ...] = ()) -> Scan:
        capsys.readouterr()
        code = main(["scan", *map(str, paths), "--format", "json", *extra])
        out, err = capsys.readouterr()
        result = Scan(code, out, err)
        result.assert_clean_run()
        return result

    return run


def scan_in_child(*paths: Path, cwd: Path) -> tuple[Scan, float]:
    """Scan in a child interpreter; returns the result and the child's peak RSS in MiB."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    )
    argv = [sys.executable, "-m", "netpolscan", "scan", *map(str, paths), "--format", "json"]
    # Linux keeps a process's peak RSS across fork+exec, so a child of this (large) test process would
    # report at least our own size: a small intermediate interpreter starts the scan and measures it.
    rss_file = cwd / "child.rss"
    wrapper = [sys.executable, "-c", _MEASURE, str(rss_file), *argv]
    with open(cwd / "child.out", "wb") as out, open(cwd / "child.err", "wb") as err:
        proc = subprocess.run(wrapper, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    code, maxrss = (int(v) for v in rss_file.read_text().split())
    assert proc.returncode == 0
    result = Scan(code, (cwd / "child.out").read_text("utf-8"), (cwd / "child.err").read_text("utf-8"), cwd)
    result.assert_clean_run()
    expected = exit_code_of(result.report) if result.report else 2
    assert code == expected, f"exit {code}, expected {expected}: {result.stderr[-2000:]}"
    rss = maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024
    return result, rss


_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


@pytest.fixture
def ns(tmp_path: Path) -> Path:
    path = tmp_path / "ns.yaml"
    path.write_text(NAMESPACE)
    return path


def nps001_at(result: Scan, path: Path, line: int | None = None) -> dict[str, Any]:
    found = result.rule("NPS001", path)
    assert len(found) == 1, f"expected one NPS001 for {path.name}, got {result.findings[:5]}"
    finding = found[0]
    assert finding["location"]["line"] >= 1
    if line is not None:
        assert finding["location"]["line"] == line, finding
    assert "\n" not in finding["message"]
    return finding


# --- broken YAML and JSON ----------------------------------------------------------------------------


def test_invalid_yaml_is_nps001_at_its_line_and_later_documents_are_analysed(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [a, b\n---\n"
        + NAMESPACE.replace("team-a", "after")
    )
    result = scan(bad, ns)
    assert result.code == 1
    finding = nps001_at(result, bad)
    assert finding["location"]["line"] in (4, 5)
    assert "invalid YAML" in finding["message"]
    result.assert_namespace_analysed(ns)
    assert any("after" in f["message"] for f in result.rule("NPS101", bad))  # the document after it


def test_tabs_for_indentation(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    bad = tmp_path / "tabs.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n")
    result = scan(bad, ns)
    assert result.code == 1
    assert (
        "tab" in nps001_at(result, bad, 4)["message"].lower()
        or "token" in nps001_at(result, bad, 4)["message"]
    )
    result.assert_namespace_analysed(ns)


def test_duplicate_keys_are_reported_at_the_second_key(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path
) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: first\n  name: second\n")
    result = scan(dup, ns)
    assert result.code == 1
    assert "duplicate key 'name'" in nps001_at(result, dup, 5)["message"]
    result.assert_namespace_analysed(ns)


def test_json_with_trailing_commas(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "j",},\n}\n'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    bad = tmp_path / "trailing.json"
    bad.write_text(text)
    result = scan(bad, ns)
    assert result.code == 1
    finding = nps001_at(result, bad, expected.value.lineno)
    assert "invalid JSON" in finding["message"]
    result.assert_namespace_analysed(ns)


def test_text_output_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ns: Path
) -> None:
    from netpolscan.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [\n")
    code = main(["scan", str(bad), str(ns), "--no-color"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    lines = [line for line in out.splitlines() if "NPS001" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{bad.as_posix()}:2:"), out


# --- resource bombs (child process: a crash or a blow-up must not take pytest down) -----------------


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: lol}",
        "data:",
        '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_bounded_nps001_and_memory_stays_low(tmp_path: Path, ns: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb() + "---\n" + NAMESPACE.replace("team-a", "after-bomb"))
    result, rss = scan_in_child(bomb, ns, cwd=tmp_path)
    assert result.code == 1
    finding = nps001_at(result, bomb)
    assert "aliases expand" in finding["message"]
    assert 5 <= finding["location"]["line"] <= 14
    result.assert_namespace_analysed(ns)
    assert any("after-bomb" in f["message"] for f in result.rule("NPS101", bomb))
    assert rss < 200, f"peak RSS {rss:.0f} MiB for a 1 KB alias bomb"


NESTING = {
    "flow-seq": "[" * 100_000 + "]" * 100_000,
    "flow-seq-spaced": "[ " * 100_000 + "]" * 100_000,
    "flow-map": "{a: " * 100_000 + "x" + "}" * 100_000,
    "block-seq": "- " * 100_000 + "x",
    "block-complex-key": "? " * 100_000 + "x",
    "block-mixed": "- a:\n" + "".join("  " * (i + 1) + "- b:\n" for i in range(400)),
}


def test_100000_level_nesting_flow_and_block(tmp_path: Path, ns: Path) -> None:
    paths = []
    for name, text in NESTING.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text + "\n---\n" + NAMESPACE.replace("team-a", f"after-{name}"))
        paths.append(path)
    result, rss = scan_in_child(*paths, ns, cwd=tmp_path)
    assert result.code == 1
    for path in paths:
        finding = nps001_at(result, path)
        assert "nested" in finding["message"] or "invalid" in finding["message"], finding
        assert finding["location"]["line"] <= 402
        assert result.rule("NPS101", path), f"document after {path.name} not analysed"
    result.assert_namespace_analysed(ns)
    assert rss < 300


def test_nesting_just_over_the_bound_is_reported_with_position(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: "
        + "[" * (MAX_DEPTH + 50)
        + "]" * (MAX_DEPTH + 50)
        + "\n"
    )
    result = scan(deep, ns)
    assert result.code == 1
    assert "nested more than" in nps001_at(result, deep, 6)["message"]
    result.assert_namespace_analysed(ns)


def test_50_mb_scalar(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "w") as stream:
        stream.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ")
        chunk = "x" * (1 << 20)
        for _ in range(50):
            stream.write(chunk)
        stream.write("\n---\n" + NAMESPACE.replace("team-a", "after-big"))
    result = scan(big, ns)
    assert result.code == 1
    assert not result.rule("NPS001")
    assert any("after-big" in f["message"] for f in result.rule("NPS101", big))
    result.assert_namespace_analysed(ns)


# --- encodings ---------------------------------------------------------------------------------------


def test_binary_file(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    binary = tmp_path / "image.yaml"
    binary.write_bytes(bytes(range(256)) * 64)
    result = scan(binary, ns)
    assert result.code == 1
    assert "binary" in nps001_at(result, binary, 1)["message"]
    result.assert_namespace_analysed(ns)


def test_non_utf8_file_points_at_the_bad_line(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
    result = scan(latin, ns)
    assert result.code == 1
    assert "UTF-8" in nps001_at(result, latin, 4)["message"]
    result.assert_namespace_analysed(ns)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be-bom", "utf-8-sig", "utf-32"])
def test_unicode_with_bom_is_read(scan: Callable[..., Scan], tmp_path: Path, ns: Path, codec: str) -> None:
    text = NAMESPACE.replace("team-a", "bom")
    path = tmp_path / f"{codec}.yaml"
    if codec == "utf-16-be-bom":
        path.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    else:
        path.write_bytes(text.encode(codec))
    result = scan(path, ns)
    assert result.code == 1
    assert not result.rule("NPS001")
    [finding] = [f for f in result.rule("NPS101", path)]
    assert finding["location"]["line"] == 1 and "bom" in finding["message"]
    result.assert_namespace_analysed(ns)


def test_utf16_without_bom_is_binary_nps001(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    path = tmp_path / "nobom.yaml"
    path.write_bytes(NAMESPACE.encode("utf-16-le"))
    result = scan(path, ns)
    assert result.code == 1
    nps001_at(result, path, 1)
    result.assert_namespace_analysed(ns)


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n", "---\n---\n...\n", "\ufeff"])
def test_empty_files_give_no_finding(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path, content: str
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(content, encoding="utf-8")
    result = scan(empty, ns)
    assert result.code == 1
    assert [f for f in result.findings if result.is_at(f, empty)] == []
    result.assert_namespace_analysed(ns)


# --- directories and files that cannot be read ------------------------------------------------------


def test_symlink_loops_in_a_directory_walk(scan: Callable[..., Scan], tmp_path: Path) -> None:
    top = tmp_path / "repo"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "ns.yaml").write_text(NAMESPACE)
    (top / "a" / "b" / "up").symlink_to("../..")  # directory loop
    (top / "self.yaml").symlink_to("self.yaml")  # ELOOP
    (top / "ping").symlink_to("pong")
    (top / "pong").symlink_to("ping")
    result = scan(top)
    assert result.code == 1
    assert len(result.rule("NPS101")) == 1  # found once, not once per trip round the loop
    assert not result.rule("NPS001")


def test_broken_symlink_and_fifo_entries_in_a_directory_are_skipped(
    scan: Callable[..., Scan], tmp_path: Path
) -> None:
    top = tmp_path / "repo"
    top.mkdir()
    (top / "ns.yaml").write_text(NAMESPACE)
    (top / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(top / "pipe.yaml")  # reading it would block forever
    result = scan(top)
    assert result.code == 1
    result.assert_namespace_analysed(top / "ns.yaml")


def test_missing_file_argument_is_one_line_exit_2(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path
) -> None:
    broken = tmp_path / "gone.yaml"
    broken.symlink_to(tmp_path / "nowhere.yaml")
    result = scan(ns, broken)
    assert result.code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("netpolscan: error: ") and "gone.yaml" in line


def _reads_are_blocked(path: Path) -> bool:
    try:
        path.read_bytes()
    except PermissionError:
        return True
    return False


def test_unreadable_file_is_one_line_exit_2(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text(NAMESPACE)
    locked.chmod(0)
    try:
        if not _reads_are_blocked(locked):
            pytest.skip(
                "chmod 000 does not block reads here (running as root, as in CI); "
                "covered by the broken-symlink and FIFO cases"
            )
        for argument in (locked, tmp_path):  # named, and met in a directory walk
            result = scan(argument)
            assert result.code == 2
            [line] = result.stderr.splitlines()
            assert line.startswith("netpolscan: error: ") and "locked.yaml" in line and "cannot read" in line
    finally:
        locked.chmod(0o644)


def test_unreadable_directory_is_one_line_exit_2(scan: Callable[..., Scan], tmp_path: Path) -> None:
    top = tmp_path / "repo"
    (top / "closed").mkdir(parents=True)
    (top / "closed" / "ns.yaml").write_text(NAMESPACE)
    (top / "closed").chmod(0)
    try:
        try:
            os.listdir(top / "closed")
        except PermissionError:
            pass
        else:
            pytest.skip("chmod 000 does not block directory reads here (running as root, as in CI)")
        result = scan(top)
        assert result.code == 2
        [line] = result.stderr.splitlines()
        assert line.startswith("netpolscan: error: ") and "closed" in line
    finally:
        (top / "closed").chmod(0o755)


@pytest.mark.slow
def test_a_directory_of_10000_files(scan: Callable[..., Scan], tmp_path: Path) -> None:
    top = tmp_path / "many"
    top.mkdir()
    for i in range(10_000):
        if i == 5_000:
            (top / f"f{i:05d}.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n"
            )
        elif i == 9_999:
            (top / f"f{i:05d}.yaml").write_text(NAMESPACE)
        else:
            (top / f"f{i:05d}.yaml").write_text(
                f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: team-a\n"
            )
    result = scan(top)
    assert result.code == 1
    [finding] = result.rule("NPS001")
    assert finding["location"]["path"].endswith("f05000.yaml") and finding["location"]["line"] in (4, 5)
    result.assert_namespace_analysed(top / "f09999.yaml")


# --- objects of the wrong shape ----------------------------------------------------------------------


def _field_paths(
    value: Any, prefix: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (pointer, value) of a document, containers and leaves, the root excluded."""
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, Any]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return
    for key, child in items:
        yield (*prefix, key), child
        yield from _field_paths(child, (*prefix, key))


def _replace(document: Any, pointer: tuple[str | int, ...], new: Any) -> Any:
    result = copy.deepcopy(document)
    node = result
    for part in pointer[:-1]:
        node = node[part]
    node[pointer[-1]] = new
    return result


WRONG = {
    "string": "x",
    "number": 7,
    "list": ["x"],
    "map": {"x": "y"},
    "null": None,
    "bool": True,
}


def _must_be_rejected(original: Any, kind: str) -> bool:
    """A spec field whose type changes container-ness (or to list/map) is always invalid."""
    if kind in ("null", "bool", "string", "number"):
        return isinstance(original, dict | list) and kind in ("string", "number")
    if kind == "list":
        return not isinstance(original, list)
    return not isinstance(original, dict)


def test_a_wrong_type_in_every_network_policy_field(
    scan: Callable[..., Scan], tmp_path: Path, ns: Path
) -> None:
    documents: list[tuple[tuple[str | int, ...], str, Any]] = []
    for pointer, _original in _field_paths(POLICY):
        if pointer in (("apiVersion",), ("kind",)):
            continue
        for kind, value in WRONG.items():
            mutated = _replace(POLICY, pointer, value)
            metadata = mutated.get("metadata") if isinstance(mutated, dict) else None
            if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):  # objects, not copies
                mutated["metadata"] = {**metadata, "name": f"{metadata['name']}-{len(documents)}"}
            documents.append((pointer, kind, mutated))
    assert len(documents) > 300
    path = tmp_path / "wrong-types.yaml"
    starts: list[int] = []
    lines: list[str] = []
    for pointer, kind, document in documents:
        lines.append(f"# {'/'.join(map(str, pointer))} := {kind}")
        starts.append(len(lines) + 1)
        lines.extend(yaml.safe_dump(document, sort_keys=False).splitlines())
        lines.append("---")
    path.write_text("\n".join(lines) + "\n")
    result = scan(path, ns)
    assert result.code == 1
    assert not result.rule("NPS001"), result.rule("NPS001")[:3]
    result.assert_namespace_analysed(ns)
    bounds = [*starts, len(lines) + 2]
    flagged: dict[int, list[dict[str, Any]]] = {}
    for finding in result.findings:
        if finding["ruleId"] == "NPS002" and result.is_at(finding, path):
            line = finding["location"]["line"]
            index = max(i for i, start in enumerate(starts) if start <= line)
            assert line < bounds[index + 1]
            flagged.setdefault(index, []).append(finding)
    missed = []
    for index, (pointer, kind, _) in enumerate(documents):
        original: Any = POLICY
        for part in pointer:
            original = original[part]
        if pointer[0] == "spec" and _must_be_rejected(original, kind) and index not in flagged:
            missed.append(f"{'/'.join(map(str, pointer))} := {kind}")
    assert not missed, f"accepted without NPS002: {missed}"


@pytest.mark.parametrize(
    "document",
    [
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {a: 1}\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.com\n"
        "spec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n",
        "apiVersion: v1\nkind: 7\nmetadata: {name: odd}\n",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        "metadata: {name: c, namespace: team-a}\nspec: {endpointSelector: {}}\n",
        "apiVersion: v9\nkind: NetworkPolicy\nmetadata: {name: future}\nspec: {podSelector: {}}\n",
        "- just\n- a list\n",
        "plain scalar\n",
        "kind: Namespace\n",
    ],
    ids=[
        "custom-resource",
        "crd",
        "kind-number",
        "cilium",
        "unknown-api",
        "list-document",
        "scalar-document",
        "no-apiversion",
    ],
)
def test_unknown_kinds_and_crds(scan: Callable[..., Scan], tmp_path: Path, ns: Path, document: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(document + "---\n" + NAMESPACE.replace("team-a", "after-odd"))
    result = scan(path, ns)
    assert result.code == 1
    for finding in result.rule("NPS001", path):  # if it is reported, it is at the document's line
        assert finding["location"]["line"] == 1
    assert any("after-odd" in f["message"] for f in result.rule("NPS101", path))
    result.assert_namespace_analysed(ns)


@pytest.mark.slow
def test_a_list_of_100000_items(scan: Callable[..., Scan], tmp_path: Path, ns: Path) -> None:
    path = tmp_path / "list.yaml"
    with open(path, "w") as stream:
        stream.write("apiVersion: v1\nkind: List\nitems:\n")
        for i in range(99_998):
            stream.write(
                f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c{i}\n    namespace: team-a\n"
            )
        stream.write(
            textwrap.indent(NAMESPACE.replace("team-a", "in-list"), "  ").replace(
                "  apiVersion", "- apiVersion", 1
            )
        )
        bad_line = 3 + 99_998 * 5 + 4 + 1
        stream.write(
            "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n"
            "  metadata: {name: bad, namespace: team-a}\n  spec:\n    podSelector: []\n"
        )
    result = scan(path, ns)
    assert result.code == 1
    [invalid] = result.rule("NPS002", path)
    assert invalid["location"]["line"] == bad_line + 4  # spec.podSelector of the last item
    assert any("in-list" in f["message"] for f in result.rule("NPS101", path))
    result.assert_namespace_analysed(ns)


# --- fuzzing (a fixed number of cases from a fixed seed; `python tests/fuzz_scanner.py --cases N` for more) --


@pytest.mark.slow
def test_fuzz_a_fixed_number_of_cases(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import fuzz_scanner
    finally:
        sys.path.pop(0)
    cases = int(os.environ.get("NETPOLSCAN_FUZZ_CASES", "300"))
    seed = int(os.environ.get("NETPOLSCAN_FUZZ_SEED", "0"))
    count, failures = fuzz_scanner.fuzz(cases, seed, workdir=tmp_path)
    assert not failures, "\n\n".join(str(f) for f in failures[:3])
    assert count == cases
