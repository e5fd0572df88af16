"""Storage: one ClickHouse SQL dialect, two engines (chDB embedded, ClickHouse server).

``open_storage(settings)`` opens the engine the settings name and applies migrations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.storage.base import Storage, StorageError
from collector.storage.lock import DataDirLockedError

if TYPE_CHECKING:
    from collector.settings import Settings

__all__ = ["DataDirLockedError", "Storage", "StorageError", "open_storage"]


def open_storage(settings: Settings, migrate: bool = True) -> Storage:
    """chDB in ``settings.data_dir`` when ``settings.clickhouse_url`` is empty, else a
    ClickHouse server; pending migrations are applied unless ``migrate`` is False."""
    from collector.storage.migrations import migrate as apply_migrations

    storage: Storage
    if settings.clickhouse_url:
        from collector.storage.clickhouse_engine import ClickHouseStorage

        storage = ClickHouseStorage(settings.clickhouse_url, cluster=settings.cluster or None)
    else:
        if settings.cluster:
            from collector.settings import SettingsError

            raise SettingsError("--cluster needs --clickhouse-url: chDB is a single node")
        from collector.storage.chdb_engine import ChdbStorage

        storage = ChdbStorage(settings.data_dir)
    if migrate:
        try:
            apply_migrations(storage)
        except BaseException:
            storage.close()
            raise
    return storage
