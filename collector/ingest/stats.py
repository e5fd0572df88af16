"""Cheap CPU counters per ingest stage, so ``benchmarks/ingest.py`` can report µs per
span by stage from a real collector (logged once at shutdown when spans were received).

Each stage adds the CPU time of the thread it runs on (``time.thread_time``: a few
hundred ns per call, one or two calls per request or insert, never per span):

- ``decode``: protobuf/JSON body -> ``ExportTraceServiceRequest`` (event-loop thread);
- ``normalize``: the request's spans -> columns (event-loop thread);
- ``enrich``: duplicates and GenAI-event lookups (loop thread, or a worker thread when
  storage must be read: ``enrich_thread``);
- ``encode``: columns -> Arrow table (event-loop thread);
- ``insert``: the writer thread's CPU in the storage insert (serializing Arrow, and for
  chDB parsing and writing the part, which chDB runs on the calling thread).

``loop_s`` is the event-loop thread's CPU between the first and the last request, so
``loop_s`` minus the loop stages is HTTP (uvicorn, Litestar, reading the body, the
response); ``process_s`` is the whole process over the same window, so what no stage
counts (chDB's own threads: merges, materialized views) is ``process_s`` minus the rest.
``gc_s`` is the CPU of Python's cyclic garbage collector, part of whichever stage
triggered it.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, fields
from typing import Any

log = logging.getLogger("spyglass.ingest")


@dataclass
class IngestStats:
    """Counters of one collector process (see the module docstring)."""

    spans: int = 0
    requests: int = 0
    decode_s: float = 0.0
    normalize_s: float = 0.0
    enrich_s: float = 0.0
    enrich_thread_s: float = 0.0  # the part of enrich_s spent on worker threads
    enrich_lookups: int = 0  # requests whose enrichment had to read storage
    encode_s: float = 0.0
    insert_s: float = 0.0
    inserts: int = 0
    first_loop: float = -1.0
    first_process: float = -1.0
    loop_s: float = 0.0
    process_s: float = 0.0
    # Python's cyclic garbage collector, on whichever thread triggered it (inside the
    # stages above), and the collections by generation.
    gc_s: float = 0.0
    gc_runs: int = 0
    gc_full_runs: int = 0
    _gc_started: float = -1.0

    def request_started(self) -> None:
        """Mark the start of the measured window at the first request."""
        if self.first_loop < 0:
            self.first_loop = time.thread_time()
            self.first_process = time.process_time()
            gc.callbacks.append(self._gc_event)

    def _gc_event(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        elif self._gc_started >= 0:
            self.gc_s += time.thread_time() - self._gc_started
            self.gc_runs += 1
            self.gc_full_runs += info.get("generation") == 2
            self._gc_started = -1.0

    def request_done(self) -> None:
        """Extend the measured window to now (call on the event-loop thread)."""
        if self.first_loop >= 0:
            self.loop_s = time.thread_time() - self.first_loop
            self.process_s = time.process_time() - self.first_process

    def line(self) -> str:
        """``ingest stats: spans=N requests=N decode_s=... `` (one log line, parseable)."""
        return "ingest stats: " + " ".join(
            f"{f.name}={getattr(self, f.name):.6f}" if isinstance(getattr(self, f.name), float)
            else f"{f.name}={getattr(self, f.name)}" for f in fields(self)
            if not f.name.startswith(("first_", "_")))

    def log_if_used(self) -> None:
        """Log :meth:`line` at info level when this process received spans."""
        if self.spans:
            log.info("%s", self.line())


STATS = IngestStats()
