"""End to end: the tracer sends to the real collector (subprocess, real chDB) and the
trace is read back through the query API, ``GET /api/traces/{id}``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

import tracer
from common import attributes as A
from tracer import op

REPO = Path(__file__).resolve().parents[2]


def wait_for_trace(url: str, trace_id: str, spans: int, timeout_s: float = 30) -> dict[str, Any]:
    """The trace once the collector has stored ``spans`` of its spans."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}/api/traces/{trace_id}", timeout=10)
        if response.status_code == 200:
            body = response.json()
            if len(body["spans"]) >= spans:
                return body
        else:
            assert response.status_code == 404, response.text
        time.sleep(0.2)
    raise AssertionError(f"trace {trace_id} has {len(body.get('spans', []))} of {spans} spans")


def run_script(path: Path, *args: str, endpoint: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
    result = subprocess.run([sys.executable, str(path), *args], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env={**env, "SPYGLASS_ENDPOINT": endpoint})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_nested_example_produces_the_right_tree_with_usage_and_cost(
        spyglass_server: Any, project: str) -> None:
    out = run_script(REPO / "examples" / "nested_app.py", project, endpoint=spyglass_server.url)
    trace_id = re.search(r"trace_id=([0-9a-f]{32})", out).group(1)
    assert "Both cities are sunny" in out
    trace = wait_for_trace(spyglass_server.url, trace_id, 9)
    assert trace["project"] == project
    spans = trace["spans"]
    by_id = {s["span_id"]: s for s in spans}
    names = sorted(s["name"] for s in spans)
    assert names == ["agent", "embed", "embed", "plan", "search", "search", "stream_answer",
                     "weather", "weather"]

    def parent_name(span: dict[str, Any]) -> str | None:
        return by_id[span["parent_span_id"]]["name"] if span["parent_span_id"] else None

    expected_parent = {"agent": None, "plan": "agent", "search": "agent", "weather": "agent",
                       "stream_answer": "agent", "embed": "search"}
    for span in spans:
        assert parent_name(span) == expected_parent[span["name"]], span["name"]
        assert span["user_id"] == "demo-user"
        assert span["session_id"] == "session-1"
        assert span["tags"] == ["example"]
    kinds = {s["name"]: s["kind"] for s in spans}
    assert kinds == {"agent": "agent", "plan": "llm", "search": "retrieval",
                     "embed": "embedding", "weather": "tool", "stream_answer": "llm"}

    plan = next(s for s in spans if s["name"] == "plan")
    assert (plan["model"], plan["provider"]) == ("gpt-4o-mini-2024-07-18", "openai")
    assert (plan["input_tokens"], plan["output_tokens"]) == (48, 9)
    assert plan["cost_usd"] > 0
    assert plan["input"]["messages"][0]["role"] == "user"

    answer = next(s for s in spans if s["name"] == "stream_answer")
    assert (answer["input_tokens"], answer["output_tokens"]) == (120, 11)
    assert answer["cost_usd"] > 0
    attributes = answer["attributes"]
    assert attributes[A.STREAM_CHUNKS] == 4
    assert attributes[A.TIME_TO_FIRST_TOKEN_MS] > 0

    embeds = [s for s in spans if s["name"] == "embed"]
    assert {s["model"] for s in embeds} == {"text-embedding-3-small"}
    assert sorted(s["input_tokens"] for s in embeds) == [2, 2]

    agent = next(s for s in spans if s["name"] == "agent")
    assert agent["parent_span_id"] in (None, "")
    assert agent["output"]["answer"] == "Both cities are sunny, about 21°C."
    assert agent["status"] != "error"
    assert agent["resource"][A.PROJECT] == project


def test_readme_tour_runs_as_written(spyglass_server: Any) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## A 30-second tour.*?```python\n(.*?)```", readme, re.S).group(1)
    tour = (REPO / "examples" / "tour.py").read_text()
    assert block.strip() in tour, "examples/tour.py must contain the README tour verbatim"
    started = time.time()
    run_script(REPO / "examples" / "tour.py", endpoint=spyglass_server.url)
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not found:
        response = httpx.get(f"{spyglass_server.url}/api/traces",
                             params={"project": "tour", "limit": 50}, timeout=10)
        assert response.status_code == 200, response.text
        found = [t for t in response.json()["traces"] if t["root_name"] == "answer"
                 and _epoch(t["start_time"]) >= started - 1]
        time.sleep(0.2)
    assert found, "the tour's trace did not arrive"
    trace = wait_for_trace(spyglass_server.url, found[0]["trace_id"], 2)
    ask = next(s for s in trace["spans"] if s["name"] == "ask")
    assert (ask["model"], ask["input_tokens"], ask["output_tokens"]) == ("gpt-4o-mini", 12, 2)
    assert ask["cost_usd"] > 0
    answer = next(s for s in trace["spans"] if s["name"] == "answer")
    assert answer["output"] == "Paris."
    assert ask["parent_span_id"] == answer["span_id"]


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_in_process_tracer_errors_and_feedback_reach_the_collector(
        spyglass_server: Any, project: str) -> None:
    tracer.init(project=project, endpoint=spyglass_server.url)
    try:
        @op(kind="tool")
        def flaky(n: int) -> int:
            raise ValueError(f"bad n={n}")

        @op
        def handler() -> str:
            tracer.current_span().add_feedback("helpful", 0.75, comment="close enough")
            try:
                flaky(3)
            except ValueError:
                pass
            return tracer.current_span().trace_id

        trace_id = handler()
        assert tracer.add_feedback(trace_id, "thumbs_up", True)
        assert tracer.flush(15)
    finally:
        tracer.shutdown(5)
    trace = wait_for_trace(spyglass_server.url, trace_id, 2)
    flaky_span = next(s for s in trace["spans"] if s["name"] == "flaky")
    assert flaky_span["status"] == "error"
    assert "bad n=3" in flaky_span["error"]
    assert flaky_span["input"] == {"n": 3}
    handler_span = next(s for s in trace["spans"] if s["name"] == "handler")
    deadline = time.monotonic() + 15
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(items) < 2:
        response = httpx.get(f"{spyglass_server.url}/api/feedback",
                             params={"trace_id": trace_id}, timeout=10)
        assert response.status_code == 200, response.text
        items = response.json()["feedback"]
        time.sleep(0.2)
    by_name = {f["name"]: f for f in items}
    assert by_name["helpful"]["value"] == 0.75
    assert by_name["helpful"]["span_id"] == handler_span["span_id"]
    assert by_name["helpful"]["comment"] == "close enough"
    assert by_name["helpful"]["project"] == project
    assert by_name["thumbs_up"]["value"] is True
    assert by_name["thumbs_up"]["source"] == "human"
