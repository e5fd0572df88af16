"""Traces for the console's browser tests, sent through the stock OpenTelemetry SDK and
its OTLP/HTTP exporter to a real collector (the same path any instrumented app takes).

Spans carry the attributes a real app produces: the GenAI semantic conventions for LLM
calls (model, usage, chat messages), Spyglass's own ``spyglass.*`` attributes for op kind,
inputs, outputs, user, session and tags, and an exception event for a failing tool.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from common import attributes as A

MS = 1_000_000  # nanoseconds


@dataclass
class Seeded:
    """What was sent: trace ids (hex) by a label, for the tests to look up."""

    traces: dict[str, str] = field(default_factory=dict)


def _provider(url: str, project: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({A.PROJECT: project,
                                                        A.SERVICE_NAME: "console-tests"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    return provider


def _chat_trace(tracer, t0: int, *, question: str, answer: str, model: str, user: str,
                session: str, tags: list[str], in_tok: int, out_tok: int, fail_tool: bool = False,
                guardrail_passed: bool | None = None, history: list | None = None) -> str:
    root = tracer.start_span("answer_question", start_time=t0, attributes={
        A.OP_KIND: "chain", A.INPUTS: json.dumps({"question": question}),
        A.USER_ID: user, A.SESSION_ID: session, A.TAGS: tags,
    })
    ctx = set_span_in_context(root)
    retr = tracer.start_span("retrieve_docs", context=ctx, start_time=t0 + 2 * MS, attributes={
        A.OP_KIND: "retrieval", A.INPUTS: json.dumps({"query": question, "k": 3}),
        A.OUTPUT: json.dumps([{"id": "doc-1", "text": "Paris is the capital of France."}]),
    })
    retr.end(end_time=t0 + 40 * MS)
    messages = [
        {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
        *(history or []),
        {"role": "user", "content": question},
    ]
    llm = tracer.start_span("chat gpt", context=ctx, start_time=t0 + 42 * MS, attributes={
        A.OP_KIND: "llm", A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: model, A.GEN_AI_RESPONSE_MODEL: model,
        A.GEN_AI_USAGE_INPUT_TOKENS: in_tok, A.GEN_AI_USAGE_OUTPUT_TOKENS: out_tok,
        A.GEN_AI_INPUT_MESSAGES: json.dumps(messages),
        A.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "content": answer}]),
        A.GEN_AI_REQUEST_TEMPERATURE: 0.2,
    })
    llm.end(end_time=t0 + 642 * MS)
    end = t0 + 650 * MS
    if guardrail_passed is not None:
        guard = tracer.start_span("pii_guardrail", context=ctx, start_time=t0 + 643 * MS, attributes={
            A.OP_KIND: "guardrail", A.GUARDRAIL_PASSED: guardrail_passed,
            A.GUARDRAIL_ACTION: "block", A.INPUTS: json.dumps({"text": answer}),
        })
        # Like scorers.Guardrail: a failed check is a verdict attribute, not a span error.
        guard.end(end_time=t0 + 645 * MS)
    if fail_tool:
        tool = tracer.start_span("lookup_weather", context=ctx, start_time=t0 + 646 * MS, attributes={
            A.OP_KIND: "tool", A.INPUTS: json.dumps({"city": "Atlantis"}),
        })
        try:
            raise LookupError("no weather station for city 'Atlantis'")
        except LookupError as exc:
            tool.record_exception(exc)
            tool.set_status(Status(StatusCode.ERROR, f"LookupError: {exc}"))
        tool.end(end_time=t0 + 700 * MS)
        root.set_status(Status(StatusCode.ERROR, "LookupError: no weather station for city 'Atlantis'"))
        end = t0 + 705 * MS
    else:
        root.set_attribute(A.OUTPUT, json.dumps(answer))
    root.end(end_time=end)
    return format(root.get_span_context().trace_id, "032x")


def seed_traces(url: str, project: str) -> Seeded:
    """Send four traces (two users, two models, one failing, one blocked by a guardrail)."""
    provider = _provider(url, project)
    tracer = provider.get_tracer("console-tests")
    now = time.time_ns()
    out = Seeded()
    out.traces["paris"] = _chat_trace(
        tracer, now - 50_000 * MS, question="What is the capital of France?",
        answer="The capital of France is Paris.", model="gpt-4o-mini", user="alice",
        session="sess-a", tags=["prod", "geo"], in_tok=120, out_tok=12, guardrail_passed=True)
    out.traces["rome"] = _chat_trace(
        tracer, now - 40_000 * MS, question="And the capital of Italy?",
        answer="Rome is the capital of Italy.", model="gpt-4o", user="bob",
        session="sess-b", tags=["prod"], in_tok=200, out_tok=15, history=[
            # Content blocks (Anthropic style), a tool call and its result, and a long text.
            {"role": "user", "content": [{"type": "text", "text": "Which countries border Italy?"}]},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "get_neighbours", "arguments": "{\"country\": \"Italy\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "France, Switzerland, Austria, Slovenia"},
            {"role": "assistant", "content": "Italy borders France, Switzerland, Austria and "
                                             "Slovenia. " + "It also surrounds San Marino. " * 60},
        ])
    out.traces["weather"] = _chat_trace(
        tracer, now - 30_000 * MS, question="What's the weather in Atlantis?",
        answer="I could not find it.", model="gpt-4o-mini", user="alice", session="sess-a",
        tags=["beta"], in_tok=90, out_tok=8, fail_tool=True)
    out.traces["blocked"] = _chat_trace(
        tracer, now - 20_000 * MS, question="What is my card number?",
        answer="Your card is 4111 1111 1111 1111.", model="gpt-4o-mini", user="carol",
        session="sess-c", tags=["prod"], in_tok=60, out_tok=20, guardrail_passed=False)
    provider.shutdown()
    return out


def seed_many(url: str, project: str, count: int, name: str = "batch_job") -> list[str]:
    """``count`` one-span traces a second apart (newest last), in one OTLP export per span."""
    provider = _provider(url, project)
    tracer = provider.get_tracer("console-tests")
    now = time.time_ns()
    ids = []
    for i in range(count):
        start = now - (count - i) * 1000 * MS
        span = tracer.start_span(name, start_time=start, attributes={
            A.OP_KIND: "tool", A.INPUTS: json.dumps({"i": i})})
        span.end(end_time=start + 5 * MS)
        ids.append(format(span.get_span_context().trace_id, "032x"))
    provider.shutdown()
    return ids


def seed_demo(url: str, project: str, count: int = 150, hours: float = 23.0) -> int:
    """A day of plausible traffic for screenshots: ``count`` chat traces spread over the
    last ``hours``, three models, a daily bump in volume, slow and failing calls, and a
    guardrail that sometimes blocks. Deterministic (seeded). Returns the number of spans."""
    import random

    rng = random.Random(7)
    provider = _provider(url, project)
    tracer = provider.get_tracer("console-demo")
    now = time.time_ns()
    models = [("gpt-4o-mini", 0.6), ("gpt-4o", 0.25), ("claude-3-5-haiku-20241022", 0.15)]
    spans = 0
    for i in range(count):
        # More traffic in the "afternoon" half of the day.
        frac = min(0.999, max(0.0, rng.betavariate(2.2, 1.6)))
        t0 = now - int((1 - frac) * hours * 3600 * 1e9) - 60 * 10**9
        model = rng.choices([m for m, _ in models], weights=[w for _, w in models])[0]
        llm_ms = rng.lognormvariate(6.2 if model != "gpt-4o" else 6.8, 0.45)
        in_tok, out_tok = rng.randint(80, 900), rng.randint(10, 300)
        user = f"user-{rng.randint(1, 12)}"
        root = tracer.start_span("answer_question", start_time=t0, attributes={
            A.OP_KIND: "chain", A.USER_ID: user, A.SESSION_ID: f"s-{i // 3}",
            A.TAGS: ["prod"] if i % 5 else ["prod", "beta"],
            A.INPUTS: json.dumps({"question": f"question #{i}"})})
        ctx = set_span_in_context(root)
        retr_ms = rng.uniform(15, 90)
        retr = tracer.start_span("retrieve_docs", context=ctx, start_time=t0 + MS, attributes={
            A.OP_KIND: "retrieval"})
        retr.end(end_time=t0 + int(retr_ms * MS))
        llm_start = t0 + int((retr_ms + 2) * MS)
        llm = tracer.start_span("chat", context=ctx, start_time=llm_start, attributes={
            A.OP_KIND: "llm", A.GEN_AI_PROVIDER_NAME: "anthropic" if "claude" in model else "openai",
            A.GEN_AI_REQUEST_MODEL: model, A.GEN_AI_USAGE_INPUT_TOKENS: in_tok,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: out_tok,
            A.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "content": f"question #{i}"}]),
            A.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "content": "An answer."}])})
        end = llm_start + int(llm_ms * MS)
        if rng.random() < 0.06:
            llm.set_status(Status(StatusCode.ERROR, "RateLimitError: 429 Too Many Requests"))
            root.set_status(Status(StatusCode.ERROR, "RateLimitError: 429 Too Many Requests"))
        llm.end(end_time=end)
        guard = tracer.start_span("pii_guardrail", context=ctx, start_time=end, attributes={
            A.OP_KIND: "guardrail", A.GUARDRAIL_PASSED: rng.random() > 0.1,
            A.GUARDRAIL_ACTION: "block"})
        guard.end(end_time=end + int(rng.uniform(0.1, 0.6) * MS))
        root.end(end_time=end + MS)
        spans += 4
    provider.shutdown()
    return spans


def seed_wide_trace(url: str, project: str, children: int) -> str:
    """One trace: a root with ``children`` tool spans (a big fan-out). Returns its id."""
    provider = TracerProvider(resource=Resource.create({A.PROJECT: project}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces"),
                                                   max_export_batch_size=512))
    tracer = provider.get_tracer("console-tests")
    t0 = time.time_ns() - 10_000 * MS
    root = tracer.start_span("fan_out", start_time=t0, attributes={A.OP_KIND: "agent"})
    ctx = set_span_in_context(root)
    for i in range(children):
        child = tracer.start_span(f"step_{i:04d}", context=ctx, start_time=t0 + i * MS,
                                  attributes={A.OP_KIND: "tool"})
        child.end(end_time=t0 + (i + 2) * MS)
    root.end(end_time=t0 + (children + 5) * MS)
    provider.shutdown()
    return format(root.get_span_context().trace_id, "032x")
