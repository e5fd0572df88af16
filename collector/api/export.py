"""``GET /api/export/traces``: what the trace list's filter shows, as JSONL or CSV, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from collector.api.traces import STATUSES, _after, _ns, _summary
from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange
from collector.queries.errors import COMMON_ERRORS, BadParameter
from collector.queries.params import parse_choice
from collector.queries.trace_list import TraceQuery, find_page, summaries
from common.wire.traces import TraceSummary

FORMATS = ("jsonl", "csv")
PAGE = 500
COLUMNS = list(TraceSummary.__struct_fields__)


def _pages(storage: Any, query: TraceQuery, cap: int) -> Iterator[list[TraceSummary]]:
    """Trace summaries page by page (the trace list's keyset walk), at most ``cap`` rows."""
    left = cap
    while left > 0:
        query.limit = min(PAGE, left)
        found, extents = find_page(storage, query)
        more = len(found) > query.limit
        found = found[:query.limit]
        if not found:
            return
        yield [_summary(r) for r in summaries(storage, found, extents)]
        left -= len(found)
        if not more:
            return
        _, last_id, last_start = found[-1]
        query.after = (last_start, last_id)


def _jsonl(pages: Iterator[list[TraceSummary]]) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    for page in pages:
        yield b"".join(encoder.encode(row) + b"\n" for row in page)


def _csv(pages: Iterator[list[TraceSummary]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for page in pages:
        for row in page:
            values = msgspec.structs.astuple(row)
            writer.writerow([";".join(v) if isinstance(v, list) else ("" if v is None else v) for v in values])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class ExportController(QueryController):
    """Downloads of what a filter shows."""

    path = "/api/export"
    tags = ["export"]

    @get("/traces", sync_to_thread=True, responses=COMMON_ERRORS)
    def export_traces(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        format: Annotated[str | None, QueryParameter(description="jsonl (default) | csv")] = None,
        name: Annotated[str | None, QueryParameter(description="some span has this name")] = None,
        kind: Annotated[str | None, QueryParameter(description="some span has this kind")] = None,
        model: Annotated[str | None, QueryParameter(description="some span used this model")] = None,
        status: Annotated[str | None, QueryParameter(description="ok | error | unset (trace status)")] = None,
        user_id: Annotated[str | None, QueryParameter(description="some span has this user id")] = None,
        session_id: Annotated[str | None, QueryParameter(description="some span has this session id")] = None,
        tag: Annotated[str | None, QueryParameter(description="some span carries this tag")] = None,
        q: Annotated[str | None, QueryParameter(description="text in any span's input or output")] = None,
        limit: Annotated[int | None, QueryParameter(
            description="most rows (default and maximum: the export_max_rows setting)")] = None,
    ) -> Stream:
        """The traces ``GET /api/traces`` lists for the same filters (newest first, one row per
        trace with its totals), as JSON lines or CSV, streamed page by page; at most
        ``limit`` rows, capped by the collector's ``export_max_rows`` setting (the cap is in
        the ``X-Spyglass-Row-Cap`` header)."""
        kind_ = parse_choice(format, "format", FORMATS) or "jsonl"
        cap = request.app.state.settings.export_max_rows
        if limit is not None:
            if limit < 1:
                raise BadParameter("limit", "must be at least 1")
            cap = min(cap, limit)
        query = TraceQuery(
            project=project_scope, since_ns=_ns(window.since), until_ns=_ns(window.until),
            span_equals=[(c, v) for c, v in (("name", name), ("kind", kind), ("model", model),
                                             ("user_id", user_id), ("session_id", session_id)) if v],
            tag=tag or None, text=q or None, status=parse_choice(status, "status", STATUSES),
            after=_after(None))
        pages = _pages(storage_of(request), query, cap)
        media = "application/x-ndjson" if kind_ == "jsonl" else "text/csv; charset=utf-8"
        return Stream(_jsonl(pages) if kind_ == "jsonl" else _csv(pages), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="traces.{kind_}"',
            "X-Spyglass-Row-Cap": str(cap)})


ROUTES = [ExportController]
