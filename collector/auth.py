"""API keys: creation, hashing, lookup, and the middleware that enforces them.

A key looks like ``sg_<key id: 12 hex>_<secret>``. Only the key id (for lookup) and the
SHA-256 of the whole key are stored, in the ``api_keys`` table; the key itself is shown
once, by ``spyglass keys create``. While at least one key is active, ``/v1/*`` and
``/api/*`` require ``Authorization: Bearer <key>`` and each request is confined to the
key's project (the middleware records it in the ASGI scope; see :func:`key_project`).
With no active key the service is open, which is why ``spyglass serve`` then refuses to
bind anything but loopback (see :func:`check_bind`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("spyglass.auth")

KEY_PROJECT_STATE = "spyglass_key_project"
"""Key in ``scope["state"]`` holding the authenticated key's project (absent when open)."""

PROTECTED_PREFIXES = ("/v1/", "/api/")
"""Paths that need a key once keys exist; /healthz, /schema and the console stay public."""

ADMIN_PREFIX = "/api/admin/"
"""Key management over HTTP: needs the admin token, from a loopback client; never a key."""
ADMIN_HEADER = "x-spyglass-admin-token"
ADMIN_TOKEN_FILE = "admin.token"
"""File in a chDB data directory holding the running collector's admin token (mode 0600):
whoever may read the data directory may manage keys, and nobody else."""

_KEY_RE = re.compile(r"^sg_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REFRESH_SECONDS = 5.0
"""How stale the middleware's view of the keys table may be (a revocation's delay)."""


KEYS_MARKER_FILE = "keys.active"
"""File in a chDB data directory holding the number of active keys, kept by every key
change and by each start, so ``spyglass serve`` can refuse an open non-loopback bind
before it opens (and migrates) storage: see :func:`check_bind_early`."""


class AuthError(ValueError):
    """A key operation a user asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class KeyRecord:
    """One API key as stored: never the key itself."""

    key_id: str
    project: str
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 of its full text."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The lookup id inside a well-formed key, else None."""
    match = _KEY_RE.match(key.strip())
    return match.group(1) if match else None


def validate_project(project: str) -> str:
    """A project name: 1-128 of letters, digits, ``. _ : -``, starting alphanumeric."""
    if not _PROJECT_RE.match(project or ""):
        raise AuthError(f"invalid project name {project!r}: use letters, digits, '.', '_', ':' "
                        "or '-' (at most 128, starting with a letter or digit)")
    return project


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class KeyStore:
    """The ``api_keys`` table through a :class:`collector.storage.Storage`."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def create(self, project: str, name: str = "") -> tuple[str, KeyRecord]:
        """Make a new key for ``project``; returns the key (show it once) and its record."""
        validate_project(project)
        key_id = secrets.token_hex(6)
        key = f"sg_{key_id}_{secrets.token_urlsafe(30)}"
        created = _now()
        self.storage.command(
            "INSERT INTO api_keys (key_id, project, key_hash, name, created_at, revoked_at, version) "
            "SELECT {key_id:String}, {project:String}, {key_hash:String}, {name:String}, "
            "toDateTime64({created:String}, 3, 'UTC'), NULL, {version:UInt64}",
            {"key_id": key_id, "project": project, "key_hash": hash_key(key), "name": name,
             "created": created, "version": time.time_ns()},
        )
        note_active_keys(self.storage, len(self.active_hashes()))
        return key, KeyRecord(key_id, project, name, _rfc3339(created), None)

    def list(self) -> list[KeyRecord]:
        """Every key, newest first, revoked ones included."""
        rows = self.storage.query(
            "SELECT key_id, project, name, "
            "formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS created, "
            "if(isNull(revoked_at), '', formatDateTime(assumeNotNull(revoked_at), "
            "'%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')) AS revoked "
            "FROM api_keys FINAL ORDER BY created_at DESC, key_id"
        )
        return [KeyRecord(r["key_id"], r["project"], r["name"], r["created"], r["revoked"] or None)
                for r in rows]

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a key by its id (or the full key); AuthError if unknown or already revoked."""
        wanted = key_id_of(key_id) or key_id.strip().removeprefix("sg_")
        rows = self.storage.query(
            "SELECT key_id, project, key_hash, name, created_at, revoked_at FROM api_keys FINAL "
            "WHERE key_id = {key_id:String}", {"key_id": wanted})
        if not rows:
            raise AuthError(f"no API key with id {wanted!r} (see `spyglass keys list`)")
        if rows[0]["revoked_at"] not in (None, ""):
            raise AuthError(f"API key {wanted!r} is already revoked")
        revoked = _now()
        self.storage.command(
            "INSERT INTO api_keys (key_id, project, key_hash, name, created_at, revoked_at, version) "
            "SELECT key_id, project, key_hash, name, created_at, toDateTime64({revoked:String}, 3, 'UTC'), "
            "{version:UInt64} FROM api_keys FINAL WHERE key_id = {key_id:String}",
            {"key_id": wanted, "revoked": revoked, "version": time.time_ns()},
        )
        record = next(r for r in self.list() if r.key_id == wanted)
        note_active_keys(self.storage, len(self.active_hashes()))
        return record

    def active_hashes(self) -> dict[str, tuple[str, str]]:
        """``{key_id: (key_hash, project)}`` of every key not revoked."""
        rows = self.storage.query(
            "SELECT key_id, key_hash, project FROM api_keys FINAL WHERE isNull(revoked_at)")
        return {r["key_id"]: (r["key_hash"], r["project"]) for r in rows}


def _rfc3339(ch_time: str) -> str:
    return ch_time.replace(" ", "T") + "Z"


_CACHES: weakref.WeakSet[KeyCache] = weakref.WeakSet()


def invalidate_key_caches() -> None:
    """Make every key cache of this process re-read the keys table on next use (after a
    key is created or revoked through the admin routes, so it applies at once)."""
    for cache in list(_CACHES):
        cache.invalidate()


class KeyCache:
    """The active keys, re-read from storage at most every :data:`REFRESH_SECONDS` (and at
    most once a second when an unknown key id shows up, so a new key works at once)."""

    def __init__(self, store: KeyStore, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._keys: dict[str, tuple[str, str]] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        _CACHES.add(self)

    def invalidate(self) -> None:
        """Forget the cached keys."""
        with self._lock:
            self._loaded_at = float("-inf")

    def _refresh(self, max_age: float) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < max_age:
                return
            self._keys = self.store.active_hashes()
            self._loaded_at = time.monotonic()

    def any_active(self) -> bool:
        """True when at least one key is active (so requests need one)."""
        self._refresh(self.refresh_seconds)
        return bool(self._keys)

    def project_for(self, key: str) -> str | None:
        """The project of a valid, active key; None for anything else."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        self._refresh(self.refresh_seconds)
        if key_id not in self._keys:
            self._refresh(1.0)
        entry = self._keys.get(key_id)
        if entry is None or not hmac.compare_digest(entry[0], hash_key(key.strip())):
            return None
        return entry[1]


def key_project(scope: Scope | dict[str, Any]) -> str | None:
    """The project the request's API key is confined to; None when the service is open.

    Ingest uses it as the project of spans sent under a key; the query API forces it."""
    state = scope.get("state") or {}
    return state.get(KEY_PROJECT_STATE)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return ""
    return None


def _is_protobuf(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            return b"protobuf" in value.lower()
    return False


async def _deny(scope: Scope, send: Send, message: str) -> None:
    # OTLP/HTTP clients sending protobuf expect a google.rpc.Status body in kind.
    if scope["path"].startswith("/v1/") and _is_protobuf(scope):
        from google.rpc import status_pb2

        body = status_pb2.Status(code=16, message=message).SerializeToString()
        content_type = b"application/x-protobuf"
    else:
        body = json.dumps({"error": message}).encode()
        content_type = b"application/json"
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="spyglass"')]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return value.decode("latin-1").strip()
    return None


def write_admin_token(data_dir: Path) -> str | None:
    """A fresh admin token, written to ``data_dir/admin.token`` readable by its owner only;
    None (and a warning) when the file cannot be written."""
    token = secrets.token_urlsafe(32)
    path = Path(data_dir) / ADMIN_TOKEN_FILE
    try:
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
    except OSError as exc:
        log.warning("cannot write %s (%s): `spyglass keys` cannot reach this running "
                    "collector; stop it to manage keys", path, exc)
        return None
    return token


def read_admin_token(data_dir: Path) -> str | None:
    """The running collector's admin token from its data directory, if there is one."""
    try:
        return (Path(data_dir) / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


class AuthMiddleware(ASGIMiddleware):
    """Requires a valid key on ``/v1/*`` and ``/api/*`` whenever any key is active, and the
    admin token on ``/api/admin/*`` always.

    With embedded storage (chDB, one process per data directory) the admin token is
    written to the data directory, so ``spyglass keys`` can manage keys through the running
    collector; with a ClickHouse server the CLI writes the keys table itself."""

    def __init__(self, storage: Any, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.cache = KeyCache(KeyStore(storage), refresh_seconds)
        data_dir = getattr(storage, "data_dir", None)
        self.admin_token = write_admin_token(data_dir) if data_dir is not None else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass public paths; check the admin token or the bearer key on protected ones."""
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIXES):
            await next_app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send, next_app)
            return
        if not await anyio.to_thread.run_sync(self.cache.any_active):
            await next_app(scope, receive, send)
            return
        token = _bearer(scope)
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

    async def _admin(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        client = (scope.get("client") or ("",))[0]
        given = _header(scope, ADMIN_HEADER.encode())
        if self.admin_token is None or not given or not is_loopback(client) or \
                not hmac.compare_digest(given.encode(), self.admin_token.encode()):
            await _deny(scope, send, "key management needs the admin token of this collector "
                        "(from its data directory) and a loopback client: use `spyglass keys`")
            return
        await next_app(scope, receive, send)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def note_active_keys(storage: Any, count: int) -> None:
    """Record ``count`` active keys in the marker file of a chDB data directory (no-op for
    a ClickHouse server, whose keys table answers quickly without opening anything)."""
    data_dir = getattr(storage, "data_dir", None)
    if data_dir is None:
        return
    try:
        path = Path(data_dir) / KEYS_MARKER_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{count}\n")
        os.replace(tmp, path)
    except OSError as exc:  # the check after storage opens still holds
        log.warning("cannot record the key count in %s: %s", data_dir, exc)


def _marked_active_keys(data_dir: Path) -> int | None:
    """Active keys according to the marker file; 0 for a data directory that holds no
    store yet; None when unknown (a store written before the marker existed)."""
    try:
        return int((data_dir / KEYS_MARKER_FILE).read_text().strip())
    except FileNotFoundError:
        return None if (data_dir / "clickhouse").exists() else 0
    except (OSError, ValueError):
        return None


def _refusal(host: str) -> AuthError:
    return AuthError(
        f"refusing to listen on {host}: no API key exists, so anyone reaching it could read "
        "and write all traces. Create one with `spyglass keys create --project NAME`, bind "
        "127.0.0.1, or pass --insecure-no-auth")


def check_bind_early(host: str, data_dir: Path, clickhouse_url: str, insecure_no_auth: bool) -> None:
    """:func:`check_bind` before storage is opened, for an embedded store: an open
    non-loopback bind is refused at once when the data directory's key marker says no
    key is active (or the directory holds no store yet). When it cannot tell, nothing is
    refused here and :func:`check_bind` decides once storage is open."""
    if is_loopback(host) or insecure_no_auth or clickhouse_url:
        return
    if _marked_active_keys(Path(data_dir).expanduser()) == 0:
        raise _refusal(host)


def check_bind(host: str, storage: Any, insecure_no_auth: bool) -> None:
    """Refuse (AuthError) to serve an open, key-less Spyglass on a non-loopback address.

    With ``insecure_no_auth`` it is allowed and logged loudly."""
    active = KeyStore(storage).active_hashes()
    note_active_keys(storage, len(active))
    if is_loopback(host):
        return
    if active:
        return
    if insecure_no_auth:
        log.warning("!!! Spyglass is serving on %s WITHOUT AUTHENTICATION (--insecure-no-auth): "
                    "anyone who can reach this address can read and write every project. "
                    "Create a key with `spyglass keys create --project NAME`. !!!", host)
        return
    raise _refusal(host)
