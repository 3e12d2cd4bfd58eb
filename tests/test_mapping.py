"""Mapping rendered locations back to Helm chart templates and Kustomize source files."""

from __future__ import annotations

from pathlib import Path

import pytest

from netpolscan.plugin_api import Location
from netpolscan.sourcemap import SourceMapper, template_position
from netpolscan.sources import render
from netpolscan.sources.document import Document
from netpolscan.sources.yamlparse import parse_text
from tests.test_render import require_helm_sdk, require_kustomize

FIXTURES = Path(__file__).parent / "fixtures"
CHARTS = FIXTURES / "charts"
KUSTOMIZE = FIXTURES / "kustomize"


def line_of(path: Path, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """(line, column) where ``needle`` occurs in ``path`` for the ``occurrence``-th time."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def documents(text: str) -> dict[str, Document]:
    return {d.data["metadata"]["name"]: d for d in parse_text(text, "rendered.yaml") if d.data is not None}


def rendered_at(doc: Document, pointer: tuple[str | int, ...]) -> Location:
    line, column = doc.position(pointer)
    return Location(doc.path, line, column)


def check(
    mapper: SourceMapper,
    doc: Document,
    pointer: tuple[str | int, ...],
    path: Path,
    needle: str,
    occurrence: int = 1,
) -> None:
    rendered = rendered_at(doc, pointer)
    mapped, reason = mapper.map(doc, pointer, rendered)
    assert reason is None
    line, column = line_of(path, needle, occurrence)
    assert (mapped.path, mapped.line, mapped.column) == (path.relative_to(FIXTURES).as_posix(), line, column)
    assert mapped.rendered == rendered


@pytest.fixture(scope="module")
def shop() -> dict[str, Document]:
    require_helm_sdk()
    with pytest.MonkeyPatch.context() as patch:
        real = render._which
        patch.setattr(render, "_which", lambda name: None if name == "helm" else real(name))
        return documents(
            render.render_helm(CHARTS / "shop", [CHARTS / "shop" / "values-open.yaml"], release="demo")
        )


@pytest.fixture
def mapper() -> SourceMapper:
    return SourceMapper(search_root=FIXTURES, display_root=FIXTURES)


# ---------------------------------------------------------------------------------------------- helm


def test_field_in_a_template(shop: dict[str, Document], mapper: SourceMapper) -> None:
    template = CHARTS / "shop" / "templates" / "netpol.yaml"
    backend = shop["demo-backend"]
    check(mapper, backend, ("spec", "ingress", 1, "from", 0, "ipBlock", "cidr"), template, "cidr: 0.0.0.0/0")
    check(
        mapper,
        backend,
        ("spec", "ingress", 0, "ports", 0, "port"),
        template,
        "port: {{ .Values.backend.port }}",
    )
    check(mapper, backend, ("spec", "ingress", 1), template, "- from:", 2)
    check(mapper, backend, ("spec", "egress", 0), template, "- {}")
    check(mapper, backend, ("spec", "podSelector", "matchLabels", "role"), template, "role: backend")


def test_second_object_of_a_template_is_chosen_by_name(
    shop: dict[str, Document], mapper: SourceMapper
) -> None:
    template = CHARTS / "shop" / "templates" / "netpol.yaml"
    frontend = shop["demo-frontend"]
    check(
        mapper,
        frontend,
        ("spec", "ingress", 0, "from", 0, "namespaceSelector"),
        template,
        "namespaceSelector",
    )
    check(mapper, frontend, ("spec", "podSelector"), template, "podSelector:", 3)


def test_field_produced_by_a_helper_include(shop: dict[str, Document], mapper: SourceMapper) -> None:
    helpers = CHARTS / "shop" / "templates" / "_helpers.tpl"
    web = shop["demo-web-open"]  # the whole object comes from {{ include "shop.openIngressPolicy" }}
    check(mapper, web, ("spec", "ingress", 0, "from", 0, "ipBlock", "cidr"), helpers, "cidr: 0.0.0.0/0")
    check(mapper, web, ("spec", "ingress", 0, "ports", 0, "port"), helpers, "port: {{ .port }}")
    # labels of a template object, produced by {{- include "shop.labels" . | nindent 4 }}
    check(
        mapper,
        shop["demo-backend"],
        ("metadata", "labels", "app.kubernetes.io/instance"),
        helpers,
        "app.kuber",
        2,
    )


def test_field_in_a_sub_chart(shop: dict[str, Document], mapper: SourceMapper) -> None:
    template = CHARTS / "shop" / "charts" / "cache" / "templates" / "netpol.yaml"
    cache = shop["demo-cache"]
    assert cache.helm_source == "shop/charts/cache/templates/netpol.yaml"
    check(mapper, cache, ("spec", "egress", 0, "to", 0, "ipBlock", "cidr"), template, "cidr: 0.0.0.0/0")
    check(mapper, cache, ("spec", "ingress", 0, "from", 0, "podSelector"), template, "podSelector:", 2)
    check(mapper, cache, ("spec", "ingress", 0, "from", 0), template, "- podSelector:")


def test_crds_folder_maps_through_yaml_marks(shop: dict[str, Document], mapper: SourceMapper) -> None:
    crd = shop["policyreports.shop.example.com"]
    check(
        mapper,
        crd,
        ("spec", "versions", 0, "served"),
        CHARTS / "shop" / "crds" / "policy-report.yaml",
        "served:",
    )


def test_chart_whose_directory_is_renamed(sdk_only_render: None, mapper: SourceMapper) -> None:
    docs = documents(render.render_helm(CHARTS / "renamed-dir", namespace="pay"))
    payments = docs["payments"]
    assert payments.helm_source == "payments/templates/netpol.yaml"
    template = CHARTS / "renamed-dir" / "templates" / "netpol.yaml"
    check(mapper, payments, ("spec", "egress", 0, "to", 0, "ipBlock", "cidr"), template, "cidr: {{")
    check(mapper, payments, ("spec", "egress", 0, "ports", 0, "port"), template, "port: 443")


@pytest.fixture
def sdk_only_render(monkeypatch: pytest.MonkeyPatch) -> None:
    require_helm_sdk()
    real = render._which
    monkeypatch.setattr(render, "_which", lambda name: None if name == "helm" else real(name))


def test_explicit_chart_root(shop: dict[str, Document], tmp_path: Path) -> None:
    mapper = SourceMapper(chart_roots=[CHARTS / "shop"], search_root=tmp_path, display_root=FIXTURES)
    pointer = ("spec", "ingress", 0, "ports", 0, "port")
    mapped, reason = mapper.map(shop["demo-backend"], pointer, rendered_at(shop["demo-backend"], pointer))
    assert reason is None
    assert mapped.path == "charts/shop/templates/netpol.yaml"


def test_missing_chart_keeps_the_rendered_location_and_says_why(
    shop: dict[str, Document], tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: other\nversion: 1.0.0\n", encoding="utf-8"
    )
    mapper = SourceMapper(chart_roots=[tmp_path / "other"], search_root=tmp_path, display_root=tmp_path)
    rendered = rendered_at(shop["demo-backend"], ("spec",))
    mapped, reason = mapper.map(shop["demo-backend"], ("spec",), rendered)
    assert mapped == rendered
    assert reason == "chart 'shop' not found under other, .; use --chart-root"


def test_template_missing_from_the_chart(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: gone\nversion: 1.0.0\n", encoding="utf-8")
    doc = next(parse_text("---\n# Source: gone/templates/np.yaml\nkind: NetworkPolicy\n", "r.yaml"))
    rendered = Location("r.yaml", 3, 1)
    mapped, reason = SourceMapper(search_root=tmp_path, display_root=tmp_path).map(doc, ("kind",), rendered)
    assert mapped == rendered
    assert reason == "templates/np.yaml not found in chart directory ."


def test_search_skips_git_and_node_modules(tmp_path: Path) -> None:
    for hidden in (".git", "node_modules"):
        chart = tmp_path / hidden / "c"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("name: c\n", encoding="utf-8")
        (chart / "templates" / "np.yaml").write_text("kind: NetworkPolicy\n", encoding="utf-8")
    doc = next(parse_text("---\n# Source: c/templates/np.yaml\nkind: NetworkPolicy\n", "r.yaml"))
    mapped, reason = SourceMapper(search_root=tmp_path).map(doc, ("kind",), Location("r.yaml", 3, 1))
    assert mapped.path == "r.yaml" and reason is not None and reason.startswith("chart 'c' not found")


def test_field_from_a_whole_object_to_yaml_maps_to_that_line(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("name: raw\n", encoding="utf-8")
    (tmp_path / "templates" / "np.yaml").write_text(
        "{{/* the whole object comes from values */}}\n\n{{ toYaml .Values.policy }}\n", encoding="utf-8"
    )
    text = "---\n# Source: raw/templates/np.yaml\nkind: NetworkPolicy\nspec:\n  podSelector: {}\n"
    doc = next(parse_text(text, "r.yaml"))
    rendered = Location("r.yaml", 5, 3)
    mapped, reason = SourceMapper(search_root=tmp_path, display_root=tmp_path).map(
        doc, ("spec", "podSelector"), rendered
    )
    assert reason is None
    assert (mapped.path, mapped.line, mapped.column, mapped.rendered) == ("templates/np.yaml", 3, 1, rendered)


def test_unmatched_field_falls_back_to_the_template_first_line(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("name: raw\n", encoding="utf-8")
    (tmp_path / "templates" / "np.yaml").write_text(
        "{{/* nothing here renders spec */}}\n\nkind: NetworkPolicy\n", encoding="utf-8"
    )
    text = "---\n# Source: raw/templates/np.yaml\nkind: NetworkPolicy\nspec:\n  podSelector: {}\n"
    doc = next(parse_text(text, "r.yaml"))
    rendered = Location("r.yaml", 5, 3)
    mapped, reason = SourceMapper(search_root=tmp_path, display_root=tmp_path).map(
        doc, ("spec", "podSelector"), rendered
    )
    assert reason is None
    assert (mapped.path, mapped.line, mapped.column) == ("templates/np.yaml", 3, 1)


def test_documents_without_provenance_are_unchanged(tmp_path: Path) -> None:
    doc = next(parse_text("kind: NetworkPolicy\n", "plain.yaml"))
    rendered = Location("plain.yaml", 1, 1)
    assert SourceMapper(search_root=tmp_path).map(doc, ("kind",), rendered) == (rendered, None)


# ---------------------------------------------------------------------------------------------- template text


TEMPLATE = """\
{{- /*
  a comment spanning lines, with key: like text
*/ -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-a
  annotations:
    note: |
      ingress:
        - from: fake
spec:
  ingress:
  {{- range .Values.sources }}
  - from:
    - podSelector:
        matchLabels:
          "app": {{ . | quote }}
  {{- end }}
  egress:
  - to: []
---
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-b
spec:
  podSelector: {}
"""


@pytest.mark.parametrize(
    ("pointer", "name", "expected"),
    [
        (("spec", "ingress", 0, "from", 0, "podSelector", "matchLabels", "app"), "r-a", (18, 11)),
        (("spec", "ingress", 3, "from"), "r-a", (15, 5)),  # items rendered by a range map to the one item
        (("spec", "egress", 0, "to"), "r-a", (21, 5)),
        (("metadata", "annotations", "note"), "r-a", (9, 5)),
        (("spec", "podSelector"), "r-b", (27, 3)),
        (("spec", "nothing"), "r-b", (26, 1)),
        ((), "r-a", (4, 1)),
    ],
)
def test_template_position(pointer: tuple[str | int, ...], name: str, expected: tuple[int, int]) -> None:
    assert template_position(TEMPLATE, pointer, "NetworkPolicy", name) == expected


# ---------------------------------------------------------------------------------------------- kustomize


def kustomized(overlay: str) -> tuple[dict[str, Document], SourceMapper]:
    require_kustomize()
    root = KUSTOMIZE / "overlays" / overlay
    return documents(render.render_kustomize(root)), SourceMapper(kustomize_root=root, display_root=FIXTURES)


def test_kustomize_maps_to_base_component_and_overlay_files() -> None:
    docs, mapper = kustomized("prod")
    base = KUSTOMIZE / "base" / "netpol.yaml"
    check(mapper, docs["backend"], ("spec", "ingress", 0, "from", 0, "podSelector"), base, "podSelector:", 3)
    check(mapper, docs["backend"], ("spec", "ingress", 0, "from", 0), base, "- podSelector:")
    check(mapper, docs["backend"], ("spec", "ingress", 0, "ports", 0, "port"), base, "port: 8080")
    check(mapper, docs["default-deny"], ("spec", "policyTypes", 0), base, "- Ingress")
    component = KUSTOMIZE / "components" / "monitoring" / "netpol.yaml"
    check(
        mapper, docs["allow-metrics"], ("spec", "ingress", 0, "from", 0), component, "- namespaceSelector: {}"
    )
    overlay = KUSTOMIZE / "overlays" / "prod" / "netpol.yaml"
    check(mapper, docs["egress-anywhere"], ("spec", "egress", 0), overlay, "- {}")


def test_kustomize_without_build_metadata_and_with_a_name_prefix() -> None:
    docs, mapper = kustomized("staging")
    base = KUSTOMIZE / "base" / "netpol.yaml"
    check(mapper, docs["staging-backend"], ("spec", "podSelector", "matchLabels"), base, "matchLabels:", 1)
    check(mapper, docs["staging-default-deny"], ("spec", "podSelector"), base, "podSelector: {}")
    component = KUSTOMIZE / "components" / "monitoring" / "netpol.yaml"
    check(
        mapper,
        docs["staging-allow-metrics"],
        ("spec", "ingress", 0, "ports", 0, "port"),
        component,
        "port: 9100",
    )


def test_kustomize_source_not_found_says_why(tmp_path: Path) -> None:
    docs, _ = kustomized("prod")
    mapper = SourceMapper(kustomize_root=tmp_path, display_root=tmp_path)
    rendered = rendered_at(docs["backend"], ("spec",))
    mapped, reason = mapper.map(docs["backend"], ("spec",), rendered)
    assert mapped == rendered
    assert reason == "kustomize source '../../base/netpol.yaml' not found under ."
