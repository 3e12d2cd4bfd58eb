"""Calico's selector language, parsed once into a hashable matcher.

Grammar (``!`` binds tighter than ``&&``, which binds tighter than ``||``)::

    expr    := and ( "||" and )*
    and     := unary ( "&&" unary )*
    unary   := "!" unary | primary
    primary := "(" expr ")" | "all()" | "global()" | "has(" key ")"
             | key ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
             | key ( "in" | "not in" ) "{" [ string ( "," string )* ] "}"

Strings are single- or double-quoted, without escapes. An empty selector means ``all()``.

Semantics: ``k == 'v'`` needs the label; ``k != 'v'`` and ``k not in {…}`` also hold when the label is
absent; ``contains``/``starts with``/``ends with`` need the label. ``all()`` holds for every endpoint
(inside a namespaceSelector: for every namespaced one); ``global()`` holds for non-namespaced resources
only (GlobalNetworkSets, HostEndpoints).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

KEY_CHARS = r"[A-Za-z0-9_./\-]"
_KEY = re.compile(KEY_CHARS + "+")
_SPACE = re.compile(r"\s*")
_WORD_END = re.compile(r"(?![A-Za-z0-9_./\-])")


class SelectorError(ValueError):
    """A selector that does not parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


# --- the syntax tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """How to evaluate: on a non-namespaced resource (``global()`` holds), and what ``all()`` means."""

    is_global: bool = False
    all_value: bool = True


_POD = _Ctx()
_GLOBAL = _Ctx(is_global=True)


@dataclass(frozen=True)
class AllNode:
    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return ctx.all_value

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True)
class GlobalNode:
    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return ctx.is_global

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True)
class HasNode:
    key: str

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return self.key in labels

    def __str__(self) -> str:
        return f"has({self.key})"


# comparison operators: name -> (needs the label, test on the value)
_TESTS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda value, arg: value == arg,
    "!=": lambda value, arg: value != arg,
    "contains": lambda value, arg: arg in value,
    "starts with": lambda value, arg: value.startswith(arg),
    "ends with": lambda value, arg: value.endswith(arg),
}


@dataclass(frozen=True)
class CompareNode:
    key: str
    op: str  # one of _TESTS
    value: str

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        actual = labels.get(self.key)
        if actual is None:
            return self.op == "!="
        return _TESTS[self.op](actual, self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.op} {_quote(self.value)}"


@dataclass(frozen=True)
class InNode:
    key: str
    values: frozenset[str]
    negated: bool = False

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        actual = labels.get(self.key)
        found = actual is not None and actual in self.values
        return not found if self.negated else found

    def __str__(self) -> str:
        op = "not in" if self.negated else "in"
        return f"{self.key} {op} {{{', '.join(_quote(v) for v in sorted(self.values))}}}"


@dataclass(frozen=True)
class NotNode:
    item: Node

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return not self.item.eval(labels, ctx)

    def __str__(self) -> str:
        return f"!{_wrap(self.item)}"


@dataclass(frozen=True)
class AndNode:
    items: tuple[Node, ...]

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return all(item.eval(labels, ctx) for item in self.items)

    def __str__(self) -> str:
        return " && ".join(_wrap(item) for item in self.items)


@dataclass(frozen=True)
class OrNode:
    items: tuple[Node, ...]

    def eval(self, labels: Mapping[str, str], ctx: _Ctx) -> bool:
        return any(item.eval(labels, ctx) for item in self.items)

    def __str__(self) -> str:
        return " || ".join(_wrap(item) for item in self.items)


Node = AllNode | GlobalNode | HasNode | CompareNode | InNode | NotNode | AndNode | OrNode


def _quote(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


def _wrap(node: Node) -> str:
    return f"({node})" if isinstance(node, AndNode | OrNode) else str(node)


# --- matchers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """A parsed Calico selector. ``matches`` evaluates it on a namespaced endpoint (a pod or a
    NetworkSet); ``matches_global`` on a non-namespaced one (a GlobalNetworkSet)."""

    root: Node
    text: str = field(default="", compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.root.eval(labels, _POD)

    def matches_global(self, labels: Mapping[str, str]) -> bool:
        return self.root.eval(labels, _GLOBAL)

    @property
    def is_all(self) -> bool:
        return isinstance(self.root, AllNode)

    def keys(self) -> frozenset[str]:
        """Every label key the selector reads."""
        found: set[str] = set()
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, HasNode | CompareNode | InNode):
                found.add(node.key)
            elif isinstance(node, NotNode):
                stack.append(node.item)
            elif isinstance(node, AndNode | OrNode):
                stack.extend(node.items)
        return frozenset(found)

    def __str__(self) -> str:
        return str(self.root)


NAMESPACE_NAME_LABEL = "projectcalico.org/name"
_K8S_NAME_LABEL = "kubernetes.io/metadata.name"
_IN_NAMESPACE = _Ctx(is_global=False, all_value=True)
_NO_NAMESPACE = _Ctx(is_global=True, all_value=False)


@dataclass(frozen=True)
class NamespaceSelector:
    """A Calico ``namespaceSelector``: matches namespaces by their labels (and ``projectcalico.org/name``,
    the namespace's name). ``selects_global``: whether it also covers non-namespaced resources
    (``global()``, alone or combined)."""

    selector: Selector

    def matches(self, labels: Mapping[str, str]) -> bool:
        name = labels.get(_K8S_NAME_LABEL)
        if name is not None and NAMESPACE_NAME_LABEL not in labels:
            labels = {**labels, NAMESPACE_NAME_LABEL: name}
        return self.selector.root.eval(labels, _IN_NAMESPACE)

    @property
    def selects_global(self) -> bool:
        return self.selector.root.eval({}, _NO_NAMESPACE)

    def __str__(self) -> str:
        return str(self.selector)


# --- the parser ----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str, what: str) -> None:
        if not self.accept(token):
            raise SelectorError(f"expected {what}, found {self.describe()}", self.pos)

    def describe(self) -> str:
        self.skip()
        if self.pos >= len(self.text):
            return "the end of the selector"
        return repr(self.text[self.pos : self.pos + 12])

    def word(self, word: str) -> bool:
        """Accept a keyword made of words separated by whitespace (``starts with``)."""
        self.skip()
        start = self.pos
        for i, part in enumerate(word.split()):
            if i:
                gap = _SPACE.match(self.text, self.pos)
                assert gap is not None
                if gap.end() == self.pos:
                    self.pos = start
                    return False
                self.pos = gap.end()
            if not self.text.startswith(part, self.pos) or not _WORD_END.match(
                self.text, self.pos + len(part)
            ):
                self.pos = start
                return False
            self.pos += len(part)
        return True

    def parse(self) -> Node:
        self.skip()
        if self.pos >= len(self.text):
            return AllNode()
        node = self.expr()
        self.skip()
        if self.pos < len(self.text):
            raise SelectorError(f"unexpected {self.describe()}", self.pos)
        return node

    def expr(self) -> Node:
        items = [self.conjunction()]
        while self.accept("||"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else OrNode(tuple(items))

    def conjunction(self) -> Node:
        items = [self.unary()]
        while self.accept("&&"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else AndNode(tuple(items))

    def unary(self) -> Node:
        if self.peek("!") and not self.peek("!="):
            self.pos += 1
            return NotNode(self.unary())
        return self.primary()

    def primary(self) -> Node:
        if self.accept("("):
            node = self.expr()
            self.expect(")", "')'")
            return node
        for name, node in (("all", AllNode()), ("global", GlobalNode())):
            start = self.pos
            if self.word(name) and self.accept("("):
                self.expect(")", f"')' after {name}(")
                return node
            self.pos = start
        start = self.pos
        if self.word("has") and self.accept("("):
            key = self.key()
            self.expect(")", "')' after the label key of has(")
            return HasNode(key)
        self.pos = start
        key = self.key()
        for op in ("==", "!="):
            if self.accept(op):
                return CompareNode(key, op, self.string())
        for op in ("contains", "starts with", "ends with"):
            if self.word(op):
                return CompareNode(key, op, self.string())
        if self.word("not in"):
            return InNode(key, self.string_set(), negated=True)
        if self.word("in"):
            return InNode(key, self.string_set())
        raise SelectorError(
            f"expected an operator (==, !=, in, not in, contains, starts with, ends with) after {key!r}, "
            f"found {self.describe()}",
            self.pos,
        )

    def key(self) -> str:
        self.skip()
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise SelectorError(f"expected a label key, found {self.describe()}", self.pos)
        self.pos = match.end()
        return match.group()

    def string(self) -> str:
        self.skip()
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ("'", '"'):
            raise SelectorError(f"expected a quoted string, found {self.describe()}", self.pos)
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise SelectorError("unterminated string", self.pos)
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def string_set(self) -> frozenset[str]:
        self.expect("{", "'{'")
        values: set[str] = set()
        if self.accept("}"):
            return frozenset()
        while True:
            values.add(self.string())
            if self.accept("}"):
                return frozenset(values)
            self.expect(",", "',' or '}'")


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Selector:
    """The selector ``text`` (raises :class:`SelectorError` with the offset of the problem)."""
    return Selector(_Parser(text).parse(), text)


ALL = Selector(AllNode(), "all()")
