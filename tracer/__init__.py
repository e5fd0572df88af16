"""Spyglass tracer: ``@op`` emits OpenTelemetry spans with inputs, outputs, tokens and cost.

    import tracer
    from tracer import op

    tracer.init(project="my-app")      # OTLP/HTTP to http://127.0.0.1:4318

    @op
    def answer(question: str) -> str: ...

    with tracer.attributes(user_id="u-42", tags=["beta"]):
        answer("...")

See docs/tracer.md for every option. Attribute names live in ``common.attributes``.
"""

from __future__ import annotations

from tracer._log import failure_counts
from tracer.context import ThreadPoolExecutor, attributes, bind_context, log_model, log_usage
from tracer.handle import SpanHandle, add_feedback, current_span
from tracer.op import op
from tracer.runtime import flush, init, settings, shutdown
from tracer.settings import Settings

__all__ = [
    "Settings",
    "SpanHandle",
    "ThreadPoolExecutor",
    "add_feedback",
    "attributes",
    "bind_context",
    "current_span",
    "failure_counts",
    "flush",
    "init",
    "log_model",
    "log_usage",
    "op",
    "settings",
    "shutdown",
]
