"""Every convention (Spyglass, OTel GenAI, OpenInference, OpenLLMetry) lands in the same
canonical columns, from stock OTel SDK spans sent by the real OTLP exporter."""

from __future__ import annotations

import json

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from common import attributes as A
from common.pricing import cost_usd

MESSAGES_IN = [{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "Capital of France?"}]
MESSAGES_OUT = [{"role": "assistant", "content": "Paris."}]

GENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}]),
    "gen_ai.output.messages": json.dumps(
        [{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}]),
    "gen_ai.conversation.id": "sess-1",
    "gen_ai.request.temperature": 0.2,
}

OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.token_count.prompt": 1200,
    "llm.token_count.completion": 300,
    "llm.token_count.total": 1500,
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Be brief.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.content": "Capital of France?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Paris.",
    "input.value": '{"messages": "raw request"}',
    "input.mime_type": "application/json",
    "session.id": "sess-1",
    "user.id": "user-7",
    "tag.tags": ["prod", "eu"],
    "metadata": json.dumps({"tenant": "acme"}),
    "gen_ai.request.temperature": 0.2,
}

OPENLLMETRY = {
    "llm.request.type": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.prompt_tokens": 1200,
    "gen_ai.usage.completion_tokens": 300,
    "llm.usage.total_tokens": 1500,
    "gen_ai.prompt.0.role": "system",
    "gen_ai.prompt.0.content": "Be brief.",
    "gen_ai.prompt.1.role": "user",
    "gen_ai.prompt.1.content": "Capital of France?",
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Paris.",
    "gen_ai.completion.0.finish_reason": "stop",
    "traceloop.association.properties.session_id": "sess-1",
    "traceloop.association.properties.user_id": "user-7",
    "traceloop.association.properties.tenant": "acme",
    "gen_ai.request.temperature": 0.2,
}

CANONICAL = ("kind", "model", "provider", "input_tokens", "output_tokens", "total_tokens",
             "cost_usd", "session_id")


def send(url: str, project: str, name: str, attrs: dict) -> None:
    """One span with ``attrs`` from a stock SDK through the real OTLP/HTTP exporter."""
    tp = TracerProvider(resource=Resource.create({"spyglass.project": project}))
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    with tp.get_tracer("conventions").start_as_current_span(name) as span:
        span.set_attributes(attrs)
    tp.shutdown()


@pytest.fixture(scope="module")
def rows(collector, tmp_path_factory) -> dict[str, dict]:
    project = "conventions"
    send(collector.url, project, "genai", GENAI)
    send(collector.url, project, "openinference", OPENINFERENCE)
    send(collector.url, project, "openllmetry", OPENLLMETRY)
    found = collector.storage.query(
        "SELECT * FROM spans FINAL WHERE project = 'conventions'")
    return {r["name"]: r for r in found}


def test_genai_and_openinference_normalize_alike(rows):
    genai, oi = rows["genai"], rows["openinference"]
    assert genai["kind"] == "llm" and genai["model"] == "gpt-4o-mini"
    assert genai["provider"] == "openai"
    assert (genai["input_tokens"], genai["output_tokens"], genai["total_tokens"]) == (1200, 300, 1500)
    assert {c: genai[c] for c in CANONICAL} == {c: oi[c] for c in CANONICAL}
    assert json.loads(genai["input"]) == json.loads(oi["input"]) == MESSAGES_IN
    assert json.loads(genai["output"]) == json.loads(oi["output"]) == MESSAGES_OUT


def test_openllmetry_normalizes_alike(rows):
    tl, oi = rows["openllmetry"], rows["openinference"]
    assert {c: tl[c] for c in CANONICAL} == {c: oi[c] for c in CANONICAL}
    assert json.loads(tl["input"]) == MESSAGES_IN
    out = json.loads(tl["output"])
    assert [{k: m[k] for k in ("role", "content")} for m in out] == MESSAGES_OUT
    assert out[0]["finish_reason"] == "stop"
    assert tl["user_id"] == oi["user_id"] == "user-7"
    assert json.loads(tl["metadata"]) == json.loads(oi["metadata"]) == {"tenant": "acme"}


def test_openinference_tags_user_and_metadata(rows):
    oi = rows["openinference"]
    assert oi["tags"] == ["prod", "eu"]
    assert oi["user_id"] == "user-7"


def test_mapped_attributes_are_not_stored_twice(rows):
    for name in ("genai", "openinference", "openllmetry"):
        # Only the attribute no convention maps to a column remains.
        assert json.loads(rows[name]["attributes"]) == {"gen_ai.request.temperature": 0.2}, name


def test_llm_spans_are_priced_at_ingest(rows):
    expected = cost_usd("gpt-4o-mini", 1200, 300)
    assert expected is not None and expected > 0
    assert rows["genai"]["cost_usd"] == pytest.approx(expected)


def test_explicit_cost_wins_and_unknown_model_is_null(collector):
    project = "pricing"
    send(collector.url, project, "explicit", {**GENAI, A.COST_USD: 0.5})
    send(collector.url, project, "unknown", {**GENAI, "gen_ai.request.model": "no-such-model-x"})
    send(collector.url, project, "no-tokens", {"gen_ai.request.model": "gpt-4o-mini"})
    found = {r["name"]: r for r in collector.storage.query(
        "SELECT name, cost_usd FROM spans FINAL WHERE project = 'pricing'")}
    assert found["explicit"]["cost_usd"] == 0.5
    assert found["unknown"]["cost_usd"] is None
    assert found["no-tokens"]["cost_usd"] is None


def test_spyglass_attributes(collector):
    send(collector.url, "spyglass-attrs", "answer", {
        A.OP_KIND: "chain",
        A.INPUTS: json.dumps({"question": "hi"}),
        A.OUTPUT: json.dumps("hello"),
        A.USER_ID: "u1", A.SESSION_ID: "s1", A.TAGS: ["a", "b"],
        A.METADATA: json.dumps({"k": "v"}),
        A.USAGE_CACHED_TOKENS: 7,
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2,
    })
    (row,) = collector.storage.query("SELECT * FROM spans FINAL WHERE project = 'spyglass-attrs'")
    assert row["kind"] == "chain"
    assert json.loads(row["input"]) == {"question": "hi"}
    assert json.loads(row["output"]) == "hello"
    assert (row["user_id"], row["session_id"], row["tags"]) == ("u1", "s1", ["a", "b"])
    assert json.loads(row["metadata"]) == {"k": "v"}
    assert row["cached_tokens"] == 7 and row["total_tokens"] == 12
    assert row["cost_usd"] == pytest.approx(cost_usd("gpt-4o-mini", 10, 2, cached_tokens=7))
    assert json.loads(row["attributes"]) == {}
