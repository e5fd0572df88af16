"""Issue 13 at the collector: what a stock OpenTelemetry app sends lands right.

Status OK for finished spans, cache-write pricing at ingest, OpenInference embeddings and
multi-part contents, stacked instrumentation counted once, GenAI log events attached to
their spans, /v1/metrics accepted, OTLP/gRPC with the real gRPC exporter, and the
service.name project step (and its setting)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from common.pricing import cost_usd
from tests.collector.conftest import kv, stored_rows

PROTOBUF = {"content-type": "application/x-protobuf"}


def sdk_provider(url: str, resource: dict[str, Any]) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create(resource))
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    return tp


def one_span(url: str, project: str, attrs: dict[str, Any], name: str = "call") -> None:
    tp = sdk_provider(url, {"spyglass.project": project})
    with tp.get_tracer("t").start_as_current_span(name, attributes=attrs):
        pass
    tp.shutdown()


class Batch:
    """An ExportTraceServiceRequest built span by span (ids and times under test control)."""

    def __init__(self, project: str, trace_id: bytes | None = None) -> None:
        self.req = ExportTraceServiceRequest()
        rs = self.req.resource_spans.add()
        rs.resource.attributes.extend([kv("spyglass.project", project)])
        self.scope = rs.scope_spans.add()
        self.trace_id = trace_id or uuid.uuid4().bytes
        self.t0 = time.time_ns()

    def span(self, name: str, attrs: dict[str, Any], parent: bytes = b"", start_ms: float = 0,
             dur_ms: float = 100) -> bytes:
        sp = self.scope.spans.add()
        sp.trace_id = self.trace_id
        sp.span_id = uuid.uuid4().bytes[:8]
        sp.parent_span_id = parent
        sp.name = name
        sp.start_time_unix_nano = self.t0 + int(start_ms * 1e6)
        sp.end_time_unix_nano = sp.start_time_unix_nano + int(dur_ms * 1e6)
        sp.attributes.extend(kv(k, v) for k, v in attrs.items())
        return sp.span_id

    def send(self, url: str) -> None:
        r = httpx.post(f"{url}/v1/traces", content=self.req.SerializeToString(), headers=PROTOBUF)
        assert r.status_code == 200, r.text


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rows}


# ---- status -----------------------------------------------------------------------------

def test_spans_that_finish_without_error_are_ok(collector, project):
    one_span(collector.url, project, {"gen_ai.operation.name": "chat"})  # status left UNSET
    rows = stored_rows(collector, project)
    assert [r["status"] for r in rows] == ["ok"]
    r = httpx.get(f"{collector.url}/api/traces", params={"project": project, "status": "ok"})
    assert len(r.json()["traces"]) == 1


# ---- pricing ----------------------------------------------------------------------------

def test_anthropic_cache_writes_are_priced_at_ingest_like_the_tracer(collector, project):
    # The call: 50,000 prompt tokens of which 40,000 are cache writes, 2,500 out.
    one_span(collector.url, project, {
        "gen_ai.operation.name": "chat", "gen_ai.system": "anthropic",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.usage.input_tokens": 50_000, "gen_ai.usage.output_tokens": 2_500,
        "gen_ai.usage.cache_creation_input_tokens": 40_000})
    [row] = stored_rows(collector, project)
    expected = cost_usd("claude-haiku-4-5", 50_000, 2_500, cache_creation_tokens=40_000)
    assert expected == pytest.approx(0.0725)
    assert row["cost_usd"] == pytest.approx(0.0725)


@pytest.mark.parametrize("attr", ["gen_ai.usage.cache_creation.input_tokens",
                                  "llm.token_count.prompt_details.cache_write",
                                  "spyglass.usage.cache_creation_tokens"])
def test_every_cache_write_attribute_family_is_priced(collector, project, attr):
    one_span(collector.url, project, {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.usage.input_tokens": 50_000, "gen_ai.usage.output_tokens": 2_500, attr: 40_000})
    [row] = stored_rows(collector, project)
    assert row["cost_usd"] == pytest.approx(0.0725)


# ---- OpenInference ----------------------------------------------------------------------

def test_openinference_embedding_has_model_tokens_cost_and_no_vectors(collector, project):
    one_span(collector.url, project, {
        "openinference.span.kind": "EMBEDDING",
        "embedding.model_name": "text-embedding-3-small",
        "embedding.embeddings.0.embedding.text": "hello world",
        "embedding.embeddings.0.embedding.vector": [0.125] * 64,
        "embedding.embeddings.1.embedding.text": "bye",
        "embedding.embeddings.1.embedding.vector": [0.5] * 64,
        "llm.token_count.prompt": 1000, "llm.token_count.total": 1000})
    [row] = stored_rows(collector, project)
    assert row["kind"] == "embedding"
    assert row["model"] == "text-embedding-3-small"
    assert int(row["input_tokens"]) == 1000 and int(row["output_tokens"]) == 0
    assert row["cost_usd"] == pytest.approx(cost_usd("text-embedding-3-small", 1000, 0))
    assert json.loads(row["input"]) == [{"role": "user", "content": "hello world"},
                                        {"role": "user", "content": "bye"}]
    assert "vector" not in row["attributes"] and "0.125" not in row["input"] + row["attributes"]


def test_openinference_multi_part_contents_and_tool_calls(collector, project):
    p = "llm.output_messages.0.message."
    one_span(collector.url, project, {
        "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "What is ",
        "llm.input_messages.0.message.contents.1.message_content.type": "text",
        "llm.input_messages.0.message.contents.1.message_content.text": "2+2?",
        p + "role": "assistant",
        p + "contents.0.message_content.type": "text",
        p + "contents.0.message_content.text": "4",
        p + "tool_calls.0.tool_call.id": "call_1",
        p + "tool_calls.0.tool_call.function.name": "add",
        p + "tool_calls.0.tool_call.function.arguments": '{"a": 2, "b": 2}'})
    [row] = stored_rows(collector, project)
    assert json.loads(row["input"]) == [{"role": "user", "content": "What is 2+2?"}]
    assert json.loads(row["output"]) == [{
        "role": "assistant", "content": "4",
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}]}]


def test_openllmetry_tool_calls(collector, project):
    one_span(collector.url, project, {
        "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "weather?",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.tool_calls.0.id": "c1",
        "gen_ai.completion.0.tool_calls.0.name": "weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Oslo"}'})
    [row] = stored_rows(collector, project)
    [msg] = json.loads(row["output"])
    assert msg["tool_calls"] == [{"id": "c1", "type": "function",
                                  "function": {"name": "weather", "arguments": {"city": "Oslo"}}}]


# ---- stacked instrumentation ------------------------------------------------------------

LLM = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
       "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500}


def trace_totals(url: str, project: str) -> dict[str, Any]:
    [trace] = httpx.get(f"{url}/api/traces", params={"project": project}).json()["traces"]
    return trace


def test_stacked_spans_with_one_response_id_count_once(collector, project):
    call_cost = cost_usd("gpt-4o-mini", 1000, 500)
    b = Batch(project)
    root = b.span("agent", {"spyglass.op.kind": "agent"}, dur_ms=500)
    outer = b.span("chat gpt-4o-mini", {**LLM, "gen_ai.response.id": "chatcmpl-1"},
                   parent=root, start_ms=10, dur_ms=300)
    inner = b.span("openai.chat", {**LLM, "gen_ai.response.id": "chatcmpl-1",
                                   "gen_ai.prompt.0.role": "user",
                                   "gen_ai.prompt.0.content": "hi"},
                   parent=outer, start_ms=11, dur_ms=298)
    b.send(collector.url)
    rows = by_name(stored_rows(collector, project))
    assert rows["chat gpt-4o-mini"]["duplicate_of"] == ""
    assert rows["openai.chat"]["duplicate_of"] == outer.hex()
    # The counted span took the messages only the duplicate had.
    assert json.loads(rows["chat gpt-4o-mini"]["input"]) == [{"role": "user", "content": "hi"}]
    dup_attrs = json.loads(rows["openai.chat"]["attributes"])
    assert dup_attrs["spyglass.duplicate.input_tokens"] == 1000
    assert dup_attrs["spyglass.duplicate.cost_usd"] == pytest.approx(call_cost)
    assert inner.hex() == rows["openai.chat"]["span_id"]
    totals = trace_totals(collector.url, project)
    assert totals["input_tokens"] == 1000 and totals["output_tokens"] == 500
    assert totals["cost_usd"] == pytest.approx(call_cost)
    assert totals["span_count"] == 3  # the duplicate stays visible in the tree


def test_parent_child_with_same_usage_and_no_response_id_count_once(collector, project):
    b = Batch(project)
    outer = b.span("llm", LLM, dur_ms=300)
    b.span("llm-inner", {**LLM, "gen_ai.request.model": "gpt-4o-mini-2024-07-18"},
           parent=outer, start_ms=1, dur_ms=290)
    b.span("llm-next", LLM, parent=outer, start_ms=400, dur_ms=100)  # no overlap: a new call
    b.send(collector.url)
    rows = by_name(stored_rows(collector, project))
    assert rows["llm-inner"]["duplicate_of"] == outer.hex()
    assert rows["llm-next"]["duplicate_of"] == ""
    assert trace_totals(collector.url, project)["input_tokens"] == 2000


def test_duplicate_arriving_in_a_later_request_is_marked(collector, project):
    first = Batch(project)
    outer = first.span("chat", {**LLM, "gen_ai.response.id": "resp-9"}, dur_ms=300)
    first.send(collector.url)
    later = Batch(project, trace_id=first.trace_id)
    later.t0 = first.t0
    later.span("chat-again", {**LLM, "gen_ai.response.id": "resp-9"}, parent=outer,
               start_ms=1, dur_ms=200)
    later.send(collector.url)
    rows = by_name(stored_rows(collector, project))
    assert rows["chat-again"]["duplicate_of"] == outer.hex()
    assert trace_totals(collector.url, project)["input_tokens"] == 1000


# ---- logs and metrics -------------------------------------------------------------------

def _any(value: Any) -> common_pb2.AnyValue:
    v = common_pb2.AnyValue()
    if isinstance(value, dict):
        for k, item in value.items():
            v.kvlist_value.values.add(key=k, value=_any(item))
    elif isinstance(value, int):
        v.int_value = value
    else:
        v.string_value = str(value)
    return v


def logs_request(project: str, trace_id: bytes, span_id: bytes) -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend([kv("spyglass.project", project)])
    sl = rl.scope_logs.add()
    t = time.time_ns()
    for i, (name, body) in enumerate([
        ("gen_ai.system.message", {"content": "Be brief."}),
        ("gen_ai.user.message", {"content": "Capital of France?"}),
        ("gen_ai.choice", {"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "Paris."}}),
        ("app.log", None),  # not a GenAI event: dropped
    ]):
        rec = sl.log_records.add(time_unix_nano=t + i, trace_id=trace_id, span_id=span_id,
                                 event_name=name)
        if body is not None:
            rec.body.CopyFrom(_any(body))
    return req.SerializeToString()


@pytest.mark.parametrize("logs_first", [False, True])
def test_genai_log_events_fill_their_span(collector, project, logs_first):
    b = Batch(project)
    span_id = b.span("chat gpt-4o-mini", {**LLM, "gen_ai.response.id": f"r-{logs_first}"})
    body = logs_request(project, b.trace_id, span_id)
    if logs_first:
        r = httpx.post(f"{collector.url}/v1/logs", content=body, headers=PROTOBUF)
        assert r.status_code == 200
    b.send(collector.url)
    if not logs_first:
        r = httpx.post(f"{collector.url}/v1/logs", content=body, headers=PROTOBUF)
        assert r.status_code == 200
    [row] = stored_rows(collector, project)
    assert json.loads(row["input"]) == [{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "Capital of France?"}]
    assert json.loads(row["output"]) == [{"role": "assistant", "content": "Paris.",
                                          "finish_reason": "stop"}]
    assert int(row["input_tokens"]) == 1000  # the rest of the span is unchanged


def test_metrics_are_accepted_not_405(collector):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    r = httpx.post(f"{collector.url}/v1/metrics",
                   content=ExportMetricsServiceRequest().SerializeToString(), headers=PROTOBUF)
    assert r.status_code == 200
    r = httpx.post(f"{collector.url}/v1/metrics", content=b"{}",
                   headers={"content-type": "application/json"})
    assert r.status_code == 200
    r = httpx.post(f"{collector.url}/v1/metrics", content=b"\xff garbage", headers=PROTOBUF)
    assert r.status_code == 400


def test_stats_count_a_stacked_call_once(collector, project):
    b = Batch(project)
    outer = b.span("chat", {**LLM, "gen_ai.response.id": "resp-stats"}, dur_ms=300)
    b.span("chat-inner", {**LLM, "gen_ai.response.id": "resp-stats"}, parent=outer,
           start_ms=1, dur_ms=200)
    b.send(collector.url)
    body = httpx.get(f"{collector.url}/api/stats",
                     params={"project": project, "kind": "llm", "since": "1h"}).json()
    assert body["totals"]["count"] == 1
    assert body["totals"]["input_tokens"] == 1000


def test_genai_events_in_otlp_json_logs(collector, project):
    b = Batch(project)
    span_id = b.span("chat", {**LLM, "gen_ai.response.id": "r-json"})
    b.send(collector.url)
    doc = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "spyglass.project", "value": {"stringValue": project}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(time.time_ns()), "eventName": "gen_ai.client.inference.operation.details",
            "traceId": b.trace_id.hex(), "spanId": span_id.hex(),
            "attributes": [
                {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])}},
                {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}])}},
            ]}]}]}]}
    r = httpx.post(f"{collector.url}/v1/logs", json=doc)
    assert r.status_code == 200, r.text
    [row] = stored_rows(collector, project)
    assert json.loads(row["input"]) == [{"role": "user", "content": "hi"}]
    assert json.loads(row["output"]) == [{"role": "assistant", "content": "hello"}]
