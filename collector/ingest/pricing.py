"""Prices LLM spans that carry tokens but no cost, with the shared price table
(``common.pricing``, the one place prices live)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from common.pricing import cost_usd

log = logging.getLogger("spyglass.ingest")


_EPOCH = date(1970, 1, 1)
_DAY_NS = 86_400 * 1_000_000_000
_days: dict[int, date] = {}


def _day(ns: int) -> date:
    """The UTC date of ``ns`` since the epoch (cached: prices change by date only, and
    every span of a day asks)."""
    n = ns // _DAY_NS
    found = _days.get(n)
    if found is None:
        if len(_days) > 4096:
            _days.clear()
        found = _days[n] = _EPOCH + timedelta(days=n)
    return found


def price(model: str, input_tokens: int, output_tokens: int, cached_tokens: int,
          start_time_ns: int, cache_creation_tokens: int = 0) -> float | None:
    """Cost in USD at the span's start time, or None (unknown model, no price table).

    The same function the tracer prices with, cache reads and writes included, so a span
    priced here costs what the tracer would have recorded."""
    if not model or (input_tokens <= 0 and output_tokens <= 0):
        return None
    at = _day(start_time_ns) if start_time_ns else None
    try:
        return cost_usd(model, input_tokens, output_tokens, cached_tokens=cached_tokens, at=at,
                        cache_creation_tokens=cache_creation_tokens)
    except Exception as exc:  # a bad price entry must not reject spans
        log.warning("pricing %s failed: %s", model, exc)
        return None
