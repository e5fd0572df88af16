"""``POST /v1/traces``: OTLP/HTTP trace export (protobuf or JSON, optionally gzip)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, post
from litestar.response import Response

from collector.auth import key_project
from collector.ingest import otlp
from collector.ingest.normalize import SpanRejected, normalize, resource_info
from collector.ingest.writer import Backpressure

log = logging.getLogger("spyglass.ingest")
_encode = msgspec.json.Encoder().encode


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


def rows_of(req: Any, auth_project: str | None, ttl_of: Any) -> tuple[list[bytes], int, str]:
    """JSONEachRow lines for every storable span of an export request, the number of
    rejected spans and a message naming why the first one was rejected."""
    lines: list[bytes] = []
    rejected = 0
    reason = ""
    for rs in req.resource_spans:
        res = resource_info(rs.resource, auth_project)
        ttl_days = ttl_of(res.project)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name
            for span in ss.spans:
                try:
                    lines.append(_encode(normalize(span, res, scope_name, ttl_days)))
                except SpanRejected as exc:
                    rejected += 1
                    reason = reason or f"span {span.span_id.hex() or '?'} rejected: {exc}"
                except Exception as exc:
                    # A value no check foresaw (nesting too deep to encode, ...): this span
                    # alone is lost, never the request.
                    log.warning("span %s could not be normalized: %r", span.span_id.hex(), exc)
                    rejected += 1
                    reason = reason or (f"span {span.span_id.hex() or '?'} rejected: "
                                        f"{type(exc).__name__}")
    return lines, rejected, reason


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
    try:
        encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
        if encoding not in ("gzip", "identity"):
            raise otlp.OTLPError(415, f"unsupported Content-Encoding {encoding!r}: send gzip or none")
        body = await _read_body(request, settings.max_body_bytes)
        if encoding == "gzip":
            body = otlp.gunzip(body, settings.max_body_bytes)
        req, rejected, reason = otlp.decode(body, media)
        writer = request.app.state.writer
        lines, rejected_rows, row_reason = rows_of(req, _auth_project(request),
                                                   request.app.state.project_settings.ttl_days)
        rejected, reason = rejected + rejected_rows, reason or row_reason
        if lines:
            result = await writer.write(b"\n".join(lines), len(lines))
            rejected, reason = rejected + result.rejected, reason or result.reason
    except (otlp.OTLPError, Backpressure) as err:
        if err.status_code >= 500 or err.status_code == 429:
            log.warning("ingest refused (%d): %s", err.status_code, err.message)
        return _error(media, err)
    if rejected:
        log.warning("rejected %d span(s): %s", rejected, reason)
    return Response(otlp.success_body(media, rejected, reason), status_code=200, media_type=media)


ROUTES = [export_traces]
