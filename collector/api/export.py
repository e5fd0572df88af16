"""``GET /api/export/traces`` and ``/api/export/spans``: what the trace list's or the span
search's filter shows (one trace's spans with ``trace_id``), as JSONL, CSV or Parquet,
streamed page by page (a Parquet row group per page), capped at ``export_max_rows``."""

from __future__ import annotations

import csv
import io
import types
import typing
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from collector.api.spans import SpanSearch, position_of, span_item
from collector.api.traces import STATUSES, _after, _ns, _summary
from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange
from collector.queries.errors import COMMON_ERRORS, BadParameter
from collector.queries.params import parse_choice
from collector.queries.trace_list import TraceQuery, find_page, summaries
from common.wire.traces import SpanItem, TraceSummary

FORMATS = ("jsonl", "csv", "parquet")
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
         "parquet": "application/vnd.apache.parquet"}
PAGE = 500
# Span fields holding JSON values (chat messages, attribute maps): JSON text in CSV and
# Parquet cells, so every row has the same flat columns.
JSON_FIELDS = frozenset({"input", "output", "metadata", "attributes", "events", "resource"})
_json = msgspec.json.Encoder()


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


def _span_pages(storage: Any, search: SpanSearch, cap: int) -> Iterator[list[SpanItem]]:
    """Spans page by page (the span search's keyset walk), at most ``cap`` rows."""
    left, after = cap, None
    while left > 0:
        rows, more = search.page(storage, after, min(PAGE, left))
        if not rows:
            return
        yield [span_item(r) for r in rows]
        left -= len(rows)
        if not more:
            return
        after = position_of(rows[-1])


def _cell(name: str, value: Any) -> Any:
    """A value as a flat CSV/Parquet cell: JSON fields as JSON text, lists joined by ';'."""
    if name in JSON_FIELDS:
        return None if value is None else _json.encode(value).decode()
    return value


def _jsonl(pages: Iterator[list[TraceSummary]]) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    for page in pages:
        yield b"".join(encoder.encode(row) + b"\n" for row in page)


def _csv(pages: Iterator[list[Any]], struct: type = TraceSummary) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = struct.__struct_fields__
    writer.writerow(names)
    for page in pages:
        for row in page:
            values = [_cell(n, v) for n, v in zip(names, msgspec.structs.astuple(row), strict=True)]
            writer.writerow([";".join(v) if isinstance(v, list) else ("" if v is None else v) for v in values])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _arrow_type(name: str, hint: Any) -> Any:
    import pyarrow as pa

    if name in JSON_FIELDS:
        return pa.string()
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]
    if typing.get_origin(hint) is list:
        return pa.list_(pa.string())
    if name.endswith("_time"):
        return pa.timestamp("us", tz="UTC")
    return {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}.get(hint, pa.string())


def arrow_schema(struct: type) -> Any:
    """The Parquet schema of a wire Struct: its fields in order, times as UTC timestamps
    (µs), lists of text as lists, numbers as int64/float64; every column nullable."""
    import pyarrow as pa

    hints = typing.get_type_hints(struct)
    return pa.schema([pa.field(n, _arrow_type(n, hints[n])) for n in struct.__struct_fields__])


class _Chunks:
    """A write-only file for ParquetWriter that hands what was written to the response."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _parquet(pages: Iterator[list[Any]], struct: type = TraceSummary) -> Iterator[bytes]:
    """Parquet, a row group per page, each yielded as soon as it is written (the footer
    last): memory stays at one page whatever the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(struct)
    times = [f.name for f in schema if pa.types.is_timestamp(f.type)]
    sink = _Chunks()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for page in pages:
            columns: dict[str, list[Any]] = {name: [] for name in schema.names}
            for row in page:
                for name, value in zip(schema.names, msgspec.structs.astuple(row), strict=True):
                    columns[name].append(_cell(name, value))
            for name in times:
                columns[name] = [datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None
                                 for v in columns[name]]
            writer.write_table(pa.table(columns, schema=schema))
            yield sink.take()
    yield sink.take()


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
        format: Annotated[str | None, QueryParameter(description="jsonl (default) | csv | parquet")] = None,
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
        trace with its totals), as JSON lines, CSV or Parquet (a row group per page of 500,
        times as UTC timestamps, zstd), streamed page by page; at most
        ``limit`` rows, capped by the collector's ``export_max_rows`` setting (the cap is in
        the ``X-Spyglass-Row-Cap`` header)."""
        kind_ = parse_choice(format, "format", FORMATS) or "jsonl"
        cap = _cap(request, limit)
        query = TraceQuery(
            project=project_scope, since_ns=_ns(window.since), until_ns=_ns(window.until),
            span_equals=[(c, v) for c, v in (("name", name), ("kind", kind), ("model", model),
                                             ("user_id", user_id), ("session_id", session_id)) if v],
            tag=tag or None, text=q or None, status=parse_choice(status, "status", STATUSES),
            after=_after(None))
        pages = _pages(storage_of(request), query, cap)
        body = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[kind_](pages)
        return Stream(body, media_type=MEDIA[kind_], headers={
            "Content-Disposition": f'attachment; filename="traces.{kind_}"',
            "X-Spyglass-Row-Cap": str(cap)})


    @get("/spans", sync_to_thread=True, responses=COMMON_ERRORS)
    def export_spans(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        format: Annotated[str | None, QueryParameter(description="jsonl (default) | csv | parquet")] = None,
        name: Annotated[str | None, QueryParameter(description="span name")] = None,
        kind: Annotated[str | None, QueryParameter(description="span kind")] = None,
        model: Annotated[str | None, QueryParameter(description="model")] = None,
        status: Annotated[str | None, QueryParameter(description="ok | error | unset")] = None,
        trace_id: Annotated[str | None, QueryParameter(description="one trace's spans")] = None,
        user_id: Annotated[str | None, QueryParameter(description="user id")] = None,
        session_id: Annotated[str | None, QueryParameter(description="session id")] = None,
        tag: Annotated[str | None, QueryParameter(description="the span carries this tag")] = None,
        order: Annotated[str | None, QueryParameter(
            description="desc (newest first, default) | asc")] = None,
        limit: Annotated[int | None, QueryParameter(
            description="most rows (default and maximum: the export_max_rows setting)")] = None,
    ) -> Stream:
        """The spans ``GET /api/spans`` finds for the same filters (by start time, newest
        first unless ``order=asc``), every column, as JSON lines, CSV or Parquet (JSON values
        such as input, output and attributes as JSON text in CSV and Parquet cells), streamed
        page by page; at most ``limit`` rows, capped by ``export_max_rows``
        (``X-Spyglass-Row-Cap``). ``trace_id`` exports one trace."""
        kind_ = parse_choice(format, "format", FORMATS) or "jsonl"
        cap = _cap(request, limit)
        search = SpanSearch.of(project_scope, window, name=name, kind=kind, model=model,
                               status=status, trace_id=trace_id, user_id=user_id,
                               session_id=session_id, tag=tag,
                               direction=parse_choice(order, "order", ("asc", "desc")) or "desc")
        pages = _span_pages(storage_of(request), search, cap)
        body = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[kind_]
        stream = body(pages) if kind_ == "jsonl" else body(pages, SpanItem)
        filename = f"trace-{trace_id.strip().lower()}" if trace_id else "spans"
        return Stream(stream, media_type=MEDIA[kind_], headers={
            "Content-Disposition": f'attachment; filename="{filename}.{kind_}"',
            "X-Spyglass-Row-Cap": str(cap)})


def _cap(request: Request[Any, Any, Any], limit: int | None) -> int:
    """Rows an export may stream: ``limit`` within the collector's ``export_max_rows``."""
    cap = request.app.state.settings.export_max_rows
    if limit is not None:
        if limit < 1:
            raise BadParameter("limit", "must be at least 1")
        cap = min(cap, limit)
    return cap


ROUTES = [ExportController]
