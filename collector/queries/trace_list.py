"""The trace list: one page of traces, newest first, without aggregating the whole table.

A trace's start is the start of its earliest span. Pages are found by walking time
windows backwards from the newest span (1 h, then 4x wider each step, jumping over empty
stretches), so the first page usually reads only the last hour of one project, which the
``spans`` sort key (project, hour, trace) makes cheap:

1. *candidates*: traces whose earliest span inside the window starts in it, matching the
   filters, after the cursor; filters are exact because they test every span of the
   trace from the window's start on (``trace_id IN (SELECT ...)``).
2. *true start*: ``trace_index`` (maintained at ingest) gives each candidate's real
   first span; a trace that began before the window belongs to an older window and is
   dropped here, so no trace appears on two pages.
3. *summaries*: totals for the page's traces only, read within their time range and
   deduplicated per span (``LIMIT 1 BY``, the newest copy: what ``FINAL`` would keep) on
   the few rows of those traces, not with ``FINAL`` over every part of those hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.queries.rollups import newest_start_ns
from collector.queries.text import text_condition

FIRST_WINDOW_NS = 3600 * 10**9
GROWTH = 4


@dataclass
class TraceQuery:
    """What a trace-list page asks for. Times are ns since the epoch."""

    project: str | None
    since_ns: int | None = None
    until_ns: int | None = None
    # (column, value) pairs that some span of the trace must match.
    span_equals: list[tuple[str, str]] = field(default_factory=list)
    tag: str | None = None
    text: str | None = None
    status: str | None = None  # ok | error | unset, of the trace as a whole
    after: tuple[int, str] | None = None  # keyset: (start_ns, trace_id) of the last row shown
    limit: int = 50


class _Sql:
    """Parameter numbering shared by every fragment of one statement."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def p(self, value: Any, type_: str) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{type_}}}"


def _ns(sql: _Sql, value: int) -> str:
    return f"fromUnixTimestamp64Nano({sql.p(value, 'Int64')}, 'UTC')"


def _span_conditions(q: TraceQuery, sql: _Sql, lo: int) -> list[str]:
    """``trace_id IN (...)`` tests for the filters, over spans from ``lo`` on."""
    base = "SELECT trace_id FROM spans WHERE "
    scope = [f"start_time >= {_ns(sql, lo)}"]
    if q.project is not None:
        scope.append(f"project = {sql.p(q.project, 'String')}")
    where = " AND ".join(scope)
    out = []
    for column, value in q.span_equals:
        out.append(f"trace_id IN ({base}{where} AND {column} = {sql.p(value, 'String')})")
    if q.tag:
        out.append(f"trace_id IN ({base}{where} AND has(tags, {sql.p(q.tag, 'String')}))")
    if q.text:
        out.append(f"trace_id IN ({base}{where} AND {text_condition(q.text, sql.p)})")
    errors = f"trace_id IN ({base}{where} AND status = 'error')"
    oks = f"trace_id IN ({base}{where} AND status = 'ok')"
    if q.status == "error":
        out.append(errors)
    elif q.status == "ok":
        out += [f"NOT {errors}", oks]
    elif q.status == "unset":
        out += [f"NOT {errors}", f"NOT {oks}"]
    return out


def _newest_start(storage: Any, q: TraceQuery, below: int | None) -> int | None:
    """An upper bound (ns) of the newest start of a trace this query can list, before
    ``below`` and not before ``since``; None if there is none (a window topped by a bound
    slightly too high is still exact).

    Without filters: the newest span start, from ``span_minutes`` (a few rows per minute
    instead of every span of the project). With a filter that some span must match: the
    newest start of a span matching it — a listed trace starts at or before its matching
    span — so a rare match (a text search) is reached in one step instead of walking
    windows over the hours that hold none."""
    sql = _Sql()
    one = _one_filter(q, sql)
    if one is None:
        return newest_start_ns(storage, q.project, below, q.since_ns)
    where = [one]
    if q.project is not None:
        where.append(f"project = {sql.p(q.project, 'String')}")
    if below is not None:
        where.append(f"start_time < {_ns(sql, below)}")
    if q.since_ns is not None:
        where.append(f"start_time >= {_ns(sql, q.since_ns)}")
    row = storage.query(f"SELECT count() AS n, toUnixTimestamp64Nano(max(start_time)) AS m "
                        f"FROM spans WHERE {' AND '.join(where)}", sql.params)[0]
    return int(row["m"]) if int(row["n"]) else None


def _one_filter(q: TraceQuery, sql: _Sql) -> str | None:
    """One condition every listed trace has a span matching (the most selective kind
    first), or None without such a filter."""
    if q.text:
        return text_condition(q.text, sql.p)
    if q.span_equals:
        column, value = q.span_equals[0]
        return f"{column} = {sql.p(value, 'String')}"
    if q.tag:
        return f"has(tags, {sql.p(q.tag, 'String')})"
    if q.status == "error":
        return "status = 'error'"
    return None


def _candidates(storage: Any, q: TraceQuery, lo: int, top: int, k: int) -> list[dict[str, Any]]:
    """Up to ``k`` (project, trace_id, start_ns) whose earliest span in ``[lo, top)`` starts
    there, newest first, matching the filters and the cursor."""
    sql = _Sql()
    where = [f"start_time >= {_ns(sql, lo)}", f"start_time < {_ns(sql, top)}"]
    if q.project is not None:
        where.insert(0, f"project = {sql.p(q.project, 'String')}")
    where += _span_conditions(q, sql, lo)
    having = ""
    if q.after is not None:
        having = (f"HAVING (start_ns, trace_id) < ({sql.p(q.after[0], 'Int64')}, "
                  f"{sql.p(q.after[1], 'String')})")
    return storage.query(
        "SELECT project, trace_id, toUnixTimestamp64Nano(min(start_time)) AS start_ns "
        f"FROM spans WHERE {' AND '.join(where)} GROUP BY project, trace_id {having} "
        f"ORDER BY start_ns DESC, trace_id DESC LIMIT {k}", sql.params)


def _extents(storage: Any, rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """``(project, trace_id) -> (first span start, last span start)`` from trace_index."""
    if not rows:
        return {}
    sql = _Sql()
    ids = sql.p(sorted({r["trace_id"] for r in rows}), "Array(String)")
    found = storage.query(
        "SELECT project, trace_id, toUnixTimestamp64Nano(min(start_min)) AS s, "
        f"toUnixTimestamp64Nano(max(start_max)) AS e FROM trace_index WHERE trace_id IN {ids} "
        "GROUP BY project, trace_id", sql.params)
    return {(r["project"], r["trace_id"]): (int(r["s"]), int(r["e"])) for r in found}


def find_page(storage: Any, q: TraceQuery) -> tuple[list[tuple[str, str, int]], dict]:
    """``limit + 1`` (project, trace_id, start_ns) newest first (the extra one tells the
    caller there is a next page), and the trace extents read on the way."""
    need = q.limit + 1
    page: list[tuple[str, str, int]] = []
    extents: dict[tuple[str, str], tuple[int, int]] = {}
    bound = q.until_ns
    if q.after is not None:
        bound = q.after[0] + 1 if bound is None else min(bound, q.after[0] + 1)
    newest = _newest_start(storage, q, bound)
    width = FIRST_WINDOW_NS
    while newest is not None and len(page) < need:
        top = newest + 1
        lo = top - width
        if q.since_ns is not None and lo <= q.since_ns:
            lo = q.since_ns
        k = need - len(page)
        dropped: list[int] = []
        while True:
            rows = _candidates(storage, q, lo, top, k)
            spans_of = _extents(storage, rows)
            extents.update(spans_of)
            # A trace that began before the window shows up again in an older one.
            kept = [r for r in rows
                    if spans_of.get((r["project"], r["trace_id"]), (lo,))[0] >= lo]
            dropped = [first for r in rows
                       if (first := spans_of.get((r["project"], r["trace_id"]), (lo,))[0]) < lo]
            if len(kept) >= need - len(page) or len(rows) < k:
                break
            k *= 2  # some rows were dropped and the window may hold more: look further
        page += [(r["project"], r["trace_id"], int(r["start_ns"])) for r in kept]
        if len(page) >= need or (q.since_ns is not None and lo <= q.since_ns):
            break
        # Traces starting before lo: those dropped above (their start is known), and those
        # whose matching span is older than lo (found by _newest_start with the filter).
        newest = max([n for n in (_newest_start(storage, q, lo), *dropped) if n is not None],
                     default=None)
        width *= GROWTH
    return page[:need], extents


SUMMARY_SQL = """
SELECT
    project AS t_project,
    trace_id,
    toUnixTimestamp64Micro(min(start_time)) AS t_start_us,
    toUnixTimestamp64Micro(max(end_time)) AS t_end_us,
    count() AS t_span_count,
    countIf(status = 'error') AS t_error_count,
    countIf(status = 'ok') AS t_ok_count,
    argMinIf(name, start_time, parent_span_id = '') AS t_root_name,
    argMin(name, start_time) AS t_first_name,
    sum(input_tokens) AS t_input_tokens,
    sum(output_tokens) AS t_output_tokens,
    sum(cost_usd) AS t_cost_usd,
    sumMapIf([model], [toUInt64(1)], kind = 'llm' AND model != '') AS t_llm_models,
    sumMapIf([model], [toUInt64(1)], model != '') AS t_models,
    anyIf(user_id, user_id != '') AS t_user_id,
    anyIf(session_id, session_id != '') AS t_session_id,
    arraySort(groupUniqArrayArray(tags)) AS t_tags
FROM (
    SELECT project, trace_id, span_id, parent_span_id, name, kind, start_time, end_time, status,
           input_tokens, output_tokens, cost_usd, model, user_id, session_id, tags
    FROM spans
    PREWHERE trace_id IN {{ids:Array(String)}}
    WHERE start_time >= fromUnixTimestamp64Nano({{lo:Int64}}, 'UTC')
      AND start_time <= fromUnixTimestamp64Nano({{hi:Int64}}, 'UTC')
      {project}
    ORDER BY ingested_at DESC
    LIMIT 1 BY project, trace_id, span_id
)
GROUP BY project, trace_id
"""


def ranked_models(row: dict[str, Any]) -> list[str]:
    """The models of a trace's LLM spans, most-used first (ties by name); when it has no
    LLM span with a model, those of its other spans (embeddings, ...)."""
    for column in ("t_llm_models", "t_models"):
        value = row.get(column)
        if isinstance(value, dict):  # a tuple of arrays may arrive as {"1": keys, "2": counts}
            value = list(value.values())
        if value and len(value) == 2 and value[0]:
            names, counts = value
            pairs = sorted(zip(names, (int(c) for c in counts), strict=False),
                           key=lambda p: (-p[1], p[0]))
            return [name for name, _ in pairs]
    return []


def summaries(storage: Any, page: list[tuple[str, str, int]],
              extents: dict[tuple[str, str], tuple[int, int]]) -> list[dict[str, Any]]:
    """Totals of each trace on ``page``, in page order."""
    if not page:
        return []
    spans = [extents.get((p, t), (s, s)) for p, t, s in page]
    projects = sorted({p for p, _, _ in page})
    params: dict[str, Any] = {"lo": min(s for s, _ in spans), "hi": max(e for _, e in spans),
                              "ids": sorted({t for _, t, _ in page}), "projects": projects}
    rows = storage.query(SUMMARY_SQL.format(
        project="AND project IN {projects:Array(String)}"), params)
    by_key = {(r["t_project"], r["trace_id"]): r for r in rows}
    return [by_key[(p, t)] for p, t, _ in page if (p, t) in by_key]
