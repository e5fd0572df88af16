"""``POST /v1/traces``: OTLP/HTTP trace export (protobuf or JSON, optionally gzip)."""

from __future__ import annotations

import logging
import time

from litestar import Request, post
from litestar.response import Response

from collector.auth import key_project
from collector.ingest import otlp, pipeline
from collector.ingest.stats import STATS
from collector.ingest.writer import Backpressure

log = logging.getLogger("spyglass.ingest")


def _auth_project(request: Request) -> str | None:
    """The project of the request's API key, when collector.auth authenticated one."""
    return key_project(request.scope)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) more than ``limit`` bytes before buffering them."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise otlp.OTLPError(413, f"request body of {length} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise otlp.OTLPError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(media: str, err: otlp.OTLPError | Backpressure) -> Response[bytes]:
    if isinstance(err, Backpressure):
        err = otlp.OTLPError(err.status_code, err.message, err.retry_after)
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
    return Response(otlp.error_body(media, err), status_code=err.status_code,
                    media_type=media, headers=headers)


@post("/v1/traces", request_max_body_size=None, status_code=200,
      summary="OTLP/HTTP trace export", tags=["ingest"])
async def export_traces(request: Request) -> Response[bytes]:
    """Receive an OTLP ``ExportTraceServiceRequest`` (``application/x-protobuf`` or
    ``application/json``, ``Content-Encoding: gzip`` allowed) and store its spans.

    200 only after the spans are inserted (they survive a crash from then on), with
    ``partial_success`` counting spans rejected for malformed ids. 400 undecodable body,
    413 body above the size limit (also after decompression), 415 other media types or
    encodings, 429/503 with ``Retry-After`` under backpressure. Error bodies are a
    google.rpc.Status in the request's encoding.
    """
    settings = request.app.state.settings
    media = otlp.media_type(request.headers.get("content-type"))
    if media is None:
        err = otlp.OTLPError(
            415, f"unsupported Content-Type {request.headers.get('content-type')!r}: "
            "send application/x-protobuf or application/json")
        return _error(otlp.JSON, err)
    # Announced to the writer while the body is read and normalized, so concurrent
    # requests share one insert (collector/ingest/writer.py).
    with request.app.state.writer.announce() as announced:
        try:
            encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
            if encoding not in ("gzip", "identity"):
                raise otlp.OTLPError(415, f"unsupported Content-Encoding {encoding!r}: send gzip or none")
            body = await _read_body(request, settings.max_body_bytes)
            if encoding == "gzip":
                body = otlp.gunzip(body, settings.max_body_bytes)
            STATS.request_started()
            t0 = time.thread_time()
            req, rejected, reason = otlp.decode(body, media)
            STATS.decode_s += time.thread_time() - t0
            _, rejected_rows, row_reason = await pipeline.store_traces(
                request.app.state, req, _auth_project(request), announced)
            rejected, reason = rejected + rejected_rows, reason or row_reason
        except (otlp.OTLPError, Backpressure) as err:
            if err.status_code >= 500 or err.status_code == 429:
                log.warning("ingest refused (%d): %s", err.status_code, err.message)
            return _error(media, err)
    return Response(otlp.success_body(media, rejected, reason), status_code=200, media_type=media)


ROUTES = [export_traces]
