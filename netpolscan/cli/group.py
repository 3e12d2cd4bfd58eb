"""The click group every command registers on, and what the commands share: writing output, option helpers,
loading an input's inventory, one-line error messages.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings; 2 usage or input error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

import click

from netpolscan import __version__
from netpolscan.errors import NetpolscanError

if TYPE_CHECKING:
    from netpolscan.model.inventory import Inventory

FAIL_ON = ("error", "warning", "note", "never")


def write_text(output: str | None, content: str) -> None:
    if output is None or output == "-":
        click.echo(content, nl=False)
        return
    try:
        Path(output).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise NetpolscanError(f"{output}: cannot write output: {exc.strerror or exc}") from None


class EchoStream:
    """Standard output as a text stream for the formatters, handed to ``click.echo`` in ~64 KiB pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            click.echo("".join(self.parts), nl=False)
            self.parts, self.size = [], 0


def write_stream(output: str | None, write: Callable[[TextIO], None]) -> None:
    """Let ``write`` stream a report to FILE (or stdout): the report is never one string in memory."""
    if output is None or output == "-":
        echo = EchoStream()
        write(cast(TextIO, echo))
        echo.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as stream:
            write(stream)
    except OSError as exc:
        raise NetpolscanError(f"{output}: cannot write output: {exc.strerror or exc}") from None


def split_values(values: Sequence[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="netpolscan")
def cli() -> None:
    """Static analysis of Kubernetes NetworkPolicies: find what your policies really allow."""


def parse_outputs(
    formats: Sequence[str], output: str | None, known: Sequence[str]
) -> list[tuple[str, str | None]]:
    """``--format NAME[:FILE]`` values -> (name, file or None = stdout).

    ``--output`` gives the file of the first format named without one.
    """
    outputs: list[tuple[str, str | None]] = []
    for value in formats or ("text",):
        name, sep, target = value.partition(":")
        if name not in known:
            raise NetpolscanError(f"unknown format {name!r} (choose from {', '.join(sorted(known))})")
        if sep and not target:
            raise NetpolscanError(f"--format {value}: missing file name after ':'")
        outputs.append((name, target or None))
    if output is not None:
        bare = [i for i, (_, target) in enumerate(outputs) if target is None]
        if not bare:
            raise NetpolscanError("--output needs a --format without a file name")
        outputs[bare[0]] = (outputs[bare[0]][0], output)
    return outputs


def one_line(message: str) -> str:
    """Error messages are one line: the first line of a multi-line message."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Exit 2 when a document of the input cannot be analysed (default: leave it out, name it on "
    "stderr and analyse the rest).",
)

namespace_option = click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of objects that have none [default: the config file's namespace, else default].",
)


def load_input(paths: Sequence[str], namespace: str | None, strict: bool, side: str = "") -> Inventory:
    """The inventory of ``paths``; each document it leaves out is named on stderr (an error with --strict)."""
    from netpolscan.model.loading import left_out, load_inventory
    from netpolscan.scan import available_kinds

    if namespace is None:  # like scan: the .netpolscan.yaml found upward from here says it, else default
        from netpolscan.config import load_config

        namespace = load_config(None).namespace or "default"
    inventory = load_inventory(paths, namespace, side, strict, available_kinds())
    for missing in left_out(inventory, side):
        click.echo(f"netpolscan: warning: {missing}", err=True)
    return inventory
