"""The provider readers' public API (``tracer.llm.providers.*``), which auto-instrumentation
reuses: each wire format goes to its own module's reader, and the readers work on their own."""

from __future__ import annotations

from tracer.llm import usage
from tracer.llm.providers import anthropic, bedrock, gemini, langchain, openai

CHAT = {"object": "chat.completion", "model": "gpt-4o-mini", "id": "c1",
        "choices": [{"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}
RESPONSES = {"object": "response", "model": "gpt-4.1", "id": "r1", "status": "completed",
             "output": [{"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": "Paris"}]}],
             "usage": {"input_tokens": 9, "output_tokens": 1}}
EMBEDDINGS = {"object": "list", "data": [{"embedding": [0.1]}], "model": "text-embedding-3-small",
              "usage": {"prompt_tokens": 4, "total_tokens": 4}}
CLAUDE = {"type": "message", "id": "m1", "model": "claude-3-5-haiku-latest", "stop_reason": "end_turn",
          "content": [{"type": "text", "text": "Paris"}],
          "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 2}}
GEMINI = {"modelVersion": "gemini-2.0-flash", "responseId": "g1",
          "candidates": [{"content": {"role": "model", "parts": [{"text": "Paris"}]},
                          "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 1, "totalTokenCount": 8}}
LANGCHAIN = {"content": "Paris", "id": "l1", "response_metadata": {"model_name": "gpt-4o"},
             "usage_metadata": {"input_tokens": 6, "output_tokens": 1, "total_tokens": 7}}
CONVERSE = {"output": {"message": {"role": "assistant", "content": [{"text": "Paris"}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 8, "outputTokens": 1}}


def test_each_response_shape_goes_to_its_provider_module() -> None:
    expected = [(CHAT, openai.chat), (RESPONSES, openai.responses), (EMBEDDINGS, openai.embeddings),
                (CLAUDE, anthropic.message), (GEMINI, gemini.response),
                (LANGCHAIN, langchain.message), (CONVERSE, bedrock.converse)]
    for value, reader in expected:
        assert usage.response_reader(value) is reader
    assert usage.response_reader({"unrelated": 1}) is None
    assert usage.response_reader("text") is None


def test_each_stream_shape_goes_to_its_provider_module() -> None:
    chat_chunk = {"object": "chat.completion.chunk", "id": "c", "model": "gpt-4o",
                  "choices": [{"index": 0, "delta": {"content": "Pa"}}]}
    assert usage.stream_reader([chat_chunk]) is openai.chat_stream
    assert usage.stream_reader([{"type": "response.output_text.delta", "delta": "Pa"}]) is (
        openai.responses_stream)
    # A leading ping is skipped over by the sniffing, not mistaken for another format.
    assert usage.stream_reader([{"type": "ping"}, {"type": "message_start"}]) is anthropic.stream
    assert usage.stream_reader([GEMINI]) is gemini.stream
    assert usage.stream_reader([LANGCHAIN]) is langchain.stream
    assert usage.stream_reader([{"nothing": "known"}]) is None


def test_a_reader_on_its_own_reports_its_wire_format_and_extract_refines_it() -> None:
    info = openai.chat({**CHAT, "model": "mistral-large-latest"})
    assert (info.provider, info.model) == ("openai", "mistral-large-latest")
    assert info.output_messages == [{"role": "assistant", "content": "Paris"}]
    refined = usage.extract({**CHAT, "model": "mistral-large-latest"})
    assert refined is not None and refined.provider == "mistral_ai"

    claude = anthropic.message(CLAUDE)
    assert claude.usage is not None
    assert (claude.usage.input_tokens, claude.usage.cached_tokens) == (15, 5)
    assert bedrock.converse(CONVERSE).provider == "aws.bedrock"
    assert langchain.message(LANGCHAIN).provider is None
    assert usage.extract(LANGCHAIN).provider == "openai"  # type: ignore[union-attr]


def test_a_message_whose_type_is_not_a_string_keeps_its_content() -> None:
    from tracer.llm.messages import input_messages

    messages = input_messages({"messages": [{"type": {"kind": "x"}, "content": "hi"}]})
    assert messages == [{"type": {"kind": "x"}, "content": "hi", "role": "user"}]
