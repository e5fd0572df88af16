"""One base for the query API's controllers, and the parameters they share.

Every controller under ``/api`` answers errors as ``{"error": ...}`` JSON, rejects query
parameters its route does not take (a misspelt filter is a 400, never unfiltered results)
and documents its error answers. The parameters most routes take are declared once, here,
as dependencies a handler asks for by name:

- ``project_scope``: the ``project`` parameter, confined to the request's API key;
- ``window``: ``since``/``until`` as a :class:`TimeRange` (either end may be open);
- ``buckets``: ``since``/``until``/``bucket`` of the charts as :class:`Buckets`.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from collector.queries.access import scoped_project
from collector.queries.buckets import Buckets, parse_buckets
from collector.queries.errors import COMMON_ERRORS, EXCEPTION_HANDLERS, reject_unknown_parameters
from collector.queries.params import TimeRange, parse_range

__all__ = ["Buckets", "NamedDependency", "QueryController", "TimeRange", "query_get"]

ProjectParam = Annotated[str | None, QueryParameter(
    description="only this project (with an API key: the key's project; another is a 403)")]
SinceParam = Annotated[str | None, QueryParameter(
    description="start of the range: RFC 3339 (2026-01-02T03:04:05Z) or relative (-24h, -30m, -7d)")]
UntilParam = Annotated[str | None, QueryParameter(
    description="end of the range (exclusive): RFC 3339 or relative; default now")]
ChartSinceParam = Annotated[str | None, QueryParameter(
    description="RFC 3339 or relative (-24h); default 24 h before until")]
BucketParam = Annotated[str | None, QueryParameter(
    description="bucket width: 60s, 5m, 1h, 1d; default chosen from the range")]


def provide_project_scope(request: Request[Any, Any, Any], project: ProjectParam = None) -> str | None:
    """The project the request may read: its key's (403 for another) or ``project``."""
    return scoped_project(request, project)


def provide_window(since: SinceParam = None, until: UntilParam = None) -> TimeRange:
    """``since``/``until`` parsed together; 400 names a bad one or an inverted range."""
    return parse_range(since, until)


def provide_buckets(since: ChartSinceParam = None, until: UntilParam = None,
                    bucket: BucketParam = None) -> Buckets:
    """The charts' range and buckets; 400 names the bad parameter."""
    return parse_buckets(since, until, bucket)


class QueryController(Controller):
    """Base of every query-API controller: JSON errors, unknown parameters rejected, and
    the shared ``project_scope``/``window``/``buckets`` dependencies."""

    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    dependencies = {
        "project_scope": Provide(provide_project_scope, sync_to_thread=False),
        "window": Provide(provide_window, sync_to_thread=False),
        "buckets": Provide(provide_buckets, sync_to_thread=False),
    }


def query_get(path: str, *, responses: dict[int, Any] | None = None, **kwargs: Any) -> Any:
    """``@get`` as query routes use it: run in a worker thread (the storage calls block)
    and document the errors every query route can answer with (or ``responses``)."""
    return get(path, sync_to_thread=True, responses=responses or COMMON_ERRORS, **kwargs)
