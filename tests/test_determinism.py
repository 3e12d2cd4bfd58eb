"""Determinism: the same input, in any order and from any checkout path, gives byte-identical JSON and
SARIF.

The input (the demo plus a generated helm-like app, split over several files) is copied into two
different temporary "checkouts"; the scan runs with the working directory set to each, with the files
named in different orders, and with the directory walked instead of listed.
"""

from __future__ import annotations

import random
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "demo"
FORMATS = ("json", "sarif")


def _generated_app(namespaces: int) -> str:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    import io

    stream = io.StringIO()
    generate.write(stream, namespaces, "app", 3)
    return stream.getvalue()


def _documents(text: str) -> list[str]:
    return [
        part.strip("\n") + "\n" for part in re.split(r"^---[ \t]*$", text, flags=re.MULTILINE) if part.strip()
    ]


@pytest.fixture(scope="module")
def documents() -> list[str]:
    docs: list[str] = []
    for path in sorted(DEMO.glob("*.yaml")):
        docs.extend(_documents(path.read_text()))
    docs.extend(_documents(_generated_app(8)))
    assert all(yaml.safe_load(doc) is not None for doc in docs[:5])
    return docs


def _checkout(root: Path, documents: list[str], seed: int | None) -> list[str]:
    """Write one file per group of documents (order shuffled with ``seed``); returns the file names."""
    docs = list(documents)
    if seed is not None:
        random.Random(seed).shuffle(docs)
    root.mkdir(parents=True)
    (root / "manifests").mkdir()
    names = []
    for i in range(0, len(docs), 7):
        name = f"manifests/part-{i // 7:03d}.yaml"
        (root / name).write_text("---\n".join(docs[i : i + 7]))
        names.append(name)
    return names


@pytest.fixture
def scan_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[Path, list[str], str], bytes]:
    from netpolscan.cli import main

    def run(cwd: Path, arguments: list[str], fmt: str) -> bytes:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(["scan", *arguments, "--format", fmt])  # to stdout: nothing new in the scanned tree
        out, err = capsys.readouterr()
        assert code == 1, err  # the demo's findings are in every input
        assert "Traceback" not in err
        return out.encode("utf-8")

    return run


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_files_any_checkout_path_any_argument_order(
    tmp_path: Path, documents: list[str], scan_in: Callable[[Path, list[str], str], bytes], fmt: str
) -> None:
    first = tmp_path / "checkout-one"
    second = tmp_path / "somewhere" / "much" / "deeper" / "checkout-two"
    names = _checkout(first, documents, None)
    assert _checkout(second, documents, None) == names
    reference = scan_in(first, names, fmt)
    assert str(tmp_path).encode() not in reference  # no checkout path leaks into the report
    assert scan_in(second, names, fmt) == reference
    assert scan_in(second, list(reversed(names)), fmt) == reference
    shuffled = list(names)
    random.Random(7).shuffle(shuffled)
    assert scan_in(first, shuffled, fmt) == reference
    assert scan_in(second, ["manifests"], fmt) == reference  # the directory walk finds the same files
    assert scan_in(first, ["."], fmt).replace(b"./", b"") == reference.replace(b"./", b"")


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_documents_in_another_order_give_identical_reports_when_files_are_per_document(
    tmp_path: Path, documents: list[str], scan_in: Callable[[Path, list[str], str], bytes], fmt: str
) -> None:
    """With one document per file (so no line moves), the order documents are given in does not matter."""
    reports = []
    for seed in (1, 2, 3):
        root = tmp_path / f"order-{seed}"
        (root / "m").mkdir(parents=True)
        docs = list(enumerate(documents))
        random.Random(seed).shuffle(docs)
        names = []
        for original_index, doc in docs:  # files written in a different order, named by document
            name = f"m/doc-{original_index:04d}.yaml"
            (root / name).write_text(doc)
            names.append(name)
        reports.append(scan_in(root, names, fmt))
    assert reports[0] == reports[1] == reports[2]


def test_document_order_within_a_file_changes_only_locations(
    tmp_path: Path, documents: list[str], scan_in: Callable[[Path, list[str], str], bytes]
) -> None:
    """Shuffling documents inside one file moves lines; the findings themselves are the same."""
    import json

    seen = []
    for seed in (None, 11):
        root = tmp_path / f"shuffle-{seed}"
        root.mkdir()
        docs = list(documents)
        if seed is not None:
            random.Random(seed).shuffle(docs)
        (root / "all.yaml").write_text("---\n".join(docs))
        report = json.loads(scan_in(root, ["all.yaml"], "json"))
        seen.append(
            sorted(
                (f["ruleId"], f["message"], f.get("object") and json.dumps(f["object"], sort_keys=True))
                for f in report["findings"]
            )
        )
    assert seen[0] == seen[1]


def test_copying_a_checkout_keeps_the_report(
    tmp_path: Path, documents: list[str], scan_in: Callable[[Path, list[str], str], bytes]
) -> None:
    first = tmp_path / "a"
    names = _checkout(first, documents, 5)
    copy = tmp_path / "b" / "a"
    shutil.copytree(first, copy)
    for fmt in FORMATS:
        assert scan_in(first, names, fmt) == scan_in(copy, names, fmt)
