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
# Deepest JSON nesting accepted. An OTLP span sits at depth 9; each level of a nested
# attribute value (AnyValue -> arrayValue/kvlistValue -> values -> [...]) adds 3-4, so this
# allows ~30 levels of nested attribute values, as deep as protobuf bodies get (upb's
# recursion limit), while the parser, ParseDict and every recursive walk after it stay far
# from Python's recursion limit.
MAX_JSON_DEPTH = 128
# Longest error message put in a response (protobuf parse errors can quote whole paths).
MAX_MESSAGE = 300


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, at most ``limit`` characters: error bodies never carry a
    multi-line dump."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _hex_ids_to_base64(obj: dict[str, Any]) -> None:
    """OTLP JSON spells ids as hex; protobuf's JSON mapping expects base64 bytes."""
    for key in _ID_FIELDS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            try:
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise ValueError(f"{key} {value[:40]!r} is not hex") from None


def json_depth_exceeds(doc: Any, limit: int) -> bool:
    """True when ``doc`` (decoded JSON) nests lists/objects deeper than ``limit``; walks
    iteratively, so any depth is safe to measure."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def load_json(body: bytes, what: str = "body") -> Any:
    """JSON ``body`` decoded with a depth cap: 400 for invalid JSON, invalid UTF-8 or
    nesting deeper than :data:`MAX_JSON_DEPTH` (never a RecursionError)."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise OTLPError(400, one_line(f"{what} is not valid JSON: {exc}")) from None
    except RecursionError:
        raise OTLPError(400, f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth_exceeds(doc, MAX_JSON_DEPTH):
        raise OTLPError(400, f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    return doc


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list_field(obj: dict[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    """A repeated field of an OTLP JSON object: a list (or absent/null), else 400."""
    value = _field(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OTLPError(400, f"{where}.{camel} must be a JSON array, got {type(value).__name__}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OTLPError(400, f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _parse_into(message: Any, value: Any) -> None:
    # ParseDict raises ParseError for most bad values, but other exception types for
    # some (a key of the wrong type, ...): any failure means the value is malformed.
    json_format.ParseDict(value, message, ignore_unknown_fields=True)


def decode_json_partial(body: bytes) -> tuple[ExportTraceServiceRequest, int, str]:
    """An OTLP/JSON export request (hex ids, enums as ints or names, 64-bit ints as
    strings, camelCase or snake_case keys; unknown fields ignored), plus the number of
    spans dropped as malformed and why the first one was.

    The structure (resourceSpans/scopeSpans/spans arrays and objects, resources, scopes) is
    checked before it is walked: a malformed structure is a 400 for the whole request. A
    malformed span (a value of the wrong type, a bad id) is dropped alone so the rest of
    the request is stored and the client hears about it in ``partial_success``."""
    doc = _object(load_json(body), "body")
    req = ExportTraceServiceRequest()
    rejected = 0
    reason = ""
    for i, rs in enumerate(_list_field(doc, "resourceSpans", "resource_spans", "body")):
        where = f"resourceSpans[{i}]"
        rs = _object(rs, where)
        out_rs = req.resource_spans.add()
        try:
            value = _field(rs, "resource", "resource")
            if value is not None:
                _parse_into(out_rs.resource, _object(value, f"{where}.resource"))
            if (url := _field(rs, "schemaUrl", "schema_url")) is not None:
                out_rs.schema_url = url if isinstance(url, str) else ""
        except OTLPError:
            raise
        except Exception as exc:
            raise OTLPError(400, one_line(f"{where}.resource is not an OTLP Resource: {exc}")) from None
        for j, ss in enumerate(_list_field(rs, "scopeSpans", "scope_spans", where)):
            swhere = f"{where}.scopeSpans[{j}]"
            ss = _object(ss, swhere)
            out_ss = out_rs.scope_spans.add()
            scope = _field(ss, "scope", "scope")
            if scope is not None:
                try:
                    _parse_into(out_ss.scope, _object(scope, f"{swhere}.scope"))
                except OTLPError:
                    raise
                except Exception as exc:
                    raise OTLPError(400, one_line(
                        f"{swhere}.scope is not an OTLP InstrumentationScope: {exc}")) from None
            for k, span in enumerate(_list_field(ss, "spans", "spans", swhere)):
                kept = len(out_ss.spans)
                try:
                    if not isinstance(span, dict):
                        raise ValueError(f"must be a JSON object, got {type(span).__name__}")
                    _hex_ids_to_base64(span)
                    links = _field(span, "links", "links")
                    if links is not None and not isinstance(links, list):
                        raise ValueError("links must be a JSON array")
                    for link in links or []:
                        if isinstance(link, dict):
                            _hex_ids_to_base64(link)
                    _parse_into(out_ss.spans.add(), span)
                except Exception as exc:
                    # Drop the span added for it (possibly half filled), and only it.
                    while len(out_ss.spans) > kept:
                        del out_ss.spans[-1]
                    rejected += 1
                    reason = reason or one_line(f"{swhere}.spans[{k}] rejected: {exc}")
    return req, rejected, reason


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """:func:`decode_json_partial` without the count of dropped spans."""
    return decode_json_partial(body)[0]


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/protobuf export request."""
    req = ExportTraceServiceRequest()
    try:
        req.ParseFromString(body)
    except Exception as exc:  # protobuf raises DecodeError, sometimes others, on garbage
        raise OTLPError(400, one_line(
            f"body is not an OTLP protobuf ExportTraceServiceRequest: {exc}")) from None
    return req


def decode(body: bytes, media: str) -> tuple[ExportTraceServiceRequest, int, str]:
    """Decode an (already decompressed) body of ``media`` type: the request, the number of
    spans dropped while decoding (JSON only: a protobuf span cannot fail alone) and why the
    first one was."""
    if media == PROTOBUF:
        return decode_protobuf(body), 0, ""
    return decode_json_partial(body)


def export_response(resp: Any, rejected_field: str, media: str, rejected: int = 0,
                    message: str = "") -> bytes:
    """An OTLP Export*ServiceResponse ``resp`` in the request's encoding, with
    ``partial_success`` (its count in ``rejected_field``, e.g. ``rejected_spans``) when
    anything was rejected; every signal answers the same way."""
    if rejected or message:
        setattr(resp.partial_success, rejected_field, rejected)
        resp.partial_success.error_message = message
    if media == PROTOBUF:
        return resp.SerializeToString()
    if not (rejected or message):
        return b"{}"
    head, *rest = rejected_field.split("_")
    json_field = head + "".join(word.title() for word in rest)  # OTLP/JSON is lowerCamelCase
    return msgspec.json.encode(
        {"partialSuccess": {json_field: str(rejected), "errorMessage": message}})


def success_body(media: str, rejected: int = 0, message: str = "") -> bytes:
    """An ExportTraceServiceResponse, with ``partial_success`` when spans were rejected."""
    return export_response(ExportTraceServiceResponse(), "rejected_spans", media, rejected,
                           message)


def error_body(media: str, err: OTLPError) -> bytes:
    """A google.rpc.Status naming the problem; in JSON it also carries Spyglass's usual
    ``error`` key so every JSON error reads alike."""
    if media == PROTOBUF:
        return status_pb2.Status(code=err.grpc_code, message=err.message).SerializeToString()
    return msgspec.json.encode({"error": err.message, "code": err.grpc_code, "message": err.message})
