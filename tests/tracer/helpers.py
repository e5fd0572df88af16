"""Tracer test helpers: spans captured by the in-memory exporter, and the OTLP/HTTP
receiver's records. Imported as ``tests.tracer.helpers``: a bare ``from conftest import``
picks whichever part's conftest pytest loaded last."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracer


class Traced:
    """Spans captured by the in-memory exporter, with lookups tests need."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def spans(self) -> list[ReadableSpan]:
        """Every finished span so far (flushes the batch processor first)."""
        assert tracer.flush(10), "flush did not finish"
        return list(self.exporter.get_finished_spans())

    def by_name(self, name: str) -> list[ReadableSpan]:
        """Finished spans called ``name``."""
        return [s for s in self.spans() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The single finished span called ``name``."""
        found = self.by_name(name)
        assert len(found) == 1, f"expected one {name!r} span, got {[s.name for s in self.spans()]}"
        return found[0]

    def clear(self) -> None:
        """Forget spans exported so far."""
        tracer.flush(10)
        self.exporter.clear()


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict."""
    return dict(span.attributes or {})


def parent_id(span: ReadableSpan) -> int | None:
    """The parent's span id, or None for a root."""
    return span.parent.span_id if span.parent else None


def json_attr(span: ReadableSpan, key: str) -> Any:
    """A JSON-text attribute, decoded."""
    return json.loads(span.attributes[key])


# ------------------------------------------------------------------ OTLP receiver


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def traces(self) -> ExportTraceServiceRequest:
        """The body decoded as an OTLP trace export request."""
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.body)
        return request

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local OTLP/HTTP endpoint: records every POST and answers like a collector."""

    url: str
    requests: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, path: str, count: int = 1, timeout_s: float = 15.0) -> list[Received]:
        """Requests to ``path`` once at least ``count`` arrived (fails after the timeout)."""
        with self.arrived:
            self.arrived.wait_for(
                lambda: len([r for r in self.requests if r.path == path]) >= count, timeout_s)
            found = [r for r in self.requests if r.path == path]
        assert len(found) >= count, f"expected {count} requests to {path}, got {len(found)}"
        return found

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received so far."""
        out = []
        for request in [r for r in self.requests if r.path == "/v1/traces"]:
            for rs in request.traces().resource_spans:
                resource = {kv.key: any_value(kv.value) for kv in rs.resource.attributes}
                for ss in rs.scope_spans:
                    out.extend((resource, span) for span in ss.spans)
        return out


def any_value(value: Any) -> Any:
    """A protobuf AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def span_attrs(span: Any) -> dict[str, Any]:
    """A protobuf span's attributes as a dict."""
    return {kv.key: any_value(kv.value) for kv in span.attributes}
