"""``GET /api/values/{field}``: the distinct values of a column, for filter pickers."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import FromPath, QueryParameter

from collector.queries.access import storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange, query_get
from collector.queries.errors import BadParameter
from collector.queries.params import parse_limit
from collector.queries.sql import SPANS, Filters, as_int
from common.wire.stats import Value, Values

# field -> the expression producing its values (tags are an array: one row per tag).
FIELDS = {
    "name": "name",
    "kind": "kind",
    "model": "model",
    "provider": "provider",
    "status": "status",
    "user_id": "user_id",
    "session_id": "session_id",
    "tag": "arrayJoin(tags)",
}


class ValuesController(QueryController):
    """Distinct values of the filterable span columns."""

    path = "/api/values"
    tags = ["values"]

    @query_get("/{field:str}")
    def values(
        self,
        request: Request[Any, Any, Any],
        field: FromPath[str],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        q: Annotated[str | None, QueryParameter(
            description="only values containing this text (case-insensitive)")] = None,
        limit: Annotated[int | None, QueryParameter(description="1-1000, default 100")] = None,
    ) -> Values:
        """Distinct values of one of ``name, kind, model, provider, status, user_id,
        session_id, tag`` with their span counts, most frequent first, over spans starting
        in ``since``/``until`` (default: all time)."""
        if field not in FIELDS:
            raise BadParameter("field", f"must be one of {', '.join(FIELDS)}, got {field!r}")
        page = parse_limit(limit, 100, 1000)
        where = Filters()
        where.eq("project", project_scope)
        where.time_range("start_time", window.since, window.until)
        having = Filters(prefix="h")
        having.add("value != ''")
        if q:
            having.add(f"positionCaseInsensitiveUTF8(value, {having.param(q, 'String')}) > 0")
        # Counting duplicates of a retried batch would only skew counts slightly, but reads
        # stay deduplicated everywhere for consistency with the other routes.
        rows = storage_of(request).query(
            f"SELECT toString({FIELDS[field]}) AS value, count() AS count FROM {SPANS} "
            f"{where.sql()} GROUP BY value {having.sql('HAVING')} "
            f"ORDER BY count DESC, value LIMIT {page}",
            {**where.params, **having.params})
        return Values(field=field, values=[Value(value=r["value"], count=as_int(r["count"]))
                                          for r in rows])


ROUTES = [ValuesController]
