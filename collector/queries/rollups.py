"""Reading the rollups (migrations 0013, 0014) exactly, although spans may be stored twice.

``spans`` is a ReplacingMergeTree: an exporter re-sending a batch whose answer it lost, or
ingest re-writing a span to add its GenAI events, leaves two rows for one span until a
merge folds them, and a materialized view counts both. ``span_minutes`` keeps, per project
and minute, the rows stored (``copies``) beside the exact set of distinct spans: a minute
whose copies exceed its spans is *dirty*. Readers take clean minutes from the rollups and
recompute dirty ones from ``spans FINAL`` (a few minutes at most, in practice none), so
every figure equals a deduplicated read of the raw spans.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from collector.queries.sql import TIME_TYPE, to_ch_time

MINUTE = timedelta(minutes=1)


def floor_minute(value: datetime) -> datetime:
    """``value`` cut to the start of its minute."""
    return value.replace(second=0, microsecond=0)


def ceil_minute(value: datetime) -> datetime:
    """The first minute start at or after ``value``."""
    floor = floor_minute(value)
    return floor if floor == value else floor + MINUTE


def dirty_minutes(storage: Any, project: str | None, since: datetime | None,
                  until: datetime | None) -> list[int]:
    """Epoch seconds of the minutes in ``[since, until)`` (either end open) that hold a
    second stored copy of some span, of ``project`` (or of any project)."""
    where, params = [], {}
    if project is not None:
        where.append("project = {project:String}")
        params["project"] = project
    if since is not None:
        where.append(f"minute >= toStartOfMinute({{since:{TIME_TYPE}}})")
        params["since"] = to_ch_time(since)
    if until is not None:
        where.append(f"minute < {{until:{TIME_TYPE}}}")
        params["until"] = to_ch_time(until)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = storage.query(
        "SELECT DISTINCT toUnixTimestamp(minute) AS m FROM ("
        f"SELECT project, minute FROM span_minutes {clause} GROUP BY project, minute "
        "HAVING sum(copies) > uniqExactMerge(span_keys))", params)
    return sorted(int(r["m"]) for r in rows)


def newest_start_ns(storage: Any, project: str | None, below_ns: int | None,
                    since_ns: int | None) -> int | None:
    """An upper bound (ns) of the newest span start before ``below_ns`` and not before
    ``since_ns``, never above ``below_ns - 1``; None when no span is there. Read from
    ``span_minutes`` (one row per minute), not from the spans table."""
    where, params = [], {}
    if project is not None:
        where.append("project = {project:String}")
        params["project"] = project
    if below_ns is not None:
        where.append("minute < fromUnixTimestamp64Nano({below:Int64}, 'UTC')")
        params["below"] = below_ns
    if since_ns is not None:
        where.append("minute >= toStartOfMinute(fromUnixTimestamp64Nano({since:Int64}, 'UTC'))")
        params["since"] = since_ns
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = storage.query(
        "SELECT toUnixTimestamp64Nano(max(last)) AS m FROM (SELECT max(last_start) AS last, "
        f"sum(copies) AS n FROM span_minutes {clause} GROUP BY project, minute HAVING n > 0)",
        params)
    if not rows or rows[0]["m"] is None or int(rows[0]["m"]) <= 0:
        return None
    newest = int(rows[0]["m"])
    if since_ns is not None and newest < since_ns:
        return None
    return newest if below_ns is None else min(newest, below_ns - 1)


ROLLUP_DIMENSIONS = ("name", "kind", "model", "provider", "status")
"""Span columns ``span_rollup`` keeps: a stats query grouping or filtering by others reads
the spans table."""

# Per (bucket, group) partial states with the same types from every source, so they merge
# as if computed over the raw spans.
_FROM_ROLLUP = """
    SELECT
        toUnixTimestamp(toStartOfInterval(minute, INTERVAL {width} SECOND)) AS bucket,
        toString({group}) AS grp,
        sum(spans) AS n,
        sum(errors) AS e,
        uniqExactMergeState(trace_keys) AS u,
        quantilesTDigestMergeState(0.5, 0.95, 0.99)(latency) AS q,
        sum(input_tokens) AS it,
        sum(output_tokens) AS ot,
        sum(total_tokens) AS tt,
        sum(cost_usd) AS c
    FROM span_rollup
    WHERE {where}
    GROUP BY bucket, grp"""
_FROM_SPANS = """
    SELECT
        toUnixTimestamp(toStartOfInterval(start_time, INTERVAL {width} SECOND)) AS bucket,
        toString({group}) AS grp,
        count() AS n,
        countIf(status = 'error') AS e,
        uniqExactState(cityHash64(trace_id)) AS u,
        quantilesTDigestState(0.5, 0.95, 0.99)(duration_ms) AS q,
        sum(input_tokens) AS it,
        sum(output_tokens) AS ot,
        sum(total_tokens) AS tt,
        sum(ifNull(cost_usd, 0)) AS c
    FROM {spans}
    WHERE {where}
    GROUP BY bucket, grp"""

STATS_SQL = """
SELECT
    grouping(bucket) AS all_buckets,
    grouping(grp) AS all_groups,
    bucket,
    grp,
    sum(n) AS a_count,
    sum(e) AS a_errors,
    uniqExactMerge(u) AS a_traces,
    quantilesTDigestMerge(0.5, 0.95, 0.99)(q) AS a_q,
    sum(it) AS a_input_tokens,
    sum(ot) AS a_output_tokens,
    sum(tt) AS a_total_tokens,
    sum(c) AS a_cost_usd
FROM ({parts})
GROUP BY GROUPING SETS ((bucket, grp), (grp), ())
"""


# Bucket rows of the ``top`` largest groups only (count, then name): a high-cardinality
# group (session_id) would otherwise send every session's every bucket to Python. Every
# group's total row stays, so the caller still knows how many groups there are.
TOP_GROUPS_SQL = """
SELECT * FROM (
    SELECT *, dense_rank() OVER (PARTITION BY all_groups ORDER BY g_count DESC, grp) AS g_rank
    FROM (
        SELECT *, max(if(all_buckets = 1, a_count, 0)) OVER (PARTITION BY all_groups, grp) AS g_count
        FROM ({stats})
    )
)
WHERE all_buckets = 1 OR g_rank <= {top}
"""


def stats_sql(*, width: str, group: str, since: datetime, until: datetime,
              conditions: list[str], rollup_ok: bool, dirty: list[int],
              param: Callable[[object, str], str], top: int | None = None) -> str:
    """The /api/stats statement over ``[since, until)``: whole clean minutes from
    ``span_rollup`` when ``rollup_ok`` (the group and every condition use rollup columns),
    the partial minutes at both ends and every minute when not, from ``spans``, and the
    ``dirty`` minutes (epoch seconds) from ``spans FINAL``. ``conditions`` apply to every
    source (project, name, kind, model filters); ``param`` binds values; with ``top``,
    bucket rows of the ``top`` largest groups only (every group's total row stays)."""
    lo, hi = param(to_ch_time(since), TIME_TYPE), param(to_ch_time(until), TIME_TYPE)
    raw = [*conditions, f"start_time >= {lo}", f"start_time < {hi}", "duplicate_of = ''"]
    minute_of = "toUnixTimestamp(toStartOfMinute(start_time))"
    dirty_p = param(dirty, "Array(UInt32)") if dirty else ""
    parts = []
    first, last = ceil_minute(since), floor_minute(until)
    if rollup_ok and first < last:
        m_lo, m_hi = param(to_ch_time(first), TIME_TYPE), param(to_ch_time(last), TIME_TYPE)
        in_rollup = [*conditions, f"minute >= {m_lo}", f"minute < {m_hi}"]
        if dirty:
            in_rollup.append(f"toUnixTimestamp(minute) NOT IN {dirty_p}")
        parts.append(_FROM_ROLLUP.format(width=width, group=group, where=" AND ".join(in_rollup)))
        edges = [*raw, f"(start_time < {m_lo} OR start_time >= {m_hi})"]
    else:
        edges = list(raw)
    if dirty:
        edges.append(f"{minute_of} NOT IN {dirty_p}")
    parts.append(_FROM_SPANS.format(width=width, group=group, spans="spans",
                                    where=" AND ".join(edges)))
    if dirty:
        parts.append(_FROM_SPANS.format(width=width, group=group, spans="spans FINAL",
                                        where=" AND ".join([*raw, f"{minute_of} IN {dirty_p}"])))
    stats = STATS_SQL.format(parts="\n    UNION ALL\n".join(parts))
    if top is None:
        return stats
    return TOP_GROUPS_SQL.format(stats=stats, top=param(top, "UInt32"))
