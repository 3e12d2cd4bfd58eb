"""Finding a chart's directory: charts indexed by the name in their ``Chart.yaml``, their template files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from netpolscan.sourcemap.helm_template import SKIPPED_DIRS, Entry


@dataclass
class Chart:
    directory: Path
    defines: dict[str, tuple[Path, list[Entry]]] | None = None


def chart_name(directory: Path) -> str | None:
    try:
        data = yaml.safe_load((directory / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name is not None else None


def index_charts(root: Path, index: dict[str, list[Path]]) -> None:
    """Add every chart under ``root`` (``root`` included) to ``index``, shallowest first."""
    found: list[tuple[int, str, Path, str]] = []
    if not root.is_dir():
        return
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "Chart.yaml" in files:
            directory = Path(current)
            name = chart_name(directory)
            if name:
                depth = len(directory.relative_to(root).parts)
                found.append((depth, directory.as_posix(), directory, name))
    for _, _, directory, name in sorted(found):
        index.setdefault(name, []).append(directory)


def template_files(chart_dir: Path) -> list[Path]:
    """Files under any ``templates`` folder of the chart and of its unpacked sub-charts."""
    files: list[Path] = []
    for current, dirs, names in os.walk(chart_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "templates" in Path(current).relative_to(chart_dir).parts:
            files.extend(Path(current) / n for n in sorted(names))
    return files
