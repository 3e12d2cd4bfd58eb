"""Reading input: document splitting, line marks, provenance, broken and odd input."""

from __future__ import annotations

import codecs
from pathlib import Path

from netpolscan.sources import documents_from_text, load_documents
from netpolscan.sources.files import decode, iter_paths
from netpolscan.sources.yamlparse import parse_text

POLICY = """\
# Source: mychart/templates/netpol.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: a
    - namespaceSelector: {}
    ports:
    - port: 80
"""


def test_marks_point_at_keys_and_list_entries() -> None:
    [doc] = list(parse_text(POLICY, "p.yaml"))
    assert doc.line == 2
    assert doc.position(("spec",)) == (6, 1)
    assert doc.position(("spec", "ingress", 0)) == (9, 3)  # the "- " of the rule
    assert doc.position(("spec", "ingress", 0, "from", 1)) == (13, 5)  # the "- " of the second peer
    assert doc.position(("spec", "ingress", 0, "ports", 0, "port")) == (15, 7)
    # a missing field falls back to its closest existing ancestor
    assert doc.position(("spec", "egress", 0)) == (6, 1)


def test_helm_source_comment_is_kept_per_document() -> None:
    text = POLICY + "---\n# Source: mychart/templates/other.yaml\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
    docs = list(parse_text(text, "rendered.yaml"))
    assert [d.helm_source for d in docs] == ["mychart/templates/netpol.yaml", "mychart/templates/other.yaml"]
    assert docs[1].line == 18


def test_broken_document_does_not_hide_the_others() -> None:
    text = "a: 1\n---\nb: [1, 2\nc: 3\n---\nkind: Namespace\n"
    docs = list(parse_text(text, "x.yaml"))
    assert [d.error is None for d in docs] == [True, False, True]
    assert docs[1].error is not None and docs[1].error.startswith("invalid YAML")
    assert docs[1].error_line is not None and docs[1].error_line >= 3
    assert docs[2].data == {"kind": "Namespace"} and docs[2].line == 6


def test_empty_and_comment_only_documents_are_skipped() -> None:
    text = "---\n# just a comment\n---\n\n---\nkind: A\n---\n"
    docs = list(parse_text(text, "x.yaml"))
    assert len(docs) == 1 and docs[0].data == {"kind": "A"}


def test_kind_list_is_expanded_with_item_marks() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: Pod\n  metadata:\n    name: b\n"
    docs = list(parse_text(text, "l.yaml"))
    assert [d.data["metadata"]["name"] for d in docs] == ["a", "b"]
    assert docs[1].line == 6 and docs[1].list_item == 1
    assert docs[1].position(("metadata", "name")) == (8, 5)


def test_json_input_and_json_errors() -> None:
    good = '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "x"}\n}\n'
    [doc] = list(parse_text(good, "n.json", json_hint=True))
    assert doc.data["metadata"]["name"] == "x"
    assert doc.position(("metadata",)) == (4, 3)
    bad = '{\n  "kind": "Namespace",\n}\n'
    [broken] = list(parse_text(bad, "b.json", json_hint=True))
    assert broken.error is not None


def test_duplicate_keys_are_reported_and_last_value_wins() -> None:
    [doc] = list(parse_text("kind: A\nkind: B\n", "d.yaml"))
    assert doc.data["kind"] == "B"
    assert doc.warnings and doc.warnings[0][1] == 2


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    [doc] = list(parse_text("\n".join(lines) + "\n", "bomb.yaml"))
    assert doc.error is not None and "aliases expand" in doc.error


def test_deep_flow_nesting_is_refused_not_crashing() -> None:
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    [doc] = list(parse_text(text, "deep.yaml"))
    assert doc.error is not None and "nest" in doc.error  # our bound, or libyaml's own (newer wheels)


def test_decode_handles_bom_binary_and_bad_utf8() -> None:
    assert decode(codecs.BOM_UTF16_LE + "kind: A\n".encode("utf-16-le"), "u16").text == "kind: A\n"
    assert decode(codecs.BOM_UTF8 + b"kind: A\n", "u8").text == "kind: A\n"
    binary = decode(b"\x7fELF\x00\x01\x02", "bin")
    assert binary.text is None and binary.error is not None and "binary" in binary.error
    latin = decode(b"a: 1\nb: caf\xe9\n", "latin")
    assert latin.text is None and latin.error_line == 2
    [doc] = list(documents_from_text(latin))
    assert doc.error is not None and doc.error_line == 2


def test_directory_walk_is_recursive_sorted_and_filtered(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for name in ("b/z.yaml", "a/y.yml", "a/x.json", "a/readme.md", "top.yaml"):
        (tmp_path / name).write_text("kind: A\n")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)  # a symlink loop must not hang the walk
    found = [Path(p).relative_to(tmp_path).as_posix() for p in iter_paths([str(tmp_path)])]  # type: ignore[arg-type]
    assert found == ["a/x.json", "a/y.yml", "b/z.yaml", "top.yaml"]
    assert len(load_documents([str(tmp_path)])) == 4


def test_typed_lists_give_their_items_kind_and_api_version() -> None:
    text = "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n"
    docs = list(parse_text(text, "l.yaml"))
    assert [(d.data["kind"], d.data["apiVersion"]) for d in docs] == [("Pod", "v1"), ("Pod", "v1")]


def test_merge_keys() -> None:
    [doc] = list(parse_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "m.yaml"))
    assert doc.data["x"] == {"a": 1, "b": 3}
    assert doc.position(("x", "b")) == (4, 3)


def test_size_bounds_are_not_overridden_by_the_json_fallback() -> None:
    deep = "[" * 300 + "]" * 300 + "\n"
    for hint in (False, True):
        [doc] = list(parse_text(deep, "deep.json" if hint else "deep.yaml", json_hint=hint))
        assert doc.error is not None and "nest" in doc.error  # our bound, or libyaml's own (newer wheels)


def test_a_json_object_is_located_at_its_first_key() -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n    {\n      "apiVersion": "v1",\n' \
           '      "kind": "Namespace",\n      "metadata": {"name": "x"}\n    }\n  ]\n}\n'
    [doc] = list(parse_text(text, "a.json", json_hint=True))
    assert doc.line == 6 and doc.position(()) == (6, 7)
