"""Every evaluated row is a trace in the same store as the results: an ``evaluator`` root
span carrying the run's attributes, the task's spans and the scorer's span below it,
found through the collector's ``GET /api/traces/{id}``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from evals.tracing import A
from tests.conftest import start_server

SUITE = """
    from evals import Eval, dataset
    from scorers import scorer
    from tracer import op

    @op(kind="llm")
    def fake_llm(prompt: str) -> dict:
        return {"model": "gpt-4o-mini",
                "choices": [{"message": {"role": "assistant", "content": prompt.upper()}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}

    @op
    def answer(question: str) -> str:
        return fake_llm(question)["choices"][0]["message"]["content"]

    @scorer
    def shouts(output) -> bool:
        return output.isupper()

    traced = Eval(name="traced", dataset=dataset("traced-golden:latest"), task=answer,
                  scorers=[shouts])
"""


def _trace(url: str, trace_id: str, want_spans: int) -> dict[str, Any]:
    """The trace once the collector has ingested ``want_spans`` of its spans."""
    deadline = time.monotonic() + 30
    while True:
        resp = httpx.get(f"{url}/api/traces/{trace_id}", timeout=10)
        if resp.status_code == 200 and len(resp.json()["spans"]) >= want_spans:
            return resp.json()
        assert time.monotonic() < deadline, f"trace {trace_id}: {resp.status_code} {resp.text[:300]}"
        time.sleep(0.2)


def test_rows_are_traced_under_an_evaluator_root_span(evals_cli, tmp_path) -> None:
    e = evals_cli
    e.write("golden.jsonl", "".join(json.dumps({"question": q}) + "\n" for q in ("hi", "ok", "yes")))
    pushed = e.run("datasets", "push", "golden.jsonl", "--name", "traced-golden")
    assert pushed.returncode == 0, pushed.stderr
    e.write("suite.py", SUITE)
    result = e.run("run", "suite.py", "--json", "out.json")
    assert result.returncode == 0, result.stderr
    assert "tracing is off" not in result.stderr
    run = json.loads((e.cwd / "out.json").read_text())["runs"][0]
    assert run["run"]["dataset"]["name"] == "traced-golden" and run["run"]["dataset"]["version"] == "v1"
    run_id = run["run"]["run_id"]
    rows = run["rows"]
    assert len({r["trace_id"] for r in rows}) == 3 and all(len(r["trace_id"]) == 32 for r in rows)
    # Tokens of the task's LLM span are totalled on the row.
    assert all((r["input_tokens"], r["output_tokens"], r["total_tokens"]) == (10, 3, 13) for r in rows)
    assert run["run"]["stats"]["tokens"] == {"input": 30, "output": 9, "total": 39}

    server = None
    url = e.url
    if url is None:  # embedded: the traces are in the data dir the command used
        server = start_server(e.data_dir)
        url = server.url
    try:
        stored = httpx.get(f"{url}/api/evals/runs/{run_id}", params={"project": e.project}).json()
        assert {r["trace_id"] for r in stored["rows"]} == {r["trace_id"] for r in rows}
        for row in rows:
            trace = _trace(url, row["trace_id"], 4)
            assert trace["project"] == e.project
            spans = {s["name"]: s for s in trace["spans"]}
            root = spans["eval:traced"]
            assert root["parent_span_id"] in (None, "") and root["kind"] == "evaluator"
            assert root["span_id"] == row["span_id"]
            assert root["attributes"][A.EVAL_RUN_ID] == run_id
            assert root["attributes"][A.EVAL_NAME] == "traced"
            assert root["attributes"][A.EVAL_ROW_INDEX] == row["row_index"]
            assert root["attributes"][A.EVAL_DATASET] == "traced-golden:v1"
            assert spans["answer"]["parent_span_id"] == root["span_id"]
            llm = spans["fake_llm"]
            assert llm["parent_span_id"] == spans["answer"]["span_id"] and llm["kind"] == "llm"
            assert (llm["input_tokens"], llm["output_tokens"]) == (10, 3)
            scorer_span = spans["shouts"]
            assert scorer_span["kind"] == "evaluator" and scorer_span["parent_span_id"] == root["span_id"]
    finally:
        if server is not None:
            server.stop()
