"""Parsing of query parameters shared by the routes: times, limits, choices, hex ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from collector.queries.errors import BadParameter
from common.timetext import parse_when, relative_seconds

_HEX = re.compile(r"^[0-9a-f]+$")


# Times a query may name: what DateTime64 columns and parameters hold (ClickHouse's
# DateTime64 spans 1900-01-01 .. 2262-04-11), with a day of margin at each end so a
# window derived from them (a day before ``until``, a bucket's start) stays in range too.
EARLIEST = datetime(1900, 1, 2, tzinfo=UTC)
LATEST = datetime(2262, 4, 10, tzinfo=UTC)
# Widest bucket: ten years (also far below UInt32, the type the width is sent as).
MAX_BUCKET_SECONDS = 3660 * 86400


def _in_range(value: datetime, text: str, name: str) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise BadParameter(name, f"{text!r} is outside the supported range "
                                 f"{EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}")
    return value


def parse_time(value: str | None, name: str, now: datetime | None = None) -> datetime | None:
    """RFC 3339 (``2026-01-02T03:04:05Z``), ``now``, or relative to now (``-24h``, ``-30m``,
    ``-7d``, ``-2w``, ``-90s``) -> an aware UTC datetime; None when absent. A time outside
    :data:`EARLIEST` .. :data:`LATEST` is a 400 naming the parameter."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    now = now or datetime.now(UTC)
    if len(text) > 64:
        raise BadParameter(name, f"{value[:64]!r}… is neither RFC 3339 (2026-01-02T03:04:05Z) "
                                 "nor relative (-24h, -30m, -7d)")
    # Bound a relative time before it becomes a timedelta: a huge amount would overflow.
    seconds = relative_seconds(text)
    if seconds is not None and seconds > (now - EARLIEST).total_seconds():
        raise BadParameter(name, f"{value!r} reaches before {EARLIEST:%Y-%m-%d}, "
                                 "the earliest supported time")
    try:
        parsed = parse_when(text, now)
    except (ValueError, OverflowError):
        # OverflowError: a valid date whose UTC conversion leaves datetime's range.
        raise BadParameter(name, f"{value!r} is neither RFC 3339 (2026-01-02T03:04:05Z) "
                                 "nor relative (-24h, -30m, -7d)") from None
    return _in_range(parsed, text, name)


@dataclass(frozen=True)
class TimeRange:
    """A half-open ``[since, until)`` interval; either end may be open (None)."""

    since: datetime | None
    until: datetime | None


def parse_range(since: str | None, until: str | None, default_since: str | None = None) -> TimeRange:
    """Parse ``since``/``until`` together and reject an empty or inverted interval."""
    now = datetime.now(UTC)
    given = since if since is not None and since.strip() else default_since
    start = parse_time(given, "since", now)
    end = parse_time(until, "until", now)
    if start is not None and end is not None and start >= end:
        raise BadParameter("until", "must be later than 'since'")
    return TimeRange(start, end)


def parse_limit(value: int | None, default: int, maximum: int, name: str = "limit") -> int:
    """A page size between 1 and ``maximum``."""
    if value is None:
        return default
    if value < 1 or value > maximum:
        raise BadParameter(name, f"must be between 1 and {maximum}, got {value}")
    return value


def parse_choice(value: str | None, name: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices`` (case-insensitive), or None when absent."""
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered not in choices:
        raise BadParameter(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return lowered


def parse_hex_id(value: str, name: str, length: int) -> str:
    """A lowercase hex id of ``length`` characters (32 for traces, 16 for spans)."""
    text = value.strip().lower()
    if len(text) != length or not _HEX.match(text):
        raise BadParameter(name, f"must be {length} hex characters, got {value!r}")
    return text


def parse_duration(value: str, name: str) -> int:
    """A bucket width such as ``30s``, ``5m``, ``1h``, ``1d`` (or plain seconds) -> seconds."""
    text = value.strip().lower()
    if text.isdigit():
        if len(text) > 12:
            raise BadParameter(name, f"{value!r} is wider than the widest bucket "
                                     f"({MAX_BUCKET_SECONDS // 86400}d)")
        seconds = int(text)
    else:
        given = relative_seconds(text)
        if given is None or text.startswith("-"):
            raise BadParameter(name, f"{value!r} is not a duration like 60s, 5m, 1h or 1d")
        if given > MAX_BUCKET_SECONDS:  # also before int(): 1e400s is infinite
            raise BadParameter(name, f"{value!r} is wider than the widest bucket "
                                     f"({MAX_BUCKET_SECONDS // 86400}d)")
        seconds = int(given)
    if seconds < 1:
        raise BadParameter(name, "must be at least 1 second")
    if seconds > MAX_BUCKET_SECONDS:
        raise BadParameter(name, f"{value!r} is wider than the widest bucket "
                                 f"({MAX_BUCKET_SECONDS // 86400}d)")
    return seconds
