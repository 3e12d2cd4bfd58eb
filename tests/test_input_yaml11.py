"""YAML 1.1 as Kubernetes reads it (issue 14, item 1).

The API server and kubectl read YAML with sigs.k8s.io/yaml: go-yaml v2 decodes it, the result is
converted to JSON. Every scalar that reader accepts is accepted here, with the value Kubernetes gets.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netpolscan.sources.yamlparse import parse_text

# A CRD in the style of a monitoring stack's AlertmanagerConfig: an enum of matcher operators written
# unquoted, as generated CRDs do. PyYAML resolves a bare "=" to tag:yaml.org,2002:value and cannot build it.
MONITORING_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: routeconfigs.monitoring.example.io
spec:
  group: monitoring.example.io
  names: {kind: RouteConfig, plural: routeconfigs}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              matchers:
                type: array
                items:
                  type: object
                  properties:
                    name: {type: string, minLength: 1}
                    matchType:
                      type: string
                      enum:
                      - '!='
                      - =
                      - =~
                      - '!~'
                    value: {type: string}
---
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
"""


def one(text: str) -> Any:
    [doc] = list(parse_text(textwrap.dedent(text), "t.yaml"))
    assert doc.error is None, doc.error
    return doc.data


def error_of(text: str) -> tuple[str, int | None]:
    [doc] = list(parse_text(textwrap.dedent(text), "t.yaml"))
    assert doc.error is not None and doc.data is None
    return doc.error, doc.error_line


def test_crd_enum_with_a_bare_equals_sign_is_read_not_nps001(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "0alertmanagerConfigCustomResourceDefinition.yaml"
    path.write_text(MONITORING_CRD)
    result = run_cli("scan", str(path), "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    assert [f for f in findings if f["ruleId"] == "NPS001"] == []
    assert any(f["ruleId"] == "NPS101" for f in findings)  # the Namespace beside it is analysed
    data = list(parse_text(MONITORING_CRD, "crd.yaml"))[0].data
    items = data["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert items["matchers"]["items"]["properties"]["matchType"]["enum"] == ["!=", "=", "=~", "!~"]


def test_booleans_are_yaml_1_1_on_off_yes_no() -> None:
    data = one("""\
        a: [yes, Yes, YES, true, True, TRUE, on, On, ON]
        b: [no, No, NO, false, False, FALSE, off, Off, OFF]
        c: [yEs, oN, tRUE, "yes", 'off']
    """)
    assert data["a"] == [True] * 9
    assert data["b"] == [False] * 9
    assert data["c"] == ["yEs", "oN", "tRUE", "yes", "off"]


def test_single_letters_y_n_stay_strings_a_deliberate_difference() -> None:
    """go-yaml v2 reads y/n as booleans; netpolscan keeps them (namespaces x, y, z of the upstream e2e
    suite): see netpolscan/sources/goyaml.py."""
    data = one("""\
        metadata: {name: y, namespace: n}
        a: [y, Y, n, N]
    """)
    assert data == {"metadata": {"name": "y", "namespace": "n"}, "a": ["y", "Y", "n", "N"]}


def test_nulls() -> None:
    data = one("""\
        a: ~
        b: null
        c: Null
        d: NULL
        e:
        f: nUll
        g: "~"
    """)
    assert data == {"a": None, "b": None, "c": None, "d": None, "e": None, "f": "nUll", "g": "~"}


def test_numbers_as_go_reads_them() -> None:
    data = one("""\
        octal: 0777
        octal_o: 0o17
        hexa: 0x1F
        binary: 0b101
        negative_binary: -0b11
        underscores: 1_000
        plus: +12
        eight: 08
        exponent: 1e3
        integral_float: 80.0
        fraction: .5
        float: 1.25
        huge_exponent: 1e400
        not_a_number: 12abc
    """)
    assert data == {
        "octal": 511,
        "octal_o": 15,
        "hexa": 31,
        "binary": 5,
        "negative_binary": -3,
        "underscores": 1000,
        "plus": 12,
        "eight": 8,  # not octal: go-yaml reads it as the float 8, and JSON writes 8
        "exponent": 1000,
        "integral_float": 80,
        "fraction": 0.5,
        "float": 1.25,
        "huge_exponent": "1e400",  # Go's ParseFloat fails on overflow: the text stays a string
        "not_a_number": "12abc",
    }
    assert type(data["integral_float"]) is int


def test_sexagesimal_and_timestamps_stay_strings_as_written() -> None:
    data = one("""\
        duration: 1:20
        clock: 190:20:30
        day: 2002-12-14
        stamp: 2001-12-14t21:59:43.10-05:00
        spaced: 2001-12-14 21:59:43.10
        tagged: !!timestamp 2001-12-14
    """)
    assert data == {
        "duration": "1:20",
        "clock": "190:20:30",
        "day": "2002-12-14",
        "stamp": "2001-12-14t21:59:43.10-05:00",
        "spaced": "2001-12-14 21:59:43.10",
        "tagged": "2001-12-14",
    }


def test_binary_is_decoded_and_bad_base64_is_an_error() -> None:
    data = one("""\
        token: !!binary aGVsbG8=
        block: !!binary |
          d29y
          bGQ=
    """)
    assert data == {"token": "hello", "block": "world"}
    message, line = error_of("a: 1\ntoken: !!binary not*base64\n")
    assert "base64" in message and line == 2


def test_explicit_tags() -> None:
    data = one("""\
        a: !!str 0777
        b: !!int "0x10"
        c: !!float 3
        d: !!bool "yes"
        e: !!null ""
        f: !Ref some-bucket
        g: !!set {x, z}
        h: !custom [1, 2]
    """)
    assert data == {"a": "0777", "b": 16, "c": 3, "d": True, "e": None, "f": "some-bucket",
                    "g": {"x": None, "z": None}, "h": [1, 2]}  # fmt: skip
    message, line = error_of("a: 1\nb: !!int twelve\n")
    assert "!!int" in message and line == 2


def test_infinity_and_nan_values_cannot_become_json() -> None:
    for value in (".inf", "-.Inf", ".nan"):
        message, line = error_of(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {value}\n")
        assert "JSON" in message and line == 4
    assert one('x: ".inf"\n') == {"x": ".inf"}


def test_keys_become_json_strings() -> None:
    data = one("""\
        on: a
        no: b
        1: c
        0x10: d
        1.5: e
        1e7: f
        2001-01-01: g
        "quoted": h
    """)
    assert data == {"true": "a", "false": "b", "1": "c", "16": "d", "1.5": "e", "1e+07": "f",
                    "2001-01-01": "g", "quoted": "h"}  # fmt: skip
    message, line = error_of("a: 1\n~: null key\n")
    assert "key" in message and line == 2


def test_merge_keys_apply_in_order_as_go_yaml_v2_does() -> None:
    data = one("""\
        defaults: &defaults {app: web, tier: frontend}
        before:
          tier: overridden-by-the-merge
          <<: *defaults
        after:
          <<: *defaults
          tier: backend
        several:
          <<: [{app: first}, {app: second, team: shop}]
    """)
    assert data["before"] == {"tier": "frontend", "app": "web"}
    assert data["after"] == {"app": "web", "tier": "backend"}
    assert data["several"] == {"app": "first", "team": "shop"}


def test_overriding_a_merged_key_is_not_a_duplicate_key() -> None:
    [doc] = list(parse_text("base: &b {a: 1}\nx:\n  <<: *b\n  a: 2\n  a: 3\n", "t.yaml"))
    assert doc.data["x"] == {"a": 3}
    assert [line for _, line, _ in doc.warnings] == [5]  # only the second explicit "a"


def test_merge_of_a_scalar_is_rejected_and_a_quoted_merge_key_is_a_plain_key() -> None:
    message, line = error_of("a: 1\nb:\n  <<: 5\n")
    assert "merge" in message and line == 3
    assert one('x: {"<<": 1}\n') == {"x": {"<<": 1}}
    assert one("x: <<\n") == {"x": "<<"}


@pytest.mark.parametrize("value", ["=", "=~", "<", "<=", "^v1", "$HOME", "/healthz", "(x)", "=1"])
def test_plain_scalars_starting_with_other_characters_are_strings(value: str) -> None:
    assert one(f"x: {value}\n") == {"x": value}


def test_a_network_policy_written_with_yaml_1_1_values_is_analysed(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        textwrap.dedent("""\
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: api
              namespace: shop
              labels: &api {app: api, team: payments}
              annotations: {reviewed: 2024-05-01}
            spec:
              podSelector:
                matchLabels:
                  <<: *api
              policyTypes: [Ingress]
              ingress:
              - ports:
                - {port: 8080.0, protocol: TCP}
                from:
                - podSelector: {matchLabels: {app: web}}
        """)
    )
    findings = json.loads(run_cli("scan", str(path), "--format", "json").stdout)["findings"]
    assert [f["ruleId"] for f in findings if f["ruleId"].startswith("NPS00")] == []
    [policy] = list(parse_text(path.read_text(), "policy.yaml"))
    assert policy.data["spec"]["podSelector"]["matchLabels"] == {"app": "api", "team": "payments"}
    assert policy.data["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_the_probe_plan_quotes_strings_kubernetes_would_read_as_booleans(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    manifests = tmp_path / "shop.yaml"
    manifests.write_text(
        textwrap.dedent("""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            spec:
              template:
                metadata: {labels: {app: web, canary: "y", tier: "on"}}
                spec: {containers: [{name: web, image: nginx}]}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: api, namespace: shop}
            spec:
              template:
                metadata: {labels: {app: api}}
                spec: {containers: [{name: api, image: api, ports: [{containerPort: 8080}]}]}
        """)
    )
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text(
        textwrap.dedent("""\
            apiVersion: netpolscan.io/v1
            kind: ConnectivityExpectations
            expectations:
            - from: {namespace: shop, workload: web}
              to: {namespace: shop, workload: api}
              ports: ["8080/TCP"]
              expect: allow
        """)
    )
    result = run_cli("probe-plan", str(manifests), "--expectations", str(expectations))
    assert result.exit_code == 0, result.stderr
    jobs = [d.data for d in parse_text(result.stdout, "plan.yaml") if d.kind == "Job"]
    [labels] = [job["spec"]["template"]["metadata"]["labels"] for job in jobs]
    assert labels["canary"] == "y" and labels["tier"] == "on"
