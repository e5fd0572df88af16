"""Wire bodies -> storage rows, and storage rows -> the API's answers."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from collector.queries.errors import BadParameter
from collector.queries.params import parse_time
from collector.queries.sql import parse_json_text, to_ch_time
from common.canonical import canonical_json
from common.timetext import rfc3339_from_ch
from common.wire.evals import MAX_ROWS_PER_POST, RowIn, RowsIn, RunCreate, ScoreIn, SummaryIn


def canonical_text(value: Any) -> str:
    """Canonical JSON text (the params of a run are stored this way, so they compare)."""
    return canonical_json(value)


def json_text(value: Any, name: str) -> str:
    """JSON text of a body value; BadParameter naming ``name`` when it has NaN/Infinity."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadParameter(name, f"is not JSON-serializable: {exc}") from None


def _time(value: str | None, name: str) -> datetime | None:
    return parse_time(value, name) if value else None


def _finite(value: float | None, name: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise BadParameter(name, f"must be a finite number, got {value!r}")
    return value


def rfc3339(value: Any) -> str | None:
    """A stored ``YYYY-MM-DD hh:mm:ss.ffffff`` time as RFC 3339 UTC text."""
    if value in (None, ""):
        return None
    return rfc3339_from_ch(str(value))


def run_record(body: RunCreate, project: str) -> dict[str, Any]:
    """A new run's storage row."""
    ds, code = body.dataset, body.code
    started = _time(body.started_at, "started_at") or datetime.now(UTC)
    return {
        "project": project,
        "run_id": (body.run_id or uuid.uuid4().hex).lower(),
        "eval_name": body.eval_name, "suite": body.suite or "",
        "params": canonical_text(body.params),
        "dataset_name": ds.name or "", "dataset_version": ds.version or "",
        "dataset_version_id": ds.version_id, "dataset_rows": ds.rows,
        "git_commit": (code.git_commit if code else None) or "",
        "git_dirty": None if code is None or code.git_dirty is None else int(code.git_dirty),
        "code_fingerprint": (code.fingerprint if code else None) or "",
        "status": "running", "started_at": to_ch_time(started), "ended_at": None,
        "row_limit": body.row_limit, "concurrency": body.concurrency,
        "baseline_run_id": (body.baseline_run_id or "").lower(), "stats": "{}", "comparison": "",
        "chain_head": "",
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
        "status": row["status"], "started_at": rfc3339(row["started_at"]),
        "ended_at": rfc3339(row["ended_at"]), "row_limit": row["row_limit"],
        "concurrency": int(row["concurrency"]), "baseline_run_id": row["baseline_run_id"] or None,
        "stats": parse_json_text(row["stats"]) or {},
        "comparison": parse_json_text(row["comparison"]) or None,
        "sealed": row["status"] != "running",
        "chain_head": row.get("chain_head") or None,
    }


def _score_row(score: ScoreIn, where: str) -> dict[str, Any]:
    value = score.value
    if value is None:
        vtype, num, label = "none", None, ""
    elif isinstance(value, bool):
        vtype, num, label = "bool", float(value), ""
    elif isinstance(value, int | float):
        vtype, num, label = ("number", float(value), "") if math.isfinite(value) else ("none", None, "")
    else:
        vtype, num, label = "label", None, value
    return {
        "scorer": score.scorer, "value_type": vtype, "value_num": num, "value_label": label,
        "passed": None if score.passed is None else int(score.passed),
        "reason": score.reason or "",
        "metadata": json_text(score.metadata, f"{where}.metadata") if score.metadata else "",
        "error": score.error or "",
    }


def _row(row: RowIn, where: str) -> dict[str, Any]:
    started = _time(row.started_at, f"{where}.started_at") or datetime.now(UTC)
    return {
        "row_index": row.row_index, "row_id": row.row_id,
        "row_data": json_text(row.row or {}, f"{where}.row"),
        "inputs": json_text(row.inputs, f"{where}.inputs"),
        "output": json_text(row.output, f"{where}.output"),
        "status": row.status, "error": row.error or "", "error_type": row.error_type or "",
        "attempts": row.attempts,
        "latency_ms": _finite(row.latency_ms, f"{where}.latency_ms") or 0.0,
        "input_tokens": row.input_tokens, "output_tokens": row.output_tokens,
        "total_tokens": row.total_tokens,
        "cost_usd": _finite(row.cost_usd, f"{where}.cost_usd"),
        "scorer_cost_usd": _finite(row.scorer_cost_usd, f"{where}.scorer_cost_usd"),
        "trace_id": (row.trace_id or "").lower(), "span_id": (row.span_id or "").lower(),
        "started_at": to_ch_time(started),
    }


def row_records(body: RowsIn) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(row, scores) storage rows of a rows body; BadParameter names ``rows[i].field``."""
    if not body.rows:
        raise BadParameter("rows", "is required: a non-empty JSON array")
    if len(body.rows) > MAX_ROWS_PER_POST:
        raise BadParameter("rows", f"at most {MAX_ROWS_PER_POST} rows per request")
    out = []
    for i, row in enumerate(body.rows):
        where = f"rows[{i}]"
        names = [s.scorer for s in row.scores]
        if len(set(names)) != len(names):
            raise BadParameter(f"{where}.scores", "names a scorer twice")
        out.append((_row(row, where),
                    [_score_row(s, f"{where}.scores[{j}]") for j, s in enumerate(row.scores)]))
    return out


def summary_record(s: SummaryIn, where: str) -> dict[str, Any]:
    """A per-scorer summary's storage row."""
    for name in ("mean", "ci_low", "ci_high", "pass_rate"):
        _finite(getattr(s, name), f"{where}.{name}")
    return {
        "scorer": s.scorer, "kind": s.kind, "higher_is_better": int(s.higher_is_better),
        "n": s.n, "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high,
        "pass_rate": s.pass_rate, "missing": s.missing, "errors": s.errors,
        "min_delta": 0.0 if s.min_delta is None else s.min_delta,
        "alpha": 0.05 if s.alpha is None else s.alpha,
        "summary": json_text(s.summary, f"{where}.summary"),
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


def score_value(row: dict[str, Any]) -> Any:
    """A stored score's value (bool, float, label or None)."""
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
        "scorer": row["scorer"], "value": score_value(row),
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
        "span_id": row["span_id"] or None, "started_at": rfc3339(row["started_at"]),
        "scores": scores,
    }
