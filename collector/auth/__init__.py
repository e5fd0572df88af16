"""API keys and the checks that enforce them, one job per module:

- :mod:`collector.auth.keys` — key format, hashing, the ``api_keys`` table, the key cache;
- :mod:`collector.auth.middleware` — ``AuthMiddleware`` and :func:`key_project`;
- :mod:`collector.auth.admin` — the admin token ``spyglass keys`` uses with a running collector;
- :mod:`collector.auth.bind` — :func:`check_bind`, loopback-only while no key exists.

The names below are the public interface; import them from ``collector.auth``.
"""

from collector.auth.admin import (
    ADMIN_HEADER,
    ADMIN_PREFIX,
    ADMIN_TOKEN_FILE,
    read_admin_token,
    write_admin_token,
)
from collector.auth.bind import check_bind, check_bind_early, is_loopback
from collector.auth.keys import (
    KEYS_MARKER_FILE,
    REFRESH_SECONDS,
    AuthError,
    KeyCache,
    KeyRecord,
    KeyStore,
    hash_key,
    invalidate_key_caches,
    key_id_of,
    note_active_keys,
    validate_project,
)
from collector.auth.middleware import (
    INTERNAL_STATE,
    KEY_PROJECT_STATE,
    PROTECTED_PREFIXES,
    AuthMiddleware,
    is_internal,
    key_project,
    new_internal_token,
)

__all__ = [
    "ADMIN_HEADER",
    "ADMIN_PREFIX",
    "ADMIN_TOKEN_FILE",
    "INTERNAL_STATE",
    "KEYS_MARKER_FILE",
    "KEY_PROJECT_STATE",
    "PROTECTED_PREFIXES",
    "REFRESH_SECONDS",
    "AuthError",
    "AuthMiddleware",
    "KeyCache",
    "KeyRecord",
    "KeyStore",
    "check_bind",
    "check_bind_early",
    "hash_key",
    "invalidate_key_caches",
    "is_internal",
    "is_loopback",
    "key_id_of",
    "key_project",
    "new_internal_token",
    "note_active_keys",
    "read_admin_token",
    "validate_project",
    "write_admin_token",
]
