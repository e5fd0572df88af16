"""``/api/admin/projects``: per-project retention for `spyglass projects ttl` while a
collector runs (guarded by the admin token like ``/api/admin/keys``). Setting it through
the running collector also updates the TTL its ingest stamps on new spans at once."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, put
from litestar.params import FromPath, JSONBody

from collector.queries.controller import QueryController
from collector.queries.errors import error_responses
from common.wire.projects import ProjectRetention, RetentionList, RetentionRequest


class ProjectsAdminController(QueryController):
    """Retention per project. Reachable only from loopback with the collector's admin
    token (header ``X-Spyglass-Admin-Token``); an API key never grants it."""

    path = "/api/admin/projects"
    tags = ["admin"]

    @get("/retention", sync_to_thread=True, responses=error_responses(401))
    def list_retention(self, request: Request[Any, Any, Any]) -> RetentionList:
        """The default retention and every project's own."""
        return request.app.state.project_settings.retention()

    @put("/{project:str}/retention", sync_to_thread=True, responses=error_responses(400, 401))
    def set_retention(self, request: Request[Any, Any, Any], project: FromPath[str],
                      data: JSONBody[RetentionRequest]) -> ProjectRetention:
        """Keep ``project``'s spans ``ttl_days`` days (0 = forever), stored ones included."""
        request.app.state.project_settings.set_ttl_days(project, data.ttl_days)
        return ProjectRetention(project=project, ttl_days=data.ttl_days, explicit=True)


ROUTES = [ProjectsAdminController]
