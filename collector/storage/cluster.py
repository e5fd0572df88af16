"""The cluster schema: the single-node migrations rewritten for a sharded, replicated
ClickHouse cluster (``spyglass serve --clickhouse-url ... --cluster NAME``).

Every migration is written once, for one node (collector/storage/migrations/*.sql). On a
cluster each statement becomes:

- ``CREATE TABLE t (...) ENGINE = XMergeTree(args) ...`` of a *sharded* table (spans, trace
  index, feedback, eval and dataset tables): ``t_local ON CLUSTER`` with
  ``ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/t_local', '{replica}', args)``
  and the same columns, indexes, sort key, partitioning and TTL; then ``t ON CLUSTER AS
  t_local ENGINE = Distributed(cluster, database, t_local, SHARD KEY)``. Readers and writers
  keep using ``t``: the SQL of the query API is the same on one node and on a cluster.
- a small table every node needs whole (api keys, project settings, migrations): one
  replicated table on every node of every shard (Keeper path without ``{shard}``), no
  Distributed table, so key checks are local reads.
- ``CREATE MATERIALIZED VIEW v TO t AS SELECT ... FROM s``: ``v ON CLUSTER TO t_local ... FROM
  s_local``; spans and the trace index share their shard key (the trace id), so each
  shard's view fills the index rows that shard owns.
- ``ALTER TABLE t ...``: ``t_local ON CLUSTER`` (data and mutations live there) and, for
  column changes, the Distributed ``t`` too.

Sharding by ``cityHash64(trace_id)`` keeps a trace on one shard: with
``optimize_skip_unused_shards`` a trace lookup (``WHERE trace_id = ...``) reads one shard,
and ``FINAL`` deduplicates re-sent spans correctly because all copies of a span share a shard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from collector.storage.base import StorageError

# Tables split across shards, with the expression that picks a row's shard. A trace's spans,
# index rows and feedback share a shard; a run's rows, scores and summaries share one too.
SHARD_KEYS: dict[str, str] = {
    "spans": "cityHash64(trace_id)",
    "trace_index": "cityHash64(trace_id)",
    "feedback": "cityHash64(trace_id)",
    # migration 0052 rebuilds feedback through these two names (see ClusterSchema._rename)
    "feedback_dedup": "cityHash64(trace_id)",
    "feedback_pre_dedup": "cityHash64(trace_id)",
    "genai_events": "cityHash64(trace_id)",  # GenAI log events live with their trace
    # rollups of spans (0013, 0014): each shard's view fills its local table from its own
    # spans; the Distributed table merges the shards' states (any shard key is correct).
    "span_minutes": "cityHash64(project)",
    "span_rollup": "cityHash64(project)",
    "dataset_rows": "cityHash64(row_hash)",
    "dataset_versions": "cityHash64(project, name)",
    "dataset_version_rows": "cityHash64(version_id)",
    "eval_runs": "cityHash64(project, run_id)",
    "eval_rows": "cityHash64(project, run_id)",
    "eval_scores": "cityHash64(project, run_id)",
    "eval_summaries": "cityHash64(project, run_id)",
}
# Any other table (api_keys, project_settings, spyglass_migrations, and new tables until
# they are listed above) is replicated whole to every node: correct everywhere, and cheap
# for the small tables it is meant for.

LOCAL_SUFFIX = "_local"

# Settings every statement runs with on a cluster (see docs/deployment.md, "Cluster").
# - distributed_foreground_insert: an insert into a Distributed table returns after every
#   shard wrote its part (not after queueing it on the receiving node), so an acknowledged
#   span is stored.
# - insert_quorum='auto': each shard's part is on a majority of its replicas before the
#   insert returns (with 2 replicas: both), and select_sequential_consistency makes a replica
#   refuse to answer from data older than the last quorum write: read-your-writes whichever
#   replica answers. The cost: an insert waits for the slowest replica of the quorum, and
#   fails (the collector answers 503, the exporter retries) while a majority is down.
# - optimize_skip_unused_shards: WHERE trace_id = ... reads only the shard owning the trace.
# - distributed_product_mode='global': a JOIN or IN over two Distributed tables (a run's
#   rows with its scores, a version's rows with their data) reads the right side once and
#   ships it to every shard, instead of being refused as a double-distributed subquery.
CLUSTER_SETTINGS: dict[str, Any] = {
    "distributed_foreground_insert": 1,
    "insert_quorum": "auto",
    "select_sequential_consistency": 1,
    "optimize_skip_unused_shards": 1,
    "distributed_product_mode": "global",
}

_IDENT = r"`?([A-Za-z_][A-Za-z0-9_]*)`?"
_CREATE_TABLE = re.compile(
    rf"^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?{_IDENT}\s*\(", re.IGNORECASE)
_ENGINE = re.compile(r"\bENGINE\s*=\s*([A-Za-z]*MergeTree)\b(\s*\()?", re.IGNORECASE)
_CREATE_MV = re.compile(
    rf"^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?{_IDENT}\s+TO\s+{_IDENT}\s+AS\s+",
    re.IGNORECASE)
_FROM = re.compile(rf"\bFROM\s+{_IDENT}", re.IGNORECASE)
_ALTER = re.compile(rf"^ALTER\s+TABLE\s+{_IDENT}\s+", re.IGNORECASE)
_COLUMN_CHANGE = re.compile(r"^\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.IGNORECASE)
_RENAME = re.compile(r"^RENAME\s+TABLE\s+(.+)$", re.IGNORECASE | re.DOTALL)
_RENAME_PAIR = re.compile(rf"^\s*{_IDENT}\s+TO\s+{_IDENT}\s*$", re.IGNORECASE)
_DROP_TABLE = re.compile(rf"^DROP\s+TABLE\s+(IF\s+EXISTS\s+)?{_IDENT}$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _matching_paren(text: str, open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_at`` (outside string literals)."""
    depth, i = 0, open_at
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i += 1
            while i < len(text) and text[i] != "'":
                i += 2 if text[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise StorageError(f"unbalanced parentheses in: {text[:80]}")


@dataclass(frozen=True)
class ClusterSchema:
    """Rewrites single-node DDL for ``cluster``; tables live in ``database``."""

    cluster: str
    database: str

    def __post_init__(self) -> None:
        for what, value in (("cluster", self.cluster), ("database", self.database)):
            if not _NAME.match(value or ""):
                raise StorageError(f"{what} name {value!r} must be letters, digits and _")

    @property
    def on_cluster(self) -> str:
        return f"ON CLUSTER {self.cluster}"

    def create_database(self) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {self.database} {self.on_cluster}"

    def mutation_target(self, table: str) -> str:
        """Where ``ALTER TABLE <table> UPDATE/DELETE`` must go: the local tables of every
        shard (a Distributed table takes no mutations)."""
        if table in SHARD_KEYS:
            return f"{table}{LOCAL_SUFFIX} {self.on_cluster}"
        return f"{table} {self.on_cluster}"

    def rewrite(self, statement: str) -> list[str]:
        """The cluster statements standing for one single-node ``statement``."""
        text = statement.strip().rstrip(";").strip()
        if m := _CREATE_TABLE.match(text):
            return self._create_table(text, m)
        if m := _CREATE_MV.match(text):
            return self._create_view(text, m)
        if m := _ALTER.match(text):
            return self._alter(text, m)
        if m := _RENAME.match(text):
            return self._rename(m.group(1))
        if m := _DROP_TABLE.match(text):
            return self._drop(bool(m.group(1)), m.group(2))
        if re.match(r"^(CREATE|DROP|RENAME|TRUNCATE)\b", text, re.IGNORECASE):
            raise StorageError(
                f"no cluster form for this migration statement; extend collector/storage/"
                f"cluster.py: {text[:120]}")
        return [text]

    def _create_table(self, text: str, m: re.Match[str]) -> list[str]:
        if_not_exists = "IF NOT EXISTS " if m.group(1) else ""
        name = m.group(2)
        body_open = m.end() - 1
        body_close = _matching_paren(text, body_open)
        columns = text[body_open:body_close + 1]
        rest = text[body_close + 1:]
        engine = _ENGINE.search(rest)
        if not engine:
            raise StorageError(f"table {name}: only *MergeTree engines have a cluster form")
        sharded = name in SHARD_KEYS
        local = f"{name}{LOCAL_SUFFIX}" if sharded else name
        shard = "{shard}" if sharded else "all"
        path = _quote(f"/clickhouse/tables/{shard}/{{database}}/{local}")
        replicated = f"ENGINE = Replicated{engine.group(1)}({path}, '{{replica}}'"
        if engine.group(2):  # the engine had arguments: keep them after path and replica
            args_open = engine.end() - 1
            args_close = _matching_paren(rest, args_open)
            args = rest[args_open + 1:args_close].strip()
            tail = rest[args_close + 1:]
            replicated += f", {args})" if args else ")"
        else:
            tail = rest[engine.end():]
            replicated += ")"
        rest = rest[:engine.start()] + replicated + tail
        out = [f"CREATE TABLE {if_not_exists}{local} {self.on_cluster}\n{columns}{rest}"]
        if sharded:
            out.append(
                f"CREATE TABLE {if_not_exists}{name} {self.on_cluster} AS {local}\n"
                f"ENGINE = Distributed({self.cluster}, {self.database}, {local}, "
                f"{SHARD_KEYS[name]})")
        return out

    def _create_view(self, text: str, m: re.Match[str]) -> list[str]:
        if_not_exists = "IF NOT EXISTS " if m.group(1) else ""
        view, target = m.group(2), m.group(3)
        select = text[m.end():]

        def local(match: re.Match[str]) -> str:
            table = match.group(1)
            return f"FROM {table}{LOCAL_SUFFIX}" if table in SHARD_KEYS else match.group(0)

        target_local = f"{target}{LOCAL_SUFFIX}" if target in SHARD_KEYS else target
        return [f"CREATE MATERIALIZED VIEW {if_not_exists}{view} {self.on_cluster} "
                f"TO {target_local} AS\n{_FROM.sub(local, select)}"]

    def _alter(self, text: str, m: re.Match[str]) -> list[str]:
        table, action = m.group(1), text[m.end():]
        out = [f"ALTER TABLE {self.mutation_target(table)} {action}"]
        if table in SHARD_KEYS and _COLUMN_CHANGE.match(action):
            out.append(f"ALTER TABLE {table} {self.on_cluster} {action}")
        return out

    def _rename(self, pairs_text: str) -> list[str]:
        # Every Distributed table <n> reads <n>_local by name, so renaming the local tables
        # is what moves the data; the Distributed tables then follow one rule: <n> exists
        # exactly when <n>_local does (drop the ones left dangling, create the new ones).
        pairs = []
        for part in pairs_text.split(","):
            m = _RENAME_PAIR.match(part)
            if not m:
                raise StorageError(f"no cluster form for this RENAME: {pairs_text[:120]}")
            pairs.append((m.group(1), m.group(2)))
        sharded = [(a, b) for a, b in pairs if a in SHARD_KEYS]
        if any((b in SHARD_KEYS) != (a in SHARD_KEYS) for a, b in pairs):
            raise StorageError(f"RENAME between a sharded and an unsharded table: {pairs_text}")
        out = []
        plain = [(a, b) for a, b in pairs if a not in SHARD_KEYS]
        if plain:
            out.append("RENAME TABLE " + ", ".join(f"{a} TO {b}" for a, b in plain)
                       + f" {self.on_cluster}")
        if sharded:
            out.append("RENAME TABLE " + ", ".join(
                f"{a}{LOCAL_SUFFIX} TO {b}{LOCAL_SUFFIX}" for a, b in sharded)
                + f" {self.on_cluster}")
            sources = {a for a, _ in sharded}
            targets = {b for _, b in sharded}
            out += [f"DROP TABLE IF EXISTS {a} {self.on_cluster}"
                    for a, _ in sharded if a not in targets]
            out += [f"CREATE TABLE IF NOT EXISTS {b} {self.on_cluster} AS {b}{LOCAL_SUFFIX}\n"
                    f"ENGINE = Distributed({self.cluster}, {self.database}, {b}{LOCAL_SUFFIX}, "
                    f"{SHARD_KEYS[b]})" for _, b in sharded if b not in sources]
        return out

    def _drop(self, if_exists: bool, table: str) -> list[str]:
        guard = "IF EXISTS " if if_exists else ""
        if table not in SHARD_KEYS:
            return [f"DROP TABLE {guard}{table} {self.on_cluster}"]
        return [f"DROP TABLE {guard}{table} {self.on_cluster}",
                f"DROP TABLE {guard}{table}{LOCAL_SUFFIX} {self.on_cluster}"]
