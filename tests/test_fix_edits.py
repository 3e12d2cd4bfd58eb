"""The text side of fixes: insertions keep everything else byte-identical, follow the style around them
(block, flow, JSON, indentation, CRLF) and are refused when unsafe; a hostile file end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpolscan.scan import ScanOptions, scan
from netpolscan.sources.yamledit import insertion
from tests.conftest import CliResult

Run = Callable[..., CliResult]
HOLE = "169.254.169.254/32"


def edited(text: str, pointer: tuple[str | int, ...], value: Any) -> str:
    found = insertion(text, pointer, value)
    assert found is not None
    return text[: found.offset] + found.text + text[found.offset :]


@pytest.mark.parametrize(
    ("text", "pointer", "value", "expected"),
    [
        pytest.param(  # a mapping in a list: the new key at its keys' column, after a trailing comment
            "to:\n- ipBlock:\n    cidr: 0.0.0.0/0  # all\nports: []\n",
            ("to", 0, "ipBlock"),
            {"except": [HOLE]},
            f"to:\n- ipBlock:\n    cidr: 0.0.0.0/0  # all\n    except:\n    - {HOLE}\nports: []\n",
            id="block-mapping",
        ),
        pytest.param(  # sequences indented under their key stay so
            "spec:\n    policyTypes:\n        - Ingress\n    egress:\n        - ports:\n              - port: 80\n",
            ("spec", "egress"),
            {"ports": [{"port": 53}]},
            "spec:\n    policyTypes:\n        - Ingress\n    egress:\n        - ports:\n              - port: 80\n"
            "        -   ports:\n                -   port: 53\n",  # a 4-space step throughout
            id="indented-sequences",
        ),
        pytest.param(
            "spec:\n  policyTypes: [Ingress]   # only\n",
            ("spec", "policyTypes"),
            "Egress",
            "spec:\n  policyTypes: [Ingress, Egress]   # only\n",
            id="flow-list",
        ),
        pytest.param(
            "spec:\n  ipBlock: {cidr: 0.0.0.0/0}\n",
            ("spec", "ipBlock"),
            {"except": [HOLE]},
            f"spec:\n  ipBlock: {{cidr: 0.0.0.0/0, except: [{HOLE}]}}\n",
            id="flow-mapping",
        ),
        pytest.param(
            "spec:\n  egress: []\n",
            ("spec", "egress"),
            {"ports": [{"protocol": "UDP", "port": 53}]},
            "spec:\n  egress: [{ports: [{protocol: UDP, port: 53}]}]\n",
            id="empty-flow-list",
        ),
        pytest.param(
            '{"spec": {"policyTypes": ["Ingress"]}}',
            ("spec", "policyTypes"),
            "Egress",
            '{"spec": {"policyTypes": ["Ingress", "Egress"]}}',
            id="json",
        ),
        pytest.param(
            "spec:\r\n  policyTypes:\r\n  - Ingress\r\n",
            ("spec", "policyTypes"),
            "Egress",
            "spec:\r\n  policyTypes:\r\n  - Ingress\r\n  - Egress\r\n",
            id="crlf",
        ),
        pytest.param(
            "spec:\n  policyTypes:\n  - Ingress",
            ("spec", "policyTypes"),
            "Egress",
            "spec:\n  policyTypes:\n  - Ingress\n  - Egress",
            id="no-final-newline",
        ),
        pytest.param(
            "spec:\n  policyTypes:\n  - 'Ingress'  # ✓ 😀\n",
            ("spec", "policyTypes"),
            "Egress",
            "spec:\n  policyTypes:\n  - 'Ingress'  # ✓ 😀\n  - Egress\n",
            id="unicode",
        ),
    ],
)
def test_insertion_keeps_the_rest_and_the_style(
    text: str, pointer: tuple[str | int, ...], value: Any, expected: str
) -> None:
    assert edited(text, pointer, value) == expected


@pytest.mark.parametrize(
    ("text", "pointer", "value"),
    [
        pytest.param("a: &x [1]\nb: *x\n", ("a",), 2, id="anchor-shared-by-an-alias"),
        pytest.param("base: &b {x: 1}\nspec:\n  <<: *b\n  y: [1]\n", ("spec", "y"), 2, id="merge-key"),
        pytest.param("spec:\n  a: 1\n  a: [2]\n", ("spec", "a"), 3, id="duplicate-key"),
        pytest.param("spec:\n  egress:\n", ("spec", "egress"), {"ports": []}, id="null-not-a-list"),
        pytest.param("spec:\n  note: |\n    text\n", ("spec",), {"x": 1}, id="ends-in-block-scalar"),
        pytest.param("spec:\n  a: 1\n", ("spec",), {"a": 2}, id="key-exists"),
        pytest.param("spec:\n  a: 1\n", ("spec", "b"), 1, id="no-such-node"),
        pytest.param("spec: [1\n", ("spec",), 2, id="broken-yaml"),
    ],
)
def test_unsafe_changes_get_no_insertion(text: str, pointer: tuple[str | int, ...], value: Any) -> None:
    assert insertion(text, pointer, value) is None


def test_insertion_position_counts_utf16_columns() -> None:
    found = insertion("a: [😀x]\n", ("a",), "y")
    assert found is not None
    assert (found.offset, found.line, found.column) == (6, 1, 8)  # the emoji is two UTF-16 units


HOSTILE = (
    "# team: shop -- reviewed\r\n"
    "apiVersion: v1\r\n"
    "kind: Namespace\r\n"
    "metadata: {name: shop}\r\n"
    "---\r\n"
    "apiVersion: apps/v1\r\n"
    "kind: Deployment\r\n"
    "metadata: {name: web, namespace: shop}\r\n"
    "spec:\r\n"
    "  selector: {matchLabels: {app: web}}\r\n"
    "  template:\r\n"
    "    metadata: {labels: {app: web}}\r\n"
    "    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}\r\n"
    "---\r\n"
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny-in, namespace: shop},\r\n"
    " spec: {podSelector: {}, policyTypes: [Ingress]}}\r\n"
    "---\r\n"
    "# the egress lock-down\r\n"
    "apiVersion: networking.k8s.io/v1\r\n"
    "kind: NetworkPolicy\r\n"
    "metadata:\r\n"
    "  name: 'web-out'   # quoted on purpose\r\n"
    "  namespace: shop\r\n"
    "spec:\r\n"
    "  podSelector: {matchLabels: {app: web}}\r\n"
    "  policyTypes: [Egress]  # ingress rules below are ignored\r\n"
    "  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]\r\n"
    "  egress:\r\n"
    "  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]   # internet\r\n"
    "    ports: [{port: 80}]\r\n"
    "  - to:\r\n"
    "    - ipBlock:\r\n"
    "        cidr: ::/0\r\n"
    "    ports:\r\n"
    "    - port: 80\r\n"
    "  - ports: [{port: 53, protocol: UDP}]\r\n"
)


def _findings(path: Path) -> set[tuple[str, str]]:
    return {(f.rule_id, f.fingerprint) for f in scan(ScanOptions(paths=[str(path)])).findings}


def test_hostile_file_flow_style_comments_crlf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "hostile.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + HOSTILE.encode())  # a BOM too
    before = _findings(path)
    fixed = {item for item in before if item[0] in ("NPS303", "NPS505")}
    assert sorted(rule for rule, _ in fixed) == ["NPS303", "NPS303", "NPS505"]  # IPv4, IPv6, policyTypes

    result = run_cli("fix", "hostile.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "Applied 3 fixes to 1 file." in result.stdout
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode()
    assert "\n" not in text.replace("\r\n", "")  # every line still ends in CRLF
    assert "  policyTypes: [Egress, Ingress]  # ingress rules below are ignored\r\n" in text
    assert "except: [10.0.0.0/8, 169.254.169.254/32]}}]   # internet\r\n" in text
    assert "        cidr: ::/0\r\n        except:\r\n        - fd00:ec2::254/128\r\n" in text
    # only insertions: removing them gives the file back, byte for byte
    restored = (
        text.replace(", Ingress]", "]")
        .replace(", 169.254.169.254/32]", "]")
        .replace("\r\n        except:\r\n        - fd00:ec2::254/128", "")
    )
    assert restored == HOSTILE
    assert [d for d in yaml.safe_load_all(text) if d]  # valid YAML
    after = _findings(path)
    assert after == before - fixed


def test_list_documents_and_multi_document_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    """Two NetworkPolicies inside a `kind: List`, and a third document: three fixes, applied bottom up."""
    monkeypatch.chdir(tmp_path)
    policy = (
        "  - apiVersion: networking.k8s.io/v1\n"
        "    kind: NetworkPolicy\n"
        "    metadata: {{name: {name}, namespace: shop}}\n"
        "    spec:\n"
        "      podSelector: {{}}\n"
        "      policyTypes:\n"
        "      - Ingress\n"
        "      egress:\n"
        "      - ports:\n"
        "        - {{port: 53, protocol: UDP}}\n"
    )
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        + policy.format(name="a")
        + policy.format(name="b")
        + "---\n"
        + policy.format(name="c").replace("\n    ", "\n").replace("  - apiVersion", "apiVersion")
    )
    path = tmp_path / "list.yaml"
    path.write_text(text)
    before = _findings(path)
    assert sorted(r for r, _ in before if r == "NPS505") == ["NPS505"] * 3
    result = run_cli("fix", "list.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "Applied 3 fixes to 1 file." in result.stdout
    after_text = path.read_text()
    assert after_text.count("      - Ingress\n      - Egress\n") == 2
    assert after_text.count("\n  - Ingress\n  - Egress\n") == 1
    assert not {r for r, _ in _findings(path)} & {"NPS505", "NPS001", "NPS002"}


def test_aliased_policy_has_its_finding_but_no_fix(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\n"
        "kind: NetworkPolicy\n"
        "metadata: {name: a, namespace: shop}\n"
        "spec:\n"
        "  podSelector: {}\n"
        "  policyTypes: &types [Ingress]\n"
        "  egress: [{ports: [{port: 53, protocol: UDP}]}]\n"
        "status: {copy: *types}\n"
    )
    findings = [f for f in scan(ScanOptions(paths=[str(path)])).findings if f.rule_id == "NPS505"]
    assert len(findings) == 1 and findings[0].fix is None


@pytest.mark.parametrize("value", ["on", "0777", "true", "~", "1e3"])
def test_inserted_strings_read_back_as_strings(value: str) -> None:
    """What Kubernetes's YAML reader would take for a bool, number or null is quoted (block and flow)."""
    assert edited("l:\n- a\n", ("l",), value) == f"l:\n- a\n- '{value}'\n"
    assert edited("l: [a]\n", ("l",), value) == f"l: [a, '{value}']\n"
