"""Rule documentation files (``rules/<ID>-<name>.md``): front matter, sections and runnable examples.

A rule's metadata (name, level, summary, remediation, tags, help) lives in its documentation;
:func:`rule_from_doc` makes the :class:`~netpolscan.Rule` of a doc and a check function, for the
built-in rules and for a plugin's alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netpolscan.plugin_api import CheckFunction, Rule, Severity

# libyaml when present: the pure-Python loader would cost a tenth of a second per run on 30-odd front matters
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")
_IDS = r"([A-Z]{2,4}\d{3}(?:\s*,\s*[A-Z]{2,4}\d{3})*)"
_EXPECT = re.compile(r"#\s*expect:\s*" + _IDS + r"\s*$")
_EXPECT_NONE = re.compile(r"^\s*#\s*expect-none:\s*" + _IDS + r"\s*$")
# an `expect...:` comment, or `expect` followed by a rule id: a marker with a typo (prose passes)
_MARKER_LIKE = re.compile(r"#\s*expect(?:[\w-]*\s*:|(?:[-_ ]?none)?\s+[A-Z]{2,4}\d+\b)", re.IGNORECASE)
_OPTIONS = re.compile(r"^#\s*netpolscan-options:\s*(.+)$")
_OPTIONS_LIKE = re.compile(r"^#\s*netpolscan-option", re.IGNORECASE)
_FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """A YAML example (of a rule doc or a case file): its text and what its markers expect.

    ``expected`` holds the (line, rule id) pairs of the ``# expect: ID`` markers, ``expect_none`` the rules
    an ``# expect-none: ID`` line names (checked, and they must not fire), ``options`` the scan options of a
    ``# netpolscan-options: {...}`` line and ``path`` the file name the example is scanned as.
    """

    section: str
    text: str
    expected: tuple[tuple[int, str], ...]
    options: dict[str, Any]
    expect_none: tuple[str, ...] = ()
    path: str = "example.yaml"

    @property
    def checked(self) -> frozenset[str]:
        """The rules whose findings must be exactly the markers: those named by a marker of either kind."""
        return frozenset({rule_id for _, rule_id in self.expected} | set(self.expect_none))


def _ids(text: str) -> list[str]:
    return [rule_id.strip() for rule_id in text.split(",")]


def parse_example(text: str, section: str = "Example", path: str = "example.yaml") -> Example:
    """The :class:`Example` of YAML ``text``: its markers, read line by line (1-based, as findings count).

    A line that looks like a marker but is not one (``# expect NPS302``, ``# expect: nps302``, an
    ``# expect-none:`` after YAML, a rule both expected and expected not to fire) raises ``ValueError``
    naming ``path`` and the line, so that a typo never turns a check into nothing.
    """
    expected: list[tuple[int, str]] = []
    none: list[str] = []
    options: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path} line {number}"
        marker = _EXPECT.search(line)
        none_marker = _EXPECT_NONE.match(line)
        if marker:
            expected.extend((number, rule_id) for rule_id in _ids(marker.group(1)))
        elif none_marker:
            none.extend(_ids(none_marker.group(1)))
        elif _MARKER_LIKE.search(line):
            raise ValueError(
                f"{where}: malformed marker {line.strip()!r} (write `# expect: ID[, ID]` at the end of the "
                "line a finding must point at, or a whole line `# expect-none: ID[, ID]`)"
            )
        option = _OPTIONS.match(line.strip())
        if option:
            options.update(yaml.safe_load(option.group(1)) or {})
        elif _OPTIONS_LIKE.match(line.strip()):
            raise ValueError(
                f"{where}: malformed options line (write `# netpolscan-options: {{key: value}}`)"
            )
    both = sorted({rule_id for _, rule_id in expected} & set(none))
    if both:
        raise ValueError(f"{path}: {', '.join(both)} both expected (`# expect:`) and not (`# expect-none:`)")
    return Example(section, text, tuple(expected), options, tuple(dict.fromkeys(none)), path)


@dataclass(frozen=True)
class RuleDoc:
    path: Path
    meta: dict[str, Any]
    sections: dict[str, str]
    body: str

    @property
    def id(self) -> str:
        return str(self.meta["id"])

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    def examples(self) -> list[Example]:
        """Every fenced ``yaml`` block of the Example / Use instead sections (and any other section)."""
        found: list[Example] = []
        for section, text in self.sections.items():
            for match in _FENCE.finditer(text):
                if match.group("lang") not in ("yaml", "yml"):
                    continue
                try:
                    found.append(parse_example(match.group("body"), section))
                except ValueError as exc:
                    raise ValueError(f"{self.path.name} ({section}): {exc}") from None
        return found


def parse_rule_doc(path: Path) -> RuleDoc:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{path}: rule documentation must start with a front matter block")
    end = text.index("\n---\n", 4)
    meta = yaml.load(text[4:end], Loader=_Loader) or {}
    body = text[end + 5 :]
    sections: dict[str, str] = {}
    current = ""
    lines: list[str] = []
    for line in body.splitlines(keepends=True):
        heading = re.match(r"^##\s+(.+?)\s*$", line)
        if heading:
            if current:
                sections[current] = "".join(lines)
            current, lines = heading.group(1), []
        else:
            lines.append(line)
    if current:
        sections[current] = "".join(lines)
    return RuleDoc(path, meta, sections, body)


def docs_dir() -> Path:
    """Where the built-in rule docs are: inside the installed package, or the source tree's ``rules/``."""
    packaged = Path(__file__).parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def load_rule_docs(directory: Path | None = None) -> dict[str, RuleDoc]:
    """Rule docs by id."""
    directory = directory or docs_dir()
    docs: dict[str, RuleDoc] = {}
    for path in sorted(directory.glob("*.md")):
        if re.match(r"^[A-Z]{2,4}\d{3}-", path.name):
            doc = parse_rule_doc(path)
            docs[doc.id] = doc
    return docs


def first_paragraph(text: str) -> str:
    """The first paragraph of a section, on one line."""
    for paragraph in text.strip().split("\n\n"):
        if paragraph.strip() and not paragraph.lstrip().startswith("```"):
            return " ".join(line.strip() for line in paragraph.strip().splitlines())
    return ""


def rule_from_doc(
    doc: RuleDoc | str | os.PathLike[str],
    check: CheckFunction,
    *,
    help_uri: str | None = None,
    plugin: str = "",
) -> Rule:
    """The rule documented by ``doc`` (a parsed doc or the path of its Markdown file), checked by ``check``.

    Front matter gives ``id``, ``name``, ``level`` and, optionally, ``summary`` (else the first paragraph of
    *What it does*), ``remediation``, ``security-severity`` (``"-"``: none), ``tags`` and ``precision``;
    the whole body becomes the rule's help text. ``help_uri`` links the doc where users can read it.
    """
    if not isinstance(doc, RuleDoc):
        doc = parse_rule_doc(Path(doc))
    meta = doc.meta
    severity = meta.get("security-severity")
    what = doc.sections.get("What it does", "")
    why = doc.sections.get("Why is this bad?", "")
    return Rule(
        id=doc.id,
        name=doc.name,
        level=Severity.parse(str(meta["level"])),
        check=check,
        summary=str(meta.get("summary") or first_paragraph(what)),
        description=" ".join(p for p in (first_paragraph(what), first_paragraph(why)) if p),
        help_markdown=f"# {doc.id} {doc.name}\n{doc.body.strip()}\n",
        remediation=str(meta.get("remediation", "")),
        security_severity=None if severity in (None, "-") else str(severity),
        tags=tuple(str(t) for t in meta.get("tags", ())),
        precision=str(meta.get("precision", "high")),
        plugin=plugin,
        help_uri=help_uri,
    )
