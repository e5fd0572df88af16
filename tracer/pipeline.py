"""The OpenTelemetry SDK pieces ``tracer.init`` assembles: exporter, processor, sampler.

    @op span -> SpyglassProcessor (adds tracer.attributes(...)) -> BatchSpanProcessor
             -> ProjectExporter (project on the resource, UTF-8-safe strings)
             -> OTLP/HTTP exporter (or the one passed to ``init``)

This module imports the OTel SDK, so ``tracer.runtime`` imports it only inside ``init``:
``import tracer`` and an untraced ``@op`` stay cheap.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Status

from tracer._log import warn_once
from tracer.background import run_bounded, start_background, wait_bounded
from tracer.context import context_attributes
from tracer.serialize import utf8_safe
from tracer.state import EXPORTS

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span

    from tracer.settings import Settings

__all__ = ["ProjectExporter", "SpyglassProcessor", "SwitchableSampler", "otlp_exporter"]


# ---------------------------------------------------------------- exporter


def _utf8_attributes(attributes: Any) -> Any:
    """``attributes`` itself, or a copy whose strings protobuf can encode: one lone
    surrogate anywhere (any instrumentation's attribute) would fail the whole batch."""
    if not attributes:
        return attributes
    bad = [k for k, v in attributes.items() if isinstance(v, str) and utf8_safe(v) is not v]
    if not bad:
        return attributes
    fixed = dict(attributes)
    for key in bad:
        fixed[key] = utf8_safe(fixed[key])
    return fixed


class ProjectExporter(SpanExporter):
    """Wraps ``inner`` so every exported span's resource carries ``overlay`` (at least
    ``spyglass.project``): spans of an application's own provider, or of a provider an
    earlier ``init`` created, get the current project. Counts failed batches and logs
    the first failure."""

    def __init__(self, inner: SpanExporter, overlay: dict[str, Any]) -> None:
        self.inner = inner
        self.overlay = overlay
        self._resources: weakref.WeakKeyDictionary[Any, Resource] = weakref.WeakKeyDictionary()
        self.failed_batches = 0

    def _resource(self, resource: Resource) -> Resource:
        try:
            merged = self._resources.get(resource)
        except TypeError:
            merged = None
        if merged is None:
            merged = resource.merge(Resource(self.overlay))
            try:
                self._resources[resource] = merged
            except TypeError:
                pass
        return merged

    def _with_project(self, span: ReadableSpan) -> ReadableSpan:
        current = span.resource.attributes
        attributes = _utf8_attributes(span.attributes)
        events = span.events
        if any(_utf8_attributes(e.attributes) is not e.attributes for e in events):
            events = tuple(Event(e.name, _utf8_attributes(e.attributes), e.timestamp)
                           for e in events)
        status = span.status
        if status.description and utf8_safe(status.description) is not status.description:
            status = Status(status.status_code, utf8_safe(status.description))
        if (attributes is span.attributes and events is span.events
                and status is span.status
                and all(current.get(k) == v for k, v in self.overlay.items())):
            return span
        return ReadableSpan(
            name=span.name, context=span.context, parent=span.parent,
            resource=self._resource(span.resource), attributes=attributes,
            events=events, links=span.links, kind=span.kind, status=status,
            start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Add the project to each span's resource, then hand the batch on."""
        try:
            batch = [self._with_project(s) for s in spans]
            result = self.inner.export(batch)
        except Exception:
            warn_once("export", "exporting %d spans raised", len(spans))
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            EXPORTS["ok"] += 1
        else:
            self.failed_batches += 1
            warn_once("export_failed", "could not export %d spans to the collector "
                      "(is it running and reachable?); they are dropped", len(spans),
                      exc_info=False)
        return result

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the inner exporter."""
        return self.inner.force_flush(timeout_millis)


def otlp_exporter(settings: Settings) -> SpanExporter:
    """The OTLP/HTTP exporter to the collector (the API key as a bearer token)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from tracer._log import quiet_exporter_logs

    quiet_exporter_logs()
    headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else None
    return OTLPSpanExporter(endpoint=settings.traces_url, headers=headers)


# ---------------------------------------------------------------- processor


class SpyglassProcessor(SpanProcessor):
    """Applies ``tracer.attributes(...)`` to every span started inside it and forwards
    spans to a swappable batch processor (``init`` again swaps it).

    ``shutdown_timeout_s`` is asked at shutdown time: the budget is the live
    configuration's, which a later ``init`` may have changed.
    """

    def __init__(self, batch: Any, shutdown_timeout_s: Callable[[], float]) -> None:
        self.batch = batch
        self.closed = False
        self._shutdown_timeout_s = shutdown_timeout_s
        self._flush_lock = threading.Lock()
        self._flushing: threading.Event | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Set the ``tracer.attributes(...)`` in effect on the new span."""
        if self.closed:
            return
        try:
            extra = context_attributes()
            if extra:
                span.set_attributes(extra)
        except Exception:
            warn_once("on_start", "could not apply tracer.attributes(...) to a span")

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the finished span for export."""
        if not self.closed:
            self.batch.on_end(span)

    def shutdown(self) -> None:
        """Stop taking spans; send what is queued within the flush budget."""
        if self.closed:
            return
        self.closed = True
        run_bounded(self.batch.shutdown, self._shutdown_timeout_s(), "shutdown")

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export what is queued; wait at most ``timeout_millis``."""
        if self.closed:
            return True
        # With the collector down a flush can outlive its caller's budget; callers
        # that flush often (per request) join the running one instead of piling up
        # threads. The running flush keeps exporting while the queue is not empty.
        with self._flush_lock:
            pending = self._flushing
            if pending is None or pending.is_set():
                pending = start_background(
                    lambda: self.batch.force_flush(timeout_millis), "flush")
                self._flushing = pending
        return wait_bounded(pending, timeout_millis / 1000, "flush")


# ---------------------------------------------------------------- sampler


class SwitchableSampler(Sampler):
    """ParentBased(TraceIdRatioBased(rate)), with a rate ``init`` can change later:
    the root decides, every child follows its parent."""

    def __init__(self, rate: float) -> None:
        self.set_rate(rate)

    def set_rate(self, value: float) -> None:
        """Sample new root traces at ``value`` (0..1) from now on."""
        self.rate = value
        self.delegate = ParentBased(TraceIdRatioBased(value))

    def should_sample(self, parent_context: Any, trace_id: int, name: str,
                      kind: Any = None, attributes: Any = None, links: Any = None,
                      trace_state: Any = None) -> Any:
        """Delegate to the parent-based ratio sampler."""
        return self.delegate.should_sample(parent_context, trace_id, name, kind,
                                           attributes, links, trace_state)

    def get_description(self) -> str:
        """``Spyglass(ParentBased{...})``."""
        return f"Spyglass({self.delegate.get_description()})"
