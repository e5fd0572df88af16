"""``AuthMiddleware``: API keys on ``/v1/*`` and ``/api/*``, the admin token on
``/api/admin/*``.

While at least one key is active, ``/v1/*`` and ``/api/*`` require
``Authorization: Bearer <key>`` and each request is confined to the key's project (the
middleware records it in the ASGI scope; see :func:`key_project`). With no active key the
service is open, which is why ``spyglass serve`` then refuses to bind anything but
loopback (collector/auth/bind.py).
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

import anyio.to_thread
from google.rpc import status_pb2
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from collector.auth.admin import ADMIN_HEADER, ADMIN_PREFIX, admin_allowed, write_admin_token
from collector.auth.keys import REFRESH_SECONDS, KeyCache, KeyStore

KEY_PROJECT_STATE = "spyglass_key_project"
"""Key in ``scope["state"]`` holding the authenticated key's project (absent when open)."""

INTERNAL_STATE = "spyglass_internal"
"""Key in ``scope["state"]``: True when the request carries this process's internal credential."""

PROTECTED_PREFIXES = ("/v1/", "/api/")
"""Paths that need a key once keys exist; /healthz, /schema and the console stay public."""


def key_project(scope: Scope | dict[str, Any]) -> str | None:
    """The project the request's API key is confined to; None when the service is open.

    Ingest uses it as the project of spans sent under a key; the query API forces it."""
    state = scope.get("state") or {}
    return state.get(KEY_PROJECT_STATE)


def is_internal(scope: Scope | dict[str, Any]) -> bool:
    """Whether the request came from a worker of this collector process (its internal
    credential), which may act on every project and report worker status."""
    return bool((scope.get("state") or {}).get(INTERNAL_STATE))


def new_internal_token() -> str:
    """A credential for the collector's own workers (collector/workers.py): random per
    process, kept in memory only (never written to disk, logged or listed with the keys), so
    it dies with the process and cannot be read from outside it."""
    return "sgi_" + secrets.token_urlsafe(32)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return value.decode("latin-1").strip()
    return None


def _bearer(scope: Scope) -> str | None:
    """The bearer token; "" for an Authorization header of another scheme; None without one."""
    text = _header(scope, b"authorization")
    if text is None:
        return None
    scheme, _, token = text.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_protobuf(scope: Scope) -> bool:
    return "protobuf" in (_header(scope, b"content-type") or "").lower()


async def _deny(scope: Scope, send: Send, message: str) -> None:
    # OTLP/HTTP clients sending protobuf expect a google.rpc.Status body in kind.
    if scope["path"].startswith("/v1/") and _is_protobuf(scope):
        body = status_pb2.Status(code=16, message=message).SerializeToString()
        content_type = b"application/x-protobuf"
    else:
        body = json.dumps({"error": message}).encode()
        content_type = b"application/json"
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="spyglass"')]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware(ASGIMiddleware):
    """Requires a valid key on ``/v1/*`` and ``/api/*`` whenever any key is active, and the
    admin token on ``/api/admin/*`` always.

    With embedded storage (chDB, one process per data directory) the admin token is
    written to the data directory, so ``spyglass keys`` can manage keys through the running
    collector; with a ClickHouse server the CLI writes the keys table itself."""

    def __init__(self, storage: Any, refresh_seconds: float = REFRESH_SECONDS,
                 internal_token: str | None = None) -> None:
        self.cache = KeyCache(KeyStore(storage), refresh_seconds)
        # The in-process workers' credential: without it the monitors worker, which calls
        # this collector's API over loopback, was refused (401) as soon as a key existed.
        self.internal_token = internal_token
        data_dir = getattr(storage, "data_dir", None)
        self.admin_token = write_admin_token(data_dir) if data_dir is not None else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass public paths; check the admin token or the bearer key on protected ones."""
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIXES):
            await next_app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            client = (scope.get("client") or ("",))[0]
            if not admin_allowed(self.admin_token, _header(scope, ADMIN_HEADER.encode()), client):
                await _deny(scope, send, "key management needs the admin token of this "
                            "collector (from its data directory) and a loopback client: use "
                            "`spyglass keys`")
                return
            await next_app(scope, receive, send)
            return
        token = _bearer(scope)
        if token and self.internal_token and hmac.compare_digest(token, self.internal_token):
            # Every project (no key_project): the workers serve all of them.
            scope.setdefault("state", {})[INTERNAL_STATE] = True
            await next_app(scope, receive, send)
            return
        if not await anyio.to_thread.run_sync(self.cache.any_active):
            await next_app(scope, receive, send)
            return
        if not token:
            await _deny(scope, send, "missing API key: send the header 'Authorization: Bearer <key>'"
                        " (create one with `spyglass keys create --project NAME`)")
            return
        project = await anyio.to_thread.run_sync(self.cache.project_for, token)
        if project is None:
            await _deny(scope, send, "invalid or revoked API key")
            return
        scope.setdefault("state", {})[KEY_PROJECT_STATE] = project
        await next_app(scope, receive, send)
