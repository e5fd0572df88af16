"""Time buckets of the charts' aggregates (``/api/stats``, ``/api/console/*``): the range,
the bucket width (given or chosen from the range) and every bucket start in it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collector.queries.errors import BadParameter
from collector.queries.params import parse_duration, parse_range

# Bucket widths the automatic choice picks from: the smallest giving at most ~120 points.
NICE_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
TARGET_POINTS = 120
MAX_POINTS = 5000
DEFAULT_SPAN = timedelta(hours=24)


def auto_bucket(seconds: float) -> int:
    """The smallest nice width that splits ``seconds`` into at most ~120 buckets."""
    for width in NICE_BUCKETS:
        if seconds / width <= TARGET_POINTS:
            return width
    return NICE_BUCKETS[-1]


def bucket_label(seconds: int) -> str:
    """``900`` -> ``15m``; the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Buckets:
    """``[since, until)`` cut into buckets ``width`` seconds wide, aligned to multiples of
    the width since the Unix epoch; ``starts`` are the epoch seconds of every bucket."""

    since: datetime
    until: datetime
    width: int
    starts: list[int]

    @property
    def label(self) -> str:
        """The width as ``60s``/``5m``/``1h``/``1d``."""
        return bucket_label(self.width)


def parse_buckets(since: str | None, until: str | None, bucket: str | None) -> Buckets:
    """The range (default: the 24 h before ``until``, which defaults to now) and its buckets;
    400 for an empty range or a width making more than :data:`MAX_POINTS` points."""
    given = parse_range(since, until)
    end = given.until or datetime.now(UTC)
    start = given.since or end - DEFAULT_SPAN
    if start >= end:
        raise BadParameter("since", "must be earlier than 'until' (or now)")
    span_s = (end - start).total_seconds()
    width = parse_duration(bucket, "bucket") if bucket else auto_bucket(span_s)
    if span_s / width > MAX_POINTS:
        raise BadParameter("bucket", f"{bucket_label(width)} buckets over this range make "
                                     f"more than {MAX_POINTS} points; use a wider bucket")
    first = math.floor(start.timestamp() / width) * width
    last = math.floor((end.timestamp() - 1e-6) / width) * width
    return Buckets(since=start, until=end, width=width, starts=list(range(first, last + 1, width)))
