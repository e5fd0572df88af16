"""``check_bind``: an open (key-less) collector listens on loopback only."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from collector.auth.keys import AuthError, KeyStore

log = logging.getLogger("spyglass.auth")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, storage: Any, insecure_no_auth: bool) -> None:
    """Refuse (AuthError) to serve an open, key-less Spyglass on a non-loopback address.

    With ``insecure_no_auth`` it is allowed and logged loudly."""
    if is_loopback(host):
        return
    if KeyStore(storage).active_hashes():
        return
    if insecure_no_auth:
        log.warning("!!! Spyglass is serving on %s WITHOUT AUTHENTICATION (--insecure-no-auth): "
                    "anyone who can reach this address can read and write every project. "
                    "Create a key with `spyglass keys create --project NAME`. !!!", host)
        return
    raise AuthError(
        f"refusing to listen on {host}: no API key exists, so anyone reaching it could read "
        "and write all traces. Create one with `spyglass keys create --project NAME`, bind "
        "127.0.0.1, or pass --insecure-no-auth")
