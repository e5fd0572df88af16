"""Provider responses and stream events as the providers' APIs return them (JSON bodies),
plus helpers that turn them into SDK-like objects. Shared by the test_llm_* modules."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pydantic

OPENAI_CHAT = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-2024-08-06",
    "choices": [{
        "index": 0,
        "message": {"role": "assistant", "content": "The capital of France is Paris.",
                    "refusal": None, "annotations": []},
        "logprobs": None,
        "finish_reason": "stop",
    }],
    "usage": {
        "prompt_tokens": 1117, "completion_tokens": 8, "total_tokens": 1125,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

OPENAI_TOOL_CALL = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4.1-mini-2025-04-14",
    "choices": [{
        "index": 0,
        "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_abc123", "type": "function",
                            "function": {"name": "get_current_weather",
                                         "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}],
        },
        "logprobs": None,
        "finish_reason": "tool_calls",
    }],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}

OPENAI_REASONING = {
    "id": "chatcmpl-o3", "object": "chat.completion", "created": 1744000000,
    "model": "o3-mini-2025-01-31",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "42"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 900, "total_tokens": 930,
              "prompt_tokens_details": {"cached_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 896}},
}

OPENAI_RESPONSES = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
         "status": "completed", "role": "assistant",
         "content": [{"type": "output_text",
                      "text": "In a peaceful grove beneath a silver moon...",
                      "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "lookup",
         "arguments": "{\"q\": \"unicorn\"}", "status": "completed"},
    ],
    "parallel_tool_calls": True,
    "temperature": 1.0,
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0},
              "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0},
              "total_tokens": 123},
}

OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222],
              "index": 0}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}

OPENAI_LEGACY_COMPLETION = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", "object": "text_completion", "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None,
                 "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def openai_stream(include_usage: bool = True) -> list[dict[str, Any]]:
    """A chat.completion.chunk stream; the final chunk carries usage when requested."""
    base = {"id": "chatcmpl-stream1", "object": "chat.completion.chunk", "created": 1694268190,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_44709d6fcb"}
    usage_field = {"usage": None} if include_usage else {}
    chunks = [
        {**base, **usage_field, "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
             "logprobs": None, "finish_reason": None}]},
        {**base, **usage_field, "choices": [
            {"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}]},
        {**base, **usage_field, "choices": [
            {"index": 0, "delta": {"content": " there!"}, "logprobs": None,
             "finish_reason": None}]},
        {**base, **usage_field, "choices": [
            {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]},
    ]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": {
            "prompt_tokens": 19, "completion_tokens": 3, "total_tokens": 22,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0}}})
    return chunks


OPENAI_TOOL_STREAM = [
    {"id": "chatcmpl-t", "object": "chat.completion.chunk", "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": None, "tool_calls": [
         {"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function",
          "function": {"name": "get_weather", "arguments": ""}}]}, "finish_reason": None}]},
    {"id": "chatcmpl-t", "object": "chat.completion.chunk", "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {"tool_calls": [
         {"index": 0, "function": {"arguments": "{\"location\":"}}]}, "finish_reason": None}]},
    {"id": "chatcmpl-t", "object": "chat.completion.chunk", "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {"tool_calls": [
         {"index": 0, "function": {"arguments": " \"Paris\"}"}}]}, "finish_reason": None}]},
    {"id": "chatcmpl-t", "object": "chat.completion.chunk", "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
]

OPENAI_RESPONSES_STREAM = [
    {"type": "response.created", "sequence_number": 0,
     "response": {**OPENAI_RESPONSES, "status": "in_progress", "output": [], "usage": None}},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
     "content_index": 0, "delta": "In a peaceful", "sequence_number": 1},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
     "content_index": 0, "delta": " grove...", "sequence_number": 2},
    {"type": "response.completed", "sequence_number": 3, "response": {
        **OPENAI_RESPONSES,
        "output": [{"type": "message", "id": "msg_1", "status": "completed",
                    "role": "assistant", "content": [
                        {"type": "output_text", "text": "In a peaceful grove...",
                         "annotations": []}]}]}},
]

ANTHROPIC_MESSAGE = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The user wants a capital.", "signature": "EqQB"},
        {"type": "text", "text": "The capital of France is Paris."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
         "name": "get_weather", "input": {"location": "Paris, France"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 2095, "output_tokens": 503,
              "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 4000,
              "service_tier": "standard"},
}

ANTHROPIC_STREAM = [
    {"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant",
        "content": [], "model": "claude-3-5-haiku-20241022", "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 472, "output_tokens": 2, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 128}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "text_delta", "text": "Okay, let's check"}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "text_delta", "text": " the weather."}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather",
        "input": {}}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": "{\"location\": \"San Fra"}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": "ncisco, CA\"}"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 89}},
    {"type": "message_stop"},
]

GEMINI_RESPONSE = {
    "candidates": [{
        "content": {"parts": [{"text": "Paris is the capital of France."}], "role": "model"},
        "finishReason": "STOP", "avgLogprobs": -0.05,
    }],
    "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7,
                      "totalTokenCount": 40, "thoughtsTokenCount": 24,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "mSy4aPz3Lq2z1dkP1YqQ8Ac",
}


def as_object(value: Any) -> Any:
    """The payload as nested objects read by attribute, like SDK response objects."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: as_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_object(v) for v in value]
    return value


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")


def as_pydantic(value: Any) -> Any:
    """The payload as pydantic models with extra fields, like the openai/anthropic SDKs."""
    if isinstance(value, dict):
        return _Model(**{k: as_pydantic(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_pydantic(v) for v in value]
    return value


ALL_PAYLOADS = [OPENAI_CHAT, OPENAI_TOOL_CALL, OPENAI_REASONING, OPENAI_RESPONSES,
                OPENAI_EMBEDDINGS, OPENAI_LEGACY_COMPLETION, ANTHROPIC_MESSAGE, GEMINI_RESPONSE]


def test_sdk_like_objects_read_back_as_the_same_data() -> None:
    """usage.plain turns attribute objects and pydantic models back into the JSON body."""
    from tracer.llm.usage import plain

    for payload in ALL_PAYLOADS:
        assert plain(as_object(payload)) == payload
        assert plain(as_pydantic(payload)) == payload
        assert as_pydantic(payload).model_dump() == payload
