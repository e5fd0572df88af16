"""Helpers every ``evals`` command module shares: exit codes, the one-line error,
stderr messages and the backend a command talks to."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from evals.backend import Backend, connect

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit 2."""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"evals: error: {message}", err=True)
    sys.exit(code)


def _say(message: str) -> None:
    click.echo(message, err=True)


def _quiet_logs() -> None:
    # The in-process collector configures INFO logging; a CLI should print only its own lines.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "litestar", "spyglass"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _with_backend(project: str | None, fn: Callable[[Backend], Any]) -> Any:
    with connect(project) as backend:
        _quiet_logs()
        return fn(backend)
