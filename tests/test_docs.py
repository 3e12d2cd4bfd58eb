"""The user guide in docs/: every hook is documented with its exact signature, and the commands, code and
configuration the pages show are accepted by netpolscan (and those on the demo really run)."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import shutil
import types
from collections.abc import Callable
from pathlib import Path

import click
import pytest
import yaml

from netpolscan import hookspecs
from netpolscan.cli import cli, main

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
PLUGINS_MD = DOCS / "plugins.md"
FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
PLUGIN_FORMATS = {"acme-csv", "acme-ids"}  # formats the plugin docs themselves register


def _blocks(path: Path, *langs: str) -> list[str]:
    return [
        m.group("body") for m in FENCE.finditer(path.read_text(encoding="utf-8")) if m.group("lang") in langs
    ]


def test_the_guide_has_its_pages() -> None:
    names = {p.name for p in PAGES}
    assert {"getting-started.md", "ci.md", "configuration.md", "suppressions.md", "plugins.md"} <= names


def test_relative_links_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


# --- hooks: documented, with the exact signature --------------------------------------------------


def _hookspecs() -> dict[str, Callable[..., object]]:
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("netpolscan_") and hasattr(function, "netpolscan_spec")
    }


def _signature(function: Callable[..., object]) -> str:
    """`name(param: annotation, ...) -> return`, with annotations as written in the source."""
    signature = inspect.signature(function)
    params = ", ".join(
        f"{p.name}: {p.annotation}" if p.annotation is not inspect.Parameter.empty else p.name
        for p in signature.parameters.values()
    )
    return f"{function.__name__}({params}) -> {signature.return_annotation}"


def test_hookspecs_are_found() -> None:
    assert {"netpolscan_register_rules", "netpolscan_register_formatters"} <= set(_hookspecs())


@pytest.mark.parametrize("name", sorted(_hookspecs()))
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    section = re.search(rf"^### `{name}`\n(?P<body>.*?)(?=^## |^### |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, f"docs/plugins.md has no `### `{name}`` section: document the hook"
    expected = f"def {_signature(_hookspecs()[name])}: ..."
    first_block = FENCE.search(section.group("body"))
    assert first_block and first_block.group("lang") == "python", (
        f"{name}: the section starts with its signature"
    )
    documented = first_block.group("body").strip()
    assert documented == expected, (
        f"docs/plugins.md documents\n  {documented}\nbut the hookspec is\n  {expected}"
    )
    assert "@hookimpl" in section.group("body"), f"{name}: the section needs an example implementation"


def test_no_documented_hook_is_stale() -> None:
    documented = set(
        re.findall(r"^### `(netpolscan_\w+)`", PLUGINS_MD.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert documented == set(_hookspecs())


def test_plugin_examples_register_and_work(tmp_path: Path) -> None:
    """Each @hookimpl example of plugins.md, loaded as a plugin, registers rules and formats that run."""
    from netpolscan.plugins import collect_formatters, collect_rules, plugin_manager
    from netpolscan.scan import ScanOptions, scan_documents
    from netpolscan.sources.yamlparse import parse_text

    pm = plugin_manager()
    examples = [body for body in _blocks(PLUGINS_MD, "python") if "@hookimpl" in body]
    assert len(examples) == len(_hookspecs())
    for number, body in enumerate(examples):
        module = types.ModuleType(f"docs_plugin_example_{number}")
        exec(compile(body, f"docs/plugins.md example {number}", "exec"), module.__dict__)
        pm.register(module, name=f"docs-example-{number}")
    rules = [r for r in collect_rules(pm) if r.id.startswith("ACME")]
    formats = collect_formatters(pm)
    assert [r.id for r in rules] == ["ACME101"] and "acme-ids" in formats
    documents = list(
        parse_text(
            "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata:\n  name: x\n"
            "spec:\n  podSelector: {}\n",
            "np.yaml",
        )
    )
    report = scan_documents(documents, ScanOptions(paths=("np.yaml",)), rules)
    assert [(f.rule_id, f.location.line) for f in report.findings] == [("ACME101", 3)]
    assert formats["acme-ids"](report) == "ACME101 np.yaml:3\n"


# --- commands shown in ```sh blocks ---------------------------------------------------------------


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for page in PAGES + [REPO / "examples" / "netpolscan-example-plugin" / "README.md"]:
        for body in _blocks(page, "sh"):
            for line in body.splitlines():
                line = line.strip()
                if line.startswith("netpolscan "):
                    found.append((f"{page.name}: {line}", shlex.split(line, comments=True)[1:]))
    return found


COMMANDS = _commands()


def test_docs_show_commands() -> None:
    assert len(COMMANDS) >= 15


def _format_names(args: list[str]) -> list[str]:
    names = []
    for i, arg in enumerate(args):
        if arg in ("-f", "--format") and i + 1 < len(args):
            names.append(args[i + 1].split(":", 1)[0])
        elif arg.startswith("--format="):
            names.append(arg.split("=", 1)[1].split(":", 1)[0])
    return names


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_documented_command_is_accepted(where: str, args: list[str]) -> None:
    """The CLI parses the command: the subcommand exists, options and choices are valid, formats exist."""
    from netpolscan.plugins import collect_formatters, plugin_manager

    assert args and not args[0].startswith("-"), f"{where}: a subcommand comes first"
    name, *rest = args
    context = click.Context(cli, info_name="netpolscan")
    command = cli.get_command(context, name)
    assert command is not None, f"{where}: unknown command {name!r}"
    try:
        command.make_context(name, rest, parent=context)
    except click.UsageError as exc:
        pytest.fail(f"{where}: {exc.format_message()}")
    known = set(collect_formatters(plugin_manager())) | PLUGIN_FORMATS
    for fmt in _format_names(rest) if name == "scan" else ():
        assert fmt in known, f"{where}: unknown format {fmt!r}"


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "examples" / "demo", tmp_path / "examples" / "demo")
    monkeypatch.chdir(tmp_path)
    return tmp_path


DEMO_COMMANDS = [(where, args) for where, args in COMMANDS if "examples/demo" in args]


@pytest.mark.parametrize(("where", "args"), DEMO_COMMANDS, ids=[where for where, _ in DEMO_COMMANDS])
def test_documented_demo_command_runs(
    where: str, args: list[str], demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(list(args))
    err = capsys.readouterr().err
    expected = 1 if args[0] == "scan" and "never" not in args else 0  # the demo has findings
    assert code == expected, f"{where}: exit {code}, expected {expected}: {err}"
    assert "error" not in err.lower(), err


def test_getting_started_demo_has_findings(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "examples/demo"]) == 1
    assert "NPS303" in capsys.readouterr().out


# --- configuration and suppression examples -------------------------------------------------------


def test_configuration_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netpolscan.config import load_config

    blocks = [b for b in _blocks(DOCS / "configuration.md", "yaml") if ".netpolscan.yaml" in b]
    assert blocks
    (tmp_path / ".netpolscan.yaml").write_text(blocks[0])
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.fail_on == "error" and config.ignores and config.rule_settings


def test_suppression_examples_suppress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    text = (DOCS / "suppressions.md").read_text(encoding="utf-8")
    annotated = next(b for b in _blocks(DOCS / "suppressions.md", "yaml") if "kind: NetworkPolicy" in b)
    policy = yaml.safe_load(annotated)
    policy["metadata"]["annotations"]["netpolscan.io/ignore-until"] = "2999-12-31"
    policy["spec"] = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}],
    }
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "np.yaml").write_text(yaml.safe_dump(policy))
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "k8s/", "--select", "NPS302", "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["ruleId"] for f in findings] == ["NPS302"] and "suppressed" in findings[0]
    # the configuration-file variant suppresses the same finding without the annotation
    del policy["metadata"]["annotations"]
    (tmp_path / "k8s" / "np.yaml").write_text(yaml.safe_dump(policy))
    assert main(["scan", "k8s/", "--select", "NPS302"]) == 1
    config = next(b for b in _blocks(DOCS / "suppressions.md", "yaml") if b.startswith("ignores:"))
    (tmp_path / ".netpolscan.yaml").write_text(config)
    assert main(["scan", "k8s/", "--select", "NPS302"]) == 0
    assert "netpolscan.io/ignore-until" in text


def test_baseline_commands_round_trip(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        args
        for where, args in COMMANDS
        if where.startswith("suppressions.md") and any("baseline" in a for a in args)
    ]
    assert len(commands) == 2
    os.makedirs("k8s")
    for name in ("app.yaml", "policies.yaml"):
        shutil.copy(demo_dir / "examples" / "demo" / name, demo_dir / "k8s" / name)
    assert main(commands[0]) == 1  # records today's findings (and still reports them)
    assert main(commands[1]) == 0, capsys.readouterr().err  # nothing new


def test_design_notes_cited_by_the_code_exist() -> None:
    """Code citing the design notes (docs/design.md and a quoted section title) names a real section."""
    headings = set(
        re.findall(r"^## (.+?)\s*$", (DOCS / "design.md").read_text(encoding="utf-8"), re.MULTILINE)
    )
    cited = {
        (path.name, title)
        for path in sorted((REPO / "netpolscan").rglob("*.py")) + sorted((REPO / "tests").glob("*.py"))
        for title in re.findall(r"docs/design\.md,? \(?\"([^\"]+)\"", path.read_text(encoding="utf-8"))
    }
    assert cited, "no citation of docs/design.md found"
    missing = sorted((name, title) for name, title in cited if not any(h.startswith(title) for h in headings))
    assert not missing, f"docs/design.md has no such section: {missing}"
