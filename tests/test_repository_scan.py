"""A directory scan of a whole repository, and charts that cannot be rendered yet (issue 14 item 7).

A GitOps repository keeps rendered manifests beside what renders them: kustomizations with their patches
and generator inputs, Helm charts with their templates and values. Those are not manifests: they are left
out with one note saying how to render them, never reported as NPS001. A chart given as the path to scan,
or one whose dependency was never fetched, stops the run with one line saying what to do.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult

Run = Callable[..., CliResult]
DATASTORE = REPO / "tests" / "fixtures" / "charts" / "realistic" / "datastore"

FILES = {
    "apps/shop/base/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
  - deployment.yaml
  - networkpolicy.yaml
""",
    "apps/shop/base/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
  namespace: shop
spec:
  selector:
    matchLabels: {app: storefront}
  template:
    metadata:
      labels: {app: storefront}
    spec:
      containers:
        - name: web
          image: registry.example.com/storefront:3.2
""",
    "apps/shop/base/networkpolicy.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: storefront
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: storefront}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - port: 8080
""",
    "apps/shop/overlays/prod/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - path: replicas.yaml
  - path: ingress-port.json
    target:
      kind: NetworkPolicy
      name: storefront
patchesStrategicMerge:
  - resources-patch.yaml
configMapGenerator:
  - name: storefront-settings
    files:
      - settings.yaml
""",
    "apps/shop/overlays/prod/replicas.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
spec:
  replicas: 4
""",
    "apps/shop/overlays/prod/ingress-port.json": '[{"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": 8443}]\n',
    "apps/shop/overlays/prod/resources-patch.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
spec:
  template:
    spec:
      containers:
        - name: web
          resources:
            limits: {memory: 512Mi}
""",
    "apps/shop/overlays/prod/settings.yaml": "featureFlags:\n  newCheckout: true\ncurrency: EUR\n",
    "apps/shop/overlays/prod/extra-policy.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: storefront-egress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Egress]
""",
}


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    shutil.copytree(DATASTORE, tmp_path / "charts" / "datastore")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_repository_scan_leaves_out_what_is_not_a_manifest_with_one_note(
    run_cli: Run, repository: Path
) -> None:
    result = run_cli("scan", ".", "-f", "json")
    findings = json.loads(result.stdout)["findings"]
    assert not [f for f in findings if f["ruleId"] == "NPS001"], [f["location"] for f in findings]
    scanned = {f["location"]["path"] for f in findings}
    assert "apps/shop/base/networkpolicy.yaml" in scanned  # the real manifests are still scanned
    assert not {p for p in scanned if p.startswith("charts/") or "replicas" in p or "patch" in p}
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1, result.stderr
    [note] = notes
    assert note.startswith("netpolscan: note: ")
    assert "--helm charts/datastore" in note and "--kustomize apps/shop/overlays/prod" in note
    assert "kustomization.yaml" in note and "4 files it names" in note


def test_unrendered_chart_directory_says_to_use_helm(run_cli: Run, repository: Path) -> None:
    result = run_cli("scan", "charts/datastore")
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "Helm chart" in line and "--helm charts/datastore" in line and "NPS001" not in line


def test_missing_dependency_names_it_and_says_how_to_fetch_it(run_cli: Run, repository: Path) -> None:
    from tests.test_cli_render import _needs_helm

    _needs_helm()
    chart = repository / "charts" / "datastore"
    with (chart / "Chart.yaml").open("a", encoding="utf-8") as stream:
        stream.write(
            "dependencies:\n"
            "  - name: common\n"
            "    version: 2.x.x\n"
            "    repository: oci://registry.example.com/charts\n"
            "    tags:\n"
            "      - platform-common\n"
        )
    helpers = chart / "templates" / "_helpers.tpl"
    helpers.write_text(
        helpers.read_text(encoding="utf-8").replace(
            '{{- printf "%s-%s" .Release.Name .Chart.Name', '{{- include "common.names.fullname" .'
        ),
        encoding="utf-8",
    )
    result = run_cli("scan", "--helm", "charts/datastore")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "'common'" in line and "helm dependency build charts/datastore" in line
