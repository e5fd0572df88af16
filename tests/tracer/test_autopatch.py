# ruff: noqa: F811  (the wire stub fixtures are imported from test_llm_sdk_wire)
"""Auto-instrumentation: ``tracer.init()`` patches the real openai and anthropic SDKs, and a
plain SDK call (no ``@op``) against a local wire-format server becomes one LLM span."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from test_llm_sdk_wire import claude, default_prices, oai, provider  # noqa: F401 (fixtures)

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, attrs, json_attr, parent_id
from tracer.autopatch import patched

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
CHAT = "openai.chat.completions.create"
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@pytest.fixture
def traced() -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    tracer.init(project="autopatch-tests", exporter=exporter)
    yield Traced(exporter)
    tracer.shutdown(10)
    tracer.unpatch()


def llm_spans(traced: Traced) -> list:
    return [s for s in traced.spans() if attrs(s).get(A.OP_KIND) in ("llm", "embedding")]


def ours(traced: Traced, name: str) -> list:
    """Spyglass's spans named ``name``. The anthropic SDK also emits its own span per call
    (scope com.anthropic.sdk.python), a child of ours; the collector counts the call once
    (same gen_ai.response.id, tests/collector/test_ingest_zero_code.py)."""
    return [s for s in traced.by_name(name) if s.instrumentation_scope.name == "spyglass.tracer"]


def test_plain_openai_chat_call_is_one_llm_span(traced: Traced, oai: openai.OpenAI) -> None:
    response = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.1)
    assert type(response).__module__.startswith("openai.types")  # the SDK's own object
    span = traced.one(CHAT)
    a = attrs(span)
    assert a[A.OP_KIND] == "llm" and a[A.AUTOPATCH] == CHAT
    assert a[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert a[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117 and a[A.USAGE_CACHED_TOKENS] == 1024
    assert a[A.COST_USD] == pytest.approx((93 * 2.5 + 1024 * 1.25 + 8 * 10) / 1e6)
    assert json_attr(span, A.GEN_AI_INPUT_MESSAGES) == MESSAGES
    assert json_attr(span, A.GEN_AI_OUTPUT_MESSAGES) == [
        {"role": "assistant", "content": "The capital of France is Paris."}]
    assert span.status.status_code is StatusCode.OK
    assert span.end_time > span.start_time
    assert parent_id(span) is None


def test_patched_call_nests_under_the_current_op(traced: Traced, oai: openai.OpenAI) -> None:
    @tracer.op
    def answer(question: str) -> str:
        r = oai.chat.completions.create(model="gpt-4o",
                                        messages=[{"role": "user", "content": question}])
        return r.choices[0].message.content

    assert answer("capital?") == "The capital of France is Paris."
    assert parent_id(traced.one(CHAT)) == traced.one("answer").context.span_id


def test_llm_op_around_a_patched_call_gives_one_llm_span(traced: Traced,
                                                         oai: openai.OpenAI) -> None:
    @tracer.op(kind="llm")
    def chat(messages: list) -> object:
        return oai.chat.completions.create(model="gpt-4o", messages=messages)

    chat(MESSAGES)
    assert [s.name for s in llm_spans(traced)] == ["chat"]
    assert attrs(traced.one("chat"))[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117


def test_openai_stream_keeps_the_sdk_stream_and_records_ttft(traced: Traced,
                                                             oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                         stream_options={"include_usage": True})
    assert isinstance(stream, openai.Stream)
    assert traced.spans() == []  # the span lasts as long as the stream
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello there!"
    span = traced.one(CHAT)
    a = attrs(span)
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 19 and a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert a[A.USAGE_ESTIMATED] is False
    assert a[A.TIME_TO_FIRST_TOKEN_MS] >= 0 and a[A.STREAM_CHUNKS] == 5
    assert json_attr(span, A.GEN_AI_OUTPUT_MESSAGES) == [
        {"role": "assistant", "content": "Hello there!"}]
    assert A.COST_USD in a


def test_openai_stream_closed_early_still_ends_its_span(traced: Traced,
                                                        oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    del stream
    gc.collect()
    assert attrs(traced.one(CHAT))[A.STREAM_CLOSED_EARLY] is True


def test_openai_tool_calls(traced: Traced, oai: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_current_weather", "parameters": {"type": "object", "properties": {}}}}]
    oai.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, tools=tools)
    [out] = json_attr(traced.one(CHAT), A.GEN_AI_OUTPUT_MESSAGES)
    assert out["tool_calls"][0]["function"] == {"name": "get_current_weather",
                                                "arguments": {"location": "Boston, MA"}}


def test_openai_responses_api_and_stream(traced: Traced, oai: openai.OpenAI) -> None:
    oai.responses.create(model="gpt-4.1", input="Tell me a story about a unicorn.")
    events = list(oai.responses.create(model="gpt-4.1", input="again", stream=True))
    assert events
    done, streamed = traced.by_name("openai.responses.create")
    assert attrs(done)[A.GEN_AI_USAGE_INPUT_TOKENS] == 36
    assert attrs(streamed)[A.GEN_AI_USAGE_INPUT_TOKENS] == 36
    assert json_attr(streamed, A.GEN_AI_OUTPUT_MESSAGES)[0]["content"] == "In a peaceful grove..."


def test_openai_embeddings_are_embedding_spans_without_vectors(traced: Traced,
                                                               oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="text-embedding-3-small", input="The food was delicious")
    assert result.data[0].embedding
    span = traced.one("openai.embeddings.create")
    a = attrs(span)
    assert a[A.OP_KIND] == "embedding"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert a[A.COST_USD] == pytest.approx(8 * 0.02 / 1e6)
    assert A.OUTPUT not in a  # vectors are not stored


def test_openai_async_chat_and_stream(traced: Traced, provider) -> None:
    host, port = provider.server_address[:2]

    async def main() -> str:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=f"http://{host}:{port}/v1",
                                    max_retries=0)
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True})
        assert isinstance(stream, openai.AsyncStream)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await client.close()
        return "".join(parts)

    assert asyncio.run(main()) == "Hello there!"
    first, second = traced.by_name(CHAT)
    assert attrs(first)[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117
    assert attrs(second)[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert A.TIME_TO_FIRST_TOKEN_MS in attrs(second)


def test_sdk_errors_propagate_unchanged(traced: Traced, provider) -> None:
    host, port = provider.server_address[:2]
    client = openai.OpenAI(api_key="sk-test", base_url=f"http://{host}:{port}/nowhere",
                           max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    span = traced.one(CHAT)
    assert span.status.status_code is StatusCode.ERROR
    assert "NotFoundError" in span.status.description


def test_anthropic_message_with_cache_tokens(traced: Traced, claude: anthropic.Anthropic) -> None:
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=1024, system="Be brief.",
                           messages=MESSAGES)
    [span] = ours(traced, "anthropic.messages.create")
    sdk_own = [s for s in traced.by_name("anthropic.messages.create") if s is not span]
    assert [parent_id(s) for s in sdk_own] == [span.context.span_id]
    assert attrs(sdk_own[0])[A.GEN_AI_RESPONSE_ID] == attrs(span)[A.GEN_AI_RESPONSE_ID]
    a = attrs(span)
    assert a[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 7095
    assert a[A.USAGE_CACHED_TOKENS] == 4000 and a[A.USAGE_CACHE_CREATION_TOKENS] == 1000
    out = json_attr(span, A.GEN_AI_OUTPUT_MESSAGES)[0]
    assert out["tool_calls"][0]["function"]["arguments"] == {"location": "Paris, France"}
    assert a[A.COST_USD] == pytest.approx((2095 * 3.0 + 4000 * 0.3 + 1000 * 3.75 + 503 * 15.0) / 1e6)


def test_anthropic_stream_and_async(traced: Traced, claude: anthropic.Anthropic,
                                    provider) -> None:
    stream = claude.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                                    messages=MESSAGES, stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)
    assert events
    host, port = provider.server_address[:2]

    async def main() -> None:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=f"http://{host}:{port}",
                                          max_retries=0)
        await client.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                                     messages=MESSAGES)
        await client.close()

    asyncio.run(main())
    streamed, awaited = ours(traced, "anthropic.messages.create")
    assert attrs(streamed)[A.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert A.TIME_TO_FIRST_TOKEN_MS in attrs(streamed)
    assert attrs(awaited)[A.GEN_AI_USAGE_INPUT_TOKENS] == 7095


def test_opt_out_per_provider_and_unpatch(oai: openai.OpenAI,
                                          claude: anthropic.Anthropic) -> None:
    original = openai.resources.chat.completions.Completions.create
    try:
        exporter = InMemorySpanExporter()
        tracer.init(project="autopatch-tests", exporter=exporter, autopatch=False)
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        tracer.flush()
        assert exporter.get_finished_spans() == ()
        exporter = InMemorySpanExporter()  # re-init shuts the previous exporter down
        tracer.init(project="autopatch-tests", exporter=exporter, autopatch=["anthropic"])
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)
        tracer.flush()
        names = {(s.name, s.instrumentation_scope.name) for s in exporter.get_finished_spans()}
        assert ("anthropic.messages.create", "spyglass.tracer") in names
        assert CHAT not in {n for n, _ in names}
        assert all(p.startswith("anthropic.") for p in patched())
        with pytest.raises(ValueError, match="unknown provider"):
            tracer.init(project="autopatch-tests", exporter=InMemorySpanExporter(),
                        autopatch=["cohere"])
    finally:
        tracer.shutdown(10)
        tracer.unpatch()
    assert patched() == []
    assert openai.resources.chat.completions.Completions.create is original


def test_untraced_before_init(oai: openai.OpenAI) -> None:
    tracer.unpatch()
    exporter = InMemorySpanExporter()
    tracer.init(project="autopatch-tests", exporter=exporter)
    tracer.shutdown(10)  # patched, but no live tracer: calls pass straight through
    response = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert response.choices[0].message.content
    assert exporter.get_finished_spans() == ()
    tracer.unpatch()


def test_request_is_recorded_as_messages_and_parameters(traced: Traced,
                                                        oai: openai.OpenAI) -> None:
    oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.3)
    a = attrs(traced.one(CHAT))
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert json.loads(a[A.GEN_AI_INPUT_MESSAGES]) == MESSAGES
    # Not serialized twice: the raw kwargs and the SDK object are not recorded.
    assert A.INPUTS not in a and A.OUTPUT not in a
