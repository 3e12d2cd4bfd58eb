"""Reading inputs: files, directories (recursive, sorted) and stdin, decoded into text."""

from __future__ import annotations

import codecs
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netpolscan.errors import NetpolscanError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


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
    ``-`` (stdin) is returned unchanged.
    """
    if not path or path == "-":
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


def iter_paths(arguments: list[str]) -> Iterator[str | Path]:
    """Expand the command-line arguments: ``-`` stays, directories are walked, files are checked."""
    for argument in arguments:
        if argument == "-":
            yield "-"
            continue
        path = Path(argument)
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file() or (path.exists() and not path.is_dir()):
            yield path
        else:
            raise NetpolscanError(f"{argument}: no such file or directory")


def _walk(top: Path) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    stack = [top]
    found: list[Path] = []
    while stack:
        directory = stack.pop()
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
                elif entry.name.endswith(MANIFEST_SUFFIXES) and entry.is_file():
                    found.append(Path(entry.path))
            except OSError:
                continue
    yield from sorted(found, key=lambda p: p.as_posix())


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
