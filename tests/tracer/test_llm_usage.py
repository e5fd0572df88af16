"""usage.extract on OpenAI, Anthropic and Gemini responses, objects and streams."""

from __future__ import annotations

from typing import Any

import pytest
from test_llm_payloads import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_STREAM,
    GEMINI_RESPONSE,
    OPENAI_CHAT,
    OPENAI_EMBEDDINGS,
    OPENAI_LEGACY_COMPLETION,
    OPENAI_REASONING,
    OPENAI_RESPONSES,
    OPENAI_RESPONSES_STREAM,
    OPENAI_TOOL_CALL,
    OPENAI_TOOL_STREAM,
    as_object,
    as_pydantic,
    openai_stream,
)

from tracer.llm.usage import Usage, extract, infer_provider

SHAPES = [lambda p: p, as_object, as_pydantic]
SHAPE_IDS = ["dict", "attrs", "pydantic"]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_openai_chat_completion(shape: Any) -> None:
    info = extract(shape(OPENAI_CHAT))
    assert info is not None
    assert info.model == "gpt-4o-2024-08-06"
    assert info.provider == "openai"
    assert info.operation == "chat"
    assert info.response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert info.usage == Usage(input_tokens=1117, output_tokens=8, cached_tokens=1024,
                               reasoning_tokens=0, total_tokens=1125)
    assert info.output_messages == [{"role": "assistant",
                                     "content": "The capital of France is Paris."}]
    assert info.finish_reasons == ["stop"]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_openai_tool_calls_have_parsed_arguments(shape: Any) -> None:
    info = extract(shape(OPENAI_TOOL_CALL))
    assert info.output_messages == [{
        "role": "assistant", "content": None,
        "tool_calls": [{"id": "call_abc123", "type": "function",
                        "function": {"name": "get_current_weather",
                                     "arguments": {"location": "Boston, MA"}}}],
    }]
    assert info.finish_reasons == ["tool_calls"]
    assert (info.usage.input_tokens, info.usage.output_tokens) == (82, 17)
    assert info.usage.cached_tokens is None


def test_openai_reasoning_tokens() -> None:
    info = extract(OPENAI_REASONING)
    assert info.usage.reasoning_tokens == 896
    assert info.usage.output_tokens == 900
    assert info.model == "o3-mini-2025-01-31" and info.provider == "openai"


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_openai_responses_api(shape: Any) -> None:
    info = extract(shape(OPENAI_RESPONSES))
    assert info.model == "gpt-4.1-2025-04-14"
    assert info.provider == "openai"
    assert info.response_id.startswith("resp_")
    assert info.usage == Usage(input_tokens=36, output_tokens=87, cached_tokens=0,
                               reasoning_tokens=0, total_tokens=123)
    assert info.output_messages == [{
        "role": "assistant", "content": "In a peaceful grove beneath a silver moon...",
        "tool_calls": [{"id": "call_9", "type": "function",
                        "function": {"name": "lookup", "arguments": {"q": "unicorn"}}}],
    }]
    assert info.finish_reasons == ["completed"]


def test_openai_responses_incomplete_reason() -> None:
    info = extract({**OPENAI_RESPONSES, "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"}})
    assert info.finish_reasons == ["max_output_tokens"]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_openai_embeddings(shape: Any) -> None:
    info = extract(shape(OPENAI_EMBEDDINGS))
    assert info.operation == "embeddings"
    assert info.model == "text-embedding-3-small"
    assert info.usage.input_tokens == 8 and info.usage.output_tokens is None
    assert info.output_messages == []


def test_openai_legacy_completion() -> None:
    info = extract(OPENAI_LEGACY_COMPLETION)
    assert info.operation == "text_completion"
    assert info.output_messages == [{"role": "assistant",
                                     "content": "\n\nThis is indeed a test"}]
    assert info.finish_reasons == ["length"]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_anthropic_message(shape: Any) -> None:
    info = extract(shape(ANTHROPIC_MESSAGE))
    assert info.provider == "anthropic"
    assert info.model == "claude-sonnet-4-5-20250929"
    assert info.response_id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    # Anthropic's input_tokens excludes cache reads/writes; Spyglass's includes them
    assert info.usage == Usage(input_tokens=2095 + 4000 + 1000, output_tokens=503,
                               cached_tokens=4000, cache_creation_tokens=1000,
                               total_tokens=2095 + 4000 + 1000 + 503)
    assert info.output_messages == [{
        "role": "assistant", "content": "The capital of France is Paris.",
        "tool_calls": [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                        "function": {"name": "get_weather",
                                     "arguments": {"location": "Paris, France"}}}],
        "reasoning": "The user wants a capital.",
    }]
    assert info.finish_reasons == ["tool_use"]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_openai_stream_with_usage_on_last_chunk(shape: Any) -> None:
    info = extract([shape(c) for c in openai_stream(include_usage=True)])
    assert info.model == "gpt-4o-mini-2024-07-18"
    assert info.provider == "openai"
    assert info.response_id == "chatcmpl-stream1"
    assert info.output_messages == [{"role": "assistant", "content": "Hello there!"}]
    assert info.finish_reasons == ["stop"]
    assert info.usage == Usage(input_tokens=19, output_tokens=3, cached_tokens=0,
                               reasoning_tokens=0, total_tokens=22)


def test_openai_stream_without_usage() -> None:
    info = extract(openai_stream(include_usage=False))
    assert info.usage is None
    assert info.output_messages == [{"role": "assistant", "content": "Hello there!"}]


def test_openai_stream_tool_call_arguments_are_joined() -> None:
    info = extract(tuple(OPENAI_TOOL_STREAM))
    assert info.output_messages == [{
        "role": "assistant", "content": "",
        "tool_calls": [{"id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function",
                        "function": {"name": "get_weather",
                                     "arguments": {"location": "Paris"}}}],
    }]
    assert info.finish_reasons == ["tool_calls"]


def test_openai_responses_stream_uses_the_completed_event() -> None:
    info = extract(OPENAI_RESPONSES_STREAM)
    assert info.usage.total_tokens == 123
    assert info.output_messages == [{"role": "assistant", "content": "In a peaceful grove..."}]
    cut = extract(OPENAI_RESPONSES_STREAM[:-1])  # closed before completion
    assert cut.model == "gpt-4.1-2025-04-14"
    assert cut.usage is None
    assert cut.output_messages == [{"role": "assistant", "content": "In a peaceful grove..."}]


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_anthropic_stream(shape: Any) -> None:
    info = extract([shape(e) for e in ANTHROPIC_STREAM])
    assert info.provider == "anthropic"
    assert info.model == "claude-3-5-haiku-20241022"
    assert info.response_id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    # input from message_start (472 + 128 cache reads), output from message_delta (cumulative)
    assert info.usage == Usage(input_tokens=600, output_tokens=89, cached_tokens=128,
                               cache_creation_tokens=0, total_tokens=689)
    assert info.output_messages == [{
        "role": "assistant", "content": "Okay, let's check the weather.",
        "tool_calls": [{"id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function",
                        "function": {"name": "get_weather",
                                     "arguments": {"location": "San Francisco, CA"}}}],
    }]
    assert info.finish_reasons == ["tool_use"]


def test_gemini_generate_content() -> None:
    info = extract(GEMINI_RESPONSE)
    assert info.provider == "gcp.gemini"
    assert info.model == "gemini-2.5-flash"
    # thinking tokens are billed as output
    assert info.usage == Usage(input_tokens=9, output_tokens=31, reasoning_tokens=24,
                               total_tokens=40)
    assert info.output_messages == [{"role": "assistant",
                                     "content": "Paris is the capital of France."}]
    assert info.finish_reasons == ["STOP"]
    stream = extract([{"candidates": [{"content": {"parts": [{"text": "Par"}], "role": "model"}}],
                       "modelVersion": "gemini-2.0-flash"},
                      {"candidates": [{"content": {"parts": [{"text": "is."}], "role": "model"},
                                       "finishReason": "STOP"}],
                       "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2,
                                         "totalTokenCount": 7},
                       "modelVersion": "gemini-2.0-flash"}])
    assert stream.output_messages == [{"role": "assistant", "content": "Paris."}]
    assert (stream.usage.input_tokens, stream.usage.output_tokens) == (5, 2)


def test_openai_compatible_servers_get_the_provider_of_their_model() -> None:
    mistral = {**OPENAI_CHAT, "model": "mistral-large-2411"}
    assert extract(mistral).provider == "mistral_ai"
    routed = {**OPENAI_CHAT, "model": "anthropic/claude-3.5-sonnet"}
    assert extract(routed).provider == "anthropic"
    local = {**OPENAI_CHAT, "model": "llama3.1:8b"}
    assert extract(local).provider == "openai"  # the wire format, when the family is unknown


@pytest.mark.parametrize(
    ("model", "provider"),
    [("gpt-4o", "openai"), ("o3-mini", "openai"), ("text-embedding-3-large", "openai"),
     ("claude-3-haiku-20240307", "anthropic"), ("gemini-2.5-pro", "gcp.gemini"),
     ("codestral-latest", "mistral_ai"), ("open-mixtral-8x22b", "mistral_ai"),
     ("deepseek-chat", "deepseek"), ("grok-3", "x_ai"), ("command-r-plus", "cohere"),
     ("openai/gpt-4o", "openai"), ("azure/gpt-4o", "azure.ai.openai"),
     ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
     ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic"),
     ("llama-3.1-70b", None), (None, None)],
)
def test_infer_provider(model: str | None, provider: str | None) -> None:
    assert infer_provider(model) == provider


@pytest.mark.parametrize(
    "value",
    [None, "plain text", 42, 3.5, True, b"bytes", {"answer": 42}, [], ["a", "b"],
     [{"x": 1}], {"choices": "not a list"}, object()],
)
def test_unrecognised_values_give_none(value: Any) -> None:
    assert extract(value) is None


def test_hostile_objects_never_raise() -> None:
    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"boom on {name}")

    class WeirdChoices:
        object = "chat.completion"
        model = "gpt-4o"
        choices = [Exploding()]
        usage = Exploding()

    assert extract(Exploding()) is None
    info = extract(WeirdChoices())
    assert info.model == "gpt-4o" and info.usage is None and info.output_messages == []
    assert extract([Exploding(), Exploding()]) is None


# LangChain's AIMessage as langchain-openai builds it (fields as AIMessage.model_dump() gives)
LANGCHAIN_AI_MESSAGE = {
    "content": "Paris.",
    "additional_kwargs": {"refusal": None},
    "response_metadata": {"token_usage": {"completion_tokens": 2, "prompt_tokens": 14,
                                          "total_tokens": 16},
                          "model_name": "gpt-4o-mini-2024-07-18",
                          "system_fingerprint": "fp_0705bf87c0", "finish_reason": "stop",
                          "logprobs": None},
    "type": "ai",
    "name": None,
    "id": "run-4f3a5a9e-0a2b-4c8e-9d8f-2b8f0c7e1a11-0",
    "tool_calls": [{"name": "lookup", "args": {"q": "Paris"}, "id": "call_1",
                    "type": "tool_call"}],
    "invalid_tool_calls": [],
    "usage_metadata": {"input_tokens": 14, "output_tokens": 2, "total_tokens": 16,
                       "input_token_details": {"audio": 0, "cache_read": 10},
                       "output_token_details": {"audio": 0, "reasoning": 0}},
}


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_langchain_ai_message(shape: Any) -> None:
    info = extract(shape(LANGCHAIN_AI_MESSAGE))
    assert info.model == "gpt-4o-mini-2024-07-18"
    assert info.provider == "openai"
    assert info.usage == Usage(input_tokens=14, output_tokens=2, cached_tokens=10,
                               reasoning_tokens=0, total_tokens=16)
    assert info.output_messages == [{
        "role": "assistant", "content": "Paris.",
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "lookup", "arguments": {"q": "Paris"}}}]}]
    assert info.finish_reasons == ["stop"]


def test_langchain_chunk_stream_sums_usage() -> None:
    # langchain-anthropic: input usage on the first chunk, output usage on the last
    base = {"type": "AIMessageChunk", "id": "run-1", "tool_calls": []}
    chunks = [
        {**base, "content": "", "response_metadata": {"model_name": "claude-3-haiku-20240307"},
         "usage_metadata": {"input_tokens": 20, "output_tokens": 0, "total_tokens": 20}},
        {**base, "content": "Hello", "response_metadata": {}, "usage_metadata": None},
        {**base, "content": " world", "response_metadata": {}, "usage_metadata": None},
        {**base, "content": "", "response_metadata": {"stop_reason": "end_turn"},
         "usage_metadata": {"input_tokens": 0, "output_tokens": 5, "total_tokens": 5}},
    ]
    info = extract([as_object(c) for c in chunks])
    assert info.provider == "anthropic"
    assert info.output_messages == [{"role": "assistant", "content": "Hello world"}]
    assert info.usage == Usage(input_tokens=20, output_tokens=5, total_tokens=25)
    assert info.finish_reasons == ["end_turn"]


BEDROCK_CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song",
                     "input": {"sign": "WZPZ"}}}]}},
    "stopReason": "tool_use",
    "usage": {"inputTokens": 375, "outputTokens": 36, "totalTokens": 411,
              "cacheReadInputTokens": 100, "cacheWriteInputTokens": 0},
    "metrics": {"latencyMs": 2183},
}


def test_bedrock_converse() -> None:
    info = extract(BEDROCK_CONVERSE)
    assert info.provider == "aws.bedrock"
    assert info.usage == Usage(input_tokens=475, output_tokens=36, cached_tokens=100,
                               cache_creation_tokens=0, total_tokens=511)
    assert info.output_messages == [{
        "role": "assistant", "content": "Checking.",
        "tool_calls": [{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                        "function": {"name": "top_song", "arguments": {"sign": "WZPZ"}}}]}]
    assert info.finish_reasons == ["tool_use"]


def test_gemini_sdk_snake_case_objects() -> None:
    """google-genai's GenerateContentResponse reads with snake_case attributes."""
    response = as_object({
        "candidates": [{"content": {"parts": [{"text": "Bonjour", "thought": None}],
                                    "role": "model"},
                        "finish_reason": "STOP"}],
        "usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 2,
                           "cached_content_token_count": 3, "total_token_count": 6},
        "model_version": "gemini-2.0-flash", "response_id": "r1",
    })
    info = extract(response)
    assert info.model == "gemini-2.0-flash"
    assert info.usage == Usage(input_tokens=4, output_tokens=2, cached_tokens=3,
                               total_tokens=6)
    assert info.output_messages == [{"role": "assistant", "content": "Bonjour"}]


def test_anthropic_stream_with_thinking_and_signature() -> None:
    events = [
        {"type": "message_start", "message": {
            "id": "msg_think", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5-20250929", "stop_reason": None,
            "usage": {"input_tokens": 50, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "thinking_delta", "thinking": "Let me add 2 and 2."}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "4"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 40}},
        {"type": "message_stop"},
    ]
    info = extract(events)
    assert info.output_messages == [{"role": "assistant", "content": "4",
                                     "reasoning": "Let me add 2 and 2."}]
    assert (info.usage.input_tokens, info.usage.output_tokens) == (50, 40)


def test_openai_stream_with_several_choices() -> None:
    base = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "A"}},
                             {"index": 1, "delta": {"role": "assistant", "content": "B"}}]},
        {**base, "choices": [{"index": 1, "delta": {"content": "b"}, "finish_reason": "stop"},
                             {"index": 0, "delta": {"content": "a"}, "finish_reason": "length"}]},
    ]
    info = extract(chunks)
    assert info.output_messages == [{"role": "assistant", "content": "Aa"},
                                    {"role": "assistant", "content": "Bb"}]
    assert info.finish_reasons == ["length", "stop"]


def test_openai_responses_reasoning_summary() -> None:
    response = {**OPENAI_RESPONSES, "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [
            {"type": "summary_text", "text": "Compared both options."}]},
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Option B.", "annotations": []}]}]}
    info = extract(response)
    assert info.output_messages == [{"role": "assistant", "content": "Option B.",
                                     "reasoning": "Compared both options."}]
