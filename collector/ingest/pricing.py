"""Prices LLM spans that carry tokens but no cost, with the tracer's price table
(``tracer.llm.pricing``, the one place prices live)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger("spyglass.ingest")

_cost_fn: Callable[..., float | None] | None = None
_loaded = False


def _load() -> Callable[..., float | None] | None:
    global _cost_fn, _loaded
    if not _loaded:
        _loaded = True
        try:
            from tracer.llm.pricing import cost_usd

            _cost_fn = cost_usd
        except ImportError as exc:  # the tracer's LLM part may be absent in a slim install
            log.warning("LLM spans will not be priced at ingest: %s", exc)
    return _cost_fn


def price(model: str, input_tokens: int, output_tokens: int, cached_tokens: int,
          start_time_ns: int, cache_creation_tokens: int = 0) -> float | None:
    """Cost in USD at the span's start time, or None (unknown model, no price table).

    The same function the tracer prices with, cache reads and writes included, so a span
    priced here costs what the tracer would have recorded."""
    fn = _load()
    if fn is None or not model or (input_tokens <= 0 and output_tokens <= 0):
        return None
    at = datetime.fromtimestamp(start_time_ns / 1e9, tz=UTC) if start_time_ns else None
    try:
        return fn(model, input_tokens, output_tokens, cached_tokens=cached_tokens, at=at,
                  cache_creation_tokens=cache_creation_tokens)
    except Exception as exc:  # a bad price entry must not reject spans
        log.warning("pricing %s failed: %s", model, exc)
        return None
