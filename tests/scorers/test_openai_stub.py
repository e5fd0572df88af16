"""The OpenAI stub speaks the real wire format: the official ``openai`` SDK talks to it."""

from __future__ import annotations

import openai
import pytest
from stubs.openai_server import OpenAIStub


def client(stub: OpenAIStub, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=stub.base_url, api_key="test", **kw)


def test_chat_completion_with_usage(openai_stub: OpenAIStub) -> None:
    openai_stub.reply("Hello there.", usage=(7, 3), model="gpt-4o-mini")
    resp = client(openai_stub).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "Hello there."
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (7, 3)
    assert openai_stub.chat_requests()[0].body["messages"] == [{"role": "user", "content": "hi"}]


def test_streaming_chunks_and_usage(openai_stub: OpenAIStub) -> None:
    openai_stub.reply("Streaming works fine.", usage=(9, 4))
    stream = client(openai_stub).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "go"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streaming works fine."
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 13
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_embeddings(openai_stub: OpenAIStub) -> None:
    resp = client(openai_stub).embeddings.create(model="e", input=["a", "b"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) == openai_stub.embedding_dim


def test_errors_reach_the_sdk_as_its_own_exceptions(openai_stub: OpenAIStub) -> None:
    openai_stub.error(429, "slow down", headers={"Retry-After": "0"})
    with pytest.raises(openai.RateLimitError, match="slow down"):
        client(openai_stub, max_retries=0).chat.completions.create(model="m", messages=[])
    openai_stub.error(503, "overloaded")
    openai_stub.reply("recovered")
    resp = client(openai_stub, max_retries=1).chat.completions.create(model="m", messages=[])
    assert resp.choices[0].message.content == "recovered"


def test_hang_exceeds_a_client_timeout(openai_stub: OpenAIStub) -> None:
    openai_stub.hang(10.0)
    with pytest.raises(openai.APITimeoutError):
        client(openai_stub, max_retries=0, timeout=0.3).chat.completions.create(model="m", messages=[])


def test_unscripted_chat_is_an_error_not_a_silent_pass(openai_stub: OpenAIStub) -> None:
    with pytest.raises(openai.InternalServerError, match="no scripted chat reply"):
        client(openai_stub, max_retries=0).chat.completions.create(model="m", messages=[])
