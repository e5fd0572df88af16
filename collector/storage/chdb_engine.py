"""The embedded engine: chDB (ClickHouse in-process) over a local data directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from collector.storage.base import (
    SESSION_SETTINGS,
    Storage,
    StorageError,
    arrow_stream,
    decode_rows,
    param_text,
)
from collector.storage.lock import DataDirLock

# Connections open at most for concurrent queries; more callers wait for a free one.
MAX_QUERY_CONNECTIONS = 4
# The insert connection's own settings. An ingest insert is a few thousand rows, which
# one thread writes faster than a pipeline of threads is set up (~15% less CPU per span
# for 2,000-row inserts into ``spans``), and JIT-compiling the sort key and the
# trace_index view's aggregation cost ~15-25 ms of CPU per insert in chDB (system.events
# CompileExpressionsMicroseconds): more than writing 1,000 rows. Measured per 1,000-row
# insert: 42 ms of process CPU with the defaults, 28 ms with these.
INSERT_SETTINGS = {"max_threads": 1, "max_insert_threads": 1,
                   "input_format_parallel_parsing": 0, "compile_expressions": 0,
                   "compile_aggregate_expressions": 0, "compile_sort_description": 0}

# chDB's own defaults are sized for a dedicated server: a memory limit of 90% of RAM and
# 5 GiB for each of the mark and primary-index caches. Embedded in a collector, whose
# RSS should stay under 1.5 GB (issue 14), ClickHouse gets a memory budget instead:
# aggregations spill to disk at half of it (max_bytes_ratio_before_external_group_by),
# and a query that would exceed it fails with MEMORY_LIMIT_EXCEEDED rather than growing
# the process. SPYGLASS_CHDB_MEMORY_MB raises or lowers the budget (docs/deployment.md).
DEFAULT_MEMORY_MB = 1024
SERVER_SETTINGS = {"mark_cache_size": 256 << 20, "primary_index_cache_size": 128 << 20}


def server_settings(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """chDB server settings for this process (passed in the connection string)."""
    raw = (os.environ if env is None else env).get("SPYGLASS_CHDB_MEMORY_MB", "").strip()
    try:
        memory_mb = int(raw) if raw else DEFAULT_MEMORY_MB
    except ValueError:
        raise StorageError(f"SPYGLASS_CHDB_MEMORY_MB must be a whole number of MiB, got {raw!r}") from None
    return {**SERVER_SETTINGS, "max_server_memory_usage": max(256, memory_mb) << 20}


class ChdbStorage(Storage):
    """ClickHouse in this process, data under ``data_dir`` (locked against other processes).

    A chDB connection is not safe for concurrent statements (query parameters of one
    caller leak into another's), and runs nothing else while a streaming insert is open.
    So queries borrow a connection from a small pool, and inserts use their own connection
    under a lock: readers never wait behind a batch being written, nor see another's
    parameters. chDB allows one data path per process at a time; opening a second, different
    directory while one is open fails with a clear :class:`StorageError`.
    """

    engine = "chdb"

    def __init__(self, data_dir: Path, max_query_connections: int = MAX_QUERY_CONNECTIONS) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        settings = server_settings()  # a bad SPYGLASS_CHDB_MEMORY_MB fails before the lock is taken
        self._lock = DataDirLock(self.data_dir)
        self._lock.acquire()
        self._path = str(self.data_dir / "clickhouse") + "?" + urlencode(settings)
        self._idle: list[Any] = []
        self._all: list[Any] = []
        self._pool_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_query_connections)
        self._insert_lock = threading.Lock()
        self._closed = False
        try:
            self._idle.append(self._connect())
            self._insert_session = self._connect()
            for name, value in INSERT_SETTINGS.items():
                self._insert_session.query(f"SET {name} = {value!r}")
        except Exception as exc:
            self._close_all()
            self._lock.release()
            raise StorageError(f"cannot open chDB data directory {self.data_dir}: {exc}") from exc

    def _connect(self) -> Any:
        from chdb.session import Session

        session = Session(self._path)
        for name, value in SESSION_SETTINGS.items():
            session.query(f"SET {name} = {value!r}")
        with self._pool_lock:
            self._all.append(session)
        return session

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._closed:
            raise StorageError("storage is closed")
        self._slots.acquire()
        try:
            with self._pool_lock:
                session = self._idle.pop() if self._idle else None
            if session is None:
                session = self._connect()
            try:
                yield session
            finally:
                with self._pool_lock:
                    self._idle.append(session)
        finally:
            self._slots.release()

    @staticmethod
    def _params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
        return {k: param_text(v) for k, v in params.items()} if params else None

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts (see :class:`Storage`)."""
        with self._connection() as session:
            try:
                result = session.query(sql, "JSONEachRow", params=self._params(params))
            except Exception as exc:
                raise StorageError(str(exc)) from exc
            return decode_rows(result.bytes())

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""
        with self._connection() as session:
            try:
                session.query(sql, "JSONEachRow", params=self._params(params))
            except Exception as exc:
                raise StorageError(str(exc)) from exc

    def stream(self, sql: str, fmt: str = "Native") -> Iterator[bytes]:
        """The result of ``sql`` in ``fmt``, block by block (``spyglass migrate`` copies
        tables larger than memory this way)."""
        with self._connection() as session:
            try:
                for chunk in session.send_query(sql, fmt):
                    data = chunk.bytes()
                    if data:
                        yield data
            except Exception as exc:
                raise StorageError(str(exc)) from exc

    def insert_json_lines(self, table: str, data: bytes) -> None:
        """One streaming insert of JSONEachRow ``data``; returns once the part is written
        to the data directory (it survives the process being killed from then on)."""
        with self._insert_lock:
            if self._closed:
                raise StorageError("storage is closed")
            try:
                with self._insert_session.send_insert(f"INSERT INTO {table}", "JSONEachRow") as ins:
                    ins.append(data)
                    ins.finish()
            except Exception as exc:
                raise StorageError(f"insert into {table} failed: {exc}") from exc

    def insert_arrow(self, table: str, data: Any) -> None:
        """One insert of a ``pyarrow.Table`` as an Arrow IPC stream (chDB reads it
        column by column, ~5x cheaper than parsing the same rows as JSONEachRow); durable
        once it returns, like :meth:`insert_json_lines`."""
        columns, payload = arrow_stream(data)
        with self._insert_lock:
            if self._closed:
                raise StorageError("storage is closed")
            try:
                with self._insert_session.send_insert(
                        f"INSERT INTO {table} ({columns})", "ArrowStream") as ins:
                    ins.append(payload)
                    ins.finish()
            except Exception as exc:
                raise StorageError(f"insert into {table} failed: {exc}") from exc

    def ping(self) -> None:
        """Raise unless chDB answers ``SELECT 1``."""
        self.query("SELECT 1 AS ok")

    def _close_all(self) -> None:
        with self._pool_lock:
            sessions, self._all, self._idle = self._all, [], []
        for session in sessions:
            try:
                session.close()
            except Exception:
                pass

    def close(self) -> None:
        """Close every connection and release the data-dir lock (idempotent). Waits for
        running statements to finish."""
        with self._insert_lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(MAX_QUERY_CONNECTIONS):
            self._slots.acquire(timeout=30)
        try:
            self._close_all()
        finally:
            self._lock.release()
