"""Where generated policies go: one stream, one file per namespace, or a Kustomize component.

A component directory holds the files per namespace and a ``kustomization.yaml`` of kind ``Component``
(``kustomize.config.k8s.io/v1alpha1``) listing them, so an overlay takes it with ``components: [DIR]``.
Files are written whole and in a fixed order: the same input gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

from netpolscan.errors import NetpolscanError
from netpolscan.generate.core import Generated
from netpolscan.generate.yamltext import dump

COMPONENT_API = "kustomize.config.k8s.io/v1alpha1"


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NetpolscanError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _directory(directory: str) -> Path:
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NetpolscanError(f"{directory}: cannot create the directory: {exc.strerror or exc}") from None
    return path


def write_per_namespace(generated: Generated, directory: str) -> list[Path]:
    """``DIR/NAMESPACE.yaml`` per namespace; the paths written."""
    root = _directory(directory)
    written = []
    for name, text in generated.per_namespace().items():
        _write(root / name, text)
        written.append(root / name)
    return written


def kustomization(files: list[str]) -> str:
    comments = [
        "A Kustomize component written by `netpolscan generate`: add it to an overlay with",
        "components: [PATH/TO/THIS/DIRECTORY]",
    ]
    return dump({"apiVersion": COMPONENT_API, "kind": "Component", "resources": files}, comments)


def write_component(generated: Generated, directory: str) -> list[Path]:
    """The files per namespace and their ``kustomization.yaml``; the paths written."""
    written = write_per_namespace(generated, directory)
    target = Path(directory) / "kustomization.yaml"
    _write(target, kustomization([path.name for path in written]))
    return [*written, target]
