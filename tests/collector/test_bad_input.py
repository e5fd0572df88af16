"""Bad input gets a 4xx with a one-line JSON error and loses nothing else (issue 12).

Ingest: wrong-typed OTLP JSON, deep nesting, values outside their column's range (a bad
span is rejected alone through ``partial_success``; the rest of its request and every
other request are stored). Query API: out-of-range times and buckets are 400s naming the
parameter on every route that takes them (routes come from ``/schema``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import uuid
from typing import Any

import httpx
import pyarrow as pa
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collector.ingest.writer import Backpressure, BatchWriter
from collector.storage import StorageError

PROTOBUF = {"content-type": "application/x-protobuf"}


def assert_json_error(r: httpx.Response, status: int = 400, *words: str) -> str:
    """A ``status`` answer whose body is JSON ``{"error": one line}`` free of Python or
    ClickHouse text; returns the message."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    message = r.json()["error"]
    assert isinstance(message, str) and message and "\n" not in message
    for leak in ("Traceback", "DB::Exception", "Code: ", "Error:", "object has no", "recursion"):
        assert leak not in message, message
    for word in words:
        assert word in message, message
    return message


def otlp_json(project: str, spans: list[Any]) -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "spyglass.project", "value": {"stringValue": project}}]},
        "scopeSpans": [{"scope": {"name": "bad-input"}, "spans": spans}],
    }]}


def json_span(i: int, trace_id: str, **fields: Any) -> dict:
    now = time.time_ns()
    return {"traceId": trace_id, "spanId": f"{i + 1:016x}", "name": f"s{i}",
            "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000), **fields}


WRONG_TYPED = [
    {"resourceSpans": 5},
    {"resourceSpans": "x"},
    {"resourceSpans": {"a": 1}},
    {"resourceSpans": [5]},
    {"resourceSpans": [None]},
    {"resourceSpans": [{"scopeSpans": 5}]},
    {"resourceSpans": [{"scopeSpans": [5]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": {"x": 1}}]}]},
    {"resourceSpans": [{"resource": 5, "scopeSpans": []}]},
    {"resourceSpans": [{"resource": {"attributes": 5}}]},
    {"resourceSpans": [{"resource": {"attributes": [5]}}]},
    {"resourceSpans": [{"scopeSpans": [{"scope": [1], "spans": []}]}]},
    {"resourceSpans": [{"scopeSpans": [{"scope": {"name": 5}, "spans": []}]}]},
    [],
    5,
    "resourceSpans",
    None,
]


@pytest.mark.parametrize("doc", WRONG_TYPED, ids=[json.dumps(d)[:40] for d in WRONG_TYPED])
def test_wrong_typed_otlp_json_is_400(collector, doc):
    r = httpx.post(f"{collector.url}/v1/traces", content=json.dumps(doc).encode(),
                   headers={"content-type": "application/json"})
    assert_json_error(r, 400)


def test_deeply_nested_json_is_400(collector):
    for body in (b"[" * 2000, b"{\"a\":" * 5000, b"[" * 100_000 + b"]" * 100_000):
        r = httpx.post(f"{collector.url}/v1/traces", content=body,
                       headers={"content-type": "application/json"})
        assert_json_error(r, 400)


def test_an_unknown_parameter_named_with_a_newline_gets_a_one_line_error(collector):
    # Found by benchmarks/fuzz.py: the error echoed the parameter's name, newline included.
    r = httpx.get(f"{collector.url}/api/feedback", params={"x\ny\u2028z": "1"})
    assert_json_error(r, 400)
    assert "\n" not in r.text and "\u2028" not in r.json()["error"]
    assert "x\\ny\\u2028z" in r.json()["error"]


def _nested_json_value(depth: int) -> str:
    return ('{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth)


def test_attribute_values_nested_500_levels_are_400_not_recursion(collector, project):
    doc = otlp_json(project, [json_span(0, uuid.uuid4().hex, attributes=[
        {"key": "deep", "value": "PLACEHOLDER"}])])
    body = json.dumps(doc).replace('"PLACEHOLDER"', _nested_json_value(500))
    r = httpx.post(f"{collector.url}/v1/traces", content=body.encode(),
                   headers={"content-type": "application/json"})
    assert_json_error(r, 400, "deeper")


def test_protobuf_attribute_values_nested_deep_are_400(collector, project, otlp_request):
    # Hand-built protobuf bytes: AnyValue{array_value{values: AnyValue{...}}} x 600 deep.
    def varint(n: int) -> bytes:
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    def field(num: int, payload: bytes) -> bytes:
        return varint(num << 3 | 2) + varint(len(payload)) + payload

    value = field(1, b"x")  # AnyValue.string_value
    for _ in range(600):
        value = field(5, field(1, value))  # AnyValue.array_value -> ArrayValue.values
    kv = field(1, b"deep") + field(2, value)
    span = field(1, b"\x01" * 16) + field(2, b"\x02" * 8) + field(9, kv)
    body = field(1, field(2, field(2, span)))  # ResourceSpans.scope_spans.spans
    r = httpx.post(f"{collector.url}/v1/traces", content=body, headers=PROTOBUF)
    assert r.status_code == 400
    assert status_pb2.Status.FromString(r.content).message


def test_deep_json_text_inside_a_string_attribute_is_stored_as_text(collector, project, stored):
    deep = "[" * 5000 + "]" * 5000
    doc = otlp_json(project, [json_span(0, uuid.uuid4().hex, attributes=[
        {"key": "spyglass.inputs", "value": {"stringValue": deep}},
        {"key": "spyglass.metadata", "value": {"stringValue": deep}},
        {"key": "spyglass.tags", "value": {"stringValue": deep}},
    ])])
    r = httpx.post(f"{collector.url}/v1/traces", json=doc)
    assert r.status_code == 200, r.text
    assert len(stored(collector, project)) == 1


BAD_TIMES = [2**64 - 1, 2**63, 10**19]


@pytest.mark.parametrize("bad", BAD_TIMES)
def test_out_of_range_start_time_rejects_that_span_alone(collector, project, stored, bad):
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "spyglass.project", project
    ss = rs.scope_spans.add()
    trace_id = uuid.uuid4().bytes
    now = time.time_ns()
    for i in range(100):
        sp = ss.spans.add()
        sp.trace_id, sp.span_id, sp.name = trace_id, (i + 1).to_bytes(8, "big"), f"s{i}"
        sp.start_time_unix_nano, sp.end_time_unix_nano = now, now + 1000
    ss.spans[42].start_time_unix_nano = bad
    r = httpx.post(f"{collector.url}/v1/traces", content=req.SerializeToString(), headers=PROTOBUF)
    assert r.status_code == 200, r.content
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "start_time_unix_nano" in resp.partial_success.error_message
    assert "DB::Exception" not in resp.partial_success.error_message
    names = {row["name"] for row in stored(collector, project)}
    assert len(names) == 99 and "s42" not in names


def test_out_of_range_end_time_and_tokens_reject_span_alone(collector, project, stored):
    trace_id = uuid.uuid4().hex
    doc = otlp_json(project, [
        json_span(0, trace_id),
        json_span(1, trace_id, endTimeUnixNano=str(2**64 - 1)),
        json_span(2, trace_id, attributes=[
            {"key": "gen_ai.usage.input_tokens", "value": {"stringValue": "1e30"}}]),
        json_span(3, trace_id, attributes=[
            {"key": "gen_ai.usage.input_tokens", "value": {"stringValue": "inf"}},
            {"key": "spyglass.cost_usd", "value": {"stringValue": "nan"}}]),
        json_span(4, trace_id, startTimeUnixNano="not a number"),
        json_span(5, trace_id, spanId="zz"),
        json_span(6, trace_id, attributes=5),
        7,
    ])
    r = httpx.post(f"{collector.url}/v1/traces", json=doc)
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "6"
    assert "\n" not in partial["errorMessage"]
    rows = stored(collector, project)
    assert [row["name"] for row in rows] == ["s0", "s3"]
    assert int(rows[1]["input_tokens"]) == 0 and rows[1]["cost_usd"] is None


def test_bad_spans_never_make_other_clients_requests_fail(collector, project, stored):
    """Requests batched with a bad one in the writer are all stored: 0 503s."""
    now = time.time_ns()

    def body(i: int, bad: bool) -> bytes:
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        attr = rs.resource.attributes.add()
        attr.key, attr.value.string_value = "spyglass.project", project
        sp = rs.scope_spans.add().spans.add()
        sp.trace_id, sp.span_id, sp.name = uuid.uuid4().bytes, (i + 1).to_bytes(8, "big"), f"r{i}"
        sp.start_time_unix_nano = 2**64 - 1 if bad else now
        sp.end_time_unix_nano = now
        return req.SerializeToString()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(
            lambda i: httpx.post(f"{collector.url}/v1/traces", content=body(i, i % 3 == 0),
                                 headers=PROTOBUF, timeout=60).status_code, range(60)))
    assert answers == [200] * 60
    assert len(stored(collector, project)) == 40


class FakeStorage:
    """insert_arrow refusing tables with a row whose ``x`` is ``BAD`` with a ClickHouse
    data error, or every insert with a connection error while ``down``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.down = False
        self.calls = 0

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self.calls += 1
        if self.down:
            raise StorageError("insert into spans failed: Connection refused")
        rows = data.to_pylist()
        if any(r["x"] == "BAD" for r in rows):
            raise StorageError("insert into spans failed: Code: 407. DB::Exception: Decimal "
                               "math overflow: (while reading the value of key start_time)")
        self.rows.extend(rows)


def _table(ns: range, bad: tuple[int, ...] = ()) -> pa.Table:
    return pa.table({"n": list(ns), "x": ["BAD" if n in bad else "" for n in ns]})


async def test_writer_bisects_a_data_error_and_stores_every_other_row():
    storage = FakeStorage()
    writer = BatchWriter(storage)  # type: ignore[arg-type]
    writer.start()
    good = _table(range(50))
    mixed = _table(range(100, 164), bad=(107, 131))
    results = await asyncio.gather(writer.write(good, 50), writer.write(mixed, 64))
    assert results[0].rejected == 0
    assert results[1].rejected == 2 and "Decimal math overflow" in results[1].reason
    assert "While executing" not in results[1].reason
    assert len(storage.rows) == 50 + 62
    assert sorted(r["n"] for r in storage.rows) == [
        n for n in [*range(50), *range(100, 164)] if n not in (107, 131)]
    # Not a storage fault: the next write is taken, not refused with 503.
    assert (await writer.write(_table(range(1)), 1)).rejected == 0
    await writer.close()


async def test_writer_answers_503_on_a_transient_fault_without_bisecting():
    storage = FakeStorage()
    storage.down = True
    writer = BatchWriter(storage)  # type: ignore[arg-type]
    writer.start()
    with pytest.raises(Backpressure) as info:
        await writer.write(_table(range(64)), 64)
    assert info.value.status_code == 503
    assert storage.calls == 1
    storage.down = False
    assert (await writer.write(_table(range(1)), 1)).rejected == 0
    await writer.close()


# ---------------------------------------------------------------------------- query API

BAD_TIMES_TEXT = ["-99999999d", "9999-12-31T23:59:59Z", "-100000w", "0900-01-01T00:00:00Z",
                  "0001-01-01T00:00:00Z", "1e400d", "99999999999999999999s",
                  "2026-13-45T00:00:00Z", "x" * 5000, "2262-04-12T00:00:00Z"]


def _get_routes(url: str) -> dict[str, set[str]]:
    """GET paths under /api with their query parameter names, from /schema."""
    schema = httpx.get(f"{url}/schema/openapi.json").json()
    routes = {}
    for path, item in schema["paths"].items():
        if path.startswith("/api/") and "get" in item:
            routes[path] = {p["name"] for p in item["get"].get("parameters", []) if p["in"] == "query"}
    return routes


def _fill(path: str) -> str:
    """A path with its segments filled by well-formed values (the ids need not exist)."""
    values = {"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "1"}
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1:end].split(":")[0]
        out = out[:start] + values.get(name, "name") + out[end + 1:]
    return out


def test_time_parameters_out_of_range_are_400_naming_the_parameter_on_every_route(collector):
    routes = _get_routes(collector.url)
    timed = {p: params for p, params in routes.items() if params & {"since", "until"}}
    # stats, console aggregates, traces, spans, values, feedback, evals lists ...
    assert {"/api/stats", "/api/traces", "/api/spans", "/api/feedback"} <= {
        p.rstrip("/") for p in timed}, sorted(timed)
    for path, params in timed.items():
        for name in sorted(params & {"since", "until"}):
            for bad in BAD_TIMES_TEXT:
                r = httpx.get(f"{collector.url}{_fill(path)}", params={name: bad})
                assert_json_error(r, 400, f"'{name}'")


@pytest.mark.parametrize("bucket", ["9223372036854775807s", "9223372036854775807", "99999999d",
                                    "100000w", "0s", "-5m", "1.5e9s", "3661d"])
def test_bucket_out_of_range_is_400_on_stats_and_console(collector, bucket):
    routes = _get_routes(collector.url)
    bucketed = [p for p, params in routes.items() if "bucket" in params]
    assert any(p.rstrip("/") == "/api/stats" for p in bucketed)
    for path in bucketed:
        r = httpx.get(f"{collector.url}{_fill(path)}", params={"bucket": bucket})
        assert_json_error(r, 400, "'bucket'")


def test_years_print_zero_padded_and_range_edges_work(collector):
    r = httpx.get(f"{collector.url}/api/stats", params={
        "since": "1900-01-02T00:00:00Z", "until": "1900-01-09T00:00:00Z", "bucket": "1d"})
    assert r.status_code == 200, r.text
    assert r.json()["since"].startswith("1900-01-02T")
    assert r.json()["series"][0]["points"][0]["time"] == "1900-01-02T00:00:00Z"
    r = httpx.get(f"{collector.url}/api/stats", params={
        "since": "2262-04-01T00:00:00Z", "until": "2262-04-10T00:00:00Z", "bucket": "1d"})
    assert r.status_code == 200, r.text
