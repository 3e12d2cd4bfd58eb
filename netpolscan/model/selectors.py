"""Label selectors (matchLabels + matchExpressions) and their validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netpolscan.sources.document import Pointer

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Problem = tuple[str, Pointer]


def label_key_problem(key: Any) -> str | None:
    """Why ``key`` is not a valid label key (None when it is)."""
    if not isinstance(key, str):
        return f"label key {key!r} must be a string"
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"label key {key!r}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _NAME.match(name):
        return f"label key {key!r}: name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def label_value_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid label value (None when it is)."""
    if not isinstance(value, str):
        return f"label value {value!r} must be a string"
    if value and (len(value) > 63 or not _NAME.match(value)):
        return f"label value {value!r}: must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


@dataclass(frozen=True)
class Requirement:
    """One matchExpressions entry."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def __str__(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return self.key if self.operator == "Exists" else f"!{self.key}"
        op = "in" if self.operator == "In" else "notin"
        return f"{self.key} {op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector. The empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.match_labels] + [str(r) for r in self.match_expressions]
        return "{" + ", ".join(parts) + "}" if parts else "{}"


def parse_selector(raw: Any, pointer: Pointer) -> tuple[LabelSelector | None, list[Problem]]:
    """Parse a selector mapping; returns (selector or None when invalid, problems)."""
    problems: list[Problem] = []
    if raw is None:
        return LabelSelector(), problems
    if not isinstance(raw, dict):
        return None, [(f"selector must be a mapping, not {_type_name(raw)}", pointer)]
    labels: list[tuple[str, str]] = []
    for key in raw:
        if key not in ("matchLabels", "matchExpressions"):
            problems.append((f"unknown selector field {key!r}", (*pointer, key)))
    match_labels = raw.get("matchLabels")
    if match_labels is not None:
        if not isinstance(match_labels, dict):
            problems.append(
                (f"matchLabels must be a mapping, not {_type_name(match_labels)}", (*pointer, "matchLabels"))
            )
        else:
            for key, value in match_labels.items():
                where = (*pointer, "matchLabels", key)
                problem = label_key_problem(key) or label_value_problem(value)
                if problem:
                    problems.append((problem, where))
                else:
                    labels.append((key, value))
    requirements: list[Requirement] = []
    expressions = raw.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            problems.append(
                (
                    f"matchExpressions must be a list, not {_type_name(expressions)}",
                    (*pointer, "matchExpressions"),
                )
            )
        else:
            for i, expr in enumerate(expressions):
                req, expr_problems = _parse_requirement(expr, (*pointer, "matchExpressions", i))
                problems.extend(expr_problems)
                if req is not None:
                    requirements.append(req)
    if problems:
        return None, problems
    return LabelSelector(tuple(sorted(labels)), tuple(requirements)), problems


def _parse_requirement(raw: Any, pointer: Pointer) -> tuple[Requirement | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [(f"matchExpressions entry must be a mapping, not {_type_name(raw)}", pointer)]
    problems: list[Problem] = []
    key = raw.get("key")
    operator = raw.get("operator")
    values = raw.get("values")
    key_problem = label_key_problem(key) if key is not None else "matchExpressions entry needs a key"
    if key_problem:
        problems.append((key_problem, (*pointer, "key") if key is not None else pointer))
    if operator not in OPERATORS:
        problems.append(
            (
                f"unknown selector operator {operator!r} (expected In, NotIn, Exists or DoesNotExist)",
                (*pointer, "operator") if operator is not None else pointer,
            )
        )
    if values is not None and not isinstance(values, list):
        problems.append((f"values must be a list, not {_type_name(values)}", (*pointer, "values")))
        values = None
    values = values or []
    if operator in ("In", "NotIn") and not values:
        problems.append(
            (
                f"operator {operator} needs at least one value",
                (*pointer, "values") if "values" in raw else pointer,
            )
        )
    if operator in ("Exists", "DoesNotExist") and values:
        problems.append((f"operator {operator} takes no values", (*pointer, "values")))
    for i, value in enumerate(values):
        problem = label_value_problem(value)
        if problem:
            problems.append((problem, (*pointer, "values", i)))
    for extra in raw:
        if extra not in ("key", "operator", "values"):
            problems.append((f"unknown matchExpressions field {extra!r}", (*pointer, extra)))
    if problems:
        return None, problems
    return Requirement(str(key), str(operator), frozenset(str(v) for v in values)), problems


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


type_name = _type_name
