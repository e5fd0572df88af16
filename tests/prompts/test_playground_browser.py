"""The console playground: replay a stored LLM span against the OpenAI-compatible stub,
see the new output beside the old one, save the edit as a new prompt version."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tracer
from common import attributes as A
from tests.conftest import ServerHandle, start_server
from tracer import op

pytestmark = pytest.mark.browser


@pytest.fixture
def playground_server(tmp_path: Path, openai_stub: Any) -> Iterator[ServerHandle]:
    handle = start_server(tmp_path / "data", env={
        "SPYGLASS_PLAYGROUND_BASE_URL": openai_stub.base_url,
        "SPYGLASS_PLAYGROUND_API_KEY": "sk-server-secret"})
    yield handle
    handle.stop()


def _seed_llm_span(url: str, project: str) -> tuple[str, str]:
    @op(kind="llm")
    def chat(messages: list[dict[str, Any]], model: str, temperature: float) -> dict[str, Any]:
        return {"id": "c1", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "Paris, probably."}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}

    tracer.init(project=project, endpoint=url)
    try:
        chat([{"role": "system", "content": "Answer briefly."},
              {"role": "user", "content": "Capital of France?"}], "stub-model", 0.3)
        assert tracer.flush(15)
    finally:
        tracer.shutdown(5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        spans = httpx.get(f"{url}/api/spans", params={"project": project, "kind": "llm"}).json()["spans"]
        if spans:
            return spans[0]["trace_id"], spans[0]["span_id"]
        time.sleep(0.3)
    raise AssertionError("the seeded span never arrived")


def test_replay_a_span_side_by_side_and_save_a_version(
        page: Any, playground_server: ServerHandle, openai_stub: Any, project: str) -> None:
    from playwright.sync_api import expect

    url = playground_server.url
    trace_id, span_id = _seed_llm_span(url, project)
    config = httpx.get(f"{url}/api/playground/config").json()
    assert config["configured"] is True and "sk-server-secret" not in json.dumps(config)

    page.goto(f"{url}/traces/{trace_id}?project={project}&span={span_id}")
    page.get_by_role("link", name="Open in playground").click()
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    expect(page.get_by_label("Message 2", exact=True)).to_have_value("Capital of France?")
    expect(page.get_by_label("Model", exact=True)).to_have_value("stub-model")
    expect(page.get_by_label("Temperature", exact=True)).to_have_value("0.3")
    expect(page.get_by_label("Original output")).to_contain_text("Paris, probably.")

    page.get_by_label("Message 1", exact=True).fill("Answer in one word.")
    page.get_by_label("Temperature", exact=True).fill("0")
    openai_stub.reply("Paris.", usage=(8, 1))
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_label("New output")).to_contain_text("Paris.")
    expect(page.get_by_label("Original output")).to_contain_text("Paris, probably.")

    # The collector made the call with the server's key and the edited messages.
    sent = openai_stub.chat_requests()[-1]
    assert sent.headers.get("authorization") == "Bearer sk-server-secret"
    assert sent.body["messages"][0] == {"role": "system", "content": "Answer in one word."}
    assert sent.body["temperature"] == 0 and sent.body["model"] == "stub-model"

    # The replay is stored as a new trace linked to the original span.
    replays = httpx.get(f"{url}/api/spans", params={"project": project, "name": "playground.replay"}).json()["spans"]
    assert len(replays) == 1
    replay = replays[0]
    assert replay["trace_id"] != trace_id and replay["kind"] == "llm"
    assert replay["attributes"][A.REPLAY_OF_TRACE_ID] == trace_id
    assert replay["attributes"][A.REPLAY_OF_SPAN_ID] == span_id
    assert replay["output_tokens"] == 1

    page.get_by_label("Prompt name", exact=True).fill("capitals")
    page.get_by_label("Label", exact=True).fill("staging")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_role("status")).to_contain_text("Saved capitals v1")
    stored = httpx.get(f"{url}/api/prompts/capitals", params={"project": project, "label": "staging"}).json()
    assert stored["content"]["messages"][0]["content"] == "Answer in one word."
    assert stored["content"]["params"] == {"temperature": 0}
    assert stored["content"]["model"] == "stub-model"

    # The prompt page lists it with its label; its playground opens the saved version.
    page.get_by_role("link", name="capitals v1").click()
    expect(page.get_by_label("Version v1")).to_contain_text("staging")
    expect(page.get_by_label("Label history")).to_contain_text("console")
    page.get_by_role("link", name="Open in playground").click()
    expect(page.get_by_label("Message 1", exact=True)).to_have_value("Answer in one word.")

    # The replay trace links back to the span it replayed.
    page.goto(f"{url}/traces/{replay['trace_id']}?project={project}")
    page.get_by_role("link", name="original span").click()
    expect(page.get_by_label("Original output")).to_have_count(0)
    expect(page.get_by_role("link", name="Open in playground")).to_be_visible()
    assert span_id in page.url
