"""Traced generators and async generators: the span lives until the stream ends.

The span starts when the generator is created (so its parent is the op that created
it) and ends when the stream is exhausted, fails, or is closed early (``break`` then
garbage collection, ``close()``, ``aclose()``). Each step runs with the span current, so
ops called inside the generator body nest under it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

from common import attributes as A
from tracer._log import warn_once
from tracer.core import Call, OpSpec, finish_error, finish_ok
from tracer.runtime import Runtime
from tracer.serialize import PartialText

MAX_KEPT_CHUNKS = 100_000  # LLM streams keep every chunk: usage often arrives last


class _Recorder:
    """Counts chunks, times the first one and keeps what the output needs."""

    __slots__ = ("call", "chunks", "count", "done", "kept_chars", "recording", "runtime",
                 "spec", "text_only", "ttft_ms")

    def __init__(self, spec: OpSpec, runtime: Runtime, call: Call) -> None:
        self.spec = spec
        self.runtime = runtime
        self.call = call
        self.chunks: list[Any] = []
        self.count = 0
        self.kept_chars = 0
        self.text_only = True
        self.done = False
        self.ttft_ms: float | None = None
        # A sampled-out stream is only counted: nothing of it will be exported.
        self.recording = call.span.is_recording()

    def chunk(self, item: Any) -> None:
        try:
            self.count += 1
            if not self.recording:
                return
            if self.count == 1 and self.spec.kind == "llm":
                self.ttft_ms = (time.monotonic_ns() - self.call.start_ns) / 1e6
            if isinstance(item, str):
                if self.kept_chars <= self.runtime.serializer.max_chars or self.spec.kind == "llm":
                    self.chunks.append(item)
                self.kept_chars += len(item)
                return
            self.text_only = False
            limit = MAX_KEPT_CHUNKS if self.spec.kind == "llm" else 1_000
            if len(self.chunks) < limit:
                self.chunks.append(item)
        except Exception:
            warn_once("stream_chunk", "could not record a stream chunk")

    def _output(self) -> Any:
        if self.text_only and self.chunks:
            text = "".join(self.chunks)
            return PartialText(text, self.kept_chars) if self.kept_chars > len(text) else text
        if self.text_only:
            return None
        if self.spec.kind == "llm":
            message = _assembled_message(self.chunks)
            if message is not None:
                return message
        return self.chunks

    def finish(self, closed_early: bool) -> None:
        if self.done:
            return
        self.done = True
        finish_ok(self.spec, self.runtime, self.call, self._output(), self.chunks,
                  self._stream_attributes(closed_early))

    def _stream_attributes(self, closed_early: bool) -> dict[str, Any]:
        attrs: dict[str, Any] = {A.STREAM_CHUNKS: self.count,
                                 A.STREAM_CLOSED_EARLY: closed_early}
        if self.ttft_ms is not None:
            attrs[A.TIME_TO_FIRST_TOKEN_MS] = self.ttft_ms
        return attrs

    def fail(self, exc: BaseException) -> None:
        if self.done:
            return
        self.done = True
        finish_error(self.spec, self.call, exc, self._stream_attributes(False))

    # -- the step protocol every proxy below follows, sync or async ----------------------

    def stepped(self, tokens: tuple[Any, Any], item: Any) -> Any:
        """The inner stream yielded ``item``: leave the span's context, record it."""
        Call.leave(tokens)
        self.chunk(item)
        return item

    def stopped(self, tokens: tuple[Any, Any], exc: BaseException) -> None:
        """The inner stream raised ``exc``: exhausted, closed early, or failed."""
        Call.leave(tokens)
        if isinstance(exc, StopIteration | StopAsyncIteration):
            self.finish(closed_early=False)
        elif isinstance(exc, GeneratorExit):
            self.finish(closed_early=True)
        else:
            self.fail(exc)

    def close_failed(self, tokens: tuple[Any, Any], exc: BaseException) -> None:
        """Closing the inner stream raised ``exc``."""
        Call.leave(tokens)
        self.fail(exc)

    def closed(self, tokens: tuple[Any, Any]) -> None:
        """The inner stream was closed before its end."""
        Call.leave(tokens)
        self.finish(closed_early=True)

    def finalize(self) -> None:
        """The proxy is being collected: a stream nobody finished ends as closed early."""
        try:
            if not self.done:
                self.finish(closed_early=True)
        except BaseException:  # finalizers must not raise
            pass


def _step(rec: _Recorder, method: Any, *args: Any) -> Any:
    """One step of a sync stream, run with the stream's span current."""
    tokens = rec.call.enter()
    try:
        item = method(*args)
    except BaseException as exc:
        rec.stopped(tokens, exc)
        raise
    return rec.stepped(tokens, item)


async def _astep(rec: _Recorder, method: Any, *args: Any) -> Any:
    """One step of an async stream, run with the stream's span current."""
    tokens = rec.call.enter()
    try:
        item = await method(*args)
    except BaseException as exc:
        rec.stopped(tokens, exc)
        raise
    return rec.stepped(tokens, item)


def _assembled_message(chunks: list[Any]) -> Any:
    """The reply a stream of provider chunks adds up to (text, or the messages), or None
    when the chunks are not a provider stream tracer.llm understands."""
    from tracer.core import _llm_module

    llm = _llm_module()
    if llm is None:
        return None
    try:
        info = llm.extract(chunks)
    except Exception:
        warn_once("stream_extract", "could not reassemble an LLM stream")
        return None
    if info is None or not info.output_messages:
        return None
    messages = info.output_messages
    if len(messages) == 1 and isinstance(messages[0].get("content"), str) and set(
            messages[0]) <= {"role", "content"}:
        return messages[0]["content"]
    return messages


class _Proxy:
    """What every stream proxy shares: the inner stream, its recorder, and every other
    attribute (``gi_frame``, ``response``, ...) read from the inner stream."""

    __slots__ = ("_inner", "_rec")

    def __init__(self, inner: Any, rec: _Recorder) -> None:
        self._inner = inner
        self._rec = rec

    def __del__(self) -> None:
        # Cannot await here; an event loop finalizes a real async generator itself.
        self._rec.finalize()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class TracedGenerator(_Proxy, Generator[Any, Any, Any]):
    """A generator proxy: same iteration, ``send``, ``throw`` and ``close`` semantics."""

    __slots__ = ()

    def __iter__(self) -> TracedGenerator:
        return self

    def __next__(self) -> Any:
        return _step(self._rec, self._inner.send, None)

    def send(self, value: Any) -> Any:
        """Resume the generator with ``value``."""
        return _step(self._rec, self._inner.send, value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:  # type: ignore[override]
        """Raise an exception inside the generator."""
        if val is None and tb is None:
            return _step(self._rec, self._inner.throw, typ)
        return _step(self._rec, self._inner.throw, typ, val, tb)

    def close(self) -> None:
        """Close the generator early; the span ends as closed early."""
        rec = self._rec
        if rec.done:
            self._inner.close()
            return
        tokens = rec.call.enter()
        try:
            self._inner.close()
        except BaseException as exc:
            rec.close_failed(tokens, exc)
            raise
        rec.closed(tokens)

    def __del__(self) -> None:
        # A sync generator can be closed right here, inside its span.
        try:
            if not self._rec.done:
                self.close()
        except BaseException:  # finalizers must not raise
            pass


class TracedAsyncGenerator(_Proxy, AsyncGenerator[Any, Any]):
    """An async generator proxy: same ``async for``, ``asend``, ``athrow``, ``aclose``."""

    __slots__ = ()

    def __aiter__(self) -> TracedAsyncGenerator:
        return self

    async def __anext__(self) -> Any:
        return await _astep(self._rec, self._inner.asend, None)

    async def asend(self, value: Any) -> Any:
        """Resume the async generator with ``value``."""
        return await _astep(self._rec, self._inner.asend, value)

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None) -> Any:  # type: ignore[override]
        """Raise an exception inside the async generator."""
        if val is None and tb is None:
            return await _astep(self._rec, self._inner.athrow, typ)
        return await _astep(self._rec, self._inner.athrow, typ, val, tb)

    async def aclose(self) -> None:
        """Close the stream early; the span ends as closed early."""
        rec = self._rec
        if rec.done:
            await self._inner.aclose()
            return
        tokens = rec.call.enter()
        try:
            await self._inner.aclose()
        except BaseException as exc:
            rec.close_failed(tokens, exc)
            raise
        rec.closed(tokens)


def traced_generator(gen: Generator[Any, Any, Any], spec: OpSpec, runtime: Runtime,
                     call: Call) -> TracedGenerator:
    """Wrap a started generator whose span is ``call``."""
    return TracedGenerator(gen, _Recorder(spec, runtime, call))


def traced_async_generator(agen: AsyncGenerator[Any, Any], spec: OpSpec, runtime: Runtime,
                           call: Call) -> TracedAsyncGenerator:
    """Wrap a started async generator whose span is ``call``."""
    return TracedAsyncGenerator(agen, _Recorder(spec, runtime, call))


class TracedIterator(_Proxy):
    """Wraps a stream object an ``llm`` op *returned* (e.g. the OpenAI SDK's ``Stream``):
    the span stays open until the caller has consumed or closed it. Every other
    attribute (``response``, context-manager use …) is the stream's own."""

    __slots__ = ("_it",)

    def __init__(self, inner: Any, rec: _Recorder) -> None:
        super().__init__(inner, rec)
        self._it: Any = None

    def __iter__(self) -> TracedIterator:
        return self

    def __next__(self) -> Any:
        if self._it is None:
            self._it = iter(self._inner)
        return _step(self._rec, next, self._it)

    def close(self) -> Any:
        """Close the underlying stream; the span ends as closed early."""
        try:
            closer = getattr(self._inner, "close", None)
            return closer() if callable(closer) else None
        finally:
            self._rec.finish(closed_early=True)

    def __enter__(self) -> TracedIterator:
        enter = getattr(self._inner, "__enter__", None)
        if callable(enter):
            enter()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self._inner, "__exit__", None)
            return exit_(*exc_info) if callable(exit_) else None
        finally:
            self._rec.finish(closed_early=True)


class TracedAsyncIterator(_Proxy):
    """``TracedIterator`` for async streams (the OpenAI SDK's ``AsyncStream`` …)."""

    __slots__ = ("_it",)

    def __init__(self, inner: Any, rec: _Recorder) -> None:
        super().__init__(inner, rec)
        self._it: Any = None

    def __aiter__(self) -> TracedAsyncIterator:
        return self

    async def __anext__(self) -> Any:
        if self._it is None:
            self._it = self._inner.__aiter__()
        return await _astep(self._rec, self._it.__anext__)

    async def aclose(self) -> None:
        """Close the underlying stream; the span ends as closed early."""
        try:
            closer = getattr(self._inner, "aclose", None) or getattr(self._inner, "close", None)
            if callable(closer):
                result = closer()
                if hasattr(result, "__await__"):
                    await result
        finally:
            self._rec.finish(closed_early=True)

    async def close(self) -> None:
        """Alias of ``aclose`` (the OpenAI SDK names it ``close``)."""
        await self.aclose()

    async def __aenter__(self) -> TracedAsyncIterator:
        enter = getattr(self._inner, "__aenter__", None)
        if callable(enter):
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self._inner, "__aexit__", None)
            return await exit_(*exc_info) if callable(exit_) else None
        finally:
            self._rec.finish(closed_early=True)


_NOT_STREAMS = (str, bytes, bytearray, dict, list, tuple, set, frozenset)


def returned_stream(result: Any, spec: OpSpec, runtime: Runtime, call: Call) -> Any | None:
    """A traced proxy when an ``llm`` op returned an unconsumed stream, else None."""
    if isinstance(result, _NOT_STREAMS):
        return None
    kind = type(result)
    if hasattr(kind, "__anext__") or (hasattr(kind, "__aiter__") and not hasattr(kind, "__iter__")):
        return TracedAsyncIterator(result, _Recorder(spec, runtime, call))
    if hasattr(kind, "__next__"):
        return TracedIterator(result, _Recorder(spec, runtime, call))
    return None
