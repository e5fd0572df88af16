"""``GET /api/projects`` (projects that hold spans or have an API key) and the key
management routes ``/api/admin/keys`` that ``spyglass keys`` uses with embedded storage."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Body

from collector.auth import AuthError, KeyRecord, KeyStore, invalidate_key_caches, key_project
from collector.queries.access import storage_of
from collector.queries.errors import (
    EXCEPTION_HANDLERS,
    BadParameter,
    NotFound,
    error_responses,
    reject_unknown_parameters,
)
from collector.queries.sql import SPANS, Filters, as_int, rfc3339_from_micros


class Project(msgspec.Struct, kw_only=True):
    """A project and its volume; times are RFC 3339 (None when it has no span yet)."""

    name: str
    span_count: int
    trace_count: int
    first_seen: str | None
    last_seen: str | None


class Projects(msgspec.Struct, kw_only=True):
    """Projects sorted by most recent activity."""

    projects: list[Project]


class ProjectsController(Controller):
    """Projects: the top-level partition of all data."""

    path = "/api/projects"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["projects"]

    @get("/", sync_to_thread=True, responses=error_responses(401))
    def list_projects(self, request: Request[Any, Any, Any]) -> Projects:
        """Every project with its span and trace counts and last span start; with an API
        key, only the key's project (listed even before its first span)."""
        forced = key_project(request.scope)
        where = Filters()
        where.eq("project", forced)
        storage = storage_of(request)
        rows = storage.query(
            "SELECT project, count() AS span_count, "
            "toUnixTimestamp64Micro(min(start_time)) AS first_us, "
            "toUnixTimestamp64Micro(max(start_time)) AS last_us "
            f"FROM {SPANS} {where.sql()} GROUP BY project", where.params)
        # trace_index holds one row per trace (per insert, until merged): far fewer rows
        # to count distinct ids over than the spans table.
        traces = {r["project"]: as_int(r["n"]) for r in storage.query(
            f"SELECT project, uniqExact(trace_id) AS n FROM trace_index {where.sql()} "
            "GROUP BY project", where.params)}
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


class KeyOut(msgspec.Struct, kw_only=True):
    """An API key as stored (never the key itself)."""

    key_id: str
    project: str
    name: str
    created_at: str
    revoked_at: str | None


class NewKey(KeyOut, kw_only=True):
    """A key just created: ``key`` is shown this once and stored only as a hash."""

    key: str


class KeyList(msgspec.Struct, kw_only=True):
    """Every key, newest first, revoked ones included."""

    keys: list[KeyOut]


def _key_out(record: KeyRecord) -> KeyOut:
    return KeyOut(key_id=record.key_id, project=record.project, name=record.name,
                  created_at=record.created_at, revoked_at=record.revoked_at)


class KeysAdminController(Controller):
    """Key management for `spyglass keys` while an embedded-storage collector runs.

    Reachable only from loopback with the collector's admin token (header
    ``X-Spyglass-Admin-Token``, from ``admin.token`` in its data directory); an API key
    never grants it."""

    path = "/api/admin/keys"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["admin"]

    @post("/", sync_to_thread=True, status_code=201, responses=error_responses(400, 401))
    def create_key(self, request: Request[Any, Any, Any],
                   data: Annotated[dict[str, Any], Body(
                       description="project (required) and name (optional label)")]) -> NewKey:
        """Create a key for a project; the answer carries the key, shown only this once."""
        project = data.get("project") if isinstance(data, dict) else None
        name = data.get("name", "") if isinstance(data, dict) else ""
        if not isinstance(project, str) or not isinstance(name, str):
            raise BadParameter("project", "a project name (string) is required")
        try:
            key, record = KeyStore(storage_of(request)).create(project, name)
        except AuthError as exc:
            raise BadParameter("project", str(exc)) from None
        invalidate_key_caches()
        return NewKey(key=key, **msgspec.structs.asdict(_key_out(record)))

    @get("/", sync_to_thread=True, responses=error_responses(401))
    def list_keys(self, request: Request[Any, Any, Any]) -> KeyList:
        """Every key with its project and dates."""
        return KeyList(keys=[_key_out(r) for r in KeyStore(storage_of(request)).list()])

    @post("/{key_id:str}/revoke", sync_to_thread=True, status_code=200,
          responses=error_responses(401, 404))
    def revoke_key(self, request: Request[Any, Any, Any], key_id: str) -> KeyOut:
        """Revoke a key; it stops working at once. 404 for an unknown or revoked key."""
        try:
            record = KeyStore(storage_of(request)).revoke(key_id)
        except AuthError as exc:
            raise NotFound(str(exc)) from None
        invalidate_key_caches()
        return _key_out(record)


ROUTES = [ProjectsController, KeysAdminController]
