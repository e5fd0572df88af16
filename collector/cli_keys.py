"""``spyglass keys create | list | revoke``: manage API keys (collector/auth/)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx
import msgspec

from collector.auth import (
    ADMIN_HEADER,
    AuthError,
    KeyRecord,
    KeyStore,
    key_id_of,
    read_admin_token,
)
from collector.settings import Settings, SettingsError
from collector.storage import DataDirLockedError, StorageError, open_storage
from common import endpoint
from common.wire.projects import KeyList, KeyOut, KeyRequest, NewKey


def _fail(message: str) -> None:
    click.echo(f"spyglass: error: {message}", err=True)
    sys.exit(1)


def _storage_options(func: Any) -> Any:
    func = click.option("--url", default=None,
                        help="The running collector, when it holds the embedded data directory "
                             "[default: http://127.0.0.1:SPYGLASS_PORT].")(func)
    func = click.option("--clickhouse-url", default=None,
                        help="ClickHouse server the collector uses [SPYGLASS_CLICKHOUSE_URL].")(func)
    func = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None,
                        help="chDB data directory of the collector [SPYGLASS_DATA_DIR; "
                             "~/.spyglass/data].")(func)
    return func


class RemoteKeyStore:
    """The :class:`KeyStore` operations through a running collector's admin routes (used
    when that collector holds the embedded data directory)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=30,
                                   headers={ADMIN_HEADER: token})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AuthError(f"the data directory is in use, but no collector answered at "
                            f"{self.url} ({exc}); pass --url of the running collector") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise AuthError(f"the collector at {self.url} answered {response.status_code}: {message}")
        return response.json()

    @staticmethod
    def _record(key: KeyOut) -> KeyRecord:
        return KeyRecord(key.key_id, key.project, key.name, key.created_at, key.revoked_at)

    def create(self, project: str, name: str = "") -> tuple[str, KeyRecord]:
        """See :meth:`KeyStore.create`."""
        body = self._call("POST", "/api/admin/keys",
                          json=msgspec.to_builtins(KeyRequest(project=project, name=name)))
        created = msgspec.convert(body, NewKey)
        return created.key, self._record(created)

    def list(self) -> list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        listed = msgspec.convert(self._call("GET", "/api/admin/keys"), KeyList)
        return [self._record(k) for k in listed.keys]

    def revoke(self, key_id: str) -> KeyRecord:
        """See :meth:`KeyStore.revoke`."""
        wanted = key_id_of(key_id) or key_id.strip().removeprefix("sg_")
        return self._record(msgspec.convert(
            self._call("POST", f"/api/admin/keys/{wanted}/revoke"), KeyOut))

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _local_url(settings: Settings, url: str | None) -> str:
    """``--url``, else the running ``spyglass serve`` that published this data directory,
    else where this machine reaches the configured host and port."""
    if url:
        return url
    found = endpoint.served()
    if found and found.data_dir and Path(found.data_dir).expanduser().resolve() == \
            Path(settings.data_dir).expanduser().resolve():
        return found.url
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


@contextmanager
def _key_store(data_dir: Path | None, clickhouse_url: str | None,
               url: str | None = None) -> Iterator[KeyStore | RemoteKeyStore]:
    """The keys table of the collector's storage, or the running collector that holds the
    embedded data directory; one-line errors for the usual problems."""
    store: KeyStore | RemoteKeyStore
    storage = None
    try:
        if data_dir is None and not os.environ.get("SPYGLASS_DATA_DIR") and not clickhouse_url \
                and not os.environ.get("SPYGLASS_CLICKHOUSE_URL"):
            # No data dir given: the one of the `spyglass serve` running on this machine.
            found = endpoint.served()
            if found and found.data_dir:
                data_dir = Path(found.data_dir)
        settings = Settings.load(data_dir=data_dir, clickhouse_url=clickhouse_url)
        try:
            storage = open_storage(settings)
            store = KeyStore(storage)
        except DataDirLockedError as exc:
            token = read_admin_token(settings.data_dir)
            if token is None:
                _fail(f"{exc}. Manage keys while `spyglass serve` is stopped, or through it "
                      "once it has written its admin token.")
                return
            store = RemoteKeyStore(_local_url(settings, url), token)
    except (SettingsError, StorageError) as exc:
        _fail(str(exc))
        return
    try:
        yield store
    except (AuthError, StorageError) as exc:
        _fail(str(exc))
    finally:
        if storage is not None:
            storage.close()
        if isinstance(store, RemoteKeyStore):
            store.close()


@click.group()
def keys() -> None:
    """Manage API keys. Once any key exists, ingest (/v1/traces) and the query API (/api/*)
    require 'Authorization: Bearer KEY', and each key reaches only its own project.

    Works on the collector's storage directly; while `spyglass serve` holds an embedded
    data directory, through that collector (its admin token is in the data directory)."""


@keys.command("create")
@click.option("--project", required=True, help="The project this key may write and read.")
@click.option("--name", default="", help="A label to tell keys apart (e.g. 'prod ingest').")
@_storage_options
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
@_storage_options
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


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns as wide as their longest cell, two spaces apart (so no value,
    however long, runs into the next column); the last column is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


@keys.command("revoke")
@click.argument("key_id")
@_storage_options
def revoke(key_id: str, data_dir: Path | None, clickhouse_url: str | None,
           url: str | None) -> None:
    """Revoke the key KEY_ID (as shown by `keys list`, or the full key)."""
    with _key_store(data_dir, clickhouse_url, url) as store:
        record = store.revoke(key_id)
    click.echo(f"revoked key {record.key_id} of project '{record.project}'")
