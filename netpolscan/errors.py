"""Errors that stop a run: the CLI prints their message on one line and exits 2."""


class NetpolscanError(Exception):
    """A problem with the invocation or its inputs (bad flag, missing file, bad config, plugin failure)."""

    exit_code = 2
