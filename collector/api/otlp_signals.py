"""``POST /v1/logs`` and ``POST /v1/metrics``: the other two OTLP/HTTP signals.

A stock OpenTelemetry setup (``opentelemetry-instrument``) exports all three signals; a
405 on any of them makes the application print export errors. Logs carry GenAI message
events, which are attached to their spans (collector/ingest/events.py); metrics are
accepted and dropped, since the dashboards are computed from spans."""

from __future__ import annotations

import logging

from litestar import Request, post
from litestar.response import Response

from collector.api.otlp import _auth_project, _error, _read_body
from collector.ingest import otlp, pipeline, signals
from collector.ingest.writer import Backpressure
from collector.storage import StorageError

log = logging.getLogger("spyglass.ingest")


async def _body(request: Request, media: str) -> bytes:
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise otlp.OTLPError(415, f"unsupported Content-Encoding {encoding!r}: send gzip or none")
    limit = request.app.state.settings.max_body_bytes
    body = await _read_body(request, limit)
    return otlp.gunzip(body, limit) if encoding == "gzip" else body


def _unsupported(request: Request) -> Response[bytes]:
    return _error(otlp.JSON, otlp.OTLPError(
        415, f"unsupported Content-Type {request.headers.get('content-type')!r}: "
        "send application/x-protobuf or application/json"))


@post("/v1/logs", request_max_body_size=None, status_code=200,
      summary="OTLP/HTTP logs export", tags=["ingest"])
async def export_logs(request: Request) -> Response[bytes]:
    """Receive an OTLP ``ExportLogsServiceRequest`` (protobuf or JSON, gzip allowed).

    GenAI message events (``gen_ai.*.message``, ``gen_ai.choice``,
    ``gen_ai.client.inference.operation.details``) with a trace and span id are stored and
    their messages become the input/output of that span; other log records are dropped
    (counted, logged once). 200 only after the events are stored; errors as for
    ``/v1/traces``."""
    media = otlp.media_type(request.headers.get("content-type"))
    if media is None:
        return _unsupported(request)
    try:
        req = signals.decode_logs(await _body(request, media), media)
        await pipeline.store_logs(request.app.state, req, _auth_project(request))
    except (otlp.OTLPError, Backpressure) as err:
        return _error(media, err)
    except StorageError as exc:
        log.warning("storing GenAI events failed: %s", exc)
        return _error(media, otlp.OTLPError(503, f"storage insert failed: {exc}",
                                            request.app.state.settings.retry_after_s))
    return Response(signals.logs_success(media), status_code=200, media_type=media)


@post("/v1/metrics", request_max_body_size=None, status_code=200,
      summary="OTLP/HTTP metrics export (accepted, dropped)", tags=["ingest"])
async def export_metrics(request: Request) -> Response[bytes]:
    """Receive an OTLP ``ExportMetricsServiceRequest`` and answer 200 without storing it:
    Spyglass's token, cost and latency dashboards come from spans. The data points are
    counted and the drop is logged once. 400 for a malformed body, 413/415 as for
    ``/v1/traces``."""
    media = otlp.media_type(request.headers.get("content-type"))
    if media is None:
        return _unsupported(request)
    try:
        req = signals.decode_metrics(await _body(request, media), media)
    except otlp.OTLPError as err:
        return _error(media, err)
    pipeline.drop_metrics(signals.data_points(req))
    return Response(signals.metrics_success(media), status_code=200, media_type=media)


ROUTES = [export_logs, export_metrics]
