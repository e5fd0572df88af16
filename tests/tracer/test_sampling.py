"""Head sampling by trace: decided once at the root, children always follow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracer
from tests.tracer.helpers import Traced
from tracer import op


@op
def leaf(i: int) -> int:
    return i


@op
def mid(i: int) -> int:
    return leaf(i) + leaf(i)


@op
def root(i: int) -> int:
    return mid(i) + leaf(i)


def sampled(rate: float) -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    tracer.init(project="sampling", exporter=exporter, sample_rate=rate)
    yield Traced(exporter)
    tracer.shutdown()


@pytest.fixture
def half() -> Iterator[Traced]:
    yield from sampled(0.5)


@pytest.fixture
def none() -> Iterator[Traced]:
    yield from sampled(0.0)


def test_rate_zero_records_nothing_but_runs_everything(none: Traced) -> None:
    assert [root(i) for i in range(20)] == [3 * i for i in range(20)]
    assert none.spans() == []

    @op
    def who_am_i() -> str | None:
        return tracer.current_span().trace_id

    # The context still carries a (non-recording) span, so ids stay consistent.
    assert who_am_i() is not None
    assert tracer.current_span().add_feedback("x", 1) is False


def test_half_rate_keeps_whole_traces_or_nothing(half: Traced) -> None:
    n = 200
    for i in range(n):
        root(i)
    spans = half.spans()
    by_trace: dict[int, list[str]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span.name)
    # Every kept trace is complete: 1 root, 1 mid, 3 leaves.
    for names in by_trace.values():
        assert sorted(names) == ["leaf", "leaf", "leaf", "mid", "root"]
    kept = len(by_trace)
    assert 0 < kept < n  # binomial(200, 0.5): outside (0, 200) has probability ~1e-60
    # Children never exist without their parent.
    ids = {s.context.span_id for s in spans}
    assert all(s.parent is None or s.parent.span_id in ids for s in spans)


def test_reinit_changes_the_rate() -> None:
    for rate, expected in ((0.0, 0), (1.0, 10)):
        exporter = InMemorySpanExporter()
        tracer.init(project="sampling", exporter=exporter, sample_rate=rate)
        for i in range(10):
            leaf(i)
        tracer.flush(5)
        assert len(exporter.get_finished_spans()) == expected
        tracer.shutdown()
