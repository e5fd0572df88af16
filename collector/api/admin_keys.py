"""``/api/admin/keys``: the key management routes ``spyglass keys`` uses while a collector
holds the embedded data directory (guarded by the admin token, collector/auth/admin.py)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from collector.auth import AuthError, KeyRecord, KeyStore, invalidate_key_caches
from collector.queries.access import storage_of
from collector.queries.controller import QueryController
from collector.queries.errors import BadParameter, NotFound, error_responses
from common.wire.projects import KeyList, KeyOut, KeyRequest, NewKey


def _key_out(record: KeyRecord) -> KeyOut:
    return KeyOut(key_id=record.key_id, project=record.project, name=record.name,
                  created_at=record.created_at, revoked_at=record.revoked_at)


class KeysAdminController(QueryController):
    """Key management for `spyglass keys` while an embedded-storage collector runs.

    Reachable only from loopback with the collector's admin token (header
    ``X-Spyglass-Admin-Token``, from ``admin.token`` in its data directory); an API key
    never grants it."""

    path = "/api/admin/keys"
    tags = ["admin"]

    @post("/", sync_to_thread=True, status_code=201, responses=error_responses(400, 401))
    def create_key(self, request: Request[Any, Any, Any], data: JSONBody[KeyRequest]) -> NewKey:
        """Create a key for a project; the answer carries the key, shown only this once."""
        try:
            key, record = KeyStore(storage_of(request)).create(data.project, data.name)
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
    def revoke_key(self, request: Request[Any, Any, Any], key_id: FromPath[str]) -> KeyOut:
        """Revoke a key; it stops working at once. 404 for an unknown or revoked key."""
        try:
            record = KeyStore(storage_of(request)).revoke(key_id)
        except AuthError as exc:
            raise NotFound(str(exc)) from None
        invalidate_key_caches()
        return _key_out(record)


ROUTES = [KeysAdminController]
