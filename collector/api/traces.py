"""``GET /api/traces`` (filtered, keyset-paginated trace list) and ``GET /api/traces/{id}``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Request
from litestar.params import FromPath, QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange, query_get
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.errors import NotFound, error_responses
from collector.queries.params import parse_choice, parse_hex_id, parse_limit
from collector.queries.spans import SPAN_SELECT, span_from_row
from collector.queries.sql import as_float, as_int, rfc3339_from_micros
from collector.queries.trace_list import TraceQuery, find_page, ranked_models, summaries
from collector.queries.traces import find_trace_spans
from common.wire.traces import TraceDetail, TraceList, TraceSummary

STATUSES = ("ok", "error", "unset")
NOT_FOUND_ERRORS = error_responses(400, 401, 403, 404)


def _summary(row: dict[str, Any]) -> TraceSummary:
    errors = as_int(row["t_error_count"])
    status = "error" if errors else ("ok" if as_int(row["t_ok_count"]) else "unset")
    start_us, end_us = as_int(row["t_start_us"]), as_int(row["t_end_us"])
    models = ranked_models(row)
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
        model=models[0] if models else None,
        models=models,
        user_id=row["t_user_id"] or None,
        session_id=row["t_session_id"] or None,
        tags=list(row["t_tags"] or []),
    )


class TracesController(QueryController):
    """Traces: lists for the console's trace table and whole traces for its tree view."""

    path = "/api/traces"
    tags = ["traces"]

    @query_get("/")
    def list_traces(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        name: Annotated[str | None, QueryParameter(description="some span has this name")] = None,
        kind: Annotated[str | None, QueryParameter(description="some span has this kind")] = None,
        model: Annotated[str | None, QueryParameter(description="some span used this model")] = None,
        status: Annotated[str | None, QueryParameter(description="ok | error | unset (trace status)")] = None,
        user_id: Annotated[str | None, QueryParameter(description="some span has this user id")] = None,
        session_id: Annotated[str | None, QueryParameter(description="some span has this session id")] = None,
        tag: Annotated[str | None, QueryParameter(description="some span carries this tag")] = None,
        q: Annotated[str | None, QueryParameter(description="case-insensitive text in any span's input or output")] = None,
        limit: Annotated[int | None, QueryParameter(description="page size, 1-500 (default 50)")] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of the previous page")] = None,
    ) -> TraceList:
        """List traces newest first (by the start of their earliest span).

        Filters match a trace when any of its spans matches (``name``, ``kind``, ``model``,
        ``user_id``, ``session_id``, ``tag``, ``q``); ``status`` is the trace's status
        (``error`` when any span failed). ``since``/``until`` select traces by their start
        (the start of their earliest span); totals cover all their spans. Keyset
        pagination: following ``next_cursor`` lists every trace once, without gaps."""
        page = parse_limit(limit, 50, 500)
        query = TraceQuery(
            project=project_scope,
            since_ns=_ns(window.since),
            until_ns=_ns(window.until),
            span_equals=[(column, value) for column, value in (
                ("name", name), ("kind", kind), ("model", model), ("user_id", user_id),
                ("session_id", session_id)) if value],
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

    @query_get("/{trace_id:str}", responses=NOT_FOUND_ERRORS)
    def get_trace(self, request: Request[Any, Any, Any], trace_id: FromPath[str],
                  project_scope: NamedDependency[str | None]) -> TraceDetail:
        """One trace with all its spans: inputs, outputs, attributes and events parsed from
        JSON. 404 when no span of this trace exists (in the key's project)."""
        wanted = parse_hex_id(trace_id, "trace_id", 32)
        rows = find_trace_spans(storage_of(request), wanted, project_scope, SPAN_SELECT)
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
