"""The span record as the API returns it, and the SELECT list that reads it."""

from __future__ import annotations

from typing import Any

from collector.queries.sql import as_float, as_int, parse_json_text, rfc3339_from_micros
from common.wire.traces import Span

SPAN_SELECT = """
    project, trace_id, span_id, parent_span_id, name, kind,
    toUnixTimestamp64Micro(start_time) AS start_us, toUnixTimestamp64Micro(end_time) AS end_us,
    toUnixTimestamp64Nano(start_time) AS start_ns,
    duration_ms, status, error, model, provider, input, output,
    input_tokens, output_tokens, total_tokens, cached_tokens, cost_usd,
    user_id, session_id, tags, metadata, attributes, events, resource, scope_name
"""
"""Columns of one span, with times as integers so both engines return the same thing."""


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def span_from_row(row: dict[str, Any]) -> Span:
    """A row selected with :data:`SPAN_SELECT` -> :class:`Span`."""
    return Span(
        project=row["project"],
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=_text(row["parent_span_id"]),
        name=row["name"],
        kind=row["kind"],
        start_time=rfc3339_from_micros(row["start_us"]) or "",
        end_time=rfc3339_from_micros(row["end_us"]) or "",
        duration_ms=as_float(row["duration_ms"]) or 0.0,
        status=row["status"],
        error=_text(row["error"]),
        model=_text(row["model"]),
        provider=_text(row["provider"]),
        input=parse_json_text(row["input"]),
        output=parse_json_text(row["output"]),
        input_tokens=as_int(row["input_tokens"]),
        output_tokens=as_int(row["output_tokens"]),
        total_tokens=as_int(row["total_tokens"]),
        cached_tokens=as_int(row["cached_tokens"]),
        cost_usd=as_float(row["cost_usd"]),
        user_id=_text(row["user_id"]),
        session_id=_text(row["session_id"]),
        tags=list(row["tags"] or []),
        metadata=parse_json_text(row["metadata"]),
        attributes=parse_json_text(row["attributes"]),
        events=parse_json_text(row["events"]),
        resource=parse_json_text(row["resource"]),
        scope_name=_text(row["scope_name"]),
    )
