"""common.timetext: the one owner of time text (ClickHouse text, RFC 3339, since/until)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from common import timetext as tt

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_clickhouse_text() -> None:
    assert tt.ch_text(NOW) == "2026-01-02 03:04:05.678901"
    assert tt.ch_text(NOW, digits=3) == "2026-01-02 03:04:05.678"
    # Aware times are converted to UTC; naive ones are taken as UTC.
    plus2 = NOW.astimezone(timezone(timedelta(hours=2)))
    assert tt.ch_text(plus2) == tt.ch_text(NOW.replace(tzinfo=None)) == tt.ch_text(NOW)
    assert tt.ch_text_from_ns(1_767_323_045_000_000_123) == "2026-01-02 03:04:05.000000123"


def test_rfc3339_text() -> None:
    assert tt.rfc3339(NOW) == "2026-01-02T03:04:05.678901Z"
    assert tt.rfc3339(NOW, digits=0) == "2026-01-02T03:04:05Z"
    assert tt.rfc3339_from_epoch(1_767_323_040) == "2026-01-02T03:04:00Z"
    assert tt.rfc3339_from_micros(1_767_323_045_678_901) == "2026-01-02T03:04:05.678901Z"
    assert tt.rfc3339_from_micros("1767323045000001") == "2026-01-02T03:04:05.000001Z"
    assert tt.rfc3339_from_micros(None) is None
    assert tt.rfc3339_from_ns(1_767_323_045_000_000_123) == "2026-01-02T03:04:05.000000123Z"
    assert tt.rfc3339_from_ch("2026-01-02 03:04:05.678") == "2026-01-02T03:04:05.678Z"


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("-24h", NOW - timedelta(hours=24)),
    ("-30m", NOW - timedelta(minutes=30)),
    ("- 7d", NOW - timedelta(days=7)),
    ("-2w", NOW - timedelta(weeks=2)),
    ("-90s", NOW - timedelta(seconds=90)),
    ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01 00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC)),
])
def test_parse_when(text: str, expected: datetime) -> None:
    assert tt.parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "24 hours", "2026-13-01"])
def test_parse_when_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        tt.parse_when(text, NOW)


def test_relative_seconds() -> None:
    assert tt.relative_seconds("5m") == 300
    assert tt.relative_seconds("-1.5h") == 5400
    assert tt.relative_seconds("1x") is None
