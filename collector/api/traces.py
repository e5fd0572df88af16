"""``GET /api/traces`` (filtered, keyset-paginated trace list) and ``GET /api/traces/{id}``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.errors import (
    COMMON_ERRORS,
    EXCEPTION_HANDLERS,
    NotFound,
    error_responses,
    reject_unknown_parameters,
)
from collector.queries.params import parse_choice, parse_hex_id, parse_limit, parse_range
from collector.queries.prompts import version_ids_for_filter
from collector.queries.spans import SPAN_SELECT, Span, span_from_row
from collector.queries.sql import as_float, as_int, rfc3339_from_micros
from collector.queries.trace_list import TraceQuery, find_page, summaries
from collector.queries.traces import find_trace_spans

STATUSES = ("ok", "error", "unset")
NOT_FOUND_ERRORS = error_responses(400, 401, 403, 404)


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
    model: str | None
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


def _summary(row: dict[str, Any]) -> TraceSummary:
    errors = as_int(row["t_error_count"])
    status = "error" if errors else ("ok" if as_int(row["t_ok_count"]) else "unset")
    start_us, end_us = as_int(row["t_start_us"]), as_int(row["t_end_us"])
    return TraceSummary(
        trace_id=row["trace_id"],
        project=row["t_project"],
        root_name=row["t_root_name"] or row["t_first_name"],
        start_time=rfc3339_from_micros(start_us) or "",
        end_time=rfc3339_from_micros(end_us) or "",
        duration_ms=max(0.0, (end_us - start_us) / 1000.0),
        span_count=as_int(row["t_span_count"]),
        error_count=errors,
        status=status,
        input_tokens=as_int(row["t_input_tokens"]),
        output_tokens=as_int(row["t_output_tokens"]),
        cost_usd=as_float(row["t_cost_usd"]) or 0.0,
        model=row["t_model"] or None,
        user_id=row["t_user_id"] or None,
        session_id=row["t_session_id"] or None,
        tags=list(row["t_tags"] or []),
    )


class TracesController(Controller):
    """Traces: lists for the console's trace table and whole traces for its tree view."""

    path = "/api/traces"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["traces"]

    @get("/", sync_to_thread=True, responses=COMMON_ERRORS)
    def list_traces(
        self,
        request: Request[Any, Any, Any],
        project: str | None = None,
        since: str | None = Parameter(default=None, description="RFC 3339 or relative (-24h)"),
        until: str | None = Parameter(default=None, description="RFC 3339 or relative (-1h)"),
        name: str | None = Parameter(default=None, description="some span has this name"),
        kind: str | None = Parameter(default=None, description="some span has this kind"),
        model: str | None = Parameter(default=None, description="some span used this model"),
        status: str | None = Parameter(default=None, description="ok | error | unset (trace status)"),
        user_id: str | None = None,
        session_id: str | None = None,
        tag: str | None = Parameter(default=None, description="some span carries this tag"),
        q: str | None = Parameter(default=None, description="case-insensitive text in any span's input or output"),
        prompt: str | None = Parameter(default=None, description="some span used this prompt: name, or name:vN / name:label / name:version-id"),
        limit: int | None = Parameter(default=None, description="page size, 1-500 (default 50)"),
        cursor: str | None = Parameter(default=None, description="next_cursor of the previous page"),
    ) -> TraceList:
        """List traces newest first (by the start of their earliest span).

        Filters match a trace when any of its spans matches (``name``, ``kind``, ``model``,
        ``user_id``, ``session_id``, ``tag``, ``q``, ``prompt``); ``status`` is the trace's status
        (``error`` when any span failed). ``since``/``until`` select traces by their start
        (the start of their earliest span); totals cover all their spans. Keyset
        pagination: following ``next_cursor`` lists every trace once, without gaps."""
        page = parse_limit(limit, 50, 500)
        window = parse_range(since, until)
        scope = scoped_project(request, project)
        by_prompt = []
        if prompt:
            # Prompt attributes live in the span's `attributes` JSON (common.attributes).
            key, value = version_ids_for_filter(storage_of(request), scope, prompt)
            by_prompt = [(f"JSONExtractString(attributes, '{key}')", value)]
        query = TraceQuery(
            project=scope,
            since_ns=_ns(window.since),
            until_ns=_ns(window.until),
            span_equals=[(column, value) for column, value in (
                ("name", name), ("kind", kind), ("model", model), ("user_id", user_id),
                ("session_id", session_id)) if value] + by_prompt,
            tag=tag or None,
            text=q or None,
            status=parse_choice(status, "status", STATUSES),
            after=_after(decode_cursor(cursor, "traces", (int, str))),
            limit=page,
        )
        storage = storage_of(request)
        found, extents = find_page(storage, query)
        more = len(found) > page
        found = found[:page]
        rows = summaries(storage, found, extents)
        next_cursor = None
        if more and found:
            _, last_id, last_start = found[-1]
            next_cursor = encode_cursor("traces", [last_start, last_id])
        return TraceList(traces=[_summary(r) for r in rows], next_cursor=next_cursor)

    @get("/{trace_id:str}", sync_to_thread=True, responses=NOT_FOUND_ERRORS)
    def get_trace(self, request: Request[Any, Any, Any], trace_id: str,
                  project: str | None = None) -> TraceDetail:
        """One trace with all its spans: inputs, outputs, attributes and events parsed from
        JSON. 404 when no span of this trace exists (in the key's project)."""
        wanted = parse_hex_id(trace_id, "trace_id", 32)
        scope = scoped_project(request, project)
        rows = find_trace_spans(storage_of(request), wanted, scope, SPAN_SELECT)
        if not rows:
            raise NotFound(f"no trace with id {wanted}")
        spans = [span_from_row(r) for r in rows]
        return TraceDetail(trace_id=wanted, project=spans[0].project, spans=spans)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(value: datetime | None) -> int | None:
    # Integer arithmetic: a float timestamp would lose the last microsecond.
    return None if value is None else (value - _EPOCH) // timedelta(microseconds=1) * 1000


def _after(values: list[Any] | None) -> tuple[int, str] | None:
    return None if values is None else (int(values[0]), str(values[1]))


ROUTES = [TracesController]
