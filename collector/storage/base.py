"""The Storage interface both engines implement, and the parameter formatting they share."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import msgspec
from clickhouse_connect.driver.binding import format_bind_value

from common.timetext import ch_text

# Both engines run every statement with these settings: rows come back as JSONEachRow
# decoded identically on chDB and on a server, and FINAL keeps partition pruning (safe
# because spans' partition key is a function of its sorting key, so the copies of one
# span always share a partition).
SESSION_SETTINGS: dict[str, Any] = {
    "do_not_merge_across_partitions_select_final": 1,
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_64bit_floats": 0,
    "output_format_json_quote_decimals": 0,
    "output_format_json_named_tuples_as_objects": 1,
    "date_time_output_format": "simple",
}

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


class StorageError(RuntimeError):
    """ClickHouse rejected a statement or could not be reached; the message says which."""


class Storage(abc.ABC):
    """One ClickHouse SQL dialect over either engine.

    Parameters use ClickHouse's ``{name:Type}`` placeholders with a ``params`` dict on
    both engines. Query results are ``list[dict]`` decoded from JSONEachRow: integers
    and floats as numbers, DateTime64 as ``'YYYY-MM-DD hh:mm:ss.fff…'`` strings in UTC,
    arrays as lists. Every method is safe to call from several threads.
    """

    engine: str = ""

    @abc.abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT (or any statement returning rows) and return its rows as dicts."""

    @abc.abstractmethod
    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows (DDL, ALTER, INSERT … SELECT, SET)."""

    def insert_arrow(self, table: str, data: Any) -> None:
        """Insert a ``pyarrow.Table`` into the columns of ``table`` its schema names (in
        binary Arrow form: no text parsing), as one insert. Columns it does not name take
        their defaults."""
        raise NotImplementedError

    def insert(self, table: str, rows: list[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (dicts keyed by column name; missing columns get defaults)
        into ``table`` as one insert."""
        if rows:
            self.insert_json_lines(table, b"\n".join(_encoder.encode(r) for r in rows))

    @abc.abstractmethod
    def insert_json_lines(self, table: str, data: bytes) -> None:
        """Insert pre-encoded JSONEachRow ``data`` into ``table`` as one insert; the
        writer uses this to skip a second encoding pass."""

    def schema_statements(self, statement: str) -> list[str]:
        """The statements this engine runs for one single-node migration statement: itself,
        or its cluster form (collector/storage/cluster.py)."""
        return [statement]

    def mutation_target(self, table: str) -> str:
        """What follows ``ALTER TABLE`` for a mutation of ``table`` (the local tables of
        every shard on a cluster)."""
        return table

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise :class:`StorageError` unless ClickHouse answers a trivial query."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine (and the data-dir lock for chDB). Idempotent."""


def decode_rows(data: bytes) -> list[dict[str, Any]]:
    """Rows from JSONEachRow output."""
    return [_decoder.decode(line) for line in data.splitlines() if line]


def param_value(value: Any) -> Any:
    """Python value -> what both engines bind identically. Datetimes become UTC text with
    microseconds (clickhouse-connect would otherwise drop the fraction)."""
    if isinstance(value, datetime):
        return ch_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [param_value(v) for v in value]
    return value


def param_text(value: Any) -> str:
    """A parameter in ClickHouse's escaped text form, as chDB expects it."""
    return format_bind_value(param_value(value))


def arrow_stream(data: Any) -> tuple[str, bytes]:
    """``(column list, Arrow IPC stream bytes)`` of a ``pyarrow.Table`` for an
    ``INSERT INTO t (columns) FORMAT ArrowStream``."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    columns = ", ".join(f"`{name}`" for name in data.schema.names)
    return columns, sink.getvalue().to_pybytes()
