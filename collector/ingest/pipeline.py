"""From a decoded OTLP export request to stored rows: the one path shared by OTLP/HTTP
(``collector/api/otlp.py``) and OTLP/gRPC (``collector/ingest/grpc.py``), so both
normalize, merge GenAI events, mark duplicates, apply limits and acknowledge alike."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio.to_thread

from collector.ingest import dedup, events
from collector.ingest.columns import RowView, SpanBatch
from collector.ingest.normalize import Appender, SpanRejected, resource_info
from collector.ingest.stats import STATS
from collector.ingest.writer import Announcement

log = logging.getLogger("spyglass.ingest")


def span_batch(req: Any, auth_project: str | None, ttl_of: Any,
               use_service_name: bool = True) -> tuple[SpanBatch, int, str]:
    """The canonical rows of every storable span of an ``ExportTraceServiceRequest``, as
    columns, the number of rejected spans and a message naming why the first one was."""
    batch = SpanBatch()
    add = Appender(batch).add
    rejected = 0
    reason = ""
    for rs in req.resource_spans:
        res = resource_info(rs.resource, auth_project, use_service_name)
        ttl_days = ttl_of(res.project)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name
            for span in ss.spans:
                try:
                    add(span, res, scope_name, ttl_days)
                except SpanRejected as exc:
                    rejected += 1
                    reason = reason or f"span {span.span_id.hex() or '?'} rejected: {exc}"
                except Exception as exc:
                    # A value no check foresaw (nesting too deep to encode, ...): this span
                    # alone is lost, never the request.
                    log.warning("span %s could not be normalized: %r", span.span_id.hex(), exc)
                    rejected += 1
                    reason = reason or (f"span {span.span_id.hex() or '?'} rejected: "
                                        f"{type(exc).__name__}")
    return batch, rejected, reason


def _enrich(rows: list[RowView], storage: Any, recent: dedup.RecentCalls | None) -> None:
    """Blocking steps that may read storage: GenAI events recorded before their span, and
    duplicates of calls stored by an earlier request."""
    t0 = time.thread_time()
    try:
        events.merge_into_spans(rows, storage)
    except Exception as exc:  # enrichment must never cost the spans themselves
        log.warning("merging GenAI log events into spans failed: %s", exc)
    try:
        dedup.mark_against_stored(rows, storage, recent)
    except Exception as exc:
        log.warning("looking up stored spans for duplicates failed: %s", exc)
    spent = time.thread_time() - t0
    STATS.enrich_s += spent
    STATS.enrich_thread_s += spent


async def store_traces(state: Any, req: Any, auth_project: str | None,
                       announced: Announcement | None = None) -> tuple[int, int, str]:
    """Normalize and store an export request's spans; returns (stored, rejected, reason).
    ``announced``: the request's :meth:`BatchWriter.announce` (withdrawn here).

    Returns only after the insert carrying the spans has finished (raises the writer's
    ``Backpressure`` when it will not take them)."""
    settings = state.settings
    stats = STATS
    stats.request_started()
    t0 = time.thread_time()
    batch, rejected, reason = span_batch(
        req, auth_project, state.project_settings.ttl_days,
        getattr(settings, "project_from_service_name", True))
    t1 = time.thread_time()
    stats.normalize_s += t1 - t0
    n = len(batch)
    if n:
        idx = batch.indexes_of_kinds(dedup.LLM_KINDS)
        llm = batch.rows(idx)
        if idx:
            dedup.mark_in_batch(llm, batch.parents)
            recent = getattr(state, "recent_calls", None)
            if events.may_need_lookup(llm, state.storage) or dedup.needs_lookup(llm, recent):
                # Storage must be read: on a worker thread, which counts its own CPU (the
                # loop thread runs other requests meanwhile).
                stats.enrich_s += time.thread_time() - t1
                stats.enrich_lookups += 1
                await anyio.to_thread.run_sync(_enrich, llm, state.storage, recent)
                t1 = time.thread_time()
            elif recent is not None:
                recent.mark_and_add(batch.cols, idx)
        t2 = time.thread_time()
        stats.enrich_s += t2 - t1
        table = batch.to_arrow()
        stats.encode_s += time.thread_time() - t2
        result = await state.writer.write(table, n, announced)
        # Rows storage refused as malformed (the writer bisects them out): rejected alone.
        rejected, reason = rejected + result.rejected, reason or result.reason
        if any(not (r["input"] and r["output"]) for r in llm):
            try:
                await anyio.to_thread.run_sync(events.fill_after_insert, llm, state.storage)
            except Exception as exc:  # the spans are stored; only the late merge failed
                log.warning("merging GenAI log events into new spans failed: %s", exc)
    if announced is not None:
        announced.withdraw()
    stats.spans += n
    stats.requests += 1
    stats.request_done()
    if rejected:
        log.warning("rejected %d span(s): %s", rejected, reason)
    return n, rejected, reason


class Counters:
    """What ingest dropped on purpose, per process (logged once, shown at debug level)."""

    log_records_dropped = 0
    metric_points_dropped = 0
    _said: set[str] = set()

    @classmethod
    def say_once(cls, key: str, message: str, *args: Any) -> None:
        """Log ``message`` at info level the first time ``key`` is seen."""
        if key not in cls._said:
            cls._said.add(key)
            log.info(message, *args)


async def store_logs(state: Any, req: Any, auth_project: str | None) -> int:
    """Store the GenAI message events of a logs export request and attach them to their
    spans; other log records are dropped (counted). Returns the events stored."""
    settings = state.settings
    rows, dropped = events.event_rows(req, auth_project,
                                      getattr(settings, "project_from_service_name", True))
    if dropped:
        Counters.log_records_dropped += dropped
        Counters.say_once("logs", "OTLP log records that are not GenAI message events with a "
                          "trace and span id are dropped (%d so far in this request)", dropped)
    if rows:
        await anyio.to_thread.run_sync(events.store, rows, state.storage)
    return len(rows)


def drop_metrics(points: int) -> None:
    """Count metric data points received and dropped (metrics are not stored)."""
    Counters.metric_points_dropped += points
    Counters.say_once("metrics", "OTLP metrics are accepted and dropped: Spyglass computes "
                      "token, cost and latency dashboards from spans")
