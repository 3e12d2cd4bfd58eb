"""Source mapping on templates written the way popular public charts write them.

The chart under ``fixtures/charts/realistic/webapp`` wraps its policies in ``{{- if }}``, names them with
``include`` helpers, builds rules with ``if``/``range`` over values, splices extra rules with ``toYaml``,
holds several policies (one per entry of a values map) in one file, takes ``policyTypes`` from values and
has a sub-chart with its own policy. Each finding must land on the best line of the template: the rule's
or peer's ``- `` line (inside a ``range`` body when a range made it), the key line, or the ``toYaml`` line
for fields that come from values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netpolscan.plugin_api import Location
from netpolscan.sourcemap import SourceMapper, template_position
from netpolscan.sources import render
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text
from tests.conftest import REPO, CliResult
from tests.sarif_validation import github_rule_errors
from tests.test_render import require_helm_sdk

FIXTURES = Path(__file__).parent / "fixtures"
WEBAPP = FIXTURES / "charts" / "realistic" / "webapp"
TEMPLATES = WEBAPP / "templates"
NETPOL = TEMPLATES / "networkpolicy.yaml"
POLICIES = TEMPLATES / "policies.yaml"
METRICS = TEMPLATES / "metrics-networkpolicy.yaml"
HELPERS = TEMPLATES / "_helpers.tpl"
WORKER = WEBAPP / "charts" / "worker" / "templates" / "networkpolicy.yaml"


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def rendered(values: str | None, chart: Path = WEBAPP) -> dict[str, Document]:
    require_helm_sdk()
    with pytest.MonkeyPatch.context() as patch:
        real = render._which
        patch.setattr(render, "_which", lambda name: None if name == "helm" else real(name))
        text = render.render_helm(chart, [chart / values] if values else [], release="demo")
    return {
        d.data["metadata"]["name"]: d
        for d in parse_text(text, "rendered.yaml")
        if isinstance(d.data, dict) and d.data.get("kind") == "NetworkPolicy"
    }


@pytest.fixture(scope="module")
def defaults() -> dict[str, Document]:
    return rendered(None)


@pytest.fixture(scope="module")
def opened() -> dict[str, Document]:
    return rendered("values-open.yaml")


@pytest.fixture(scope="module")
def extras() -> dict[str, Document]:
    return rendered("values-extras.yaml")


@pytest.fixture
def mapper() -> SourceMapper:
    return SourceMapper(search_root=FIXTURES, display_root=FIXTURES)


def mapped(mapper: SourceMapper, doc: Document, pointer: tuple[str | int, ...]) -> tuple[Path, int, str]:
    line, column = doc.position(pointer)
    location, reason = mapper.map(doc, pointer, Location(doc.path, line, column))
    assert reason is None
    path = FIXTURES / location.path
    text = path.read_text(encoding="utf-8").split("\n")
    assert 1 <= location.line <= len(text)
    return path, location.line, text[location.line - 1].strip()


def expect(
    mapper: SourceMapper,
    doc: Document,
    pointer: tuple[str | int, ...],
    path: Path,
    needle: str,
    occurrence: int = 1,
) -> None:
    got_path, got_line, got_text = mapped(mapper, doc, pointer)
    assert (got_path, got_line) == (path, line_of(path, needle, occurrence)), got_text


# ---------------------------------------------------------------------------------------------- case 1


def test_conditional_rule_absent_shifts_nothing(defaults: dict[str, Document], mapper: SourceMapper) -> None:
    """allowSameNamespace is off: rendered rule 0 is the template's second `- ` item, not its first."""
    doc = defaults["demo-webapp"]
    expect(mapper, doc, ("spec", "ingress", 0), NETPOL, "- ports:")
    expect(mapper, doc, ("spec", "ingress", 0, "from", 0), NETPOL, "- podSelector:", 2)
    expect(
        mapper, doc, ("spec", "ingress", 0, "ports", 0, "port"), NETPOL, "port: {{ .Values.service.port }}"
    )
    # the `else` branch renders: the DNS rule, not the `- {}` of the `if` branch
    expect(mapper, doc, ("spec", "egress", 0), NETPOL, "- to:")
    expect(mapper, doc, ("spec", "egress", 0, "ports", 1, "protocol"), NETPOL, "protocol: TCP", 2)
    expect(mapper, doc, ("spec", "egress", 0, "to", 0, "podSelector"), NETPOL, "podSelector:", 4)


def test_rules_from_if_range_and_to_yaml(opened: dict[str, Document], mapper: SourceMapper) -> None:
    doc = opened["demo-webapp"]
    ingress = doc.data["spec"]["ingress"]
    assert len(ingress) == 6  # same-namespace, service port, 2 CIDRs from a range, 2 extras from toYaml
    expect(mapper, doc, ("spec", "ingress", 0), NETPOL, "- from:", 1)
    expect(mapper, doc, ("spec", "ingress", 0, "from", 0), NETPOL, "- podSelector: {}")
    expect(mapper, doc, ("spec", "ingress", 1), NETPOL, "- ports:")
    expect(mapper, doc, ("spec", "ingress", 1, "from", 0), NETPOL, "- namespaceSelector:")
    # a key made by actions inside a range: {{ $key | quote }}: {{ $value | quote }}
    expect(
        mapper,
        doc,
        ("spec", "ingress", 1, "from", 0, "namespaceSelector", "matchLabels", "team"),
        NETPOL,
        "{{ $key | quote }}",
    )
    # a key made by an include: {{ include "webapp.fullname" . }}-client: "true"
    expect(
        mapper,
        doc,
        ("spec", "ingress", 1, "from", 1, "podSelector", "matchLabels", "demo-webapp-client"),
        NETPOL,
        "-client:",
    )
    for index in (2, 3):  # both rendered by the range over allowedCIDRs
        expect(mapper, doc, ("spec", "ingress", index), NETPOL, "- from:", 2)
        expect(mapper, doc, ("spec", "ingress", index, "from", 0, "ipBlock", "cidr"), NETPOL, "cidr: {{ . }}")
    for pointer in (
        ("spec", "ingress", 4),
        ("spec", "ingress", 4, "from", 0),
        ("spec", "ingress", 5, "ports"),
    ):
        expect(mapper, doc, pointer, NETPOL, "{{- toYaml . | nindent 4 }}", 2)
    expect(mapper, doc, ("spec", "egress", 0), NETPOL, "- {}")
    expect(mapper, doc, ("metadata", "annotations", "owner"), NETPOL, "{{- toYaml . | nindent 4 }}")
    expect(mapper, doc, ("metadata", "annotations"), NETPOL, "annotations:")


def test_helper_labels_and_selector(opened: dict[str, Document], mapper: SourceMapper) -> None:
    doc = opened["demo-webapp"]
    expect(
        mapper,
        doc,
        ("spec", "podSelector", "matchLabels", "app.kubernetes.io/instance"),
        HELPERS,
        "app.kubernetes.io/instance:",
    )
    expect(mapper, doc, ("metadata", "labels", "helm.sh/chart"), HELPERS, "helm.sh/chart:")
    # selectorLabels included from the labels helper: two includes deep
    expect(mapper, doc, ("metadata", "labels", "app.kubernetes.io/name"), HELPERS, "app.kubernetes.io/name:")


def test_extra_egress_from_to_yaml(extras: dict[str, Document], mapper: SourceMapper) -> None:
    doc = extras["demo-webapp"]
    expect(mapper, doc, ("spec", "egress", 0), NETPOL, "- to:")
    splice = "{{- toYaml .Values.networkPolicy.extraEgress | nindent 4 }}"
    expect(mapper, doc, ("spec", "egress", 1, "to", 0, "ipBlock", "cidr"), NETPOL, splice)
    expect(mapper, doc, ("spec", "egress", 2), NETPOL, splice)  # `- {}` from values, not the template's


# ---------------------------------------------------------------------------------------------- case 2


def test_several_policies_in_one_file(opened: dict[str, Document], mapper: SourceMapper) -> None:
    deny = opened["demo-webapp-default-deny"]
    expect(mapper, deny, ("spec", "policyTypes", 1), POLICIES, "- Egress", 1)
    expect(mapper, deny, ("spec", "podSelector"), POLICIES, "podSelector: {}", 1)
    dns = opened["demo-webapp-dns"]  # named with {{ printf "%s-dns" (include ...) }}
    expect(mapper, dns, ("spec", "policyTypes", 0), POLICIES, "- Egress", 2)
    expect(mapper, dns, ("spec", "egress", 0, "to", 0), POLICIES, "- namespaceSelector: {}")
    expect(mapper, dns, ("spec", "podSelector"), POLICIES, "podSelector: {}", 2)
    for name in ("demo-webapp-scraper", "demo-webapp-debug"):  # one per entry of .Values.policies
        doc = opened[name]
        expect(mapper, doc, ("spec", "ingress", 0, "from", 0), POLICIES, "- ipBlock:")
        expect(mapper, doc, ("spec", "ingress", 0, "ports", 0, "port"), POLICIES, "port: {{ $cfg.port }}")
        expect(mapper, doc, ("spec", "podSelector", "matchLabels"), POLICIES, "matchLabels:")
        expect(mapper, doc, (), POLICIES, "apiVersion:", 3)


# ---------------------------------------------------------------------------------------------- case 3


def test_sub_chart_policy(defaults: dict[str, Document], mapper: SourceMapper) -> None:
    doc = defaults["demo-worker"]
    assert doc.helm_source == "webapp/charts/worker/templates/networkpolicy.yaml"
    expect(mapper, doc, ("spec", "egress", 0, "ports", 0, "port"), WORKER, "port: 6379")
    expect(mapper, doc, ("spec", "egress", 0, "to", 0), WORKER, "- podSelector:", 2)
    expect(mapper, doc, ("spec", "egress", 1, "to", 0, "ipBlock"), WORKER, "{{- toYaml . | nindent 2 }}")
    expect(mapper, doc, ("spec", "policyTypes", 1), WORKER, "- Egress")
    expect(
        mapper,
        doc,
        ("spec", "podSelector", "matchLabels", "app.kubernetes.io/name"),
        WEBAPP / "charts" / "worker" / "templates" / "_helpers.tpl",
        "app.kubernetes.io/name: worker",
    )
    expect(mapper, doc, ("spec", "ingress"), WORKER, "ingress:")


# ---------------------------------------------------------------------------------------------- case 4


def test_values_driven_policy_types_and_ports(opened: dict[str, Document], mapper: SourceMapper) -> None:
    doc = opened["demo-webapp-metrics"]
    splice = "{{- toYaml .Values.metrics.policyTypes | nindent 4 }}"
    expect(mapper, doc, ("spec", "policyTypes", 0), METRICS, splice)
    expect(mapper, doc, ("spec", "policyTypes", 1), METRICS, splice)
    expect(mapper, doc, ("spec", "policyTypes"), METRICS, "policyTypes:")
    expect(mapper, doc, ("spec", "ingress", 0, "ports", 0, "port"), METRICS, "port: metrics")
    expect(
        mapper, doc, ("spec", "ingress", 0, "ports", 1, "port"), METRICS, "port: {{ .Values.metrics.port }}"
    )
    expect(mapper, doc, ("spec", "ingress", 0, "ports", 2), METRICS, "- port: http-admin")
    expect(
        mapper, doc, ("spec", "egress", 0, "ports", 0, "port"), METRICS, "port: {{ .Values.service.port }}"
    )
    expect(mapper, doc, ("spec", "egress", 1, "to", 0, "ipBlock", "cidr"), METRICS, "cidr: 0.0.0.0/0")
    # labels: {{- include "webapp.labels" . | nindent 4 }} on the key's own line
    expect(mapper, doc, ("metadata", "labels", "app.kubernetes.io/managed-by"), HELPERS, "managed-by:")


def test_policy_types_in_egress_only_rendering(extras: dict[str, Document], mapper: SourceMapper) -> None:
    doc = extras["demo-webapp-metrics"]
    expect(mapper, doc, ("spec", "policyTypes", 0), METRICS, "{{- toYaml .Values.metrics.policyTypes")
    expect(mapper, doc, ("spec", "ingress"), METRICS, "ingress:")


# ---------------------------------------------------------------------------------------------- case 5

DATASTORE = FIXTURES / "charts" / "realistic" / "datastore"
PRIMARY = DATASTORE / "templates" / "primary-networkpolicy.yaml"
CACHE = DATASTORE / "templates" / "cache-networkpolicy.yaml"


def test_key_in_both_branches_maps_to_the_branch_that_rendered(mapper: SourceMapper) -> None:
    """`egress:` in both arms of `{{ if allowExternalEgress }}`: the `else` arm rendered (issue 14 item 4)."""
    doc = rendered("values-locked.yaml", DATASTORE)["demo-datastore-primary"]
    expect(mapper, doc, ("spec", "egress"), PRIMARY, "egress:", 2)
    expect(mapper, doc, ("spec", "egress", 0), PRIMARY, "- ports:", 1)
    expect(mapper, doc, ("spec", "egress", 0, "ports", 1, "protocol"), PRIMARY, "protocol: TCP")
    expect(mapper, doc, ("spec", "egress", 1, "to", 0), PRIMARY, "- podSelector:", 1)
    include = (
        '{{- include "datastore.tplvalues.render" ( dict "value" .Values.primary.networkPolicy.extraEgress'
    )
    expect(mapper, doc, ("spec", "egress", 2), PRIMARY, include)  # from values, not the `if` arm's `- {}`
    expect(mapper, doc, ("spec", "egress", 2, "to", 0, "namespaceSelector"), PRIMARY, include)
    open_doc = rendered(None, DATASTORE)["demo-datastore-primary"]  # the `if` arm rendered
    expect(mapper, open_doc, ("spec", "egress"), PRIMARY, "egress:", 1)
    expect(mapper, open_doc, ("spec", "egress", 0), PRIMARY, "- {}")


def test_else_if_and_extra_rules_land_on_their_own_lines(mapper: SourceMapper) -> None:
    """if / else if / else over list items, then an include of values: each item on the arm that made it."""
    locked = rendered("values-locked.yaml", DATASTORE)["demo-datastore-cache"]
    assert len(locked.data["spec"]["egress"]) == 3  # DNS, cache peers, one extra rule from values
    expect(mapper, locked, ("spec", "egress", 0), CACHE, "- ports:", 1)
    expect(mapper, locked, ("spec", "egress", 1), CACHE, "- to:", 2)
    include = '{{- include "datastore.tplvalues.render" ( dict "value" .Values.cache'
    expect(mapper, locked, ("spec", "egress", 2), CACHE, include)
    expect(mapper, locked, ("spec", "egress", 2, "to", 0, "ipBlock", "cidr"), CACHE, include)
    sink = rendered("values-sink.yaml", DATASTORE)["demo-datastore-cache"]
    expect(mapper, sink, ("spec", "egress", 0), CACHE, "- to:", 1)
    expect(mapper, sink, ("spec", "egress", 0, "to", 0, "ipBlock", "cidr"), CACHE, "cidr: {{ .Values.cache")
    opened = rendered(None, DATASTORE)["demo-datastore-cache"]
    expect(mapper, opened, ("spec", "egress", 0), CACHE, "- {}")


def test_with_else_and_range_else_arms(mapper: SourceMapper) -> None:
    locked = rendered("values-locked.yaml", DATASTORE)["demo-datastore-cache"]
    peers = ("spec", "ingress", 0, "from")
    expect(mapper, locked, (*peers, 0), CACHE, "- namespaceSelector:")  # `with` arm
    expect(mapper, locked, (*peers, 1), CACHE, "- podSelector:", 4)  # `range`'s `else` arm
    expect(
        mapper, locked, (*peers, 1, "podSelector", "matchLabels", "demo-datastore-client"), CACHE, "-client:"
    )
    sink = rendered("values-sink.yaml", DATASTORE)["demo-datastore-cache"]
    expect(mapper, sink, (*peers, 0), CACHE, "- podSelector: {}")  # `with`'s `else` arm
    expect(mapper, sink, (*peers, 1), CACHE, "- podSelector:", 3)  # `range` arm
    expect(mapper, sink, (*peers, 1, "podSelector", "matchLabels", "role"), CACHE, "{{ $key }}:")


IF_ELSE_KEYS = """kind: NetworkPolicy
metadata:
  name: x
spec:
  {{- if .Values.open }}
  ingress:
    - {}
  {{- else if .Values.sameNamespace }}
  ingress:
    - from:
        - podSelector: {}
  {{- else }}
  ingress:
    - from:
        - ipBlock:
            cidr: 10.0.0.0/8
  {{- end }}
"""


@pytest.mark.parametrize(
    ("ingress", "line"),
    [
        ([{}], 7),
        ([{"from": [{"podSelector": {}}]}], 10),
        ([{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}], 14),
    ],
)
def test_if_else_if_else_keys_follow_the_rendered_object(ingress: list[object], line: int) -> None:
    data = {"kind": "NetworkPolicy", "metadata": {"name": "x"}, "spec": {"ingress": ingress}}
    assert template_position(IF_ELSE_KEYS, ("spec", "ingress", 0), data=data) == (line, 5)


WITH_ELSE_KEYS = """\
kind: NetworkPolicy
metadata:
  name: x
spec:
  {{- with .Values.egressRules }}
  egress:
    {{- toYaml . | nindent 4 }}
  {{- else }}
  egress:
    - to:
        - namespaceSelector: {}
      ports:
        - port: 53
          protocol: UDP
  {{- end }}
"""


def test_with_else_keys_follow_the_rendered_object() -> None:
    dns = {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
    data = {"kind": "NetworkPolicy", "metadata": {"name": "x"}, "spec": {"egress": [dns]}}
    assert template_position(WITH_ELSE_KEYS, ("spec", "egress"), data=data) == (9, 3)
    assert template_position(WITH_ELSE_KEYS, ("spec", "egress", 0, "ports", 0), data=data) == (13, 9)
    spliced = {"kind": "NetworkPolicy", "metadata": {"name": "x"}, "spec": {"egress": [{"to": []}]}}
    assert template_position(WITH_ELSE_KEYS, ("spec", "egress", 0, "to"), data=spliced) == (7, 5)


# ---------------------------------------------------------------------------------------------- text only


CONDITIONAL_TYPES = """\
{{- if .Values.networkPolicy.enabled }}
kind: NetworkPolicy
metadata:
  name: {{ include "x.fullname" . }}
spec:
  policyTypes:
    {{- if .Values.ingress.enabled }}
    - Ingress
    {{- end }}
    {{- if .Values.egress.enabled }}
    - Egress
    {{- end }}
  egress:
  {{- range .Values.egress.rules }}
  - to:
    {{- toYaml .to | nindent 4 }}
  {{- end }}
{{- end }}
"""


def test_conditional_list_items_are_chosen_by_content() -> None:
    data = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "r-x"},
        "spec": {"policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
    }
    assert template_position(CONDITIONAL_TYPES, ("spec", "policyTypes", 0), data=data) == (11, 5)
    assert template_position(CONDITIONAL_TYPES, ("spec", "egress", 0, "to", 0), data=data) == (16, 5)
    # without the rendered object, the index decides (old behaviour)
    assert template_position(CONDITIONAL_TYPES, ("spec", "policyTypes", 0)) == (8, 5)


def test_fallback_never_points_past_the_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("name: tiny\n", encoding="utf-8")
    (tmp_path / "templates" / "np.yaml").write_text("{{- if .Values.on }}\n{{- end }}\n", encoding="utf-8")
    text = "---\n# Source: tiny/templates/np.yaml\nkind: NetworkPolicy\n" + "\n" * 40 + "spec: {}\n"
    doc = next(parse_text(text, "r.yaml"))
    location, reason = SourceMapper(search_root=tmp_path, display_root=tmp_path).map(
        doc, ("spec",), Location("r.yaml", 44, 1)
    )
    assert reason is None
    assert (location.path, location.line) == ("templates/np.yaml", 1)


# ---------------------------------------------------------------------------------------------- end to end


def test_scan_sarif_lands_every_finding_on_a_meaningful_line(
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    require_helm_sdk()
    monkeypatch.chdir(REPO)
    chart = WEBAPP.relative_to(REPO)
    result: CliResult = run_cli(
        "scan", "--helm", str(chart), "--values", str(chart / "values-extras.yaml"), "-f", "sarif"
    )
    sarif = json.loads(result.stdout)
    assert github_rule_errors(sarif) == []
    lines: dict[tuple[str, str], set[str]] = {}
    for item in sarif["runs"][0]["results"]:
        location = item["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        text = (REPO / uri).read_text(encoding="utf-8").split("\n")
        assert 1 <= location["region"]["startLine"] <= len(text)
        lines.setdefault((item["ruleId"], Path(uri).name), set()).add(
            text[location["region"]["startLine"] - 1].strip()
        )
    extra_egress = "{{- toYaml .Values.networkPolicy.extraEgress | nindent 4 }}"
    assert lines[("NPS301", "networkpolicy.yaml")] == {extra_egress}  # the `- {}` from values
    assert extra_egress in lines[("NPS303", "networkpolicy.yaml")]
    assert lines[("NPS002", "networkpolicy.yaml")] == {"{{- toYaml . | nindent 2 }}"}  # the sub-chart's
    assert lines[("NPS503", "networkpolicy.yaml")] == {"- podSelector:"}
