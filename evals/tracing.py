"""How the runner traces rows: the tracer set up toward the chosen collector, an
``evaluator`` root span per row, and per-row token/cost totals read off finished spans.

Tracing problems never fail a run: without a working tracer the rows still run, with no
trace ids, and one line on stderr says why.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

import tracer
from common import attributes as A

log = logging.getLogger("spyglass.evals")

TASK = "task"
SCORER = "scorer"
#: Which part of a row a span belongs to; read when a span starts (in its own context).
PHASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("spyglass_evals_phase", default=None)


class UsageProcessor(SpanProcessor):
    """An OpenTelemetry span processor that sums tokens and cost per trace and phase.

    The runner reads a row's totals right after the row ends, without waiting for the
    collector to ingest the spans. Spans of the task and spans of its scorers (an LLM
    judge's cost) are kept apart by :data:`PHASE`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phase: dict[int, str] = {}
        self._totals: dict[tuple[int, str], list[float]] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Remember the phase the span started in."""
        phase = PHASE.get()
        if phase is not None:
            with self._lock:
                self._phase[span.context.span_id] = phase

    def on_end(self, span: Any) -> None:
        """Add the span's usage to its trace's totals."""
        with self._lock:
            phase = self._phase.pop(span.context.span_id, None)
        if phase is None:
            return
        attrs = span.attributes or {}
        inp = attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS)
        out = attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)
        cost = attrs.get(A.COST_USD)
        if inp is None and out is None and cost is None:
            return
        total = attrs.get(A.USAGE_TOTAL_TOKENS)
        key = (span.context.trace_id, phase)
        with self._lock:
            acc = self._totals.setdefault(key, [0.0, 0.0, 0.0, 0.0, 0.0])
            acc[0] += float(inp or 0)
            acc[1] += float(out or 0)
            acc[2] += float(total if total is not None else (inp or 0) + (out or 0))
            if cost is not None:
                acc[3] += float(cost)
                acc[4] = 1.0

    def take(self, trace_id: int) -> dict[str, Any]:
        """The trace's totals (and forget them): task tokens and cost, scorer cost."""
        with self._lock:
            task = self._totals.pop((trace_id, TASK), None)
            scorer = self._totals.pop((trace_id, SCORER), None)
        return {
            "input_tokens": int(task[0]) if task else 0,
            "output_tokens": int(task[1]) if task else 0,
            "total_tokens": int(task[2]) if task else 0,
            "cost_usd": task[3] if task and task[4] else None,
            "scorer_cost_usd": scorer[3] if scorer and scorer[4] else None,
        }

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True


class Tracing:
    """The tracer as the runner uses it; every method is safe when tracing is off."""

    def __init__(self, enabled: bool, usage: UsageProcessor | None = None) -> None:
        self.enabled = enabled
        self.usage = usage or UsageProcessor()

    def evaluator(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A decorator making a function the ``evaluator`` root span of a row."""
        if not self.enabled:
            return lambda fn: fn
        return tracer.op(name=name, kind="evaluator")

    @staticmethod
    def current_ids() -> tuple[int, str, str]:
        """(trace id as int, trace id hex, span id hex) of the current span, or zeros."""
        try:
            from opentelemetry import trace

            ctx = trace.get_current_span().get_span_context()
        except Exception:
            return 0, "", ""
        if not ctx.is_valid:
            return 0, "", ""
        return ctx.trace_id, f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"

    @staticmethod
    def annotate(attributes: dict[str, Any], error: str | None = None) -> None:
        """Set attributes (and an error status) on the current span."""
        try:
            from opentelemetry import trace
            from opentelemetry.trace import Status, StatusCode

            span = trace.get_current_span()
            span.set_attributes(attributes)
            if error:
                span.set_status(Status(StatusCode.ERROR, error[:1000]))
        except Exception as exc:
            log.debug("evals: could not annotate span: %s", exc)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Export every finished span before the command ends."""
        if not self.enabled:
            return
        try:
            tracer.flush(timeout_s)
        except Exception as exc:
            log.warning("evals: flushing traces failed: %s", exc)


    def close(self, timeout_s: float = 10.0) -> None:
        """Flush and stop the tracer, so nothing is left to export once the collector of
        this command (possibly in-process) is gone."""
        if not self.enabled:
            return
        try:
            tracer.shutdown(timeout_s)
        except Exception as exc:
            log.warning("evals: stopping the tracer failed: %s", exc)


def setup(url: str, project: str | None, api_key: str | None, on_problem: Callable[[str], None]) -> Tracing:
    """Point the tracer at ``url`` for ``project`` and attach the usage processor."""
    # An eval run ends spans far faster than an application: a larger export queue (the
    # SDK's standard variables; the user's own values win) keeps bursts from being dropped.
    for name, value in (("OTEL_BSP_MAX_QUEUE_SIZE", "32768"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2048")):
        os.environ.setdefault(name, value)
    try:
        tracer.init(project=project, endpoint=url, api_key=api_key, sample_rate=1.0)
    except Exception as exc:
        on_problem(f"evals: tracing is off ({type(exc).__name__}: {exc}); results are stored untraced")
        return Tracing(False)
    usage = UsageProcessor()
    try:
        from opentelemetry import trace

        trace.get_tracer_provider().add_span_processor(usage)  # type: ignore[attr-defined]
    except Exception as exc:
        log.warning("evals: token and cost totals per row are off (%s)", exc)
    return Tracing(True, usage)
