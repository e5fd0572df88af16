"""tracer.prompts: push/get/format against a real collector, the TTL cache and the local
fallback copy, and spans carrying the prompt version (trace filter, stats group_by)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import tracer
from common import attributes as A
from tests.conftest import free_port
from tracer import op
from tracer import prompts as prompts_api

MESSAGES = [{"role": "system", "content": "You answer for {{ product }}."},
            {"role": "user", "content": "{{ question }}"}]


@pytest.fixture
def prompts(spyglass_server: Any, project: str, tmp_path: Path) -> Any:
    prompts_api.configure(endpoint=spyglass_server.url, project=project,
                          cache_dir=tmp_path / "prompt-cache", ttl_s=60, timeout_s=5)
    prompts_api.clear_cache()
    yield prompts_api
    prompts_api.reset()  # back to the defaults for other tests


def test_push_get_format(prompts: Any) -> None:
    pushed = prompts.push("support-answer", messages=MESSAGES, model="gpt-4o-mini",
                          params={"temperature": 0.1, "max_tokens": 50}, label="production")
    assert pushed.version == "v1" and pushed.labels == ("production",)
    p = prompts.get("support-answer", label="production")
    assert p.version_id == pushed.version_id and not p.from_fallback
    assert p.format(product="Acme", question="Why?") == [
        {"role": "system", "content": "You answer for Acme."}, {"role": "user", "content": "Why?"}]
    assert p.request(product="Acme", question="Why?")["model"] == "gpt-4o-mini"
    assert p.request(product="Acme", question="Why?")["temperature"] == 0.1
    with pytest.raises(prompts.PromptError, match="question"):
        p.format(product="Acme")
    assert prompts.resolve("support-answer:v1") == p
    with pytest.raises(prompts.PromptError, match="no version or label"):
        prompts.get("support-answer", label="staging")


def test_ttl_cache_then_refresh(prompts: Any) -> None:
    prompts.push("cached", text="one {{ x }}", label="production")
    assert prompts.get("cached", label="production").text == "one {{ x }}"
    prompts.push("cached", text="two {{ x }}", label="production")
    # Within the TTL the cached version is served without asking the collector.
    assert prompts.get("cached", label="production").text == "one {{ x }}"
    assert prompts.get("cached", label="production", ttl_s=0).text == "two {{ x }}"


def test_offline_fallback_uses_the_last_copy(prompts: Any, tmp_path: Path) -> None:
    prompts.push("offline", messages=[{"role": "user", "content": "Hi {{ who }}"}], label="production")
    seen = prompts.get("offline", label="production")
    dead = f"http://127.0.0.1:{free_port()}"
    prompts.configure(endpoint=dead, timeout_s=1)
    # Expired cache entry, collector down: the stale in-memory copy.
    stale = prompts.get("offline", label="production", ttl_s=0)
    assert stale.from_fallback and stale.version_id == seen.version_id
    # A new process (empty memory cache): the copy on disk.
    prompts.clear_cache()
    copy = prompts.get("offline", label="production")
    assert copy.from_fallback and copy.version_id == seen.version_id
    assert copy.format(who="Ann") == [{"role": "user", "content": "Hi Ann"}]
    assert list((tmp_path / "prompt-cache").rglob("*.json"))
    with pytest.raises(prompts.PromptUnavailable, match="no local copy"):
        prompts.get("never-fetched", label="production")


def _wait(fn: Any, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_spans_carry_the_prompt_version(prompts: Any, spyglass_server: Any, project: str) -> None:
    url = spyglass_server.url
    v1 = prompts.push("qa", messages=MESSAGES, model="stub-model")
    v2 = prompts.push("qa", messages=[*MESSAGES, {"role": "user", "content": "Be brief."}],
                      model="stub-model")

    @op(kind="llm")
    def call_llm(messages: list[dict[str, Any]], model: str) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}], "model": model}

    @op
    def answer(p: Any, question: str) -> str:
        request = p.request(product="Acme", question=question)
        with p.use():
            return call_llm(request["messages"], request["model"])["choices"][0]["message"]["content"]

    tracer.init(project=project, endpoint=url)
    try:
        answer(v1, "first?")
        answer(v2, "second?")
        answer(v2, "third?")
        assert tracer.flush(15)
    finally:
        tracer.shutdown(5)

    def traces(prompt: str) -> list[dict[str, Any]]:
        return httpx.get(f"{url}/api/traces", params={"project": project, "prompt": prompt}).json()["traces"]

    assert len(_wait(lambda: len(traces("qa")) == 3 and traces("qa"))) == 3
    assert len(traces("qa:v1")) == 1
    assert len(traces("qa:v2")) == 2
    assert len(traces(f"qa:{v2.version_id[:12]}")) == 2
    assert httpx.get(f"{url}/api/traces", params={"project": project, "prompt": "qa:v9"}).status_code == 404

    spans = httpx.get(f"{url}/api/spans", params={"project": project, "kind": "llm"}).json()["spans"]
    assert len(spans) == 3
    for span in spans:
        assert span["attributes"][A.PROMPT_NAME] == "qa"
        assert span["attributes"][A.PROMPT_VERSION] in ("v1", "v2")
    # The op that formatted the prompt carries it too (with the values filled in).
    outer = httpx.get(f"{url}/api/spans", params={"project": project, "name": "answer"}).json()["spans"]
    assert {s["attributes"][A.PROMPT_VERSION_ID] for s in outer} == {v1.version_id, v2.version_id}

    stats = httpx.get(f"{url}/api/stats", params={"project": project, "group_by": "prompt",
                                                  "kind": "llm", "since": "-1h"}).json()
    groups = {s["group"]: s["totals"]["count"] for s in stats["series"]}
    assert groups == {"qa:v1": 1, "qa:v2": 2}
    only_v2 = httpx.get(f"{url}/api/stats", params={"project": project, "prompt": "qa:v2",
                                                    "kind": "llm", "since": "-1h"}).json()
    assert only_v2["totals"]["count"] == 2
