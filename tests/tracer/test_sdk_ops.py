"""``@op(kind="llm")`` around the real OpenAI SDK talking to a local server that speaks
OpenAI's wire format, including ``stream=True`` streams returned unconsumed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest

from common import attributes as A
from tests.tracer.helpers import Traced, attrs, json_attr, parent_id
from tracer import op

MODEL = "gpt-4o-mini-2024-07-18"


def _chunk(delta: dict[str, Any] | None, usage: dict[str, int] | None = None,
           finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": MODEL, "system_fingerprint": "fp_1",
            "choices": [] if delta is None else [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": usage}


STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Paris"}),
    _chunk({"content": " it is."}),
    _chunk({}, finish="stop"),
    _chunk(None, {"prompt_tokens": 14, "completion_tokens": 3, "total_tokens": 17}),
]
COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": MODEL,
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "Paris.", "refusal": None}}],
    "usage": {"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16},
}


class OpenAIWire(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for chunk in STREAM:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True
            return
        data = json.dumps(COMPLETION).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenAIWire)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


MESSAGES = [{"role": "user", "content": "Capital of France?"}]


def test_sdk_completion_object(traced: Traced, base_url: str) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)

    @op(kind="llm")
    def chat(messages: list[dict], model: str = "gpt-4o-mini", temperature: float = 0.1) -> Any:
        return client.chat.completions.create(model=model, messages=messages,
                                              temperature=temperature)

    reply = chat(MESSAGES)
    assert reply.choices[0].message.content == "Paris."
    span = traced.one("chat")
    a = attrs(span)
    assert (a[A.GEN_AI_RESPONSE_MODEL], a[A.GEN_AI_USAGE_INPUT_TOKENS],
            a[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (MODEL, 14, 2)
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.1
    assert a[A.COST_USD] > 0
    assert json_attr(span, A.OUTPUT)["choices"][0]["message"]["content"] == "Paris."


def test_returned_sdk_stream_keeps_the_span_open_until_consumed(
        traced: Traced, base_url: str) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)

    @op(kind="llm")
    def chat_stream(messages: list[dict], model: str = "gpt-4o-mini") -> Any:
        return client.chat.completions.create(model=model, messages=messages, stream=True,
                                              stream_options={"include_usage": True})

    @op
    def handler() -> str:
        stream = chat_stream(MESSAGES)
        assert traced.exporter.get_finished_spans() == ()  # still streaming
        with stream:
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert handler() == "Paris it is."
    span = traced.one("chat_stream")
    assert parent_id(span) == traced.one("handler").context.span_id
    a = attrs(span)
    assert a[A.STREAM_CHUNKS] == 5
    assert a[A.STREAM_CLOSED_EARLY] is False
    assert (a[A.GEN_AI_USAGE_INPUT_TOKENS], a[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (14, 3)
    assert a[A.USAGE_ESTIMATED] is False
    assert a[A.TIME_TO_FIRST_TOKEN_MS] >= 0
    assert json_attr(span, A.OUTPUT) == "Paris it is."


async def test_returned_async_sdk_stream(traced: Traced, base_url: str) -> None:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)

    @op(kind="llm")
    async def chat_stream(messages: list[dict], model: str = "gpt-4o-mini") -> Any:
        return await client.chat.completions.create(model=model, messages=messages,
                                                    stream=True,
                                                    stream_options={"include_usage": True})

    stream = await chat_stream(MESSAGES)
    text = ""
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    assert text == "Paris it is."
    a = attrs(traced.one("chat_stream"))
    assert (a[A.GEN_AI_USAGE_INPUT_TOKENS], a[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (14, 3)
    assert a[A.COST_USD] > 0
    await client.close()


def test_returned_stream_closed_early(traced: Traced, base_url: str) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)

    @op(kind="llm")
    def chat_stream(messages: list[dict]) -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                              stream=True)

    stream = chat_stream(MESSAGES)
    next(stream)
    stream.close()
    a = attrs(traced.one("chat_stream"))
    assert a[A.STREAM_CHUNKS] == 1
    assert a[A.STREAM_CLOSED_EARLY] is True
