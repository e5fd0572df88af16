"""The embedded engine: chDB (ClickHouse in-process) over a local data directory."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collector.storage.base import (
    JSON_OUTPUT_SETTINGS,
    Storage,
    StorageError,
    decode_rows,
    param_text,
)
from collector.storage.lock import DataDirLock


class ChdbStorage(Storage):
    """ClickHouse in this process, data under ``data_dir`` (locked against other processes).

    chDB allows one data path per process; opening a second, different directory in the
    same process fails with a clear :class:`StorageError`.
    """

    engine = "chdb"

    def __init__(self, data_dir: Path) -> None:
        from chdb.session import Session

        self.data_dir = Path(data_dir).expanduser().resolve()
        self._lock = DataDirLock(self.data_dir)
        self._lock.acquire()
        self._close_lock = threading.Lock()
        try:
            self._session: Any = Session(str(self.data_dir / "clickhouse"))
            for name, value in JSON_OUTPUT_SETTINGS.items():
                self._session.query(f"SET {name} = {value!r}")
        except Exception as exc:
            self._lock.release()
            raise StorageError(f"cannot open chDB data directory {self.data_dir}: {exc}") from exc

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, str] | None:
        return {k: param_text(v) for k, v in params.items()} if params else None

    def _session_or_raise(self) -> Any:
        session = self._session
        if session is None:
            raise StorageError("storage is closed")
        return session

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts (see :class:`Storage`)."""
        session = self._session_or_raise()
        try:
            result = session.query(sql, "JSONEachRow", params=self._params(params))
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        return decode_rows(result.bytes())

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""
        session = self._session_or_raise()
        try:
            session.query(sql, "JSONEachRow", params=self._params(params))
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    def insert_json_lines(self, table: str, data: bytes) -> None:
        """One streaming insert of JSONEachRow ``data``; returns once the part is on disk."""
        session = self._session_or_raise()
        try:
            with session.send_insert(f"INSERT INTO {table}", "JSONEachRow") as inserter:
                inserter.append(data)
                inserter.finish()
        except Exception as exc:
            raise StorageError(f"insert into {table} failed: {exc}") from exc

    def ping(self) -> None:
        """Raise unless chDB answers ``SELECT 1``."""
        self.query("SELECT 1 AS ok")

    def close(self) -> None:
        """Close the session and release the data-dir lock."""
        with self._close_lock:
            session, self._session = self._session, None
            if session is not None:
                try:
                    session.close()
                finally:
                    self._lock.release()
