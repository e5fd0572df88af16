"""Generators and async generators: the span lives until the stream ends or is closed."""

from __future__ import annotations

import asyncio
import gc

import pytest
from opentelemetry.trace import StatusCode

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, attrs, json_attr, parent_id
from tracer import op


@op
def child(i: int) -> int:
    return i


@op
def numbers(n: int):
    for i in range(n):
        yield child(i)


def test_exhausted_generator_counts_chunks_and_parents_body_ops(traced: Traced) -> None:
    @op
    def consume() -> list[int]:
        return list(numbers(3))

    assert consume() == [0, 1, 2]
    stream = traced.one("numbers")
    assert parent_id(stream) == traced.one("consume").context.span_id
    a = attrs(stream)
    assert a[A.STREAM_CHUNKS] == 3
    assert a[A.STREAM_CLOSED_EARLY] is False
    assert json_attr(stream, A.OUTPUT) == [0, 1, 2]
    assert json_attr(stream, A.INPUTS) == {"n": 3}
    # Ops called inside the generator body are children of the stream's span.
    assert {parent_id(s) for s in traced.by_name("child")} == {stream.context.span_id}
    # The stream span ends after its last chunk, so it lasts at least as long as them.
    assert stream.end_time >= max(s.end_time for s in traced.by_name("child"))


def test_break_ends_the_span_as_closed_early(traced: Traced) -> None:
    seen = []
    for value in numbers(10):
        seen.append(value)
        if value == 1:
            break
    gc.collect()
    assert seen == [0, 1]
    stream = traced.one("numbers")
    assert attrs(stream)[A.STREAM_CHUNKS] == 2
    assert attrs(stream)[A.STREAM_CLOSED_EARLY] is True
    assert stream.status.status_code is StatusCode.UNSET


def test_explicit_close_and_generator_cleanup_code_runs(traced: Traced) -> None:
    cleaned = []

    @op
    def with_cleanup():
        try:
            yield "a"
            yield "b"
        finally:
            cleaned.append(True)

    gen = with_cleanup()
    assert next(gen) == "a"
    gen.close()
    assert cleaned == [True]
    span = traced.one("with_cleanup")
    assert attrs(span)[A.STREAM_CLOSED_EARLY] is True
    assert json_attr(span, A.OUTPUT) == "a"


def test_send_and_throw_reach_the_real_generator(traced: Traced) -> None:
    @op
    def accumulator():
        total = 0
        while True:
            try:
                value = yield total
            except ValueError:
                value = -100
            total += value

    gen = accumulator()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.throw(ValueError("reset")) == -95
    gen.close()
    assert attrs(traced.one("accumulator"))[A.STREAM_CHUNKS] == 3


def test_error_mid_stream_marks_span_and_propagates(traced: Traced) -> None:
    @op
    def flaky():
        yield "ok"
        raise ConnectionError("stream dropped")

    got = []
    with pytest.raises(ConnectionError, match="stream dropped"):
        for item in flaky():
            got.append(item)
    assert got == ["ok"]
    span = traced.one("flaky")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[A.STREAM_CHUNKS] == 1
    assert [e.name for e in span.events] == ["exception"]


def test_text_stream_output_is_joined_and_capped() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.tracer.helpers import Traced as T

    exporter = InMemorySpanExporter()
    tracer.init(project="caps", exporter=exporter, max_value_chars=100)
    try:
        @op
        def words(n: int):
            for _ in range(n):
                yield "word "

        assert "".join(words(3)) == "word " * 3
        assert sum(len(w) for w in words(500)) == 2500
        spans = T(exporter).by_name("words")
        assert json_attr(spans[0], A.OUTPUT) == "word word word "
        capped = json_attr(spans[1], A.OUTPUT)
        assert capped.startswith("word " * 20)
        assert capped.endswith("[truncated 2400 chars]")
        assert attrs(spans[1])[A.STREAM_CHUNKS] == 500
    finally:
        tracer.shutdown()


async def test_async_generator_exhausted_and_nested(traced: Traced) -> None:
    @op
    async def tokens(text: str):
        for word in text.split():
            await asyncio.sleep(0)
            yield child(len(word))

    @op
    async def handler() -> list[int]:
        return [n async for n in tokens("a bb ccc")]

    assert await handler() == [1, 2, 3]
    stream = traced.one("tokens")
    assert parent_id(stream) == traced.one("handler").context.span_id
    assert attrs(stream)[A.STREAM_CHUNKS] == 3
    assert attrs(stream)[A.STREAM_CLOSED_EARLY] is False
    assert {parent_id(s) for s in traced.by_name("child")} == {stream.context.span_id}


async def test_async_generator_aclose_and_break(traced: Traced) -> None:
    closed = []

    @op
    async def ticks():
        try:
            for i in range(100):
                yield i
        finally:
            closed.append(True)

    agen = ticks()
    assert await agen.__anext__() == 0
    assert await agen.__anext__() == 1
    await agen.aclose()
    assert closed == [True]

    async for i in ticks():
        if i == 2:
            break
    gc.collect()
    await asyncio.sleep(0)
    first, second = traced.by_name("ticks")
    assert attrs(first)[A.STREAM_CHUNKS] == 2
    assert attrs(first)[A.STREAM_CLOSED_EARLY] is True
    assert attrs(second)[A.STREAM_CHUNKS] == 3
    assert attrs(second)[A.STREAM_CLOSED_EARLY] is True


async def test_async_generator_error(traced: Traced) -> None:
    @op
    async def broken():
        yield 1
        raise TimeoutError("provider timed out")

    with pytest.raises(TimeoutError):
        async for _ in broken():
            pass
    span = traced.one("broken")
    assert span.status.status_code is StatusCode.ERROR
    assert "TimeoutError" in span.status.description


def _openai_chunk(content: str | None, usage: dict | None = None) -> dict:
    choices = [] if content is None else [
        {"index": 0, "delta": {"content": content}, "finish_reason": None}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
            "choices": choices, "usage": usage}


def test_llm_stream_records_ttft_usage_and_cost(traced: Traced) -> None:
    @op(kind="llm")
    def chat_stream(messages: list[dict], model: str = "gpt-4o-mini"):
        yield _openai_chunk("Hel")
        yield _openai_chunk("lo")
        yield _openai_chunk(None, {"prompt_tokens": 9, "completion_tokens": 2,
                                   "total_tokens": 11})

    chunks = list(chat_stream([{"role": "user", "content": "Say hello"}]))
    assert len(chunks) == 3
    a = attrs(traced.one("chat_stream"))
    assert a[A.STREAM_CHUNKS] == 3
    assert a[A.TIME_TO_FIRST_TOKEN_MS] >= 0
    assert a[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert a[A.COST_USD] > 0
    assert '"Hello"' in a[A.GEN_AI_OUTPUT_MESSAGES]
    # The recorded output is the reply the chunks add up to, not the raw chunks.
    assert json_attr(traced.one("chat_stream"), A.OUTPUT) == "Hello"


async def test_llm_text_stream_counts_tokens_when_no_usage(traced: Traced) -> None:
    @op(kind="llm")
    async def complete(prompt: str, model: str = "gpt-4o"):
        for piece in ("The capital ", "is Paris."):
            yield piece

    text = "".join([p async for p in complete("Capital of France?")])
    assert text == "The capital is Paris."
    span = traced.one("complete")
    a = attrs(span)
    assert json_attr(span, A.OUTPUT) == "The capital is Paris."
    assert a[A.USAGE_ESTIMATED] is True
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert A.TIME_TO_FIRST_TOKEN_MS in a


def test_non_llm_stream_has_no_time_to_first_token(traced: Traced) -> None:
    list(numbers(2))
    assert A.TIME_TO_FIRST_TOKEN_MS not in attrs(traced.one("numbers"))
