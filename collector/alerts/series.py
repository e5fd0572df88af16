"""The value of an alert's series over one window, computed in ClickHouse like /api/stats."""

from __future__ import annotations

from datetime import datetime

from collector.queries.sql import SPANS, Filters, as_float, as_int
from collector.storage import Storage
from common import attributes as A
from common.wire.alerts import AlertRule


def series_value(storage: Storage, rule: AlertRule, start: datetime, end: datetime) -> float | None:
    """``rule.metric`` over spans (or scores) of ``rule.project`` started in [start, end).

    Rates and sums over a window without spans are 0 (a quiet window is a clean one);
    a percentile or a mean of no data is None (nothing to judge)."""
    f = rule.filters
    where = Filters()
    where.eq("project", rule.project)
    if rule.metric == "monitor_score":
        where.eq("name", f.score)
        if f.monitor:
            where.eq("author", f"monitor:{f.monitor}")
        where.add("value_number IS NOT NULL")
        where.time_range("created_at", start, end)
        row = storage.query(f"SELECT count() AS n, avg(value_number) AS v FROM feedback FINAL "
                            f"{where.sql()}", where.params)[0]
        return as_float(row["v"]) if as_int(row["n"]) else None
    where.eq("name", f.name)
    where.eq("model", f.model)
    where.time_range("start_time", start, end)
    if rule.metric == "guardrail_block_rate":
        where.add("kind = 'guardrail'")
        passed = where.param(A.GUARDRAIL_PASSED, "String")
        action = where.param(A.GUARDRAIL_ACTION, "String")
        expr = (f"countIf(JSONExtractRaw(attributes, {passed}) = 'false' AND "
                f"JSONExtractString(attributes, {action}) = 'block') / greatest(count(), 1)")
    else:
        where.eq("kind", f.kind)
        expr = {
            "error_rate": "countIf(status = 'error') / greatest(count(), 1)",
            "p95_latency_ms": "quantile(0.95)(duration_ms)",
            "cost_per_hour": f"sum(cost_usd) * 3600 / {max(1.0, (end - start).total_seconds())}",
            "token_volume": "sum(total_tokens)",
        }[rule.metric]
    row = storage.query(f"SELECT count() AS n, {expr} AS v FROM {SPANS} {where.sql()}", where.params)[0]
    if not as_int(row["n"]) and rule.metric == "p95_latency_ms":
        return None
    return as_float(row["v"]) or 0.0
