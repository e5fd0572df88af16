"""Run-level numbers: per-scorer summaries and latency/token/cost totals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from common import stats
from common.compare import TASK_SUCCESS
from evals.runner import RowResult, jsonable


def scorer_summary(scorer: Any, results: Sequence[RowResult],
                   threshold: Callable[[str], Any]) -> dict[str, Any]:
    """One scorer over a run: kind, mean (pass rate for pass/fail) with a 95% bootstrap CI,
    pass rate, errors, the scorer's own ``summarize()``, and its regression thresholds.

    Rows whose task failed have no score: a pass/fail scorer counts them as fails, a
    numeric one leaves them out of its mean (``missing``; a comparison counts them as the
    worst value). A scorer that scored no row at all (the task failed on every row) is
    shown as pass/fail with every row failed, mean 0, never as a label without a mean."""
    name = scorer.name
    scored = [next((s for s in r.scores if s.scorer == name), None) for r in results]
    values = [s.value if s is not None and s.error is None else None for s in scored]
    passed = [s.passed if s is not None and s.error is None else None for s in scored]
    kind = stats.metric_kind(values, passed)
    unscored = all(v is None for v in values) and all(p is None for p in passed)
    if unscored and results:
        kind = stats.BINARY
        passed = [False] * len(values)
    if kind == stats.BINARY:
        nums: list[float | None] = [
            None if p is None and not isinstance(v, bool) else float(p if p is not None else v)
            for v, p in zip(values, passed, strict=True)]
    elif kind == stats.NUMERIC:
        nums = [float(v) if isinstance(v, int | float) and not isinstance(v, bool)
                and math.isfinite(float(v)) else None for v in values]
    else:
        nums = [None] * len(values)
    summary = stats.summarize_values(kind, nums, passed)
    own: dict[str, Any] = {}
    real_scores = [s.score for s in scored if s is not None and s.score is not None]
    if real_scores:
        try:
            own = jsonable(scorer.summarize(real_scores)) or {}
        except Exception as exc:  # a broken summarize() must not lose the run
            own = {"error": f"summarize() raised {type(exc).__name__}: {exc}"}
    if unscored and results:
        own = {**own, "unscored_rows": len(values),
               "note": f"no row was scored ({sum(r.status != 'ok' for r in results)}/"
                       f"{len(results)} tasks failed)"}
    t = threshold(name)
    return {
        "scorer": name, "kind": kind,
        "higher_is_better": True if kind == stats.BINARY else bool(getattr(scorer, "higher_is_better", True)),
        **summary,
        "errors": sum(1 for s in scored if s is not None and s.error is not None),
        "min_delta": t.min_delta_number, "alpha": t.alpha,
        "summary": own if isinstance(own, dict) else {"value": own},
    }


def task_success_summary(results: Sequence[RowResult], threshold: Callable[[str], Any]) -> dict[str, Any]:
    """The built-in ``task_success`` metric: the share of rows whose task did not fail."""
    ok = [r.status == "ok" for r in results]
    summary = stats.summarize_values(stats.BINARY, [1.0 if x else 0.0 for x in ok], ok)
    t = threshold(TASK_SUCCESS)
    return {"scorer": TASK_SUCCESS, "kind": stats.BINARY, "higher_is_better": True, **summary,
            "errors": 0, "min_delta": t.min_delta_number, "alpha": t.alpha,
            "summary": {"errors": sum(r.status == "error" for r in results),
                        "timeouts": sum(r.status == "timeout" for r in results)}}


def run_stats(results: Sequence[RowResult], duration_s: float, total_rows: int,
              rows_wall_s: float | None = None) -> dict[str, Any]:
    """Rows done/failed, latency p50/p95/mean, token and cost totals, wall times (of the
    rows alone, and including storing them)."""
    latencies = [r.latency_ms for r in results if r.attempts]
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    scorer_costs = [r.scorer_cost_usd for r in results if r.scorer_cost_usd is not None]
    pct = stats.percentiles(latencies, (50, 95))
    return {
        "rows_total": total_rows,
        "rows_done": len(results),
        "ok": sum(r.status == "ok" for r in results),
        "errors": sum(r.status == "error" for r in results),
        "timeouts": sum(r.status == "timeout" for r in results),
        "retried_rows": sum(r.attempts > 1 for r in results),
        "latency_ms": {"p50": pct["p50"], "p95": pct["p95"],
                       "mean": (sum(latencies) / len(latencies)) if latencies else None},
        "tokens": {"input": sum(r.input_tokens for r in results),
                   "output": sum(r.output_tokens for r in results),
                   "total": sum(r.total_tokens for r in results)},
        "cost_usd": sum(costs) if costs else None,
        "scorer_cost_usd": sum(scorer_costs) if scorer_costs else None,
        "duration_s": duration_s,
        "rows_wall_s": rows_wall_s,
        "traced_rows": sum(1 for r in results if r.trace_id),
    }
