"""The tracer's live state: the :class:`Runtime` a successful ``init`` set up, in ``STATE``.

A module of its own so what reads the state (``tracer.context`` for the live serializer,
``tracer.op``, ``tracer.handle``) need not import ``tracer.runtime``, which imports
``tracer.context``: no import circle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace as trace_api

from tracer.serialize import Serializer
from tracer.settings import Settings


@dataclass
class Runtime:
    """What a successful ``init`` set up; read by every traced call."""

    settings: Settings
    tracer: trace_api.Tracer
    serializer: Serializer
    processor: Any  # tracer.pipeline.SpyglassProcessor (imported only by init: needs the SDK)
    owns_provider: bool
    #: Spans go to the collector over OTLP/HTTP (not to an exporter the caller passed).
    otlp_export: bool = True


class _State:
    __slots__ = ("atexit_registered", "lock", "provider", "runtime")

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.provider: Any = None  # the SDK provider Spyglass installed, if any
        self.lock = threading.RLock()
        self.atexit_registered = False


STATE = _State()

EXPORTS = {"ok": 0}
"""Batches exported successfully by this process (any init; counted by
``tracer.pipeline.ProjectExporter``): the exit wait is skipped while it is 0 and the
collector refuses connections."""
