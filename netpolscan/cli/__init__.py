"""The command line: click commands that parse options, call the library and choose the exit code.

One module per command (or family of commands) registers on the group in :mod:`netpolscan.cli.group`;
:func:`main` runs it and turns every error into one line and an exit code.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings; 2 usage or input error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from netpolscan.cli import (  # noqa: F401  (registers the commands)
    connectivity_commands,
    diff_command,
    fix_command,
    flows_command,
    generate_command,
    info_commands,
    scan_command,
)
from netpolscan.cli.group import cli, one_line
from netpolscan.cli.info_commands import rules_markdown
from netpolscan.errors import NetpolscanError

__all__ = ["cli", "console_main", "main", "rules_markdown"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (console script and ``python -m netpolscan``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="netpolscan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("netpolscan: error: aborted", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"netpolscan: error: {one_line(exc.format_message())}", err=True)
        return 2
    except NetpolscanError as exc:
        click.echo(f"netpolscan: error: {one_line(str(exc))}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        click.echo("netpolscan: interrupted", err=True)
        return 2
    except Exception as exc:  # never a traceback for users; NETPOLSCAN_DEBUG=1 shows it
        if os.environ.get("NETPOLSCAN_DEBUG"):
            raise
        click.echo(
            f"netpolscan: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(set NETPOLSCAN_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return int(result or 0) if isinstance(result, int) else 0


def console_main() -> None:
    sys.exit(main())
