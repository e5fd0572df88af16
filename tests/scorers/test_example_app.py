"""examples/guardrail_app.py against the real collector: the PII leak is blocked and the
block is visible in the stored trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from common import attributes as A

REPO = Path(__file__).resolve().parents[2]


def run_app(url: str, project: str, *args: str) -> dict:
    env = {**os.environ, "SPYGLASS_ENDPOINT": url, "SPYGLASS_PROJECT": project}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "guardrail_app.py"), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stored_trace(url: str, trace_id: str, spans: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        resp = httpx.get(f"{url}/api/traces/{trace_id}")
        if resp.status_code == 200 and len(resp.json()["spans"]) >= spans:
            return resp.json()["spans"]
        time.sleep(0.1)
    raise AssertionError(f"trace {trace_id} not stored with {spans} spans")


def test_the_example_blocks_a_pii_leak_and_the_trace_shows_it(spyglass_server, project: str) -> None:
    out = run_app(spyglass_server.url, project, "What email do you have for Maria?")
    assert out["reply"] == "I'm sorry, I can't share that. A support agent will follow up."
    spans = {s["name"]: s for s in stored_trace(spyglass_server.url, out["trace_id"], 5)}
    guard = spans["output-guardrail"]
    assert guard["kind"] == "guardrail"
    assert guard["parent_span_id"] == spans["answer"]["span_id"]
    attrs = guard["attributes"]
    assert attrs[A.GUARDRAIL_PASSED] is False
    assert attrs[A.GUARDRAIL_ACTION] == "block"
    assert attrs[A.GUARDRAIL_FAILED_SCORERS] == ["pii"]
    assert guard["output"]["failed"] == ["pii"]
    # The leaked data reached the llm span (that is the model's output) but not the guardrail's.
    assert "maria.lopez@example.org" in json.dumps(spans["generate"]["output"])
    assert "maria.lopez" not in json.dumps(guard)
    assert spans["generate"]["input_tokens"] == 52 and spans["generate"]["kind"] == "llm"


def test_the_example_redacts_and_passes_clean_answers(spyglass_server, project: str) -> None:
    red = run_app(spyglass_server.url, project, "--redact", "What email do you have for Maria?")
    assert red["reply"] == ("Here is what we have on file: Maria Lopez, [EMAIL], card [CREDIT_CARD], "
                            "customer since 2019.")
    spans = {s["name"]: s for s in stored_trace(spyglass_server.url, red["trace_id"], 5)}
    assert spans["output-guardrail"]["attributes"][A.GUARDRAIL_ACTION] == "redact"
    ok = run_app(spyglass_server.url, project, "Where is my order?")
    assert ok["reply"].startswith("Your order left our warehouse")
    spans = {s["name"]: s for s in stored_trace(spyglass_server.url, ok["trace_id"], 5)}
    assert spans["output-guardrail"]["attributes"][A.GUARDRAIL_PASSED] is True
