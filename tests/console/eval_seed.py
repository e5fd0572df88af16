"""Datasets and evaluation runs for the console's browser tests, stored through the
collector's real HTTP API (the same calls ``evals run`` makes), each row with a real
trace sent through the OpenTelemetry SDK's OTLP exporter so its link opens.

Run A answers 9 of 10 questions right; run B, compared against A, only 3: a regression
the comparison must report, with the rows that flipped from pass to fail.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from common import attributes as A
from common import stats

QUESTIONS = [
    ("capital of France", "Paris"), ("capital of Italy", "Rome"), ("capital of Spain", "Madrid"),
    ("capital of Japan", "Tokyo"), ("capital of Kenya", "Nairobi"), ("capital of Peru", "Lima"),
    ("capital of Egypt", "Cairo"), ("capital of Chile", "Santiago"), ("capital of Norway", "Oslo"),
    ("capital of Canada", "Ottawa"),
]


@dataclass
class EvalSeed:
    """Ids of what was stored."""

    dataset: str
    baseline_run: str = ""
    current_run: str = ""
    comparison: dict = field(default_factory=dict)
    version_ids: list[str] = field(default_factory=list)


def _check(resp: httpx.Response) -> dict:
    if resp.status_code >= 400:
        raise AssertionError(f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}")
    return resp.json()


def _traced_rows(url: str, project: str, run_id: str, answers: list[str]) -> list[str]:
    """One evaluator span per row, exported over OTLP; returns their trace ids."""
    provider = TracerProvider(resource=Resource.create({A.PROJECT: project}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("console-eval-tests")
    ids = []
    for i, ((question, _), answer) in enumerate(zip(QUESTIONS, answers, strict=True)):
        with tracer.start_as_current_span("qa", attributes={
            A.OP_KIND: "evaluator", A.EVAL_RUN_ID: run_id, A.EVAL_NAME: "qa", A.EVAL_ROW_INDEX: i,
            A.INPUTS: json.dumps({"question": question}), A.OUTPUT: json.dumps(answer),
        }) as span:
            ids.append(format(span.get_span_context().trace_id, "032x"))
    provider.shutdown()
    return ids


def _run(client: httpx.Client, url: str, project: str, version: dict, answers: list[str],
         baseline: str | None, params: dict) -> tuple[str, dict]:
    run = _check(client.post("/api/evals/runs", json={
        "eval_name": "qa", "project": project, "suite": "tests/console/suite.py", "params": params,
        "dataset": {"name": version["name"], "version": version["version"],
                    "version_id": version["version_id"], "rows": version["row_count"]},
    }))
    run_id = run["run_id"]
    traces = _traced_rows(url, project, run_id, answers)
    rows, exact, lengths = [], [], []
    for i, ((question, expected), answer) in enumerate(zip(QUESTIONS, answers, strict=True)):
        ok = answer == expected
        exact.append(ok)
        lengths.append(float(len(answer)))
        rows.append({"row_index": i, "row_id": f"r{i}", "row": {"question": question, "answer": expected},
                     "inputs": {"question": question}, "output": answer, "status": "ok",
                     "latency_ms": 20.0 + i, "trace_id": traces[i],
                     "scores": [{"scorer": "exact_match", "value": ok, "passed": ok},
                                {"scorer": "answer_length", "value": float(len(answer))}]})
    _check(client.post(f"/api/evals/runs/{run_id}/rows", json={"rows": rows}))
    summaries = [
        {"scorer": "exact_match", "kind": "binary",
         **stats.summarize_values("binary", [1.0 if e else 0.0 for e in exact], exact)},
        {"scorer": "answer_length", "kind": "numeric", "higher_is_better": False,
         **stats.summarize_values("numeric", lengths, [])},
    ]
    latencies = [r["latency_ms"] for r in rows]
    pct = stats.percentiles(latencies, (50, 95))
    body = {"status": "complete", "summaries": summaries, "stats": {
        "rows_total": len(rows), "rows_done": len(rows), "ok": len(rows), "errors": 0,
        "timeouts": 0, "latency_ms": {"p50": pct["p50"], "p95": pct["p95"]},
        "tokens": {"input": 0, "output": 0, "total": 0}, "cost_usd": None}}
    if baseline:
        body["baseline_run_id"] = baseline
    done = _check(client.post(f"/api/evals/runs/{run_id}/finish", json=body))
    return run_id, done.get("comparison") or {}


def seed_evals(url: str, project: str) -> EvalSeed:
    """Two dataset versions and two runs of eval ``qa`` (the second regressed)."""
    name = f"qa-golden-{uuid.uuid4().hex[:6]}"
    out = EvalSeed(dataset=name)
    with httpx.Client(base_url=url, timeout=30) as client:
        rows = [{"id": i, "question": q, "answer": a} for i, (q, a) in enumerate(QUESTIONS)]
        v1 = _check(client.post("/api/datasets", json={"name": name, "project": project,
                                                        "rows": rows, "key": "id"}))
        changed = [dict(r) for r in rows]
        changed[3]["answer"] = "Tokyo, Japan"
        changed.append({"id": 10, "question": "capital of Ghana", "answer": "Accra"})
        del changed[0]
        v2 = _check(client.post("/api/datasets", json={"name": name, "project": project,
                                                        "rows": changed, "key": "id",
                                                        "description": "fix Tokyo, add Ghana"}))
        out.version_ids = [v1["version_id"], v2["version_id"]]
        good = [a for _, a in QUESTIONS]
        good[9] = "Toronto"
        bad = list(good)
        # Seven flips: exact McNemar p = 2/2^7, still below 0.05 after Holm over both scorers.
        for i in (0, 2, 4, 5, 6, 7, 8):
            bad[i] = "I am not sure."
        out.baseline_run, _ = _run(client, url, project, v1, good, None, {"model": "gpt-4o"})
        time.sleep(0.01)
        out.current_run, out.comparison = _run(client, url, project, v1, bad, out.baseline_run,
                                               {"model": "gpt-4o-mini"})
    return out
