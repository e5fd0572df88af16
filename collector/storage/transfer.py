"""``spyglass migrate --to URL``: move an embedded chDB data dir into a ClickHouse server or
cluster, verifying every table, and safe to run again.

For each table of the data dir (spans, feedback, keys, datasets, eval runs, project
settings, anything a later migration adds):

1. its rows stream out of chDB as Native blocks (ClickHouse's own column encoding, so
   every type round-trips exactly) into a staging table on the server;
2. ``INSERT INTO table SELECT * FROM staging WHERE <row hash> NOT IN (SELECT <row hash>
   FROM table)`` adds the rows the server does not hold yet; a second run adds nothing;
3. the staged rows missing from the table are counted (must be 0), and row counts and
   checksums of both sides are compared.

ReplacingMergeTree tables are read ``FINAL`` on both sides: a superseded copy of a row
(an older version of a re-sent span, a key before its revocation) is garbage awaiting a
merge, and which copies survive depends on merge timing; what readers see must match.
``trace_index`` is not copied: the materialized view fills it on the server as spans are
inserted; its aggregated content is compared instead. ``spyglass_migrations`` is not
copied either: the server records its own.

The row hash is ``sipHash128(formatRowNoNewline('RowBinary', *))``: every column's exact
bytes (NULLs included, which a hash of the columns themselves would turn into NULL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collector.storage.base import Storage, StorageError
from collector.storage.cluster import LOCAL_SUFFIX, SHARD_KEYS

if TYPE_CHECKING:
    from collector.storage.chdb_engine import ChdbStorage
    from collector.storage.clickhouse_engine import ClickHouseStorage

log = logging.getLogger("spyglass.migrate")

ROW = "formatRowNoNewline('RowBinary', *)"
ROW_HASH = f"sipHash128({ROW})"
DIGEST = f"count() AS rows, toString(sum(cityHash64({ROW}))) AS checksum"
# Tables filled on the server by a materialized view: compared, never copied.
DERIVED: dict[str, str] = {
    "trace_index": (
        "SELECT trace_id, project, min(start_min) AS start_min, max(start_max) AS start_max, "
        "max(ttl_days) AS ttl_days FROM trace_index GROUP BY trace_id, project"),
    # The rollups (0013, 0014) compared by what does not depend on how spans were batched
    # nor on re-stored copies (the copy reads spans FINAL): distinct spans and traces.
    "span_minutes": (
        "SELECT project, minute, uniqExactMerge(span_keys) AS spans, "
        "uniqExactMerge(trace_keys) AS traces, min(first_start) AS first_start, "
        "max(last_start) AS last_start, max(ttl_days) AS ttl_days FROM span_minutes "
        "GROUP BY project, minute"),
    "span_rollup": (
        "SELECT project, minute, name, kind, model, provider, status, "
        "uniqExactMerge(trace_keys) AS traces FROM span_rollup "
        "GROUP BY project, minute, name, kind, model, provider, status"),
}
SKIPPED = frozenset({"spyglass_migrations"})
STAGING_PREFIX = "_spyglass_migrate_"


@dataclass
class TableReport:
    """What happened to one table."""

    table: str
    source_rows: int
    source_checksum: str
    dest_rows: int
    dest_checksum: str
    copied: int  # rows added to the server by this run
    missing: int  # source rows still absent from the server (must be 0)
    derived: bool = False

    @property
    def identical(self) -> bool:
        """The server holds exactly the source's rows (same count and checksum)."""
        return (self.source_rows, self.source_checksum) == (self.dest_rows, self.dest_checksum)

    @property
    def ok(self) -> bool:
        """Every source row is on the server (it may hold more, e.g. new live spans)."""
        return self.missing == 0 and (self.identical or not self.derived)


def _tables(storage: Storage) -> dict[str, str]:
    rows = storage.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
        "AND engine LIKE '%MergeTree' AND NOT startsWith(name, '.') ORDER BY name")
    return {r["name"]: r["engine"] for r in rows}


def _read(table: str, engine: str) -> str:
    """``table`` as readers see it: FINAL for ReplacingMergeTree tables."""
    return f"{table} FINAL" if "ReplacingMergeTree" in engine else table


def _digest(storage: Storage, source: str) -> tuple[int, str]:
    row = storage.query(f"SELECT {DIGEST} FROM {source}")[0]
    return int(row["rows"]), str(row["checksum"])


def migrate_data_dir(data_dir: Path, url: str, cluster: str | None = None,
                     progress: Callable[[str], None] | None = None) -> list[TableReport]:
    """Copy every table of the chDB data dir ``data_dir`` into the ClickHouse server at
    ``url`` (``cluster``: its sharded schema) and verify it; returns one report per table.
    Raises :class:`~collector.storage.DataDirLockedError` while a collector holds the dir."""
    from collector.storage.chdb_engine import ChdbStorage
    from collector.storage.clickhouse_engine import ClickHouseStorage
    from collector.storage.migrations import migrate

    say = progress or log.info
    source = ChdbStorage(data_dir)
    try:
        migrate(source)  # the source at the latest schema too, so columns line up
        dest = ClickHouseStorage(url, cluster=cluster)
        try:
            migrate(dest)
            return _copy_all(source, dest, say)
        finally:
            dest.close()
    finally:
        source.close()


def _copy_all(source: ChdbStorage, dest: ClickHouseStorage,
              say: Callable[[str], None]) -> list[TableReport]:
    source_tables = _tables(source)
    dest_tables = _tables(dest) if dest.schema is None else None
    reports: list[TableReport] = []
    for table, engine in source_tables.items():
        if table in SKIPPED or table.startswith(STAGING_PREFIX) or table in DERIVED:
            continue
        if dest_tables is not None and table not in dest_tables:
            raise StorageError(f"the server has no table {table}: is it running an older "
                               "Spyglass schema?")
        reports.append(_copy_table(source, dest, table, engine, say))
    for table, select in DERIVED.items():
        if table in source_tables:
            s_rows, s_sum = _digest(source, f"({select})")
            d_rows, d_sum = _digest(dest, f"({select})")
            reports.append(TableReport(table, s_rows, s_sum, d_rows, d_sum, 0,
                                       0 if (s_rows, s_sum) == (d_rows, d_sum) else 1,
                                       derived=True))
            say(f"{table}: {d_rows} rows built by its materialized view, "
                f"{'identical' if reports[-1].identical else 'DIFFERENT'}")
    return reports


def _copy_table(source: ChdbStorage, dest: ClickHouseStorage, table: str, engine: str,
                say: Callable[[str], None]) -> TableReport:
    staging = f"{STAGING_PREFIX}{table}"
    # The staging table lives on the node this URL reaches; on a cluster it copies the
    # structure of the local table (a Distributed table has no storage of its own).
    like = f"{table}{LOCAL_SUFFIX}" if dest.schema and table in SHARD_KEYS else table
    dest.command(f"DROP TABLE IF EXISTS {staging}")
    dest.command(f"CREATE TABLE {staging} AS {like} ENGINE = MergeTree ORDER BY tuple()")
    try:
        staged = 0
        for block in source.stream(f"SELECT * FROM {_read(table, engine)}", "Native"):
            dest.insert_raw(staging, block, "Native")
        staged = int(dest.query(f"SELECT count() AS n FROM {staging}")[0]["n"])
        before = int(dest.query(f"SELECT count() AS n FROM {table}")[0]["n"])
        dest.command(f"INSERT INTO {table} SELECT * FROM {staging} WHERE {ROW_HASH} NOT IN "
                     f"(SELECT {ROW_HASH} FROM {table})")
        after = int(dest.query(f"SELECT count() AS n FROM {table}")[0]["n"])
        missing = int(dest.query(
            f"SELECT count() AS n FROM {staging} WHERE {ROW_HASH} NOT IN "
            f"(SELECT {ROW_HASH} FROM {table})")[0]["n"])
    finally:
        dest.command(f"DROP TABLE IF EXISTS {staging}")
    s_rows, s_sum = _digest(source, _read(table, engine))
    d_rows, d_sum = _digest(dest, _read(table, engine))
    report = TableReport(table, s_rows, s_sum, d_rows, d_sum, after - before, missing)
    verdict = ("identical" if report.identical else f"MISSING {missing}" if missing
               else "all copied; the server holds more")
    say(f"{table}: {staged} rows read, {report.copied} copied, {d_rows} on the server, {verdict}")
    return report
