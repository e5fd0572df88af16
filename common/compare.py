"""Comparing two stored evaluation runs: per-scorer deltas, paired tests, verdicts, and
the rows that flipped.

Pure data in, JSON-ready dicts out (numpy/scipy through :mod:`common.stats`); the
collector's ``GET /api/evals/compare`` route calls :func:`compare_runs` on rows it read
from storage, and ``evals`` prints what that route returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common import stats

#: The built-in metric every run has: 1 when the task returned without error.
TASK_SUCCESS = "task_success"


@dataclass
class RunData:
    """What a comparison reads of one run.

    ``rows``: dicts with ``row_id``, ``row_index``, ``status`` ("ok" or an error status),
    and optionally ``output`` / ``error``. ``scores``: dicts with ``row_id``, ``scorer``,
    ``value`` (bool, number, label or None) and ``passed`` (bool or None). ``summaries``:
    the run's per-scorer summaries (``scorer``, ``kind``, ``higher_is_better``,
    ``alpha``, ``min_delta``).
    """

    run: dict[str, Any]
    rows: list[dict[str, Any]]
    scores: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)


def _row_values(kind: str, data: RunData, scorer: str) -> dict[str, stats.RowValue]:
    """Per row id, the metric's value and verdict in ``data``.

    For pass/fail metrics a row without a verdict (the task or the scorer failed) counts
    as a fail, the same rule the run summary uses.
    """
    out: dict[str, stats.RowValue] = {}
    if scorer == TASK_SUCCESS:
        for row in data.rows:
            ok = row.get("status") == "ok"
            out[row["row_id"]] = stats.RowValue(1.0 if ok else 0.0, ok)
        return out
    by_row = {s["row_id"]: s for s in data.scores if s.get("scorer") == scorer}
    for row in data.rows:
        score = by_row.get(row["row_id"])
        value = score.get("value") if score else None
        passed = score.get("passed") if score else None
        if kind == stats.BINARY:
            verdict = passed if passed is not None else (value if isinstance(value, bool) else None)
            verdict = bool(verdict)
            out[row["row_id"]] = stats.RowValue(1.0 if verdict else 0.0, verdict)
        elif kind == stats.NUMERIC:
            number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
            out[row["row_id"]] = stats.RowValue(number, passed)
        else:
            out[row["row_id"]] = stats.RowValue(None, passed)
    return out


def _scorer_specs(a: RunData, b: RunData) -> list[dict[str, Any]]:
    """Scorers to compare, in the current run's order, each with its kind and thresholds
    (the current run's configuration wins over the baseline's)."""
    specs: dict[str, dict[str, Any]] = {}
    for summary in list(b.summaries) + list(a.summaries):
        name = summary["scorer"]
        if name not in specs:
            specs[name] = summary
    if TASK_SUCCESS not in specs:
        specs[TASK_SUCCESS] = {"scorer": TASK_SUCCESS, "kind": stats.BINARY, "higher_is_better": True}
    for data in (b, a):
        for score in data.scores:
            name = score.get("scorer")
            if name and name not in specs:
                specs[name] = {"scorer": name}
    for name, spec in specs.items():
        if not spec.get("kind"):
            values = [s.get("value") for s in b.scores + a.scores if s.get("scorer") == name]
            passed = [s.get("passed") for s in b.scores + a.scores if s.get("scorer") == name]
            spec["kind"] = stats.metric_kind(values, passed)
    return list(specs.values())


def _scorer_names(data: RunData) -> set[str]:
    names = {s["scorer"] for s in data.summaries} | {s["scorer"] for s in data.scores if s.get("scorer")}
    return names | {TASK_SUCCESS}


def _brief(run: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("run_id", "eval_name", "suite", "status", "params", "dataset", "started_at", "ended_at", "code")
    return {k: run.get(k) for k in keys if k in run}


def compare_runs(a: RunData, b: RunData, *, row_limit: int = 200) -> dict[str, Any]:
    """Compare run ``b`` (current) against run ``a`` (baseline).

    Returns ``{"a", "b", "same_dataset", "verdict", "regressed", "improved", "scorers",
    "rows", "rows_total"}``: ``scorers`` holds one :func:`common.stats.compare_metric`
    result per scorer (plus ``task_success``), ``rows`` the rows of both runs with the
    scorers whose verdict flipped, pass -> fail flips first.
    """
    results: list[dict[str, Any]] = []
    in_a, in_b = _scorer_names(a), _scorer_names(b)
    for spec in _scorer_specs(a, b):
        name, kind = spec["scorer"], spec["kind"]
        if name not in in_a or name not in in_b:
            # A scorer added or removed between the runs has nothing to pair with.
            results.append({"scorer": name, **stats.compare_metric(kind, {}, {}),
                            "note": "only in the baseline run" if name in in_a else "only in the current run"})
            continue
        result = stats.compare_metric(
            kind, _row_values(kind, a, name), _row_values(kind, b, name),
            higher_is_better=bool(spec.get("higher_is_better", True)),
            alpha=float(spec.get("alpha") or stats.DEFAULT_ALPHA),
            min_delta=float(spec.get("min_delta") or stats.DEFAULT_MIN_DELTA),
        )
        results.append({"scorer": name, **result})
    index_of = {r["row_id"]: r.get("row_index") for r in b.rows}
    for r in a.rows:
        index_of.setdefault(r["row_id"], r.get("row_index"))
    for result in results:
        for flip in result["flipped"]:
            flip["row_index"] = index_of.get(flip["row_id"])
    regressed = [r["scorer"] for r in results if r["verdict"] == stats.REGRESSED]
    improved = [r["scorer"] for r in results if r["verdict"] == stats.IMPROVED]
    rows = _paired_rows(a, b, results)
    same = (a.run.get("dataset") or {}).get("version_id") == (b.run.get("dataset") or {}).get("version_id")
    return {
        "a": _brief(a.run), "b": _brief(b.run), "same_dataset": same,
        "verdict": stats.REGRESSED if regressed else (stats.IMPROVED if improved else stats.UNCHANGED),
        "regressed": regressed, "improved": improved, "scorers": results,
        "rows": rows[:row_limit], "rows_total": len(rows),
    }


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
            "row_id": rid, "row_index": ref.get("row_index"), "flips": row_flips,
            "a": side(a_rows, a_scores, rid), "b": side(b_rows, b_scores, rid),
        })

    def order(row: dict[str, Any]) -> tuple[int, int]:
        directions = set(row["flips"].values())
        rank = 0 if "pass->fail" in directions else (1 if directions else 2)
        return (rank, row["row_index"] if row["row_index"] is not None else 1 << 30)

    out.sort(key=order)
    return out
