"""OTLP/HTTP wire format: request bodies (protobuf or JSON, gzip) and responses in the
request's own encoding."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import msgspec
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES = (PROTOBUF, JSON)
# google.rpc.Code values used in error Status messages.
CODE_INVALID_ARGUMENT = 3
CODE_RESOURCE_EXHAUSTED = 8
CODE_UNAVAILABLE = 14
CODE_UNAUTHENTICATED = 16


class OTLPError(Exception):
    """A request Spyglass refuses; carries the HTTP status and a message naming the problem."""

    def __init__(self, status_code: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after

    @property
    def grpc_code(self) -> int:
        """The google.rpc.Code a Status for this error carries."""
        return {
            400: CODE_INVALID_ARGUMENT,
            401: CODE_UNAUTHENTICATED,
            413: CODE_INVALID_ARGUMENT,
            415: CODE_INVALID_ARGUMENT,
            429: CODE_RESOURCE_EXHAUSTED,
        }.get(self.status_code, CODE_UNAVAILABLE)


def media_type(content_type: str | None) -> str | None:
    """``application/x-protobuf`` or ``application/json`` from a Content-Type header (None
    for anything else)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return base if base in MEDIA_TYPES else None


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress gzip ``body``, refusing (413) output above ``limit`` bytes without ever
    holding more than that in memory: a gzip bomb costs us ``limit`` bytes at most."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise OTLPError(413, f"request body exceeds {limit} bytes after gzip decompression")
        out += d.flush()
    except zlib.error as exc:
        raise OTLPError(400, f"body is not valid gzip: {exc}") from None
    if not d.eof:
        raise OTLPError(400, "body is not valid gzip: truncated stream")
    if len(out) > limit:
        raise OTLPError(413, f"request body exceeds {limit} bytes after gzip decompression")
    return out


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(obj: dict[str, Any]) -> None:
    """OTLP JSON spells ids as hex; protobuf's JSON mapping expects base64 bytes."""
    for key in _ID_FIELDS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            try:
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise OTLPError(400, f"{key} {value[:40]!r} is not hex") from None


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/JSON export request (hex ids, enums as ints or names, 64-bit ints as
    strings, camelCase or snake_case keys; unknown fields ignored)."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise OTLPError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OTLPError(400, "body must be a JSON object with resourceSpans")
    for rs in doc.get("resourceSpans") or doc.get("resource_spans") or []:
        for ss in (rs or {}).get("scopeSpans") or (rs or {}).get("scope_spans") or []:
            for span in (ss or {}).get("spans") or []:
                if isinstance(span, dict):
                    _hex_ids_to_base64(span)
                    for link in span.get("links") or []:
                        if isinstance(link, dict):
                            _hex_ids_to_base64(link)
    try:
        return json_format.ParseDict(doc, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise OTLPError(400, f"body is not an OTLP ExportTraceServiceRequest: {exc}") from None


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/protobuf export request."""
    req = ExportTraceServiceRequest()
    try:
        req.ParseFromString(body)
    except Exception as exc:  # protobuf raises DecodeError, sometimes others, on garbage
        raise OTLPError(400, f"body is not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    return req


def decode(body: bytes, media: str) -> ExportTraceServiceRequest:
    """Decode an (already decompressed) body of ``media`` type."""
    return decode_protobuf(body) if media == PROTOBUF else decode_json(body)


def success_body(media: str, rejected: int = 0, message: str = "") -> bytes:
    """An ExportTraceServiceResponse, with ``partial_success`` when spans were rejected."""
    resp = ExportTraceServiceResponse()
    if rejected or message:
        resp.partial_success.rejected_spans = rejected
        resp.partial_success.error_message = message
    if media == PROTOBUF:
        return resp.SerializeToString()
    if not (rejected or message):
        return b"{}"
    return msgspec.json.encode(
        {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
    )


def error_body(media: str, err: OTLPError) -> bytes:
    """A google.rpc.Status naming the problem; in JSON it also carries Spyglass's usual
    ``error`` key so every JSON error reads alike."""
    if media == PROTOBUF:
        return status_pb2.Status(code=err.grpc_code, message=err.message).SerializeToString()
    return msgspec.json.encode({"error": err.message, "code": err.grpc_code, "message": err.message})
