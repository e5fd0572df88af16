"""OTLP/HTTP ingest end to end: real OTel SDK + OTLP exporter -> real server -> chDB rows."""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

PROTOBUF = {"content-type": "application/x-protobuf"}


def provider(url: str, resource: dict, compression: Compression = Compression.NoCompression) -> TracerProvider:
    """A stock SDK TracerProvider exporting synchronously to ``url`` with the real exporter."""
    tp = TracerProvider(resource=Resource.create(resource))
    tp.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{url}/v1/traces", compression=compression)))
    return tp


def test_otel_exporter_end_to_end(collector, project, stored):
    tp = provider(collector.url, {"spyglass.project": project, "service.name": "svc"})
    tracer = tp.get_tracer("my.scope")
    with tracer.start_as_current_span("root") as root:
        root.set_attribute("custom.flag", True)
        with tracer.start_as_current_span("child") as child:
            child.add_event("cache miss", {"key": "k1"})
            try:
                raise ValueError("boom")
            except ValueError as exc:
                child.record_exception(exc)
                child.set_status(Status(StatusCode.ERROR, "child failed"))
    tp.shutdown()

    rows = stored(collector, project)
    assert [r["name"] for r in rows] == ["root", "child"]
    root_row, child_row = rows
    ctx = root.get_span_context()
    assert root_row["trace_id"] == format(ctx.trace_id, "032x")
    assert root_row["span_id"] == format(ctx.span_id, "016x")
    assert root_row["parent_span_id"] == ""
    assert child_row["parent_span_id"] == root_row["span_id"]
    assert child_row["trace_id"] == root_row["trace_id"]
    assert root_row["status"] == "unset" and root_row["kind"] == "span"
    assert child_row["status"] == "error" and child_row["error"] == "child failed"
    assert json.loads(root_row["attributes"]) == {"custom.flag": True}
    events = json.loads(child_row["events"])
    assert [e["name"] for e in events] == ["cache miss", "exception"]
    assert events[0]["attributes"] == {"key": "k1"}
    assert json.loads(root_row["resource"])["service.name"] == "svc"
    assert root_row["scope_name"] == "my.scope"
    assert root_row["duration_ms"] >= child_row["duration_ms"] > 0


def test_error_message_from_exception_event_when_status_has_none(collector, project, stored):
    tp = provider(collector.url, {"spyglass.project": project})
    with tp.get_tracer("t").start_as_current_span("op") as span:
        span.record_exception(KeyError("missing"))
        span.set_status(Status(StatusCode.ERROR))
    tp.shutdown()
    (row,) = stored(collector, project)
    assert row["status"] == "error" and row["error"] == "KeyError: 'missing'"


def test_gzip_export_from_stock_exporter(collector, project, stored):
    tp = provider(collector.url, {"spyglass.project": project}, Compression.Gzip)
    with tp.get_tracer("t").start_as_current_span("zipped"):
        pass
    tp.shutdown()
    assert [r["name"] for r in stored(collector, project)] == ["zipped"]


def test_protobuf_response_is_an_export_response(collector, project, stored, otlp_request):
    body, ids = otlp_request(project, 3)
    r = httpx.post(f"{collector.url}/v1/traces", content=body, headers=PROTOBUF)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-protobuf")
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert not resp.HasField("partial_success")
    assert sorted(row["span_id"] for row in stored(collector, project)) == sorted(ids)


def otlp_json(project: str, trace_id: str, spans: list[dict]) -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "spyglass.project", "value": {"stringValue": project}}]},
        "scopeSpans": [{"scope": {"name": "json-scope"}, "spans": spans}],
    }]}


def test_otlp_json_hex_ids_enum_ints_and_string_ints(collector, project, stored):
    trace_id, span_id, parent = uuid.uuid4().hex, "00f067aa0ba902b7", "53995c3f42cd8ad8"
    start = time.time_ns()
    doc = otlp_json(project, trace_id, [{
        "traceId": trace_id, "spanId": span_id, "parentSpanId": parent, "name": "json-span",
        "kind": 3, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 2_500_000),
        "attributes": [
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
        ],
        "status": {"code": 2, "message": "bad"},
        "someFutureField": {"ignored": True},
    }])
    r = httpx.post(f"{collector.url}/v1/traces", json=doc)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {}
    (row,) = stored(collector, project)
    assert (row["trace_id"], row["span_id"], row["parent_span_id"]) == (trace_id, span_id, parent)
    assert row["input_tokens"] == 42 and row["total_tokens"] == 42
    assert row["status"] == "error" and row["error"] == "bad"
    assert row["duration_ms"] == pytest.approx(2.5)
    attrs = json.loads(row["attributes"])
    assert attrs == {"ratio": 0.5, "list": ["a", 2], "otel.span_kind": "client"}
    assert row["scope_name"] == "json-scope"


def test_gzip_json(collector, project, stored):
    doc = otlp_json(project, uuid.uuid4().hex, [{
        "traceId": uuid.uuid4().hex, "spanId": "1111111111111111", "name": "gz",
        "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns())}])
    r = httpx.post(f"{collector.url}/v1/traces", content=gzip.compress(json.dumps(doc).encode()),
                   headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert [row["name"] for row in stored(collector, project)] == ["gz"]


def test_partial_success_names_rejected_spans(collector, project, stored, otlp_request):
    good = {"traceId": uuid.uuid4().hex, "spanId": "2222222222222222", "name": "good",
            "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    bad = {**good, "spanId": "abcd", "name": "short-id"}
    r = httpx.post(f"{collector.url}/v1/traces", json=otlp_json(project, "", [good, bad]))
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "span_id must be 8 bytes" in partial["errorMessage"]
    assert [row["name"] for row in stored(collector, project)] == ["good"]

    # The same in protobuf: the response is an ExportTraceServiceResponse with partial_success.
    body, _ = otlp_request(project, 1)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    req = ExportTraceServiceRequest.FromString(body)
    req.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x00" * 16
    r = httpx.post(f"{collector.url}/v1/traces", content=req.SerializeToString(), headers=PROTOBUF)
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert r.status_code == 200 and resp.partial_success.rejected_spans == 1
    assert "trace_id" in resp.partial_success.error_message


def test_project_resolution(collector, stored):
    a, b = f"p-{uuid.uuid4().hex[:8]}", f"oi-{uuid.uuid4().hex[:8]}"
    tp = provider(collector.url, {"spyglass.project": a, "openinference.project.name": b})
    with tp.get_tracer("t").start_as_current_span("s"):
        pass
    tp.shutdown()
    tp = provider(collector.url, {"openinference.project.name": b})
    with tp.get_tracer("t").start_as_current_span("s"):
        pass
    tp.shutdown()
    marker = uuid.uuid4().hex
    tp = provider(collector.url, {"service.name": "no-project"})
    with tp.get_tracer("t").start_as_current_span(marker):
        pass
    tp.shutdown()
    assert len(stored(collector, a)) == 1
    assert len(stored(collector, b)) == 1
    assert len(stored(collector, "default", "name = {m:String}", m=marker)) == 1


# ---- errors ---------------------------------------------------------------------------

def test_undecodable_protobuf_is_400_with_protobuf_status(collector):
    r = httpx.post(f"{collector.url}/v1/traces", content=b"\xff\xff\xff not protobuf", headers=PROTOBUF)
    assert r.status_code == 400
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 3 and "protobuf" in status.message


def test_undecodable_json_is_400_with_json_status(collector):
    r = httpx.post(f"{collector.url}/v1/traces", content=b"{not json",
                   headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"] and r.json()["code"] == 3
    r = httpx.post(f"{collector.url}/v1/traces", json={"resourceSpans": [{"scopeSpans": [
        {"spans": [{"traceId": "zz-not-hex", "spanId": "00"}]}]}]})
    # A malformed span is rejected alone (partial_success), not the whole request.
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "traceId" in r.json()["partialSuccess"]["errorMessage"]


def test_bad_gzip_is_400(collector):
    r = httpx.post(f"{collector.url}/v1/traces", content=b"definitely not gzip",
                   headers={**PROTOBUF, "content-encoding": "gzip"})
    assert r.status_code == 400
    assert "gzip" in status_pb2.Status.FromString(r.content).message


def test_other_media_type_is_415(collector):
    r = httpx.post(f"{collector.url}/v1/traces", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert "text/plain" in r.json()["error"]
    r = httpx.post(f"{collector.url}/v1/traces", content=b"x",
                   headers={**PROTOBUF, "content-encoding": "br"})
    assert r.status_code == 415 and "br" in status_pb2.Status.FromString(r.content).message


def test_body_above_limit_is_413(collector, project, stored, otlp_request):
    # The module's collector allows 2 MiB.
    body, _ = otlp_request(project, 1, attrs={"input.value": "x" * (3 * 1024 * 1024)})
    r = httpx.post(f"{collector.url}/v1/traces", content=body, headers=PROTOBUF)
    assert r.status_code == 413
    assert "exceeds" in status_pb2.Status.FromString(r.content).message
    assert stored(collector, project) == []


def test_gzip_bomb_is_413(collector, project):
    # 64 MiB of zeros compress to ~64 KiB: small on the wire, refused after 2 MiB inflated.
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    r = httpx.post(f"{collector.url}/v1/traces", content=bomb,
                   headers={**PROTOBUF, "content-encoding": "gzip"})
    assert r.status_code == 413
    assert "decompression" in status_pb2.Status.FromString(r.content).message


def test_wrong_method_is_a_json_error(collector):
    r = httpx.get(f"{collector.url}/v1/traces")
    assert r.status_code == 405 and "error" in r.json()


def test_ids_are_base64_in_protobuf_json_mapping_too(collector, project):
    # Some clients send protobuf's canonical JSON (base64 ids); hex is what OTLP mandates,
    # and base64 of 16 bytes is not valid hex, so the span is refused with a message (alone,
    # through partial_success), not stored wrong.
    tid = base64.b64encode(uuid.uuid4().bytes).decode()
    r = httpx.post(f"{collector.url}/v1/traces", json=otlp_json(project, "", [
        {"traceId": tid, "spanId": "3333333333333333", "name": "b64"}]))
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "not hex" in r.json()["partialSuccess"]["errorMessage"]
