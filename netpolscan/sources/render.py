"""Rendering charts and kustomizations into manifest text that keeps its provenance.

Kustomize: ``kustomize build`` or ``kubectl kustomize`` (the first one on PATH), always with the
``config.kubernetes.io/origin`` annotation on every object; when the kustomization does not ask for it
(``buildMetadata: [originAnnotations]``), a temporary kustomization that lists the target directory as
its only resource asks for it instead, and the origin paths are rewritten to be relative to the target.

Helm: ``helm template`` when ``helm`` is on PATH, else the ``helm-python-sdk`` package (Helm's own Go
SDK, offline). Either way the text carries helm's ``# Source: <chart>/templates/<file>`` comments.

Every failure is a :class:`~netpolscan.errors.NetpolscanError` with one clear line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from netpolscan.errors import NetpolscanError
from netpolscan.sources.files import KUSTOMIZATION_FILES

__all__ = ["render_helm", "render_helm_matrix", "render_kustomize", "kustomize_command", "helm_backend"]

DEFAULT_RELEASE = "release-name"  # what `helm template` calls a release when none is named
DEFAULT_NAMESPACE = "default"
TIMEOUT_SECONDS = 600

_KLOG_PREFIX = re.compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ [^\]]*\]\s*")
_KLOG_ERR = re.compile(r'\berr="((?:[^"\\]|\\.)*)"')
_ORIGIN_KEY = re.compile(r"^(?P<indent>[ \t]*)config\.kubernetes\.io/origin:[ \t]*\|[-+]?[ \t]*$")
_ORIGIN_PATH = re.compile(r"^(?P<lead>[ \t]*path:[ \t]*)(?P<path>\S.*?)[ \t]*$")
# Helm 3 splits a template's output at every line that starts with "---", whatever follows on it: a
# template whose "---" line is followed by "{{- if ... -}}" renders as "---# comment" or "---apiVersion:"
_SPLIT_MANIFESTS = re.compile(r"(?:^|[ \t\r\f\n]*\n)---[ \t\r\f\n]*")


# ---------------------------------------------------------------------------------------------- kustomize


def kustomize_command() -> list[str]:
    """The build command to use: ``kustomize build`` or ``kubectl kustomize`` (error when neither)."""
    if _which("kustomize"):
        return ["kustomize", "build"]
    if _which("kubectl"):
        return ["kubectl", "kustomize"]
    raise NetpolscanError(
        "cannot render the kustomization: neither `kustomize` nor `kubectl` is on PATH (install one of them)"
    )


def render_kustomize(directory: str | os.PathLike[str]) -> str:
    """Render the kustomization in ``directory`` with origin annotations on every object.

    The ``config.kubernetes.io/origin`` paths of the result are relative to ``directory``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise NetpolscanError(
            f"{root.as_posix()}: not a directory (--kustomize expects a kustomization directory)"
        )
    kustomization = _kustomization_file(root)
    if kustomization is None:
        raise NetpolscanError(f"{root.as_posix()}: no kustomization.yaml in this directory")
    command = kustomize_command()
    if _asks_for_origins(kustomization):
        return _run([*command, str(root)], f"{command[0]} could not build {root.as_posix()}")
    target = root.resolve()
    with tempfile.TemporaryDirectory(prefix="netpolscan-kustomize-") as tmp:
        wrapper = Path(tmp).resolve()
        # kustomize refuses absolute resource paths ("new root cannot be absolute"): use a relative one
        resource = Path(os.path.relpath(target, wrapper)).as_posix()
        (wrapper / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            "buildMetadata: [originAnnotations]\n"
            f"resources:\n  - {_yaml_scalar(resource)}\n",
            encoding="utf-8",
        )
        text = _run([*command, str(wrapper)], f"{command[0]} could not build {root.as_posix()}")
    return rebase_origin_paths(text, wrapper, target)


def rebase_origin_paths(text: str, built: Path, target: Path) -> str:
    """Rewrite the origin annotation paths of ``text`` (relative to ``built``) relative to ``target``.

    Origins of remote resources (a ``repo:`` entry) are relative to their repository and stay as they are.
    """
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = _ORIGIN_KEY.match(lines[i])
        i += 1
        if match is None:
            continue
        indent = len(match.group("indent"))
        block_start = i
        while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
            i += 1
        block = range(block_start, i)
        if any(lines[j].lstrip().startswith("repo:") for j in block):
            continue
        for j in block:
            path_match = _ORIGIN_PATH.match(lines[j])
            if path_match is None or len(lines[j]) - len(lines[j].lstrip()) != len(lines[block_start]) - len(
                lines[block_start].lstrip()
            ):
                continue
            old = path_match.group("path")
            new = Path(os.path.relpath(os.path.normpath(built / old), target)).as_posix()
            lines[j] = path_match.group("lead") + new
    return "\n".join(lines)


def _kustomization_file(root: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def _asks_for_origins(kustomization: Path) -> bool:
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # let the build report what is wrong with it
    metadata = data.get("buildMetadata") if isinstance(data, dict) else None
    return isinstance(metadata, list) and "originAnnotations" in metadata


def _yaml_scalar(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_./-]+", value) else '"' + value.replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------- helm


def helm_backend() -> str:
    """``"helm"`` (the binary), ``"helm-python-sdk"`` (the package), or an error naming both."""
    if _which("helm"):
        return "helm"
    if _import_helm_sdk() is not None:
        return "helm-python-sdk"
    raise NetpolscanError(
        "cannot render the Helm chart: `helm` is not on PATH and the helm-python-sdk package is not "
        "installed (install helm, or pip install 'netpolscan[helm]')"
    )


def render_helm(
    chart: str | os.PathLike[str],
    values_files: Sequence[str | os.PathLike[str]] = (),
    set_values: Sequence[str] = (),
    release: str | None = None,
    namespace: str | None = None,
    include_crds: bool = True,
) -> str:
    """Render a local chart directory the way ``helm template`` does, ``# Source:`` comments included.

    ``values_files`` are merged in order (later files win), then ``set_values`` (``KEY=VALUE`` as for
    ``--set``). ``release`` defaults to ``release-name`` and ``namespace`` to ``default``, as in helm.
    CRDs from ``crds/`` folders are included unless ``include_crds`` is false.
    """
    chart_path = Path(chart)
    if not chart_path.exists():
        raise NetpolscanError(f"{chart_path.as_posix()}: no such chart directory")
    if chart_path.is_dir() and not (chart_path / "Chart.yaml").is_file():
        raise NetpolscanError(f"{chart_path.as_posix()}: not a Helm chart (no Chart.yaml)")
    for values_file in values_files:
        if not Path(values_file).is_file():
            raise NetpolscanError(f"{Path(values_file).as_posix()}: no such values file")
    for expression in set_values:
        if "=" not in expression:
            raise NetpolscanError(f"--set {expression!r}: expected KEY=VALUE")
    if chart_path.is_dir():
        _check_dependencies(chart_path)
    release = release or DEFAULT_RELEASE
    namespace = namespace or DEFAULT_NAMESPACE
    if helm_backend() == "helm":
        command = ["helm", "template", release, str(chart_path), "--namespace", namespace]
        if include_crds:
            command.append("--include-crds")
        for values_file in values_files:
            command += ["--values", str(values_file)]
        for expression in set_values:
            command += ["--set", expression]
        return _run(command, f"helm could not render {chart_path.as_posix()}")
    return _render_with_sdk(chart_path, values_files, set_values, release, namespace, include_crds)


def _check_dependencies(chart: Path) -> None:
    """Stop, naming them, when dependencies the chart declares are not in its ``charts/`` folder.

    ``helm template`` refuses such a chart too, and the SDK would fail later on a template of the missing
    chart with a message that does not say why.
    """
    declared: list[str] = []
    for name in ("Chart.yaml", "requirements.yaml"):  # requirements.yaml: apiVersion v1 charts
        data = _yaml_file(chart / name)
        entries = data.get("dependencies") if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                declared.append(entry["name"])
    if not declared:
        return
    folder = chart / "charts"
    children = sorted(folder.iterdir()) if folder.is_dir() else []
    present = set()
    for child in children:
        data = _yaml_file(child / "Chart.yaml") if child.is_dir() else None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            present.add(data["name"])
    archives = [c.name for c in children if c.name.endswith((".tgz", ".tar.gz"))]
    missing = [
        name
        for name in dict.fromkeys(declared)
        if name not in present and not any(a.startswith(f"{name}-") for a in archives)
    ]
    if missing:
        shown = chart.as_posix()
        names = ", ".join(repr(name) for name in missing)
        which = "dependency" if len(missing) == 1 else "dependencies"
        raise NetpolscanError(
            f"{shown}: chart {which} {names} missing from {shown}/charts/: "
            f"run `helm dependency build {shown}` first"
        )


def _yaml_file(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def render_helm_matrix(
    chart: str | os.PathLike[str],
    values_files: Sequence[str | os.PathLike[str]],
    base_values: Sequence[str | os.PathLike[str]] = (),
    set_values: Sequence[str] = (),
    release: str | None = None,
    namespace: str | None = None,
    include_crds: bool = True,
) -> list[tuple[str, str]]:
    """Render the chart once per values file: ``[(label, text)]`` in the given order.

    Each rendering uses ``base_values`` (the ``--values`` files), then that one matrix file, then
    ``set_values``. The label is the matrix file's path as given (POSIX separators), for labelling the
    findings of that rendering.
    """
    if not values_files:
        raise NetpolscanError("--values-matrix needs at least one values file")
    rendered: list[tuple[str, str]] = []
    for values_file in values_files:
        text = render_helm(chart, [*base_values, values_file], set_values, release, namespace, include_crds)
        rendered.append((Path(values_file).as_posix(), text))
    return rendered


def _render_with_sdk(
    chart: Path,
    values_files: Sequence[str | os.PathLike[str]],
    set_values: Sequence[str],
    release: str,
    namespace: str,
    include_crds: bool,
) -> str:
    sdk = _import_helm_sdk()
    assert sdk is not None  # helm_backend() checked
    try:
        values: dict[str, Any] = {}
        for values_file in values_files:
            text = Path(values_file).read_text(encoding="utf-8")
            try:
                _merge(values, sdk.values_from_yaml(text))
            except sdk.HelmError as exc:
                raise NetpolscanError(f"{Path(values_file).as_posix()}: {_one_line(str(exc))}") from None
        if set_values:
            # one expression, so list indexes and repeated keys combine the way repeated --set flags do
            _merge(values, sdk.parse_set_string(",".join(set_values)))
        with sdk.Chart.load(str(chart)) as loaded:
            manifests = loaded.render(values or None, name=release, namespace=namespace, is_install=True)
            crds = loaded.crds if include_crds else []
    except NetpolscanError:
        raise
    except OSError as exc:
        raise NetpolscanError(f"helm-python-sdk could not render {chart.as_posix()}: {exc}") from None
    except sdk.HelmError as exc:
        raise NetpolscanError(
            f"helm-python-sdk could not render {chart.as_posix()}: {_one_line(str(exc))}"
        ) from None
    parts: list[str] = []
    for crd in crds:
        body = str(crd.get("data", "")).strip("\n")
        if body.strip():
            parts.append(f"---\n# Source: {crd.get('filename') or crd.get('name')}\n{body}\n")
    for name in sorted(manifests):
        if _is_skipped_template(name):
            continue
        for body in _split_manifests(manifests[name]):
            parts.append(f"---\n# Source: {name}\n{body}\n")
    return "".join(parts)


def _is_skipped_template(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith("NOTES.txt") or base.startswith("_")


def _split_manifests(text: str) -> list[str]:
    """The non-empty documents of one rendered template, as helm splits them."""
    bodies = []
    for part in _SPLIT_MANIFESTS.split(text):
        body = part.strip("\n")
        if body.strip() and any(
            line.strip() and not line.lstrip().startswith("#") for line in body.split("\n")
        ):
            bodies.append(body)
    return bodies


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    """Deep-merge ``override`` into ``base`` (maps recursively, anything else replaced)."""
    for key, value in override.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)
        else:
            base[key] = value


def _import_helm_sdk() -> Any:
    try:
        import helm_python
    except ImportError:
        return None
    except OSError:  # the package is there but its native library cannot load
        return None
    return helm_python


# ---------------------------------------------------------------------------------------------- running


def _which(name: str) -> str | None:
    return shutil.which(name)


def _run(command: list[str], failure: str) -> str:
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except OSError as exc:
        raise NetpolscanError(f"{failure}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise NetpolscanError(f"{failure}: no answer after {TIMEOUT_SECONDS} s") from None
    if completed.returncode != 0:
        reason = _first_line(completed.stderr) or f"exit status {completed.returncode}"
        raise NetpolscanError(f"{failure}: {reason}")
    return completed.stdout


def _one_line(message: str) -> str:
    """A multi-line message (the SDK's render errors span lines) as one line."""
    return " ".join(message.split())


def _first_line(stderr: str) -> str:
    """The first meaningful line of a tool's error output, without klog decorations."""
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line:
            continue
        line = _KLOG_PREFIX.sub("", line)
        err = _KLOG_ERR.search(line)
        if err is not None:
            line = err.group(1).replace('\\"', '"').replace("\\\\", "\\")
        return line.removeprefix("Error: ").strip()
    return ""
