"""Prices LLM spans that carry tokens but no cost, with the shared price table
(``common.pricing``, the one place prices live)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from common.pricing import cost_usd

log = logging.getLogger("spyglass.ingest")


def price(model: str, input_tokens: int, output_tokens: int, cached_tokens: int,
          start_time_ns: int) -> float | None:
    """Cost in USD at the span's start time, or None (unknown model, no price table)."""
    if not model or (input_tokens <= 0 and output_tokens <= 0):
        return None
    at = datetime.fromtimestamp(start_time_ns / 1e9, tz=UTC) if start_time_ns else None
    try:
        return cost_usd(model, input_tokens, output_tokens, cached_tokens=cached_tokens, at=at)
    except Exception as exc:  # a bad price entry must not reject spans
        log.warning("pricing %s failed: %s", model, exc)
        return None
