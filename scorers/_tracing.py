"""The one place scorers touch the tracer.

Scorer calls become ``@op`` spans of kind ``evaluator`` (or ``guardrail`` inside a
guardrail). Scoring works whether or not tracing is set up: without ``tracer.init`` an op
records nothing, and a failure to set span attributes is logged once, never raised.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import trace

from common import attributes as A
from tracer import op

log = logging.getLogger("spyglass.scorers")

_KIND: contextvars.ContextVar[str] = contextvars.ContextVar("spyglass_scorer_kind", default="evaluator")
# The span that was current when a traced scorer call started: lets the call tell its own
# span apart from the caller's when tracing is off (then no new span exists).
_PARENT: contextvars.ContextVar[Any] = contextvars.ContextVar("spyglass_scorer_parent", default=None)
_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


def current_scorer_kind() -> str:
    """``guardrail`` while a guardrail runs its scorers, else ``evaluator``."""
    return _KIND.get()


@contextlib.contextmanager
def scorer_kind(kind: str) -> Iterator[None]:
    """Scorer spans started inside get op kind ``kind``."""
    token = _KIND.set(kind)
    try:
        yield
    finally:
        _KIND.reset(token)


def _op_decorator(name: str, kind: str, **extra: Any) -> Callable[[Callable], Callable]:
    """``tracer.op`` for a scorer call (``extra``: op's own keyword arguments)."""
    return op(name=name, kind=kind, **extra)


def own_span() -> Any | None:
    """The span of the current traced call, or None when tracing made no new span."""
    span = trace.get_current_span()
    if span is _PARENT.get() or not span.is_recording():
        return None
    return span


def set_attributes(span: Any, attributes: dict[str, Any]) -> None:
    """Set attributes on ``span``; tracing problems are logged once, never raised."""
    if span is None:
        return
    try:
        span.set_attributes(attributes)
    except Exception as exc:
        _warn_once("attrs", "scorers: could not set span attributes (%s)", exc)


def _score_attributes(score: Any) -> dict[str, Any]:
    return {A.SCORE_NAME: score.name, A.SCORE_VALUE: score.value}


def _record(score: Any) -> None:
    span = own_span()
    if span is not None:
        try:
            set_attributes(span, _score_attributes(score))
        except Exception as exc:
            _warn_once("score-attrs", "scorers: could not record score on span (%s)", exc)


def _flat_fields(inputs: dict[str, Any]) -> Any:
    # A scorer's implementation takes **fields: record them as the span's inputs directly.
    fields = inputs.get("fields")
    return fields if isinstance(fields, dict) and len(inputs) == 1 else inputs


def traced_scorer(scorer: Any, *, kind: str, is_async: bool) -> Callable[..., Any]:
    """``scorer._score`` / ``_ascore`` wrapped in an op of ``kind``."""
    if is_async:
        async def inner_async(**fields: Any) -> Any:
            score = await scorer._ascore(**fields)
            _record(score)
            return score

        inner_async.__name__ = scorer.name
        wrapped_async = _op_decorator(scorer.name, kind, postprocess_inputs=_flat_fields)(inner_async)

        @functools.wraps(inner_async)
        async def call_async(**fields: Any) -> Any:
            token = _PARENT.set(_current_span())
            try:
                return await wrapped_async(**fields)
            finally:
                _PARENT.reset(token)

        return call_async

    def inner(**fields: Any) -> Any:
        score = scorer._score(**fields)
        _record(score)
        return score

    inner.__name__ = scorer.name
    wrapped = _op_decorator(scorer.name, kind, postprocess_inputs=_flat_fields)(inner)

    @functools.wraps(inner)
    def call(**fields: Any) -> Any:
        token = _PARENT.set(_current_span())
        try:
            return wrapped(**fields)
        finally:
            _PARENT.reset(token)

    return call


def _current_span() -> Any:
    return trace.get_current_span()


def traced_function(fn: Callable[..., Any], *, name: str, kind: str, **extra: Any) -> Callable[..., Any]:
    """``fn`` as an op of ``kind`` named ``name``."""
    return _op_decorator(name, kind, **extra)(fn)
