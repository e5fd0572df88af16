"""The cluster schema (``--cluster NAME``): every migration rewritten ON CLUSTER into
replicated local tables with Distributed tables over them, checked by ClickHouse's own
parser (``EXPLAIN AST`` on the test server, i.e. chDB) and for the properties Spyglass
relies on: one trace on one shard, the single-node indexes and sort keys, the view on the
local tables, mutations on the local tables."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
import pytest

from collector.storage.base import StorageError
from collector.storage.cluster import CLUSTER_SETTINGS, SHARD_KEYS, ClusterSchema
from collector.storage.migrations import load_migrations
from tests.conftest import REPO_ROOT

SCHEMA = ClusterSchema("spyglass_cluster", "spyglass")


def _all_statements() -> list[str]:
    out = SCHEMA.rewrite(
        "CREATE TABLE IF NOT EXISTS spyglass_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree(applied_at) ORDER BY version")
    for migration in load_migrations():
        for statement in migration.statements:
            out.extend(SCHEMA.rewrite(statement))
    return out


@pytest.fixture(scope="module")
def parser(clickhouse) -> Any:
    u = urlparse(clickhouse.url)
    client = clickhouse_connect.get_client(host=u.hostname, port=u.port, username=u.username,
                                           password=u.password or "")
    yield client
    client.close()


def test_every_cluster_statement_parses_as_clickhouse_ddl(parser) -> None:
    statements = _all_statements()
    assert len(statements) >= 20
    for statement in statements:
        ast = parser.raw_query(f"EXPLAIN AST {statement}", fmt="TabSeparated").decode()
        # Migrations that upgrade a table in place are ALTERs (0010 adds spans.duplicate_of)
        # or a copy, RENAME and DROP (0052 rebuilds feedback); the copy reads and writes
        # Distributed tables, so it runs once from one node, without ON CLUSTER.
        first = statement.split()[0]
        kind = {"ALTER": "AlterQuery", "INSERT": "InsertQuery", "RENAME": "Rename",
                "DROP": "DropQuery"}.get(first, "CreateQuery")
        assert kind in ast, (statement, ast)
        if first != "INSERT":
            assert "ON CLUSTER spyglass_cluster" in statement


def test_sharded_tables_are_replicated_locals_under_distributed_tables() -> None:
    statements = _all_statements()
    by_name: dict[str, list[str]] = {}
    for statement in statements:
        if statement.split()[0] in ("ALTER", "INSERT", "RENAME", "DROP"):
            continue  # in-place upgrades: column changes (below) and 0052's rebuild
        name = re.match(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", statement)
        assert name, statement
        by_name.setdefault(name.group(1), []).append(statement)
    for table, key in SHARD_KEYS.items():
        if table == "feedback_pre_dedup":
            continue  # only ever a renamed local table (0052), checked below
        (local,) = by_name[f"{table}_local"]
        assert re.search(r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/"
                         rf"\{{database\}}/{table}_local', '\{{replica\}}'", local), local
        (dist,) = by_name[table]
        assert dist.endswith(f"ENGINE = Distributed(spyglass_cluster, spyglass, {table}_local, "
                             f"{key})")
    alters = [st for st in statements if st.startswith("ALTER TABLE")]
    # 0010 adds spans.duplicate_of, 0012 three skip indexes (added, then materialized for
    # the parts already stored: index changes go to the local tables only), 0120
    # eval_runs.chain_head
    assert [st.split()[2] for st in alters] == [
        "spans_local", "spans", *["spans_local"] * 6, "eval_runs_local", "eval_runs"]
    assert all(" ON CLUSTER spyglass_cluster " in st for st in alters)
    # The rollups' views read each shard's own spans and write its local rollup table.
    for view, target in (("span_minutes_mv", "span_minutes_local"),
                         ("span_rollup_mv", "span_rollup_local")):
        (mv,) = by_name[view]
        assert f"TO {target} AS" in mv and "FROM spans_local" in mv, mv
    # One trace on one shard: spans, its index and its feedback share the shard key.
    assert SHARD_KEYS["spans"] == SHARD_KEYS["trace_index"] == SHARD_KEYS["feedback"] == (
        "cityHash64(trace_id)")
    # The single-node sort key, partitioning, TTL and skip index stay on the local tables.
    (spans,) = by_name["spans_local"]
    assert "ReplicatedReplacingMergeTree(" in spans and spans.rstrip().endswith(
        "'{replica}', ingested_at)\nPARTITION BY toYYYYMM(start_time)\n"
        "ORDER BY (project, toStartOfHour(start_time), trace_id, span_id)\n"
        "TTL toDateTime(start_time) + toIntervalDay(ttl_days) DELETE WHERE ttl_days > 0\n"
        "SETTINGS index_granularity = 8192")
    (feedback,) = by_name["feedback_local"]
    assert "INDEX feedback_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1" in feedback
    # Small tables every node needs whole: replicated everywhere, no Distributed table.
    for table in ("api_keys", "project_settings", "spyglass_migrations"):
        (only,) = by_name[table]
        assert f"'/clickhouse/tables/all/{{database}}/{table}'" in only
        assert f"{table}_local" not in by_name
    # The trace index view reads and writes the local tables of its own shard.
    (view,) = by_name["trace_index_mv"]
    assert "TO trace_index_local AS" in view and "FROM spans_local" in view


def test_mutations_and_alters_go_to_the_local_tables() -> None:
    assert SCHEMA.mutation_target("spans") == "spans_local ON CLUSTER spyglass_cluster"
    assert SCHEMA.mutation_target("api_keys") == "api_keys ON CLUSTER spyglass_cluster"
    assert SCHEMA.rewrite("ALTER TABLE spans ADD COLUMN IF NOT EXISTS x String") == [
        "ALTER TABLE spans_local ON CLUSTER spyglass_cluster ADD COLUMN IF NOT EXISTS x String",
        "ALTER TABLE spans ON CLUSTER spyglass_cluster ADD COLUMN IF NOT EXISTS x String"]
    assert SCHEMA.rewrite("ALTER TABLE spans UPDATE ttl_days = 1 WHERE 1") == [
        "ALTER TABLE spans_local ON CLUSTER spyglass_cluster UPDATE ttl_days = 1 WHERE 1"]
    with pytest.raises(StorageError, match="no cluster form"):
        SCHEMA.rewrite("TRUNCATE TABLE spans")
    # DROP of a sharded table drops its Distributed table and its local tables.
    assert SCHEMA.rewrite("DROP TABLE IF EXISTS spans") == [
        "DROP TABLE IF EXISTS spans ON CLUSTER spyglass_cluster",
        "DROP TABLE IF EXISTS spans_local ON CLUSTER spyglass_cluster"]


def test_the_feedback_rebuild_moves_local_tables_and_keeps_one_distributed_per_local() -> None:
    # 0052: feedback -> feedback_pre_dedup, feedback_dedup -> feedback. The Distributed
    # `feedback` reads `feedback_local` by name, so renaming the locals is what moves data.
    assert SCHEMA.rewrite(
        "RENAME TABLE feedback TO feedback_pre_dedup, feedback_dedup TO feedback") == [
        "RENAME TABLE feedback_local TO feedback_pre_dedup_local, feedback_dedup_local TO "
        "feedback_local ON CLUSTER spyglass_cluster",
        "DROP TABLE IF EXISTS feedback_dedup ON CLUSTER spyglass_cluster",
        "CREATE TABLE IF NOT EXISTS feedback_pre_dedup ON CLUSTER spyglass_cluster AS "
        "feedback_pre_dedup_local\nENGINE = Distributed(spyglass_cluster, spyglass, "
        "feedback_pre_dedup_local, cityHash64(trace_id))"]
    with pytest.raises(StorageError, match="sharded and an unsharded"):
        SCHEMA.rewrite("RENAME TABLE feedback TO api_keys_old")
    with pytest.raises(StorageError, match="cluster name"):
        ClusterSchema("bad name;", "spyglass")


def test_alter_statements_parse_too(parser) -> None:
    statements = [*SCHEMA.rewrite("ALTER TABLE spans ADD COLUMN IF NOT EXISTS x String"),
                  f"ALTER TABLE {SCHEMA.mutation_target('spans')} UPDATE ttl_days = 1 "
                  "WHERE project = 'p'", SCHEMA.create_database()]
    for statement in statements:
        ast = parser.raw_query(f"EXPLAIN AST {statement}", fmt="TabSeparated").decode()
        assert "Query" in ast, statement


def test_read_your_writes_settings_exist_on_clickhouse(parser) -> None:
    """The cluster settings are real ClickHouse settings of this version (a typo would
    make every statement fail on a cluster)."""
    names = ", ".join(f"'{n}'" for n in CLUSTER_SETTINGS)
    rows = parser.query(f"SELECT name FROM system.settings WHERE name IN ({names})").result_rows
    assert {r[0] for r in rows} == set(CLUSTER_SETTINGS)


def test_serve_with_cluster_needs_a_server_and_a_known_cluster(tmp_path, clickhouse) -> None:
    alone = subprocess.run([sys.executable, "-m", "collector", "serve", "--data-dir",
                            str(tmp_path / "d"), "--cluster", "c1", "--port", "0"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 1 and "--cluster needs --clickhouse-url" in alone.stderr
    url = urlparse(clickhouse.url)._replace(path=f"/cl_{uuid.uuid4().hex[:8]}").geturl()
    unknown = subprocess.run([sys.executable, "-m", "collector", "serve", "--data-dir",
                              str(tmp_path / "d"), "--clickhouse-url", url, "--cluster",
                              "no_such_cluster", "--port", "0"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1, unknown.stderr
    assert "no_such_cluster" in unknown.stderr
