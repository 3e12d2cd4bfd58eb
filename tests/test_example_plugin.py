"""Third-party plugins: the example plugin in a fresh virtualenv, its rule docs, and clear load errors.

In-process tests make plugins visible through entry points the way pip does: a ``*.dist-info`` folder
(METADATA + entry_points.txt) in a temporary directory put on ``sys.path``. The virtualenv test pip-installs
this checkout and ``examples/netpolscan-example-plugin`` into a new venv (no system site-packages) and runs
the installed ``netpolscan`` and the plugin's own tests there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netpolscan.cli import main

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "examples" / "netpolscan-example-plugin"
PLUGIN_DOCS = sorted((PLUGIN / "docs" / "rules").glob("ACME*.md"))
PLUGIN_CASES = sorted((PLUGIN / "tests" / "cases").glob("*.yaml"))

MANIFEST = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: legacy-admin
  namespace: ops
spec:
  podSelector: {}
  ingress:
  - ports:
    - protocol: TCP
      port: 23
"""


# --- entry points without pip ---------------------------------------------------------------------


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``distribution(name, entry_points={ep: target}, modules={module: source})``: a plugin "installed"."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    added: list[str] = []

    def make(
        name: str, entry_points: dict[str, str], modules: dict[str, str] | None = None, version: str = "1.0"
    ) -> None:
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[netpolscan]\n{lines}")
        for module, source in (modules or {}).items():
            (root / f"{module}.py").write_text(source)
            added.append(module)

    yield make
    for module in added:
        sys.modules.pop(module, None)


@pytest.fixture
def example_plugin(distribution: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example plugin from its source tree, registered as entry point ``acme``."""
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    distribution("netpolscan-example-plugin", {"acme": "netpolscan_example_plugin"}, version="0.1.0")
    yield
    for module in [m for m in sys.modules if m.startswith("netpolscan_example_plugin")]:
        del sys.modules[module]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("doc", PLUGIN_DOCS, ids=[p.stem.split("-")[0] for p in PLUGIN_DOCS])
def test_example_plugin_rule_docs(example_plugin: None, doc: Path) -> None:
    from netpolscan.testing import check_rule_doc

    assert check_rule_doc(doc)


@pytest.mark.parametrize("case", PLUGIN_CASES, ids=[p.name for p in PLUGIN_CASES])
def test_example_plugin_case_files(example_plugin: None, case: Path) -> None:
    """The plugin's YAML case files pass through the public helpers, and a broken marker would fail."""
    from netpolscan.testing import check_example, example_findings, example_from_text

    text = case.read_text(encoding="utf-8")
    example = example_from_text(text, path=case.name)
    assert example.checked == {"ACME102"}
    result = check_example(example)
    assert result.actual == sorted(set(example.expected))
    if example.expected:  # the finding, unmarked, is unexpected
        mutated = "# expect-none: ACME102\n" + text.replace("  # expect: ACME102", "")
    else:  # a marker where nothing fires is missing
        mutated = text.replace("# expect-none: ACME102\n", "").rstrip("\n") + "  # expect: ACME102\n"
    assert not example_findings(example_from_text(mutated, path=case.name)).ok


def test_example_plugin_in_process(
    example_plugin: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "rules", "--format", "json")
    rules = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and rules["ACME101"]["plugin"] == "acme" and rules["ACME102"]["level"] == "error"
    manifest = tmp_path / "np.yaml"
    manifest.write_text(MANIFEST)
    code, out, _ = _run(capsys, "scan", str(manifest), "--select", "ACME", "--format", "acme-csv")
    assert code == 1
    assert out.splitlines()[0].startswith("rule,name,level,path,line")
    rows = [line.split(",") for line in out.splitlines()[1:]]
    assert [(row[0], row[1], row[2], row[4]) for row in rows] == [
        ("ACME101", "network-policy-missing-owner", "warning", "3"),
        ("ACME102", "banned-port-allowed", "error", "10"),
    ]
    code, out, _ = _run(capsys, "scan", str(manifest), "--disable-plugin", "acme", "--format", "json")
    assert not any(f["ruleId"].startswith("ACME") for f in json.loads(out)["findings"])


# --- plugin settings in .netpolscan.yaml, checked against the plugin's schema -------------------------


def test_plugin_settings_come_from_the_config_file(
    example_plugin: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "np.yaml").write_text(MANIFEST.replace("port: 23", "port: 5432"))
    code, out, _ = _run(capsys, "scan", "np.yaml", "--select", "ACME102", "--format", "acme-csv")
    assert code == 0 and len(out.splitlines()) == 1  # 5432 is not banned by default
    (tmp_path / ".netpolscan.yaml").write_text("plugins:\n  acme:\n    banned-ports: [TCP/5432]\n")
    code, out, err = _run(capsys, "scan", "np.yaml", "--select", "ACME102", "--format", "acme-csv")
    assert code == 1, err
    assert [line.split(",")[4] for line in out.splitlines()[1:]] == ["10"] and "TCP 5432" in out


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "fail-on: error\nplugins:\n  acme:\n    banned-ports: [telnet]\n",
            ".netpolscan.yaml:4: plugins.acme.banned-ports.0: 'telnet' does not match",
        ),
        (
            "plugins:\n  acme:\n    banned-port: [TCP/23]\n",
            ".netpolscan.yaml:3: unknown key 'plugins.acme.banned-port'",
        ),
        (
            "plugins:\n  acme: {}\n  acne: {}\n",
            ".netpolscan.yaml:3: plugins.acne: no plugin named 'acne' is installed (loaded: acme, builtin)",
        ),
        (
            "plugins:\n  acme: [TCP/23]\n",
            ".netpolscan.yaml:2: plugins.acme: ['TCP/23'] is not of type 'object'",
        ),
    ],
    ids=["bad-value", "unknown-key", "unknown-plugin", "not-a-mapping"],
)
def test_bad_plugin_settings_are_one_line_and_exit_2(
    example_plugin: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "np.yaml").write_text(MANIFEST)
    (tmp_path / ".netpolscan.yaml").write_text(config)
    code, out, err = _run(capsys, "scan", "np.yaml")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines() == [err.strip()] and err.startswith("netpolscan: error: ") and message in err, err


def test_a_disabled_plugin_settings_are_not_checked(
    example_plugin: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "np.yaml").write_text(MANIFEST)
    (tmp_path / ".netpolscan.yaml").write_text("plugins:\n  acme:\n    banned-ports: [telnet]\n")
    code, _, err = _run(capsys, "scan", "np.yaml", "--disable-plugin", "acme", "--fail-on", "never")
    assert code == 0 and err == "", err


def test_a_plugin_with_an_invalid_schema_fails_the_run(
    distribution: Callable[..., None], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    module = "from netpolscan import hookimpl\n@hookimpl\ndef netpolscan_config_schema():\n    return {'type': 7}\n"
    distribution("plugin-bad-schema", {"badschema": "acme_bad_schema"}, {"acme_bad_schema": module})
    (tmp_path / "np.yaml").write_text(MANIFEST)
    (tmp_path / ".cfg.yaml").write_text("plugins:\n  badschema: {x: 1}\n")
    code, _, err = _run(capsys, "scan", str(tmp_path / "np.yaml"), "--config", str(tmp_path / ".cfg.yaml"))
    assert code == 2 and err.startswith(
        "netpolscan: error: plugin 'badschema' gives an invalid config schema"
    )
    assert len(err.strip().splitlines()) == 1


# --- load errors: one line on stderr naming the plugin, exit 2 ------------------------------------

HOOKIMPL = "from netpolscan import hookimpl, Rule, Severity\n"


def _rules_module(*ids: str) -> str:
    rules = ", ".join(
        f"Rule({rule_id!r}, 'rule-{rule_id.lower()}', Severity.WARNING, lambda ctx: iter(()), summary='s')"
        for rule_id in ids
    )
    return (
        HOOKIMPL
        + "@hookimpl\ndef netpolscan_register_rules(register):\n"
        + f"    for r in [{rules}]:\n        register(r)\n"
    )


LOAD_ERRORS = {
    "import-fails": (
        {"broken": "acme_mod_a"},
        {"acme_mod_a": "import acme_dependency_that_is_not_installed\n"},
        ["'broken'", "acme_dependency_that_is_not_installed"],
    ),
    "misspelled-hook": (
        {"typo": "acme_mod_b"},
        {"acme_mod_b": HOOKIMPL + "@hookimpl\ndef netpolscan_register_rule(register):\n    pass\n"},
        ["'typo'", "netpolscan_register_rule"],
    ),
    "unmarked-hook": (
        {"unmarked": "acme_mod_c"},
        {"acme_mod_c": "def netpolscan_register_rule(register):\n    pass\n"},
        ["'unmarked'", "netpolscan_register_rule", "@netpolscan.hookimpl"],
    ),
    "reserved-prefix": (
        {"squatter": "acme_squat"},
        {"acme_squat": _rules_module("NPS950")},
        ["'squatter'", "NPS"],
    ),
    "id-collision": (
        {"acme-one": "acme_one", "acme-two": "acme_two"},
        {"acme_one": _rules_module("ACME101"), "acme_two": _rules_module("ACME101")},
        ["'acme-one'", "'acme-two'", "ACME"],
    ),
}


LOAD_ERROR_CASES = [pytest.param(case, id=case) for case in LOAD_ERRORS]


@pytest.mark.parametrize("case", LOAD_ERROR_CASES)
@pytest.mark.parametrize("command", [["rules"], ["scan"]], ids=["rules", "scan"])
def test_load_errors_are_one_clear_line_naming_the_plugin(
    case: str,
    command: list[str],
    distribution: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    entry_points, modules, expected = LOAD_ERRORS[case]
    distribution(f"plugin-{case}", entry_points, modules)
    if command == ["scan"]:
        (tmp_path / "np.yaml").write_text(MANIFEST)
        command = ["scan", str(tmp_path / "np.yaml")]
    code, out, err = _run(capsys, *command)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netpolscan: error: "), err
    assert "Traceback" not in err
    for word in expected:
        assert word in lines[0], f"{word!r} missing from: {lines[0]}"
    # --disable-plugin blocks the offender (both, for a collision) and the run goes on
    code, _, err = _run(capsys, *command, *(f"--disable-plugin={name}" for name in entry_points))
    assert code == (1 if command[0] == "scan" else 0) and "error" not in err, err  # MANIFEST has findings


# --- the example plugin pip-installed into a fresh virtualenv -------------------------------------


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin-venv")
    venv.create(root / "venv", with_pip=True, system_site_packages=False, symlinks=True)
    bin_dir = root / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    install = subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(REPO),
            f"{PLUGIN}[test]",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return bin_dir


def _venv_run(bin_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "netpolscan"), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_installed_plugin_is_listed_and_fires_in_sarif(plugin_venv: Path, tmp_path: Path) -> None:
    isolated = subprocess.run(
        [
            str(plugin_venv / "python"),
            "-c",
            "import sys, netpolscan; print(netpolscan.__file__); print(sys.prefix)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert str(REPO) not in isolated[0], "netpolscan must come from the venv, not the checkout"

    rules = _venv_run(plugin_venv, "rules")
    assert rules.returncode == 0, rules.stderr
    for rule_id, name in (("ACME101", "network-policy-missing-owner"), ("ACME102", "banned-port-allowed")):
        line = next(line for line in rules.stdout.splitlines() if line.startswith(rule_id))
        assert name in line and "acme" in line

    (tmp_path / "np.yaml").write_text(MANIFEST)
    scan = _venv_run(
        plugin_venv, "scan", "np.yaml", "--format", "sarif", "--output", "out.sarif", cwd=tmp_path
    )
    assert scan.returncode == 1, scan.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    results = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in sarif["runs"][0]["results"]
    }
    assert {("ACME101", 3), ("ACME102", 10)} <= results
    driver_rules = {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    extensions = {
        rule["id"] for ext in sarif["runs"][0]["tool"].get("extensions", []) for rule in ext.get("rules", [])
    }
    assert {"ACME101", "ACME102"} <= driver_rules | extensions

    csv = _venv_run(
        plugin_venv, "scan", "np.yaml", "--select", "ACME102", "--format", "acme-csv", cwd=tmp_path
    )
    assert csv.stdout.splitlines()[1].startswith("ACME102,banned-port-allowed,error,np.yaml,10,")


def test_installed_plugin_shows_in_netpolscan_plugins(plugin_venv: Path) -> None:
    listing = _venv_run(plugin_venv, "plugins")
    assert listing.returncode == 0, listing.stderr
    line = next((line for line in listing.stdout.splitlines() if "acme" in line), "")
    assert "netpolscan-example-plugin" in line and "0.1.0" in line, listing.stdout
    assert "builtin" in listing.stdout


def test_example_plugin_own_tests_pass_in_the_venv(plugin_venv: Path) -> None:
    result = subprocess.run(
        [str(plugin_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
        capture_output=True,
        text=True,
        cwd=PLUGIN,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(PLUGIN_DOCS) + len(PLUGIN_CASES) + 1} passed" in result.stdout
