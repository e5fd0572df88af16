"""OTLP spans (with their resource and scope) -> canonical ``spans`` rows, appended
column by column to a :class:`~collector.ingest.columns.SpanBatch`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from collector.ingest import pricing
from collector.ingest.columns import NAMES, SpanBatch
from collector.ingest.conventions import KIND_BEFORE_OPENLLMETRY, TABLE
from collector.ingest.conventions.openinference import PROJECT_NAME
from collector.ingest.conventions.rules import CONVERTED, FIELDS, PRESENT, TRUTHY
from collector.ingest.values import any_value, as_str_list, attributes, json_value
from common import attributes as A
from common.timetext import rfc3339_from_ns

DEFAULT_PROJECT = "default"
SERVICE_NAME = "service.name"
# The OTel SDKs' service.name when the application set none: not a project name.
_UNKNOWN_SERVICE = "unknown_service"
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
# A span is exported only once it has ended, so UNSET means "finished without error":
# stored as ``ok`` (instrumentations rarely set OK explicitly; filtering status=ok must
# find their spans).
_STATUS = {0: "ok", 1: "ok", 2: "error"}
_encode = msgspec.json.Encoder().encode


class SpanRejected(ValueError):
    """A span that cannot be stored (e.g. malformed ids); the message says why."""


@dataclass(slots=True)
class ResourceInfo:
    """What every span of one ResourceSpans shares."""

    project: str
    resource_json: str


def project_of(attrs: dict[str, Any], auth_project: str | None = None,
               use_service_name: bool = True) -> str:
    """The project spans of a resource with ``attrs`` are stored in.

    A request under an API key always writes to the key's project, whatever the resource
    says (a key must not write into another project). Otherwise: ``spyglass.project``,
    else ``openinference.project.name``, else ``service.name`` (unless
    ``use_service_name`` is off, or it is the SDK's ``unknown_service`` placeholder),
    else ``default``."""
    if auth_project:
        return auth_project
    for key in (A.PROJECT, PROJECT_NAME):
        value = attrs.get(key)
        if value:
            return str(value)
    if use_service_name:
        service = attrs.get(SERVICE_NAME)
        if service and not str(service).startswith(_UNKNOWN_SERVICE):
            return str(service)
    return DEFAULT_PROJECT


def resource_info(resource: Any, auth_project: str | None,
                  use_service_name: bool = True) -> ResourceInfo:
    """Project (see :func:`project_of`) and resource JSON of an OTLP ``Resource``."""
    attrs = attributes(resource.attributes)
    project = project_of(attrs, auth_project, use_service_name)
    return ResourceInfo(project=project, resource_json=_encode(attrs).decode())


_UNSET = object()
_EXACT = TABLE.exact
_PREFIXES = TABLE.prefixes
_FAMILIES = TABLE.families
_COMPOSERS = TABLE.composers
_NSLOTS = len(FIELDS)
_NOT_RANKED = 1 << 30
(_KIND, _NAME, _MODEL, _PROVIDER, _INPUT, _OUTPUT, _IN_TOK, _OUT_TOK, _TOTAL_TOK, _CACHED_TOK,
 _CREATE_TOK, _RESPONSE_ID, _COST, _USER, _SESSION, _TAGS, _METADATA) = range(_NSLOTS)
_EMPTY_JSON = "{}"


def _family(key: str) -> tuple[int, int, int, str] | None:
    """(slot, rank, compose bit, prefix) of the family ``key`` belongs to; None when it
    belongs to none (a prefix match whose index is not a number stays a plain
    attribute)."""
    for prefix, indexed, slot, rank, bit in _FAMILIES:
        if key.startswith(prefix):
            if indexed and not key[len(prefix):].partition(".")[0].isdigit():
                continue
            return slot, rank, bit, prefix
    return None


def map_attributes(attrs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Apply the convention table to a span's attributes: the canonical field values
    (list indexed like ``FIELDS``; unset fields are "" / None / [] / {}) and the
    attributes no convention consumed.

    One dict lookup per attribute; the multi-attribute conventions (messages) run only
    for spans that carry one of their attributes."""
    vals: list[Any] = [_UNSET] * _NSLOTS
    ranks = [_NOT_RANKED] * _NSLOTS
    remaining: dict[str, Any] = {}
    bits = 0
    seen: set[str] = set()  # families present (compose skips scanning for absent ones)
    multi: list[tuple[int, int, Any]] | None = None
    for key, raw in attrs.items():
        entries = _EXACT.get(key)
        if entries is None:
            fam = _family(key) if key.startswith(_PREFIXES) else None
            if fam is None:
                remaining[key] = raw
            elif fam[0] >= 0:
                if multi is None:
                    multi = []
                multi.append((fam[1], fam[0], (key[len(fam[3]):], raw)))
                if raw is None:  # an empty value is not consumed (kept in attributes)
                    remaining[key] = raw
            else:
                bits |= fam[2]
                seen.add(fam[3])
            continue
        if raw is None:  # an empty AnyValue names nothing and stays in attributes
            remaining[key] = raw
            for entry in entries:
                bits |= entry[4]
            continue
        take = False
        for slot, rank, mode, convert, bit, taken in entries:
            take = take or taken
            if slot < 0:
                bits |= bit
            elif rank < ranks[slot]:
                if mode == TRUTHY:
                    if raw:
                        vals[slot] = convert(raw)
                        ranks[slot] = rank
                elif mode == PRESENT:
                    if raw is not None:
                        vals[slot] = convert(raw)
                        ranks[slot] = rank
                elif mode == CONVERTED:
                    value = convert(raw)
                    if value is not None:
                        vals[slot] = value
                        ranks[slot] = rank
                else:  # MULTI
                    if multi is None:
                        multi = []
                    multi.append((rank, slot, raw))
        if not take:
            remaining[key] = raw
    kind = vals[_KIND]
    if bits and (vals[_INPUT] is _UNSET or vals[_OUTPUT] is _UNSET):
        # Messages built from several attributes: the first convention that yields a
        # non-empty text wins, after the single-attribute rules (Spyglass's own).
        kind_before = kind if ranks[_KIND] < KIND_BEFORE_OPENLLMETRY else ""
        for bit, compose, _ in _COMPOSERS:
            if bits & bit:
                inp, out = compose(attrs, "" if kind_before is _UNSET else kind_before, seen)
                if inp and vals[_INPUT] is _UNSET:
                    vals[_INPUT] = inp
                if out and vals[_OUTPUT] is _UNSET:
                    vals[_OUTPUT] = out
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    if multi:
        multi.sort(key=_rank)
        for _, slot, raw in multi:
            if slot == _TAGS:
                if raw is not None:
                    tags.extend(t for t in as_str_list(raw) if t not in tags)
            elif isinstance(raw, tuple):  # a family member: (suffix, value) -> metadata
                metadata.setdefault(raw[0], raw[1])
            else:
                parsed = json_value(raw)
                if isinstance(parsed, dict):
                    for k, v in parsed.items():
                        metadata.setdefault(k, v)
    for slot in range(_NSLOTS):
        if vals[slot] is _UNSET:
            vals[slot] = _DEFAULTS[slot]
    vals[_TAGS] = tags
    vals[_METADATA] = metadata
    return vals, remaining


def _rank(item: tuple[int, int, Any]) -> int:
    return item[0]


_DEFAULTS: list[Any] = [None if f in ("input_tokens", "output_tokens", "total_tokens",
                                      "cached_tokens", "cache_creation_tokens", "cost_usd")
                        else "" for f in FIELDS]


class Appender:
    """Normalizes spans into a :class:`SpanBatch`: every check runs before the first
    column is appended, so a rejected span leaves no partial row."""

    def __init__(self, batch: SpanBatch) -> None:
        self.batch = batch
        cols = batch.cols
        self._appends = tuple(cols[name].append for name in NAMES)
        self._rid = cols["_response_id"].append

    def add(self, span: Any, res: ResourceInfo, scope_name: str, ttl_days: int = 0) -> None:
        """Append the canonical row of one OTLP ``Span``; raises :class:`SpanRejected`."""
        trace_id = span.trace_id
        span_id = span.span_id
        if len(trace_id) != 16 or not any(trace_id):
            raise SpanRejected("trace_id must be 16 bytes and not all zero")
        if len(span_id) != 8 or not any(span_id):
            raise SpanRejected("span_id must be 8 bytes and not all zero")
        parent = span.parent_span_id
        if parent and len(parent) != 8:
            raise SpanRejected("parent_span_id must be empty or 8 bytes")

        attrs = attributes(span.attributes)
        vals, remaining = map_attributes(attrs)

        start, end = span.start_time_unix_nano, span.end_time_unix_nano
        if start > MAX_TIME_NS:
            raise SpanRejected(f"start_time_unix_nano {start} is after 2262-04-11T23:47:16Z, "
                               "the latest time storable")
        if end > MAX_TIME_NS:
            raise SpanRejected(f"end_time_unix_nano {end} is after 2262-04-11T23:47:16Z, "
                               "the latest time storable")
        if end < start:
            end = start
        status_pb = span.status
        status = _STATUS.get(status_pb.code, "ok")
        error = status_pb.message if status == "error" else ""

        events_json = "[]"
        if len(span.events):
            events = []
            for ev in span.events:
                ev_attrs = attributes(ev.attributes)
                if ev.name == EXCEPTION_EVENT and status == "error" and not error:
                    etype = ev_attrs.get(EXCEPTION_TYPE, "")
                    emsg = ev_attrs.get(EXCEPTION_MESSAGE, "")
                    error = f"{etype}: {emsg}" if etype and emsg else str(etype or emsg)
                events.append({"name": ev.name,
                               "time": rfc3339_from_ns(min(ev.time_unix_nano, MAX_TIME_NS)),
                               "attributes": ev_attrs})
            events_json = _encode(events).decode()

        otel_kind = _SPAN_KINDS.get(span.kind)
        if otel_kind:
            remaining[OTEL_SPAN_KIND] = otel_kind
        if len(span.links):
            remaining[OTEL_LINKS] = [
                {"trace_id": ln.trace_id.hex(), "span_id": ln.span_id.hex(),
                 "attributes": attributes(ln.attributes)}
                for ln in span.links
            ]

        input_tokens = vals[_IN_TOK] or 0
        output_tokens = vals[_OUT_TOK] or 0
        cached_tokens = vals[_CACHED_TOK] or 0
        total = vals[_TOTAL_TOK]
        total_tokens = total if total is not None else input_tokens + output_tokens
        if (input_tokens > MAX_TOKENS or output_tokens > MAX_TOKENS or cached_tokens > MAX_TOKENS
                or total_tokens > MAX_TOKENS):
            for label, count in (("input", input_tokens), ("output", output_tokens),
                                 ("cached", cached_tokens), ("total", total_tokens)):
                if count > MAX_TOKENS:
                    raise SpanRejected(
                        f"{label} token count {count} is out of range (at most {MAX_TOKENS})")
        model = vals[_MODEL]
        cost = vals[_COST]
        if cost is None and model and (input_tokens or output_tokens):
            cost = pricing.price(model, input_tokens, output_tokens, cached_tokens, start,
                                 vals[_CREATE_TOK] or 0)
        metadata = vals[_METADATA]
        attributes_json = _encode(remaining).decode() if remaining else _EMPTY_JSON

        (a_project, a_trace, a_span, a_parent, a_name, a_kind, a_start, a_end, a_duration,
         a_status, a_error, a_model, a_provider, a_input, a_output, a_in, a_out, a_total,
         a_cached, a_cost, a_user, a_session, a_tags, a_metadata, a_attributes, a_events,
         a_resource, a_scope, a_ttl, a_duplicate) = self._appends
        a_project(res.project)
        a_trace(trace_id.hex())
        a_span(span_id.hex())
        a_parent(parent.hex())
        a_name(span.name or vals[_NAME])
        a_kind(vals[_KIND] or DEFAULT_KIND)
        a_start(start)
        a_end(end)
        a_duration((end - start) / 1e6)
        a_status(status)
        a_error(error)
        a_model(model)
        a_provider(vals[_PROVIDER])
        a_input(vals[_INPUT])
        a_output(vals[_OUTPUT])
        a_in(input_tokens)
        a_out(output_tokens)
        a_total(total_tokens)
        a_cached(cached_tokens)
        a_cost(cost)
        a_user(vals[_USER])
        a_session(vals[_SESSION])
        a_tags(vals[_TAGS])
        a_metadata(_encode(metadata).decode() if metadata else _EMPTY_JSON)
        a_attributes(attributes_json)
        a_events(events_json)
        a_resource(res.resource_json)
        a_scope(scope_name)
        a_ttl(ttl_days)
        a_duplicate("")
        self._rid(vals[_RESPONSE_ID])


__all__ = ["DEFAULT_PROJECT", "Appender", "ResourceInfo", "SpanRejected", "any_value",
           "map_attributes", "project_of", "resource_info"]
