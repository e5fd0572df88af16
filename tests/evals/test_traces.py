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


JUDGE_SUITE = """
    from evals import Eval
    from scorers import llm_judge

    def answer(question: str) -> str:
        return "Paris" if "France" in question else "Lyon"

    judged = Eval(name="judged", dataset=[{"question": "capital of France?", "expected": "Paris"},
                                          {"question": "capital of Italy?", "expected": "Rome"}],
                  task=answer, scorers=[llm_judge.correctness(cache=False)])
"""


def test_judge_calls_are_traced_under_the_row_with_their_cost(server_evals) -> None:
    from tests.stubs.openai_server import OpenAIStub

    stub = OpenAIStub().start()
    try:
        stub.chat_responder = lambda body: (
            '{"score": true, "reasoning": "matches"}' if "Paris" in json.dumps(body)
            else '{"score": false, "reasoning": "wrong city"}')
        e = server_evals
        e.write("suite.py", JUDGE_SUITE)
        result = e.run("run", "suite.py", "--json", "j.json", extra_env={
            "SPYGLASS_JUDGE_BASE_URL": stub.base_url, "SPYGLASS_JUDGE_MODEL": "gpt-4o-mini",
            "SPYGLASS_JUDGE_API_KEY": "sk-test"})
        assert result.returncode == 0, result.stderr
        run = json.loads((e.cwd / "j.json").read_text())["runs"][0]
    finally:
        stub.stop()
    rows = {r["row_index"]: r for r in run["rows"]}
    assert [rows[i]["scores"][0]["value"] for i in (0, 1)] == [True, False]
    assert rows[1]["scores"][0]["reason"] == "wrong city"
    for row in rows.values():
        assert row["cost_usd"] is None and row["input_tokens"] == 0  # the task made no LLM call
        assert row["scorer_cost_usd"] > 0                            # the judge did
    assert run["run"]["stats"]["scorer_cost_usd"] > 0
    trace = _trace(e.url, rows[0]["trace_id"], 3)
    spans = {s["span_id"]: s for s in trace["spans"]}
    root = next(s for s in spans.values() if s["name"] == "eval:judged")
    judge = next(s for s in spans.values() if s["kind"] == "llm")
    parent = spans[judge["parent_span_id"]]
    assert parent["kind"] == "evaluator" and parent["parent_span_id"] == root["span_id"]
    assert judge["cost_usd"] and judge["cost_usd"] > 0
