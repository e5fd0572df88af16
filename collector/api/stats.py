"""``GET /api/stats``: span volume, errors, latency percentiles, tokens and cost over time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import (
    COMMON_ERRORS,
    EXCEPTION_HANDLERS,
    BadParameter,
    reject_unknown_parameters,
)
from collector.queries.params import TimeRange, parse_choice, parse_duration, parse_range
from collector.queries.prompts import version_ids_for_filter
from collector.queries.sql import SPANS, TIME_TYPE, Filters, as_float, as_int, to_ch_time
from common import attributes as A

GROUPS = ("model", "name", "kind", "provider", "status", "prompt")
# Group keys that are not plain columns: a prompt version is `name:vN` from the span's
# attributes (common.attributes PROMPT_NAME / PROMPT_VERSION); '' for spans without one.
_PROMPT_NAME = f"JSONExtractString(attributes, '{A.PROMPT_NAME}')"
GROUP_EXPRS = {"prompt": f"if({_PROMPT_NAME} = '', '', concat({_PROMPT_NAME}, ':', "
                         f"JSONExtractString(attributes, '{A.PROMPT_VERSION}')))"}
# Bucket widths the automatic choice picks from: the smallest giving at most ~120 points.
NICE_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
TARGET_POINTS = 120
MAX_POINTS = 5000


class Point(msgspec.Struct, kw_only=True):
    """Aggregates over the spans of one bucket (or of the whole range, for totals).

    Latency percentiles are None when the bucket has no span."""

    count: int
    errors: int
    traces: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float


class TimedPoint(Point, kw_only=True):
    """A :class:`Point` for the bucket starting at ``time`` (RFC 3339)."""

    time: str


class Series(msgspec.Struct, kw_only=True):
    """One line of a chart: a group's buckets (every bucket of the range, zero-filled)."""

    group: str | None
    totals: Point
    points: list[TimedPoint]


class Stats(msgspec.Struct, kw_only=True):
    """Time series plus totals for ``[since, until)``; buckets are ``bucket_seconds`` wide,
    aligned to multiples of that width since the Unix epoch."""

    project: str | None
    since: str
    until: str
    bucket: str
    bucket_seconds: int
    group_by: str | None
    totals: Point
    series: list[Series]


# One pass over the (deduplicated) spans: per (bucket, group) partial states, then the
# bucket series, the group totals and the grand total from those states. Percentiles
# and distinct traces merge exactly as if computed over the raw spans.
_STATS_SQL = """
SELECT
    grouping(bucket) AS all_buckets,
    grouping(grp) AS all_groups,
    bucket,
    grp,
    sum(n) AS a_count,
    sum(e) AS a_errors,
    uniqExactMerge(u) AS a_traces,
    quantilesMerge(0.5, 0.95, 0.99)(q) AS a_q,
    sum(it) AS a_input_tokens,
    sum(ot) AS a_output_tokens,
    sum(tt) AS a_total_tokens,
    sum(c) AS a_cost_usd
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(start_time, INTERVAL {width} SECOND)) AS bucket,
        toString({group}) AS grp,
        count() AS n,
        countIf(status = 'error') AS e,
        uniqExactState(cityHash64(trace_id)) AS u,
        quantilesState(0.5, 0.95, 0.99)(duration_ms) AS q,
        sum(input_tokens) AS it,
        sum(output_tokens) AS ot,
        sum(total_tokens) AS tt,
        sum(cost_usd) AS c
    FROM {spans}
    {where}
    GROUP BY bucket, grp
)
GROUP BY GROUPING SETS ((bucket, grp), (grp), ())
"""


def auto_bucket(seconds: float) -> int:
    """The smallest nice width that splits ``seconds`` into at most ~120 buckets."""
    for width in NICE_BUCKETS:
        if seconds / width <= TARGET_POINTS:
            return width
    return NICE_BUCKETS[-1]


def bucket_label(seconds: int) -> str:
    """``900`` -> ``15m``; the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatsController(Controller):
    """Aggregates for dashboards, computed in ClickHouse."""

    path = "/api/stats"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["stats"]

    @get("/", sync_to_thread=True, responses=COMMON_ERRORS)
    def stats(
        self,
        request: Request[Any, Any, Any],
        project: str | None = None,
        since: str | None = Parameter(default=None, description="RFC 3339 or relative; default 24 h before until"),
        until: str | None = Parameter(default=None, description="RFC 3339 or relative; default now"),
        bucket: str | None = Parameter(default=None, description="bucket width: 60s, 5m, 1h, 1d; default chosen from the range"),
        group_by: str | None = Parameter(default=None, description="model | name | kind | provider | status | prompt (name:vN)"),
        name: str | None = Parameter(default=None, description="only spans with this name"),
        kind: str | None = Parameter(default=None, description="only spans of this kind (llm, tool, ...)"),
        model: str | None = Parameter(default=None, description="only spans of this model"),
        prompt: str | None = Parameter(default=None, description="only spans of this prompt: name, name:vN, name:label"),
    ) -> Stats:
        """Span count, errors, distinct traces, p50/p95/p99 latency (ms), input/output/total
        tokens and cost (USD) per time bucket, optionally one series per ``group_by`` value,
        plus totals over the whole range. Every bucket of the range is present (zero-filled);
        without ``group_by`` there is one series with ``group`` null."""
        given = parse_range(since, until)
        end = given.until or datetime.now(UTC)
        # Without `since`, the day before `until` (or before now).
        window = TimeRange(given.since or end - timedelta(hours=24), end)
        if window.since >= end:
            raise BadParameter("since", "must be earlier than 'until' (or now)")
        span_s = (end - window.since).total_seconds()
        width = parse_duration(bucket, "bucket") if bucket else auto_bucket(span_s)
        if span_s / width > MAX_POINTS:
            raise BadParameter("bucket", f"{bucket_label(width)} buckets over this range make "
                                         f"more than {MAX_POINTS} points; use a wider bucket")
        group = parse_choice(group_by, "group_by", GROUPS)
        where = Filters()
        scope = scoped_project(request, project)
        where.eq("project", scope)
        where.add(f"start_time >= {where.param(to_ch_time(window.since), TIME_TYPE)}")
        where.add(f"start_time < {where.param(to_ch_time(end), TIME_TYPE)}")
        for column, value in (("name", name), ("kind", kind), ("model", model)):
            where.eq(column, value)
        if prompt:
            key, value = version_ids_for_filter(storage_of(request), scope, prompt)
            where.eq(f"JSONExtractString(attributes, '{key}')", value)
        group_expr = GROUP_EXPRS.get(group or "", group) or "''"
        width_param = where.param(width, "UInt32")
        storage = storage_of(request)
        rows = storage.query(_STATS_SQL.format(width=width_param, group=group_expr, spans=SPANS,
                                               where=where.sql()), where.params)
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
        first = math.floor(window.since.timestamp() / width) * width
        last = math.floor((end.timestamp() - 1e-6) / width) * width
        buckets = list(range(first, last + 1, width))
        if not group:
            by_group.setdefault("", {})
        # Largest groups first: that is the order a chart legend wants.
        ordered = sorted(by_group, key=lambda g: (-as_int(group_totals.get(g, {"a_count": 0})["a_count"]), g))
        series = [
            Series(
                group=(g or None) if group else None,
                totals=Point(**_point(group_totals.get(g))),
                points=[TimedPoint(time=_iso(b), **_point(by_group[g].get(b))) for b in buckets],
            )
            for g in ordered
        ]
        return Stats(project=scope, since=window.since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     until=end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), bucket=bucket_label(width),
                     bucket_seconds=width, group_by=group, totals=Point(**_point(totals)),
                     series=series)


ROUTES = [StatsController]
