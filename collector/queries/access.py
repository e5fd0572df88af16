"""What a request may read: the storage it reads from and the project it is confined to."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from collector.auth import key_project
from collector.queries.errors import ApiError


def storage_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    """The app's :class:`collector.storage.Storage` (set up by ``create_app``)."""
    return connection.app.state.storage


def scoped_project(connection: ASGIConnection[Any, Any, Any, Any], project: str | None) -> str | None:
    """The project a query may read: the key's project when the request came with a key
    (403 if ``project`` names another), else ``project`` as given (None = every project)."""
    forced = key_project(connection.scope)
    if forced is None:
        return project or None
    if project and project != forced:
        raise ApiError(f"invalid parameter 'project': this API key belongs to project "
                       f"'{forced}' and cannot access project '{project}'", 403)
    return forced
