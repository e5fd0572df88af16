"""Evaluation runs: ``/api/evals/runs`` (create, rows, finish, manifest, list, detail),
``/api/evals/compare`` and the project log ``/api/evals/log``.

``evals run`` creates a run, streams its finished rows (with their scores and trace ids)
in batches, finishes it with per-scorer summaries (which seals it: every later write is a
409), and attaches its signed manifest. The collector compares a run with the baseline it
names using the same statistics module as the CLI (``common.compare``). Conversions live in
``collector.runs.convert``, reads in ``collector.runs.store``, sealing in
``collector.runs.seal``; the bodies are the Structs of ``common.wire.evals``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.body import BODY_EXCEPTION_HANDLERS
from collector.queries.errors import BadParameter
from collector.queries.params import parse_choice, parse_limit, parse_time
from collector.queries.sql import Filters, to_ch_time
from collector.runs import seal
from collector.runs.convert import (
    canonical_text,
    json_text,
    row_records,
    run_out,
    run_record,
    summary_record,
)
from collector.runs.store import (
    RUN_COLUMNS,
    count_rows,
    find_run,
    read_rows,
    read_summaries,
    run_data,
    run_exists,
)
from common.compare import compare_runs
from common.wire.evals import FinishIn, ManifestIn, RowsIn, RunCreate

DEFAULT_PROJECT = "default"
RUN_STATUSES = ("running", "complete", "partial", "failed")


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


class EvalRunsController(Controller):
    """Evaluation runs: written by ``evals run``, read by the console and ``evals runs``."""

    path = "/api/evals"
    exception_handlers = BODY_EXCEPTION_HANDLERS
    tags = ["evals"]

    @post("/runs", sync_to_thread=True, status_code=201)
    def create_run(self, request: Request[Any, Any, Any], data: JSONBody[RunCreate]) -> dict[str, Any]:
        """Start a run (status ``running``). ``run_id`` (32 hex) may be chosen by the
        client so spans can carry it before the server answers; an id already used is
        refused with 409 (a re-run is a new run). 400 names the bad field."""
        project = scoped_project(request, data.project or None) or DEFAULT_PROJECT
        record = run_record(data, project)
        storage = storage_of(request)
        with seal.run_lock(record["run_id"]):
            existing = run_exists(storage, record["run_id"])
            if existing is not None:
                raise seal.Conflict(f"run {record['run_id']} already exists ({existing['status']}); "
                                    "a run is never replaced, start a new run with a new id")
            storage.insert("eval_runs", [record])
        return run_out(find_run(storage, record["run_id"], record["project"]))

    @post("/runs/{run_id:str}/rows", sync_to_thread=True, status_code=200,
          request_max_body_size=256 * 1024 * 1024)
    def add_rows(self, request: Request[Any, Any, Any], run_id: FromPath[str],
                 data: JSONBody[RowsIn]) -> dict[str, Any]:
        """Store finished rows of a running run with their scores; re-sending a row
        replaces it while the run runs. 409 once the run is finished (sealed).
        ``{"run_id", "inserted": n}``."""
        storage = storage_of(request)
        scoped = scoped_project(request, None)
        rid = find_run(storage, run_id, scoped)["run_id"]
        pairs = row_records(data)
        with seal.run_lock(rid):
            # Read the status inside the lock the seal takes: no row lands after it.
            run = find_run(storage, rid, scoped)
            seal.ensure_open(run, "add rows")
            project = run["project"]
            storage.insert("eval_rows", [{**row, "project": project, "run_id": rid}
                                         for row, _ in pairs])
            score_rows = [{**s, "project": project, "run_id": rid, "row_index": row["row_index"],
                           "row_id": row["row_id"]} for row, scores in pairs for s in scores]
            if score_rows:
                storage.insert("eval_scores", score_rows)
        return {"run_id": rid, "inserted": len(pairs)}

    @post("/runs/{run_id:str}/finish", sync_to_thread=True, status_code=200)
    def finish_run(self, request: Request[Any, Any, Any], run_id: FromPath[str],
                   data: JSONBody[FinishIn]) -> dict[str, Any]:
        """Finish and seal a run: its status, run-level stats and per-scorer summaries,
        and the hash-chain head of its rows. With a ``baseline_run_id`` the run is compared
        with it and the answer carries the full comparison (as ``GET /api/evals/compare``)
        in ``comparison``; the run keeps a condensed verdict. 409 when already finished.
        ``{"run", "summaries", "comparison"}``."""
        storage = storage_of(request)
        scoped = scoped_project(request, None)
        rid = find_run(storage, run_id, scoped)["run_id"]
        summaries = [summary_record(s, f"summaries[{i}]") for i, s in enumerate(data.summaries)]
        ended = (parse_time(data.ended_at, "ended_at") if data.ended_at else None) or datetime.now(UTC)
        stats_text = json_text(data.stats, "stats")
        with seal.run_lock(rid):
            run = find_run(storage, rid, scoped)
            seal.ensure_open(run, "finish it again")
            project = run["project"]
            baseline = (find_run(storage, data.baseline_run_id, project, "baseline_run_id")
                        if data.baseline_run_id else None)
            if summaries:
                storage.insert("eval_summaries", [{**s, "project": project, "run_id": rid}
                                                  for s in summaries])
            head, _ = seal.stored_head(storage, run)
            updated = {**run, "status": data.status, "ended_at": to_ch_time(ended),
                       "stats": stats_text, "chain_head": head,
                       "baseline_run_id": baseline["run_id"] if baseline else run["baseline_run_id"]}
            comparison = None
            if baseline is not None:
                comparison = compare_runs(run_data(storage, baseline), run_data(storage, updated))
                updated["comparison"] = canonical_text(_condensed(comparison))
            storage.insert("eval_runs", [updated])
        stored = find_run(storage, rid, project)
        return {"run": run_out(stored),
                "summaries": read_summaries(storage, project, [rid]).get(rid, []),
                "comparison": comparison}

    @post("/runs/{run_id:str}/manifest", sync_to_thread=True, status_code=201)
    def attach_manifest(self, request: Request[Any, Any, Any], run_id: FromPath[str],
                        data: JSONBody[ManifestIn]) -> dict[str, Any]:
        """Attach the signed manifest of a finished run (``common.records``): once; it must
        sign exactly the stored rows (chain head), summaries, status and verdict, and
        extend the project's log head (409 when the head moved: sign again).
        ``{"run_id", "project", "seq", "manifest_hash", "key_id"}``."""
        storage = storage_of(request)
        run = find_run(storage, run_id, scoped_project(request, None))
        return seal.attach(storage, run, data)

    @get("/runs/{run_id:str}/manifest", sync_to_thread=True)
    def get_manifest(self, request: Request[Any, Any, Any], run_id: FromPath[str],
                     project: FromQuery[str | None] = None) -> dict[str, Any]:
        """A run's seal, checked now: ``{"run_id", "state": open|unsigned|verified|broken,
        "problem", "checked", "manifest", "signature", "public_key", "key_id", "seq",
        "manifest_hash"}``."""
        storage = storage_of(request)
        run = find_run(storage, run_id, scoped_project(request, project))
        return {"run_id": run["run_id"], **seal.seal_of(storage, run)}

    @get("/log", sync_to_thread=True)
    def get_log(self, request: Request[Any, Any, Any], project: FromQuery[str | None] = None,
                head: bool = Parameter(default=False, description="only the head")) -> dict[str, Any]:
        """The project's append-only log of signed manifests: ``{"project", "head":
        {seq, manifest_hash, run_id}, "entries": [{seq, run_id, manifest_hash, manifest,
        signature, public_key, key_id}]}`` (``entries`` omitted with ``head=true``)."""
        storage = storage_of(request)
        name = scoped_project(request, project) or DEFAULT_PROJECT
        out: dict[str, Any] = {"project": name, "head": seal.log_head(storage, name)}
        if not head:
            out["entries"] = seal.log_entries(storage, name)
        return out

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
                where.eq("params", canonical_text(json.loads(params)))
            except ValueError:
                raise BadParameter("params", "must be a JSON object") from None
        storage = storage_of(request)
        rows = storage.query(f"SELECT {RUN_COLUMNS} FROM eval_runs FINAL {where.sql()} "
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
        return {
            "run": run_out(run),
            "summaries": read_summaries(storage, run["project"], [run["run_id"]]).get(run["run_id"], []),
            "rows": read_rows(storage, run["project"], run["run_id"], offset, page),
            "rows_total": count_rows(storage, run["project"], run["run_id"]),
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
        flipped}], "rows": [{row_id, row_index, inputs, flips, a, b}: a and b are each run's
        {status, output, error, trace_id, scores}, flipped pass->fail first], "rows_total"}``."""
        storage = storage_of(request)
        scoped = scoped_project(request, project)
        run_a = find_run(storage, a, scoped, "a")
        run_b = find_run(storage, b, scoped, "b")
        page = parse_limit(limit, 200, 100_000)
        return compare_runs(run_data(storage, run_a), run_data(storage, run_b), row_limit=page)


ROUTES = [EvalRunsController]
