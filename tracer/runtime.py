"""``tracer.init`` / ``flush`` / ``shutdown``: the lifecycle of Spyglass's tracing pipeline.

The pipeline's pieces (exporter, processor, sampler) are the classes of
``tracer.pipeline``; this module decides which provider they attach to and when they
are swapped or closed.

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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as trace_api

from common import attributes as A
from tracer._log import logger, warn_once
from tracer.background import run_bounded, start_background
from tracer.serialize import Serializer
from tracer.settings import Settings, resolve
from tracer.state import EXPORTS, STATE, Runtime

__all__ = ["EXPORTS", "STATE", "Runtime", "endpoint_refuses", "flush", "init", "settings",
           "shutdown"]

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


SCOPE_NAME = "spyglass.tracer"
SCOPE_VERSION = "0.1.0"


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
    with STATE.lock:
        _close_runtime(settings.flush_timeout_s, wait=False)
        if not settings.enabled:
            logger.info("spyglass: tracing disabled by configuration; @op passes calls through")
            return settings
        STATE.runtime = _start(settings, exporter)
        if not STATE.atexit_registered:
            atexit.register(_at_exit)
            STATE.atexit_registered = True
    return settings


def _start(settings: Settings, exporter: SpanExporter | None) -> Runtime:
    """Build the pipeline for ``settings`` and attach it to the provider spans go to."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from tracer import pipeline

    current = trace_api.get_tracer_provider()
    ours = _resource_attributes(settings)
    # On an application's provider only the project is added; its service name stays.
    attached = isinstance(current, TracerProvider) and current is not STATE.provider
    overlay = {A.PROJECT: settings.project} if attached else ours
    batch = BatchSpanProcessor(pipeline.ProjectExporter(
        exporter or pipeline.otlp_exporter(settings), overlay))
    processor = pipeline.SpyglassProcessor(batch, _shutdown_timeout_s)
    provider, owns = _provider_for(current, settings, ours)
    provider.add_span_processor(processor)
    return Runtime(
        settings=settings, tracer=provider.get_tracer(SCOPE_NAME, SCOPE_VERSION),
        serializer=Serializer(settings.max_value_chars, settings.redact, settings.redact_keys),
        processor=processor, owns_provider=owns, otlp_export=exporter is None,
    )


def _provider_for(current: Any, settings: Settings, resource: dict[str, Any]) -> tuple[Any, bool]:
    """(the provider to add Spyglass's processor to, whether Spyglass owns it).

    Spyglass's own provider from an earlier ``init`` is reused (its sampler takes the
    new rate); an application's SDK provider is joined as it is; otherwise Spyglass
    creates one and installs it globally when the global one is still the default.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from tracer.pipeline import SwitchableSampler

    if STATE.provider is not None and current is STATE.provider:
        STATE.provider.sampler.set_rate(settings.sample_rate)
        return STATE.provider, True
    if isinstance(current, TracerProvider):
        # The application's own provider: add to it, keep its sampler.
        if settings.sample_rate < 1.0:
            logger.warning("spyglass: the application's TracerProvider decides sampling; "
                           "sample_rate=%s is not applied", settings.sample_rate)
        return current, False
    provider = TracerProvider(sampler=SwitchableSampler(settings.sample_rate),
                              resource=Resource.create(resource), shutdown_on_exit=False)
    if _is_default_provider(current):
        trace_api.set_tracer_provider(provider)
        STATE.provider = provider
    else:
        logger.warning("spyglass: the global TracerProvider (%s) is not the "
                       "OpenTelemetry SDK's; @op spans use Spyglass's own provider",
                       type(current).__name__)
    return provider, True


def _shutdown_timeout_s() -> float:
    """The live configuration's flush budget (5 s when tracing is off)."""
    runtime = STATE.runtime
    return runtime.settings.flush_timeout_s if runtime else 5.0


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
