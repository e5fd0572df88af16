"""``GET /api/stats``: span volume, errors, latency percentiles, tokens and cost over time."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import Buckets, NamedDependency, QueryController, query_get
from collector.queries.params import parse_choice, parse_limit
from collector.queries.prompts import version_ids_for_filter
from collector.queries.rollups import ROLLUP_DIMENSIONS, dirty_minutes, stats_sql
from collector.queries.sql import Filters, as_float, as_int
from common import attributes as A
from common.timetext import rfc3339, rfc3339_from_epoch
from common.wire.stats import Point, Series, Stats, TimedPoint

DEFAULT_SERIES = 100
MAX_SERIES = 1000
GROUPS = ("model", "name", "kind", "provider", "status", "user_id", "session_id", "prompt")
# Group keys that are not plain columns: a prompt version is `name:vN` from the span's
# attributes (common.attributes PROMPT_NAME / PROMPT_VERSION); '' for spans without one.
_PROMPT_NAME = f"JSONExtractString(attributes, '{A.PROMPT_NAME}')"
GROUP_EXPRS = {"prompt": f"if({_PROMPT_NAME} = '', '', concat({_PROMPT_NAME}, ':', "
                         f"JSONExtractString(attributes, '{A.PROMPT_VERSION}')))"}


def _point(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None or as_int(row["a_count"]) == 0:
        return {"count": 0, "errors": 0, "traces": 0, "p50_ms": None, "p95_ms": None,
                "p99_ms": None, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                "cost_usd": 0.0}
    q = row["a_q"] or [None, None, None]
    return {"count": as_int(row["a_count"]), "errors": as_int(row["a_errors"]),
            "traces": as_int(row["a_traces"]), "p50_ms": as_float(q[0]), "p95_ms": as_float(q[1]),
            "p99_ms": as_float(q[2]), "input_tokens": as_int(row["a_input_tokens"]),
            "output_tokens": as_int(row["a_output_tokens"]),
            "total_tokens": as_int(row["a_total_tokens"]),
            "cost_usd": as_float(row["a_cost_usd"]) or 0.0}


class StatsController(QueryController):
    """Aggregates for dashboards, computed in ClickHouse."""

    path = "/api/stats"
    tags = ["stats"]

    @query_get("/")
    def stats(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        buckets: NamedDependency[Buckets],
        group_by: Annotated[str | None, QueryParameter(
            description="model | name | kind | provider | status | user_id | session_id (cost and tokens per user or session) | prompt (name:vN of the prompt version)")] = None,
        name: Annotated[str | None, QueryParameter(description="only spans with this name")] = None,
        kind: Annotated[str | None, QueryParameter(
            description="only spans of this kind (llm, tool, ...)")] = None,
        model: Annotated[str | None, QueryParameter(description="only spans of this model")] = None,
        prompt: Annotated[str | None, QueryParameter(
            description="only spans of this prompt: name, name:vN, name:label")] = None,
        limit: Annotated[int | None, QueryParameter(
            description="with group_by: at most this many series, the largest first (1-1000, "
                        "default 100); group_count tells how many groups there are")] = None,
    ) -> Stats:
        """Span count, errors, distinct traces, p50/p95/p99 latency (ms), input/output/total
        tokens and cost (USD) per time bucket, optionally one series per ``group_by`` value,
        plus totals over the whole range (default: the 24 h before ``until``, or now). Every
        bucket of the range is present (zero-filled); without ``group_by`` there is one
        series with ``group`` null. With ``group_by``, the ``limit`` largest groups get a
        series (``group_count`` counts them all)."""
        group = parse_choice(group_by, "group_by", GROUPS)
        top = parse_limit(limit, DEFAULT_SERIES, MAX_SERIES)
        where = Filters()
        where.eq("project", project_scope)
        for column, value in (("name", name), ("kind", kind), ("model", model)):
            where.eq(column, value)
        rollup_ok = group in (None, *ROLLUP_DIMENSIONS)
        if prompt:
            key, value = version_ids_for_filter(storage_of(request), project_scope, prompt)
            where.eq(f"JSONExtractString(attributes, '{key}')", value)
            rollup_ok = False
        group_expr = GROUP_EXPRS.get(group or "", group) or "''"
        storage = storage_of(request)
        # Whole minutes come from the per-minute rollup (migration 0014), the rest from
        # spans; minutes holding a re-stored copy of a span are recomputed deduplicated
        # (collector/queries/rollups.py), so the figures equal a read of spans FINAL.
        # A repeat of an LLM call by stacked instrumentation is not another call: both
        # sources count only duplicate_of = ''.
        dirty = dirty_minutes(storage, project_scope, buckets.since, buckets.until)
        sql = stats_sql(width=where.param(buckets.width, "UInt32"), group=group_expr,
                        since=buckets.since, until=buckets.until, conditions=where.clauses,
                        rollup_ok=rollup_ok, dirty=dirty, param=where.param,
                        top=top if group else None)
        rows = storage.query(sql, where.params)
        totals: dict[str, Any] | None = None
        group_totals: dict[str, dict[str, Any]] = {}
        by_group: dict[str, dict[int, dict[str, Any]]] = {}
        for row in rows:
            if as_int(row["all_groups"]):
                totals = row
            elif as_int(row["all_buckets"]):
                group_totals[row["grp"]] = row
            else:
                by_group.setdefault(row["grp"], {})[as_int(row["bucket"])] = row
        if not group:
            by_group.setdefault("", {})
        # Largest groups first: that is the order a chart legend wants.
        ordered = sorted(by_group, key=lambda g: (-as_int(group_totals.get(g, {"a_count": 0})["a_count"]), g))[:top]
        series = [
            Series(
                group=(g or None) if group else None,
                totals=Point(**_point(group_totals.get(g))),
                points=[TimedPoint(time=rfc3339_from_epoch(b), **_point(by_group[g].get(b)))
                        for b in buckets.starts],
            )
            for g in ordered
        ]
        return Stats(project=project_scope, since=rfc3339(buckets.since),
                     until=rfc3339(buckets.until), bucket=buckets.label,
                     bucket_seconds=buckets.width, group_by=group, totals=Point(**_point(totals)),
                     series=series, group_count=len(group_totals) if group else 1)


ROUTES = [StatsController]
