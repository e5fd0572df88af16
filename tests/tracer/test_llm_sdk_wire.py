"""The real openai and anthropic SDKs against a local server speaking their wire formats.

Only the hosted provider is stood in for: requests go over a real loopback socket, the
SDKs parse the JSON bodies and server-sent-event streams into their own objects, and
those objects (what a user's ``@op`` returns or yields) go through ``tracer.llm``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import openai
import pytest
from test_llm_payloads import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_STREAM,
    OPENAI_CHAT,
    OPENAI_EMBEDDINGS,
    OPENAI_RESPONSES,
    OPENAI_RESPONSES_STREAM,
    OPENAI_TOOL_CALL,
    openai_stream,
)

from common import attributes as A
from common import pricing
from tracer.llm import attributes_for, attributes_for_stream, extract
from tracer.llm.tokens import count_tokens


class ProviderStub(BaseHTTPRequestHandler):
    """OpenAI (/v1/chat/completions, /v1/responses, /v1/embeddings) and Anthropic
    (/v1/messages) endpoints answering with the recorded payloads."""

    requests: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body})  # type: ignore[attr-defined]
        stream = bool(body.get("stream"))
        if self.path == "/v1/chat/completions":
            if stream:
                include = (body.get("stream_options") or {}).get("include_usage", False)
                self._sse([(None, c) for c in openai_stream(include_usage=include)], done=True)
            else:
                payload = OPENAI_TOOL_CALL if body.get("tools") else OPENAI_CHAT
                self._json(payload)
        elif self.path == "/v1/responses":
            if stream:
                self._sse([(e["type"], e) for e in OPENAI_RESPONSES_STREAM])
            else:
                self._json(OPENAI_RESPONSES)
        elif self.path == "/v1/embeddings":
            self._json(OPENAI_EMBEDDINGS)
        elif self.path == "/v1/messages":
            if stream:
                self._sse([(e["type"], e) for e in ANTHROPIC_STREAM])
            else:
                self._json(ANTHROPIC_MESSAGE)
        else:
            self._json({"error": {"message": f"no route {self.path}"}}, status=404)

    def _json(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]], done: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for name, payload in events:
            prefix = f"event: {name}\n" if name else ""
            self.wfile.write(f"{prefix}data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


@pytest.fixture(scope="module")
def provider() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderStub)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def oai(provider: ThreadingHTTPServer) -> openai.OpenAI:
    host, port = provider.server_address[:2]
    return openai.OpenAI(api_key="sk-test", base_url=f"http://{host}:{port}/v1",
                         max_retries=0, timeout=10)


@pytest.fixture
def claude(provider: ThreadingHTTPServer) -> anthropic.Anthropic:
    host, port = provider.server_address[:2]
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=f"http://{host}:{port}",
                               max_retries=0, timeout=10)


@pytest.fixture(autouse=True)
def default_prices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(pricing.PRICES_FILE_ENV, raising=False)
    pricing.reset_prices()
    yield
    pricing.reset_prices()


MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

# The anthropic SDK warns about retiring models; the payloads name the ones they record.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


def test_openai_chat_completion_object(oai: openai.OpenAI) -> None:
    inputs = {"model": "gpt-4o", "messages": MESSAGES, "temperature": 0.1}
    response = oai.chat.completions.create(**inputs)
    assert type(response).__module__.startswith("openai.types")
    attrs = attributes_for(inputs, response, {})
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1117
    assert attrs[A.USAGE_CACHED_TOKENS] == 1024
    assert attrs[A.USAGE_ESTIMATED] is False
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "The capital of France is Paris."}]
    assert attrs[A.COST_USD] == pytest.approx((93 * 2.5 + 1024 * 1.25 + 8 * 10) / 1e6)


def test_openai_tool_call_object(oai: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_current_weather", "parameters": {"type": "object", "properties": {}}}}]
    response = oai.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES,
                                           tools=tools)
    info = extract(response)
    assert info.output_messages[0]["tool_calls"] == [
        {"id": "call_abc123", "type": "function",
         "function": {"name": "get_current_weather", "arguments": {"location": "Boston, MA"}}}]
    assert info.finish_reasons == ["tool_calls"]


def test_openai_stream_with_include_usage(oai: openai.OpenAI) -> None:
    inputs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
              "stream_options": {"include_usage": True}}
    chunks = list(oai.chat.completions.create(**inputs))
    assert len(chunks) == 5 and chunks[-1].usage is not None
    attrs = attributes_for_stream(inputs, chunks, {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 19
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[A.USAGE_ESTIMATED] is False
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": "Hello there!"}]
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]


def test_openai_stream_without_usage_is_estimated(oai: openai.OpenAI) -> None:
    inputs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    chunks = list(oai.chat.completions.create(**inputs))
    attrs = attributes_for_stream(inputs, chunks, {})
    assert attrs[A.USAGE_ESTIMATED] is True
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens("Hello there!", "gpt-4o-mini")
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == count_tokens(MESSAGES, "gpt-4o-mini")


def test_openai_responses_api_and_its_stream(oai: openai.OpenAI) -> None:
    inputs = {"model": "gpt-4.1", "input": "Tell me a story about a unicorn."}
    attrs = attributes_for(inputs, oai.responses.create(**inputs), {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 36
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 87
    out = json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["content"] == "In a peaceful grove beneath a silver moon..."
    assert out[0]["tool_calls"][0]["function"] == {"name": "lookup",
                                                   "arguments": {"q": "unicorn"}}
    events = list(oai.responses.create(**inputs, stream=True))
    streamed = attributes_for_stream(inputs, events, {})
    assert streamed[A.GEN_AI_USAGE_INPUT_TOKENS] == 36
    assert json.loads(streamed[A.GEN_AI_OUTPUT_MESSAGES])[0]["content"] == "In a peaceful grove..."


def test_openai_embeddings(oai: openai.OpenAI) -> None:
    inputs = {"model": "text-embedding-3-small", "input": "The food was delicious"}
    attrs = attributes_for(inputs, oai.embeddings.create(**inputs), {})
    assert attrs[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert attrs[A.COST_USD] == pytest.approx(8 * 0.02 / 1e6)


def test_anthropic_message_object(claude: anthropic.Anthropic) -> None:
    inputs = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
              "messages": MESSAGES}
    response = claude.messages.create(**inputs)
    assert type(response).__module__.startswith("anthropic.types")
    attrs = attributes_for(inputs, response, {})
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 7095
    assert attrs[A.USAGE_CACHED_TOKENS] == 4000
    assert attrs[A.USAGE_CACHE_CREATION_TOKENS] == 1000
    out = json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]
    assert out["content"] == "The capital of France is Paris."
    assert out["tool_calls"][0]["function"]["arguments"] == {"location": "Paris, France"}
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])[0] == {"role": "system",
                                                            "content": "Be brief."}
    expected = (2095 * 3.0 + 4000 * 0.3 + 1000 * 3.75 + 503 * 15.0) / 1e6
    assert attrs[A.COST_USD] == pytest.approx(expected)


def test_anthropic_raw_event_stream(claude: anthropic.Anthropic) -> None:
    inputs = {"model": "claude-3-5-haiku-latest", "max_tokens": 256, "messages": MESSAGES,
              "stream": True}
    events = list(claude.messages.create(**inputs))
    assert type(events[0]).__name__ == "RawMessageStartEvent"
    attrs = attributes_for_stream(inputs, events, {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 600
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 89
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_use"]
    out = json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]
    assert out["content"] == "Okay, let's check the weather."
    assert out["tool_calls"][0]["function"]["arguments"] == {"location": "San Francisco, CA"}


def test_anthropic_stream_helper_final_message(claude: anthropic.Anthropic) -> None:
    """``messages.stream(...)``'s accumulated final message reads like a plain response."""
    with claude.messages.stream(model="claude-3-5-haiku-latest", max_tokens=256,
                                messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_message()
    info = extract(final)
    assert info.model == "claude-3-5-haiku-20241022"
    assert info.usage.output_tokens == 89
    assert info.output_messages[0]["tool_calls"][0]["function"]["arguments"] == {
        "location": "San Francisco, CA"}


async def test_async_openai_stream(provider: ThreadingHTTPServer) -> None:
    host, port = provider.server_address[:2]
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=f"http://{host}:{port}/v1",
                                max_retries=0, timeout=10)
    inputs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
              "stream_options": {"include_usage": True}}
    chunks = [chunk async for chunk in await client.chat.completions.create(**inputs)]
    await client.close()
    attrs = attributes_for_stream(inputs, chunks, {})
    assert (attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (19, 3)
    assert attrs[A.COST_USD] == pytest.approx((19 * 0.15 + 3 * 0.6) / 1e6)
