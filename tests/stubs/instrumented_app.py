"""A stock OpenTelemetry application using the real ``openai`` SDK under one of the three
OpenAI instrumentors, exporting to Spyglass over OTLP/HTTP (traces and logs): what a user
with existing OTel instrumentation runs. Used by tests/collector/test_stock_instrumentors.py.

    python instrumented_app.py INSTRUMENTOR OPENAI_BASE_URL SPYGLASS_URL SERVICE_NAME

INSTRUMENTOR: ``openai-v2`` (opentelemetry-instrumentation-openai-v2), ``openllmetry``
(opentelemetry-instrumentation-openai), ``openinference``
(openinference-instrumentation-openai), or ``none`` when the app is started by
``opentelemetry-instrument`` (zero-code: it configured everything already).

One root span ``app`` holds a chat call, a streaming chat call (with usage) and an
embeddings call. Prints the trace id.
"""

from __future__ import annotations

import sys

from opentelemetry import trace


def instrument(name: str, base: str, service: str) -> None:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service})
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
    trace.set_tracer_provider(tp)
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs")))
    set_logger_provider(lp)
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=tp, logger_provider=lp)
    elif name == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=tp)
    elif name == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=tp)
    else:
        raise SystemExit(f"unknown instrumentor {name!r}")


def flush() -> None:
    from opentelemetry._logs import get_logger_provider

    for provider in (trace.get_tracer_provider(), get_logger_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush:
            force_flush()


def main() -> None:
    name, openai_base, spyglass, service = sys.argv[1:5]
    if name != "none":
        instrument(name, spyglass, service)
    import openai

    client = openai.OpenAI(api_key="sk-test", base_url=openai_base, max_retries=0)
    with trace.get_tracer("app").start_as_current_span("app") as root:
        messages = [{"role": "user", "content": "Capital of France?"}]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True,
            stream_options={"include_usage": True})
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        client.embeddings.create(model="text-embedding-3-small",
                                 input=["hello world from spyglass"])
        print(format(root.get_span_context().trace_id, "032x"), flush=True)
    flush()


if __name__ == "__main__":
    main()
