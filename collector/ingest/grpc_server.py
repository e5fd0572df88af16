"""OTLP/gRPC receiver (default port 4317, ``--grpc-port``, 0 = off).

The official ``grpcio`` server with the ``opentelemetry-proto`` service definitions
(TraceService, LogsService, MetricsService), running on the collector's own event loop so
it shares the HTTP path's pipeline (``collector/ingest/pipeline.py``): the same
normalization, batching writer and durability (a call returns only after its spans are
inserted), the same API keys (``authorization: Bearer KEY`` metadata; the key's project
wins) and the same size limit (``max_body_bytes`` per message, after decompression).

Errors map to gRPC codes an OTLP exporter understands: UNAUTHENTICATED (no/bad key),
INVALID_ARGUMENT, RESOURCE_EXHAUSTED (queue full; retried by exporters), UNAVAILABLE
(storage failing, shutting down; retried).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from collector.ingest import pipeline, signals
from collector.ingest.writer import Backpressure

log = logging.getLogger("spyglass.ingest")

_CODES = {401: grpc.StatusCode.UNAUTHENTICATED, 400: grpc.StatusCode.INVALID_ARGUMENT,
          413: grpc.StatusCode.RESOURCE_EXHAUSTED, 429: grpc.StatusCode.RESOURCE_EXHAUSTED}


class _Auth:
    """API-key check for gRPC calls, with the same key cache logic as the HTTP middleware."""

    def __init__(self, storage: Any) -> None:
        try:
            from collector.auth import KeyCache, KeyStore
        except ImportError:  # keys are optional
            self.cache = None
        else:
            self.cache = KeyCache(KeyStore(storage))

    async def project(self, context: grpc.aio.ServicerContext) -> str | None:
        """The key's project; aborts the call when keys exist and this one is not valid."""
        if self.cache is None or not await anyio.to_thread.run_sync(self.cache.any_active):
            return None
        token = ""
        for key, value in context.invocation_metadata() or ():
            if key.lower() == "authorization":
                scheme, _, rest = str(value).strip().partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else ""
        if not token:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "missing API key: send the metadata 'authorization: Bearer <key>'"
                                " (create one with `spyglass keys create --project NAME`)")
        project = await anyio.to_thread.run_sync(self.cache.project_for, token)
        if project is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid or revoked API key")
        return project


async def _refuse(context: grpc.aio.ServicerContext, err: Backpressure | Exception) -> None:
    status = getattr(err, "status_code", 503)
    message = getattr(err, "message", str(err))
    if status >= 500 or status == 429:
        log.warning("gRPC ingest refused (%d): %s", status, message)
    await context.abort(_CODES.get(status, grpc.StatusCode.UNAVAILABLE), message)


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """``opentelemetry.proto.collector.trace.v1.TraceService/Export``."""

    def __init__(self, state: Any, auth: _Auth) -> None:
        self.state = state
        self.auth = auth

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """Store the request's spans; answer once they are inserted."""
        project = await self.auth.project(context)
        try:
            with self.state.writer.announce() as announced:
                _, rejected, reason = await pipeline.store_traces(self.state, request, project,
                                                                  announced)
        except Backpressure as err:
            await _refuse(context, err)
        resp = trace_service_pb2.ExportTraceServiceResponse()
        if rejected:
            resp.partial_success.rejected_spans = rejected
            resp.partial_success.error_message = reason
        return resp


class LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    """``opentelemetry.proto.collector.logs.v1.LogsService/Export``: GenAI events."""

    def __init__(self, state: Any, auth: _Auth) -> None:
        self.state = state
        self.auth = auth

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """Store GenAI message events and attach them to their spans; drop other logs."""
        project = await self.auth.project(context)
        try:
            await pipeline.store_logs(self.state, request, project)
        except Exception as err:  # storage failing: the exporter retries UNAVAILABLE
            await _refuse(context, err)
        return logs_service_pb2.ExportLogsServiceResponse()


class MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    """``opentelemetry.proto.collector.metrics.v1.MetricsService/Export``: accepted, dropped."""

    def __init__(self, state: Any, auth: _Auth) -> None:
        self.state = state
        self.auth = auth

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """Count and drop the data points (dashboards are computed from spans)."""
        await self.auth.project(context)
        pipeline.drop_metrics(signals.data_points(request))
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def start(state: Any, host: str, port: int) -> grpc.aio.Server | None:
    """Start serving OTLP/gRPC on ``host:port`` on the running loop; None (and a warning)
    when the port cannot be bound, so the HTTP receiver still serves."""
    limit = state.settings.max_body_bytes
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.so_reuseport", 0),
    ])
    auth = _Auth(state.storage)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(state, auth), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(state, auth), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
        MetricsService(state, auth), server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        bound = 0
        log.debug("gRPC bind failed: %s", exc)
    if not bound:
        log.warning("OTLP/gRPC is off: cannot listen on %s (port in use?); set --grpc-port "
                    "to another port, or 0 to silence this", address)
        return None
    await server.start()
    state.grpc_port = bound
    log.info("OTLP/gRPC listening on %s:%d", host, bound)
    return server
