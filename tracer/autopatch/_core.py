"""Wrapping one SDK method so each call becomes an ``llm``/``embedding`` span.

The wrapper reuses the ``@op`` machinery (``tracer.core``): the span, its inputs (the
call's keyword arguments, which is how every provider SDK takes a request), and at the end
``tracer.llm.attributes_for`` / ``attributes_for_stream`` (model, messages, usage, cost),
exactly as an ``@op(kind="llm")`` around the same call would record them.

Guarantees:

- What the SDK returns or raises is untouched: the same object comes back (a stream is
  the SDK's own ``Stream`` object; only its private chunk iterator is wrapped so chunks
  are recorded as the caller reads them) and the same exception propagates.
- No tracing while ``tracer.init`` is not active, and none inside an ``@op(kind="llm")``
  (or another patched call): the op already records the call, so there is one LLM span.
- A failure inside tracing is logged once and the call goes on untraced.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from common import attributes as A
from tracer._log import warn_once
from tracer.context import CURRENT_FRAME, Frame
from tracer.core import Call, OpSpec, finish_error, finish_ok
from tracer.state import STATE, Runtime

LLM_KINDS = ("llm", "embedding")


def _inside_llm() -> bool:
    """True inside an ``@op(kind="llm"|"embedding")`` or another patched call."""
    frame = CURRENT_FRAME.get()
    return frame is not None and frame.kind in LLM_KINDS


def _start(spec: OpSpec, runtime: Runtime, kwargs: dict[str, Any]) -> Call | None:
    """Start the span (child of the current context); None if tracing failed."""
    span = None
    try:
        start_ns = time.monotonic_ns()
        span = runtime.tracer.start_span(spec.name)
        text = None
        if span.is_recording() and spec.capture_inputs:
            text = runtime.serializer.dumps_inputs(kwargs)
        from opentelemetry import trace as trace_api

        return Call(span, Frame(span, spec.kind), trace_api.set_span_in_context(span),
                    kwargs, text, start_ns)
    except Exception:
        warn_once("autopatch_start", "could not start a span for %s; the call runs untraced",
                  spec.name)
        if span is not None:
            try:
                span.end()
            except Exception:
                pass
        return None


def _recorder(spec: OpSpec, runtime: Runtime, call: Call) -> Any:
    from tracer.streams import _Recorder

    return _Recorder(spec, runtime, call)


class _Recording:
    """Ends ``rec`` however the wrapped iteration stops: failed (an exception other than
    the consumer closing the stream), exhausted, or closed early. One body for the sync and
    async generators below, which differ only in how they iterate."""

    __slots__ = ("finished", "rec")

    def __init__(self, rec: Any) -> None:
        self.rec = rec
        self.finished = False

    def __enter__(self) -> _Recording:
        return self

    def __exit__(self, typ: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None and not isinstance(exc, GeneratorExit):
            self.finished = True
            self.rec.fail(exc)
        if not self.rec.done:
            self.rec.finish(closed_early=not self.finished)
        return False


def _record_sync(source: Any, rec: Any) -> Any:
    """A generator yielding ``source``'s chunks unchanged while recording them."""
    with _Recording(rec) as recording:
        for item in source:
            rec.chunk(item)
            yield item
        recording.finished = True


async def _record_async(source: Any, rec: Any) -> Any:
    """The async twin of :func:`_record_sync`."""
    with _Recording(rec) as recording:
        async for item in source:
            rec.chunk(item)
            yield item
        recording.finished = True


def _traced_stream(result: Any, spec: OpSpec, runtime: Runtime, call: Call,
                   is_async: bool) -> bool:
    """Record the chunks of the SDK's own stream object in place; False when ``result``
    is not a stream this knows (then the span ends now with what the result says)."""
    try:
        source = result.__dict__.get("_iterator") if hasattr(result, "__dict__") else None
        if source is None:
            source = getattr(result, "_iterator", None)  # anthropic: a cached_property
        if source is None:
            return False
        rec = _recorder(spec, runtime, call)
        wrapped = _record_async(source, rec) if is_async else _record_sync(source, rec)
        result.__dict__["_iterator"] = wrapped
        return True
    except Exception:
        warn_once("autopatch_stream", "could not trace a stream returned by %s", spec.name)
        return False


def wrap(original: Callable[..., Any], name: str, kind: str = "llm",
         capture_output: bool = True) -> Callable[..., Any]:
    """A wrapper of SDK method ``original`` (``self`` first, request as keywords) that
    traces each call as a span ``name`` of op kind ``kind``."""
    # kind "llm" drives tracer.llm's attribute extraction; an embedding span gets its own
    # kind through ``extra`` (tracer.llm reads embeddings responses too).
    # The request and the reply are recorded as GenAI messages and request attributes
    # (gen_ai.input.messages, gen_ai.request.*, gen_ai.output.messages), which the console
    # renders as a chat; serializing the raw kwargs and SDK object again would only double
    # the span and the per-call cost. ``capture_output`` is kept for the op-style output
    # of non-chat calls when a provider module asks for it.
    spec = OpSpec(original, name, "llm", None, None, False, capture_output,
                  {A.AUTOPATCH: name})
    extra = {A.OP_KIND: kind} if kind != "llm" else None
    state = STATE

    # SDK decorators (openai's ``required_args``) hide ``async def`` behind a sync wrapper.
    if inspect.iscoroutinefunction(original) or inspect.iscoroutinefunction(
            inspect.unwrap(original)):
        @functools.wraps(original)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            runtime = state.runtime
            if runtime is None or args or _inside_llm():
                return await original(self, *args, **kwargs)
            call = _start(spec, runtime, kwargs)
            if call is None:
                return await original(self, *args, **kwargs)
            tokens = call.enter()
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                Call.leave(tokens)
                finish_error(spec, call, exc, extra)
                raise
            Call.leave(tokens)
            if not (kwargs.get("stream") is True
                    and _traced_stream(result, spec, runtime, call, True)):
                finish_ok(spec, runtime, call, result, extra=extra)
            return result

        async_wrapper.__spyglass_original__ = original  # type: ignore[attr-defined]
        return async_wrapper

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        runtime = state.runtime
        if runtime is None or args or _inside_llm():
            return original(self, *args, **kwargs)
        call = _start(spec, runtime, kwargs)
        if call is None:
            return original(self, *args, **kwargs)
        tokens = call.enter()
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            Call.leave(tokens)
            finish_error(spec, call, exc, extra)
            raise
        Call.leave(tokens)
        if not (kwargs.get("stream") is True
                and _traced_stream(result, spec, runtime, call, False)):
            finish_ok(spec, runtime, call, result, extra=extra)
        return result

    wrapper.__spyglass_original__ = original  # type: ignore[attr-defined]
    return wrapper
