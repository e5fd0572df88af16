"""``GET /api/sessions`` (a project's sessions with their totals) and
``GET /api/sessions/{session_id}`` (one session's traces as a conversation).

A session is the set of traces in which some span carries the session id (the tracer's
``attributes(session_id=...)`` puts it on every span of the block; an OpenTelemetry app may
set ``session.id`` on its root span only). Totals therefore cover every span of those
traces, not only the spans that carry the id, found with a join on the trace id. Each
query is bounded by project (and, for the list, by time), which the ``spans`` sort key
(project, hour, trace) prunes on.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import FromPath, QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange, query_get
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.errors import BadParameter, NotFound, error_responses
from collector.queries.params import parse_limit
from collector.queries.sql import (
    SPANS,
    Filters,
    as_float,
    as_int,
    parse_json_text,
    rfc3339_from_micros,
)
from common.wire.sessions import SessionDetail, SessionList, SessionSummary, SessionTurn

MAX_SESSION_ID = 1000
NOT_FOUND_ERRORS = error_responses(400, 401, 403, 404)


def _scope(where: Filters, project: str | None, window: TimeRange | None,
           column: str = "start_time") -> None:
    where.eq("project", project)
    if window is not None:
        where.time_range(column, window.since, window.until)


def _session_totals(storage: Any, keys: list[tuple[str, str]],
                    window: TimeRange | None) -> dict[tuple[str, str], SessionSummary]:
    """``(project, session_id) -> SessionSummary`` over every span (in ``window``) of the
    traces in which some span carries one of ``keys``' session ids."""
    if not keys:
        return {}
    where = Filters()
    where.add(f"project IN {where.param(sorted({p for p, _ in keys}), 'Array(String)')}")
    if window is not None:
        where.time_range("start_time", window.since, window.until)
    ids = where.param(sorted({s for _, s in keys}), "Array(String)")
    # The traces of these sessions (one row per trace and session), joined to their spans.
    traces = (f"SELECT DISTINCT project AS s_project, trace_id AS s_trace, session_id AS s_id "
              f"FROM spans {where.sql()} AND session_id IN {ids}")
    rows = storage.query(
        "SELECT s_project, s_id, uniqExact(trace_id) AS traces, count() AS spans, "
        "countIf(status = 'error') AS errors, sum(input_tokens) AS it, sum(output_tokens) AS ot, "
        "sum(total_tokens) AS tt, sum(cost_usd) AS cost, "
        "toUnixTimestamp64Micro(min(start_time)) AS first_us, "
        "toUnixTimestamp64Micro(max(start_time)) AS last_us, "
        "anyIf(user_id, user_id != '') AS user_id "
        "FROM (SELECT project, trace_id, start_time, status, input_tokens, output_tokens, "
        f"total_tokens, cost_usd, user_id FROM {SPANS} {where.sql()}) AS x "
        f"INNER JOIN ({traces}) AS t ON x.project = t.s_project AND x.trace_id = t.s_trace "
        "GROUP BY s_project, s_id", where.params)
    wanted = set(keys)
    out: dict[tuple[str, str], SessionSummary] = {}
    for r in rows:
        key = (r["s_project"], r["s_id"])
        if key not in wanted:  # the same id in another of the page's projects
            continue
        out[key] = SessionSummary(
            session_id=r["s_id"], project=r["s_project"], trace_count=as_int(r["traces"]),
            span_count=as_int(r["spans"]), error_count=as_int(r["errors"]),
            input_tokens=as_int(r["it"]), output_tokens=as_int(r["ot"]),
            total_tokens=as_int(r["tt"]), cost_usd=as_float(r["cost"]) or 0.0,
            first_time=rfc3339_from_micros(r["first_us"]) or "",
            last_time=rfc3339_from_micros(r["last_us"]) or "",
            user_id=r["user_id"] or None)
    return out


# Per trace of a session: totals over all its spans, the root span's input and output (the
# earliest span's when the root has not arrived), and its LLM models by use.
_TURNS_SQL = """
SELECT
    trace_id,
    toUnixTimestamp64Micro(min(start_time)) AS start_us,
    toUnixTimestamp64Micro(max(end_time)) AS end_us,
    count() AS spans,
    countIf(status = 'error') AS errors,
    countIf(parent_span_id = '') > 0 AS has_root,
    argMinIf(name, start_time, parent_span_id = '') AS root_name,
    argMin(name, start_time) AS first_name,
    argMinIf(input, start_time, parent_span_id = '') AS root_input,
    argMin(input, start_time) AS first_input,
    argMinIf(output, start_time, parent_span_id = '') AS root_output,
    argMin(output, start_time) AS first_output,
    argMinIf(error, start_time, status = 'error') AS first_error,
    sum(input_tokens) AS it,
    sum(output_tokens) AS ot,
    sum(total_tokens) AS tt,
    sum(cost_usd) AS cost,
    topKIf(1)(model, kind = 'llm' AND model != '') AS llm_model,
    topKIf(1)(model, model != '') AS any_model,
    anyIf(user_id, user_id != '') AS user_id
FROM {spans}
WHERE project = {{project:String}}
  AND start_time >= fromUnixTimestamp64Nano({{lo:Int64}}, 'UTC')
  AND start_time <= fromUnixTimestamp64Nano({{hi:Int64}}, 'UTC')
  AND trace_id IN {{ids:Array(String)}}
GROUP BY trace_id
"""


def _turn(row: dict[str, Any]) -> SessionTurn:
    root = bool(as_int(row["has_root"]))
    start_us, end_us = as_int(row["start_us"]), as_int(row["end_us"])
    models = list(row["llm_model"] or []) or list(row["any_model"] or [])
    errors = as_int(row["errors"])
    return SessionTurn(
        trace_id=row["trace_id"],
        root_name=(row["root_name"] if root else row["first_name"]) or "",
        start_time=rfc3339_from_micros(start_us) or "",
        end_time=rfc3339_from_micros(end_us) or "",
        duration_ms=max(0.0, (end_us - start_us) / 1000.0),
        status="error" if errors else "ok",
        span_count=as_int(row["spans"]),
        error_count=errors,
        input=parse_json_text(row["root_input"] if root else row["first_input"]),
        output=parse_json_text(row["root_output"] if root else row["first_output"]),
        error=row["first_error"] or None,
        input_tokens=as_int(row["it"]),
        output_tokens=as_int(row["ot"]),
        total_tokens=as_int(row["tt"]),
        cost_usd=as_float(row["cost"]) or 0.0,
        model=models[0] if models else None,
        user_id=row["user_id"] or None,
    )


def _turns(storage: Any, project: str, traces: list[dict[str, Any]]) -> list[SessionTurn]:
    """The turns of ``traces`` (``{trace_id, start_ns}``, in order), reading only the
    hours their spans fall in (``trace_index`` gives each trace's span start range)."""
    if not traces:
        return []
    ids = [t["trace_id"] for t in traces]
    extents = storage.query(
        "SELECT toUnixTimestamp64Nano(min(start_min)) AS lo, toUnixTimestamp64Nano(max(start_max)) AS hi "
        "FROM trace_index WHERE project = {project:String} AND trace_id IN {ids:Array(String)}",
        {"project": project, "ids": ids})
    lo = min(int(t["start_ns"]) for t in traces)
    hi = lo
    if extents and extents[0]["hi"] is not None:
        lo = min(lo, int(extents[0]["lo"]))
        hi = max(hi, int(extents[0]["hi"]))
    rows = storage.query(_TURNS_SQL.format(spans=SPANS),
                         {"project": project, "ids": ids, "lo": lo, "hi": hi})
    by_id = {r["trace_id"]: _turn(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _session_id(value: str) -> str:
    if not value or len(value) > MAX_SESSION_ID:
        raise BadParameter("session_id", f"must be 1-{MAX_SESSION_ID} characters")
    return value


class SessionsController(QueryController):
    """Sessions: the conversations of a project, each a series of traces."""

    path = "/api/sessions"
    tags = ["sessions"]

    @query_get("/")
    def list_sessions(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        user_id: Annotated[str | None, QueryParameter(description="only sessions of this user")] = None,
        limit: Annotated[int | None, QueryParameter(description="page size, 1-500 (default 50)")] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of the previous page")] = None,
    ) -> SessionList:
        """Sessions with a span in ``[since, until)``, most recently active first: how many
        traces, spans and errors, tokens and cost (over every span in the range of the
        traces that carry the session id), first and last span start, and the user."""
        page = parse_limit(limit, 50, 500)
        after = decode_cursor(cursor, "sessions", (int, str, str))
        where = Filters()
        _scope(where, project_scope, window)
        where.add("session_id != ''")
        where.eq("user_id", user_id)
        having = ""
        if after is not None:
            having = (f"HAVING (last_us, project, session_id) < ({where.param(after[0], 'Int64')}, "
                      f"{where.param(after[1], 'String')}, {where.param(after[2], 'String')})")
        storage = storage_of(request)
        # Deduplication is not needed to find the page: a re-sent span repeats a start time.
        found = storage.query(
            "SELECT project, session_id, toUnixTimestamp64Micro(max(start_time)) AS last_us "
            f"FROM spans {where.sql()} GROUP BY project, session_id {having} "
            f"ORDER BY last_us DESC, project DESC, session_id DESC LIMIT {page + 1}", where.params)
        more = len(found) > page
        found = found[:page]
        totals = _session_totals(storage, [(r["project"], r["session_id"]) for r in found], window)
        sessions = [totals[(r["project"], r["session_id"])] for r in found
                    if (r["project"], r["session_id"]) in totals]
        next_cursor = None
        if more and found:
            last = found[-1]
            next_cursor = encode_cursor("sessions", [as_int(last["last_us"]), last["project"],
                                                     last["session_id"]])
        return SessionList(sessions=sessions, next_cursor=next_cursor)

    # A `path` parameter: a session id may hold "/" (sent as %2F, decoded before routing).
    @query_get("/{session_id:path}", responses=NOT_FOUND_ERRORS)
    def get_session(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        limit: Annotated[int | None, QueryParameter(description="turns listed, 1-1000 (default 200)")] = None,
        offset: Annotated[int | None, QueryParameter(description="turns skipped (default 0)")] = None,
    ) -> SessionDetail:
        """One session as a conversation: its traces oldest first, each with its root
        span's input and output, status, tokens, cost and duration, and the session's
        totals. ``since``/``until`` narrow it to the traces with a span in that range.
        Without ``project`` (and an API key), the project of the session's latest span.
        404 when no span carries this session id."""
        wanted = _session_id(session_id.removeprefix("/"))
        page = parse_limit(limit, 200, 1000)
        skip = offset or 0
        if skip < 0:
            raise BadParameter("offset", f"must be 0 or more, got {skip}")
        where = Filters()
        _scope(where, project_scope, window)
        where.eq("session_id", wanted)
        storage = storage_of(request)
        traces = storage.query(
            "SELECT project, trace_id, toUnixTimestamp64Nano(min(start_time)) AS start_ns "
            f"FROM spans {where.sql()} GROUP BY project, trace_id "
            "ORDER BY start_ns, trace_id", where.params)
        if not traces:
            raise NotFound(f"no session with id {wanted!r}")
        project = project_scope or max(traces, key=lambda t: int(t["start_ns"]))["project"]
        traces = [t for t in traces if t["project"] == project]
        turns = _turns(storage, project, traces[skip:skip + page])
        totals = _session_totals(storage, [(project, wanted)], window)[(project, wanted)]
        return SessionDetail(session_id=wanted, project=project, totals=totals, turns=turns,
                             turns_total=len(traces), offset=skip)


ROUTES = [SessionsController]
