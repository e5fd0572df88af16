"""Time as text, in one place: the ClickHouse text DateTime64 columns read, the RFC 3339
text the HTTP API answers with, and the ``since``/``until`` text users write.

Every function is small and pure (no clock unless it says ``now``), so range checks and
their tests live here too. All output is UTC.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(-?)\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
"""Seconds per unit of a relative time or duration (``90s``, ``5m``, ``1h``, ``7d``, ``2w``)."""


def _utc(value: datetime) -> datetime:
    """Aware -> UTC; a naive datetime is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fraction(micros: int, digits: int) -> str:
    return f".{micros:06d}"[: digits + 1] if digits else ""


# -- ClickHouse DateTime64 text ----------------------------------------------------------

def ch_text(value: datetime, digits: int = 6) -> str:
    """``YYYY-MM-DD hh:mm:ss.ffffff`` (UTC), the text a DateTime64 parameter or column
    reads; ``digits`` fraction digits (0-6, truncated)."""
    value = _utc(value)
    return f"{value:%Y-%m-%d %H:%M:%S}{_fraction(value.microsecond, digits)}"


def ch_text_from_ns(ns: int) -> str:
    """Nanoseconds since the epoch as ``YYYY-MM-DD hh:mm:ss.nnnnnnnnn`` (UTC), the text
    DateTime64(9) reads exactly (bare ``seconds.fraction`` is ambiguous for small values)."""
    secs, frac = divmod(ns, 1_000_000_000)
    # time.strftime over gmtime: the ingest hot path, ~2x cheaper than a datetime.
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(secs))}.{frac:09d}"


# -- RFC 3339 (the HTTP API) -----------------------------------------------------------

def rfc3339(value: datetime, digits: int = 6) -> str:
    """``YYYY-MM-DDThh:mm:ss.ffffffZ`` (UTC) with ``digits`` fraction digits (0 drops it)."""
    value = _utc(value)
    return f"{value:%Y-%m-%dT%H:%M:%S}{_fraction(value.microsecond, digits)}Z"


def rfc3339_from_epoch(seconds: int) -> str:
    """Whole seconds since the epoch -> ``YYYY-MM-DDThh:mm:ssZ`` (bucket starts)."""
    return rfc3339(datetime.fromtimestamp(seconds, UTC), digits=0)


def rfc3339_from_micros(micros: int | str | None) -> str | None:
    """Microseconds since the epoch (ClickHouse may send 64-bit integers as text) ->
    RFC 3339 with six fraction digits; None stays None."""
    if micros is None:
        return None
    seconds, rest = divmod(int(micros), 1_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{rest:06d}Z"


def rfc3339_from_ns(ns: int) -> str:
    """Nanoseconds since the epoch -> RFC 3339 with nine fraction digits."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


def rfc3339_from_ch(text: str) -> str:
    """ClickHouse DateTime64 text (``YYYY-MM-DD hh:mm:ss[.f]``, UTC) -> RFC 3339."""
    return text.replace(" ", "T") + "Z"


def now_rfc3339() -> str:
    """The current time as RFC 3339 with microseconds."""
    return rfc3339(datetime.now(UTC))


# -- since / until text ------------------------------------------------------------------

def relative_seconds(text: str) -> float | None:
    """``-24h``, ``30m``, ``- 7d``, ``90s``... -> seconds (never negative); None when
    ``text`` is not a relative time or duration."""
    match = _RELATIVE.match(text.strip().lower())
    if match is None:
        return None
    return float(match.group(2)) * UNIT_SECONDS[match.group(3)]


def parse_iso(text: str) -> datetime:
    """RFC 3339 / ISO 8601 text (``T`` or a space between date and time, ``Z`` or an
    offset; no offset means UTC) -> an aware UTC datetime. ValueError when it is not."""
    text = text.strip()
    parsed = datetime.fromisoformat(text if "T" in text else text.replace(" ", "T"))
    return _utc(parsed)


def parse_when(text: str, now: datetime) -> datetime:
    """``now``, a relative time before ``now`` (``-24h``, ``-30m``, ``-7d``, ``-2w``,
    ``-90s``) or RFC 3339 -> an aware UTC datetime. ValueError when it is none of them."""
    text = text.strip()
    if text.lower() == "now":
        return now
    seconds = relative_seconds(text)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    return parse_iso(text)
