"""``tracer.current_span()`` and ``tracer.add_feedback``: the live span as a small object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api

from tracer import feedback
from tracer._log import warn_once
from tracer.runtime import STATE

_SCALARS = (str, bool, int, float)


def _attribute_value(value: Any) -> Any:
    """``value`` as an OTel attribute: scalars and homogeneous scalar lists as they are,
    anything else as JSON text (capped and redacted like inputs)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, list | tuple) and value and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return list(value)
    runtime = STATE.runtime
    if runtime is None:
        return str(value)
    return runtime.serializer.dumps(value)


class SpanHandle:
    """The span of the op being run (or any OTel span current in the context).

    Every method is safe to call when tracing is off or the trace was sampled out: it
    then does nothing. None of them raises.
    """

    __slots__ = ("_span",)

    def __init__(self, span: trace_api.Span) -> None:
        self._span = span

    @property
    def otel_span(self) -> trace_api.Span:
        """The underlying OpenTelemetry span."""
        return self._span

    @property
    def trace_id(self) -> str | None:
        """Lowercase hex trace id (32 chars), or None when there is no span."""
        ctx = self._span.get_span_context()
        return trace_api.format_trace_id(ctx.trace_id) if ctx.is_valid else None

    @property
    def span_id(self) -> str | None:
        """Lowercase hex span id (16 chars), or None when there is no span."""
        ctx = self._span.get_span_context()
        return trace_api.format_span_id(ctx.span_id) if ctx.is_valid else None

    @property
    def is_recording(self) -> bool:
        """True when the span is sampled and still open, so attributes will be kept."""
        return self._span.is_recording()

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute; non-scalar values are stored as JSON text."""
        try:
            if self._span.is_recording():
                self._span.set_attribute(str(key), _attribute_value(value))
        except Exception:
            warn_once("set_attribute", "could not set attribute %r on the current span", key)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes at once (see ``set_attribute``)."""
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Record a timestamped event on the span."""
        try:
            if self._span.is_recording():
                self._span.add_event(name, {str(k): _attribute_value(v)
                                            for k, v in (attributes or {}).items()})
        except Exception:
            warn_once("add_event", "could not add event %r to the current span", name)

    def add_feedback(self, name: str, value: float | bool | str, comment: str | None = None,
                     source: str = "human") -> bool:
        """Attach feedback (a score, a boolean or a label) to this span's trace and span.

        Posted to the collector's ``POST /api/feedback`` in the background; returns True
        when it was queued. Never raises: a bad value or a down collector is logged once.
        """
        ctx = self._span.get_span_context()
        if not ctx.is_valid:
            warn_once("feedback_no_span", "add_feedback called with no current span; "
                      "nothing to attach it to", exc_info=False)
            return False
        if not ctx.trace_flags.sampled:
            warn_once("feedback_unsampled", "add_feedback on a trace that was sampled out; "
                      "the trace is not stored, so the feedback is not sent", exc_info=False)
            return False
        return add_feedback(trace_api.format_trace_id(ctx.trace_id), name, value,
                            span_id=trace_api.format_span_id(ctx.span_id), comment=comment,
                            source=source)

    def __repr__(self) -> str:
        return f"SpanHandle(trace_id={self.trace_id}, span_id={self.span_id})"


def current_span() -> SpanHandle:
    """The live span of the op being run (a no-op handle when there is none)."""
    return SpanHandle(trace_api.get_current_span())


def add_feedback(trace_id: str, name: str, value: float | bool | str, *,
                 span_id: str | None = None, comment: str | None = None,
                 source: str = "human") -> bool:
    """Attach feedback to a trace (and optionally one span) by id, e.g. from a web handler
    after the user clicked thumbs-up: ``tracer.add_feedback(trace_id, "thumbs_up", True)``.

    Sent to ``POST /api/feedback`` of the configured collector in the background with the
    project and API key from ``tracer.init``. Returns True when queued; never raises.
    """
    runtime = STATE.runtime
    if runtime is None:
        warn_once("feedback_no_init", "add_feedback called before tracer.init; not sent",
                  exc_info=False)
        return False
    try:
        body = feedback.payload(str(trace_id).lower(), span_id, name, value, source, comment,
                                runtime.settings.project)
    except Exception as exc:
        warn_once("feedback_invalid", "feedback not sent: %s", exc, exc_info=False)
        return False
    return feedback.submit(runtime.settings.feedback_url, runtime.settings.headers(), body)
