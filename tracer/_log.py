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


class OncePerMessage(logging.Filter):
    """Lets each message template of a logger through once, then counts repeats.

    Attached to the OTLP trace exporter's logger: with the collector down it would log
    every retry of every batch; Spyglass's own ``could not export`` line (once) and
    ``failure_counts()`` already say so.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """True the first time a (level, template) is seen."""
        key = (record.levelno, str(record.msg))
        with self._lock:
            if key in self._seen:
                _failures["otlp_exporter_log"] += 1
                return False
            self._seen.add(key)
        return True


_exporter_filter = OncePerMessage()


def quiet_exporter_logs() -> None:
    """Install ``OncePerMessage`` on the OTLP/HTTP trace exporter's logger (idempotent)."""
    exporter_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    if _exporter_filter not in exporter_logger.filters:
        exporter_logger.addFilter(_exporter_filter)
