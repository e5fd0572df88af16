"""Logging for the tracer: every kind of tracing failure is logged once, then counted."""

from __future__ import annotations

import logging
import threading
from collections import Counter

logger = logging.getLogger("spyglass.tracer")

_lock = threading.Lock()
_failures: Counter[str] = Counter()


def warn_once(kind: str, message: str, *args: object, exc_info: bool = True) -> None:
    """Log ``message`` the first time a failure of ``kind`` happens; afterwards only count it.

    Tracing runs inside the user's hot path, so a broken serializer or exporter must not
    flood their logs: one line per kind of failure says what broke, ``failure_counts()``
    says how often.
    """
    with _lock:
        _failures[kind] += 1
        first = _failures[kind] == 1
    if first:
        try:
            logger.warning("spyglass: " + message + " (logged once; later failures are counted)",
                           *args, exc_info=exc_info)
        except Exception:  # a broken logging setup must not reach user code
            pass


def failure_counts() -> dict[str, int]:
    """How many times each kind of tracing failure happened in this process."""
    with _lock:
        return dict(_failures)
