"""Helpers for the query-API and auth tests (no tests here): describe traces as nested
span specs and send them through the stock OpenTelemetry SDK and its OTLP/HTTP exporter,
with explicit start/end times so filters, buckets and order can be asserted exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from common import attributes as A
from tests.conftest import REPO_ROOT

MS = 1_000_000
MINUTE = 60_000 * MS


@dataclass
class S:
    """A span to send: offsets in ms from its trace's start; children nest."""

    name: str
    kind: str = "chain"
    at_ms: float = 0.0
    dur_ms: float = 10.0
    status: str = "ok"  # ok | error | unset
    error: str = ""
    model: str | None = None
    provider: str | None = None
    in_tok: int = 0
    out_tok: int = 0
    cost: float | None = None
    input: Any = None
    output: Any = None
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] | None = None
    attrs: dict[str, Any] | None = None  # any other attributes, as sent
    children: list[S] = field(default_factory=list)

    def count(self) -> int:
        """Spans in this subtree."""
        return 1 + sum(c.count() for c in self.children)

    def walk(self) -> list[S]:
        """This span and all its descendants."""
        return [self, *(s for c in self.children for s in c.walk())]


class _Checked(SpanExporter):
    """Wraps the OTLP exporter so a failed export fails the test instead of a log line."""

    def __init__(self, inner: OTLPSpanExporter) -> None:
        self.inner = inner
        self.failures = 0

    def export(self, spans: Any) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            self.failures += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _attributes(spec: S) -> dict[str, Any]:
    attrs: dict[str, Any] = {A.OP_KIND: spec.kind}
    if spec.input is not None:
        attrs[A.INPUTS] = json.dumps(spec.input)
    if spec.output is not None:
        attrs[A.OUTPUT] = json.dumps(spec.output)
    if spec.model:
        attrs[A.GEN_AI_REQUEST_MODEL] = spec.model
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = spec.in_tok
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = spec.out_tok
    if spec.provider:
        attrs[A.GEN_AI_PROVIDER_NAME] = spec.provider
    if spec.cost is not None:
        attrs[A.COST_USD] = spec.cost
    if spec.user_id:
        attrs[A.USER_ID] = spec.user_id
    if spec.session_id:
        attrs[A.SESSION_ID] = spec.session_id
    if spec.tags:
        attrs[A.TAGS] = spec.tags
    attrs.update(spec.attrs or {})
    return attrs


def _emit(tracer: Any, spec: S, base_ns: int, parent: Any) -> str:
    start = base_ns + int(spec.at_ms * MS)
    context = set_span_in_context(parent) if parent is not None else None
    span = tracer.start_span(spec.name, context=context, start_time=start,
                             attributes=_attributes(spec))
    for child in spec.children:
        _emit(tracer, child, base_ns, span)
    if spec.status == "error":
        span.add_event("exception", {"exception.type": "RuntimeError",
                                     "exception.message": spec.error or "failed"},
                       timestamp=start + int(spec.dur_ms * MS) - 1)
        span.set_status(Status(StatusCode.ERROR, spec.error or "failed"))
    elif spec.status == "ok":
        span.set_status(Status(StatusCode.OK))
    span.end(end_time=start + int(spec.dur_ms * MS))
    return format(span.get_span_context().trace_id, "032x")


def send(url: str, project: str | None, traces: list[tuple[int, S]],
         headers: dict[str, str] | None = None) -> list[str]:
    """Send each ``(start_ns, root spec)`` as one trace through the OTel SDK's batch
    processor and OTLP/HTTP exporter; returns the trace ids (hex) in order."""
    resource = Resource.create({A.PROJECT: project} if project else {})
    provider = TracerProvider(resource=resource)
    exporter = _Checked(OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=headers or {},
                                         timeout=30))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512,
                                                   max_queue_size=100_000))
    tracer = provider.get_tracer("spyglass-api-tests")
    ids = [_emit(tracer, spec, start, None) for start, spec in traces]
    provider.force_flush(60_000)
    provider.shutdown()
    assert exporter.failures == 0, "the collector refused an export (see its log)"
    return ids


def now_ns() -> int:
    """The current time in ns, floored to a whole second (readable test data)."""
    return (time.time_ns() // 1_000_000_000) * 1_000_000_000


def get(url: str, path: str, expect: int = 200, **params: Any) -> Any:
    """GET a JSON route, asserting the status code."""
    response = httpx.get(f"{url}{path}", params={k: v for k, v in params.items() if v is not None},
                         timeout=30)
    assert response.status_code == expect, response.text
    return response.json()


def walk_pages(url: str, path: str, key: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a keyset-paginated listing, following ``next_cursor``."""
    pages = []
    cursor = None
    for _ in range(1000):
        body = get(url, path, **params, cursor=cursor)
        pages.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination did not end")


TOUR = '''
import sys
import tracer
from tracer import op

tracer.init(project=sys.argv[1], endpoint=sys.argv[2], api_key=sys.argv[3] or None)

@op(kind="llm")
def ask(question: str) -> dict:
    return {
        "model": "gpt-4o-mini",
        "choices": [{"message": {"role": "assistant", "content": "Paris."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }

@op
def answer(question: str) -> str:
    return ask(question)["choices"][0]["message"]["content"]

answer("What is the capital of France?")
assert tracer.flush()
'''


def run_tour(url: str, project: str, api_key: str = "") -> None:
    """The README's 30-second tour, through the real tracer, in its own process."""
    done = subprocess.run([sys.executable, "-c", TOUR, project, url, api_key], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
