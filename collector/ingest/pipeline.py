"""From a decoded OTLP export request to stored rows: the one path shared by OTLP/HTTP
(``collector/api/otlp.py``) and OTLP/gRPC (``collector/ingest/grpc.py``), so both
normalize, merge GenAI events, mark duplicates, apply limits and acknowledge alike."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import msgspec

from collector.ingest import dedup, events
from collector.ingest.normalize import SpanRejected, normalize, resource_info

log = logging.getLogger("spyglass.ingest")
_encode = msgspec.json.Encoder().encode
PRIVATE_KEYS = ("_response_id", "_start_ns", "_end_ns")


def span_rows(req: Any, auth_project: str | None, ttl_of: Any,
              use_service_name: bool = True) -> tuple[list[dict[str, Any]], int, str]:
    """Canonical rows for every storable span of an ``ExportTraceServiceRequest``, the
    number of rejected spans and a message naming why the first one was rejected."""
    rows: list[dict[str, Any]] = []
    rejected = 0
    reason = ""
    for rs in req.resource_spans:
        res = resource_info(rs.resource, auth_project, use_service_name)
        ttl_days = ttl_of(res.project)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name
            for span in ss.spans:
                try:
                    rows.append(normalize(span, res, scope_name, ttl_days))
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
    return rows, rejected, reason


def encode_rows(rows: list[dict[str, Any]]) -> list[bytes]:
    """JSONEachRow lines, without the private keys normalize adds for this pipeline."""
    out = []
    for row in rows:
        for key in PRIVATE_KEYS:
            row.pop(key, None)
        out.append(_encode(row))
    return out


def _enrich(rows: list[dict[str, Any]], storage: Any) -> None:
    """Blocking steps that read storage: GenAI events recorded before their span, and
    duplicates of calls stored by an earlier request."""
    try:
        events.merge_into_spans(rows, storage)
    except Exception as exc:  # enrichment must never cost the spans themselves
        log.warning("merging GenAI log events into spans failed: %s", exc)
    try:
        dedup.mark_against_stored(rows, storage)
    except Exception as exc:
        log.warning("looking up stored spans for duplicates failed: %s", exc)


async def store_traces(state: Any, req: Any, auth_project: str | None) -> tuple[int, int, str]:
    """Normalize and store an export request's spans; returns (stored, rejected, reason).

    Returns only after the insert carrying the spans has finished (raises the writer's
    ``Backpressure`` when it will not take them)."""
    settings = state.settings
    rows, rejected, reason = span_rows(
        req, auth_project, state.project_settings.ttl_days,
        getattr(settings, "project_from_service_name", True))
    if rows:
        dedup.mark_in_batch(rows)
        if any(r["kind"] in dedup.LLM_KINDS for r in rows):
            await anyio.to_thread.run_sync(_enrich, rows, state.storage)
        lines = encode_rows(rows)
        result = await state.writer.write(b"\n".join(lines), len(lines))
        # Rows storage refused as malformed (the writer bisects them out): rejected alone.
        rejected, reason = rejected + result.rejected, reason or result.reason
        if any(r["kind"] in dedup.LLM_KINDS and not (r["input"] and r["output"]) for r in rows):
            try:
                await anyio.to_thread.run_sync(events.fill_after_insert, rows, state.storage)
            except Exception as exc:  # the spans are stored; only the late merge failed
                log.warning("merging GenAI log events into new spans failed: %s", exc)
    if rejected:
        log.warning("rejected %d span(s): %s", rejected, reason)
    return len(rows), rejected, reason


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
