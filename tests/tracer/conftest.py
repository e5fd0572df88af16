"""Tracer fixtures: the real OTel SDK through ``tracer.init`` with an in-memory exporter,
and a tiny OTLP/HTTP receiver on a real socket for the wire path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracer
from tests.tracer.helpers import Received, Receiver, Traced


@pytest.fixture
def traced() -> Iterator[Traced]:
    """``tracer.init`` with an in-memory exporter; shut down after the test."""
    exporter = InMemorySpanExporter()
    tracer.init(project="tracer-tests", exporter=exporter)
    yield Traced(exporter)
    tracer.shutdown(10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A threaded HTTP server on a free loopback port standing in for the collector."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            rec = state["receiver"]
            with rec.arrived:
                rec.requests.append(Received(self.path, {k.lower(): v for k, v in
                                                         self.headers.items()}, body))
                rec.arrived.notify_all()
            if self.path == "/v1/traces":
                payload = ExportTraceServiceResponse().SerializeToString()
                content_type = "application/x-protobuf"
                status = 200
            else:
                payload, content_type, status = b'{"id": "x"}', "application/json", 201
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()
