"""The server engine: a ClickHouse server or cluster through ``clickhouse-connect``."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from collector.storage.base import (
    SESSION_SETTINGS,
    Storage,
    StorageError,
    arrow_stream,
    decode_rows,
    param_value,
)

# Tables whose inserts carry a deduplication token (see insert_json_lines).
DEDUP_TOKEN_TABLES = frozenset({"spans"})


def parse_clickhouse_url(url: str) -> dict[str, Any]:
    """``clickhouse://user:pass@host:8123/db?secure=1`` (or http/https) -> client kwargs."""
    parsed = urlparse(url)
    if parsed.scheme not in ("clickhouse", "http", "https") or not parsed.hostname:
        raise StorageError(
            f"clickhouse URL {url!r} must look like http://user:password@host:8123/database"
        )
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    secure = parsed.scheme == "https" or query.pop("secure", "0").lower() in ("1", "true")
    kwargs: dict[str, Any] = {
        "host": parsed.hostname,
        "port": parsed.port or (8443 if secure else 8123),
        "username": unquote(parsed.username or "default"),
        "password": unquote(parsed.password or ""),
        "secure": secure,
    }
    database = parsed.path.strip("/")
    if database:
        kwargs["database"] = database
    return kwargs


class ClickHouseStorage(Storage):
    """A ClickHouse server over HTTP. Rows travel as JSONEachRow both ways so results
    match the chDB engine value for value.

    With ``cluster``, migrations create the sharded, replicated schema of
    collector/storage/cluster.py and every statement runs with its ``CLUSTER_SETTINGS``
    (acknowledged inserts are on a quorum of replicas and visible to the next read)."""

    engine = "clickhouse"

    def __init__(self, url: str, cluster: str | None = None) -> None:
        import clickhouse_connect

        from collector.storage.cluster import CLUSTER_SETTINGS, ClusterSchema

        self.url = url
        kwargs = parse_clickhouse_url(url)
        database = kwargs.pop("database", None)
        self.schema: ClusterSchema | None = None
        if cluster:
            self.schema = ClusterSchema(cluster, database or "default")
        self._settings = dict(SESSION_SETTINGS)
        if self.schema:
            self._settings.update(CLUSTER_SETTINGS)
        try:
            if database:
                # The database may not exist yet on a fresh server: create it first.
                bootstrap = clickhouse_connect.get_client(**kwargs)
                bootstrap.command(self.schema.create_database() if self.schema
                                  else f"CREATE DATABASE IF NOT EXISTS `{database}`")
                bootstrap.close()
                kwargs["database"] = database
            # clickhouse-connect clients are not safe for concurrent use; one per thread.
            self._kwargs = kwargs
            self._local = threading.local()
            self._clients: list[Any] = []
            self._clients_lock = threading.Lock()
            self._closed = False
            self._client()
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"cannot connect to ClickHouse at {_redact(url)}: {exc}") from exc

    def _client(self) -> Any:
        if self._closed:
            raise StorageError("storage is closed")
        client = getattr(self._local, "client", None)
        if client is None:
            import clickhouse_connect

            client = clickhouse_connect.get_client(
                **self._kwargs, settings=dict(self._settings), autogenerate_session_id=False
            )
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    @staticmethod
    def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return {k: param_value(v) for k, v in params.items()} if params else None

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts (see :class:`Storage`)."""
        try:
            data = self._client().raw_query(sql, parameters=self._params(params), fmt="JSONEachRow")
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        return decode_rows(data)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""
        try:
            self._client().command(sql, parameters=self._params(params))
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    def schema_statements(self, statement: str) -> list[str]:
        """``statement`` itself on one server, its cluster form with ``--cluster``."""
        return self.schema.rewrite(statement) if self.schema else [statement]

    def mutation_target(self, table: str) -> str:
        """``table``, or its local tables ``ON CLUSTER`` with ``--cluster``."""
        return self.schema.mutation_target(table) if self.schema else table

    def insert_json_lines(self, table: str, data: bytes) -> None:
        """One synchronous insert; the server acknowledges after writing the part.

        Span batches carry a deduplication token (a hash of the rows), so when the writer
        retries a batch whose first attempt did reach the server (a timeout after the
        write), replicated tables keep one copy: the rows' ``ingested_at`` default differs
        between attempts, so ClickHouse's own block hash would not match. Only tables whose
        rows are whole in the data get one: a re-inserted identical settings row must not
        vanish."""
        settings = None
        if table in DEDUP_TOKEN_TABLES:
            token = hashlib.sha256(table.encode() + b"\0" + data).hexdigest()
            settings = {"insert_deduplication_token": token}
        try:
            self._client().raw_insert(table, insert_block=data, fmt="JSONEachRow",
                                      settings=settings)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"insert into {table} failed: {exc}") from exc

    def insert_arrow(self, table: str, data: Any) -> None:
        """One synchronous insert of a ``pyarrow.Table``, sent as an Arrow IPC stream
        (binary columns the server reads without parsing text) with an explicit column
        list; span batches carry a deduplication token as in :meth:`insert_json_lines`."""
        _, payload = arrow_stream(data)
        settings = None
        if table in DEDUP_TOKEN_TABLES:
            token = hashlib.sha256(table.encode() + b"\0" + payload).hexdigest()
            settings = {"insert_deduplication_token": token}
        try:
            self._client().raw_insert(table, column_names=list(data.schema.names),
                                      insert_block=payload, fmt="ArrowStream",
                                      settings=settings)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"insert into {table} failed: {exc}") from exc

    def insert_raw(self, table: str, data: bytes, fmt: str) -> None:
        """Insert ``data`` already encoded in ``fmt`` (e.g. Native blocks from chDB)."""
        try:
            self._client().raw_insert(table, insert_block=data, fmt=fmt)
        except Exception as exc:
            raise StorageError(f"insert into {table} failed: {exc}") from exc

    def ping(self) -> None:
        """Raise unless the server answers ``SELECT 1``."""
        self.query("SELECT 1 AS ok")

    def close(self) -> None:
        """Close every per-thread client."""
        self._closed = True
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:
                pass


def _redact(url: str) -> str:
    """``url`` with its password replaced, for error messages and logs."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url
