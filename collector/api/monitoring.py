"""``/api/console/guardrails``, ``/api/console/scores`` and ``/api/console/ttft``: the
aggregates the console's Monitoring view needs beside ``/api/stats``.

Guardrail verdicts, monitor scores and time to first token over time, computed in ClickHouse like ``/api/stats``
so the browser never downloads raw spans or feedback rows to count them.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import Buckets, NamedDependency, QueryController, query_get
from collector.queries.params import parse_choice
from collector.queries.sql import SPANS, Filters, as_float, as_int
from common import attributes as A
from common.timetext import rfc3339, rfc3339_from_epoch
from common.wire.stats import (
    GuardrailPoint,
    GuardrailStats,
    GuardrailTotal,
    ScorePoint,
    ScoreSeries,
    ScoreStats,
    TimedTtftPoint,
    TtftPoint,
    TtftStats,
)

MAX_SCORE_NAMES = 12
SCORE_SOURCES = ("scorer", "judge", "human")


def _window(buckets: Buckets) -> dict[str, Any]:
    """The :class:`Window` fields of an answer over ``buckets``."""
    return {"since": rfc3339(buckets.since), "until": rfc3339(buckets.until),
            "bucket": buckets.label, "bucket_seconds": buckets.width}


class MonitoringController(QueryController):
    """Aggregates the Monitoring view charts beside ``/api/stats``."""

    path = "/api/console"
    tags = ["console"]

    @query_get("/guardrails")
    def guardrails(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        buckets: NamedDependency[Buckets],
    ) -> GuardrailStats:
        """Guardrail checks (spans of kind ``guardrail``) per time bucket: passed, failed,
        and failed by action (block, redact, flag); totals per guardrail name."""
        where = Filters()
        where.eq("project", project_scope)
        where.add("kind = 'guardrail'")
        where.time_range("start_time", buckets.since, buckets.until)
        passed = where.param(A.GUARDRAIL_PASSED, "String")
        action = where.param(A.GUARDRAIL_ACTION, "String")
        width_p = where.param(buckets.width, "UInt32")
        verdict = f"JSONExtractRaw(attributes, {passed})"
        rows = storage_of(request).query(
            f"SELECT toUnixTimestamp(toStartOfInterval(start_time, INTERVAL {width_p} SECOND)) AS b, "
            f"name, JSONExtractString(attributes, {action}) AS action, "
            f"countIf({verdict} = 'true') AS passed, countIf({verdict} = 'false') AS failed, "
            f"count() AS checks FROM {SPANS} {where.sql()} GROUP BY b, name, action",
            where.params)
        per_bucket: dict[int, GuardrailPoint] = {
            b: GuardrailPoint(time=rfc3339_from_epoch(b), checks=0, passed=0, failed=0, actions={})
            for b in buckets.starts}
        per_name: dict[str, GuardrailTotal] = {}
        total = GuardrailTotal(name="", checks=0, passed=0, failed=0)
        for row in rows:
            n_pass, n_fail, n = as_int(row["passed"]), as_int(row["failed"]), as_int(row["checks"])
            point = per_bucket.get(as_int(row["b"]))
            if point is not None:
                point.checks += n
                point.passed += n_pass
                point.failed += n_fail
                if n_fail and row["action"] and row["action"] != "pass":
                    point.actions[row["action"]] = point.actions.get(row["action"], 0) + n_fail
            named = per_name.setdefault(row["name"], GuardrailTotal(name=row["name"], checks=0,
                                                                    passed=0, failed=0))
            for item in (named, total):
                item.checks += n
                item.passed += n_pass
                item.failed += n_fail
        ranked = sorted(per_name.values(), key=lambda g: (-g.failed, -g.checks, g.name))
        return GuardrailStats(**_window(buckets), totals=total, guardrails=ranked,
                              points=[per_bucket[b] for b in buckets.starts])

    @query_get("/scores")
    def scores(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        buckets: NamedDependency[Buckets],
        source: Annotated[str | None, QueryParameter(
            description="scorer | judge | human; default scorer and judge")] = None,
    ) -> ScoreStats:
        """Mean of numeric and boolean feedback per name and time bucket (by creation
        time): the online monitors' scores over time. Labels (strings) are not averaged."""
        chosen = parse_choice(source, "source", SCORE_SOURCES)
        sources = [chosen] if chosen else ["scorer", "judge"]
        where = Filters()
        where.eq("project", project_scope)
        where.add(f"source IN {where.param(sources, 'Array(String)')}")
        where.add("value_number IS NOT NULL")
        where.time_range("created_at", buckets.since, buckets.until)
        width_p = where.param(buckets.width, "UInt32")
        storage = storage_of(request)
        totals = storage.query(
            f"SELECT name, count() AS n, avg(value_number) AS mean FROM feedback FINAL {where.sql()} "
            f"GROUP BY name ORDER BY n DESC, name LIMIT {MAX_SCORE_NAMES}", where.params)
        names = [r["name"] for r in totals]
        series: list[ScoreSeries] = []
        if names:
            where.add(f"name IN {where.param(names, 'Array(String)')}")
            rows = storage.query(
                f"SELECT name, toUnixTimestamp(toStartOfInterval(created_at, INTERVAL {width_p} "
                f"SECOND)) AS b, count() AS n, avg(value_number) AS mean FROM feedback FINAL "
                f"{where.sql()} GROUP BY name, b", where.params)
            cells = {(r["name"], as_int(r["b"])): r for r in rows}
            for t in totals:
                points = []
                for b in buckets.starts:
                    cell = cells.get((t["name"], b))
                    points.append(ScorePoint(time=rfc3339_from_epoch(b), count=as_int(cell["n"]) if cell else 0,
                                             mean=as_float(cell["mean"]) if cell else None))
                series.append(ScoreSeries(name=t["name"], count=as_int(t["n"]),
                                          mean=as_float(t["mean"]), points=points))
        return ScoreStats(**_window(buckets), sources=sources, series=series)

    @query_get("/ttft")
    def ttft(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        buckets: NamedDependency[Buckets],
        model: Annotated[str | None, QueryParameter(description="only calls of this model")] = None,
    ) -> TtftStats:
        """p50/p95 time to first token (ms) of streaming LLM calls per time bucket and over
        the range: LLM spans carrying ``spyglass.llm.time_to_first_token_ms`` (the tracer
        records it on streamed calls only)."""
        where = Filters()
        where.eq("project", project_scope)
        where.add("kind = 'llm'")
        where.time_range("start_time", buckets.since, buckets.until)
        where.add("duplicate_of = ''")  # a repeat by stacked instrumentation is not a call
        where.eq("model", model)
        key = where.param(A.TIME_TO_FIRST_TOKEN_MS, "String")
        where.add(f"JSONHas(attributes, {key})")
        width_p = where.param(buckets.width, "UInt32")
        rows = storage_of(request).query(
            "SELECT grouping(b) AS all_buckets, b, count() AS n, "
            "quantiles(0.5, 0.95)(v) AS q FROM ("
            f"SELECT toUnixTimestamp(toStartOfInterval(start_time, INTERVAL {width_p} SECOND)) AS b, "
            f"JSONExtractFloat(attributes, {key}) AS v FROM {SPANS} {where.sql()}) "
            "GROUP BY GROUPING SETS ((b), ())", where.params)

        def point(row: dict[str, Any] | None) -> dict[str, Any]:
            if row is None or not as_int(row["n"]):
                return {"count": 0, "p50_ms": None, "p95_ms": None}
            q = row["q"] or [None, None]
            return {"count": as_int(row["n"]), "p50_ms": as_float(q[0]), "p95_ms": as_float(q[1])}

        totals: dict[str, Any] | None = None
        cells: dict[int, dict[str, Any]] = {}
        for row in rows:
            if as_int(row["all_buckets"]):
                totals = row
            else:
                cells[as_int(row["b"])] = row
        return TtftStats(**_window(buckets), totals=TtftPoint(**point(totals)),
                         points=[TimedTtftPoint(time=rfc3339_from_epoch(b), **point(cells.get(b)))
                                 for b in buckets.starts])


ROUTES = [MonitoringController]
