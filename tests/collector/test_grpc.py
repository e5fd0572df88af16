"""OTLP/gRPC receiver: the real OpenTelemetry gRPC exporters (traces, logs, metrics) against
``spyglass serve --grpc-port``; API keys in metadata; and the service.name project setting."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from tests.conftest import REPO_ROOT, ServerHandle, free_port, start_server


@pytest.fixture(scope="module")
def grpc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, int]]:
    port = free_port()
    handle = start_server(tmp_path_factory.mktemp("grpc") / "data", "--grpc-port", str(port))
    yield handle, port
    handle.stop()


def spans(url: str, project: str, headers: dict[str, str] | None = None) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:
        r = httpx.get(f"{url}/api/spans", params={"project": project}, headers=headers)
        assert r.status_code == 200, r.text
        found = r.json()["spans"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def grpc_provider(port: int, resource: dict, headers: dict[str, str] | None = None
                  ) -> tuple[TracerProvider, OTLPSpanExporter]:
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}", insecure=True,
                                headers=headers, timeout=10)
    tp = TracerProvider(resource=Resource.create(resource))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp, exporter


def test_real_grpc_exporter_stores_spans_like_http(grpc_server, project):
    handle, port = grpc_server
    tp, _ = grpc_provider(port, {"service.name": project})  # project from service.name
    with tp.get_tracer("t").start_as_current_span("root"), \
            tp.get_tracer("t").start_as_current_span("chat", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500}):
        pass
    tp.shutdown()
    found = {s["name"]: s for s in spans(handle.url, project)}
    assert set(found) == {"root", "chat"}
    assert found["chat"]["kind"] == "llm" and found["chat"]["status"] == "ok"
    assert found["chat"]["parent_span_id"] == found["root"]["span_id"]
    assert found["chat"]["cost_usd"] == pytest.approx(0.00045)


def test_grpc_logs_and_metrics_services_answer_ok(grpc_server):
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import (
        metrics_service_pb2,
        metrics_service_pb2_grpc,
    )
    _, port = grpc_server
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        logs = logs_service_pb2_grpc.LogsServiceStub(channel)
        metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        assert logs.Export(logs_service_pb2.ExportLogsServiceRequest(), timeout=10) is not None
        assert metrics.Export(metrics_service_pb2.ExportMetricsServiceRequest(),
                              timeout=10) is not None


def test_grpc_needs_the_api_key_once_keys_exist(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True)
    out = subprocess.run([sys.executable, "-m", "collector", "keys", "create", "--project",
                          "keyed", "--data-dir", str(data_dir)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    key = next(w for w in out.stdout.split() if w.startswith("sg_"))
    handle = start_server(data_dir, "--grpc-port", str(port))
    try:
        tp, exporter = grpc_provider(port, {"spyglass.project": "other"})
        span = tp.get_tracer("t").start_span("denied")
        span.end()
        assert exporter.export([span]) is SpanExportResult.FAILURE
        tp, exporter = grpc_provider(port, {"spyglass.project": "other"},
                                     headers={"authorization": f"Bearer {key}"})
        span = tp.get_tracer("t").start_span("allowed")
        span.end()
        assert exporter.export([span]) is SpanExportResult.SUCCESS
        auth = {"authorization": f"Bearer {key}"}
        names = [s["name"] for s in spans(handle.url, "keyed", auth)]
        assert names == ["allowed"]  # the key's project wins over the resource's
    finally:
        handle.stop()


def test_service_name_step_can_be_turned_off(tmp_path):
    handle = start_server(tmp_path / "data", "--grpc-port", "0",
                          env={"SPYGLASS_PROJECT_FROM_SERVICE_NAME": "false"})
    try:
        service = f"checkout-{uuid.uuid4().hex[:6]}"
        tp = TracerProvider(resource=Resource.create({"service.name": service}))
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPExporter,
        )
        tp.add_span_processor(SimpleSpanProcessor(HTTPExporter(endpoint=f"{handle.url}/v1/traces")))
        with tp.get_tracer("t").start_as_current_span("s"):
            pass
        tp.shutdown()
        assert [s["name"] for s in spans(handle.url, "default")] == ["s"]
        assert httpx.get(f"{handle.url}/api/spans",
                         params={"project": service}).json()["spans"] == []
        assert "OTLP/gRPC" not in handle.log()
    finally:
        handle.stop()
