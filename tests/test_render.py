"""Rendering: Helm charts (helm-python-sdk, or a helm binary) and kustomizations (kubectl kustomize)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from netpolscan.errors import NetpolscanError
from netpolscan.sources import render
from netpolscan.sources.yamlparse import parse_text

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = FIXTURES / "charts" / "shop"
RENAMED = FIXTURES / "charts" / "renamed-dir"
KUSTOMIZE = FIXTURES / "kustomize"


def require_helm_sdk() -> None:
    """Skip without helm-python-sdk on a developer machine; under CI it must be there."""
    try:
        import helm_python  # noqa: F401
    except (ImportError, OSError):
        if os.environ.get("CI") == "true":
            pytest.fail("helm-python-sdk is not installed (.ci/install-render-tools.sh installs it)")
        pytest.skip("helm-python-sdk is not installed (pip install helm-python-sdk)")


def require_kustomize() -> None:
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("neither kubectl nor kustomize is on PATH (.ci/install-render-tools.sh)")
        pytest.skip("neither kubectl nor kustomize is on PATH")


@pytest.fixture
def sdk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render through helm-python-sdk even where a helm binary is installed."""
    require_helm_sdk()
    real = render._which
    monkeypatch.setattr(render, "_which", lambda name: None if name == "helm" else real(name))


def by_name(text: str) -> dict[str, object]:
    docs = [d for d in parse_text(text, "rendered.yaml") if d.data is not None]
    return {d.data["metadata"]["name"]: d for d in docs}


def fake_tool(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# ---------------------------------------------------------------------------------------------- helm


def test_helm_sdk_renders_every_template_with_its_source(sdk_only: None) -> None:
    text = render.render_helm(SHOP, release="demo", namespace="shop")
    docs = [d for d in parse_text(text, "rendered.yaml") if d.data is not None]
    sources = {d.data["metadata"]["name"]: d.helm_source for d in docs}
    assert sources == {
        "policyreports.shop.example.com": "shop/crds/policy-report.yaml",
        "demo-cache": "shop/charts/cache/templates/netpol.yaml",
        "demo-default-deny": "shop/templates/default-deny.yaml",
        "demo-backend": "shop/templates/netpol.yaml",
        "demo-frontend": "shop/templates/netpol.yaml",
        "demo-web-open": "shop/templates/public.yaml",
    }
    assert "NOTES.txt" not in text and "installed demo" not in text
    assert all(d.error is None for d in docs)
    # every document starts with "---" and its "# Source:" comment, as helm template prints them
    assert text.count("---\n# Source: ") == len(docs)


def test_helm_sdk_applies_release_namespace_and_helpers(sdk_only: None) -> None:
    docs = by_name(render.render_helm(RENAMED, release="r1", namespace="payments-ns"))
    payments = docs["payments"]
    assert payments.helm_source == "payments/templates/netpol.yaml"  # Chart.yaml name, not the directory
    assert payments.data["metadata"]["namespace"] == "payments-ns"
    shop = by_name(render.render_helm(SHOP, release="demo"))
    assert shop["demo-web-open"].data["spec"]["podSelector"] == {"matchLabels": {"role": "web"}}
    assert shop["demo-backend"].data["metadata"]["labels"]["app.kubernetes.io/instance"] == "demo"


def test_helm_defaults_release_name_like_helm_template(sdk_only: None) -> None:
    docs = by_name(render.render_helm(SHOP))
    assert "release-name-backend" in docs


def test_helm_values_files_then_set_values(sdk_only: None) -> None:
    text = render.render_helm(
        SHOP,
        [SHOP / "values-strict.yaml", SHOP / "values-open.yaml"],
        ["cache.port=7000", "backend.port=9443"],
        release="demo",
    )
    docs = by_name(text)
    backend = docs["demo-backend"].data["spec"]
    assert backend["policyTypes"] == ["Ingress"]  # values-strict closed egress
    assert backend["ingress"][1]["from"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]  # values-open, later, won
    assert backend["ingress"][0]["ports"][0]["port"] == 9443
    assert docs["demo-cache"].data["spec"]["ingress"][0]["ports"][0]["port"] == 7000  # sub-chart value


def test_split_manifests_like_helm_at_a_separator_with_text_after_it() -> None:
    # "---" then "{{- if ... -}}" on the next line renders as "---# comment" (cert-manager's rbac.yaml)
    text = "kind: A\n\n---# leader election\napiVersion: v1\nkind: B\n---   \n  \nkind: C\n"
    assert render._split_manifests(text) == [
        "kind: A",
        "# leader election\napiVersion: v1\nkind: B",
        "kind: C",
    ]


def test_helm_sdk_separator_glued_to_a_trimmed_block(sdk_only: None, tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: glued\nversion: 0.1.0\n", encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "roles.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: first\n---\n\n{{- if true -}}\n\n"
        "# a comment the trim glues to the separator\napiVersion: v1\nkind: ServiceAccount\n"
        "metadata:\n  name: second\n{{- end }}\n",
        encoding="utf-8",
    )
    docs = [d for d in parse_text(render.render_helm(tmp_path), "rendered.yaml") if d.data is not None]
    assert [d.error for d in docs] == [None, None]
    assert [d.data["metadata"]["name"] for d in docs] == ["first", "second"]
    assert {d.helm_source for d in docs} == {"glued/templates/roles.yaml"}


def test_helm_crds_can_be_left_out(sdk_only: None) -> None:
    text = render.render_helm(SHOP, include_crds=False)
    assert "CustomResourceDefinition" not in text


def test_helm_values_matrix_renders_once_per_file(sdk_only: None) -> None:
    strict, open_ = SHOP / "values-strict.yaml", SHOP / "values-open.yaml"
    rendered = render.render_helm_matrix(SHOP, [strict, open_], release="demo")
    assert [label for label, _ in rendered] == [strict.as_posix(), open_.as_posix()]
    strict_backend = by_name(rendered[0][1])["demo-backend"].data["spec"]
    open_backend = by_name(rendered[1][1])["demo-backend"].data["spec"]
    assert len(strict_backend["ingress"]) == 1 and "egress" not in strict_backend
    assert len(open_backend["ingress"]) == 2 and open_backend["egress"] == [{}]


def test_helm_values_matrix_needs_files() -> None:
    with pytest.raises(NetpolscanError, match="at least one values file"):
        render.render_helm_matrix(SHOP, [])


def test_helm_template_errors_are_one_line(sdk_only: None) -> None:
    with pytest.raises(NetpolscanError) as info:
        render.render_helm(SHOP, set_values=["egress=oops"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("helm-python-sdk could not render")
    assert "shop/templates/netpol.yaml" in message and "can't evaluate field open" in message


def test_helm_bad_values_file(sdk_only: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n", encoding="utf-8")
    with pytest.raises(NetpolscanError, match="bad.yaml: "):
        render.render_helm(SHOP, [bad])


def test_helm_input_errors(tmp_path: Path) -> None:
    with pytest.raises(NetpolscanError, match="no such chart directory"):
        render.render_helm(tmp_path / "missing")
    with pytest.raises(NetpolscanError, match=r"not a Helm chart \(no Chart.yaml\)"):
        render.render_helm(tmp_path)
    with pytest.raises(NetpolscanError, match="no such values file"):
        render.render_helm(SHOP, [tmp_path / "nope.yaml"])
    with pytest.raises(NetpolscanError, match="expected KEY=VALUE"):
        render.render_helm(SHOP, set_values=["novalue"])


def test_helm_missing_everywhere_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "_which", lambda name: None)
    monkeypatch.setattr(render, "_import_helm_sdk", lambda: None)
    with pytest.raises(NetpolscanError) as info:
        render.render_helm(SHOP)
    message = str(info.value)
    assert "`helm`" in message and "helm-python-sdk" in message and "netpolscan[helm]" in message


def test_helm_binary_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args_file = tmp_path / "args"
    fake_tool(
        tmp_path,
        "helm",
        f'printf "%s\\n" "$@" > "{args_file}"\n'
        'printf -- "---\\n# Source: shop/templates/x.yaml\\nkind: NetworkPolicy\\n"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    text = render.render_helm(SHOP, [str(SHOP / "values-open.yaml")], ["x=1"], "rel", "ns")
    assert text == "---\n# Source: shop/templates/x.yaml\nkind: NetworkPolicy\n"
    assert args_file.read_text(encoding="utf-8").split("\n")[:-1] == [
        "template",
        "rel",
        str(SHOP),
        "--namespace",
        "ns",
        "--include-crds",
        "--values",
        str(SHOP / "values-open.yaml"),
        "--set",
        "x=1",
    ]
    assert render.helm_backend() == "helm"


def test_helm_binary_failure_is_its_first_stderr_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tool(
        tmp_path, "helm", 'echo "Error: template: shop/templates/x.yaml:3: boom" >&2\necho more >&2\nexit 1\n'
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(NetpolscanError) as info:
        render.render_helm(SHOP)
    assert (
        str(info.value) == f"helm could not render {SHOP.as_posix()}: template: shop/templates/x.yaml:3: boom"
    )


# ---------------------------------------------------------------------------------------------- kustomize


def test_kustomize_with_build_metadata_keeps_its_origins() -> None:
    require_kustomize()
    text = render.render_kustomize(KUSTOMIZE / "overlays" / "prod")
    origins = {d.data["metadata"]["name"]: d.origin.path for d in parse_text(text, "r.yaml") if d.origin}
    assert origins == {
        "shop": "../../base/namespace.yaml",
        "default-deny": "../../base/netpol.yaml",
        "backend": "../../base/netpol.yaml",
        "allow-metrics": "../../components/monitoring/netpol.yaml",
        "egress-anywhere": "netpol.yaml",
    }


def test_kustomize_without_build_metadata_gets_origins_relative_to_the_target() -> None:
    require_kustomize()
    staging = KUSTOMIZE / "overlays" / "staging"
    before = (staging / "kustomization.yaml").read_text(encoding="utf-8")
    text = render.render_kustomize(staging)
    docs = list(parse_text(text, "r.yaml"))
    origins = {d.data["metadata"]["name"]: d.origin.path for d in docs if d.origin}
    assert origins == {
        "shop-staging": "../../base/namespace.yaml",
        "staging-default-deny": "../../base/netpol.yaml",
        "staging-backend": "../../base/netpol.yaml",
        "staging-allow-metrics": "../../components/monitoring/netpol.yaml",
    }
    assert all(d.data["metadata"].get("namespace", "shop-staging") == "shop-staging" for d in docs)
    assert (staging / "kustomization.yaml").read_text(encoding="utf-8") == before  # never touched


def test_kustomize_relative_directory_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    require_kustomize()
    monkeypatch.chdir(KUSTOMIZE / "overlays")
    text = render.render_kustomize("staging")
    assert "path: ../../components/monitoring/netpol.yaml" in text


def test_kustomize_build_failure_is_one_clear_line(tmp_path: Path) -> None:
    require_kustomize()
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n", encoding="utf-8")
    with pytest.raises(NetpolscanError) as info:
        render.render_kustomize(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(("kubectl could not build", "kustomize could not build"))
    assert "missing.yaml" in message
    assert not message.split(": ", 1)[1].startswith("E1")  # klog decoration stripped


def test_kustomize_input_errors(tmp_path: Path) -> None:
    with pytest.raises(NetpolscanError, match="not a directory"):
        render.render_kustomize(tmp_path / "missing")
    with pytest.raises(NetpolscanError, match="no kustomization.yaml"):
        render.render_kustomize(tmp_path)


def test_kustomize_missing_tools_names_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\n", encoding="utf-8")
    monkeypatch.setattr(render, "_which", lambda name: None)
    with pytest.raises(NetpolscanError) as info:
        render.render_kustomize(tmp_path)
    assert "`kustomize`" in str(info.value) and "`kubectl`" in str(info.value)


def test_kustomize_binary_is_preferred_over_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    args_file = tmp_path / "args"
    fake_tool(bin_dir, "kustomize", f'printf "%s\\n" "$@" > "{args_file}"\necho "kind: Namespace"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    target = KUSTOMIZE / "overlays" / "prod"
    assert render.kustomize_command() == ["kustomize", "build"]
    assert render.render_kustomize(target) == "kind: Namespace\n"
    assert args_file.read_text(encoding="utf-8").split("\n")[:-1] == ["build", str(target)]


def test_rebase_origin_paths_keeps_remote_origins() -> None:
    text = (
        "metadata:\n"
        "  annotations:\n"
        "    config.kubernetes.io/origin: |\n"
        "      path: ../../work/app/base/netpol.yaml\n"
        "  name: a\n"
        "---\n"
        "metadata:\n"
        "  annotations:\n"
        "    config.kubernetes.io/origin: |\n"
        "      path: examples/netpol.yaml\n"
        "      repo: https://example.com/org/repo\n"
        "      ref: v1\n"
        "  name: b\n"
    )
    rebased = render.rebase_origin_paths(text, Path("/tmp/wrapper"), Path("/work/app/overlays/dev"))
    assert "      path: ../../base/netpol.yaml\n" in rebased
    assert "      path: examples/netpol.yaml\n" in rebased
