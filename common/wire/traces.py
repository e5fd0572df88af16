"""Answers of ``/api/traces`` and ``/api/spans``: the span record, trace lists and pages of spans."""

from __future__ import annotations

from typing import Any

import msgspec


class Span(msgspec.Struct, kw_only=True):
    """One span: ids lowercase hex, times RFC 3339 UTC, JSON columns parsed."""

    project: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time: str
    end_time: str
    duration_ms: float
    status: str
    error: str | None
    model: str | None
    provider: str | None
    input: Any
    output: Any
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_tokens: int
    cost_usd: float | None
    user_id: str | None
    session_id: str | None
    tags: list[str]
    metadata: Any
    attributes: Any
    events: Any
    resource: Any
    scope_name: str | None


class TraceSummary(msgspec.Struct, kw_only=True):
    """One row of the trace list: the trace's root and totals over all its spans."""

    trace_id: str
    project: str
    root_name: str
    start_time: str
    end_time: str
    duration_ms: float
    span_count: int
    error_count: int
    status: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    #: The most-used model of the trace's LLM spans (``models[0]``).
    model: str | None
    #: The models of the trace's LLM spans, most-used first (of its other spans when it
    #: has no LLM span with a model).
    models: list[str] = msgspec.field(default_factory=list)
    user_id: str | None
    session_id: str | None
    tags: list[str]


class TraceList(msgspec.Struct, kw_only=True):
    """A page of traces, newest first; pass ``next_cursor`` back as ``cursor`` for more."""

    traces: list[TraceSummary]
    next_cursor: str | None


class TraceDetail(msgspec.Struct, kw_only=True):
    """Every span of one trace, ordered by start time (parents before children)."""

    trace_id: str
    project: str
    spans: list[Span]


class SpanItem(Span, kw_only=True):
    """A span as the search returns it: the span plus when the collector stored it."""

    ingested_at: str


class SpanList(msgspec.Struct, kw_only=True):
    """A page of spans; pass ``next_cursor`` back as ``cursor`` (same filters) for more."""

    spans: list[SpanItem]
    next_cursor: str | None
