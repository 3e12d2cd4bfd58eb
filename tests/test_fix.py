"""`netpolscan fix`: each built-in fix removes its finding and brings no new one; --diff is a patch that
git and patch accept; --apply is idempotent; SARIF carries the fixes; Helm-rendered documents are
printed, not rewritten."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from netpolscan.scan import ScanOptions, scan
from tests.conftest import CliResult

Run = Callable[..., CliResult]

SHOP = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        ports:
        - containerPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: client
  namespace: shop
spec:
  selector:
    matchLabels: {app: client}
  template:
    metadata:
      labels: {app: client}
    spec:
      containers:
      - name: client
        image: busybox
        ports:
        - containerPort: 9000
"""

DNS_RULE = """\
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
"""

# the namespace isolated both ways, DNS allowed: what a fix changes stands out
DEFAULT_DENY = (
    """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  egress:
"""
    + DNS_RULE
)

CASES: dict[str, tuple[str, str]] = {
    # NPS303: the ipBlock gets `except: [169.254.169.254/32]` (a key the mapping lacked)
    "NPS303": (
        SHOP
        + DEFAULT_DENY
        + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-out
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes:
  - Egress
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0   # the internet, on HTTP
    ports:
    - port: 80
""",
        "169.254.169.254/32",
    ),
    # NPS505: ingress rules ignored as policyTypes says Egress only: Ingress is added
    "NPS505": (
        SHOP
        + DEFAULT_DENY
        + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes:
  - Egress
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: client}
    ports:
    - port: 8080
  egress:
  - to:
    - podSelector:
        matchLabels: {app: client}
    ports:
    - port: 9000
""",
        "  - Ingress",
    ),
    # NPS501: a default deny of egress with no DNS: an `egress:` rule to kube-dns is added to it
    "NPS501": (
        SHOP
        + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
""",
        "k8s-app: kube-dns",
    ),
    # NPS304: `namespaceSelector: {}` on 5432, and only namespace db has pods listening there
    "NPS304": (
        SHOP
        + DEFAULT_DENY
        + """\
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: db
spec:
  selector:
    matchLabels: {app: postgres}
  template:
    metadata:
      labels: {app: postgres}
    spec:
      containers:
      - name: postgres
        image: postgres
        ports:
        - containerPort: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-db
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {}
    ports:
    - port: 5432
""",
        "kubernetes.io/metadata.name: db}",
    ),
    # NPS501 when kube-system is in the input without kube-dns pods: port 53 to any destination
    "NPS501-any": (
        SHOP
        + """\
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      containers:
      - name: agent
        image: agent
"""
        + DEFAULT_DENY.replace(DNS_RULE, "  - to:\n    - podSelector: {}\n    ports:\n    - port: 8080\n"),
        "  - ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\n",
    ),
    # NPS202: `namespaceSelector: {}` into web, and only namespace front has egress policies naming web
    "NPS202": (
        SHOP
        + DEFAULT_DENY
        + """\
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ui
  namespace: front
spec:
  selector:
    matchLabels: {app: ui}
  template:
    metadata:
      labels: {app: ui}
    spec:
      containers:
      - name: ui
        image: nginx
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ui-out
  namespace: front
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: shop}
      podSelector:
        matchLabels: {app: web}
    ports:
    - port: 8080
"""
        + DNS_RULE
        + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-in
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {}
    ports:
    - port: 8080
""",
        "kubernetes.io/metadata.name: front}",
    ),
}


def finding_set(path: Path) -> set[tuple[str, str]]:
    """(rule id, fingerprint) of every finding: independent of lines, which a fix moves."""
    return {(f.rule_id, f.fingerprint) for f in scan(ScanOptions(paths=[str(path)])).findings}


def fixable(path: Path) -> list[tuple[str, str]]:
    return [(f.rule_id, f.fingerprint) for f in scan(ScanOptions(paths=[str(path)])).findings if f.fix]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_removes_its_finding_and_adds_none(case: str, workdir: Path, run_cli: Run) -> None:
    text, inserted = CASES[case]
    rule_id = case.split("-")[0]
    path = workdir / "app.yaml"
    path.write_text(text)
    before = finding_set(path)
    target = {item for item in before if item[0] == rule_id}
    assert sorted(fixable(path)) == sorted(target)  # NPS501: web and client, one shared remedy
    count = {"NPS501": 2, "NPS501-any": 2}.get(case, 1)
    assert len(target) == count

    result = run_cli("fix", "app.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "app.yaml:" in result.stdout and f" {rule_id} " in result.stdout
    assert f"Applied {count} fix{'es' if count > 1 else ''} to 1 file." in result.stdout
    after_text = path.read_text()
    assert inserted in after_text
    assert after_text.startswith(text[: text.index("policyTypes")])  # the rest untouched
    assert finding_set(path) == before - target  # gone, and nothing new (nothing else gone either)

    again = run_cli("fix", "app.yaml", "--apply")  # idempotent
    assert (again.exit_code, again.stdout) == (0, "Nothing to fix.\n")
    assert path.read_text() == after_text


def test_default_lists_the_fixes_and_changes_nothing(workdir: Path, run_cli: Run) -> None:
    (workdir / "app.yaml").write_text(CASES["NPS303"][0])
    result = run_cli("fix", "app.yaml")
    assert result.exit_code == 1
    peer_line = CASES["NPS303"][0].split("\n").index("    - ipBlock:") + 1
    assert result.stdout.splitlines() == [
        f"app.yaml:{peer_line}:5 NPS303 add 169.254.169.254/32 to the ipBlock's `except`",
        "1 fix available: netpolscan fix --apply (or --diff) makes it.",
    ]
    assert (workdir / "app.yaml").read_text() == CASES["NPS303"][0]
    clean = workdir / "clean"
    clean.mkdir()
    (clean / "app.yaml").write_text(SHOP)
    assert run_cli("fix", "clean").exit_code == 0


def test_a_broken_document_is_named_and_the_others_are_fixed(workdir: Path, run_cli: Run) -> None:
    (workdir / "app.yaml").write_text(CASES["NPS303"][0])
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  bad: [\n"
    (workdir / "broken.yaml").write_text(broken)
    (workdir / "binary.yaml").write_bytes(b"\x00\x01kind: x\n")
    result = run_cli("fix", ".", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "broken.yaml:4: document 1 cannot be analysed: invalid YAML" in result.stderr
    assert "binary.yaml:1: binary file (contains NUL bytes), not YAML or JSON text (left as it is)" in result.stderr
    assert "(left as it is)" in result.stderr
    assert (workdir / "broken.yaml").read_text() == broken
    assert "169.254.169.254/32" in (workdir / "app.yaml").read_text()


@pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("patch") is None, reason="needs git and patch"
)
@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_diff_is_a_patch_git_and_patch_accept(rule_id: str, workdir: Path, run_cli: Run) -> None:
    text = CASES[rule_id][0]
    (workdir / "k8s").mkdir()
    path = workdir / "k8s" / "app.yaml"
    path.write_text(text)
    result = run_cli("fix", "k8s", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/k8s/app.yaml\n+++ b/k8s/app.yaml\n@@ ")
    assert path.read_text() == text  # nothing written
    (workdir / "fixes.patch").write_text(result.stdout)
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    checked = subprocess.run(
        ["git", "apply", "--check", "fixes.patch"], cwd=workdir, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    patched = subprocess.run(
        ["patch", "-p1", "-s", "-i", "fixes.patch"], cwd=workdir, capture_output=True, text=True
    )
    assert patched.returncode == 0, patched.stdout + patched.stderr
    by_patch = path.read_text()
    path.write_text(text)
    assert run_cli("fix", "k8s", "--apply").exit_code == 0
    assert path.read_text() == by_patch  # the diff is what --apply writes
    again = run_cli("fix", "k8s", "--diff")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


def test_sarif_result_carries_the_fix(workdir: Path, run_cli: Run) -> None:
    (workdir / "app.yaml").write_text(CASES["NPS505"][0])
    result = run_cli("scan", "app.yaml", "--format", "sarif")  # the autouse fixture validates it
    results = json.loads(result.stdout)["runs"][0]["results"]
    fixes = {r["ruleId"]: r["fixes"] for r in results if "fixes" in r}
    assert list(fixes) == ["NPS505"]
    [fix] = fixes["NPS505"]
    assert fix["description"] == {"text": "add Ingress to policyTypes"}
    [change] = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "app.yaml"
    [replacement] = change["replacements"]
    lines = CASES["NPS505"][0].split("\n")
    line = lines.index("  - Egress") + 1  # the insertion goes at the end of the policyTypes item
    assert replacement == {
        "deletedRegion": {"startLine": line, "startColumn": 11, "endLine": line, "endColumn": 11},
        "insertedContent": {"text": "\n  - Ingress"},
    }


def test_sarif_fix_passes_the_multitool(workdir: Path, run_cli: Run) -> None:
    from tests.sarif_validation import multitool_errors, require_multitool

    require_multitool()
    (workdir / "app.yaml").write_text(CASES["NPS303"][0] + CASES["NPS501"][0].replace(SHOP, "---\n"))
    assert run_cli("scan", "app.yaml", "--format", "sarif", "-o", "out.sarif").exit_code == 1
    results = json.loads((workdir / "out.sarif").read_text())["runs"][0]["results"]
    assert any("fixes" in r for r in results)
    assert multitool_errors(workdir / "out.sarif") == []


def test_helm_rendered_document_is_printed_not_written(workdir: Path, run_cli: Run) -> None:
    chart = workdir / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    template = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-web
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes:
  - Egress
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: client}
"""
    (chart / "templates" / "netpol.yaml").write_text(template)
    rendered = "---\n# Source: shop/templates/netpol.yaml\n" + template.replace("{{ .Release.Name }}", "rel")
    (workdir / "rendered.yaml").write_text(rendered)
    result = run_cli("fix", "rendered.yaml", "--apply", "--chart-root", "chart")
    assert result.exit_code == 1
    assert (workdir / "rendered.yaml").read_text() == rendered  # never rewritten
    assert result.stdout.startswith(
        "chart/templates/netpol.yaml:8: NPS505 add Ingress to policyTypes: make this change there by hand "
        "(rendered.yaml is rendered from it and was not changed):\n--- a/rendered.yaml\n+++ b/rendered.yaml\n"
    )
    assert "+  - Ingress\n" in result.stdout
    diff = run_cli("fix", "rendered.yaml", "--diff", "--chart-root", "chart")
    assert (diff.exit_code, diff.stdout) == (1, "")  # stdout stays a patch of what --apply writes
    assert "make this change there by hand" in diff.stderr


def test_select_limits_the_fixes(workdir: Path, run_cli: Run) -> None:
    (workdir / "a.yaml").write_text(CASES["NPS303"][0])
    (workdir / "b.yaml").write_text(CASES["NPS505"][0])
    result = run_cli("fix", ".", "--apply", "--select", "NPS505")
    assert result.exit_code == 0
    assert (workdir / "a.yaml").read_text() == CASES["NPS303"][0]
    assert "  - Ingress" in (workdir / "b.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fix",), "nothing to fix: give PATH"),
        (("fix", "-"), "fix rewrites files"),
        (("fix", "missing.yaml"), "missing.yaml: no such file or directory"),
        (("fix", "x.yaml", "--apply", "--diff"), "--apply and --diff exclude each other"),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str, workdir: Path, run_cli: Run) -> None:
    (workdir / "x.yaml").write_text(SHOP)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("netpolscan: error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_kustomize_rendered_document_is_printed_not_written(workdir: Path, run_cli: Run) -> None:
    (workdir / "base").mkdir()
    source = CASES["NPS505"][0].split("---\n")[-1]
    (workdir / "base" / "netpol.yaml").write_text(source)
    rendered = source.replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    config.kubernetes.io/origin: |\n      path: base/netpol.yaml\n",
        1,
    )
    (workdir / "rendered.yaml").write_text(rendered)
    result = run_cli("fix", "rendered.yaml", "--apply")
    assert result.exit_code == 1
    assert (workdir / "rendered.yaml").read_text() == rendered
    assert result.stdout.startswith("base/netpol.yaml:")
    assert " NPS505 add Ingress to policyTypes: make this change there by hand" in result.stdout


def test_a_fix_that_does_not_remove_its_finding_is_made_once(
    workdir: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin's fix that leaves its finding: made once, then reported, never repeated round after round."""
    from collections.abc import Iterator

    from netpolscan import Edit, Fix, Rule, ScanContext, Severity, Violation
    from netpolscan.fixes import run

    def stubborn(ctx: ScanContext) -> Iterator[Violation]:
        for policy in ctx.inventory.policies:
            edit = Edit(policy.document, ("spec", "policyTypes"), "Ingress")
            yield Violation("always", policy.document, ("spec",), policy.ref, fix=Fix("add Ingress", (edit,)))

    rule = Rule("ACME900", "stubborn", Severity.WARNING, stubborn, "Always there.")
    monkeypatch.setattr(run, "chosen_rules", lambda options: [rule])
    path = workdir / "np.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: shop}\n"
        "spec:\n  podSelector: {}\n  policyTypes:\n  - Egress\n"
    )
    result = run_cli("fix", "np.yaml", "--apply")
    assert result.exit_code == 0
    assert path.read_text().endswith("  policyTypes:\n  - Egress\n  - Ingress\n")
    assert result.stderr == (
        "netpolscan: warning: np.yaml:4:1 ACME900 add Ingress: the fix was made but the finding remains; "
        "not repeated\n"
    )


def test_suppressed_findings_are_not_fixed(workdir: Path, run_cli: Run) -> None:
    text = CASES["NPS505"][0].replace(
        "  name: web\n  namespace: shop\nspec:\n  podSelector:",
        '  name: web\n  namespace: shop\n  annotations:\n    netpolscan.io/ignore: "NPS505"\n'
        "    netpolscan.io/ignore-reason: ingress comes later\nspec:\n  podSelector:",
    )
    assert text != CASES["NPS505"][0]
    (workdir / "app.yaml").write_text(text)
    result = run_cli("fix", "app.yaml", "--apply")
    assert (result.exit_code, result.stdout) == (0, "Nothing to fix.\n")
    assert (workdir / "app.yaml").read_text() == text


def test_json_report_carries_the_fix(workdir: Path, run_cli: Run) -> None:
    import jsonschema

    (workdir / "app.yaml").write_text(CASES["NPS505"][0])
    result = run_cli("scan", "app.yaml", "--format", "json")
    data = json.loads(result.stdout)
    schema = Path(__file__).resolve().parent.parent / "schemas" / "findings.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text()))
    fixes = {f["ruleId"]: f["fix"] for f in data["findings"] if "fix" in f}
    text = CASES["NPS505"][0]
    offset = text.index("  - Egress\n  ingress:") + len("  - Egress")
    assert fixes == {
        "NPS505": {
            "description": "add Ingress to policyTypes",
            "insertions": [
                {
                    "path": "app.yaml",
                    "line": text[:offset].count("\n") + 1,
                    "column": 11,
                    "offset": offset,
                    "text": "\n  - Ingress",
                }
            ],
        }
    }


def test_what_the_walk_leaves_out_and_failing_rules_are_said(
    workdir: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "k8s" / "chart" / "templates").mkdir(parents=True)
    (workdir / "k8s" / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (workdir / "k8s" / "app.yaml").write_text(CASES["NPS505"][0])
    result = run_cli("fix", "k8s", "--apply")
    assert result.exit_code == 0
    assert result.stderr.startswith("netpolscan: note: not scanned, as they are not manifests: ")
    assert "--helm k8s/chart" in result.stderr
    assert "  - Ingress" in (workdir / "k8s" / "app.yaml").read_text()

    from netpolscan import Rule, ScanContext, Severity
    from netpolscan.fixes import run

    def broken(ctx: ScanContext) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        run, "chosen_rules", lambda options: [Rule("ACME901", "broken", Severity.NOTE, broken, "")]
    )
    failed = run_cli("fix", "k8s/app.yaml")
    assert (failed.exit_code, failed.stdout) == (0, "")
    assert failed.stderr == (
        "netpolscan: error: rule ACME901 (broken) failed and was skipped: RuntimeError: boom\n"
    )
