"""``GET /api/projects``: projects that hold spans or have an API key."""

from __future__ import annotations

from typing import Any

from litestar import Request

from collector.auth import key_project
from collector.queries.access import storage_of
from collector.queries.controller import QueryController, query_get
from collector.queries.errors import error_responses
from collector.queries.sql import Filters, as_int, rfc3339_from_micros
from common.wire.projects import Project, Projects


class ProjectsController(QueryController):
    """Projects: the top-level partition of all data."""

    path = "/api/projects"
    tags = ["projects"]

    @query_get("/", responses=error_responses(401))
    def list_projects(self, request: Request[Any, Any, Any]) -> Projects:
        """Every project with its span and trace counts and last span start; with an API
        key, only the key's project (listed even before its first span)."""
        forced = key_project(request.scope)
        where = Filters()
        where.eq("project", forced)
        storage = storage_of(request)
        # From span_minutes (migration 0013): a few rows per project and minute instead of
        # every span; distinct spans per minute (a span's copies share its minute) summed,
        # distinct traces over all minutes.
        rows = storage.query(
            "SELECT project, sum(spans) AS span_count, uniqExactMerge(traces) AS trace_count, "
            "toUnixTimestamp64Micro(min(first)) AS first_us, "
            "toUnixTimestamp64Micro(max(last)) AS last_us FROM ("
            "SELECT project, uniqExactMerge(span_keys) AS spans, "
            "uniqExactMergeState(trace_keys) AS traces, min(first_start) AS first, "
            f"max(last_start) AS last FROM span_minutes {where.sql()} GROUP BY project, minute) "
            "GROUP BY project HAVING span_count > 0", where.params)
        traces = {r["project"]: as_int(r["trace_count"]) for r in rows}
        found = {r["project"]: Project(name=r["project"], span_count=as_int(r["span_count"]),
                                       trace_count=traces.get(r["project"], 0),
                                       first_seen=rfc3339_from_micros(r["first_us"]),
                                       last_seen=rfc3339_from_micros(r["last_us"]))
                 for r in rows}
        key_where = Filters()
        key_where.eq("project", forced)
        key_where.add("isNull(revoked_at)")
        for row in storage.query(f"SELECT DISTINCT project FROM api_keys FINAL {key_where.sql()}",
                                 key_where.params):
            found.setdefault(row["project"], Project(name=row["project"], span_count=0,
                                                     trace_count=0, first_seen=None, last_seen=None))
        ordered = sorted(found.values(), key=lambda p: (p.last_seen or "", p.name), reverse=True)
        return Projects(projects=ordered)


ROUTES = [ProjectsController]
