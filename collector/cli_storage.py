"""How admin commands (`spyglass keys`, `spyglass projects`) reach the collector's storage:
directly, or, while `spyglass serve` holds the embedded data directory (one process per
chDB directory), through that collector's admin routes with its admin token."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx

from collector.auth import ADMIN_HEADER, AuthError, read_admin_token
from collector.settings import Settings, SettingsError
from collector.storage import DataDirLockedError, Storage, StorageError, open_storage
from common import endpoint


def fail(message: str) -> None:
    """Print one line on stderr and exit 1."""
    click.echo(f"spyglass: error: {message}", err=True)
    sys.exit(1)


def storage_options(func: Any) -> Any:
    """``--data-dir``, ``--clickhouse-url`` and ``--url`` for a command that needs storage."""
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


class AdminClient:
    """Calls a running collector's ``/api/admin/*`` routes with its admin token; every
    failure is an :class:`AuthError` with a one-line message."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=30, headers={ADMIN_HEADER: token})

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of ``method path``."""
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

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def local_url(settings: Settings, url: str | None) -> str:
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
def storage_or_collector(data_dir: Path | None, clickhouse_url: str | None, url: str | None,
                         what: str) -> Iterator[Storage | AdminClient]:
    """The collector's storage, or an :class:`AdminClient` of the running collector that
    holds the embedded data directory; one-line errors (exit 1) for the usual problems.
    ``what`` names the task in the message when neither is reachable ("Manage keys")."""
    target: Storage | AdminClient | None = None
    try:
        if data_dir is None and not os.environ.get("SPYGLASS_DATA_DIR") and not clickhouse_url \
                and not os.environ.get("SPYGLASS_CLICKHOUSE_URL"):
            # No data dir given: the one of the `spyglass serve` running on this machine.
            found = endpoint.served()
            if found and found.data_dir:
                data_dir = Path(found.data_dir)
        settings = Settings.load(data_dir=data_dir, clickhouse_url=clickhouse_url)
        try:
            target = open_storage(settings)
        except DataDirLockedError as exc:
            token = read_admin_token(settings.data_dir)
            if token is None:
                fail(f"{exc}. {what} while `spyglass serve` is stopped, or through it "
                     "once it has written its admin token.")
                return
            target = AdminClient(local_url(settings, url), token)
    except (SettingsError, StorageError) as exc:
        fail(str(exc))
        return
    try:
        yield target
    except (AuthError, StorageError) as exc:
        fail(str(exc))
    finally:
        target.close()


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns as wide as their longest cell, two spaces apart (so no value,
    however long, runs into the next column); the last column is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)
