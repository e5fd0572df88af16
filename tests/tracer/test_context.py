"""``tracer.attributes``, ``log_usage`` / ``log_model`` and the explicit values on spans."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from opentelemetry import trace

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, attrs
from tracer import op


@op
def step() -> str:
    return "ok"


def test_attributes_apply_to_every_span_inside_and_nest(traced: Traced) -> None:
    with tracer.attributes(user_id="u1", session_id="s1", tags=["beta"], metadata={"a": 1}):
        step()
        with tracer.attributes(user_id="u2", tags=["vip", "beta"], metadata={"b": 2, "a": 3}):
            step()
        # A plain OpenTelemetry span started inside gets them too.
        with trace.get_tracer("other").start_as_current_span("raw"):
            pass
    step()
    first, inner, outside = traced.by_name("step")
    a = attrs(first)
    assert (a[A.USER_ID], a[A.SESSION_ID], list(a[A.TAGS])) == ("u1", "s1", ["beta"])
    assert json.loads(a[A.METADATA]) == {"a": 1}
    b = attrs(inner)
    assert (b[A.USER_ID], b[A.SESSION_ID], list(b[A.TAGS])) == ("u2", "s1", ["beta", "vip"])
    assert json.loads(b[A.METADATA]) == {"a": 3, "b": 2}
    assert attrs(traced.one("raw"))[A.USER_ID] == "u1"
    assert not {A.USER_ID, A.SESSION_ID, A.TAGS, A.METADATA} & set(attrs(outside))


async def test_attributes_follow_tasks(traced: Traced) -> None:
    @op
    async def handle() -> str:
        return step()

    async def request(user: str) -> None:
        with tracer.attributes(user_id=user):
            await asyncio.sleep(0)
            await handle()

    await asyncio.gather(request("alice"), request("bob"))
    users = sorted(attrs(s)[A.USER_ID] for s in traced.by_name("step"))
    assert users == ["alice", "bob"]
    for span in traced.by_name("handle"):
        child = next(s for s in traced.by_name("step")
                     if s.parent.span_id == span.context.span_id)
        assert attrs(child)[A.USER_ID] == attrs(span)[A.USER_ID]


def test_log_usage_and_model_on_llm_op_win_over_response(traced: Traced) -> None:
    @op(kind="llm")
    def call_model(prompt: str) -> dict:
        tracer.log_model("claude-sonnet-4-5", provider="anthropic")
        tracer.log_usage(input_tokens=1000, output_tokens=200, cached_tokens=100,
                         reasoning_tokens=50)
        return {"text": "done"}

    call_model("hello")
    a = attrs(traced.one("call_model"))
    assert a[A.GEN_AI_RESPONSE_MODEL] == "claude-sonnet-4-5"
    assert a[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 200
    assert a[A.USAGE_CACHED_TOKENS] == 100
    assert a[A.USAGE_REASONING_TOKENS] == 50
    assert a[A.USAGE_ESTIMATED] is False
    assert a[A.COST_USD] > 0


def test_log_usage_on_other_kinds_sets_plain_attributes(traced: Traced) -> None:
    @op(kind="embedding")
    def embed(texts: list[str]) -> list[list[float]]:
        tracer.log_model("text-embedding-3-small")
        tracer.log_usage(input_tokens=42)
        return [[0.0]]

    embed(["a"])
    a = attrs(traced.one("embed"))
    assert a[A.GEN_AI_REQUEST_MODEL] == "text-embedding-3-small"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 42


def test_log_usage_goes_to_the_innermost_op(traced: Traced) -> None:
    @op(kind="llm")
    def llm_call() -> str:
        tracer.log_usage(input_tokens=7, output_tokens=3)
        tracer.log_model("gpt-4o-mini")
        return "x"

    @op
    def outer() -> str:
        return llm_call()

    outer()
    assert attrs(traced.one("llm_call"))[A.GEN_AI_USAGE_INPUT_TOKENS] == 7
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(traced.one("outer"))


def test_log_usage_outside_an_op_is_ignored_and_logged_once(
        traced: Traced, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="spyglass.tracer"):
        tracer.log_usage(input_tokens=1)
        tracer.log_usage(input_tokens=2)
        tracer.log_model("x")
    usage_lines = [r for r in caplog.records if "log_usage" in r.getMessage()]
    assert len(usage_lines) <= 1  # once per process: an earlier test may have logged it
    assert tracer.failure_counts()["no_op:log_usage"] >= 2
    assert step() == "ok"


def test_llm_op_reads_usage_from_openai_shaped_response(traced: Traced) -> None:
    @op(kind="llm")
    def chat(messages: list[dict], model: str = "gpt-4o-mini", temperature: float = 0.2,
             api_key: str = "sk-secret") -> dict:
        return {"id": "c1", "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"message": {"role": "assistant", "content": "Paris."},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}}

    chat([{"role": "user", "content": "Capital of France?"}])
    span = traced.one("chat")
    a = attrs(span)
    assert a[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert a[A.COST_USD] > 0
    assert json.loads(a[A.GEN_AI_INPUT_MESSAGES])[0]["content"] == "Capital of France?"
    assert json.loads(a[A.INPUTS])["api_key"] == "[REDACTED]"
    assert "sk-secret" not in json.dumps(a)


def test_metadata_is_serialized_safely_and_redacted(traced: Traced) -> None:
    with tracer.attributes(metadata={"api_key": "sk-live", "when": object, "n": 1}):
        step()
    metadata = json.loads(attrs(traced.one("step"))[A.METADATA])
    assert metadata["api_key"] == "[REDACTED]"
    assert metadata["n"] == 1
    assert metadata["when"] == "<class 'object'>"
