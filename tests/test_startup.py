"""Start-up cost: a run imports what it needs, when it needs it (issue 14, item 14).

Checked on ``sys.modules`` of a child interpreter, not on timings (``benchmarks/bench_startup.py`` times it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("jsonschema", "sarif_om")

APP = """\
apiVersion: v1
kind: Namespace
metadata:
  name: storefront
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: storefront
spec:
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
      - name: cart
        image: registry.example/cart:2.3.1
        ports:
        - containerPort: 7070
          name: grpc
          protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: cart-from-frontend
  namespace: storefront
spec:
  podSelector:
    matchLabels: {app: cart}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: storefront}
      podSelector:
        matchLabels: {app: frontend}
    ports:
    - protocol: TCP
      port: grpc
"""

_CHILD = """
import json, sys
from netpolscan.cli import main
code = main(sys.argv[2:])
print(json.dumps({"code": code, "loaded": [m for m in json.loads(sys.argv[1]) if m in sys.modules]}))
"""


def _loaded_after(tmp_path: Path, *args: str) -> list[str]:
    """The modules of HEAVY that ``scan app.yaml ARGS`` loaded (APP has an error finding: exit 1)."""
    (tmp_path / "app.yaml").write_text(APP, encoding="utf-8")
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    )
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(HEAVY), "scan", "app.yaml", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 1, proc.stderr
    loaded: list[str] = result["loaded"]
    return loaded


@pytest.mark.parametrize("fmt", ["text", "json", "github", "gitlab", "junit", "markdown", "html"])
def test_scan_without_config_imports_neither_jsonschema_nor_sarif_om(tmp_path: Path, fmt: str) -> None:
    assert _loaded_after(tmp_path, "--format", fmt, "--output", "report.out") == []


def test_sarif_output_loads_sarif_om_but_not_jsonschema(tmp_path: Path) -> None:
    assert _loaded_after(tmp_path, "--format", "sarif", "--output", "report.sarif") == ["sarif_om"]


def test_a_config_file_loads_jsonschema_to_validate_it(tmp_path: Path) -> None:
    (tmp_path / ".netpolscan.yaml").write_text("fail-on: error\n", encoding="utf-8")
    assert _loaded_after(tmp_path, "--format", "json", "--output", "report.json") == ["jsonschema"]
