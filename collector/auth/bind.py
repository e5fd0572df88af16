"""``check_bind``: an open (key-less) collector listens on loopback only."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

from collector.auth.keys import AuthError, KeyStore, marked_active_keys, note_active_keys

log = logging.getLogger("spyglass.auth")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    if marked_active_keys(Path(data_dir).expanduser()) == 0:
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
