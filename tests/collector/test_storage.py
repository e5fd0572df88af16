"""The storage layer on real chDB: parameters, inserts, errors, threads, migrations, the
spans schema, TTL and the trace-id lookup."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.settings import Settings
from collector.storage import Storage, StorageError, open_storage
from collector.storage.migrations import (
    applied_versions,
    load_migrations,
    migrate,
    split_statements,
)
from collector.storage.projects import ProjectSettings

CANONICAL_COLUMNS = ["project", "trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "duration_ms", "status", "error", "model", "provider", "input", "output", "input_tokens", "output_tokens", "total_tokens", "cached_tokens", "cost_usd", "user_id", "session_id", "tags", "metadata", "attributes", "events", "resource", "scope_name"]


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory):
    s = open_storage(Settings.load(env={}, data_dir=tmp_path_factory.mktemp("st") / "data"))
    yield s
    s.close()


def test_params_round_trip_every_type(storage: Storage):
    row = storage.query(
        "SELECT {s:String} AS s, {i:UInt64} AS i, {f:Float64} AS f, {a:Array(String)} AS a, "
        "{t:DateTime64(6, 'UTC')} AS t, {n:Nullable(String)} AS n, {b:Bool} AS b",
        {"s": "it's \\ a\ttab\nnewline", "i": 2**63, "f": 1.25, "a": ["x'y", "z"],
         "t": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), "n": None, "b": True},
    )
    assert row == [{"s": "it's \\ a\ttab\nnewline", "i": 2**63, "f": 1.25, "a": ["x'y", "z"],
                    "t": "2024-05-06 07:08:09.123456", "n": None, "b": True}]


def test_insert_command_and_query(storage: Storage):
    storage.command("CREATE TABLE t_ins (k String, v UInt32, tags Array(String)) "
                    "ENGINE = MergeTree ORDER BY k")
    storage.insert("t_ins", [{"k": "a", "v": 1, "tags": ["x"]}, {"k": "b", "v": 2}])
    assert storage.query("SELECT * FROM t_ins ORDER BY k") == [
        {"k": "a", "v": 1, "tags": ["x"]}, {"k": "b", "v": 0 + 2, "tags": []}]
    storage.command("ALTER TABLE t_ins DELETE WHERE k = {k:String} SETTINGS mutations_sync = 1",
                    {"k": "a"})
    assert [r["k"] for r in storage.query("SELECT k FROM t_ins")] == ["b"]


def test_errors_are_storage_errors_naming_the_problem(storage: Storage):
    with pytest.raises(StorageError, match="no_such_table"):
        storage.query("SELECT * FROM no_such_table")
    with pytest.raises(StorageError, match="insert into t_missing failed"):
        storage.insert("t_missing", [{"a": 1}])


def test_concurrent_use_from_threads(storage: Storage):
    storage.command("CREATE TABLE t_thr (n UInt32) ENGINE = MergeTree ORDER BY n")

    def work(i: int) -> int:
        storage.insert("t_thr", [{"n": i}])
        return storage.query("SELECT {i:UInt32} * 2 AS x", {"i": i})[0]["x"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(64))) == [i * 2 for i in range(64)]
    assert storage.query("SELECT count() AS c, sum(n) AS s FROM t_thr") == [{"c": 64, "s": sum(range(64))}]


def test_migrations_are_recorded_and_idempotent(storage: Storage):
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions) and versions[:3] == [1, 2, 3]
    assert applied_versions(storage) == set(versions)
    assert migrate(storage) == []
    assert storage.query("SELECT count() AS c FROM spyglass_migrations FINAL")[0]["c"] == len(versions)


def test_migration_runner_order_and_bad_names(storage: Storage, tmp_path: Path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "0002_second.sql").write_text("INSERT INTO t_order VALUES (2);\n")
    (d / "0001_first.sql").write_text(
        "-- comment line\nCREATE TABLE IF NOT EXISTS t_order (n UInt8) ENGINE = MergeTree ORDER BY n;\n"
        "INSERT INTO t_order VALUES (1);\n")
    assert migrate(storage, d) == []  # 0001/0002 are already recorded by the real migrations
    storage.command("CREATE TABLE mig_probe (x UInt8) ENGINE = Memory")
    d2 = tmp_path / "m2"
    d2.mkdir()
    (d2 / "9001_a.sql").write_text("INSERT INTO mig_probe VALUES (1);")
    (d2 / "9002_b.sql").write_text("INSERT INTO mig_probe SELECT max(x) + 1 FROM mig_probe;")
    assert migrate(storage, d2) == [9001, 9002]
    assert migrate(storage, d2) == []
    assert [r["x"] for r in storage.query("SELECT x FROM mig_probe ORDER BY x")] == [1, 2]
    (d2 / "bad-name.sql").write_text("SELECT 1")
    with pytest.raises(StorageError, match=r"bad-name\.sql"):
        load_migrations(d2)
    (d2 / "bad-name.sql").unlink()
    (d2 / "9003_broken.sql").write_text("CREATE TABLE nope (")
    with pytest.raises(StorageError, match="9003_broken failed"):
        migrate(storage, d2)
    assert 9003 not in applied_versions(storage)


def test_split_statements():
    sql = "-- c\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 'a;b';\nSELECT 2"
    assert split_statements(sql) == ["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 'a;b'", "SELECT 2"]


def test_spans_schema_has_the_canonical_columns(storage: Storage):
    cols = {r["name"]: r for r in storage.query(
        "SELECT name, type, compression_codec FROM system.columns "
        "WHERE database = currentDatabase() AND table = 'spans'")}
    assert set(CANONICAL_COLUMNS) <= set(cols)
    assert cols["tags"]["type"] == "Array(LowCardinality(String))"
    assert cols["start_time"]["type"] == "DateTime64(9, 'UTC')"
    for big in ("input", "output", "attributes", "events", "metadata", "resource", "error"):
        assert "ZSTD" in cols[big]["compression_codec"], big
    (table,) = storage.query("SELECT engine, sorting_key FROM system.tables "
                             "WHERE database = currentDatabase() AND name = 'spans'")
    assert table["engine"] == "ReplacingMergeTree"
    assert table["sorting_key"].startswith("project, toStartOfHour(start_time), trace_id, span_id")


def span_row(project: str, trace_id: str, span_id: str, start: str, **extra) -> dict:
    return {"project": project, "trace_id": trace_id, "span_id": span_id, "name": "s",
            "start_time": start, "end_time": start, **extra}


def test_trace_lookup_reads_only_its_project_and_time_range(storage: Storage):
    # Three months of spans in two projects: three partitions, many parts.
    for month in (1, 2, 3):
        storage.insert("spans", [
            span_row(p, f"{month:02d}{i:030x}", f"{i:016x}", f"2024-{month:02d}-10 12:00:00")
            for p in ("lk-a", "lk-b") for i in range(1, 200)])
    target = f"02{5:030x}"
    found = storage.query(
        "SELECT project, min(start_min) AS lo, max(start_max) AS hi FROM trace_index "
        "WHERE trace_id = {t:String} GROUP BY project ORDER BY project", {"t": target})
    assert [r["project"] for r in found] == ["lk-a", "lk-b"]
    loc = found[0]
    assert loc["lo"] == loc["hi"] == "2024-02-10 12:00:00.000000000"
    sql = ("SELECT span_id FROM spans FINAL WHERE project = {p:String} AND trace_id = {t:String} "
           "AND start_time BETWEEN {lo:DateTime64(9, 'UTC')} AND {hi:DateTime64(9, 'UTC')}")
    params = {"p": loc["project"], "t": target, "lo": loc["lo"], "hi": loc["hi"]}
    assert storage.query(sql, params) == [{"span_id": f"{5:016x}"}]
    plan = "\n".join(r["explain"] for r in storage.query(f"EXPLAIN indexes = 1 {sql}", params))
    # Even with FINAL, partition pruning keeps only February's part, and the primary key
    # one granule of it.
    selected, total = (int(x) for x in re.search(r"Min-Max.*?Parts: (\d+)/(\d+)", plan, re.S).groups())
    assert selected == 1 and total >= 3, plan
    granules = re.search(r"PrimaryKey.*?Granules: (\d+)/(\d+)", plan, re.S).groups()
    assert granules[0] == "1", plan


def test_project_ttl_is_stamped_and_expires_old_spans(storage: Storage):
    ps = ProjectSettings(storage, default_ttl_days=0, cache_s=0)
    assert ps.ttl_days("ttl-p") == 0
    storage.insert("spans", [span_row("ttl-p", "aa" * 16, "01" * 8, "2020-01-01 00:00:00"),
                             span_row("ttl-p", "aa" * 16, "02" * 8, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")),
                             span_row("ttl-q", "bb" * 16, "03" * 8, "2020-01-01 00:00:00")])
    ps.set_ttl_days("ttl-p", 30)
    assert ps.ttl_days("ttl-p") == 30
    storage.command("OPTIMIZE TABLE spans FINAL")
    left = storage.query("SELECT project, span_id, ttl_days FROM spans FINAL "
                         "WHERE project IN ('ttl-p', 'ttl-q') ORDER BY project, span_id")
    assert left == [{"project": "ttl-p", "span_id": "02" * 8, "ttl_days": 30},
                    {"project": "ttl-q", "span_id": "03" * 8, "ttl_days": 0}]
    with pytest.raises(StorageError, match="ttl_days"):
        ps.set_ttl_days("ttl-p", -1)


def test_data_dir_lock_names_path_and_pid(storage: Storage, tmp_path: Path):
    from collector.storage.lock import DataDirLock, DataDirLockedError

    held = DataDirLock(tmp_path)
    held.acquire()
    try:
        with pytest.raises(DataDirLockedError) as err:
            DataDirLock(tmp_path).acquire()
        assert str(tmp_path) in str(err.value) and f"pid {os.getpid()}" in str(err.value)
    finally:
        held.release()
    DataDirLock(tmp_path).acquire()  # free again


def test_json_text_columns_hold_json(storage: Storage):
    storage.insert("spans", [span_row("js", "cc" * 16, "04" * 8, "2024-01-01 00:00:00",
                                      attributes=json.dumps({"a": 1}))])
    (row,) = storage.query("SELECT attributes, metadata, events, cost_usd FROM spans WHERE project = 'js'")
    assert json.loads(row["attributes"]) == {"a": 1}
    assert row["cost_usd"] is None


_FEEDBACK_UPGRADE = r"""
import shutil, sys
from pathlib import Path
from collector.settings import Settings
from collector.storage import open_storage
from collector.storage.migrations import MIGRATIONS_DIR, migrate
tmp = Path(sys.argv[1])
old = tmp / "old"
old.mkdir()
for path in MIGRATIONS_DIR.glob("*.sql"):
    if int(path.name[:4]) <= 51:
        shutil.copy(path, old / path.name)
storage = open_storage(Settings.load(env={}, data_dir=tmp / "data"), migrate=False)
migrate(storage, old)
row = {"id": "a1", "project": "p", "trace_id": "t", "span_id": "", "name": "n", "value_type": "number",
       "value_number": 1.0, "value_string": "", "source": "human", "author": "", "comment": "",
       "metadata": "", "created_at": "2026-01-01 00:00:00.000000"}
storage.insert("feedback", [row, {**row, "id": "b2"}])
assert 52 in migrate(storage)
engine = storage.query("SELECT engine FROM system.tables WHERE database = currentDatabase() "
                       "AND name = 'feedback'")[0]["engine"]
storage.insert("feedback", [{**row, "created_at": "2026-01-02 00:00:00.000000"}])
ids = [r["id"] for r in storage.query("SELECT id FROM feedback FINAL ORDER BY id")]
print(engine, ids)
storage.close()
"""


def test_feedback_upgrade_keeps_rows_and_folds_a_reposted_id(tmp_path: Path):
    """0052 rebuilds feedback as a ReplacingMergeTree keyed by id: rows stored before the
    upgrade survive, and a second row with the same id is folded (in a subprocess: chDB
    allows one data directory per process)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FEEDBACK_UPGRADE, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "ReplacingMergeTree ['a1', 'b2']"
