"""Comparing two stored evaluation runs: per-scorer deltas, paired tests, verdicts, and
the rows that flipped.

Pure data in, JSON-ready dicts out (numpy/scipy through :mod:`common.stats`); the
collector's ``GET /api/evals/compare`` route calls :func:`compare_runs` on rows it read
from storage, and ``evals`` prints what that route returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common import gate, stats

#: The built-in metric every run has: 1 when the task returned without error.
TASK_SUCCESS = "task_success"


@dataclass
class RunData:
    """What a comparison reads of one run.

    ``rows``: dicts with ``row_id``, ``row_index``, ``status`` ("ok" or an error status),
    and optionally ``inputs`` / ``output`` / ``error``. ``scores``: dicts with ``row_id``, ``scorer``,
    ``value`` (bool, number, label or None) and ``passed`` (bool or None). ``summaries``:
    the run's per-scorer summaries (``scorer``, ``kind``, ``higher_is_better``,
    ``alpha``, ``min_delta``).
    """

    run: dict[str, Any]
    rows: list[dict[str, Any]]
    scores: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(float(x))


def _row_values(kind: str, data: RunData, scorer: str, worst: float | None = None,
                ) -> dict[str, stats.RowValue]:
    """Per row id, the metric's value and verdict in ``data``.

    A row that has no score (its task failed, or the scorer raised or returned nothing)
    counts as failed, never as missing: a fail for a pass/fail metric, and ``worst`` (the
    worst value the scorer can give, see :func:`_worst_value`) for a numeric one.
    """
    out: dict[str, stats.RowValue] = {}
    if scorer == TASK_SUCCESS:
        for row in data.rows:
            ok = row.get("status") == "ok"
            out[row["row_id"]] = stats.RowValue(1.0 if ok else 0.0, ok)
        return out
    by_row = {s["row_id"]: s for s in data.scores if s.get("scorer") == scorer}
    for row in data.rows:
        score = by_row.get(row["row_id"]) if row.get("status") == "ok" else None
        value = score.get("value") if score else None
        passed = score.get("passed") if score else None
        if kind == stats.BINARY:
            verdict = passed if passed is not None else (value if isinstance(value, bool) else None)
            verdict = bool(verdict)
            out[row["row_id"]] = stats.RowValue(1.0 if verdict else 0.0, verdict)
        elif kind == stats.NUMERIC:
            if _is_number(value):
                out[row["row_id"]] = stats.RowValue(float(value), passed)
            else:
                out[row["row_id"]] = stats.RowValue(worst, False)
        else:
            out[row["row_id"]] = stats.RowValue(None, passed)
    return out


def _numeric_values(scorer: str, *runs: RunData) -> list[float]:
    return [float(s["value"]) for data in runs for s in data.scores
            if s.get("scorer") == scorer and _is_number(s.get("value"))]


def _worst_value(values: Sequence[float], higher_is_better: bool) -> tuple[float | None, bool]:
    """(the value a failed row counts as, whether the scores lie in [0, 1]): for scores in
    [0, 1] the end of the scale (0, or 1 when lower is better); otherwise the worst value
    either run observed, so a failed row ranks with the worst rows in the signed-rank test."""
    if not values:
        return None, False
    bounded = all(0.0 <= v <= 1.0 for v in values)
    if bounded:
        return (0.0 if higher_is_better else 1.0), True
    return (min(values) if higher_is_better else max(values)), False


def _scorer_specs(a: RunData, b: RunData) -> list[dict[str, Any]]:
    """Scorers to compare, in the current run's order, each with its kind and thresholds
    (the current run's configuration wins over the baseline's).

    The kind comes from the scores of both runs when there are any, so a run whose task
    failed on every row (no scores, a summary that could not tell) is still compared as
    the numeric or pass/fail metric the baseline shows."""
    specs: dict[str, dict[str, Any]] = {}
    for summary in list(b.summaries) + list(a.summaries):
        name = summary["scorer"]
        if name not in specs:
            specs[name] = dict(summary)
    if TASK_SUCCESS not in specs:
        specs[TASK_SUCCESS] = {"scorer": TASK_SUCCESS, "kind": stats.BINARY, "higher_is_better": True}
    for data in (b, a):
        for score in data.scores:
            name = score.get("scorer")
            if name and name not in specs:
                specs[name] = {"scorer": name}
    for name, spec in specs.items():
        if name == TASK_SUCCESS:
            spec["kind"] = stats.BINARY
            continue
        values = [s.get("value") for s in b.scores + a.scores if s.get("scorer") == name]
        passed = [s.get("passed") for s in b.scores + a.scores if s.get("scorer") == name]
        if any(v is not None for v in values) or any(p is not None for p in passed):
            spec["kind"] = stats.metric_kind(values, passed)
        elif spec.get("kind") in (None, "", stats.LABEL):
            # Nothing was scored in either run (every task failed): each row is a fail.
            spec["kind"] = stats.BINARY
    return list(specs.values())


def _scorer_names(data: RunData) -> set[str]:
    names = {s["scorer"] for s in data.summaries} | {s["scorer"] for s in data.scores if s.get("scorer")}
    return names | {TASK_SUCCESS}


def _brief(run: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("run_id", "eval_name", "suite", "status", "params", "dataset", "started_at", "ended_at", "code")
    return {k: run.get(k) for k in keys if k in run}


def _spec_min_delta(spec: Mapping[str, Any], config: gate.GateConfig) -> gate.MinDelta | None:
    """The run's gate setting for the scorer; else an explicit non-zero ``min_delta`` in
    its summary (runs stored before ``stats.gate`` existed); else None (the default)."""
    chosen = config.min_delta_for(spec["scorer"])
    if chosen is not None:
        return chosen
    stored = spec.get("min_delta")
    if not config.min_delta and isinstance(stored, int | float) and stored > 0:
        return gate.MinDelta(float(stored))
    return None


def _ok_values(data: RunData, key: str) -> dict[str, Any]:
    return {r["row_id"]: r.get(key) for r in data.rows if r.get("status") == "ok"}


def compare_runs(a: RunData, b: RunData, *, row_limit: int = 200) -> dict[str, Any]:
    """Compare run ``b`` (current) against run ``a`` (baseline).

    Returns ``{"a", "b", "same_dataset", "verdict", "failures", "regressed", "improved",
    "task", "scorers", "gates", "family_size", "rows", "rows_total"}``: ``scorers`` holds
    one :func:`common.stats.compare_metric` result per scorer (plus ``task_success``) with
    its Holm-adjusted ``p_adjusted`` and the ``min_delta`` that applied, ``gates`` the
    latency/cost gates the current run asked for, ``failures`` why the run fails (task
    failures first; empty when it passes), ``rows`` the rows of both runs (``inputs`` of
    the current run's row, or the baseline's; each side's ``output``) with the scorers
    whose verdict flipped, pass -> fail flips first. The verdicts follow
    :mod:`common.gate` with this comparison as the Holm family; ``evals run`` widens the
    family to every comparison of the suite run.
    """
    config = gate.GateConfig.of_run(b.run)
    results: list[dict[str, Any]] = []
    in_a, in_b = _scorer_names(a), _scorer_names(b)
    for spec in _scorer_specs(a, b):
        name, kind = spec["scorer"], spec["kind"]
        if name not in in_a or name not in in_b:
            # A scorer added or removed between the runs has nothing to pair with.
            results.append({"scorer": name, **stats.compare_metric(kind, {}, {}),
                            "p_adjusted": None, "min_delta_rule": None,
                            "note": "only in the baseline run" if name in in_a else "only in the current run"})
            continue
        higher = True if kind == stats.BINARY else bool(spec.get("higher_is_better", True))
        worst, bounded = None, kind == stats.BINARY
        if kind == stats.NUMERIC:
            worst, bounded = _worst_value(_numeric_values(name, a, b), higher)
        base_values = _row_values(kind, a, name, worst)
        base_mean = stats.compare_metric(kind, base_values, {})["baseline"]["mean"]
        min_delta, rule = gate.resolve_min_delta(_spec_min_delta(spec, config), kind, bounded, base_mean)
        result = stats.compare_metric(
            kind, base_values, _row_values(kind, b, name, worst),
            higher_is_better=higher,
            alpha=float(spec.get("alpha") or stats.DEFAULT_ALPHA),
            min_delta=min_delta,
        )
        result.update(p_adjusted=None, min_delta_rule=rule)
        if kind == stats.NUMERIC and worst is not None:
            result["failed_rows_count_as"] = worst
        results.append({"scorer": name, **result})
    index_of = {r["row_id"]: r.get("row_index") for r in b.rows}
    for r in a.rows:
        index_of.setdefault(r["row_id"], r.get("row_index"))
    for result in results:
        for flip in result["flipped"]:
            flip["row_index"] = index_of.get(flip["row_id"])
    gates = []
    if config.max_latency_increase is not None:
        gates.append(gate.ratio_gate(gate.LATENCY, "latency", config.max_latency_increase,
                                     _ok_values(a, "latency_ms"), _ok_values(b, "latency_ms")))
    if config.max_cost_increase is not None:
        gates.append(gate.ratio_gate(gate.COST, "cost", config.max_cost_increase,
                                     _ok_values(a, "cost_usd"), _ok_values(b, "cost_usd")))
    rows = _paired_rows(a, b, results)
    same = (a.run.get("dataset") or {}).get("version_id") == (b.run.get("dataset") or {}).get("version_id")
    out = {
        "a": _brief(a.run), "b": _brief(b.run), "same_dataset": same,
        "verdict": stats.UNCHANGED, "failures": [], "regressed": [], "improved": [],
        "task": {"rows": len(b.rows), "failed": sum(r.get("status") != "ok" for r in b.rows),
                 "baseline_rows": len(a.rows),
                 "baseline_failed": sum(r.get("status") != "ok" for r in a.rows),
                 "max_error_rate": config.max_error_rate},
        "scorers": results, "gates": gates, "family_size": 0,
        "rows": rows[:row_limit], "rows_total": len(rows),
    }
    gate.finalize([out])
    return out


def _scores_by_row(data: RunData) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in data.scores:
        out.setdefault(s["row_id"], {})[s["scorer"]] = {"value": s.get("value"), "passed": s.get("passed")}
    return out


def _paired_rows(a: RunData, b: RunData, results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    a_rows = {r["row_id"]: r for r in a.rows}
    b_rows = {r["row_id"]: r for r in b.rows}
    a_scores, b_scores = _scores_by_row(a), _scores_by_row(b)
    flips: dict[str, dict[str, str]] = {}
    for result in results:
        for flip in result["flipped"]:
            flips.setdefault(flip["row_id"], {})[result["scorer"]] = flip["direction"]

    def side(rows: dict[str, Any], scores: dict[str, Any], rid: str) -> dict[str, Any] | None:
        row = rows.get(rid)
        if row is None:
            return None
        return {"status": row.get("status"), "output": row.get("output"),
                "error": row.get("error") or None, "trace_id": row.get("trace_id") or None,
                "scores": scores.get(rid, {})}

    out = []
    for rid in list(b_rows) + [r for r in a_rows if r not in b_rows]:
        row_flips = flips.get(rid, {})
        ref = b_rows.get(rid) or a_rows[rid]
        out.append({
            "row_id": rid, "row_index": ref.get("row_index"), "inputs": ref.get("inputs"),
            "flips": row_flips,
            "a": side(a_rows, a_scores, rid), "b": side(b_rows, b_scores, rid),
        })

    def order(row: dict[str, Any]) -> tuple[int, int]:
        directions = set(row["flips"].values())
        rank = 0 if "pass->fail" in directions else (1 if directions else 2)
        return (rank, row["row_index"] if row["row_index"] is not None else 1 << 30)

    out.sort(key=order)
    return out
