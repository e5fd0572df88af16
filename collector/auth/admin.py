"""The admin token: how ``spyglass keys`` manages keys through a running collector.

With embedded storage (chDB, one process per data directory) the collector writes a fresh
token to ``DATA_DIR/admin.token`` (mode 0600) at start; the ``/api/admin/*`` routes
(collector/api/admin_keys.py) need it in a header, from a loopback client, and never
accept an API key. Whoever may read the data directory may manage keys, and nobody else.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from collector.auth.bind import is_loopback

log = logging.getLogger("spyglass.auth")

ADMIN_PREFIX = "/api/admin/"
"""Key management over HTTP: needs the admin token, from a loopback client; never a key."""
ADMIN_HEADER = "x-spyglass-admin-token"
ADMIN_TOKEN_FILE = "admin.token"
"""File in a chDB data directory holding the running collector's admin token (mode 0600):
whoever may read the data directory may manage keys, and nobody else."""


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


def admin_allowed(expected: str | None, given: str | None, client_host: str) -> bool:
    """True when a request may use the admin routes: this collector has a token, the
    request carries it, and it comes from a loopback client."""
    if expected is None or not given or not is_loopback(client_host):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
