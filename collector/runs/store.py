"""Reads of stored runs: one run by id or prefix, its rows with scores, its summaries,
and what the comparison needs."""

from __future__ import annotations

import re
from typing import Any

from collector.queries.errors import BadParameter, NotFound
from collector.queries.sql import Filters, parse_json_text
from collector.runs.convert import row_out, run_out, score_out, score_value, summary_out
from common.compare import RunData

_HEX = re.compile(r"^[0-9a-f]*$")
RUN_COLUMNS = ("project, run_id, suite, eval_name, params, dataset_name, dataset_version, "
               "dataset_version_id, dataset_rows, git_commit, git_dirty, code_fingerprint, status, "
               "started_at, ended_at, row_limit, concurrency, baseline_run_id, stats, comparison, "
               "chain_head")
ROW_COLUMNS = ("row_index, row_id, row_data, inputs, output, status, error, error_type, attempts, "
               "latency_ms, input_tokens, output_tokens, total_tokens, cost_usd, scorer_cost_usd, "
               "trace_id, span_id, started_at")
SUMMARY_COLUMNS = ("run_id, scorer, kind, higher_is_better, n, mean, ci_low, ci_high, pass_rate, "
                   "missing, errors, min_delta, alpha, summary")


def find_run(storage: Any, run_id: str, project: str | None, field: str = "run_id") -> dict[str, Any]:
    """The stored run whose id is ``run_id`` or starts with it (6+ hex characters); 404
    when none, 400 when the prefix is ambiguous."""
    text = (run_id or "").strip().lower()
    if len(text) < 6 or len(text) > 32 or not _HEX.match(text):
        raise BadParameter(field, f"must be a run id (6-32 hex characters), got {run_id!r}")
    where = Filters()
    where.eq("project", project)
    if len(text) == 32:
        where.eq("run_id", text)
    else:
        where.add(f"startsWith(run_id, {where.param(text, 'String')})")
    rows = storage.query(f"SELECT {RUN_COLUMNS} FROM eval_runs FINAL {where.sql()} LIMIT 3",
                         where.params)
    if not rows:
        raise NotFound(f"no evaluation run with id {text}" + (f" in project {project!r}" if project else ""))
    if len(rows) > 1:
        raise BadParameter(field, f"run id prefix {text!r} matches several runs; give more characters")
    return rows[0]


def run_exists(storage: Any, run_id: str) -> dict[str, Any] | None:
    """The run with exactly this id in any project, or None."""
    rows = storage.query("SELECT project, status FROM eval_runs FINAL WHERE run_id = {r:String} "
                         "LIMIT 1", {"r": run_id})
    return rows[0] if rows else None


def read_summaries(storage: Any, project: str, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per run id, its per-scorer summaries."""
    if not run_ids:
        return {}
    rows = storage.query(f"SELECT {SUMMARY_COLUMNS} FROM eval_summaries FINAL WHERE project = "
                         "{p:String} AND run_id IN {ids:Array(String)} ORDER BY run_id, scorer",
                         {"p": project, "ids": run_ids})
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["run_id"], []).append(summary_out(r))
    return out


def count_rows(storage: Any, project: str, run_id: str) -> int:
    """How many rows a run has stored."""
    total = storage.query("SELECT count() AS n FROM (SELECT row_index FROM eval_rows FINAL "
                          "WHERE project = {p:String} AND run_id = {r:String})",
                          {"p": project, "r": run_id})
    return int(total[0]["n"]) if total else 0


def read_rows(storage: Any, project: str, run_id: str, offset: int = 0,
              limit: int | None = None) -> list[dict[str, Any]]:
    """A run's rows in index order, each with its scores."""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = storage.query(f"SELECT {ROW_COLUMNS} FROM eval_rows FINAL WHERE project = {{p:String}} "
                         f"AND run_id = {{r:String}} ORDER BY row_index{page}",
                         {"p": project, "r": run_id})
    if not rows:
        return []
    lo, hi = int(rows[0]["row_index"]), int(rows[-1]["row_index"])
    scores = storage.query(
        "SELECT row_index, scorer, value_type, value_num, value_label, passed, reason, metadata, "
        "error FROM eval_scores FINAL WHERE project = {p:String} AND run_id = {r:String} AND "
        "row_index BETWEEN {lo:UInt32} AND {hi:UInt32} ORDER BY row_index, scorer",
        {"p": project, "r": run_id, "lo": lo, "hi": hi})
    by_index: dict[int, list[dict[str, Any]]] = {}
    for s in scores:
        by_index.setdefault(int(s["row_index"]), []).append(score_out(s))
    return [row_out(r, by_index.get(int(r["row_index"]), [])) for r in rows]


def run_data(storage: Any, run: dict[str, Any]) -> RunData:
    """Everything :func:`common.compare.compare_runs` needs of a stored run."""
    project, run_id = run["project"], run["run_id"]
    rows = storage.query(
        "SELECT row_index, row_id, status, inputs, output, error, trace_id, latency_ms, cost_usd "
        "FROM eval_rows FINAL "
        "WHERE project = {p:String} AND run_id = {r:String} ORDER BY row_index",
        {"p": project, "r": run_id})
    scores = storage.query(
        "SELECT row_id, scorer, value_type, value_num, value_label, passed FROM eval_scores FINAL "
        "WHERE project = {p:String} AND run_id = {r:String}", {"p": project, "r": run_id})
    return RunData(
        run=run_out(run),
        rows=[{"row_id": r["row_id"], "row_index": int(r["row_index"]), "status": r["status"],
               "inputs": parse_json_text(r["inputs"]),
               "output": parse_json_text(r["output"]), "error": r["error"],
               "trace_id": r["trace_id"], "latency_ms": r["latency_ms"],
               "cost_usd": r["cost_usd"]} for r in rows],
        scores=[{"row_id": s["row_id"], "scorer": s["scorer"], "value": score_value(s),
                 "passed": None if s["passed"] is None else bool(s["passed"])} for s in scores],
        summaries=read_summaries(storage, project, [run_id]).get(run_id, []),
    )
