"""``spyglass keys create | list | revoke``: manage API keys (collector/auth.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from collector.auth import AuthError, KeyStore
from collector.settings import Settings, SettingsError
from collector.storage import DataDirLockedError, StorageError, open_storage


def _fail(message: str) -> None:
    click.echo(f"spyglass: error: {message}", err=True)
    sys.exit(1)


def _storage_options(func: Any) -> Any:
    func = click.option("--clickhouse-url", default=None,
                        help="ClickHouse server the collector uses [SPYGLASS_CLICKHOUSE_URL].")(func)
    func = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None,
                        help="chDB data directory of the collector [SPYGLASS_DATA_DIR; "
                             "~/.spyglass/data].")(func)
    return func


@contextmanager
def _key_store(data_dir: Path | None, clickhouse_url: str | None) -> Iterator[KeyStore]:
    """The keys table of the collector's storage; one-line errors for the usual problems."""
    try:
        settings = Settings.load(data_dir=data_dir, clickhouse_url=clickhouse_url)
        storage = open_storage(settings)
    except DataDirLockedError as exc:
        _fail(f"{exc}. With embedded storage, manage keys while `spyglass serve` is stopped "
              "(the collector picks them up when it starts).")
        return
    except (SettingsError, StorageError) as exc:
        _fail(str(exc))
        return
    try:
        yield KeyStore(storage)
    except (AuthError, StorageError) as exc:
        _fail(str(exc))
    finally:
        storage.close()


@click.group()
def keys() -> None:
    """Manage API keys. Once any key exists, ingest (/v1/traces) and the query API (/api/*)
    require 'Authorization: Bearer KEY', and each key reaches only its own project."""


@keys.command("create")
@click.option("--project", required=True, help="The project this key may write and read.")
@click.option("--name", default="", help="A label to tell keys apart (e.g. 'prod ingest').")
@_storage_options
def create(project: str, name: str, data_dir: Path | None, clickhouse_url: str | None) -> None:
    """Create a key for PROJECT and print it once; only its hash is stored."""
    with _key_store(data_dir, clickhouse_url) as store:
        key, record = store.create(project, name)
    click.echo(key)
    click.echo(f"created key {record.key_id} for project '{record.project}'. Store it now: it "
               "cannot be shown again.", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@_storage_options
def list_keys(as_json: bool, data_dir: Path | None, clickhouse_url: str | None) -> None:
    """List keys (ids, projects, dates; never the keys themselves)."""
    with _key_store(data_dir, clickhouse_url) as store:
        records = store.list()
    if as_json:
        for r in records:
            click.echo(json.dumps({"key_id": r.key_id, "project": r.project, "name": r.name,
                                   "created_at": r.created_at, "revoked_at": r.revoked_at}))
        return
    if not records:
        click.echo("no API keys (the collector is open: loopback only)")
        return
    click.echo(f"{'KEY ID':<14}{'PROJECT':<24}{'STATUS':<10}{'CREATED':<26}NAME")
    for r in records:
        status = "active" if r.active else "revoked"
        click.echo(f"{r.key_id:<14}{r.project:<24}{status:<10}{r.created_at:<26}{r.name}")


@keys.command("revoke")
@click.argument("key_id")
@_storage_options
def revoke(key_id: str, data_dir: Path | None, clickhouse_url: str | None) -> None:
    """Revoke the key KEY_ID (as shown by `keys list`, or the full key)."""
    with _key_store(data_dir, clickhouse_url) as store:
        record = store.revoke(key_id)
    click.echo(f"revoked key {record.key_id} of project '{record.project}'")
