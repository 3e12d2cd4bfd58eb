"""Reading inputs: files, directories (recursive, sorted) and stdin, decoded into text."""

from __future__ import annotations

import codecs
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from netpolscan.errors import NetpolscanError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class InputText:
    """The decoded text of one input, or why it could not be decoded (reported as NPS001)."""

    path: str
    text: str | None
    error: str | None = None
    error_line: int | None = None


def display_path(path: Path, root: Path | None = None) -> str:
    """Path as shown in findings: relative to the working directory when inside it, POSIX separators."""
    root = root or Path.cwd()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def checkout_path(path: str) -> str:
    """A display path (relative to the working directory, or absolute) relative to the root of the git
    checkout that holds it, else to the working directory when inside it, else unchanged (POSIX).

    SARIF locations are read relative to the repository root, whatever directory the scan ran in.
    ``-`` (stdin) and URIs (``cluster://CONTEXT/...``, an object read from a cluster) are returned unchanged.
    """
    if not path or path == "-" or "://" in path:
        return path
    absolute = Path(os.path.abspath(path))
    root = _checkout_root(absolute.parent) or Path(os.path.abspath(os.getcwd()))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return path


@functools.lru_cache(maxsize=256)
def _checkout_root(directory: Path) -> Path | None:
    """The innermost directory at or above ``directory`` holding ``.git`` (a git checkout's root)."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@dataclass(frozen=True)
class Skipped:
    """What a directory walk left out because it is not manifests but renders them.

    ``kind`` is ``"helm"`` (a chart directory, left out whole) or ``"kustomize"`` (a kustomization file
    and the files it names: patches, generator inputs, replacements and transformer configurations).
    """

    kind: str
    directory: Path
    files: tuple[Path, ...] = ()


def iter_paths(arguments: list[str], skipped: list[Skipped] | None = None) -> Iterator[str | Path]:
    """Expand the command-line arguments: ``-`` stays, directories are walked, files are checked.

    A walk leaves out Helm charts and kustomizations' own files (appended to ``skipped``); a chart given
    as an argument stops the run: it must be rendered (``--helm``) to be scanned.
    """
    for argument in arguments:
        if argument == "-":
            yield "-"
            continue
        path = Path(argument)
        if path.is_dir() and (path / "Chart.yaml").is_file():
            raise NetpolscanError(
                f"{argument}: a Helm chart directory (its templates are not manifests): "
                f"scan it with --helm {argument}"
            )
        if path.is_dir():
            yield from _walk(path, [] if skipped is None else skipped)
        elif path.is_file() or (path.exists() and not path.is_dir()):
            yield path
        else:
            raise NetpolscanError(f"{argument}: no such file or directory")


def _walk(top: Path, skipped: list[Skipped]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    stack = [top]
    found: list[Path] = []
    kustomizations: list[Path] = []
    while stack:
        directory = stack.pop()
        if directory != top and (directory / "Chart.yaml").is_file():
            skipped.append(Skipped("helm", directory))
            continue
        try:
            stat = directory.stat()
        except OSError as exc:
            raise NetpolscanError(f"{directory.as_posix()}: cannot read directory: {exc.strerror}") from None
        key = (stat.st_dev, stat.st_ino)
        if key in seen:  # symlink loop or a directory reached twice
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise NetpolscanError(f"{directory.as_posix()}: cannot read directory: {exc.strerror}") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.name in KUSTOMIZATION_FILES and entry.is_file():
                    kustomizations.append(Path(entry.path))
                elif entry.name.endswith(MANIFEST_SUFFIXES) and entry.is_file():
                    found.append(Path(entry.path))
            except OSError:
                continue
    left_out: set[Path] = set()
    for kustomization in sorted(kustomizations):
        named = _named_files(kustomization)
        left_out.update(Path(os.path.normpath(p)) for p in (kustomization, *named))
        skipped.append(Skipped("kustomize", kustomization.parent, (kustomization, *named)))
    kept = [p for p in found if Path(os.path.normpath(p)) not in left_out]
    yield from sorted(kept, key=lambda p: p.as_posix())


# The fields of a kustomization that name files which are not resources: patches, generator inputs,
# replacements, plugin and transformer configurations ({field: (key of each entry or "" for a string)})
_KUSTOMIZE_FILE_FIELDS: dict[str, tuple[str, ...]] = {
    "patchesStrategicMerge": ("",),
    "patches": ("path",),
    "patchesJson6902": ("path",),
    "replacements": ("path",),
    "configurations": ("",),
    "transformers": ("",),
    "generators": ("",),
    "validators": ("",),
    "configMapGenerator": ("files", "envs", "env"),
    "secretGenerator": ("files", "envs", "env"),
    "helmCharts": ("valuesFile", "additionalValuesFiles"),
}


def _named_files(kustomization: Path) -> tuple[Path, ...]:
    """The existing files that ``kustomization`` names in fields other than ``resources``."""
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()
    if not isinstance(data, dict):
        return ()
    names: list[str] = []
    for field, keys in _KUSTOMIZE_FILE_FIELDS.items():
        entries = data.get(field)
        for entry in entries if isinstance(entries, list) else []:
            for key in keys:
                value = entry if key == "" else entry.get(key) if isinstance(entry, dict) else None
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and "\n" not in item:
                        names.append(item.rpartition("=")[2] if "=" in item and key == "files" else item)
    files = [kustomization.parent / name for name in names]
    return tuple(dict.fromkeys(p for p in files if p.is_file()))


def skipped_note(skipped: list[Skipped], shown: int = 4) -> str | None:
    """One line saying what a walk left out and how to render it (None when nothing was)."""
    parts: list[str] = []
    for item in skipped:
        where = display_path(item.directory)
        if item.kind == "helm":
            parts.append(f"Helm chart {where} (render it with --helm {where})")
        else:
            others = len(item.files) - 1
            what = item.files[0].name + (f" and the {others} files it names" if others > 1 else "")
            what += " and the file it names" if others == 1 else ""
            parts.append(f"{what} in {where} (render it with --kustomize {where})")
    if not parts:
        return None
    more = f"; and {len(parts) - shown} more" if len(parts) > shown else ""
    return "not scanned, as they are not manifests: " + "; ".join(parts[:shown]) + more


def decode(raw: bytes, path: str) -> InputText:
    """Decode bytes as UTF-8 (or UTF-16/32 with a BOM); binary and undecodable input is an error."""
    encoding = "utf-8"
    if raw.startswith(codecs.BOM_UTF8):
        raw, encoding = raw[len(codecs.BOM_UTF8) :], "utf-8"
    elif raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in raw[:8192]:
        return InputText(path, None, "binary file (contains NUL bytes), not YAML or JSON text", 1)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return InputText(
            path, None, f"not {encoding.upper()} text: byte 0x{raw[exc.start]:02x} cannot be decoded", line
        )
    if encoding != "utf-8" and text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        return InputText(
            path,
            None,
            "binary content (NUL character), not YAML or JSON text",
            text.count("\n", 0, text.index("\x00")) + 1,
        )
    return InputText(path, text)


def read(source: str | Path) -> InputText:
    """Read one input; a file that cannot be read stops the run."""
    if source == "-":
        return decode(sys.stdin.buffer.read(), "-")
    assert isinstance(source, Path)
    shown = display_path(source)
    try:
        raw = source.read_bytes()
    except IsADirectoryError:
        raise NetpolscanError(f"{shown}: is a directory") from None
    except OSError as exc:
        raise NetpolscanError(f"{shown}: cannot read file: {exc.strerror or exc}") from None
    return decode(raw, shown)
