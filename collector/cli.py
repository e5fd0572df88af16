"""The ``spyglass`` command.

Other parts add subcommands without the collector importing them: a click command
registered under the ``spyglass.commands`` entry-point group (``pyproject.toml``,
``[project.entry-points."spyglass.commands"]``) is mounted under its entry-point name;
``spyglass monitors`` (``scorers.monitors.cli``) comes this way.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from collector.auth import AuthError
from collector.cli_alerts import alerts
from collector.cli_keys import keys
from collector.cli_projects import projects
from collector.cli_prompts import prompts
from collector.settings import Settings, SettingsError
from collector.storage import DataDirLockedError, StorageError


@click.group()
def main() -> None:
    """Spyglass: self-hosted tracing and evaluation for LLM applications."""


def fail(message: str) -> None:
    """Print one line on stderr and exit 1."""
    click.echo(f"spyglass: error: {message}", err=True)
    sys.exit(1)


@main.command()
@click.option("--host", default=None, help="Address to listen on [SPYGLASS_HOST; 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [SPYGLASS_PORT; 4318, OTLP/HTTP's].")
@click.option("--grpc-port", type=int, default=None,
              help="OTLP/gRPC port [SPYGLASS_GRPC_PORT; 4317]; 0 turns gRPC off.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="chDB data directory [SPYGLASS_DATA_DIR; ~/.spyglass/data].")
@click.option("--clickhouse-url", default=None,
              help="Use a ClickHouse server instead of chDB, e.g. http://user:pass@host:8123/spyglass "
                   "[SPYGLASS_CLICKHOUSE_URL].")
@click.option("--cluster", default=None,
              help="ClickHouse cluster name (remote_servers): create the sharded, replicated "
                   "schema ON CLUSTER [SPYGLASS_CLUSTER]. Needs --clickhouse-url.")
@click.option("--insecure-no-auth", is_flag=True, default=None,
              help="Allow a non-loopback address while no API key exists (logged loudly).")
@click.option("--log-level", default=None, help="debug, info, warning, error [SPYGLASS_LOG_LEVEL].")
def serve(host: str | None, port: int | None, grpc_port: int | None, data_dir: Path | None,
          clickhouse_url: str | None, cluster: str | None, insecure_no_auth: bool | None,
          log_level: str | None) -> None:
    """Run the collector: OTLP/HTTP ingest, the query API and the console."""
    from collector.server import ServerError, run

    try:
        settings = Settings.load(host=host, port=port, grpc_port=grpc_port, data_dir=data_dir,
                                 clickhouse_url=clickhouse_url, cluster=cluster,
                                 insecure_no_auth=insecure_no_auth or None, log_level=log_level)
    except SettingsError as exc:
        fail(str(exc))
        return
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Their retry chatter would bury the one-line error a failed connection ends with.
    for noisy in ("urllib3", "clickhouse_connect"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        run(settings)
    # AuthError: collector.auth refuses an open (key-less) non-loopback bind.
    except (DataDirLockedError, StorageError, ServerError, SettingsError, AuthError) as exc:
        fail(str(exc))


#: Entry-point group of the subcommands other parts contribute (see the module docstring).
COMMANDS_GROUP = "spyglass.commands"


@main.command("migrate")
@click.option("--to", "to_url", required=True, metavar="URL",
              help="The ClickHouse server to move into, e.g. http://user:pass@host:8123/spyglass.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The embedded chDB data directory [SPYGLASS_DATA_DIR; ~/.spyglass/data].")
@click.option("--cluster", default=None,
              help="Create the cluster schema ON CLUSTER NAME on the server first [SPYGLASS_CLUSTER].")
def migrate_command(to_url: str, data_dir: Path | None, cluster: str | None) -> None:
    """Copy an embedded data dir (spans, feedback, keys, datasets, eval runs: every table)
    into a ClickHouse server and verify every table by row count and checksum. Safe to run
    again: rows already on the server are not copied twice. Stop the collector first."""
    from collector.storage.transfer import migrate_data_dir

    try:
        settings = Settings.load(data_dir=data_dir, clickhouse_url=to_url, cluster=cluster)
    except SettingsError as exc:
        fail(str(exc))
        return
    if not (settings.data_dir / "clickhouse").is_dir():
        fail(f"{settings.data_dir} holds no Spyglass data (no clickhouse/ inside)")
    for noisy in ("urllib3", "clickhouse_connect"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        reports = migrate_data_dir(settings.data_dir, settings.clickhouse_url,
                                   cluster=settings.cluster or None, progress=click.echo)
    except DataDirLockedError as exc:
        fail(f"{exc}. Stop the collector before migrating its data dir")
        return
    except (StorageError, SettingsError) as exc:
        fail(str(exc))
        return
    bad = [r.table for r in reports if not r.ok]
    if bad:
        fail(f"rows missing on the server after copying: {', '.join(bad)}")
    rows = sum(r.source_rows for r in reports if not r.derived)
    click.echo(f"migrated {len(reports)} tables, {rows} rows: every source row is on the server")


@main.command()
def schema() -> None:
    """Print the collector's OpenAPI document (what GET /schema/openapi.json serves)."""
    from collector.openapi import openapi_text

    click.echo(openapi_text(), nl=False)


def _add_subcommands() -> None:
    """Mount ``keys``, ``prompts`` and every command registered under :data:`COMMANDS_GROUP`."""
    main.add_command(keys)
    main.add_command(alerts)
    main.add_command(prompts)
    main.add_command(projects)
    for ep in entry_points(group=COMMANDS_GROUP):
        # A registered command that fails to import is a broken install: let it raise.
        main.add_command(ep.load(), name=ep.name)


_add_subcommands()
