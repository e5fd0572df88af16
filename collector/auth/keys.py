"""API keys: their format, hashing, the ``api_keys`` table and the in-memory cache of it.

A key looks like ``sg_<key id: 12 hex>_<secret>``. Only the key id (for lookup) and the
SHA-256 of the whole key are stored, in the ``api_keys`` table; the key itself is shown
once, by ``spyglass keys create``.
"""

from __future__ import annotations

import hashlib
import hmac
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

from common.timetext import ch_text, rfc3339_from_ch

_KEY_RE = re.compile(r"^sg_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REFRESH_SECONDS = 5.0
"""How stale the middleware's view of the keys table may be (a revocation's delay)."""


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
    # api_keys times are DateTime64(3): milliseconds, so a new key's record reads back equal.
    return ch_text(datetime.now(UTC), digits=3)


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
        return key, KeyRecord(key_id, project, name, rfc3339_from_ch(created), None)

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


KEYS_MARKER_FILE = "keys.active"
"""File in a chDB data directory holding the number of active keys, kept by every key
change and by each start, so ``spyglass serve`` can refuse an open non-loopback bind
before it opens (and migrates) storage (:func:`collector.auth.bind.check_bind_early`)."""

_log = logging.getLogger("spyglass.auth")


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
        _log.warning("cannot record the key count in %s: %s", data_dir, exc)


def marked_active_keys(data_dir: Path) -> int | None:
    """Active keys according to the marker file; 0 for a data directory that holds no
    store yet; None when unknown (a store written before the marker existed)."""
    try:
        return int((data_dir / KEYS_MARKER_FILE).read_text().strip())
    except FileNotFoundError:
        return None if (data_dir / "clickhouse").exists() else 0
    except (OSError, ValueError):
        return None
