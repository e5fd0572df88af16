"""``/api/admin/keys``: the key management routes ``spyglass keys`` uses while a collector
holds the embedded data directory (guarded by the admin token, collector/auth/admin.py)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Body

from collector.auth import AuthError, KeyRecord, KeyStore, invalidate_key_caches
from collector.queries.access import storage_of
from collector.queries.errors import (
    EXCEPTION_HANDLERS,
    BadParameter,
    NotFound,
    error_responses,
    reject_unknown_parameters,
)


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


ROUTES = [KeysAdminController]
