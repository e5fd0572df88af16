"""The ``evals`` command: run suites, manage datasets, list and compare runs.

Exit status of ``evals run``: 0 when the gate passes, 1 when it fails (a regression, task
failures, a latency/cost increase; see :mod:`common.gate`), 2 on a usage
error (bad suite file, unknown eval, bad param, unreachable or locked store) with one line
on stderr, 130 after Ctrl-C (SIGINT) and 143 after SIGTERM (the finished rows are saved and
the run marked partial).
"""

from __future__ import annotations

import os
import sys

import click

from evals.backend import BackendError
from evals.cli import datasets, records, run, runs
from evals.cli.common import (  # re-exported: the helpers every command module uses
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REGRESSION,
    EXIT_USAGE,
    CommandError,
    _fail,
    _quiet_logs,
    _say,
    _with_backend,
)
from evals.client import ApiError
from evals.datasets import DatasetError
from evals.signing import SigningKeyError

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "EXIT_USAGE",
    "CommandError",
    "_fail",
    "_quiet_logs",
    "_say",
    "_with_backend",
    "cli",
    "main",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", default=None,
              help="Project (default: $SPYGLASS_PROJECT, else the API key's project, else 'default').")
@click.pass_context
def cli(ctx: click.Context, project: str | None) -> None:
    """Spyglass evaluations: versioned datasets, suites, regressions against a baseline.

    Talks to the collector at $SPYGLASS_ENDPOINT (default http://127.0.0.1:4318); when
    none answers, starts one in-process over $SPYGLASS_DATA_DIR for the command."""
    ctx.obj = {"project": project}


for _command in (run.run_cmd, datasets.datasets, runs.runs, runs.compare_cmd, records.export_cmd,
                 records.verify_cmd, records.keys):
    cli.add_command(_command)


# -- entry point ----------------------------------------------------------------------------


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors reported as one line (exit 2). ``EvalConfigError`` is looked up only when
    ``evals.suite`` was imported (only code that imported it raises it): importing it up
    front would load numpy and scipy (via evals.stats) for every command, ``--help``
    included."""
    errors: list[type[BaseException]] = [CommandError, BackendError, DatasetError, ApiError,
                                         SigningKeyError]
    suite = sys.modules.get("evals.suite")
    if suite is not None:
        errors.append(suite.EvalConfigError)
    return tuple(errors)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every user-fixable error is one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="evals", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        _fail(exc.format_message())
    except _user_errors() as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if os.environ.get("SPYGLASS_DEBUG"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (set SPYGLASS_DEBUG=1 for a traceback)", 3)
    sys.exit(EXIT_OK)
