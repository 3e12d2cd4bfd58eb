"""connectivity, explain, diff and probe-plan analyse what they can read (issue 14, item 2).

A repository scan meets documents that are not manifests yet: an unrendered Helm template kept beside
the rendered install manifest, a document with a stray tab. As ``scan`` does, the commands leave such a
document out, name it on stderr (file:line, one line each) and analyse the rest; ``--strict`` makes it
an error (exit 2, one line).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def deployment(name: str, image: str, port: int) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: deployer
spec:
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}}}
    spec:
      containers:
      - name: main
        image: registry.example/{image}
        ports: [{{containerPort: {port}}}]
"""


def policy(name: str, selected: str, ingress: str) -> str:
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: deployer
spec:
  podSelector:
    matchLabels: {{app.kubernetes.io/name: {selected}}}
  policyTypes: [Ingress]
  ingress:
{ingress}"""


# A GitOps controller's install manifest, in the shape such projects publish: a namespace, three
# components, and policies letting the UI reach the repo server and both reach the cache.
INSTALL = "---\n".join(
    [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: deployer\n",
        deployment("deployer-server", "deployer:v2.9.3", 8080),
        deployment("deployer-repo-server", "deployer:v2.9.3", 8081),
        deployment("deployer-cache", "cache:7.2", 6379),
        policy(
            "deployer-repo-server-network-policy",
            "deployer-repo-server",
            """\
  - from:
    - podSelector:
        matchLabels: {app.kubernetes.io/name: deployer-server}
    ports: [{port: 8081, protocol: TCP}]
""",
        ),
        policy(
            "deployer-cache-network-policy",
            "deployer-cache",
            """\
  - from:
    - podSelector:
        matchLabels: {app.kubernetes.io/name: deployer-server}
    - podSelector:
        matchLabels: {app.kubernetes.io/name: deployer-repo-server}
    ports: [{port: 6379, protocol: TCP}]
""",
        ),
    ]
)

# Kept beside it in the repository: a chart template nobody rendered (its "{{ }}" is a YAML mapping
# used as a key), and a hand-edited policy whose port is out of range.
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: deployer-cmd-params-cm
  namespace: deployer
data:
  server.insecure: {{ .Values.server.insecure | quote }}
"""
BAD_POLICY = policy("deployer-server-network-policy", "deployer-server", "  - ports:\n    - port: 80800\n")
DUPLICATE_KEY = """\
apiVersion: v1
kind: Service
metadata:
  name: deployer-server
  namespace: deployer
  name: deployer-server
spec:
  selector: {app.kubernetes.io/name: deployer-server}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "manifests"
    (root / "base").mkdir(parents=True)
    (root / "base" / "install.yaml").write_text(INSTALL)
    (root / "templates").mkdir()
    (root / "templates" / "cmd-params.yaml").write_text(TEMPLATE)
    (root / "base" / "server-policy.yaml").write_text(BAD_POLICY)
    (root / "base" / "service.yaml").write_text(DUPLICATE_KEY)
    return root


def left_out_lines(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert all(line.startswith("netpolscan: warning: ") for line in lines), stderr
    assert "Traceback" not in stderr
    return lines


def test_connectivity_analyses_the_rest_and_names_each_left_out_document(
    run_cli: Callable[..., Any], repo: Path
) -> None:
    result = run_cli("connectivity", str(repo))
    assert result.exit_code == 0, result.stderr
    assert "deployer/deployer-server[Deployment] => deployer/deployer-repo-server[Deployment] : TCP 8081" in (
        result.stdout
    )
    lines = left_out_lines(result.stderr)
    assert len(lines) == 2, lines  # the duplicate key is analysed (last value), so it is not listed
    template = repo / "templates" / "cmd-params.yaml"
    policy = repo / "base" / "server-policy.yaml"
    assert f"{policy}:12: left out of the analysis: the API server would reject it: " in lines[0]
    assert "80800" in lines[0]
    assert f"{template}:7: left out of the analysis: " in lines[1]


def test_strict_makes_a_left_out_document_an_error(run_cli: Callable[..., Any], repo: Path) -> None:
    result = run_cli("connectivity", str(repo), "--strict")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("netpolscan: error: ") and "server-policy.yaml:12" in line
    assert "(and 1 more)" in line and "--strict" in line


def test_explain_analyses_the_rest(run_cli: Callable[..., Any], repo: Path) -> None:
    result = run_cli(
        "explain", str(repo), "--src", "deployer/deployer-server", "--dst", "deployer/deployer-cache",
        "--port", "6379/TCP",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "ALLOWED" in result.stdout
    assert len(left_out_lines(result.stderr)) == 2
    strict = run_cli(
        "explain", str(repo), "--src", "deployer/deployer-server", "--dst", "deployer/deployer-cache",
        "--strict",
    )  # fmt: skip
    assert strict.exit_code == 2 and strict.stderr.count("\n") == 1


def test_diff_names_the_side_of_each_left_out_document(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(INSTALL)
    head = tmp_path / "head.yaml"
    # the pull request opens the cache's sentinel port too, and adds a document indented with a tab
    opened = "ports: [{port: 6379, protocol: TCP}, {port: 26379, protocol: TCP}]"
    head.write_text(
        INSTALL.replace("ports: [{port: 6379, protocol: TCP}]", opened)
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: deployer-rbac-cm\n"
    )
    result = run_cli("diff", str(base), str(head), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert "26379" in result.stdout, "the rest of HEAD was compared"
    [line] = left_out_lines(result.stderr)
    tab_line = len(INSTALL.splitlines()) + 5
    assert line.startswith(f"netpolscan: warning: HEAD input {head}:{tab_line}: left out of the analysis: ")
    assert "invalid YAML" in line
    strict = run_cli("diff", str(base), str(head), "--strict", "--fail-on-new")
    assert strict.exit_code == 2 and "HEAD input" in strict.stderr and strict.stderr.count("\n") == 1


def test_probe_plan_also_leaves_out_what_it_cannot_read(run_cli: Callable[..., Any], repo: Path) -> None:
    expectations = repo.parent / "expectations.yaml"
    expectations.write_text(
        textwrap.dedent("""\
            apiVersion: netpolscan.io/v1
            kind: ConnectivityExpectations
            expectations:
            - from: {namespace: deployer, workload: deployer-server}
              to: {namespace: deployer, workload: deployer-cache}
              ports: ["6379/TCP"]
              expect: allow
        """)
    )
    result = run_cli("probe-plan", str(repo), "--expectations", str(expectations))
    assert result.exit_code == 0, result.stderr
    assert "kind: Job" in result.stdout and len(left_out_lines(result.stderr)) == 2
    assert run_cli("probe-plan", str(repo), "--expectations", str(expectations), "--strict").exit_code == 2


def test_clean_input_prints_nothing_on_stderr(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "install.yaml"
    path.write_text(INSTALL)
    for args in (("connectivity", str(path), "--strict"), ("diff", str(path), str(path), "--strict")):
        result = run_cli(*args)
        assert result.exit_code == 0 and result.stderr == "", result.stderr
