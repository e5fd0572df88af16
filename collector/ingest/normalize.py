"""One OTLP span (with its resource and scope) -> one canonical ``spans`` row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from collector.ingest import pricing
from collector.ingest.conventions import CONVENTIONS
from collector.ingest.conventions.openinference import PROJECT_NAME
from collector.ingest.record import Mapped
from collector.ingest.values import any_value, attributes
from common import attributes as A
from common.timetext import ch_text_from_ns, rfc3339_from_ns

DEFAULT_PROJECT = "default"
DEFAULT_KIND = "span"
# Stored in ``attributes`` when the OTel SpanKind says more than "internal".
OTEL_SPAN_KIND = "otel.span_kind"
OTEL_LINKS = "otel.links"
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"

# Column ranges every value is checked against before a row reaches the writer, so a bad
# value rejects its span alone (partial_success) instead of failing a shared insert.
# DateTime64(9) stores signed 64-bit nanoseconds: the last representable instant is
# 2262-04-11T23:47:16.854775807Z. OTLP times are unsigned, so the lower end is the epoch.
MAX_TIME_NS = 2**63 - 1
# Token columns are UInt64; the total is input + output unless given, so each part is
# held to half the range and the sum can never wrap.
MAX_TOKENS = 2**63 - 1

_SPAN_KINDS = {2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}
_encode = msgspec.json.Encoder().encode


class SpanRejected(ValueError):
    """A span that cannot be stored (e.g. malformed ids); the message says why."""


@dataclass(slots=True)
class ResourceInfo:
    """What every span of one ResourceSpans shares."""

    project: str
    resource_json: str


def resource_info(resource: Any, auth_project: str | None) -> ResourceInfo:
    """Project and resource JSON of an OTLP ``Resource``.

    A request under an API key always writes to the key's project, whatever the resource
    says (a key must not write into another project). Otherwise: ``spyglass.project``,
    else ``openinference.project.name``, else ``default``."""
    attrs = attributes(resource.attributes)
    project = auth_project or attrs.get(A.PROJECT) or attrs.get(PROJECT_NAME) or DEFAULT_PROJECT
    return ResourceInfo(project=str(project), resource_json=_encode(attrs).decode())


def normalize(span: Any, res: ResourceInfo, scope_name: str, ttl_days: int = 0) -> dict[str, Any]:
    """The canonical row for one OTLP ``Span``; raises :class:`SpanRejected`."""
    trace_id = span.trace_id
    span_id = span.span_id
    if len(trace_id) != 16 or not any(trace_id):
        raise SpanRejected("trace_id must be 16 bytes and not all zero")
    if len(span_id) != 8 or not any(span_id):
        raise SpanRejected("span_id must be 8 bytes and not all zero")
    parent = span.parent_span_id
    if parent and len(parent) != 8:
        raise SpanRejected("parent_span_id must be empty or 8 bytes")

    m = Mapped(attrs=attributes(span.attributes))
    for convention in CONVENTIONS:
        convention.apply(m)

    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start > MAX_TIME_NS:
        raise SpanRejected(f"start_time_unix_nano {start} is after 2262-04-11T23:47:16Z, "
                           "the latest time storable")
    if end > MAX_TIME_NS:
        raise SpanRejected(f"end_time_unix_nano {end} is after 2262-04-11T23:47:16Z, "
                           "the latest time storable")
    if end < start:
        end = start
    status = _STATUS.get(span.status.code, "unset")
    error = span.status.message if status == "error" else ""

    events = []
    for ev in span.events:
        ev_attrs = attributes(ev.attributes)
        if ev.name == EXCEPTION_EVENT and status == "error" and not error:
            etype, emsg = ev_attrs.get(EXCEPTION_TYPE, ""), ev_attrs.get(EXCEPTION_MESSAGE, "")
            error = f"{etype}: {emsg}" if etype and emsg else str(etype or emsg)
        events.append({"name": ev.name, "time": rfc3339_from_ns(min(ev.time_unix_nano, MAX_TIME_NS)),
                       "attributes": ev_attrs})

    remaining = {k: v for k, v in m.attrs.items() if k not in m.used} if m.used else m.attrs
    otel_kind = _SPAN_KINDS.get(span.kind)
    if otel_kind:
        remaining[OTEL_SPAN_KIND] = otel_kind
    if len(span.links):
        remaining[OTEL_LINKS] = [
            {"trace_id": ln.trace_id.hex(), "span_id": ln.span_id.hex(),
             "attributes": attributes(ln.attributes)}
            for ln in span.links
        ]

    input_tokens = m.input_tokens or 0
    output_tokens = m.output_tokens or 0
    cached_tokens = m.cached_tokens or 0
    total_tokens = m.total_tokens if m.total_tokens is not None else input_tokens + output_tokens
    for label, count in (("input", input_tokens), ("output", output_tokens),
                         ("cached", cached_tokens), ("total", total_tokens)):
        if count > MAX_TOKENS:
            raise SpanRejected(f"{label} token count {count} is out of range (at most {MAX_TOKENS})")
    kind = m.kind or DEFAULT_KIND
    cost = m.cost_usd
    if cost is None and m.model and (input_tokens or output_tokens):
        cost = pricing.price(m.model, input_tokens, output_tokens, cached_tokens, start)

    return {
        "project": res.project,
        "trace_id": trace_id.hex(),
        "span_id": span_id.hex(),
        "parent_span_id": parent.hex(),
        "name": span.name or m.name,
        "kind": kind,
        "start_time": ch_text_from_ns(start),
        "end_time": ch_text_from_ns(end),
        "duration_ms": (end - start) / 1e6,
        "status": status,
        "error": error,
        "model": m.model,
        "provider": m.provider,
        "input": m.input,
        "output": m.output,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "cached_tokens": cached_tokens,
        "cost_usd": cost,
        "user_id": m.user_id,
        "session_id": m.session_id,
        "tags": m.tags,
        "metadata": _encode(m.metadata).decode() if m.metadata else "{}",
        "attributes": _encode(remaining).decode(),
        "events": _encode(events).decode() if events else "[]",
        "resource": res.resource_json,
        "scope_name": scope_name,
        "ttl_days": ttl_days,
    }


__all__ = ["DEFAULT_PROJECT", "ResourceInfo", "SpanRejected", "any_value", "normalize", "resource_info"]
