"""``tracer.init``: the OpenTelemetry provider, sampler, processor and exporter Spyglass uses.

``tracer.state.STATE`` holds the live :class:`~tracer.state.Runtime` (``None`` until
``init``), so the ``@op`` wrapper decides with one attribute read whether to trace at all.

Provider policy: when the application has already installed an SDK ``TracerProvider``,
Spyglass adds its processor to it (the application keeps its sampler and other
exporters); otherwise Spyglass creates a provider, installs it globally and owns it.
Calling ``init`` again swaps Spyglass's processor and sampler in place, because
OpenTelemetry allows the global provider to be set only once.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as trace_api

from common import attributes as A
from tracer._log import logger, warn_once
from tracer.serialize import Serializer, utf8_safe
from tracer.settings import Settings, resolve
from tracer.state import STATE, Runtime

__all__ = ["STATE", "Runtime", "flush", "init", "settings", "shutdown"]

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, Span
    from opentelemetry.sdk.trace.export import SpanExporter

SCOPE_NAME = "spyglass.tracer"
SCOPE_VERSION = "0.1.0"


def run_bounded(fn: Callable[[], Any], timeout_s: float, what: str) -> bool:
    """Run ``fn`` on a daemon thread and wait at most ``timeout_s``; True if it finished.

    The OTel SDK's flush and shutdown wait for an export that, with the collector down or
    black-holed, can take the exporter's whole retry budget; a daemon thread lets the
    caller (and the interpreter at exit) move on when the budget is spent.
    """
    return wait_bounded(start_background(fn, what), timeout_s, what)


def start_background(fn: Callable[[], Any], what: str) -> threading.Event:
    """Run ``fn`` on a daemon thread; the returned event is set when it has finished."""
    done = threading.Event()

    def target() -> None:
        try:
            fn()
        except Exception:
            warn_once(f"bounded:{what}", "%s failed", what)
        finally:
            done.set()

    threading.Thread(target=target, name=f"spyglass-{what}", daemon=True).start()
    return done


def wait_bounded(done: threading.Event, timeout_s: float, what: str) -> bool:
    """Wait at most ``timeout_s`` for ``done``; log once when the budget ran out."""
    finished = done.wait(max(timeout_s, 0.0))
    if not finished:
        warn_once(f"timeout:{what}", "%s did not finish within %.1fs; continuing without it",
                  what, timeout_s, exc_info=False)
    return finished


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


def _project_exporter(inner: SpanExporter, overlay: dict[str, Any]) -> SpanExporter:
    """Wrap ``inner`` so every exported span's resource carries ``overlay`` (at least
    ``spyglass.project``): spans of an application's own provider, or of a provider an
    earlier ``init`` created, get the current project."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    from opentelemetry.trace import Status

    class ProjectExporter(SpanExporter):
        """Adds the project to each span's resource, then hands the batch on."""

        def __init__(self) -> None:
            self.inner = inner
            self._resources: weakref.WeakKeyDictionary[Any, Resource] = (
                weakref.WeakKeyDictionary())
            self.failed_batches = 0

        def _resource(self, resource: Resource) -> Resource:
            try:
                merged = self._resources.get(resource)
            except TypeError:
                merged = None
            if merged is None:
                merged = resource.merge(Resource(overlay))
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
                    and all(current.get(k) == v for k, v in overlay.items())):
                return span
            return ReadableSpan(
                name=span.name, context=span.context, parent=span.parent,
                resource=self._resource(span.resource), attributes=attributes,
                events=events, links=span.links, kind=span.kind, status=status,
                start_time=span.start_time, end_time=span.end_time,
                instrumentation_scope=span.instrumentation_scope,
            )

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
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
            self.inner.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self.inner.force_flush(timeout_millis)

    return ProjectExporter()


# ---------------------------------------------------------------- processor


def _make_processor(batch: Any) -> Any:
    from opentelemetry.sdk.trace import SpanProcessor

    from tracer.context import context_attributes

    class SpyglassProcessor(SpanProcessor):
        """Applies ``tracer.attributes(...)`` to every span started inside it and forwards
        spans to a swappable batch processor (``init`` again swaps it)."""

        def __init__(self) -> None:
            self.batch = batch
            self.closed = False
            self._flush_lock = threading.Lock()
            self._flushing: threading.Event | None = None

        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            if self.closed:
                return
            try:
                extra = context_attributes()
                if extra:
                    span.set_attributes(extra)
            except Exception:
                warn_once("on_start", "could not apply tracer.attributes(...) to a span")

        def on_end(self, span: ReadableSpan) -> None:
            if not self.closed:
                self.batch.on_end(span)

        def shutdown(self) -> None:
            if self.closed:
                return
            self.closed = True
            run_bounded(self.batch.shutdown, STATE.runtime.settings.flush_timeout_s
                        if STATE.runtime else 5.0, "shutdown")

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
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

    return SpyglassProcessor()


def _sampler(rate: float) -> Any:
    from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

    class SwitchableSampler(Sampler):
        """ParentBased(TraceIdRatioBased(rate)), with a rate ``init`` can change later:
        the root decides, every child follows its parent."""

        def __init__(self) -> None:
            self.set_rate(rate)

        def set_rate(self, value: float) -> None:
            self.rate = value
            self.delegate = ParentBased(TraceIdRatioBased(value))

        def should_sample(self, parent_context: Any, trace_id: int, name: str,
                          kind: Any = None, attributes: Any = None, links: Any = None,
                          trace_state: Any = None) -> Any:
            return self.delegate.should_sample(parent_context, trace_id, name, kind,
                                               attributes, links, trace_state)

        def get_description(self) -> str:
            return f"Spyglass({self.delegate.get_description()})"

    return SwitchableSampler()


def _resource_attributes(settings: Settings) -> dict[str, Any]:
    """What Spyglass puts on the resource: the project, and ``service.name`` unless the
    standard OTel variables already name the service."""
    import os

    attrs: dict[str, Any] = {A.PROJECT: settings.project}
    if settings.service_name:
        attrs[A.SERVICE_NAME] = settings.service_name
    elif not os.environ.get("OTEL_SERVICE_NAME") and (
            "service.name=" not in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")):
        attrs[A.SERVICE_NAME] = settings.project
    return attrs


def _exporter(settings: Settings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from tracer._log import quiet_exporter_logs

    quiet_exporter_logs()
    headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else None
    return OTLPSpanExporter(endpoint=settings.traces_url, headers=headers)


# ---------------------------------------------------------------- public


def init(
    project: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    sample_rate: float | None = None,
    *,
    service_name: str | None = None,
    flush_timeout_s: float | None = None,
    max_value_chars: int | None = None,
    redact: bool | None = None,
    redact_keys: Iterable[str] | None = None,
    enabled: bool | None = None,
    exporter: SpanExporter | None = None,
) -> Settings:
    """Start tracing: every ``@op`` call from now on becomes a span sent to the collector.

    Each setting comes from its argument, else a ``SPYGLASS_*`` variable, else the
    standard ``OTEL_*`` variable, else the default (see docs/tracer.md). ``exporter``
    replaces the OTLP/HTTP exporter (for example an ``InMemorySpanExporter`` in tests).
    Calling ``init`` again replaces the previous configuration. Raises ``ValueError`` for
    a bad setting, naming it; nothing is sent until a span ends, so an unreachable
    collector never fails ``init``.
    """
    settings = resolve(project=project, endpoint=endpoint, api_key=api_key,
                       sample_rate=sample_rate, service_name=service_name,
                       flush_timeout_s=flush_timeout_s, max_value_chars=max_value_chars,
                       redact=redact, redact_keys=redact_keys, enabled=enabled)
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    with STATE.lock:
        _close_runtime(settings.flush_timeout_s, wait=False)
        if not settings.enabled:
            logger.info("spyglass: tracing disabled by configuration; @op passes calls through")
            return settings
        from opentelemetry.sdk.resources import Resource

        current = trace_api.get_tracer_provider()
        ours = _resource_attributes(settings)
        # On an application's provider only the project is added; its service name stays.
        attached = isinstance(current, TracerProvider) and current is not STATE.provider
        overlay = {A.PROJECT: settings.project} if attached else ours
        batch = BatchSpanProcessor(_project_exporter(exporter or _exporter(settings), overlay))
        processor = _make_processor(batch)
        owns = False
        if STATE.provider is not None and current is STATE.provider:
            provider = STATE.provider
            provider.sampler.set_rate(settings.sample_rate)
            owns = True
        elif isinstance(current, TracerProvider):
            provider = current  # the application's own provider: add to it, keep its sampler
            if settings.sample_rate < 1.0:
                logger.warning("spyglass: the application's TracerProvider decides sampling; "
                               "sample_rate=%s is not applied", settings.sample_rate)
        else:
            provider = TracerProvider(sampler=_sampler(settings.sample_rate),
                                      resource=Resource.create(ours), shutdown_on_exit=False)
            owns = True
            if _is_default_provider(current):
                trace_api.set_tracer_provider(provider)
                STATE.provider = provider
            else:
                logger.warning("spyglass: the global TracerProvider (%s) is not the "
                               "OpenTelemetry SDK's; @op spans use Spyglass's own provider",
                               type(current).__name__)
        provider.add_span_processor(processor)
        otel_tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)
        STATE.runtime = Runtime(
            settings=settings, tracer=otel_tracer,
            serializer=Serializer(settings.max_value_chars, settings.redact,
                                  settings.redact_keys),
            processor=processor, owns_provider=owns, otlp_export=exporter is None,
        )
        if not STATE.atexit_registered:
            atexit.register(_at_exit)
            STATE.atexit_registered = True
    return settings


def _is_default_provider(provider: Any) -> bool:
    return type(provider).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider")


def _close_runtime(timeout_s: float, wait: bool = True) -> bool:
    runtime = STATE.runtime
    STATE.runtime = None
    if runtime is None:
        return True
    if not wait:
        # Re-init must not block on a slow collector: the old processor stops taking
        # spans now and sends what it holds in the background.
        runtime.processor.closed = True
        start_background(runtime.processor.batch.shutdown, "shutdown")
        return True
    import time

    from tracer import feedback

    # One budget for both: feedback still queued, then the spans.
    deadline = time.monotonic() + timeout_s
    feedback.drain(timeout_s)
    runtime.processor.closed = True
    return run_bounded(runtime.processor.batch.shutdown,
                       max(deadline - time.monotonic(), 0.0), "shutdown")


def flush(timeout_s: float | None = None) -> bool:
    """Send every finished span now; wait at most ``timeout_s`` (default: the configured
    ``flush_timeout_s``). Returns True when everything was handed to the collector in
    time, False on timeout or when nothing is initialised. Never raises."""
    runtime = STATE.runtime
    if runtime is None:
        return False
    timeout = runtime.settings.flush_timeout_s if timeout_s is None else max(timeout_s, 0.0)
    try:
        import time

        from tracer import feedback

        deadline = time.monotonic() + timeout
        done = feedback.drain(timeout)
        remaining = max(deadline - time.monotonic(), 0.0)
        return runtime.processor.force_flush(int(remaining * 1000)) and done
    except Exception:
        warn_once("flush", "flush failed")
        return False


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush (bounded) and stop tracing; ``@op`` becomes a pass-through again until the
    next ``init``. Returns True when the flush finished in time. Never raises."""
    with STATE.lock:
        runtime = STATE.runtime
        if runtime is None:
            return True
        timeout = runtime.settings.flush_timeout_s if timeout_s is None else max(timeout_s, 0.0)
        try:
            return _close_runtime(timeout)
        except Exception:
            warn_once("shutdown", "shutdown failed")
            return False


EXPORTS = {"ok": 0}
"""Batches exported successfully by this process (any init): the exit wait is skipped
while it is 0 and the collector refuses connections."""


def endpoint_refuses(url: str, timeout_s: float = 0.25) -> bool:
    """True when nothing listens at ``url``'s host and port (the connection is refused at
    once); False when it connects, or does not answer within ``timeout_s`` (a collector
    behind a slow network may still take the spans)."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout_s):
            return False
    except ConnectionRefusedError:
        return True
    except (OSError, ValueError):
        return False


def _at_exit() -> None:
    try:
        runtime = STATE.runtime
        # A collector that was never reached and refuses connections now will not take
        # the spans within the exit bound either: say so once and exit without waiting.
        if (runtime is not None and EXPORTS["ok"] == 0 and runtime.otlp_export
                and endpoint_refuses(runtime.settings.traces_url)):
            STATE.runtime = None
            runtime.processor.closed = True
            warn_once("exit_refused", "no collector at %s (connection refused) and no span was "
                      "ever exported; exiting without waiting for it, unsent spans are dropped",
                      runtime.settings.endpoint, exc_info=False)
            return
        shutdown()
    except Exception:  # nothing may fail the interpreter's exit
        pass


def settings() -> Settings | None:
    """The settings of the live ``init``, or None when tracing is off."""
    runtime = STATE.runtime
    return runtime.settings if runtime else None
