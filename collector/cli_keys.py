"""``spyglass keys create | list | revoke``: manage API keys (collector/auth/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import msgspec

from collector.auth import KeyRecord, KeyStore, key_id_of
from collector.cli_storage import (
    AdminClient,
    format_table,
    storage_options,
    storage_or_collector,
)
from collector.storage import Storage
from common.wire.projects import KeyList, KeyOut, KeyRequest, NewKey

__all__ = ["format_table", "keys"]


class RemoteKeyStore:
    """The :class:`KeyStore` operations through a running collector's admin routes (used
    when that collector holds the embedded data directory)."""

    def __init__(self, admin: AdminClient) -> None:
        self.admin = admin

    @staticmethod
    def _record(key: KeyOut) -> KeyRecord:
        return KeyRecord(key.key_id, key.project, key.name, key.created_at, key.revoked_at)

    def create(self, project: str, name: str = "") -> tuple[str, KeyRecord]:
        """See :meth:`KeyStore.create`."""
        body = self.admin.call("POST", "/api/admin/keys",
                               json=msgspec.to_builtins(KeyRequest(project=project, name=name)))
        created = msgspec.convert(body, NewKey)
        return created.key, self._record(created)

    def list(self) -> list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        listed = msgspec.convert(self.admin.call("GET", "/api/admin/keys"), KeyList)
        return [self._record(k) for k in listed.keys]

    def revoke(self, key_id: str) -> KeyRecord:
        """See :meth:`KeyStore.revoke`."""
        wanted = key_id_of(key_id) or key_id.strip().removeprefix("sg_")
        return self._record(msgspec.convert(
            self.admin.call("POST", f"/api/admin/keys/{wanted}/revoke"), KeyOut))


@contextmanager
def _key_store(data_dir: Path | None, clickhouse_url: str | None,
               url: str | None = None) -> Iterator[KeyStore | RemoteKeyStore]:
    with storage_or_collector(data_dir, clickhouse_url, url, "Manage keys") as target:
        yield KeyStore(target) if isinstance(target, Storage) else RemoteKeyStore(target)


@click.group()
def keys() -> None:
    """Manage API keys. Once any key exists, ingest (/v1/traces) and the query API (/api/*)
    require 'Authorization: Bearer KEY', and each key reaches only its own project.

    Works on the collector's storage directly; while `spyglass serve` holds an embedded
    data directory, through that collector (its admin token is in the data directory)."""


@keys.command("create")
@click.option("--project", required=True, help="The project this key may write and read.")
@click.option("--name", default="", help="A label to tell keys apart (e.g. 'prod ingest').")
@storage_options
def create(project: str, name: str, data_dir: Path | None, clickhouse_url: str | None,
           url: str | None) -> None:
    """Create a key for PROJECT and print it once; only its hash is stored."""
    with _key_store(data_dir, clickhouse_url, url) as store:
        key, record = store.create(project, name)
    click.echo(key)
    click.echo(f"created key {record.key_id} for project '{record.project}'. Store it now: it "
               "cannot be shown again.", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@storage_options
def list_keys(as_json: bool, data_dir: Path | None, clickhouse_url: str | None,
              url: str | None) -> None:
    """List keys (ids, projects, dates; never the keys themselves)."""
    with _key_store(data_dir, clickhouse_url, url) as store:
        records = store.list()
    if as_json:
        for r in records:
            click.echo(json.dumps({"key_id": r.key_id, "project": r.project, "name": r.name,
                                   "created_at": r.created_at, "revoked_at": r.revoked_at}))
        return
    if not records:
        click.echo("no API keys (the collector is open: loopback only)")
        return
    header = ("KEY ID", "PROJECT", "STATUS", "CREATED", "NAME")
    rows = [(r.key_id, r.project, "active" if r.active else "revoked", r.created_at, r.name)
            for r in records]
    click.echo(format_table(header, rows))


@keys.command("revoke")
@click.argument("key_id")
@storage_options
def revoke(key_id: str, data_dir: Path | None, clickhouse_url: str | None,
           url: str | None) -> None:
    """Revoke the key KEY_ID (as shown by `keys list`, or the full key)."""
    with _key_store(data_dir, clickhouse_url, url) as store:
        record = store.revoke(key_id)
    click.echo(f"revoked key {record.key_id} of project '{record.project}'")
