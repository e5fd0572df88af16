"""``GET /api/values/{field}``: the distinct values of a column, for filter pickers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import (
    COMMON_ERRORS,
    EXCEPTION_HANDLERS,
    BadParameter,
    reject_unknown_parameters,
)
from collector.queries.params import parse_limit, parse_range
from collector.queries.sql import SPANS, TIME_TYPE, Filters, as_int, to_ch_time

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


class Value(msgspec.Struct, kw_only=True):
    """One distinct value and how many spans carry it."""

    value: str
    count: int


class Values(msgspec.Struct, kw_only=True):
    """Distinct non-empty values of ``field``, most frequent first."""

    field: str
    values: list[Value]


class ValuesController(Controller):
    """Distinct values of the filterable span columns."""

    path = "/api/values"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["values"]

    @get("/{field:str}", sync_to_thread=True, responses=COMMON_ERRORS)
    def values(
        self,
        request: Request[Any, Any, Any],
        field: str,
        project: str | None = None,
        since: str | None = Parameter(default=None, description="RFC 3339 or relative; default all time"),
        until: str | None = None,
        q: str | None = Parameter(default=None, description="only values containing this text (case-insensitive)"),
        limit: int | None = Parameter(default=None, description="1-1000, default 100"),
    ) -> Values:
        """Distinct values of one of ``name, kind, model, provider, status, user_id,
        session_id, tag`` with their span counts, most frequent first."""
        if field not in FIELDS:
            raise BadParameter("field", f"must be one of {', '.join(FIELDS)}, got {field!r}")
        page = parse_limit(limit, 100, 1000)
        window = parse_range(since, until)
        where = Filters()
        where.eq("project", scoped_project(request, project))
        if window.since is not None:
            where.add(f"start_time >= {where.param(to_ch_time(window.since), TIME_TYPE)}")
        if window.until is not None:
            where.add(f"start_time < {where.param(to_ch_time(window.until), TIME_TYPE)}")
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
