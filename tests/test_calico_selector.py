"""Calico's selector language: every operator, precedence, quoting, and errors with their position."""

from __future__ import annotations

import pytest

from netpolscan.policykinds.calico.selector import NamespaceSelector, SelectorError, parse

LABELS = {"app": "web-frontend", "tier": "front", "env": "prod"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("all()", True),
        ("global()", False),
        ("app == 'web-frontend'", True),
        ('app == "web-frontend"', True),
        ("app == 'web'", False),
        ("missing == 'x'", False),
        ("app != 'web'", True),
        ("app != 'web-frontend'", False),
        ("missing != 'x'", True),  # absent labels are "not equal"
        ("has(app)", True),
        ("has(missing)", False),
        ("!has(app)", False),
        ("!has(missing)", True),
        ("tier in {'front', 'back'}", True),
        ("tier in {'back'}", False),
        ("tier in {}", False),
        ("missing in {'x'}", False),
        ("tier not in {'back'}", True),
        ("tier not in {'front'}", False),
        ("missing not in {'x'}", True),  # absent labels are "not in" any set
        ("app contains 'front'", True),
        ("app contains 'back'", False),
        ("missing contains ''", False),
        ("app starts with 'web'", True),
        ("app starts with 'front'", False),
        ("app ends with 'end'", True),
        ("app ends with 'web'", False),
        ("app == 'web-frontend' && env == 'prod'", True),
        ("app == 'web-frontend' && env == 'dev'", False),
        ("app == 'x' || env == 'prod'", True),
        ("app == 'x' || env == 'dev'", False),
        ("!(app == 'x')", True),
        ("!!has(app)", True),
        ("  has( app )  &&  tier   in{'front'}", True),
    ],
)
def test_operators(text: str, expected: bool) -> None:
    assert parse(text).matches(LABELS) is expected


def test_precedence_not_and_or() -> None:
    # && binds tighter than ||: a || (b && c)
    selector = parse("env == 'prod' || app == 'x' && tier == 'y'")
    assert selector.matches({"env": "prod"})
    assert not selector.matches({"app": "x"})
    # ! binds tighter than &&: (!a) && b
    selector = parse("!has(a) && has(b)")
    assert selector.matches({"b": "1"})
    assert not selector.matches({"a": "1", "b": "1"})
    # parentheses override
    selector = parse("(env == 'prod' || app == 'x') && tier == 'y'")
    assert not selector.matches({"env": "prod"})
    assert selector.matches({"env": "prod", "tier": "y"})


def test_parsed_once_hashable_and_normalised() -> None:
    a = parse("app == 'x' && has(b)")
    b = parse("  app=='x'&&has( b )")
    assert a == b and hash(a) == hash(b)
    assert str(a) == "app == 'x' && has(b)"
    assert parse("app == 'x'") is parse("app == 'x'")  # cached
    assert a.keys() == {"app", "b"}


def test_global_and_namespace_contexts() -> None:
    assert parse("global()").matches_global({})
    assert not parse("global()").matches({})
    ns = NamespaceSelector(parse("global()"))
    assert ns.selects_global and not ns.matches({"kubernetes.io/metadata.name": "a"})
    ns_all = NamespaceSelector(parse("all()"))
    assert not ns_all.selects_global and ns_all.matches({})
    by_name = NamespaceSelector(parse("projectcalico.org/name == 'team-a'"))
    assert by_name.matches({"kubernetes.io/metadata.name": "team-a"})
    assert not by_name.matches({"kubernetes.io/metadata.name": "team-b"})
    either = NamespaceSelector(parse("global() || env == 'prod'"))
    assert either.selects_global and either.matches({"env": "prod"})


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("app = 'x'", 4, "expected an operator"),
        ("app == x", 7, "quoted string"),
        ("app == 'x", 7, "unterminated"),
        ("has(", 4, "label key"),
        ("has(app", 7, "')'"),
        ("app == 'x' &&", 13, "label key"),
        ("app == 'x' ||| b == 'y'", 13, "label key"),
        ("(app == 'x'", 11, "')'"),
        ("app == 'x')", 10, "unexpected"),
        ("app in {'x' 'y'}", 12, "',' or '}'"),
        ("app in 'x'", 7, "'{'"),
        ("all(", 4, "')'"),
        ("app == 'x' env == 'y'", 11, "unexpected"),
        ("== 'x'", 0, "label key"),
    ],
)
def test_errors_carry_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in info.value.message
