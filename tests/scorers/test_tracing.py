"""Scorer, judge and guardrail spans, through the real tracer and OTel SDK (in-memory exporter)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stubs.openai_server import OpenAIStub

import tracer
from common import attributes as A
from scorers import Guardrail, exact_match, llm_judge, pii, scorer, secrets
from tracer import op

EMAIL = "jane.roe@example.com"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracer.init(project="scorers-tracing", exporter=exporter)
    try:
        yield exporter
    finally:
        tracer.shutdown()


def finished(exporter: InMemorySpanExporter) -> dict[str, object]:
    assert tracer.flush(10)
    return {s.name: s for s in exporter.get_finished_spans()}


def all_attribute_text(exporter: InMemorySpanExporter) -> str:
    return json.dumps([dict(s.attributes) for s in exporter.get_finished_spans()], default=str)


def test_guardrail_block_is_a_guardrail_span_under_the_current_op(spans: InMemorySpanExporter) -> None:
    guard = Guardrail([pii(), secrets()], name="output-guard")

    @op
    def handle(question: str) -> str:
        result = guard.check(f"Write to {EMAIL}.")
        return "blocked" if result.blocked else result.text

    assert handle("contact?") == "blocked"
    by_name = finished(spans)
    parent, span = by_name["handle"], by_name["output-guard"]
    assert span.parent.span_id == parent.context.span_id
    assert span.attributes[A.OP_KIND] == "guardrail"
    assert span.attributes[A.GUARDRAIL_PASSED] is False
    assert span.attributes[A.GUARDRAIL_ACTION] == "block"
    assert tuple(span.attributes[A.GUARDRAIL_FAILED_SCORERS]) == ("pii",)
    assert span.end_time > span.start_time
    # The guarded text itself is never recorded.
    assert "jane.roe" not in all_attribute_text(spans)
    assert json.loads(span.attributes[A.INPUTS]) == {"scorers": ["pii", "secrets"], "chars": len(f"Write to {EMAIL}.")}


def test_redact_records_only_the_redacted_text(spans: InMemorySpanExporter) -> None:
    result = Guardrail([pii()], on_fail="redact").check(f"Write to {EMAIL}.")
    assert result.text == "Write to [EMAIL]."
    span = finished(spans)["guardrail"]
    assert span.attributes[A.GUARDRAIL_ACTION] == "redact"
    assert json.loads(span.attributes[A.OUTPUT])["redacted_text"] == "Write to [EMAIL]."
    assert "jane.roe" not in all_attribute_text(spans)


def test_a_passing_check_and_a_fail_open_timeout_record_their_verdicts(
        spans: InMemorySpanExporter, openai_stub: OpenAIStub) -> None:
    openai_stub.hang(10.0)
    judge = llm_judge.toxicity(base_url=openai_stub.base_url, model="m", max_retries=0, cache=False)
    result = Guardrail([pii(), judge], timeout_s=0.3, name="g").check("all good")
    assert result.passed and result.errors
    span = finished(spans)["g"]
    assert span.attributes[A.GUARDRAIL_PASSED] is True
    assert span.attributes[A.GUARDRAIL_ACTION] == "pass"
    assert "timed out" in json.loads(span.attributes[A.OUTPUT])["errors"][0]


def test_judge_in_a_guardrail_nests_an_llm_span_with_tokens_and_cost(
        spans: InMemorySpanExporter, openai_stub: OpenAIStub) -> None:
    openai_stub.reply('{"reasoning": "polite", "score": false}', model="gpt-4o-mini", usage=(100, 20))
    judge = llm_judge.toxicity(base_url=openai_stub.base_url, model="gpt-4o-mini", cache=False)
    assert Guardrail([pii(), judge]).check("Thanks for asking!").passed
    by_name = finished(spans)
    guard, tox, llm = by_name["guardrail"], by_name["toxicity"], by_name["toxicity.llm"]
    assert tox.parent.span_id == guard.context.span_id
    assert llm.parent.span_id == tox.context.span_id
    assert tox.attributes[A.OP_KIND] == "guardrail"  # a scorer inside a guardrail
    assert tox.attributes[A.SCORE_NAME] == "toxicity" and tox.attributes[A.SCORE_VALUE] is False
    assert llm.attributes[A.OP_KIND] == "llm"
    assert llm.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert llm.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 20
    assert llm.attributes[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"
    assert llm.attributes[A.COST_USD] > 0
    messages = json.loads(llm.attributes[A.GEN_AI_INPUT_MESSAGES])
    assert messages[0]["role"] == "system" and "Thanks for asking!" in messages[1]["content"]
    assert "pii" not in by_name  # cheap rule checks add no span of their own


def test_evaluator_spans_carry_the_score(spans: InMemorySpanExporter) -> None:
    @op
    def row() -> bool:
        return exact_match(case_sensitive=False).score(output="Paris", expected="paris").value

    assert row() is True
    by_name = finished(spans)
    span = by_name["exact_match"]
    assert span.parent.span_id == by_name["row"].context.span_id
    assert span.attributes[A.OP_KIND] == "evaluator"
    assert span.attributes[A.SCORE_NAME] == "exact_match"
    assert span.attributes[A.SCORE_VALUE] is True
    assert json.loads(span.attributes[A.INPUTS]) == {"output": "Paris", "expected": "paris"}
    assert json.loads(span.attributes[A.OUTPUT])["passed"] is True


async def test_async_scorers_are_traced(spans: InMemorySpanExporter) -> None:
    @scorer
    async def words(output: str) -> float:
        return float(len(output.split()))

    assert (await words.ascore(output="a b c")).value == 3.0
    span = finished(spans)["words"]
    assert span.attributes[A.OP_KIND] == "evaluator" and span.attributes[A.SCORE_VALUE] == 3.0


def test_cached_judge_calls_make_no_llm_span(spans: InMemorySpanExporter, openai_stub: OpenAIStub) -> None:
    openai_stub.reply('{"reasoning": "right", "score": true}', usage=(40, 5))
    fields = {"output": "4", "expected": "4", "input": "2+2?"}
    judge = llm_judge.correctness(base_url=openai_stub.base_url, model="gpt-4o-mini")
    judge.score(**fields)
    judge.score(**fields)
    names = [s.name for s in spans.get_finished_spans()] if tracer.flush(10) else []
    assert names.count("correctness") == 2 and names.count("correctness.llm") == 1
    assert len(openai_stub.chat_requests()) == 1


def test_without_tracing_scorers_still_work_and_emit_nothing() -> None:
    exporter = InMemorySpanExporter()
    tracer.init(project="scorers-off", exporter=exporter)
    tracer.shutdown()
    assert Guardrail([pii()]).check(f"mail {EMAIL}").blocked
    assert exact_match().score(output="a", expected="a").value is True
    assert exporter.get_finished_spans() == ()


async def test_untraced_checks_never_write_onto_the_callers_own_span() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer.shutdown()  # Spyglass tracing off; the application has its own OTel span open
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("app").start_as_current_span("app-request"):
        assert Guardrail([pii()]).check(f"mail {EMAIL}").blocked
        assert (await Guardrail([pii()]).acheck(f"mail {EMAIL}")).blocked
        assert exact_match().score(output="a", expected="a").value is True
    (span,) = exporter.get_finished_spans()
    assert span.name == "app-request" and dict(span.attributes) == {}
    provider.shutdown()


def test_check_needs_text() -> None:
    with pytest.raises(TypeError, match="text must be a str, got NoneType"):
        Guardrail([pii()]).check(None)  # type: ignore[arg-type]
