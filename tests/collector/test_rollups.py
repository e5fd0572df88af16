"""The rollups (migrations 0013, 0014) on storage: re-stored copies are found and the
stats statement still equals a deduplicated read; retention re-stamps and expires rollup
rows with the spans."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.queries.rollups import dirty_minutes, stats_sql
from collector.queries.sql import Filters
from collector.settings import Settings
from collector.storage import open_storage
from collector.storage.projects import ProjectSettings

NOW = datetime.now(UTC).replace(microsecond=0)


def _span(project: str, i: int, start: datetime, **extra: Any) -> dict[str, Any]:
    return {"project": project, "trace_id": f"{i // 2 + 1:032x}", "span_id": f"{i + 1:016x}",
            "name": "chat", "kind": "llm", "model": ("gpt-4o", "claude")[i % 2],
            "start_time": start.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "end_time": (start + timedelta(milliseconds=10 + i)).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "duration_ms": 10.0 + i, "status": "error" if i % 5 == 0 else "ok",
            "input_tokens": i, "output_tokens": 2 * i, "total_tokens": 3 * i,
            "cost_usd": i / 1000, **extra}


@pytest.fixture()
def storage(tmp_path: Path) -> Any:
    s = open_storage(Settings.load(env={}, data_dir=tmp_path / "data"))
    yield s
    s.close()


def _stats(storage: Any, project: str, since: datetime, until: datetime,
           group: str = "model") -> dict[str, tuple]:
    where = Filters()
    where.eq("project", project)
    sql = stats_sql(width=where.param(60, "UInt32"), group=group, since=since, until=until,
                    conditions=where.clauses, rollup_ok=True,
                    dirty=dirty_minutes(storage, project, since, until), param=where.param)
    return {(r["bucket"], r["grp"]): (r["a_count"], r["a_errors"], r["a_traces"],
                                      r["a_input_tokens"], round(r["a_cost_usd"], 9))
            for r in storage.query(sql, where.params) if not r["all_buckets"]}


def _raw(storage: Any, project: str, since: datetime, until: datetime) -> dict[str, tuple]:
    rows = storage.query(
        "SELECT toUnixTimestamp(toStartOfMinute(start_time)) AS bucket, model AS grp, "
        "count() AS n, countIf(status = 'error') AS e, uniqExact(trace_id) AS t, "
        "sum(input_tokens) AS it, sum(ifNull(cost_usd, 0)) AS c FROM spans FINAL "
        "WHERE project = {p:String} AND start_time >= {s:DateTime64(6, 'UTC')} "
        "AND start_time < {u:DateTime64(6, 'UTC')} GROUP BY bucket, grp",
        {"p": project, "s": since.strftime("%Y-%m-%d %H:%M:%S.%f"),
         "u": until.strftime("%Y-%m-%d %H:%M:%S.%f")})
    return {(r["bucket"], r["grp"]): (r["n"], r["e"], r["t"], r["it"], round(r["c"], 9))
            for r in rows}


def test_a_restored_copy_marks_its_minute_and_stats_stay_exact(storage: Any) -> None:
    project = "rollup-copies"
    base = NOW - timedelta(minutes=30)
    spans = [_span(project, i, base + timedelta(seconds=7 * i)) for i in range(40)]
    for i in range(0, 40, 10):  # one insert per ten spans: several parts, as ingest makes
        storage.insert("spans", spans[i:i + 10])
    since, until = base - timedelta(seconds=20), base + timedelta(minutes=6, seconds=3)
    assert dirty_minutes(storage, project, since, until) == []
    clean = _stats(storage, project, since, until)
    assert clean == _raw(storage, project, since, until) and clean
    # Spans 12 and 13 re-stored (an exporter retry; the second with its events filled in):
    # both copies are in the table and counted by the views until a merge.
    storage.insert("spans", [spans[12], {**spans[13], "input": "[{\"role\":\"user\"}]"}])
    minutes = sorted({int(datetime.strptime(spans[i]["start_time"], "%Y-%m-%d %H:%M:%S.%f")
                          .replace(tzinfo=UTC).timestamp()) // 60 * 60 for i in (12, 13)})
    assert dirty_minutes(storage, project, since, until) == minutes
    assert _stats(storage, project, since, until) == clean


def test_retention_restamps_and_expires_rollup_rows(storage: Any) -> None:
    project = "rollup-ttl"
    old = NOW - timedelta(days=3)
    storage.insert("spans", [_span(project, i, old + timedelta(seconds=i)) for i in range(6)])
    storage.insert("spans", [_span(project, 10 + i, NOW - timedelta(minutes=5, seconds=-i))
                             for i in range(4)])
    ProjectSettings(storage).set_ttl_days(project, 1)
    deadline = time.monotonic() + 60
    tables = ("spans", "span_minutes", "span_rollup")
    while time.monotonic() < deadline:  # mutations run in the background
        stamped = {t: {r["d"] for r in storage.query(
            f"SELECT DISTINCT ttl_days AS d FROM {t} WHERE project = {{p:String}}", {"p": project})}
            for t in tables}
        if all(v == {1} for v in stamped.values()):
            break
        time.sleep(0.2)
    assert all(v == {1} for v in stamped.values()), stamped
    for table in tables:
        storage.command(f"OPTIMIZE TABLE {table} FINAL")  # merges apply the TTL
    rows = storage.query(
        "SELECT sum(s) AS spans FROM (SELECT uniqExactMerge(span_keys) AS s FROM span_minutes "
        "WHERE project = {p:String} GROUP BY minute)", {"p": project})
    assert rows[0]["spans"] == 4
    left = storage.query("SELECT sum(spans) AS n, min(minute) AS m FROM span_rollup "
                         "WHERE project = {p:String}", {"p": project})[0]
    assert left["n"] == 4
    assert _stats(storage, project, NOW - timedelta(days=4), NOW + timedelta(minutes=1)) == _raw(
        storage, project, NOW - timedelta(days=4), NOW + timedelta(minutes=1))
