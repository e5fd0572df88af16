"""Opaque keyset cursors: base64url JSON naming the last row a page returned."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from collector.queries.errors import BadParameter


def encode_cursor(kind: str, values: list[Any]) -> str:
    """An opaque token for the position after the row with sort key ``values``."""
    raw = json.dumps({"k": kind, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, kind: str, types: tuple[type, ...]) -> list[Any] | None:
    """The sort key inside ``token`` (None when absent); 400 naming ``cursor`` if it is not
    a cursor this route issued, for example one from another route or a different order."""
    if token is None or token == "":
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadParameter("cursor", "not a cursor returned by this API") from None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise BadParameter("cursor", "belongs to a different listing or order")
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(types) or not all(
        isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)
    ):
        raise BadParameter("cursor", "is malformed")
    return values
