"""``GET /api/spans``: span search with keyset pagination in either direction.

Online monitors walk new spans with ``order=asc`` (and ``sort=ingested`` to see spans in
the order they arrived, so a late span is never skipped); the console searches spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.params import FromQuery, QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange, query_get
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.params import parse_choice, parse_hex_id, parse_limit
from collector.queries.spans import SPAN_SELECT, span_from_row
from collector.queries.sql import SPANS, Filters, as_int, rfc3339_from_micros
from common.wire.traces import SpanItem, SpanList

STATUSES = ("ok", "error", "unset")
# The sort column and the cursor value that names a position in it.
_SORTS = {
    "start": ("start_time", "toUnixTimestamp64Nano(start_time)"),
    "ingested": ("ingested_at", "toUnixTimestamp64Nano(ingested_at)"),
}


class SpansController(QueryController):
    """Span search over every span (not only roots)."""

    path = "/api/spans"
    tags = ["spans"]

    @query_get("/")
    def search_spans(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        name: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        model: FromQuery[str | None] = None,
        status: Annotated[str | None, QueryParameter(description="ok | error | unset")] = None,
        trace_id: FromQuery[str | None] = None,
        user_id: FromQuery[str | None] = None,
        session_id: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        order: Annotated[str | None, QueryParameter(
            description="desc (newest first, default) | asc")] = None,
        sort: Annotated[str | None, QueryParameter(
            description="start (span start time, default) | ingested (arrival order)")] = None,
        limit: Annotated[int | None, QueryParameter(
            description="page size, 1-1000 (default 100)")] = None,
        cursor: Annotated[str | None, QueryParameter(
            description="next_cursor of the previous page")] = None,
    ) -> SpanList:
        """Spans matching every given filter, ordered by start time (or by arrival with
        ``sort=ingested``), newest first unless ``order=asc``; ``since``/``until`` bound the
        start time. Keyset pagination: following ``next_cursor`` visits every matching span
        exactly once; with ``order=asc`` and ``sort=ingested``, a walker that keeps its last cursor sees spans that arrive later
        (ascending pages always return ``next_cursor`` unless empty)."""
        page = parse_limit(limit, 100, 1000)
        direction = parse_choice(order, "order", ("asc", "desc")) or "desc"
        sort_by = parse_choice(sort, "sort", tuple(_SORTS)) or "start"
        search = SpanSearch.of(project_scope, window, name=name, kind=kind, model=model,
                               status=status, trace_id=trace_id, user_id=user_id,
                               session_id=session_id, tag=tag, direction=direction,
                               sort_by=sort_by)
        after = decode_cursor(cursor, search.cursor_kind, (int, str, str))
        rows, more = search.page(storage_of(request), after, page)
        next_cursor = None
        # Ascending walks may continue later, when newer spans have arrived: every
        # non-empty ascending page names its end, and an empty page means "nothing yet".
        if rows and (more or direction == "asc"):
            next_cursor = encode_cursor(search.cursor_kind, list(position_of(rows[-1])))
        return SpanList(spans=[span_item(r) for r in rows], next_cursor=next_cursor)


def position_of(row: dict[str, Any]) -> tuple[int, str, str]:
    """Where ``row`` stands in its search's order (what a cursor names)."""
    return as_int(row["position"]), row["trace_id"], row["span_id"]


def span_item(row: dict[str, Any]) -> SpanItem:
    """A row of :meth:`SpanSearch.page` as the API returns it."""
    return SpanItem(**msgspec.structs.asdict(span_from_row(row)),
                    ingested_at=rfc3339_from_micros(row["ingested_us"]) or "")


@dataclass
class SpanSearch:
    """A span search: its filters (``where``), order and sort column; shared by the
    search route and the span export, so both select exactly the same spans."""

    where: Filters
    direction: str
    sort_by: str

    @classmethod
    def of(cls, project: str | None, window: TimeRange, *, name: str | None, kind: str | None,
           model: str | None, status: str | None, trace_id: str | None, user_id: str | None,
           session_id: str | None, tag: str | None, direction: str = "desc",
           sort_by: str = "start") -> SpanSearch:
        """The search for these filters; 400 (BadParameter) names a bad one."""
        status_ = parse_choice(status, "status", STATUSES)
        where = Filters()
        where.eq("project", project)
        where.time_range("start_time", window.since, window.until)
        for col, value in (("name", name), ("kind", kind), ("model", model), ("status", status_),
                           ("user_id", user_id), ("session_id", session_id)):
            where.eq(col, value)
        if trace_id:
            where.eq("trace_id", parse_hex_id(trace_id, "trace_id", 32))
        if tag:
            where.add(f"has(tags, {where.param(tag, 'String')})")
        return cls(where, direction, sort_by)

    @property
    def cursor_kind(self) -> str:
        """What a cursor of this search is for: one order of one sort column."""
        return f"spans:{self.sort_by}:{self.direction}"

    def page(self, storage: Any, after: tuple[int, str, str] | None,
             size: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``size`` whole rows after position ``after`` (None: from the start), and
        whether more follow."""
        column, position = _SORTS[self.sort_by]
        where = self.where
        if after is not None:
            where = _narrowed(where, None, None)
            op = ">" if self.direction == "asc" else "<"
            where.add(f"({position}, trace_id, span_id) {op} ({where.param(after[0], 'Int64')}, "
                      f"{where.param(after[1], 'String')}, {where.param(after[2], 'String')})")
        # Two steps: order and cut on the narrow key columns, then read whole rows (with
        # their large input/output text) only for the page.
        if self.sort_by == "start":
            keys = _keys_by_windows(storage, where, self.direction, size + 1)
        else:
            keys = _keys(storage, where, column, position, self.direction, size + 1)
        return _rows_for(storage, keys[:size]), len(keys) > size


_KEYS = ("SELECT trace_id, span_id, project, toUnixTimestamp64Nano(start_time) AS start_ns, "
         "{position} AS position FROM {spans} {where} "
         "ORDER BY {column}{desc}, trace_id{desc}, span_id{desc} LIMIT {limit}")
FIRST_WINDOW_NS = 3600 * 10**9
GROWTH = 4


def _keys(storage: Any, where: Filters, column: str, position: str, direction: str,
          limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` span keys matching ``where``, in the requested order."""
    desc = " DESC" if direction == "desc" else ""
    return storage.query(_KEYS.format(position=position, spans=SPANS, where=where.sql(),
                                      column=column, desc=desc, limit=limit), where.params)


def _narrowed(where: Filters, lo: int | None, hi: int | None) -> Filters:
    """``where`` plus ``lo <= start_time < hi`` (ns; either may be None)."""
    out = Filters(prefix=f"w{len(where.params)}_")
    out.clauses = list(where.clauses)
    out.params = dict(where.params)
    if lo is not None:
        out.add(f"start_time >= fromUnixTimestamp64Nano({out.param(lo, 'Int64')}, 'UTC')")
    if hi is not None:
        out.add(f"start_time < fromUnixTimestamp64Nano({out.param(hi, 'Int64')}, 'UTC')")
    return out


def _edge(storage: Any, where: Filters, newest: bool) -> int | None:
    """Start (ns) of the newest (or oldest) span matching ``where``; None if there is none."""
    agg = "max" if newest else "min"
    row = storage.query(f"SELECT count() AS n, toUnixTimestamp64Nano({agg}(start_time)) AS m "
                        f"FROM spans {where.sql()}", where.params)[0]
    return int(row["m"]) if int(row["n"]) else None


def _keys_by_windows(storage: Any, where: Filters, direction: str, limit: int) -> list[dict[str, Any]]:
    """:func:`_keys` ordered by start time, reading one time window after another from the
    end the order starts at (1 h, then 4x wider), and jumping straight over stretches with
    no matching span, so a page near that end never reads the whole table."""
    newest = direction == "desc"
    found: list[dict[str, Any]] = []
    edge = _edge(storage, where, newest)
    width = FIRST_WINDOW_NS
    while edge is not None and len(found) < limit:
        lo, hi = (edge + 1 - width, edge + 1) if newest else (edge, edge + width)
        found += _keys(storage, _narrowed(where, lo, hi), "start_time",
                       "toUnixTimestamp64Nano(start_time)", direction, limit - len(found))
        if len(found) >= limit:
            break
        edge = _edge(storage, _narrowed(where, None, lo) if newest else _narrowed(where, hi, None),
                     newest)
        width *= GROWTH
    return found


def _rows_for(storage: Any, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole rows for ``keys`` (from the first step), in the same order."""
    if not keys:
        return []
    found = storage.query(
        f"SELECT {SPAN_SELECT}, toUnixTimestamp64Micro(ingested_at) AS ingested_us FROM {SPANS} "
        "WHERE project IN {projects:Array(String)} "
        "AND start_time >= fromUnixTimestamp64Nano({lo:Int64}, 'UTC') "
        "AND start_time <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC') "
        "AND trace_id IN {traces:Array(String)} AND span_id IN {spans:Array(String)}",
        {"projects": sorted({k["project"] for k in keys}),
         "lo": min(int(k["start_ns"]) for k in keys), "hi": max(int(k["start_ns"]) for k in keys),
         "traces": sorted({k["trace_id"] for k in keys}),
         "spans": sorted({k["span_id"] for k in keys})})
    by_key = {(r["project"], r["trace_id"], r["span_id"]): r for r in found}
    out = []
    for k in keys:
        row = by_key.get((k["project"], k["trace_id"], k["span_id"]))
        if row is not None:
            out.append({**row, "position": k["position"]})
    return out


ROUTES = [SpansController]
