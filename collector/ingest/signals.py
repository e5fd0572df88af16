"""OTLP logs and metrics requests (protobuf or JSON) and their responses.

Traces have their own module (``collector/ingest/otlp.py``); these share its error type,
media types and gzip handling."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from collector.ingest.otlp import PROTOBUF, OTLPError, export_response

_LOG_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")


def _hex_ids(record: dict[str, Any]) -> None:
    for key in _LOG_ID_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and value:
            try:
                record[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise OTLPError(400, f"{key} {value[:40]!r} is not hex") from None


def _json_doc(body: bytes) -> dict[str, Any]:
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise OTLPError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OTLPError(400, "body must be a JSON object")
    return doc


def _parse(body: bytes, media: str, message: Any, what: str) -> Any:
    if media == PROTOBUF:
        try:
            message.ParseFromString(body)
        except Exception as exc:  # protobuf raises DecodeError, sometimes others, on garbage
            raise OTLPError(400, f"body is not an OTLP protobuf {what}: {exc}") from None
        return message
    doc = _json_doc(body)
    if isinstance(message, ExportLogsServiceRequest):
        for rl in doc.get("resourceLogs") or doc.get("resource_logs") or []:
            for sl in (rl or {}).get("scopeLogs") or (rl or {}).get("scope_logs") or []:
                for rec in (sl or {}).get("logRecords") or (sl or {}).get("log_records") or []:
                    if isinstance(rec, dict):
                        _hex_ids(rec)
    try:
        return json_format.ParseDict(doc, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise OTLPError(400, f"body is not an OTLP {what}: {exc}") from None


def decode_logs(body: bytes, media: str) -> ExportLogsServiceRequest:
    """An OTLP logs export request (protobuf, or JSON with hex ids)."""
    return _parse(body, media, ExportLogsServiceRequest(), "ExportLogsServiceRequest")


def decode_metrics(body: bytes, media: str) -> ExportMetricsServiceRequest:
    """An OTLP metrics export request (only checked to be well-formed: metrics are dropped)."""
    return _parse(body, media, ExportMetricsServiceRequest(), "ExportMetricsServiceRequest")


def data_points(req: ExportMetricsServiceRequest) -> int:
    """How many data points a metrics request carries (what dropping it discards)."""
    n = 0
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                if which:
                    n += len(getattr(metric, which).data_points)
    return n


def logs_success(media: str, rejected: int = 0, message: str = "") -> bytes:
    """An ExportLogsServiceResponse in the request's encoding."""
    return export_response(ExportLogsServiceResponse(), "rejected_log_records", media,
                           rejected, message)


def metrics_success(media: str) -> bytes:
    """An empty ExportMetricsServiceResponse in the request's encoding."""
    return ExportMetricsServiceResponse().SerializeToString() if media == PROTOBUF else b"{}"
