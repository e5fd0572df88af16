"""/api/playground without a browser: the endpoint's errors are answered and stored, the
prompt version is recorded on the replay span, the key never leaves the server, and the
source of spans in other shapes (GenAI messages attribute, a plain text input)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.api.prompts import output_text, span_source
from common import attributes as A
from tests.conftest import ServerHandle, start_server


@pytest.fixture
def server(tmp_path: Path, openai_stub: Any) -> Iterator[ServerHandle]:
    handle = start_server(tmp_path / "data", env={
        "SPYGLASS_PLAYGROUND_BASE_URL": openai_stub.base_url,
        "SPYGLASS_PLAYGROUND_API_KEY": "sk-never-shown", "SPYGLASS_PLAYGROUND_MODEL": "stub-model"})
    yield handle
    handle.stop()


def test_run_records_prompt_version_and_endpoint_errors(server: ServerHandle, openai_stub: Any,
                                                        project: str) -> None:
    url = server.url
    v1 = httpx.post(f"{url}/api/prompts", json={
        "project": project, "name": "greet", "messages": [{"role": "user", "content": "Hi"}]}).json()
    openai_stub.reply("Hello!", usage=(4, 2))
    ok = httpx.post(f"{url}/api/playground/run", json={
        "project": project, "messages": [{"role": "user", "content": "Hi"}], "prompt": "greet:v1",
        "params": {"max_tokens": 5}}, timeout=60)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["output"], body["error"], body["model"]) == ("Hello!", None, "stub-model")
    assert "sk-never-shown" not in ok.text
    assert openai_stub.chat_requests()[-1].body == {
        "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5, "model": "stub-model"}

    openai_stub.error(500, "boom")
    failed = httpx.post(f"{url}/api/playground/run", json={
        "project": project, "messages": [{"role": "user", "content": "Hi"}]}, timeout=60).json()
    assert failed["output"] is None and "HTTP 500" in failed["error"]

    spans = httpx.get(f"{url}/api/spans", params={"project": project, "name": "playground.replay"}
                      ).json()["spans"]
    by_status = {s["status"]: s for s in spans}
    assert set(by_status) == {"ok", "error"}
    assert by_status["ok"]["attributes"][A.PROMPT_VERSION_ID] == v1["version_id"]
    assert by_status["ok"]["attributes"][A.PROMPT_VERSION] == "v1"
    assert "HTTP 500" in by_status["error"]["error"]
    traces = httpx.get(f"{url}/api/traces", params={"project": project, "prompt": "greet:v1"}).json()
    assert [t["trace_id"] for t in traces["traces"]] == [by_status["ok"]["trace_id"]]

    bad = httpx.post(f"{url}/api/playground/run", json={
        "messages": [{"role": "user", "content": "Hi"}], "replay_trace_id": "xyz"})
    assert bad.status_code == 400 and "replay_trace_id" in bad.json()["error"]
    unknown = httpx.get(f"{url}/api/playground/source",
                        params={"trace_id": "a" * 32, "span_id": "b" * 16})
    assert unknown.status_code == 404


def test_span_source_reads_other_shapes() -> None:
    base = {"trace_id": "a" * 32, "span_id": "b" * 16, "project": "p", "name": "x", "model": "m"}
    genai = span_source({**base, "input": "", "output": "", "attributes": json.dumps({
        A.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "content": "q"}]),
        A.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "content": "a"}]),
        A.PROMPT_NAME: "qa", A.PROMPT_VERSION: "v2"})})
    assert genai.messages == [{"role": "user", "content": "q"}]
    assert (genai.output, genai.model, genai.prompt) == ("a", "m", "qa:v2")
    wrapped = span_source({**base, "attributes": "{}", "output": json.dumps(
        {"content": [{"type": "text", "text": "hi"}]}), "input": json.dumps(
        {"kwargs": {"messages": [{"role": "user", "content": "q"}], "model": "claude",
                    "temperature": 0.5}})})
    assert (wrapped.model, wrapped.params, wrapped.output) == ("claude", {"temperature": 0.5}, "hi")
    text = span_source({**base, "attributes": "{}", "input": json.dumps("plain question"),
                        "output": json.dumps("plain answer")})
    assert text.messages == [{"role": "user", "content": "plain question"}]
    assert output_text([{"role": "assistant", "content": "last"}]) == "last"
