"""Evaluation runs: ``/api/evals/runs`` (create, rows, finish, list, detail) and
``/api/evals/compare``.

``evals run`` creates a run, streams its finished rows (with their scores and trace ids)
in batches, and finishes it with per-scorer summaries; the collector compares it with the
baseline it names, using the same statistics module as the CLI (``common.compare``).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Body, FromPath, FromQuery, Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import EXCEPTION_HANDLERS, ApiError, BadParameter, NotFound
from collector.queries.params import parse_choice, parse_limit, parse_time
from collector.queries.sql import Filters, parse_json_text, to_ch_time
from common.canonical import canonical_json
from common.compare import RunData, compare_runs
from common.timetext import rfc3339_from_ch

DEFAULT_PROJECT = "default"
RUN_STATUSES = ("running", "complete", "partial", "failed")
FINAL_STATUSES = ("complete", "partial", "failed")
ROW_STATUSES = ("ok", "error", "timeout")
KINDS = ("binary", "numeric", "label")
MAX_ROWS_PER_POST = 10_000
_HEX = re.compile(r"^[0-9a-f]*$")

_RUN_COLUMNS = ("project, run_id, suite, eval_name, params, dataset_name, dataset_version, "
                "dataset_version_id, dataset_rows, git_commit, git_dirty, code_fingerprint, status, "
                "started_at, ended_at, row_limit, concurrency, baseline_run_id, stats, comparison")
_ROW_COLUMNS = ("row_index, row_id, row_data, inputs, output, status, error, error_type, attempts, "
                "latency_ms, input_tokens, output_tokens, total_tokens, cost_usd, scorer_cost_usd, "
                "trace_id, span_id, started_at")
_SUMMARY_COLUMNS = ("run_id, scorer, kind, higher_is_better, n, mean, ci_low, ci_high, pass_rate, "
                    "missing, errors, min_delta, alpha, summary")


# -- small validators -------------------------------------------------------------------

def _obj(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(f"the body must be a JSON object ({what})")
    return body


def _str(body: dict[str, Any], field: str, *, required: bool = False, max_len: int = 10_000,
         label: str | None = None) -> str:
    value = body.get(field)
    name = label or field
    if value is None or value == "":
        if required:
            raise BadParameter(name, "is required")
        return ""
    if not isinstance(value, str):
        raise BadParameter(name, f"must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise BadParameter(name, f"is longer than {max_len} characters")
    return value


def _int(body: dict[str, Any], field: str, *, default: int | None = 0, label: str | None = None,
         minimum: int = 0) -> int | None:
    value = body.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadParameter(label or field, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _num(body: dict[str, Any], field: str, *, label: str | None = None) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadParameter(label or field, f"must be a finite number, got {value!r}")
    return float(value)


def _hex(value: str, name: str, length: int) -> str:
    text = value.lower()
    if text and (len(text) != length or not _HEX.match(text)):
        raise BadParameter(name, f"must be {length} lowercase hex characters, got {value!r}")
    return text


def _time(body: dict[str, Any], field: str, *, label: str | None = None) -> datetime | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadParameter(label or field, "must be an RFC 3339 time string")
    return parse_time(value, label or field)


def _json_text(value: Any, name: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadParameter(name, f"is not JSON-serializable: {exc}") from None


def _rfc3339(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return rfc3339_from_ch(str(value))


# -- records ----------------------------------------------------------------------------

def validate_run(body: Any) -> dict[str, Any]:
    """A new run's storage row from a create body; BadParameter names the bad field."""
    body = _obj(body, "a run")
    run_id = _hex(_str(body, "run_id", max_len=64), "run_id", 32) or uuid.uuid4().hex
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise BadParameter("params", "must be a JSON object")
    ds = body.get("dataset") or {}
    if not isinstance(ds, dict):
        raise BadParameter("dataset", "must be an object {name, version, version_id, rows}")
    code = body.get("code") or {}
    if not isinstance(code, dict):
        raise BadParameter("code", "must be an object {git_commit, git_dirty, fingerprint}")
    dirty = code.get("git_dirty")
    if dirty is not None and not isinstance(dirty, bool):
        raise BadParameter("code.git_dirty", "must be true, false or null")
    version_id = _str(ds, "version_id", required=True, max_len=64, label="dataset.version_id")
    _hex(version_id, "dataset.version_id", 64)
    started = _time(body, "started_at") or datetime.now(UTC)
    status = parse_choice(body.get("status") or "running", "status", RUN_STATUSES)
    return {
        "run_id": run_id,
        "eval_name": _str(body, "eval_name", required=True, max_len=200),
        "suite": _str(body, "suite", max_len=2000),
        "params": canonical_json(params),
        "dataset_name": _str(ds, "name", max_len=200, label="dataset.name"),
        "dataset_version": _str(ds, "version", max_len=64, label="dataset.version"),
        "dataset_version_id": version_id,
        "dataset_rows": _int(ds, "rows", label="dataset.rows"),
        "git_commit": _str(code, "git_commit", max_len=64, label="code.git_commit"),
        "git_dirty": None if dirty is None else int(dirty),
        "code_fingerprint": _str(code, "fingerprint", max_len=200, label="code.fingerprint"),
        "status": status,
        "started_at": to_ch_time(started),
        "ended_at": None,
        "row_limit": _int(body, "row_limit", default=None),
        "concurrency": _int(body, "concurrency"),
        "baseline_run_id": _hex(_str(body, "baseline_run_id", max_len=64), "baseline_run_id", 32),
        "stats": "{}",
        "comparison": "",
    }


def run_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored run as the API shows it."""
    dirty = row.get("git_dirty")
    return {
        "run_id": row["run_id"], "project": row["project"], "suite": row["suite"],
        "eval_name": row["eval_name"], "params": parse_json_text(row["params"]) or {},
        "dataset": {"name": row["dataset_name"] or None, "version": row["dataset_version"] or None,
                    "version_id": row["dataset_version_id"], "rows": int(row["dataset_rows"])},
        "code": {"git_commit": row["git_commit"] or None,
                 "git_dirty": None if dirty is None else bool(dirty),
                 "fingerprint": row["code_fingerprint"] or None},
        "status": row["status"], "started_at": _rfc3339(row["started_at"]),
        "ended_at": _rfc3339(row["ended_at"]), "row_limit": row["row_limit"],
        "concurrency": int(row["concurrency"]), "baseline_run_id": row["baseline_run_id"] or None,
        "stats": parse_json_text(row["stats"]) or {},
        "comparison": parse_json_text(row["comparison"]) or None,
    }


def _score_row(score: Any, where: str) -> dict[str, Any]:
    score = _obj(score, where)
    name = _str(score, "scorer", required=True, max_len=200, label=f"{where}.scorer")
    value = score.get("value")
    if value is None:
        vtype, num, label = "none", None, ""
    elif isinstance(value, bool):
        vtype, num, label = "bool", float(value), ""
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            vtype, num, label = "none", None, ""
        else:
            vtype, num, label = "number", float(value), ""
    elif isinstance(value, str):
        vtype, num, label = "label", None, value
    else:
        raise BadParameter(f"{where}.value", "must be a bool, number, string or null")
    passed = score.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise BadParameter(f"{where}.passed", "must be true, false or null")
    metadata = score.get("metadata")
    return {
        "scorer": name, "value_type": vtype, "value_num": num, "value_label": label,
        "passed": None if passed is None else int(passed),
        "reason": _str(score, "reason", max_len=100_000, label=f"{where}.reason"),
        "metadata": _json_text(metadata, f"{where}.metadata") if metadata else "",
        "error": _str(score, "error", max_len=100_000, label=f"{where}.error"),
    }


def validate_rows(body: Any) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(row, scores) storage rows from a ``{"rows": [...]}`` body; BadParameter names
    ``rows[i].field``."""
    body = _obj(body, '{"rows": [...]}')
    rows = body.get("rows")
    if not isinstance(rows, list) or not rows:
        raise BadParameter("rows", "is required: a non-empty JSON array")
    if len(rows) > MAX_ROWS_PER_POST:
        raise BadParameter("rows", f"at most {MAX_ROWS_PER_POST} rows per request")
    out = []
    for i, raw in enumerate(rows):
        where = f"rows[{i}]"
        row = _obj(raw, where)
        index = row.get("row_index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise BadParameter(f"{where}.row_index", "is required: an integer >= 0")
        status = parse_choice(row.get("status") or "", f"{where}.status", ROW_STATUSES)
        if status is None:
            raise BadParameter(f"{where}.status", f"is required: one of {', '.join(ROW_STATUSES)}")
        data = row.get("row")
        if data is not None and not isinstance(data, dict):
            raise BadParameter(f"{where}.row", "must be the dataset row (a JSON object)")
        started = _time(row, "started_at", label=f"{where}.started_at") or datetime.now(UTC)
        scores_raw = row.get("scores") or []
        if not isinstance(scores_raw, list):
            raise BadParameter(f"{where}.scores", "must be an array")
        stored = {
            "row_index": index,
            "row_id": _str(row, "row_id", required=True, max_len=1000, label=f"{where}.row_id"),
            "row_data": _json_text(data or {}, f"{where}.row"),
            "inputs": _json_text(row.get("inputs"), f"{where}.inputs"),
            "output": _json_text(row.get("output"), f"{where}.output"),
            "status": status,
            "error": _str(row, "error", max_len=100_000, label=f"{where}.error"),
            "error_type": _str(row, "error_type", max_len=200, label=f"{where}.error_type"),
            "attempts": _int(row, "attempts", default=1, label=f"{where}.attempts"),
            "latency_ms": _num(row, "latency_ms", label=f"{where}.latency_ms") or 0.0,
            "input_tokens": _int(row, "input_tokens", label=f"{where}.input_tokens"),
            "output_tokens": _int(row, "output_tokens", label=f"{where}.output_tokens"),
            "total_tokens": _int(row, "total_tokens", label=f"{where}.total_tokens"),
            "cost_usd": _num(row, "cost_usd", label=f"{where}.cost_usd"),
            "scorer_cost_usd": _num(row, "scorer_cost_usd", label=f"{where}.scorer_cost_usd"),
            "trace_id": _hex(_str(row, "trace_id", max_len=64, label=f"{where}.trace_id"),
                             f"{where}.trace_id", 32),
            "span_id": _hex(_str(row, "span_id", max_len=64, label=f"{where}.span_id"),
                            f"{where}.span_id", 16),
            "started_at": to_ch_time(started),
        }
        scores = [_score_row(s, f"{where}.scores[{j}]") for j, s in enumerate(scores_raw)]
        names = [s["scorer"] for s in scores]
        if len(set(names)) != len(names):
            raise BadParameter(f"{where}.scores", "names a scorer twice")
        out.append((stored, scores))
    return out


def validate_summary(raw: Any, where: str) -> dict[str, Any]:
    """A per-scorer summary storage row; BadParameter names ``summaries[i].field``."""
    s = _obj(raw, where)
    kind = parse_choice(s.get("kind") or "", f"{where}.kind", KINDS)
    if kind is None:
        raise BadParameter(f"{where}.kind", f"is required: one of {', '.join(KINDS)}")
    hib = s.get("higher_is_better", True)
    if not isinstance(hib, bool):
        raise BadParameter(f"{where}.higher_is_better", "must be true or false")
    alpha = _num(s, "alpha", label=f"{where}.alpha")
    if alpha is not None and not 0 < alpha < 1:
        raise BadParameter(f"{where}.alpha", f"must be between 0 and 1, got {alpha}")
    min_delta = _num(s, "min_delta", label=f"{where}.min_delta")
    if min_delta is not None and min_delta < 0:
        raise BadParameter(f"{where}.min_delta", "must be >= 0")
    return {
        "scorer": _str(s, "scorer", required=True, max_len=200, label=f"{where}.scorer"),
        "kind": kind, "higher_is_better": int(hib),
        "n": _int(s, "n", label=f"{where}.n"),
        "mean": _num(s, "mean", label=f"{where}.mean"),
        "ci_low": _num(s, "ci_low", label=f"{where}.ci_low"),
        "ci_high": _num(s, "ci_high", label=f"{where}.ci_high"),
        "pass_rate": _num(s, "pass_rate", label=f"{where}.pass_rate"),
        "missing": _int(s, "missing", label=f"{where}.missing"),
        "errors": _int(s, "errors", label=f"{where}.errors"),
        "min_delta": 0.0 if min_delta is None else min_delta,
        "alpha": 0.05 if alpha is None else alpha,
        "summary": _json_text(s.get("summary") or {}, f"{where}.summary"),
    }


def summary_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored per-scorer summary as the API shows it."""
    return {
        "scorer": row["scorer"], "kind": row["kind"], "higher_is_better": bool(row["higher_is_better"]),
        "n": int(row["n"]), "mean": row["mean"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
        "pass_rate": row["pass_rate"], "missing": int(row["missing"]), "errors": int(row["errors"]),
        "min_delta": row["min_delta"], "alpha": row["alpha"],
        "summary": parse_json_text(row["summary"]) or {},
    }


def _score_value(row: dict[str, Any]) -> Any:
    kind = row["value_type"]
    if kind == "bool":
        return bool(row["value_num"])
    if kind == "number":
        return row["value_num"]
    if kind == "label":
        return row["value_label"]
    return None


def score_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored score as the API shows it."""
    return {
        "scorer": row["scorer"], "value": _score_value(row),
        "passed": None if row["passed"] is None else bool(row["passed"]),
        "reason": row["reason"] or None, "metadata": parse_json_text(row["metadata"]) or None,
        "error": row["error"] or None,
    }


def row_out(row: dict[str, Any], scores: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored run row with its scores as the API shows it."""
    return {
        "row_index": int(row["row_index"]), "row_id": row["row_id"],
        "row": parse_json_text(row["row_data"]) or {}, "inputs": parse_json_text(row["inputs"]),
        "output": parse_json_text(row["output"]), "status": row["status"],
        "error": row["error"] or None, "error_type": row["error_type"] or None,
        "attempts": int(row["attempts"]), "latency_ms": row["latency_ms"],
        "input_tokens": int(row["input_tokens"]), "output_tokens": int(row["output_tokens"]),
        "total_tokens": int(row["total_tokens"]), "cost_usd": row["cost_usd"],
        "scorer_cost_usd": row["scorer_cost_usd"], "trace_id": row["trace_id"] or None,
        "span_id": row["span_id"] or None, "started_at": _rfc3339(row["started_at"]),
        "scores": scores,
    }


# -- storage reads ----------------------------------------------------------------------

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
    rows = storage.query(f"SELECT {_RUN_COLUMNS} FROM eval_runs FINAL {where.sql()} LIMIT 3",
                         where.params)
    if not rows:
        raise NotFound(f"no evaluation run with id {text}" + (f" in project {project!r}" if project else ""))
    if len(rows) > 1:
        raise BadParameter(field, f"run id prefix {text!r} matches several runs; give more characters")
    return rows[0]


def read_summaries(storage: Any, project: str, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per run id, its per-scorer summaries."""
    if not run_ids:
        return {}
    rows = storage.query(f"SELECT {_SUMMARY_COLUMNS} FROM eval_summaries FINAL WHERE project = "
                         "{p:String} AND run_id IN {ids:Array(String)} ORDER BY run_id, scorer",
                         {"p": project, "ids": run_ids})
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["run_id"], []).append(summary_out(r))
    return out


def read_rows(storage: Any, project: str, run_id: str, offset: int = 0,
              limit: int | None = None) -> list[dict[str, Any]]:
    """A run's rows in index order, each with its scores."""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = storage.query(f"SELECT {_ROW_COLUMNS} FROM eval_rows FINAL WHERE project = {{p:String}} "
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
        "SELECT row_index, row_id, status, output, error, trace_id, latency_ms, cost_usd "
        "FROM eval_rows FINAL "
        "WHERE project = {p:String} AND run_id = {r:String} ORDER BY row_index",
        {"p": project, "r": run_id})
    scores = storage.query(
        "SELECT row_id, scorer, value_type, value_num, value_label, passed FROM eval_scores FINAL "
        "WHERE project = {p:String} AND run_id = {r:String}", {"p": project, "r": run_id})
    return RunData(
        run=run_out(run),
        rows=[{"row_id": r["row_id"], "row_index": int(r["row_index"]), "status": r["status"],
               "output": parse_json_text(r["output"]), "error": r["error"],
               "trace_id": r["trace_id"], "latency_ms": r["latency_ms"],
               "cost_usd": r["cost_usd"]} for r in rows],
        scores=[{"row_id": s["row_id"], "scorer": s["scorer"], "value": _score_value(s),
                 "passed": None if s["passed"] is None else bool(s["passed"])} for s in scores],
        summaries=read_summaries(storage, project, [run_id]).get(run_id, []),
    )


def _condensed(comparison: dict[str, Any]) -> dict[str, Any]:
    """What a run keeps of its comparison with its baseline (for lists and badges)."""
    return {
        "baseline_run_id": comparison["a"].get("run_id"), "verdict": comparison["verdict"],
        "regressed": comparison["regressed"], "improved": comparison["improved"],
        "failures": comparison.get("failures", []),
        "scorers": {s["scorer"]: {"delta": s["delta"], "p_value": s["p_value"],
                                  "p_adjusted": s.get("p_adjusted"), "verdict": s["verdict"]}
                    for s in comparison["scorers"]},
    }


_RUN_BODY = Body(description="{eval_name, dataset: {version_id, name?, version?, rows?}, run_id?, "
                             "project?, suite?, params?, code?, started_at?, row_limit?, "
                             "concurrency?, baseline_run_id?}")
_ROWS_BODY = Body(description='{"rows": [row results with their scores]}')
_FINISH_BODY = Body(description="{status: complete|partial|failed, ended_at?, stats?, "
                                "summaries?: [...], baseline_run_id?}")


class EvalRunsController(Controller):
    """Evaluation runs: written by ``evals run``, read by the console and ``evals runs``."""

    path = "/api/evals"
    exception_handlers = EXCEPTION_HANDLERS
    tags = ["evals"]

    @post("/runs", sync_to_thread=True, status_code=201)
    def create_run(
        self, request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], _RUN_BODY],
    ) -> dict[str, Any]:
        """Start a run (status ``running``). ``run_id`` (32 hex) may be chosen by the
        client so spans can carry it before the server answers. 400 names the bad field."""
        record = validate_run(data)
        project = _str(_obj(data, "a run"), "project", max_len=128)
        record["project"] = scoped_project(request, project or None) or DEFAULT_PROJECT
        storage = storage_of(request)
        storage.insert("eval_runs", [record])
        return run_out(find_run(storage, record["run_id"], record["project"]))

    @post("/runs/{run_id:str}/rows", sync_to_thread=True, status_code=200,
          request_max_body_size=256 * 1024 * 1024)
    def add_rows(self, request: Request[Any, Any, Any], run_id: FromPath[str],
                 data: Annotated[dict[str, Any], _ROWS_BODY],
                 ) -> dict[str, Any]:
        """Store finished rows of a run with their scores; re-sending a row replaces it.
        ``{"run_id", "inserted": n}``."""
        storage = storage_of(request)
        run = find_run(storage, run_id, scoped_project(request, None))
        pairs = validate_rows(data)
        project, rid = run["project"], run["run_id"]
        storage.insert("eval_rows", [{**row, "project": project, "run_id": rid} for row, _ in pairs])
        score_rows = [{**s, "project": project, "run_id": rid, "row_index": row["row_index"],
                       "row_id": row["row_id"]} for row, scores in pairs for s in scores]
        if score_rows:
            storage.insert("eval_scores", score_rows)
        return {"run_id": rid, "inserted": len(pairs)}

    @post("/runs/{run_id:str}/finish", sync_to_thread=True, status_code=200)
    def finish_run(
        self, request: Request[Any, Any, Any], run_id: FromPath[str],
        data: Annotated[dict[str, Any], _FINISH_BODY],
    ) -> dict[str, Any]:
        """Finish a run: its status, run-level stats and per-scorer summaries. With a
        ``baseline_run_id`` the run is compared with it and the answer carries the full
        comparison (as ``GET /api/evals/compare``) in ``comparison``; the run keeps a
        condensed verdict. ``{"run", "summaries", "comparison"}``."""
        body = _obj(data, "finish")
        storage = storage_of(request)
        run = find_run(storage, run_id, scoped_project(request, None))
        status = parse_choice(body.get("status") or "", "status", FINAL_STATUSES)
        if status is None:
            raise BadParameter("status", f"is required: one of {', '.join(FINAL_STATUSES)}")
        stats = body.get("stats") or {}
        if not isinstance(stats, dict):
            raise BadParameter("stats", "must be a JSON object")
        raw_summaries = body.get("summaries") or []
        if not isinstance(raw_summaries, list):
            raise BadParameter("summaries", "must be an array")
        summaries = [validate_summary(s, f"summaries[{i}]") for i, s in enumerate(raw_summaries)]
        baseline_id = _str(body, "baseline_run_id", max_len=64)
        project = run["project"]
        baseline = find_run(storage, baseline_id, project, "baseline_run_id") if baseline_id else None
        ended = _time(body, "ended_at") or datetime.now(UTC)
        if summaries:
            storage.insert("eval_summaries", [{**s, "project": project, "run_id": run["run_id"]}
                                              for s in summaries])
        updated = {**run, "status": status, "ended_at": to_ch_time(ended),
                   "stats": _json_text(stats, "stats"),
                   "baseline_run_id": baseline["run_id"] if baseline else run["baseline_run_id"]}
        comparison = None
        if baseline is not None:
            comparison = compare_runs(run_data(storage, baseline), run_data(storage, updated))
            updated["comparison"] = canonical_json(_condensed(comparison))
        storage.insert("eval_runs", [{k: v for k, v in updated.items()}])
        stored = find_run(storage, run["run_id"], project)
        return {"run": run_out(stored),
                "summaries": read_summaries(storage, project, [run["run_id"]]).get(run["run_id"], []),
                "comparison": comparison}

    @get("/runs", sync_to_thread=True)
    def list_runs(
        self, request: Request[Any, Any, Any],
        project: FromQuery[str | None] = None,
        eval: str | None = Parameter(default=None, description="eval name"),
        suite: FromQuery[str | None] = None,
        status: str | None = Parameter(default=None, description="running|complete|partial|failed"),
        dataset_version_id: FromQuery[str | None] = None,
        params: str | None = Parameter(default=None, description="canonical JSON of the params"),
        limit: int | None = Parameter(default=None, description="1-1000, default 50"),
    ) -> dict[str, Any]:
        """Runs newest first: ``{"runs": [run + "summaries": [...]]}``."""
        page = parse_limit(limit, 50, 1000)
        where = Filters()
        where.eq("project", scoped_project(request, project))
        where.eq("eval_name", eval)
        where.eq("suite", suite)
        where.eq("status", parse_choice(status, "status", RUN_STATUSES))
        where.eq("dataset_version_id", dataset_version_id)
        if params:
            try:
                where.eq("params", canonical_json(json.loads(params)))
            except ValueError:
                raise BadParameter("params", "must be a JSON object") from None
        storage = storage_of(request)
        rows = storage.query(f"SELECT {_RUN_COLUMNS} FROM eval_runs FINAL {where.sql()} "
                             f"ORDER BY started_at DESC, run_id LIMIT {page}", where.params)
        by_project: dict[str, list[str]] = {}
        for r in rows:
            by_project.setdefault(r["project"], []).append(r["run_id"])
        summaries: dict[str, list[dict[str, Any]]] = {}
        for proj, ids in by_project.items():
            summaries.update(read_summaries(storage, proj, ids))
        return {"runs": [{**run_out(r), "summaries": summaries.get(r["run_id"], [])} for r in rows]}

    @get("/runs/{run_id:str}", sync_to_thread=True)
    def get_run(
        self, request: Request[Any, Any, Any], run_id: FromPath[str],
        project: FromQuery[str | None] = None,
        offset: int = Parameter(default=0, ge=0),
        limit: int | None = Parameter(default=None, description="rows, 1-100000, default 1000"),
    ) -> dict[str, Any]:
        """One run (id or a unique 6+ character prefix): ``{"run", "summaries", "rows":
        [{row_index, row_id, row, inputs, output, status, error, latency_ms, tokens, cost,
        trace_id, span_id, scores: [{scorer, value, passed, reason, metadata, error}]}],
        "rows_total"}``."""
        storage = storage_of(request)
        run = find_run(storage, run_id, scoped_project(request, project))
        page = parse_limit(limit, 1000, 100_000)
        total = storage.query("SELECT count() AS n FROM (SELECT row_index FROM eval_rows FINAL "
                              "WHERE project = {p:String} AND run_id = {r:String})",
                              {"p": run["project"], "r": run["run_id"]})
        return {
            "run": run_out(run),
            "summaries": read_summaries(storage, run["project"], [run["run_id"]]).get(run["run_id"], []),
            "rows": read_rows(storage, run["project"], run["run_id"], offset, page),
            "rows_total": int(total[0]["n"]) if total else 0,
        }

    @get("/compare", sync_to_thread=True)
    def compare(
        self, request: Request[Any, Any, Any],
        a: str = Parameter(description="baseline run id (or unique prefix)"),
        b: str = Parameter(description="current run id (or unique prefix)"),
        project: FromQuery[str | None] = None,
        limit: int | None = Parameter(default=None, description="rows listed, 1-100000, default 200"),
    ) -> dict[str, Any]:
        """Compare run ``b`` with baseline ``a``: ``{"a", "b", "same_dataset", "verdict",
        "regressed", "improved", "scorers": [{scorer, kind, baseline: {mean, n}, current,
        n_shared, delta, delta_ci, test, p_value, alpha, min_delta, verdict, worse, better,
        flipped}], "rows": [...flipped pass->fail first], "rows_total"}``."""
        storage = storage_of(request)
        scoped = scoped_project(request, project)
        run_a = find_run(storage, a, scoped, "a")
        run_b = find_run(storage, b, scoped, "b")
        page = parse_limit(limit, 200, 100_000)
        return compare_runs(run_data(storage, run_a), run_data(storage, run_b), row_limit=page)


ROUTES = [EvalRunsController]
