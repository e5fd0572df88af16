"""Tracing never raises into user code: failures are swallowed and logged once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, attrs, json_attr
from tracer import op


class Exploding:
    """Every way an object can fight serialization."""

    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"attribute {name} exploded")

    def __len__(self) -> int:
        raise RuntimeError("len exploded")


class HostileModel:
    """Looks like a pydantic model; its dump raises."""

    model_fields = None

    def model_dump(self) -> dict:
        raise RuntimeError("dump exploded")

    def __repr__(self) -> str:
        return "HostileModel()"


def test_unserializable_inputs_and_outputs_do_not_break_the_call(traced: Traced) -> None:
    @op
    def f(x: object, y: object) -> object:
        return Exploding()

    result = f(Exploding(), HostileModel())
    assert isinstance(result, Exploding)
    span = traced.one("f")
    inputs = json_attr(span, A.INPUTS)
    assert inputs["x"] == "<unrepresentable Exploding>"
    assert inputs["y"] in ("HostileModel()", "<unserializable HostileModel>")
    assert json_attr(span, A.OUTPUT) == "<unrepresentable Exploding>"


def test_raising_hooks_are_logged_once_and_the_call_returns(
        traced: Traced, caplog: pytest.LogCaptureFixture) -> None:
    def bad_inputs(inputs: dict) -> dict:
        raise KeyError("hook bug")

    @op(postprocess_inputs=bad_inputs, postprocess_output=lambda out: 1 / 0)
    def g(x: int) -> int:
        return x

    with caplog.at_level(logging.WARNING, logger="spyglass.tracer"):
        assert [g(i) for i in range(3)] == [0, 1, 2]
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("postprocess_inputs of op 'g' raised" in m for m in warnings) == 1
    assert sum("postprocess_output of op 'g' raised" in m for m in warnings) == 1
    assert tracer.failure_counts()["postprocess_output:g"] == 3
    spans = traced.by_name("g")
    assert len(spans) == 3
    assert all(json_attr(s, A.INPUTS) == {} and A.OUTPUT not in attrs(s) for s in spans)


def test_llm_op_with_a_nonsense_response_still_records_the_span(traced: Traced) -> None:
    @op(kind="llm")
    def weird(messages: object) -> object:
        return Exploding()

    assert isinstance(weird(Exploding()), Exploding)
    assert attrs(traced.one("weird"))[A.OP_KIND] == "llm"


class RaisingExporter(SpanExporter):
    """An exporter that fails the way a broken backend would."""

    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionResetError("backend went away")

    def shutdown(self) -> None:
        raise RuntimeError("shutdown exploded")


def test_exporter_failures_are_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    exporter = RaisingExporter()
    tracer.init(project="failures", exporter=exporter)
    try:
        with caplog.at_level(logging.WARNING, logger="spyglass.tracer"):
            assert op(lambda: "fine")() == "fine"
            tracer.flush(5)
            assert op(lambda: "again")() == "again"
            tracer.flush(5)
        assert exporter.calls == 2
        assert tracer.failure_counts()["export_failed"] >= 2
        assert sum("could not export" in r.getMessage() for r in caplog.records) <= 1
    finally:
        assert tracer.shutdown(5) is True  # the raising shutdown is swallowed too


def test_a_failing_tracer_start_runs_the_call_untraced(
        traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the OTel tracer itself breaks, the user's function still runs normally."""
    from tracer.runtime import STATE

    class BrokenTracer:
        def start_span(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("otel broke")

    monkeypatch.setattr(STATE.runtime, "tracer", BrokenTracer())

    @op
    def h(x: int) -> int:
        return x * 3

    assert h(2) == 6
    assert tracer.failure_counts()["start"] >= 1


def test_llm_ops_still_trace_when_tracer_llm_cannot_be_imported() -> None:
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        sys.modules["tracer.llm"] = None  # makes `from tracer import llm` fail
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import tracer
        from common import attributes as A
        from tracer import op

        exporter = InMemorySpanExporter()
        tracer.init(project="no-llm", exporter=exporter)

        @op(kind="llm")
        def ask(question):
            tracer.log_usage(input_tokens=3)
            return {"usage": {"prompt_tokens": 1}}

        assert ask("q") == {"usage": {"prompt_tokens": 1}}
        assert ask("q2") == {"usage": {"prompt_tokens": 1}}
        tracer.flush(5)
        spans = exporter.get_finished_spans()
        print(len(spans), spans[0].attributes[A.OP_KIND],
              spans[0].attributes[A.GEN_AI_USAGE_INPUT_TOKENS],
              tracer.failure_counts()["llm_import"])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    # Explicit usage is still recorded; the import failure is logged once.
    assert result.stdout.split() == ["2", "llm", "3", "1"]
    assert result.stderr.count("tracer.llm is unavailable") == 1
